"""Event intake: owner attribution at report time and idempotent bulk import.

Policy for bulk imports: rows with problems (missing time, coordinates that
are not numbers or out of range, unknown category or source, unknown CRS)
are reported with their row number and reason, the good rows are stored, and
rows whose ``external_id`` is already stored are skipped, so re-sending a file
is harmless. ``all_or_nothing=True`` refuses the whole batch instead when any
row is bad.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.crs import CRS_NAMES, normalize_crs_name, to_wgs84
from gridgeo.errors import InvalidInput
from gridgeo.events.taxonomy import CATEGORIES
from gridgeo.locate import LocateIndex
from gridgeo.store.activity import insert_events
from gridgeo.text import check_frame_text, excerpt

SOURCES = ("patrol", "resident", "hotline", "higher_level")
CATEGORY_BY_CODE = {category.code: category for category in CATEGORIES}


@dataclass
class ImportResult:
    """Outcome of a bulk import."""

    stored: int = 0
    skipped_existing: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "stored": self.stored,
            "skipped_existing": self.skipped_existing,
            "rejected": self.rejected,
        }


def read_event_file(data: bytes, filename: str) -> pd.DataFrame:
    """Parse a CSV (lon, lat, category_code, reported_at …) or GeoJSON points file."""
    frame = _parse_event_file(data, filename)
    check_frame_text(frame, filename)
    return frame


def _parse_event_file(data: bytes, filename: str) -> pd.DataFrame:
    name = filename.lower()
    try:
        if name.endswith((".geojson", ".json")):
            collection = json.loads(data)
            rows = []
            for feature in collection.get("features", []):
                props = dict(feature.get("properties") or {})
                coords = (feature.get("geometry") or {}).get("coordinates") or [None, None]
                props["lon"], props["lat"] = coords[0], coords[1]
                rows.append(props)
            return pd.DataFrame(rows)
        if name.endswith(".csv"):
            return pd.read_csv(io.BytesIO(data), dtype=str)
    except (
        ValueError,
        AttributeError,
        TypeError,
        IndexError,
        KeyError,
        pd.errors.ParserError,
        UnicodeDecodeError,
    ) as exc:
        raise InvalidInput(f"{filename} cannot be parsed: {excerpt(str(exc), 200)}") from None
    raise InvalidInput(f"{filename}: send a .csv or .geojson file")


def _canonical_crs(name: str) -> str:
    """The canonical name of a named CRS alias (``EPSG:4326`` → ``wgs84``), else as given."""
    try:
        return normalize_crs_name(name)
    except InvalidInput:
        return name.lower()


def check_event_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Split rows into good ones (normalised) and rejects with row-level reasons."""
    frame = frame.copy()
    for column, default in (("crs", "wgs84"), ("source", "resident"), ("description", "")):
        if column not in frame.columns:
            frame[column] = default
        frame[column] = frame[column].fillna(default)
    for column in ("lon", "lat", "category_code", "reported_at"):
        if column not in frame.columns:
            raise InvalidInput(f"the file lacks the column {column!r}")
    reasons = pd.Series("", index=frame.index, dtype=object)

    def flag(mask: pd.Series | np.ndarray, reason: str) -> None:
        mask = pd.Series(mask, index=frame.index) & (reasons == "")
        reasons[mask] = reason

    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    times = pd.to_datetime(frame["reported_at"], errors="coerce", utc=True, format="mixed")
    flag(frame["reported_at"].isna(), "missing reported_at")
    flag(times.isna(), "reported_at is not a date-time")
    flag(lon.isna() | lat.isna(), "lon/lat are not numbers")
    flag((lon.abs() > 180) | (lat.abs() > 90), "lon/lat out of range")
    frame["crs"] = frame["crs"].astype(str).map(_canonical_crs)
    flag(~frame["crs"].isin(CRS_NAMES), f"crs must be one of {', '.join(CRS_NAMES)}")
    flag(~frame["category_code"].isin(list(CATEGORY_BY_CODE)), "unknown category_code")
    flag(~frame["source"].isin(SOURCES), f"source must be one of {', '.join(SOURCES)}")
    bad = reasons != ""
    rejects = [{"row": int(i), "reason": reasons[i]} for i in frame.index[bad]]
    good = frame[~bad].copy()
    good["lon"], good["lat"], good["reported_at"] = lon[~bad], lat[~bad], times[~bad]
    return good, rejects


def import_events(
    session: Session, frame: pd.DataFrame, index: LocateIndex, *, all_or_nothing: bool = False
) -> ImportResult:
    """Store events idempotently (by ``external_id``), attributing owners with ``index``."""
    good, rejects = check_event_rows(frame)
    result = ImportResult(rejected=rejects)
    if rejects and all_or_nothing:
        raise InvalidInput(
            f"row {rejects[0]['row']}: {rejects[0]['reason']} "
            f"({len(rejects)} bad rows; nothing stored)",
            {"rejected": rejects},
        )
    if "external_id" in good.columns:
        known = set(
            session.execute(
                text("SELECT external_id FROM events WHERE external_id = ANY(:ids)"),
                {"ids": good["external_id"].dropna().astype(str).tolist()},
            ).scalars()
        )
        existing = good["external_id"].isin(known)
        result.skipped_existing = int(existing.sum())
        good = good[~existing].drop_duplicates("external_id")
    if good.empty:
        return result
    x, y = np.empty(len(good)), np.empty(len(good))
    for name in good["crs"].unique():
        rows = (good["crs"] == name).to_numpy()
        x[rows], y[rows] = to_wgs84(
            good["lon"].to_numpy(float)[rows], good["lat"].to_numpy(float)[rows], name
        )
    located = index.locate(x, y)
    start = (
        session.execute(
            text("SELECT nextval('events_id_seq') FROM generate_series(1, :n)"), {"n": len(good)}
        )
        .scalars()
        .all()
    )
    good["event_id"] = [
        f"E{t:%Y%m%d}{n:07d}" for t, n in zip(good["reported_at"], start, strict=True)
    ]
    good["owner_code"] = located.owner
    good["owner_generation_id"] = int(index.generation) if index.generation else None
    categories = good["category_code"].map(CATEGORY_BY_CODE)
    good["category_l1"] = categories.map(lambda c: c.l1_name)
    good["category_l2"] = categories.map(lambda c: c.l2_name)
    good["department"] = categories.map(lambda c: c.department)
    good["status"] = "reported"
    result.stored = insert_events(session, good)
    session.execute(
        text(
            "INSERT INTO event_transitions (event_id, seq, action, from_state, to_state, at) "
            "SELECT id, 1, 'report', NULL, 'reported', reported_at FROM events "
            "WHERE event_id = ANY(:ids)"
        ),
        {"ids": good["event_id"].tolist()},
    )
    return result
