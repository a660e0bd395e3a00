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

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(request: Request, session: Session = Depends(get_session)) -> dict[str, Any]:
    """Report versions, and the in-memory locate index (generation, units, memory)."""
    versions = server_versions(session.connection())
    index = request.app.state.indexes.loaded_active()
    return {
        "status": "ok" if versions["postgis"] else "degraded",
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


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" '
    'fill="#2b6cb0"/><path d="M0 5.5h16M0 10.5h16M5.5 0v16M10.5 0v16" stroke="#fff"/></svg>'
)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """A small grid icon (so browsers do not log a 404)."""
    return Response(FAVICON, media_type="image/svg+xml")
