"""Generations of boundaries (list for everyone, create drafts for planners)."""

from __future__ import annotations

import json
import shutil
from typing import Any, Literal

import numpy as np
import shapely
import shapely.geometry
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from api.deps import get_session, get_settings, require_role
from api.schemas import (
    EXPORT_CONTENT,
    GenerationDiff,
    GenerationOut,
    ImportSummaryOut,
    ValidationReportOut,
    errors,
)
from api.validation import RequestBody, SafeStr, SafeText
from gridgeo.errors import InvalidInput, PayloadTooLarge
from gridgeo.settings import Settings
from gridgeo.store.generations import create_generation, get_generation, list_generations
from gridgeo.store.models import Generation
from gridgeo.store.users import Principal
from gridgeo.tempdirs import make_temp_dir
from gridgeo.text import check_text, excerpt, is_ascii_digits
from gridgeo.workflows import planner

router = APIRouter(tags=["generations"])


def generation_json(generation: Generation) -> dict[str, Any]:
    """Render a generation row as JSON."""
    return {
        "id": str(generation.id),
        "label": generation.label,
        "status": generation.status,
        "created_at": generation.created_at,
        "valid_from": generation.valid_from,
        "valid_to": generation.valid_to,
        "parent": str(generation.parent_id) if generation.parent_id else None,
        "base_generation": str(generation.base_generation_id)
        if generation.base_generation_id
        else None,
        "note": generation.note,
        "forced_reason": generation.forced_reason,
    }


class DraftRequest(RequestBody):
    """Body of ``POST /v1/generations``."""

    label: str | None = Field(None, min_length=1, max_length=200)
    note: str | None = Field(None, max_length=2000)


@router.get("/generations", response_model=list[GenerationOut])
def get_generations(session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    """List all generations, newest first."""
    return [generation_json(g) for g in list_generations(session)]


@router.post(
    "/generations", status_code=201, response_model=GenerationOut, responses=errors(409, 422)
)
def post_generation(
    body: DraftRequest,
    principal: Principal = Depends(require_role("planner")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Create an empty draft generation (planner)."""
    generation = create_generation(session, body.label, note=body.note)
    session.refresh(generation)
    return generation_json(generation)


def _check_size(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length and len(length) <= 18 and is_ascii_digits(length) and int(length) > limit:
        raise PayloadTooLarge(f"the upload of {length} bytes exceeds the limit of {limit} bytes")


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{upload.filename} exceeds the upload limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/generations/import",
    status_code=201,
    response_model=ImportSummaryOut,
    responses=errors(409, 413, 422),
)
async def import_generation(
    request: Request,
    file: UploadFile = File(..., description="GeoJSON, GeoPackage, zipped Shapefile, GeoParquet"),
    crs: SafeStr | None = Form(
        None, max_length=2000, description="Declared CRS (gcj02, bd09, EPSG:4549 …)."
    ),
    layer: SafeStr | None = Form(None, max_length=200),
    encoding: SafeStr | None = Form(None, max_length=40),
    mapping: SafeStr | None = Form(
        None, max_length=10_000, description='JSON object, e.g. {"code": "WGBM"}'
    ),
    label: SafeStr | None = Form(None, max_length=200),
    note: SafeText | None = Form(None, max_length=2000),
    recode: bool = Form(False),
    replace_under: str | None = Form(
        None,
        pattern=r"^\d{6}(\d{3}){0,3}$",
        description="The file holds only the units under this code; the draft is the "
        "published generation with them replaced.",
    ),
    principal: Principal = Depends(require_role("planner")),
    settings: Settings = Depends(get_settings),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Upload a boundary file as a new draft generation (planner); 413 above the limit."""
    _check_size(request, settings.upload_limit_bytes)
    data = await _read_limited(file, settings.upload_limit_bytes)
    try:
        columns = json.loads(mapping) if mapping else None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"mapping is not a JSON object: {exc.msg}") from exc
    if columns is not None and not (
        isinstance(columns, dict) and all(isinstance(v, str) for v in columns.values())
    ):
        raise InvalidInput("mapping must be a JSON object of target: source column")
    for target, source in (columns or {}).items():
        check_text(target, "mapping")
        check_text(source, "mapping")
    summary = await run_in_threadpool(
        planner.import_boundaries,
        session,
        data,
        filename=file.filename,
        crs=crs,
        layer=layer,
        encoding=encoding,
        mapping=columns,
        label=label,
        note=note,
        recode=recode,
        replace_under=replace_under,
    )
    return summary.to_dict()


class ValidateRequest(RequestBody):
    """Body of ``POST /v1/generations/{ref}/validate``."""

    repair: bool = False
    scope: list[str] | None = Field(
        None, description="Codes the generation is stated to cover (completeness scope)."
    )


_CHANGED_ONLY = Query(
    None,
    description="Only findings absent from the baseline generation's report (default: on "
    "for a draft made from an edit or a partial re-import).",
)
_SEVERITY = Query(None, description="Only findings of this severity.")
_LEVEL = Query(None, description="Only findings naming units of this level (repeatable).")
Level = Literal["district", "street", "community", "grid", "microgrid"]


@router.post(
    "/generations/{ref}/validate",
    response_model=ValidationReportOut,
    responses=errors(404, 409, 422),
)
def validate_generation(
    ref: str,
    body: ValidateRequest | None = None,
    changed_only: bool | None = _CHANGED_ONLY,
    severity: Literal["error", "warning"] | None = _SEVERITY,
    level: list[Level] | None = _LEVEL,
    principal: Principal = Depends(require_role("planner")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Validate a generation, store the report and return it triaged (planner)."""
    report = planner.validate_generation(
        session, ref, repair=bool(body and body.repair), scope=body.scope if body else None
    )
    view = planner.report_view(
        session, ref, changed_only=changed_only, severity=severity, levels=list(level or [])
    )
    return {**report.to_dict(), **view}


@router.get(
    "/generations/{ref}/report", response_model=ValidationReportOut, responses=errors(404, 422)
)
def get_report(
    ref: str,
    changed_only: bool | None = _CHANGED_ONLY,
    severity: Literal["error", "warning"] | None = _SEVERITY,
    level: list[Level] | None = _LEVEL,
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The stored validation report of a generation, grouped by kind and filtered."""
    return planner.report_view(
        session, ref, changed_only=changed_only, severity=severity, levels=list(level or [])
    )


class PublishRequest(RequestBody):
    """Body of ``POST /v1/generations/{ref}/publish``."""

    force_reason: str | None = Field(None, min_length=3, max_length=2000)


@router.post(
    "/generations/{ref}/publish", response_model=GenerationOut, responses=errors(404, 409, 422)
)
def publish_generation(
    ref: str,
    request: Request,
    body: PublishRequest | None = None,
    principal: Principal = Depends(require_role("planner")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Publish a validated generation atomically, or force it with a reason (planner)."""
    registry = request.app.state.indexes
    generation = planner.publish_generation(
        session,
        ref,
        force_reason=body.force_reason if body else None,
        on_index=lambda index: registry.stage(int(index.generation or 0), index),
    )
    session.flush()
    registry.refresh(session)
    return generation_json(generation)


@router.get(
    "/generations/{old}/diff/{new}", response_model=GenerationDiff, responses=errors(404, 422)
)
def diff_generations(
    old: str,
    new: str,
    geometry: bool = Query(False, description="Add the changed areas as GeoJSON (`geometry`)."),
    session: Session = Depends(get_session),
) -> Any:
    """Per level: units added/removed/changed, area moved, households, workers and events
    re-attributed (events located with the locate rules in both generations)."""
    return planner.diff(session, old, new, geometry=geometry)


@router.get(
    "/generations/{ref}/export",
    response_class=FileResponse,
    responses={**EXPORT_CONTENT, **errors(404, 422)},
)
def export_generation(
    ref: str,
    format: Literal["geojson", "gpkg", "shapefile", "parquet"] = Query("geojson"),
    session: Session = Depends(get_session),
) -> FileResponse:
    """Download a generation as GeoJSON, GeoPackage, zipped Shapefile or GeoParquet."""
    generation = get_generation(session, ref)
    name = f"gridgeo-{generation.label}{planner.EXPORT_FORMATS[format]}"
    tmp = make_temp_dir("export")
    try:
        path = planner.export_generation(session, ref, tmp / name, format)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(path, filename=name, background=BackgroundTask(shutil.rmtree, tmp))


class RedrawRequest(RequestBody):
    """Body of ``POST /v1/generations/{ref}/redraw``."""

    operation: Literal["split", "merge", "move", "replace"]
    code: str | None = Field(None, pattern=r"^[0-9]{15}([0-9]{3})?$")
    codes: list[str] | None = Field(None, max_length=10_000)
    new_parent: str | None = Field(None, pattern=r"^[0-9]{15}$")
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON LineString (split) or Polygon (replace), lon/lat EPSG:4490"
    )
    adjust_neighbours: bool = True
    label: str | None = Field(None, max_length=200)


@router.post(
    "/generations/{ref}/redraw",
    status_code=201,
    response_model=ImportSummaryOut,
    responses=errors(404, 409, 422),
)
def redraw_generation(
    ref: str,
    body: RedrawRequest,
    principal: Principal = Depends(require_role("planner")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Split, merge, move micro-grids or replace a geometry; the result is a new draft."""
    geometry = None
    if body.geometry is not None:
        try:
            geometry = shapely.geometry.shape(body.geometry)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"geometry is not valid GeoJSON: {excerpt(str(exc), 200)}") from None
        if not np.isfinite(shapely.get_coordinates(geometry)).all():
            raise InvalidInput("geometry: coordinates must be finite (no NaN or infinity)")
    summary = planner.redraw(
        session,
        ref,
        body.operation,
        code=body.code,
        codes=body.codes,
        new_parent=body.new_parent,
        geometry=geometry,
        adjust_neighbours=body.adjust_neighbours,
        label=body.label,
    )
    return summary.to_dict()
