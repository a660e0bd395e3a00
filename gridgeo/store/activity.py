"""Bulk persistence of workers, events and GPS fixes (COPY-based)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from gridgeo.crs import to_wgs84
from gridgeo.errors import InvalidInput
from gridgeo.store.bulk import copy_frame, ensure_monthly_partitions, point_ewkb_hex

WORKER_COLUMNS = ("worker_id", "name", "employment", "grid_code")
EVENT_COLUMNS = (
    "event_id",
    "external_id",
    "category_code",
    "category_l1",
    "category_l2",
    "source",
    "reported_at",
    "lon",
    "lat",
    "crs",
    "geom",
    "description",
    "reporter",
    "status",
    "owner_code",
    "owner_generation_id",
    "department",
    "due_at",
    "deferred_hours",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
)
FIX_COLUMNS = ("worker_id", "patrol_id", "t", "lon", "lat", "crs", "accuracy_m", "geom")
OPTIONAL_FIX_COLUMNS = (
    "speed_mps",
    "bearing_deg",
    "altitude_m",
    "provider",
    "is_mock",
    "satellites",
)
"""Optional phone fields (:data:`gridgeo.tracks.io.OPTIONAL_COLUMNS`), stored when given."""


def storage_points(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Convert each row's ``lon``/``lat`` from its ``crs`` to storage coordinates.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``lon``, ``lat`` and ``crs`` (wgs84, cgcs2000, gcj02, bd09).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Longitudes and latitudes in EPSG:4490.
    """
    lon = frame["lon"].to_numpy(dtype=float)
    lat = frame["lat"].to_numpy(dtype=float)
    out_lon, out_lat = lon.copy(), lat.copy()
    crs = frame["crs"].astype(str).to_numpy()
    for name in np.unique(crs):
        rows = crs == name
        out_lon[rows], out_lat[rows] = to_wgs84(lon[rows], lat[rows], name)
    return out_lon, out_lat


def _with_defaults(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    result = frame.copy()
    for column in columns:
        if column not in result.columns:
            result[column] = None
    return result


def insert_workers(session: Session, roster: pd.DataFrame) -> int:
    """COPY a worker roster (worker_id, name, employment, grid_code)."""
    missing = {"worker_id", "employment", "grid_code"} - set(roster.columns)
    if missing:
        raise InvalidInput(f"the roster lacks column(s) {', '.join(sorted(missing))}")
    return copy_frame(session, "workers", _with_defaults(roster, WORKER_COLUMNS), WORKER_COLUMNS)


def insert_events(session: Session, events: pd.DataFrame) -> int:
    """COPY events; ``geom`` is derived from ``lon``/``lat``/``crs``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    events : pandas.DataFrame
        At least event_id, category_code, source, reported_at, lon, lat, crs;
        optional columns of :data:`EVENT_COLUMNS`.

    Returns
    -------
    int
        Rows copied.
    """
    frame = _with_defaults(events, EVENT_COLUMNS)
    x, y = storage_points(frame)
    frame["geom"] = point_ewkb_hex(x, y)
    frame["deferred_hours"] = frame["deferred_hours"].fillna(0.0)
    for column in ("category_l1", "category_l2", "description"):
        frame[column] = frame[column].fillna("")
    frame["status"] = frame["status"].fillna("reported")
    return copy_frame(session, "events", frame, EVENT_COLUMNS)


def insert_fixes(session: Session, fixes: pd.DataFrame) -> int:
    """COPY GPS fixes into the month partitions they need (created on demand).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    fixes : pandas.DataFrame
        Columns worker_id, t (timezone-aware), lon, lat, crs, and optionally
        patrol_id, accuracy_m and the phone fields of :data:`OPTIONAL_FIX_COLUMNS`
        (stored when present; ``received_at`` is set by the database).

    Returns
    -------
    int
        Rows copied.
    """
    if fixes.empty:
        return 0
    frame = _with_defaults(fixes, FIX_COLUMNS)
    times = pd.to_datetime(frame["t"], utc=True)
    ensure_monthly_partitions(session, "track_fixes", times.min().date(), times.max().date())
    x, y = storage_points(frame)
    frame["geom"] = point_ewkb_hex(x, y)
    extra = tuple(c for c in OPTIONAL_FIX_COLUMNS if c in frame.columns)
    if "satellites" in extra:
        frame["satellites"] = pd.to_numeric(frame["satellites"], errors="coerce").round().astype(
            "Int64"
        )
    return copy_frame(session, "track_fixes", frame, FIX_COLUMNS + extra)
