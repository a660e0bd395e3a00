"""Generations of boundaries (list for everyone, create drafts for planners)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

import shapely.geometry
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from api.deps import get_session, get_settings, require_role
from gridgeo.errors import InvalidInput, NotFound, PayloadTooLarge
from gridgeo.settings import Settings
from gridgeo.store.generations import create_generation, get_generation, list_generations
from gridgeo.store.models import Generation
from gridgeo.store.users import Principal
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


class DraftRequest(BaseModel):
    """Body of ``POST /v1/generations``."""

    label: str | None = Field(None, min_length=1, max_length=200)
    note: str | None = Field(None, max_length=2000)


@router.get("/generations")
def get_generations(session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    """List all generations, newest first."""
    return [generation_json(g) for g in list_generations(session)]


@router.post("/generations", status_code=201)
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
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"the upload of {length} bytes exceeds the limit of {limit} bytes")


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{upload.filename} exceeds the upload limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/generations/import", status_code=201)
async def import_generation(
    request: Request,
    file: UploadFile = File(..., description="GeoJSON, GeoPackage, zipped Shapefile, GeoParquet"),
    crs: str | None = Form(None, description="Declared CRS (gcj02, bd09, EPSG:4549 …)."),
    layer: str | None = Form(None),
    encoding: str | None = Form(None),
    mapping: str | None = Form(None, description='JSON object, e.g. {"code": "WGBM"}'),
    label: str | None = Form(None, max_length=200),
    note: str | None = Form(None, max_length=2000),
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
    if columns is not None and not isinstance(columns, dict):
        raise InvalidInput("mapping must be a JSON object of target: source column")
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


class ValidateRequest(BaseModel):
    """Body of ``POST /v1/generations/{ref}/validate``."""

    repair: bool = False


@router.post("/generations/{ref}/validate")
def validate_generation(
    ref: str,
    body: ValidateRequest | None = None,
    principal: Principal = Depends(require_role("planner")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Validate a generation and store the report (planner)."""
    report = planner.validate_generation(session, ref, repair=bool(body and body.repair))
    result: dict[str, Any] = report.to_dict()
    return result


@router.get("/generations/{ref}/report")
def get_report(ref: str, session: Session = Depends(get_session)) -> dict[str, Any]:
    """The stored validation report of a generation."""
    generation = get_generation(session, ref)
    if generation.validation_report is None:
        raise NotFound(f"generation {generation.label} has not been validated")
    return generation.validation_report


class PublishRequest(BaseModel):
    """Body of ``POST /v1/generations/{ref}/publish``."""

    force_reason: str | None = Field(None, min_length=3, max_length=2000)


@router.post("/generations/{ref}/publish")
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


@router.get("/generations/{old}/diff/{new}")
def diff_generations(
    old: str,
    new: str,
    geometry: bool = Query(False, description="Add the changed areas as GeoJSON (`geometry`)."),
    session: Session = Depends(get_session),
) -> Any:
    """Per level: units added/removed/changed, area moved, households, workers and events
    re-attributed (events located with the locate rules in both generations)."""
    return planner.diff(session, old, new, geometry=geometry)


@router.get("/generations/{ref}/export")
def export_generation(
    ref: str,
    format: Literal["geojson", "gpkg", "shapefile", "parquet"] = Query("geojson"),
    session: Session = Depends(get_session),
) -> FileResponse:
    """Download a generation as GeoJSON, GeoPackage, zipped Shapefile or GeoParquet."""
    tmp = Path(tempfile.mkdtemp(prefix="gridgeo-export-"))
    generation = get_generation(session, ref)
    name = f"gridgeo-{generation.label}{planner.EXPORT_FORMATS[format]}"
    path = planner.export_generation(session, ref, tmp / name, format)
    return FileResponse(path, filename=name, background=BackgroundTask(shutil.rmtree, tmp))


class RedrawRequest(BaseModel):
    """Body of ``POST /v1/generations/{ref}/redraw``."""

    operation: Literal["split", "merge", "move", "replace"]
    code: str | None = Field(None, pattern=r"^\d{15}(\d{3})?$")
    codes: list[str] | None = None
    new_parent: str | None = Field(None, pattern=r"^\d{15}$")
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON LineString (split) or Polygon (replace), lon/lat EPSG:4490"
    )
    adjust_neighbours: bool = True
    label: str | None = Field(None, max_length=200)


@router.post("/generations/{ref}/redraw", status_code=201)
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
            raise InvalidInput(f"geometry is not valid GeoJSON: {exc}") from exc
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
