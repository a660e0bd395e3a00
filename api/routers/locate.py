"""``/v1/locate``: which grid owns a coordinate (DESIGN section 4 contract)."""

from __future__ import annotations

import io
import json
import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from api.deps import get_settings
from api.indexes import IndexRegistry
from api.schemas import LocateAnswer, LocateBatchAnswer, errors
from api.validation import TIME_HELP, Number, RequestBody, localize
from gridgeo.crs import (
    CRS_HELP,
    CRSSpec,
    check_lonlat,
    parse_crs,
    point_to_wgs84,
    to_wgs84,
)
from gridgeo.errors import InvalidInput, PayloadTooLarge
from gridgeo.locate import LocateIndex
from gridgeo.settings import Settings
from gridgeo.text import excerpt, is_ascii_digits

router = APIRouter(tags=["locate"])
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
    lon: float = Query(..., description="Longitude in `crs` (x in metres for a projected CRS)."),
    lat: float = Query(..., description="Latitude in `crs` (y in metres for a projected CRS)."),
    crs: str = Query("wgs84", max_length=100, description="Coordinate system: " + CRS_HELP),
    at: datetime | None = Query(
        None, description="Answer for the generation active then. " + TIME_HELP
    ),
    within: float | None = Query(None, ge=0, le=50_000, description="Nearest grid radius (m)."),
) -> Response:
    """Return the owner grid of one point, its chain, special grids and boundary flag.

    The hot path runs on the event loop against the in-memory index of the
    active generation; only ``at=`` (or a cold index) touches the database.
    """
    spec = _crs(crs)
    if spec.projected:
        x, y = (float(v[0]) for v in point_to_wgs84([lon], [lat], spec))
        check_lonlat([x], [y])
    else:
        if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
            check_lonlat([lon], [lat])  # raises the standard message naming the problem
        if spec.name in IDENTITY_CRS:
            x, y = lon, lat
        else:
            x, y = (float(v) for v in to_wgs84(lon, lat, spec.name))
    when = localize(at, _settings(request).timezone)
    registry = _registry(request)
    index = registry.loaded_active() if when is None else None
    if index is None:
        index = await run_in_threadpool(_index_with_session, request, when)
    result = index.locate(x, y, within_m=within)
    point = {"lon": lon, "lat": lat, "crs": spec.name}
    return json_response(index.point_json(result, 0, point=point))


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _crs(name: str) -> CRSSpec:
    return parse_crs(name)


def _index_with_session(request: Request, at: datetime | None) -> LocateIndex:
    with Session(request.app.state.engine) as session:
        return _index(request, session, at)


class LocateBatch(RequestBody):
    """JSON body of ``POST /v1/locate``."""

    crs: str = Field("wgs84", max_length=100, description=CRS_HELP)
    at: datetime | None = Field(None, description=TIME_HELP)
    points: list[list[Number | None]] = Field(..., description="[[lon, lat], ...]")


BRACKET_SLACK = 256
"""``[`` beyond one per point that a JSON body may hold before it counts as too many points."""


async def _read_body(request: Request, limit: int, csv: bool) -> bytes:
    """Read the body as it streams in; stop with 413 at the byte cap or the batch limit.

    Points are counted cheaply while reading (``[`` for JSON, line breaks
    for CSV): a body that holds clearly more than ``limit`` points is
    refused before it is read, let alone parsed, in full. Bodies close to
    the limit are counted exactly after parsing.
    """
    cap = max(64 * limit, 1 << 20) * 4
    length = request.headers.get("content-length")
    if length and len(length) <= 18 and is_ascii_digits(length) and int(length) > cap:
        raise PayloadTooLarge(f"the body of {length} bytes is too large for {limit} points")
    marker = b"\n" if csv else b"["
    chunks: list[bytes] = []
    size = count = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"the body exceeds {cap} bytes, too large for {limit} points")
        count += chunk.count(marker)
        if count > limit + BRACKET_SLACK:
            raise PayloadTooLarge(f"more than {limit} points exceed the batch limit of {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_csv(raw: bytes, limit: int) -> tuple[np.ndarray, np.ndarray, list[Any] | None]:
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype={"id": str})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the CSV body cannot be parsed: {excerpt(str(exc), 200)}") from None
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
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise InvalidInput(f"the JSON body is not a locate batch: {problems}") from None
    except ValueError as exc:
        raise InvalidInput(
            f"the JSON body is not a locate batch: {excerpt(str(exc), 200)}"
        ) from None
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
    crs: str | None = Query(
        None, max_length=100, description="CRS of a CSV body (JSON carries its own): " + CRS_HELP
    ),
    at: datetime | None = Query(None, description="For a CSV body. " + TIME_HELP),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Locate a batch of points (JSON or CSV with lon,lat[,id]) in input order.

    At most ``GRIDGEO_BATCH_LIMIT`` points: a larger body (also a chunked
    one) is refused with 413 while it streams in, without being parsed.
    """
    limit = settings.batch_limit
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    ids: list[Any] | None = None
    if content_type in ("text/csv", "application/csv", "text/plain"):
        spec = _crs(crs or "wgs84")
        raw = await _read_body(request, limit, csv=True)
        lon, lat, ids = _parse_csv(raw, limit)
        when = at
    elif content_type == "application/json":
        raw = await _read_body(request, limit, csv=False)
        lon, lat, point_crs, when = _parse_json(raw, limit)
        spec = _crs(point_crs)
    else:
        raise InvalidInput(
            f"unsupported content type {excerpt(content_type, 60)}; send JSON or text/csv"
        )
    when = localize(when, settings.timezone)
    if spec.projected:
        x, y = point_to_wgs84(lon, lat, spec)
        check_lonlat(x, y)
    else:
        check_lonlat(lon, lat)
        x, y = to_wgs84(lon, lat, spec.name)

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
