"""Patrol tracks: upload GPS fixes, coverage per worker, authenticity flags."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.access import grid_scope, in_scope, personal_reader
from api.deps import get_session, get_settings, require_role
from api.routers.generations import _read_limited
from api.schemas import AuthenticityFlag, TrackUpload, WorkerCoverage, errors
from api.validation import TIME_HELP, SafeStr, localize
from gridgeo.settings import Settings
from gridgeo.store.activity import insert_fixes
from gridgeo.store.users import Principal
from gridgeo.tracks import read_fixes, validate_fixes

router = APIRouter(tags=["tracks"])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records


@router.post("/tracks", response_model=TrackUpload, responses=errors(413, 422))
async def upload_fixes(
    request: Request,
    file: UploadFile = File(..., description="CSV, GPX or GeoJSON of GPS fixes"),
    crs: SafeStr | None = Form(
        None, max_length=100, description="Device CRS when the file does not say."
    ),
    worker_id: SafeStr | None = Form(
        None, max_length=200, description="Worker of a GPX/GeoJSON without one."
    ),
    all_or_nothing: bool = Form(False, description="Refuse the file if any row is bad."),
    principal: Principal = Depends(require_role("worker")),
    settings: Settings = Depends(get_settings),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Store GPS fixes (COPY); bad rows come back with row-level reasons.

    Good rows are stored and bad rows reported, unless ``all_or_nothing`` is
    set, in which case any bad row refuses the whole file (422). A worker may
    upload only fixes of workers assigned inside their own grids.
    """
    data = await _read_limited(file, settings.upload_limit_bytes)
    frame = await run_in_threadpool(
        read_fixes, data, filename=file.filename, crs=crs, worker_id=worker_id
    )
    roster = pd.read_sql(text("SELECT worker_id, grid_code FROM workers"), session.connection())
    good, rejects = validate_fixes(
        frame, set(roster["worker_id"]), now=pd.Timestamp.now("UTC"), all_or_nothing=all_or_nothing
    )
    if principal.role == "worker" and len(good):
        grids = roster.set_index("worker_id")["grid_code"]
        for worker in good["worker_id"].unique():
            principal.require_grid(str(grids.get(worker, "")) or "-")
    stored = insert_fixes(session, good)
    return {"stored": stored, "rejected": _records(rejects)}


@router.get("/tracks/coverage", response_model=list[WorkerCoverage], responses=errors(404, 422))
async def worker_coverage(
    request: Request,
    start: datetime | None = Query(
        None, description="Default: 30 days before the last fix. " + TIME_HELP
    ),
    end: datetime | None = Query(None),
    h3_res: int = Query(10, ge=7, le=11),
    principal: Principal = Depends(personal_reader),
) -> list[dict[str, Any]]:
    """巡查覆盖率 per worker: share of the assigned grid's H3 cells visited, patrol time.

    A worker sees the workers assigned inside their own grids.
    """
    zone = request.app.state.settings.timezone
    analysis, _ = await run_in_threadpool(
        request.app.state.analytics.tracks, localize(start, zone), localize(end, zone), h3_res
    )
    return _records(_scoped_workers(analysis.worker_coverage, principal))


def _scoped_workers(workers: pd.DataFrame, principal: Principal) -> pd.DataFrame:
    scope = grid_scope(principal)
    if scope is None:
        return workers
    return workers[workers["assigned_code"].map(lambda code: in_scope(scope, code)).astype(bool)]


@router.get("/tracks/flags", response_model=list[AuthenticityFlag], responses=errors(404, 422))
async def authenticity_flags(
    request: Request,
    start: datetime | None = Query(None),
    end: datetime | None = Query(None),
    kind: str | None = Query(
        None, max_length=40, description="teleport, replay, stationary, outside, …"
    ),
    principal: Principal = Depends(personal_reader),
) -> list[dict[str, Any]]:
    """Patrols flagged as possibly not genuine, with reason and evidence.

    A worker sees the flags of workers assigned inside their own grids.
    """
    zone = request.app.state.settings.timezone
    analysis, _ = await run_in_threadpool(
        request.app.state.analytics.tracks, localize(start, zone), localize(end, zone), 10
    )
    flags = analysis.flags
    if grid_scope(principal) is not None:
        workers = _scoped_workers(analysis.worker_coverage, principal)["worker_id"]
        flags = flags[flags["worker_id"].isin(set(workers.astype(str)))]
    if kind is not None:
        flags = flags[flags["kind"] == kind]
    return _records(flags)
