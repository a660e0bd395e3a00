"""Read access to grid boundaries as GeoJSON."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from api.deps import get_session
from gridgeo.store.generations import active_generation, get_generation
from gridgeo.store.units import get_unit_feature, units_feature_collection

router = APIRouter(tags=["grids"])
Level = Literal["district", "street", "community", "grid", "microgrid"]
CODE_PATTERN = r"^\d{6}(\d{3}){0,4}$"


def _generation_id(request: Request, session: Session, generation: str | None) -> int:
    """The asked generation, else the one the locate index serves (the published one).

    Readers answer from one generation: without ``generation`` this is the
    generation of the active locate index, refreshed first, so ``/v1/grids``
    and ``/v1/locate`` never disagree (a published generation whose index
    cannot be built is not served; ``/healthz`` reports it).
    """
    if generation:
        return get_generation(session, generation).id
    served = request.app.state.indexes.refresh(session)
    if served is None:
        return active_generation(session).id  # raises NotFound: nothing published
    return int(served)


@router.get("/grids")
def list_grids(
    request: Request,
    level: Level | None = Query(None, description="Only units of this level."),
    parent: str | None = Query(None, pattern=CODE_PATTERN, description="Parent code."),
    generation: str | None = Query(None, description="Generation id or label; default active."),
    simplify_m: float | None = Query(None, gt=0, le=1000, description="Simplify (metres)."),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """List grid units as a GeoJSON FeatureCollection."""
    return units_feature_collection(
        session,
        _generation_id(request, session, generation),
        level=level,
        parent=parent,
        simplify_m=simplify_m,
    )


@router.get("/grids/{code}")
def get_grid(
    request: Request,
    code: str = Path(..., pattern=CODE_PATTERN, description="6–18 digit code."),
    generation: str | None = Query(None),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Return one grid unit as a GeoJSON Feature."""
    return get_unit_feature(session, _generation_id(request, session, generation), code)
