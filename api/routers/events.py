"""Events: report, bulk import, list, read, workflow actions, indicators, overdue list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import Field, JsonValue, field_validator
from sqlalchemy.orm import Session

from api.access import grid_scope, in_scope, personal_reader, require_grid_read
from api.deps import get_session, get_settings, require_role
from api.routers.generations import _read_limited
from api.schemas import (
    EventCollection,
    EventFeature,
    EventImportSummary,
    IndicatorRow,
    OverdueRow,
    errors,
)
from api.validation import MAX_OFFSET, TIME_HELP, Number, RequestBody, localize
from gridgeo.crs import CRS_HELP, check_lonlat, parse_crs, point_to_wgs84
from gridgeo.errors import Forbidden, InvalidInput
from gridgeo.events import ACTIONS, check_role
from gridgeo.events.indicators import indicators, overdue_list
from gridgeo.events.workflow import CLOSED_STATES, OPEN_STATES, STATES
from gridgeo.settings import Settings
from gridgeo.store import events as store
from gridgeo.store.users import Principal
from gridgeo.text import excerpt
from gridgeo.workflows.events import SOURCES, import_events, read_event_file

router = APIRouter(tags=["events"])


class NewEvent(RequestBody):
    """Body of ``POST /v1/events``."""

    category_code: str = Field(..., max_length=16, examples=["S0101"])
    lon: Number = Field(..., description="Longitude (or x in metres for a projected `crs`).")
    lat: Number = Field(..., description="Latitude (or y in metres for a projected `crs`).")
    crs: str = Field("wgs84", max_length=100, description=CRS_HELP)
    source: Literal["patrol", "resident", "hotline", "higher_level"] = "patrol"
    description: str = Field("", max_length=4000)
    external_id: str | None = Field(None, max_length=200)


@router.post(
    "/events",
    status_code=201,
    response_model=EventFeature,
    response_model_exclude_unset=True,
    responses={
        **errors(404, 409, 422),
        200: {"description": "A retry: the event with this external_id already exists."},
    },
)
def report_event(
    body: NewEvent,
    request: Request,
    response: Response,
    principal: Principal = Depends(require_role("worker")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Report an event (worker inside their own grids, or admin); the owner grid is stored.

    Idempotent by ``external_id``: a retry with an ``external_id`` that is
    already stored returns the existing event with status **200** (the first
    report answers **201**) and changes nothing, so a hotline system may
    resend safely. The caller must be allowed to see that event (a worker
    only in their own grids).

    A projected ``crs`` (an EPSG code such as ``EPSG:4549``) takes ``lon``/
    ``lat`` as x/y metres; such points are stored converted to CGCS2000
    longitude/latitude (``crs`` ``cgcs2000``).
    """
    check_role(principal.role, "report")
    spec = parse_crs(body.crs)
    if body.external_id is not None:
        existing = store.find_by_external_id(session, body.external_id)
        if existing is not None:
            return _replay(existing, principal, response)
    if spec.named:
        check_lonlat([body.lon], [body.lat])
        lon, lat, crs = body.lon, body.lat, spec.name
    else:
        x_, y_ = point_to_wgs84([body.lon], [body.lat], spec)
        check_lonlat(x_, y_)
        lon, lat, crs = float(x_[0]), float(y_[0]), "cgcs2000"
    x, y = point_to_wgs84(np.array([lon]), np.array([lat]), crs)
    index = request.app.state.indexes.active(session)
    owner = index.locate(x, y).owner[0]
    if principal.role == "worker":
        if owner is None:
            raise Forbidden("the point is outside every grid; a worker reports inside a grid")
        principal.require_grid(owner)
    created = store.create_event(
        session,
        category_code=body.category_code,
        lon=lon,
        lat=lat,
        crs=crs,
        source=body.source,
        owner_code=owner,
        generation_id=int(index.generation),
        description=body.description,
        reporter=principal.name,
        external_id=body.external_id,
    )
    if created is None:  # a concurrent retry stored it first
        assert body.external_id is not None
        existing = store.find_by_external_id(session, body.external_id)
        assert existing is not None
        return _replay(existing, principal, response)
    return created


def _replay(event: dict[str, Any], principal: Principal, response: Response) -> dict[str, Any]:
    owner = event["properties"]["owner_code"]
    if principal.role == "worker":
        if owner is None:
            raise Forbidden("this event belongs to no grid")
        principal.require_grid(owner)
    response.status_code = 200
    return event


@router.post("/events/import", response_model=EventImportSummary, responses=errors(404, 413, 422))
async def import_event_file(
    request: Request,
    file: UploadFile = File(..., description="CSV or GeoJSON of events"),
    all_or_nothing: bool = Form(False, description="Refuse the batch if any row is bad."),
    principal: Principal = Depends(require_role()),
    settings: Settings = Depends(get_settings),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Bulk import (admin); idempotent by ``external_id``; bad rows listed with reasons."""
    data = await _read_limited(file, settings.upload_limit_bytes)
    frame = read_event_file(data, file.filename or "events.csv")
    index = request.app.state.indexes.active(session)
    return import_events(session, frame, index, all_or_nothing=all_or_nothing).to_dict()


STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "open": tuple(state for state in STATES if state in OPEN_STATES),
    "closed": tuple(state for state in STATES if state in CLOSED_STATES),
}
"""``status=`` groups of workflow states."""
STATUS_HELP = (
    "Comma-separated workflow states or groups: open ("
    + ", ".join(STATUS_GROUPS["open"])
    + "), closed ("
    + ", ".join(STATUS_GROUPS["closed"])
    + "), or any of "
    + ", ".join(STATES)
    + "."
)


def parse_status(value: str | None) -> list[str] | None:
    """Workflow states selected by ``status=`` (None: every state).

    Raises
    ------
    InvalidInput
        An unknown state or group; the message lists the valid ones.
    """
    if value is None or not value.strip():
        return None
    states: list[str] = []
    for part in value.split(","):
        key = part.strip().lower()
        if key in STATUS_GROUPS:
            states.extend(STATUS_GROUPS[key])
        elif key in STATES:
            states.append(key)
        else:
            raise InvalidInput(
                f"status: unknown status {excerpt(part, 40)}; use open, closed or one of "
                + ", ".join(STATES),
                details={"field": "status", "allowed": ["open", "closed", *STATES]},
            )
    return list(dict.fromkeys(states))


@router.get(
    "/events",
    response_model=EventCollection,
    response_model_exclude_unset=True,
    responses=errors(422),
)
def get_events(
    grid: str | None = Query(None, pattern=r"^[0-9]{15}([0-9]{3})?$"),
    street: str | None = Query(None, pattern=r"^[0-9]{9}$"),
    status: str | None = Query(None, max_length=200, description=STATUS_HELP),
    category: str | None = Query(None, max_length=100),
    start: datetime | None = Query(None, description=TIME_HELP),
    end: datetime | None = Query(None, description=TIME_HELP),
    limit: int = Query(1000, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(personal_reader),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Events as GeoJSON, filtered by grid, street, status, category and time.

    ``status`` takes workflow states or the groups ``open`` / ``closed``
    (comma-separated); times without a zone are in ``GRIDGEO_TIMEZONE``.
    A worker sees the events of their own grids only (another ``grid`` is 403).
    """
    if grid is not None:
        require_grid_read(principal, grid, "grid's events")
    return store.list_events(
        session,
        grid=grid,
        street=street,
        status=parse_status(status),
        category=category,
        start=localize(start, settings.timezone),
        end=localize(end, settings.timezone),
        limit=limit,
        offset=offset,
        grids=grid_scope(principal),
    )


EVENT_ACTIONS = tuple(action for action in ACTIONS if action != "report")
"""Actions on an existing event (reporting is ``POST /v1/events``)."""
_ACTION_ENUM: list[JsonValue] = list(EVENT_ACTIONS)


class Action(RequestBody):
    """Body of ``POST /v1/events/{event_id}/actions``."""

    action: str = Field(..., json_schema_extra={"enum": _ACTION_ENUM})
    comment: str | None = Field(None, max_length=4000)
    hours: Number | None = Field(None, gt=0, le=2000, description="Working hours, for defer.")

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in EVENT_ACTIONS:
            raise ValueError(f"unknown action {value!r}; one of {', '.join(EVENT_ACTIONS)}")
        return value


@router.post(
    "/events/{event_id}/actions",
    response_model=EventFeature,
    response_model_exclude_unset=True,
    responses=errors(404, 409, 422),
)
def act_on_event(
    event_id: str,
    body: Action,
    principal: Principal = Depends(require_role("worker", "analyst")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Apply a workflow action; 409 names the allowed actions when it is illegal."""
    check_role(principal.role, body.action)
    current = store.get_event(session, event_id, history=False)
    owner = current["properties"]["owner_code"]
    if principal.role == "worker":
        if owner is None:
            raise Forbidden("this event belongs to no grid")
        principal.require_grid(owner)
    return store.apply_action(
        session, event_id, body.action, actor=principal.name, comment=body.comment, hours=body.hours
    )


def _scoped_frame(session: Session, principal: Principal) -> pd.DataFrame:
    frame = store.events_frame(session)
    scope = grid_scope(principal)
    if scope is not None:
        frame = frame[frame["owner_code"].map(lambda code: in_scope(scope, code)).astype(bool)]
    return frame


@router.get("/events/overdue", response_model=list[OverdueRow])
def get_overdue(
    principal: Principal = Depends(personal_reader), session: Session = Depends(get_session)
) -> list[dict[str, Any]]:
    """Open events past their due time, most overdue first (working hours)."""
    frame = _scoped_frame(session, principal)
    now = pd.Timestamp.now(tz="UTC")
    table = overdue_list(frame, now)
    columns = [
        c
        for c in ("event_id", "grid_code", "category_code", "status", "due_at", "overdue_hours")
        if c in table.columns
    ]
    return table[columns].to_dict("records")


@router.get(
    "/events/{event_id}",
    response_model=EventFeature,
    response_model_exclude_unset=True,
    responses=errors(404, 422),
)
def get_event(
    event_id: str,
    principal: Principal = Depends(personal_reader),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """One event with its full history (a worker: of their own grids only, else 403)."""
    event = store.get_event(session, event_id)
    require_grid_read(principal, event["properties"]["owner_code"], "event")
    return event


@router.get(
    "/indicators",
    response_model=list[IndicatorRow],
    response_model_exclude_unset=True,
    responses=errors(422),
)
def get_indicators(
    by: Literal["grid_code", "street_code", "department"] = Query("grid_code"),
    start: datetime = Query(..., description="Period start (inclusive). " + TIME_HELP),
    end: datetime = Query(..., description="Period end (exclusive). " + TIME_HELP),
    principal: Principal = Depends(personal_reader),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> list[dict[str, Any]]:
    """Counts, 按期结案率, closure rate, mean handling time and overdue per unit.

    Times without a zone (``2026-10-01``) are in ``GRIDGEO_TIMEZONE``.
    A worker's indicators count the events of their own grids only.
    """
    start = localize(start, settings.timezone) or start
    end = localize(end, settings.timezone) or end
    if end <= start:
        raise InvalidInput("end must be after start")
    frame = _scoped_frame(session, principal)
    now = min(pd.Timestamp(end), pd.Timestamp.now(tz="UTC"))
    table = indicators(frame, by=by, period_start=start, period_end=end, now=now)
    table = table.reset_index().replace({np.nan: None})
    return table.to_dict("records")


__all__ = ["router", "SOURCES"]
