"""``/healthz``: database and PostGIS versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

import gridgeo
from api.deps import get_session
from gridgeo.store.db import server_versions

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: Session = Depends(get_session)) -> dict[str, Any]:
    """Report gridgeo's version and the database's PostgreSQL/PostGIS versions."""
    versions = server_versions(session.connection())
    return {
        "status": "ok" if versions["postgis"] else "degraded",
        "gridgeo": gridgeo.__version__,
        "database": {"postgresql": versions["postgresql"], "schema": versions["schema_revision"]},
        "postgis": versions["postgis"],
    }
