"""``/healthz``: database and PostGIS versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

import gridgeo
from api.deps import get_session
from api.schemas import Health
from gridgeo.store.db import server_versions
from gridgeo.store.generations import published_generation_id

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(request: Request, session: Session = Depends(get_session)) -> dict[str, Any]:
    """Report versions, the published generation and the in-memory locate index.

    ``status`` is ``degraded`` when PostGIS is missing or the locate index
    does not serve the published generation (``index_error`` says why when
    its index could not be built).
    """
    versions = server_versions(session.connection())
    registry = request.app.state.indexes
    served = registry.refresh(session)
    index = registry.loaded_active()
    active = published_generation_id(session)
    consistent = active == served
    failure = registry.failure()
    body: dict[str, Any] = {
        "status": "ok" if versions["postgis"] and consistent else "degraded",
        "active_generation": None if active is None else str(active),
        "gridgeo": gridgeo.__version__,
        "database": {"postgresql": versions["postgresql"], "schema": versions["schema_revision"]},
        "postgis": versions["postgis"],
        "locate_index": None
        if index is None
        else {
            "generation": index.generation,
            "units": len(index),
            "memory_mb": round(index.memory_bytes() / 2**20, 1),
        },
    }
    if failure is not None and failure[0] == active:
        body["index_error"] = failure[1]
    return body


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" '
    'fill="#2b6cb0"/><path d="M0 5.5h16M0 10.5h16M5.5 0v16M10.5 0v16" stroke="#fff"/></svg>'
)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """A small grid icon (so browsers do not log a 404)."""
    return Response(FAVICON, media_type="image/svg+xml")
