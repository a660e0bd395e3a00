"""Load the sample city into PostGIS: a published generation, roster, events and tracks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridgeo.errors import Conflict, NotFound
from gridgeo.locate import LocateIndex
from gridgeo.store.activity import insert_events, insert_fixes, insert_workers, storage_points
from gridgeo.store.bulk import copy_frame
from gridgeo.store.generations import create_generation, publish
from gridgeo.store.models import Generation
from gridgeo.store.units import insert_units

SAMPLE_VALID_FROM = datetime(2025, 10, 1, tzinfo=UTC)
"""The sample generation is valid from before its first event."""

STAGES = (
    ("verify", "verified", "verified_at"),
    ("register", "registered", "registered_at"),
    ("dispatch", "dispatched", "dispatched_at"),
    ("handle", "handled", "handled_at"),
    ("feedback", "fed_back", "feedback_at"),
    ("check", "checked", "checked_at"),
    ("close", "closed", "closed_at"),
    ("evaluate", "evaluated", "evaluated_at"),
)
"""Closed-loop stages recorded as timestamp columns in the sample events."""


@dataclass
class LoadSummary:
    """What :func:`load_sample_city` stored."""

    generation_id: int
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"generation": str(self.generation_id), **self.counts}


def sample_files(samples_dir: Path) -> dict[str, Path]:
    """Paths of the sample city's files, checking they exist.

    Raises
    ------
    NotFound
        A file is missing (build it with ``gridgeo samples build``).
    """
    files = {
        "units": samples_dir / "units.parquet",
        "workers": samples_dir / "workers.csv",
        "events": samples_dir / "events.parquet",
        "tracks": samples_dir / "tracks.parquet",
        "manifest": samples_dir / "manifest.json",
    }
    missing = [str(p) for p in files.values() if not p.exists()]
    if missing:
        raise NotFound(
            f"sample city files missing: {', '.join(missing)}; run `gridgeo samples build`"
        )
    return files


def owners_of(index: LocateIndex, frame: pd.DataFrame) -> np.ndarray:
    """Owner code of each row's point (``lon``/``lat`` in its ``crs``) in ``index``."""
    x, y = storage_points(frame)
    return np.asarray(index.locate(x, y).owner, dtype=object)


def event_history(events: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Transition rows (report, then each reached stage in order) from stage columns.

    Parameters
    ----------
    events : pandas.DataFrame
        Sample events with ``reported_at`` and the stage columns of :data:`STAGES`,
        plus ``cancelled``.
    ids : numpy.ndarray
        Database ids of the events (same order).

    Returns
    -------
    pandas.DataFrame
        Columns event_id, seq, action, from_state, to_state, at.
    """
    parts = [
        pd.DataFrame(
            {
                "event_id": ids,
                "action": "report",
                "from_state": None,
                "to_state": "reported",
                "at": events["reported_at"].to_numpy(),
                "order": 0,
            }
        )
    ]
    previous = np.full(len(events), "reported", dtype=object)
    for order, (action, state, column) in enumerate(STAGES, start=1):
        if column not in events.columns:
            continue
        reached = events[column].notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "event_id": ids[reached],
                    "action": action,
                    "from_state": previous[reached],
                    "to_state": state,
                    "at": events[column].to_numpy()[reached],
                    "order": order,
                }
            )
        )
        previous = np.where(reached, state, previous)
    if "cancelled" in events.columns:
        cancelled = events["cancelled"].fillna(False).to_numpy(dtype=bool)
        last = events[[c for _, _, c in STAGES if c in events.columns]].max(axis=1)
        at = last.fillna(events["reported_at"]).to_numpy()[cancelled]
        parts.append(
            pd.DataFrame(
                {
                    "event_id": ids[cancelled],
                    "action": "cancel",
                    "from_state": previous[cancelled],
                    "to_state": "cancelled",
                    "at": at,
                    "order": len(STAGES) + 1,
                }
            )
        )
    history = pd.concat(parts, ignore_index=True).sort_values(["event_id", "order"])
    history["seq"] = history.groupby("event_id").cumcount() + 1
    return history.drop(columns="order")


def load_sample_city(
    session: Session,
    samples_dir: Path,
    *,
    events: bool = True,
    tracks: bool = True,
    history: bool = True,
) -> LoadSummary:
    """Load the sample city (one transaction, owned by the caller).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    samples_dir : pathlib.Path
        Folder written by ``gridgeo samples build``.
    events, tracks, history : bool
        Whether to load events, GPS fixes and event transition histories.

    Returns
    -------
    LoadSummary

    Raises
    ------
    Conflict
        A generation is already published (the sample city loads into an
        empty database).
    """
    if session.scalar(select(Generation.id).where(Generation.status == "published")):
        raise Conflict(
            "a generation is already published; load the sample city into an empty database"
        )
    files = sample_files(samples_dir)
    manifest = json.loads(files["manifest"].read_text())
    units = gpd.read_parquet(files["units"])
    generation = create_generation(
        session,
        f"sample-{manifest.get('seed', 'city')}",
        note="gridgeo sample city (Xiaoshan, synthetic grids)",
    )
    summary = LoadSummary(generation.id)
    summary.counts["units"] = insert_units(session, generation.id, units)
    publish(session, generation, at=SAMPLE_VALID_FROM)
    roster = pd.read_csv(files["workers"], dtype=str)
    summary.counts["workers"] = insert_workers(session, roster)
    index = LocateIndex.build(units, generation=str(generation.id))
    if events:
        frame = pd.read_parquet(files["events"])
        frame["owner_code"] = owners_of(index, frame)
        frame["owner_generation_id"] = generation.id
        frame["deferred_hours"] = np.where(frame.get("deferred", False), 8.0, 0.0)
        summary.counts["events"] = insert_events(session, frame)
        if history:
            ids = _event_ids(session, frame["event_id"])
            transitions = event_history(frame, ids)
            summary.counts["event_transitions"] = copy_frame(
                session,
                "event_transitions",
                transitions,
                ("event_id", "seq", "action", "from_state", "to_state", "at"),
            )
    if tracks:
        fixes = pd.read_parquet(files["tracks"])
        fixes["patrol_id"] = fixes["patrol_id"].astype(str)
        summary.counts["track_fixes"] = insert_fixes(session, fixes)
    session.flush()
    return summary


def _event_ids(session: Session, event_ids: pd.Series) -> np.ndarray:
    from sqlalchemy import text

    rows = session.execute(text("SELECT event_id, id FROM events")).all()
    lookup: dict[str, int] = {str(k): int(v) for k, v in rows}
    return event_ids.map(lookup).to_numpy(dtype=np.int64)
