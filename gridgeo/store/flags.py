"""Authenticity flags in PostGIS with their review state (open / confirmed / dismissed).

Flags are computed by :func:`gridgeo.tracks.authenticity.authenticity_flags`;
:func:`save_flags` stores them (a flag already stored — same patrol, kind and
start — keeps its id and review state and gets the fresh evidence), and a
supervisor reviews each one with :func:`review_flag`. A flag is evidence for
review, never a verdict: who reviewed it, when and why is kept with it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.errors import InvalidInput, NotFound

__all__ = ["REVIEW_STATES", "get_flag", "list_flags", "patrol_fixes", "review_flag", "save_flags"]

REVIEW_STATES: Final[tuple[str, ...]] = ("open", "confirmed", "dismissed")
_COLUMNS: Final = (
    "id, worker_id, patrol_key, kind, reason, evidence, start_at, end_at, state, "
    "reviewed_by, reviewed_at, note, created_at"
)


def _row(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    for key in ("start_at", "end_at", "reviewed_at", "created_at"):
        if d.get(key) is not None:
            d[key] = pd.Timestamp(d[key]).tz_convert("UTC").isoformat()
    d["start"], d["end"] = d.pop("start_at"), d.pop("end_at")
    return d


def save_flags(session: Session, flags: pd.DataFrame) -> int:
    """Insert or refresh flags (columns of :data:`~gridgeo.tracks.authenticity.FLAG_COLUMNS`).

    Returns
    -------
    int
        Flags written.
    """
    if flags.empty:
        return 0
    rows = [
        {
            "worker_id": str(f.worker_id),
            "patrol_key": str(f.patrol_key),
            "kind": str(f.kind),
            "reason": str(f.reason),
            "evidence": json.dumps(f.evidence, default=str, ensure_ascii=False),
            "start_at": pd.Timestamp(f.start).to_pydatetime(),
            "end_at": pd.Timestamp(f.end).to_pydatetime(),
        }
        for f in flags.itertuples(index=False)
    ]
    session.execute(
        text(
            "INSERT INTO track_flags (worker_id, patrol_key, kind, reason, evidence, start_at, "
            "end_at) VALUES (:worker_id, :patrol_key, :kind, :reason, CAST(:evidence AS jsonb), "
            ":start_at, :end_at) ON CONFLICT (patrol_key, kind, start_at) DO UPDATE SET "
            "reason = EXCLUDED.reason, evidence = EXCLUDED.evidence, end_at = EXCLUDED.end_at"
        ),
        rows,
    )
    return len(rows)


def list_flags(
    session: Session,
    *,
    kind: str | None = None,
    state: str | None = None,
    worker_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Stored flags, newest first, filtered."""
    if state is not None and state not in REVIEW_STATES:
        raise InvalidInput(f"state must be one of {', '.join(REVIEW_STATES)}")
    where = ["TRUE"]
    params: dict[str, Any] = {"limit": int(limit)}
    for name, value, cond in (
        ("kind", kind, "kind = :kind"),
        ("state", state, "state = :state"),
        ("worker_id", worker_id, "worker_id = :worker_id"),
        ("start", start, "end_at >= :start"),
        ("end", end, "start_at < :end"),
    ):
        if value is not None:
            where.append(cond)
            params[name] = value
    rows = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM track_flags WHERE {' AND '.join(where)} "
            "ORDER BY start_at DESC, id DESC LIMIT :limit"
        ),
        params,
    )
    return [_row(r) for r in rows]


def get_flag(session: Session, flag_id: int) -> dict[str, Any]:
    """One stored flag; :class:`NotFound` if there is none with ``flag_id``."""
    row = session.execute(
        text(f"SELECT {_COLUMNS} FROM track_flags WHERE id = :id"), {"id": int(flag_id)}
    ).first()
    if row is None:
        raise NotFound(f"no authenticity flag {flag_id}")
    return _row(row)


def review_flag(
    session: Session, flag_id: int, state: str, *, by: str, note: str | None = None
) -> dict[str, Any]:
    """Set a flag's review state (``confirmed``, ``dismissed`` or back to ``open``)."""
    if state not in REVIEW_STATES:
        raise InvalidInput(f"state must be one of {', '.join(REVIEW_STATES)}")
    if note is not None and len(note) > 2000:
        raise InvalidInput("note is longer than 2000 characters")
    row = session.execute(
        text(
            "UPDATE track_flags SET state = :state, reviewed_by = :by, reviewed_at = now(), "
            f"note = :note WHERE id = :id RETURNING {_COLUMNS}"
        ),
        {"state": state, "by": by, "note": note, "id": int(flag_id)},
    ).first()
    if row is None:
        raise NotFound(f"no authenticity flag {flag_id}")
    return _row(row)


def patrol_fixes(session: Session, worker_id: str, start: Any, end: Any) -> pd.DataFrame:
    """A worker's stored fixes between ``start`` and ``end`` (inclusive), lon/lat in CGCS2000."""
    return pd.read_sql(
        text(
            "SELECT worker_id, t, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM track_fixes "
            "WHERE worker_id = :w AND t >= :s AND t <= :e ORDER BY t"
        ),
        session.connection(),
        params={"w": worker_id, "s": pd.Timestamp(start), "e": pd.Timestamp(end)},
    )
