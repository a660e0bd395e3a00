"""Authenticity flags under review: store the computed flags, list, read, review, map.

One function per use case, shared by the API (``api/routers/flags.py``) and
the command line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import folium
import pandas as pd
from sqlalchemy.orm import Session

from gridgeo.heatmaps.flag_map import flag_map
from gridgeo.store import flags as store
from gridgeo.workflows.analytics import AnalyticsData

__all__ = ["flag_page", "get_flag", "refresh_flags", "review_flag"]


def refresh_flags(
    session: Session, data: AnalyticsData, start: datetime | None, end: datetime | None
) -> int:
    """Compute the flags of the period and store them (review states are kept)."""
    analysis, _ = data.tracks(start, end, 10)
    return store.save_flags(session, analysis.flags)


def get_flag(session: Session, flag_id: int) -> dict[str, Any]:
    """One stored flag with its evidence and review state."""
    return store.get_flag(session, flag_id)


def review_flag(
    session: Session, flag_id: int, state: str, *, by: str, note: str | None = None
) -> dict[str, Any]:
    """Confirm or dismiss a flag (or reopen it), recording who and when."""
    return store.review_flag(session, flag_id, state, by=by, note=note)


def _matched_window(flag: dict[str, Any]) -> tuple[str, Any, Any] | None:
    ev = flag.get("evidence") or {}
    if flag["kind"] == "replay" and "source_worker_id" in ev and "source_start" in ev:
        s = pd.Timestamp(float(ev["source_start"]), unit="s", tz="UTC")
        e = pd.Timestamp(float(ev.get("source_end", ev["source_start"])), unit="s", tz="UTC")
        return str(ev["source_worker_id"]), s, e
    if flag["kind"] == "copy" and ev.get("other_worker_id") and ev.get("other_start"):
        s = pd.Timestamp(float(ev["other_start"]), unit="s", tz="UTC")
        e = pd.Timestamp(float(ev.get("other_end", ev["other_start"])), unit="s", tz="UTC")
        return str(ev["other_worker_id"]), s, e
    return None


def flag_page(session: Session, flag_id: int, **options: Any) -> folium.Map:
    """The map page of a flag: its patrol, and the matched patrol of a replay or copy."""
    flag = store.get_flag(session, flag_id)
    tracks = {"flagged": store.patrol_fixes(session, flag["worker_id"], flag["start"], flag["end"])}
    matched = _matched_window(flag)
    if matched is not None:
        tracks["matched"] = store.patrol_fixes(session, *matched)
    return flag_map(flag, tracks, **options)
