"""Events (事件/部件问题) in PostGIS: create, transition with history, list, read back.

The state machine, time limits and indicators are pure functions in
:mod:`gridgeo.events`; this module persists their results. A transition
locks the event row (``SELECT … FOR UPDATE``), so two concurrent actions on
one event are applied one after the other and the second sees the first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridgeo.errors import InvalidInput, NotFound
from gridgeo.events import allowed_actions, get_category, transition
from gridgeo.events.calendar import DEFAULT_CALENDAR
from gridgeo.events.deadlines import due_at
from gridgeo.store.activity import insert_events
from gridgeo.text import excerpt

STAGE_COLUMN = {
    "registered": "registered_at",
    "dispatched": "dispatched_at",
    "handled": "handled_at",
    "closed": "closed_at",
}
EVENT_FIELDS = (
    "event_id, external_id, category_code, category_l1, category_l2, source, reported_at, "
    "lon, lat, crs, description, reporter, status, owner_code, owner_generation_id, department, "
    "due_at, deferred_hours, registered_at, dispatched_at, handled_at, closed_at, "
    "ST_X(geom) AS x, ST_Y(geom) AS y"
)


def _event_json(row: Any, now: datetime | None = None) -> dict[str, Any]:
    body = {key: row[key] for key in row if key not in ("x", "y", "id")}
    body["owner_generation_id"] = (
        str(row["owner_generation_id"]) if row["owner_generation_id"] else None
    )
    body["allowed_actions"] = allowed_actions(row["status"])
    if row["due_at"] is not None and row["closed_at"] is None and now is not None:
        body["overdue"] = bool(now > row["due_at"]) and row["status"] != "cancelled"
    elif row["due_at"] is not None and row["closed_at"] is not None:
        body["overdue"] = bool(row["closed_at"] > row["due_at"])
    else:
        body["overdue"] = False
    return body


def event_feature(row: Any, now: datetime | None = None) -> dict[str, Any]:
    """Render an event row as a GeoJSON Feature (geometry in storage lon/lat)."""
    return {
        "type": "Feature",
        "id": row["event_id"],
        "geometry": {"type": "Point", "coordinates": [row["x"], row["y"]]},
        "properties": _event_json(row, now),
    }


def _now(session: Session) -> datetime:
    return session.execute(text("SELECT now()")).scalar_one()


def create_event(
    session: Session,
    *,
    category_code: str,
    lon: float,
    lat: float,
    crs: str,
    source: str,
    owner_code: str | None,
    generation_id: int | None,
    description: str = "",
    reporter: str | None = None,
    external_id: str | None = None,
    reported_at: datetime | None = None,
) -> dict[str, Any] | None:
    """Record a new event in state ``reported`` with its first history entry.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    category_code : str
        A level-2 code of :mod:`gridgeo.events.taxonomy`.
    lon, lat : float
        As reported, in ``crs``.
    crs : str
    source : str
        patrol, resident, hotline or higher_level.
    owner_code, generation_id
        Owner grid and generation at report time (from the locate index).
    description, reporter, external_id : str, optional
    reported_at : datetime, optional
        Defaults to now.

    Returns
    -------
    dict or None
        The event as a GeoJSON Feature; None when an event with the same
        ``external_id`` was stored concurrently (see :func:`find_by_external_id`).
    """
    try:
        category = get_category(category_code)
    except NotFound as exc:
        raise InvalidInput(exc.message) from exc
    now = reported_at or _now(session)
    event_id = (
        "E"
        + session.execute(
            text(
                "SELECT to_char(now(), 'YYYYMMDD') || lpad(nextval('events_id_seq')::text, 7, '0')"
            )
        ).scalar_one()
    )
    frame = pd.DataFrame(
        [
            {
                "event_id": event_id,
                "external_id": external_id,
                "category_code": category.code,
                "category_l1": category.l1_name,
                "category_l2": category.l2_name,
                "source": source,
                "reported_at": pd.Timestamp(now),
                "lon": lon,
                "lat": lat,
                "crs": crs,
                "description": description,
                "reporter": reporter,
                "status": "reported",
                "owner_code": owner_code,
                "owner_generation_id": generation_id,
                "department": category.department,
            }
        ]
    )
    if external_id is not None:
        try:
            with session.begin_nested():
                insert_events(session, frame)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            if constraint == "events_external_id_key":
                return None
            raise
    else:
        insert_events(session, frame)
    session.execute(
        text(
            "INSERT INTO event_transitions (event_id, seq, action, from_state, to_state, at, "
            "actor) SELECT id, 1, 'report', NULL, 'reported', reported_at, :actor "
            "FROM events WHERE event_id = :e"
        ),
        {"e": event_id, "actor": reporter},
    )
    return get_event(session, event_id)


def find_by_external_id(session: Session, external_id: str) -> dict[str, Any] | None:
    """The event with this ``external_id`` (with history), or None."""
    event_id = session.execute(
        text("SELECT event_id FROM events WHERE external_id = :x"), {"x": external_id}
    ).scalar()
    return None if event_id is None else get_event(session, str(event_id))


def _row(session: Session, event_id: str, *, lock: bool = False) -> Any:
    row = (
        session.execute(
            text(
                f"SELECT id, {EVENT_FIELDS} FROM events WHERE event_id = :e"
                + (" FOR UPDATE" if lock else "")
            ),
            {"e": event_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"event {excerpt(event_id)} does not exist")
    return row


def get_event(session: Session, event_id: str, *, history: bool = True) -> dict[str, Any]:
    """One event as a GeoJSON Feature, with its transition history.

    Raises
    ------
    NotFound
    """
    row = _row(session, event_id)
    feature = event_feature(row, _now(session))
    if history:
        feature["properties"]["history"] = [
            dict(r)
            for r in session.execute(
                text(
                    "SELECT seq, action, from_state, to_state, at, actor, comment "
                    "FROM event_transitions WHERE event_id = :id ORDER BY seq"
                ),
                {"id": row["id"]},
            ).mappings()
        ]
    return feature


def apply_action(
    session: Session,
    event_id: str,
    action: str,
    *,
    actor: str,
    comment: str | None = None,
    hours: float | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Apply one workflow action to an event and record it in the history.

    ``register`` sets the due time (category limit in working hours from
    now); ``defer`` needs ``hours`` and extends the due time by that many
    working hours.

    Raises
    ------
    Conflict
        The action is not allowed in the event's state (the message names
        the allowed ones).
    InvalidInput
        ``defer`` without positive ``hours``.
    """
    row = _row(session, event_id, lock=True)
    new_state = transition(row["status"], action)
    when = at or _now(session)
    updates: dict[str, Any] = {"status": new_state}
    if new_state in STAGE_COLUMN and action != "defer":
        updates[STAGE_COLUMN[new_state]] = when
    if action == "register":
        updates["due_at"] = due_at(pd.Timestamp(when), row["category_code"]).to_pydatetime()
    if action == "defer":
        if hours is None or not hours > 0:
            raise InvalidInput("defer needs a positive number of working hours (hours)")
        base = pd.Timestamp(row["due_at"] or when)
        updates["due_at"] = DEFAULT_CALENDAR.add_working_hours(base, hours).to_pydatetime()
        updates["deferred_hours"] = float(row["deferred_hours"] or 0) + hours
    assignments = ", ".join(f"{column} = :{column}" for column in updates)
    session.execute(
        text(f"UPDATE events SET {assignments} WHERE id = :id"), {**updates, "id": row["id"]}
    )
    session.execute(
        text(
            "INSERT INTO event_transitions (event_id, seq, action, from_state, to_state, at, "
            "actor, comment) SELECT :id, coalesce(max(seq), 0) + 1, :action, :from_state, "
            ":to_state, :at, :actor, :comment FROM event_transitions WHERE event_id = :id"
        ),
        {
            "id": row["id"],
            "action": action,
            "from_state": row["status"],
            "to_state": new_state,
            "at": when,
            "actor": actor,
            "comment": comment
            if hours is None
            else json.dumps({"comment": comment, "hours": hours}, ensure_ascii=False),
        },
    )
    return get_event(session, event_id)


def list_events(
    session: Session,
    *,
    grid: str | None = None,
    street: str | None = None,
    status: str | Sequence[str] | None = None,
    category: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
    offset: int = 0,
    grids: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Events as a GeoJSON FeatureCollection, newest first, with the total count.

    Parameters
    ----------
    grid : str, optional
        Owner grid code (micro-grids of the grid included).
    street : str, optional
        9-digit street code.
    status : str or sequence of str, optional
        Workflow state(s).
    category : str, optional
        Category code, level-1 or level-2 name.
    start, end : datetime, optional
        Reported in ``[start, end)``.
    limit, offset : int
        Paging.
    grids : tuple of str, optional
        Only events owned by these grids or their micro-grids (a worker's
        scope); ``None`` means all.
    """
    where: list[str] = ["true"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if grids is not None:
        where.append("owner_code LIKE ANY(:scope)")
        params["scope"] = [code + "%" for code in grids]
    for value, name in ((grid, "grid"), (street, "street")):
        if value:
            where.append(f"owner_code LIKE :{name}")
            params[name] = value + "%"
    if status:
        where.append("status = ANY(:status)")
        params["status"] = [status] if isinstance(status, str) else list(status)
    if category:
        where.append("(category_code = :cat OR category_l1 = :cat OR category_l2 = :cat)")
        params["cat"] = category
    if start:
        where.append("reported_at >= :start")
        params["start"] = start
    if end:
        where.append("reported_at < :end")
        params["end"] = end
    clause = " AND ".join(where)
    total = session.execute(text(f"SELECT count(*) FROM events WHERE {clause}"), params).scalar()
    rows = (
        session.execute(
            text(
                f"SELECT {EVENT_FIELDS} FROM events WHERE {clause} "
                "ORDER BY reported_at DESC, event_id LIMIT :limit OFFSET :offset"
            ),
            params,
        )
        .mappings()
        .all()
    )
    now = _now(session)
    return {
        "type": "FeatureCollection",
        "total": total,
        "features": [event_feature(row, now) for row in rows],
    }


def events_frame(
    session: Session, *, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """Events as a DataFrame for indicators and analytics (storage lon/lat in x, y)."""
    where: list[str] = ["true"]
    params: dict[str, Any] = {}
    if start:
        where.append("coalesce(closed_at, due_at, reported_at) >= :start OR reported_at >= :start")
        params["start"] = start
    if end:
        where.append("reported_at < :end")
        params["end"] = end
    frame = pd.read_sql(
        text(
            f"SELECT {EVENT_FIELDS}, (deferred_hours > 0) AS deferred, "
            "status = 'cancelled' AS cancelled, owner_code AS grid_code "
            f"FROM events WHERE {' AND '.join(f'({w})' for w in where)}"
        ),
        session.connection(),
        params=params,
    )
    for column in (
        "reported_at",
        "due_at",
        "registered_at",
        "dispatched_at",
        "handled_at",
        "closed_at",
    ):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["grid_code"] = frame["grid_code"].astype(object).where(frame["grid_code"].notna(), None)
    frame["grid_code"] = frame["grid_code"].map(lambda c: c[:15] if isinstance(c, str) else c)
    frame["x"] = frame["x"].astype(np.float64)
    return frame


def event_points_in(session: Session, area: Any | None) -> tuple[np.ndarray, np.ndarray]:
    """Storage lon/lat of the events inside ``area`` (all events when ``area`` is None).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    area : shapely geometry or None
        EPSG:4490 polygon(s) or boxes; the GiST index on ``events.geom``
        selects the candidates.

    Returns
    -------
    tuple of numpy.ndarray
        Longitudes and latitudes (float64), in event id order.
    """
    import shapely

    if area is None:
        sql, params = "SELECT ST_X(geom), ST_Y(geom) FROM events ORDER BY id", {}
    elif shapely.is_empty(area):
        return np.zeros(0), np.zeros(0)
    else:
        sql = (
            "SELECT ST_X(geom), ST_Y(geom) FROM events "
            "WHERE ST_Intersects(geom, ST_GeomFromWKB(:wkb, 4490)) ORDER BY id"
        )
        params = {"wkb": shapely.to_wkb(area)}
    rows = session.execute(text(sql), params).all()
    if not rows:
        return np.zeros(0), np.zeros(0)
    coords = np.asarray(rows, dtype=np.float64)
    return coords[:, 0].copy(), coords[:, 1].copy()
