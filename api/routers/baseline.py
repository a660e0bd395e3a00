"""Benchmark baseline: one PostGIS ``ST_Covers`` query per request (off by default).

Served only with ``GRIDGEO_BASELINE_ENDPOINTS=true``; ``bench/locate.py``
compares ``/v1/locate`` with it in the same app.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session

router = APIRouter(tags=["benchmark"], include_in_schema=False)

OWNER_SQL = text(
    """
    SELECT code FROM grid_units
    WHERE generation_id = (SELECT id FROM generations WHERE status = 'published')
      AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4490))
    ORDER BY (kind = 'special') DESC, length(code) DESC, code
    LIMIT 1
    """
)


@router.get("/bench/locate-postgis")
def locate_postgis(
    lon: float = Query(...), lat: float = Query(...), session: Session = Depends(get_session)
) -> dict[str, Any]:
    """Owner code of a WGS84/CGCS2000 point by one PostGIS query."""
    return {"owner": session.execute(OWNER_SQL, {"lon": lon, "lat": lat}).scalar()}
