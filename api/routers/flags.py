"""Authenticity flags under review.

Analyst or admin token only: worker ids and suspicions are personal data.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from api.routers.maps import MapStyle, _page
from api.schemas import FlagsRefreshed, StoredFlag, errors
from api.validation import RequestBody
from gridgeo.store.users import Principal
from gridgeo.workflows import flags as flag_flows

router = APIRouter(tags=["tracks"])
maps_router = APIRouter(tags=["maps"])
_reviewer = require_role("analyst")


class Review(RequestBody):
    """A supervisor's decision on a flag."""

    state: Literal["confirmed", "dismissed", "open"]
    note: str | None = Field(None, max_length=2000)


@router.post(
    "/tracks/flags/refresh", response_model=FlagsRefreshed, responses=errors(404, 422)
)
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


@router.get("/tracks/flags/{flag_id}", response_model=StoredFlag, responses=errors(404, 422))
def get_flag(
    flag_id: int = Path(..., ge=1, le=2**31 - 1),
    principal: Principal = Depends(_reviewer),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """One stored flag: reason, evidence, period and review state."""
    return flag_flows.get_flag(session, flag_id)


@router.post(
    "/tracks/flags/{flag_id}/review", response_model=StoredFlag, responses=errors(404, 422)
)
def review_flag(
    body: Review,
    flag_id: int = Path(..., ge=1, le=2**31 - 1),
    principal: Principal = Depends(_reviewer),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Confirm or dismiss a flag (``open`` reopens it); who and when are recorded."""
    return flag_flows.review_flag(session, flag_id, body.state, by=principal.name, note=body.note)


@maps_router.get("/maps/flags/{flag_id}", response_class=HTMLResponse, responses=errors(404, 422))
async def flag_page(
    flag_id: int = Path(..., ge=1, le=2**31 - 1),
    style: MapStyle = Depends(),
    principal: Principal = Depends(_reviewer),
    session: Session = Depends(get_session),
) -> HTMLResponse:
    """The flagged patrol with its evidence; for a replay or copy, both tracks overlaid."""
    build = partial(flag_flows.flag_page, session, flag_id, **style.options())
    return _page(await run_in_threadpool(build))
