"""Authenticity flags under review.

Analyst or admin token only: worker ids and suspicions are personal data.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from api.routers.maps import MapStyle, _page
from gridgeo.store.users import Principal
from gridgeo.workflows import flags as flag_flows

router = APIRouter(tags=["tracks"])
maps_router = APIRouter(tags=["maps"])
_reviewer = require_role("analyst")


class Review(BaseModel):
    """A supervisor's decision on a flag."""

    state: Literal["confirmed", "dismissed", "open"]
    note: str | None = Field(None, max_length=2000)


@router.post("/tracks/flags/refresh")
async def refresh_flags(
    request: Request,
    start: datetime | None = Query(None),
    end: datetime | None = Query(None),
    principal: Principal = Depends(_reviewer),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Compute the period's flags and store them for review (review states are kept)."""
    stored = await run_in_threadpool(
        flag_flows.refresh_flags, session, request.app.state.analytics, start, end
    )
    return {"stored": stored}


@router.get("/tracks/flags/{flag_id}")
def get_flag(
    flag_id: int,
    principal: Principal = Depends(_reviewer),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """One stored flag: reason, evidence, period and review state."""
    return flag_flows.get_flag(session, flag_id)


@router.post("/tracks/flags/{flag_id}/review")
def review_flag(
    flag_id: int,
    body: Review,
    principal: Principal = Depends(_reviewer),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Confirm or dismiss a flag (``open`` reopens it); who and when are recorded."""
    return flag_flows.review_flag(session, flag_id, body.state, by=principal.name, note=body.note)


@maps_router.get("/maps/flags/{flag_id}", response_class=HTMLResponse)
async def flag_page(
    flag_id: int,
    style: MapStyle = Depends(),
    principal: Principal = Depends(_reviewer),
    session: Session = Depends(get_session),
) -> HTMLResponse:
    """The flagged patrol with its evidence; for a replay or copy, both tracks overlaid."""
    build = partial(flag_flows.flag_page, session, flag_id, **style.options())
    return _page(await run_in_threadpool(build))
