"""OGC API – Features (Part 1 Core/GeoJSON, Part 2 CRS) over the published generation.

``/`` (landing page), ``/conformance``, ``/collections``,
``/collections/{collectionId}``, ``/collections/{collectionId}/items`` and
``/collections/{collectionId}/items/{featureId}``; one collection per level
and one for the special grids (see :data:`gridgeo.ogc.COLLECTIONS`).
QGIS and GDAL open it as ``OAPIF:http://host:port``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

import gridgeo
from api.deps import get_session
from api.schemas import (
    OgcCollection,
    OgcCollections,
    OgcConformance,
    OgcFeature,
    OgcFeatureCollection,
    OgcLanding,
    errors,
)
from api.web import GeoJSONResponse, generation_etag, geojson_response, not_modified
from gridgeo import ogc
from gridgeo.errors import NotFound
from gridgeo.settings import Settings
from gridgeo.store.features import BBox, count_features, extents_by_level, feature_page
from gridgeo.store.generations import active_generation
from gridgeo.store.models import Generation

router = APIRouter(tags=["ogc-api-features"])
ITEMS_DEFAULT_LIMIT = 100
FEATURE_ID_PATTERN = r"^\d{6}(\d{3}){0,4}$"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection(collection_id: str) -> ogc.Collection:
    found = ogc.COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFound(
            f"collection {collection_id[:40]!r} does not exist; there are: "
            + ", ".join(ogc.COLLECTIONS)
        )
    return found


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


@router.get("/", summary="OGC API landing page", response_model=OgcLanding)
def landing_page(request: Request) -> dict[str, Any]:
    """Links to the API definition, the conformance declaration and the collections."""
    base = _base(request)
    return {
        "title": "gridgeo",
        "description": "Grid boundaries of the published generation as OGC API – Features "
        f"(gridgeo {gridgeo.__version__}).",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": ogc.JSON, "title": "this document"},
            {
                "href": f"{base}/api",
                "rel": "service-desc",
                "type": ogc.OPENAPI,
                "title": "the OGC API definition (OpenAPI 3.0)",
            },
            {
                "href": f"{base}/openapi.json",
                "rel": "describedby",
                "type": "application/vnd.oai.openapi+json;version=3.1",
                "title": "the whole HTTP API (OpenAPI 3.1)",
            },
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "docs"},
            {
                "href": f"{base}/conformance",
                "rel": "conformance",
                "type": ogc.JSON,
                "title": "conformance classes",
            },
            {
                "href": f"{base}/collections",
                "rel": "data",
                "type": ogc.JSON,
                "title": "collections",
            },
            {
                "href": f"{base}/tiles.json",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "type": "application/json",
                "title": "vector tiles (TileJSON)",
            },
        ],
    }


@router.get(
    "/api",
    summary="OGC API definition (OpenAPI 3.0)",
    response_class=Response,
    responses={200: {"content": {ogc.OPENAPI: {}}, "description": "OpenAPI 3.0 document."}},
)
def api_definition(request: Request) -> Response:
    """The OpenAPI 3.0 document of the OGC API resources (read by QGIS and GDAL)."""
    settings: Settings = request.app.state.settings
    body = ogc.openapi_document(
        _base(request), default_limit=ITEMS_DEFAULT_LIMIT, page_max=settings.page_max
    )
    return JSONResponse(body, media_type=ogc.OPENAPI)


@router.get(
    "/conformance", summary="OGC API conformance declaration", response_model=OgcConformance
)
def conformance() -> dict[str, Any]:
    """The conformance classes the API implements."""
    return {"conformsTo": list(ogc.CONFORMANCE)}


def _collection_body(
    base: str,
    collection: ogc.Collection,
    generation: Generation | None,
    extents: dict[tuple[str, str], tuple[int, BBox]],
) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}"
    body: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": list(ogc.SUPPORTED_CRS),
        "storageCrs": ogc.STORAGE_CRS,
        "links": [
            {"href": url, "rel": "self", "type": ogc.JSON, "title": collection.title},
            {"href": f"{url}/items", "rel": "items", "type": ogc.GEOJSON, "title": "items"},
        ],
    }
    boxes = [
        box
        for (level, kind), (_, box) in extents.items()
        if level == collection.level and (collection.kind is None or kind == collection.kind)
    ]
    if generation is not None:
        extent: dict[str, Any] = {
            "temporal": {
                "interval": [[_iso(generation.valid_from), _iso(generation.valid_to)]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }
        }
        if boxes:
            extent["spatial"] = {
                "bbox": [
                    [
                        min(b[0] for b in boxes),
                        min(b[1] for b in boxes),
                        max(b[2] for b in boxes),
                        max(b[3] for b in boxes),
                    ]
                ],
                "crs": ogc.CRS84,
            }
        body["extent"] = extent
        body["generation"] = str(generation.id)
    return body


def _published(session: Session) -> Generation | None:
    try:
        return active_generation(session)
    except NotFound:
        return None


@router.get(
    "/collections", summary="OGC API feature collections", response_model=OgcCollections
)
def collections(request: Request, session: Session = Depends(get_session)) -> Response:
    """One collection per level of the published generation, and the special grids."""
    generation = _published(session)
    extents = extents_by_level(session, generation.id) if generation else {}
    base = _base(request)
    body = {
        "links": [
            {"href": f"{base}/collections", "rel": "self", "type": ogc.JSON, "title": "collections"}
        ],
        "collections": [
            _collection_body(base, c, generation, extents) for c in ogc.COLLECTIONS.values()
        ],
    }
    if generation is None:
        return JSONResponse(body)
    etag = generation_etag(request, generation.id)
    return not_modified(request, etag) or geojson_response(request, body, etag, media_type=ogc.JSON)


@router.get(
    "/collections/{collectionId}",
    summary="One OGC API feature collection",
    response_model=OgcCollection,
    responses=errors(404),
)
def collection(
    request: Request,
    collection_id: str = Path(..., alias="collectionId", max_length=64),
    session: Session = Depends(get_session),
) -> Response:
    """Description, extent and links of one collection."""
    found = _collection(collection_id)
    generation = _published(session)
    extents = extents_by_level(session, generation.id) if generation else {}
    body = _collection_body(_base(request), found, generation, extents)
    if generation is None:
        return JSONResponse(body)
    etag = generation_etag(request, generation.id)
    return not_modified(request, etag) or geojson_response(request, body, etag, media_type=ogc.JSON)


@router.get(
    "/collections/{collectionId}/items",
    summary="Features of a collection (GeoJSON, paged)",
    response_class=GeoJSONResponse,
    response_model=OgcFeatureCollection,
    responses=errors(400, 404),
)
def items(
    request: Request,
    collection_id: str = Path(..., alias="collectionId", max_length=64),
    limit: int = Query(
        ITEMS_DEFAULT_LIMIT,
        ge=1,
        description="Page size (default 100); larger values are cut to GRIDGEO_PAGE_MAX "
        "(10000 by default).",
    ),
    offset: int = Query(0, ge=0, le=1_000_000_000, description="Features to skip."),
    bbox: str | None = Query(
        None,
        description="xmin,ymin,xmax,ymax (or 6 numbers with heights) in `bbox-crs`; "
        "features intersecting it.",
    ),
    bbox_crs: str | None = Query(
        None, alias="bbox-crs", description="CRS of `bbox` (default CRS84)."
    ),
    crs: str | None = Query(None, description="CRS of the response geometries (default CRS84)."),
    datetime_: str | None = Query(
        None,
        alias="datetime",
        description="Instant or interval (`start/end`, `..` for open); features whose "
        "generation was valid then.",
    ),
    session: Session = Depends(get_session),
) -> Response:
    """One page of features: ``next``/``prev`` links, ``numberMatched``, ``numberReturned``."""
    found = _collection(collection_id)
    settings: Settings = request.app.state.settings
    out_crs = ogc.parse_crs(crs)
    box = ogc.parse_bbox(bbox, ogc.parse_crs(bbox_crs, "bbox-crs")) if bbox else None
    interval = ogc.parse_datetime(datetime_) if datetime_ else None
    generation = active_generation(session)
    etag = generation_etag(request, generation.id)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    limit = min(limit, settings.page_max)
    if interval and not ogc.validity_intersects(
        generation.valid_from, generation.valid_to, *interval
    ):
        matched, features = 0, []
    else:
        filters: dict[str, Any] = {"level": found.level, "kind": found.kind, "bbox": box}
        matched = count_features(session, generation.id, **filters)
        features = feature_page(
            session,
            generation.id,
            **filters,
            limit=limit,
            offset=offset,
            lat_lon=out_crs.lat_lon,
        )
    url = f"{_base(request)}/collections/{found.id}/items"
    links = ogc.page_links(
        url, dict(request.query_params), offset=offset, limit=limit, matched=matched
    )
    links.append(
        {
            "href": f"{_base(request)}/collections/{found.id}",
            "rel": "collection",
            "type": ogc.JSON,
            "title": found.title,
        }
    )
    body = {
        "type": "FeatureCollection",
        "timeStamp": _iso(datetime.now(UTC)),
        "numberMatched": matched,
        "numberReturned": len(features),
        "generation": str(generation.id),
        "links": links,
        "features": features,
    }
    return geojson_response(request, body, etag, {"Content-Crs": f"<{out_crs.uri}>"})


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature (GeoJSON)",
    response_class=GeoJSONResponse,
    response_model=OgcFeature,
    responses=errors(400, 404),
)
def item(
    request: Request,
    collection_id: str = Path(..., alias="collectionId", max_length=64),
    feature_id: str = Path(..., alias="featureId", max_length=18),
    crs: str | None = Query(None, description="CRS of the response geometry (default CRS84)."),
    session: Session = Depends(get_session),
) -> Response:
    """One unit of the collection by its code."""
    found = _collection(collection_id)
    out_crs = ogc.parse_crs(crs)
    generation = active_generation(session)
    etag = generation_etag(request, generation.id)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    features = (
        feature_page(
            session,
            generation.id,
            level=found.level,
            kind=found.kind,
            code=feature_id,
            lat_lon=out_crs.lat_lon,
        )
        if feature_id.isascii() and feature_id.isdigit()
        else []
    )
    if not features:
        raise NotFound(f"feature {feature_id[:18]!r} is not in collection {found.id}")
    feature = features[0]
    base = _base(request)
    feature["links"] = [
        {
            "href": f"{base}/collections/{found.id}/items/{feature_id}",
            "rel": "self",
            "type": ogc.GEOJSON,
            "title": "this feature",
        },
        {
            "href": f"{base}/collections/{found.id}",
            "rel": "collection",
            "type": ogc.JSON,
            "title": found.title,
        },
    ]
    return geojson_response(request, feature, etag, {"Content-Crs": f"<{out_crs.uri}>"})
