"""Read access to grid boundaries as GeoJSON."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from api.deps import get_session
from api.schemas import UnitCollection, UnitFeature, errors
from api.web import GeoJSONResponse, generation_etag, geojson_response, not_modified
from gridgeo.ogc import page_links
from gridgeo.settings import Settings
from gridgeo.store.features import count_features, feature_page
from gridgeo.store.generations import active_generation, get_generation
from gridgeo.store.models import Generation
from gridgeo.store.units import get_unit_feature

router = APIRouter(tags=["grids"])
Level = Literal["district", "street", "community", "grid", "microgrid"]
GRIDS_DEFAULT_LIMIT = 1000
CODE_PATTERN = r"^[0-9]{6}([0-9]{3}){0,4}$"


def _generation(request: Request, session: Session, generation: str | None) -> Generation:
    """The asked generation, else the one the locate index serves (the published one).

    Readers answer from one generation: without ``generation`` this is the
    generation of the active locate index, refreshed first, so ``/v1/grids``
    and ``/v1/locate`` never disagree (a published generation whose index
    cannot be built is not served; ``/healthz`` reports it).
    """
    if generation:
        return get_generation(session, generation)
    served = request.app.state.indexes.refresh(session)
    if served is None:
        return active_generation(session)  # raises NotFound: nothing published
    return get_generation(session, int(served))


@router.get(
    "/grids",
    response_class=GeoJSONResponse,
    response_model=UnitCollection,
    responses=errors(404, 422),
)
def list_grids(
    request: Request,
    level: Level | None = Query(None, description="Only units of this level."),
    parent: str | None = Query(None, pattern=CODE_PATTERN, description="Parent code."),
    generation: str | None = Query(
        None, max_length=200, description="Generation id or label; default active."
    ),
    simplify_m: float | None = Query(None, gt=0, le=1000, description="Simplify (metres)."),
    limit: int = Query(
        GRIDS_DEFAULT_LIMIT,
        ge=1,
        description="Page size (default 1000; larger values are cut to GRIDGEO_PAGE_MAX, "
        "10000 by default). Follow the `next` link for the rest.",
    ),
    offset: int = Query(0, ge=0, le=1_000_000_000, description="Units to skip (by code)."),
    session: Session = Depends(get_session),
) -> Response:
    """List grid units as a GeoJSON FeatureCollection, ordered by code and paged.

    The body carries ``numberMatched``, ``numberReturned`` and ``links``
    (``self``, and ``next``/``prev`` when there are more pages).
    """
    found = _generation(request, session, generation)
    generation_id = found.id
    etag = generation_etag(request, generation_id, found.status)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    settings: Settings = request.app.state.settings
    limit = min(limit, settings.page_max)
    matched = count_features(session, generation_id, level=level, parent=parent)
    features = feature_page(
        session,
        generation_id,
        level=level,
        parent=parent,
        simplify_m=simplify_m,
        limit=limit,
        offset=offset,
    )
    body = {
        "type": "FeatureCollection",
        "generation": str(generation_id),
        "numberMatched": matched,
        "numberReturned": len(features),
        "links": page_links(
            str(request.url.remove_query_params(list(request.query_params))),
            dict(request.query_params),
            offset=offset,
            limit=limit,
            matched=matched,
        ),
        "features": features,
    }
    return geojson_response(request, body, etag)


@router.get(
    "/grids/{code}",
    response_class=GeoJSONResponse,
    response_model=UnitFeature,
    responses=errors(404, 422),
)
def get_grid(
    request: Request,
    code: str = Path(..., pattern=CODE_PATTERN, description="6–18 digit code."),
    generation: str | None = Query(None, max_length=200),
    session: Session = Depends(get_session),
) -> Response:
    """Return one grid unit as a GeoJSON Feature."""
    found = _generation(request, session, generation)
    etag = generation_etag(request, found.id, found.status)
    return not_modified(request, etag) or geojson_response(
        request, get_unit_feature(session, found.id, code), etag
    )
