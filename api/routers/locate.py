"""``/v1/locate``: which grid owns a coordinate (DESIGN section 4 contract)."""

from __future__ import annotations

import io
import json
import math
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import get_settings
from api.indexes import IndexRegistry
from api.schemas import LocateAnswer, LocateBatchAnswer, errors
from gridgeo.crs import check_lonlat, normalize_crs_name, to_wgs84
from gridgeo.errors import InvalidInput, PayloadTooLarge
from gridgeo.locate import LocateIndex
from gridgeo.settings import Settings

router = APIRouter(tags=["locate"])
CRSName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
IDENTITY_CRS = ("wgs84", "cgcs2000")
"""Treated as the storage CRS (they agree to centimetres)."""


def json_response(body: Any) -> Response:
    """Serialise compactly (UTF-8, no ASCII escaping of Chinese names)."""
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
    )


def _registry(request: Request) -> IndexRegistry:
    registry: IndexRegistry = request.app.state.indexes
    return registry


def _index(request: Request, session: Session, at: datetime | None) -> LocateIndex:
    registry = _registry(request)
    return registry.at(session, at) if at is not None else registry.active(session)


@router.get("/locate", response_model=LocateAnswer, responses=errors(404, 422))
async def locate_point(
    request: Request,
    lon: float = Query(..., description="Longitude in `crs`."),
    lat: float = Query(..., description="Latitude in `crs`."),
    crs: CRSName = Query("wgs84", description="Coordinate system of the point."),
    at: datetime | None = Query(None, description="Answer for the generation active then."),
    within: float | None = Query(None, ge=0, le=50_000, description="Nearest grid radius (m)."),
) -> Response:
    """Return the owner grid of one point, its chain, special grids and boundary flag.

    The hot path runs on the event loop against the in-memory index of the
    active generation; only ``at=`` (or a cold index) touches the database.
    """
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        check_lonlat([lon], [lat])  # raises the standard message naming the problem
    x, y = (lon, lat) if crs in IDENTITY_CRS else (float(v) for v in to_wgs84(lon, lat, crs))
    registry = _registry(request)
    index = registry.loaded_active() if at is None else None
    if index is None:
        index = await run_in_threadpool(_index_with_session, request, at)
    result = index.locate(x, y, within_m=within)
    return json_response(index.point_json(result, 0, point={"lon": lon, "lat": lat, "crs": crs}))


def _index_with_session(request: Request, at: datetime | None) -> LocateIndex:
    with Session(request.app.state.engine) as session:
        return _index(request, session, at)


class LocateBatch(BaseModel):
    """JSON body of ``POST /v1/locate``."""

    crs: CRSName = "wgs84"
    at: datetime | None = None
    points: list[list[float | None]] = Field(..., description="[[lon, lat], ...]")


def _parse_csv(raw: bytes, limit: int) -> tuple[np.ndarray, np.ndarray, list[Any] | None]:
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype={"id": str})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the CSV body cannot be parsed: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = {"lon", "lat"} - set(frame.columns)
    if missing:
        raise InvalidInput(f"the CSV body lacks the column(s) {', '.join(sorted(missing))}")
    if len(frame) > limit:
        raise PayloadTooLarge(f"{len(frame)} points exceed the batch limit of {limit}")
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
    ids = frame["id"].tolist() if "id" in frame.columns else None
    return lon, lat, ids


def _parse_json(raw: bytes, limit: int) -> tuple[np.ndarray, np.ndarray, str, datetime | None]:
    try:
        body = LocateBatch.model_validate_json(raw)
    except ValueError as exc:
        raise InvalidInput(f"the JSON body is not a locate batch: {exc}") from exc
    if len(body.points) > limit:
        raise PayloadTooLarge(f"{len(body.points)} points exceed the batch limit of {limit}")
    bad = [i for i, p in enumerate(body.points) if len(p) != 2 or None in p]
    if bad:
        raise InvalidInput(f"row {bad[0]}: each point must be [lon, lat]", {"rows": bad[:1000]})
    coords = np.asarray(body.points, dtype=float).reshape(-1, 2)
    return coords[:, 0], coords[:, 1], body.crs, body.at


@router.post(
    "/locate",
    response_model=LocateBatchAnswer,
    responses=errors(404, 413, 422),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": LocateBatch.model_json_schema()},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
async def locate_batch(
    request: Request,
    crs: CRSName | None = Query(None, description="CRS of a CSV body (JSON carries its own)."),
    at: datetime | None = Query(None, description="For a CSV body."),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Locate a batch of points (JSON or CSV with lon,lat[,id]) in input order."""
    limit = settings.batch_limit
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max(64 * limit, 1 << 20) * 4:
        raise PayloadTooLarge(f"the body of {length} bytes is too large for {limit} points")
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0]
    ids: list[Any] | None = None
    if content_type in ("text/csv", "application/csv", "text/plain"):
        lon, lat, ids = _parse_csv(raw, limit)
        point_crs, when = normalize_crs_name(crs or "wgs84"), at
    elif content_type == "application/json":
        lon, lat, point_crs, when = _parse_json(raw, limit)
    else:
        raise InvalidInput(f"unsupported content type {content_type!r}; send JSON or text/csv")
    check_lonlat(lon, lat)
    x, y = to_wgs84(lon, lat, point_crs)

    def run() -> dict[str, Any]:
        index = _index_with_session(request, when)
        result = index.locate(x, y)
        body = result.batch_json()
        body["generation"] = index.generation
        if ids is not None:
            for item, ident in zip(body["results"], ids, strict=True):
                item["id"] = ident
        return body

    return json_response(await run_in_threadpool(run))
