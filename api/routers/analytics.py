"""GeoJSON analytics: ``/v1/analytics/hotspots``, ``/emerging`` and ``/coverage``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.schemas import GEOJSON, AnalysisLayer, errors
from api.validation import MAX_SEED, TIME_HELP, localize
from gridgeo.workflows import analytics

router = APIRouter(tags=["analytics"])
LEVEL_HELP = "grid, community, street or h3:<res> (res 5–10)"


def geojson(layer: Any) -> Response:
    """Serialise a layer as a FeatureCollection with its parameters."""
    body = json.loads(layer.to_json(na="null", show_bbox=False, drop_id=False))
    body["parameters"] = layer.attrs
    return Response(
        json.dumps(body, ensure_ascii=False, default=str), media_type="application/geo+json"
    )


def _zone(request: Request) -> str:
    zone: str = request.app.state.settings.timezone
    return zone


@dataclass
class EventSelection:
    """Query parameters shared by the event analyses and their maps."""

    level: str = Query("grid", max_length=20, description=LEVEL_HELP)
    start: datetime | None = Query(None, description="Reported from (inclusive). " + TIME_HELP)
    end: datetime | None = Query(None, description="Reported until (exclusive).")
    category: str | None = Query(
        None, max_length=100, description="Category code, level-1 or level-2 name."
    )
    value: str | None = Query(
        None,
        pattern="^(rate|count)$",
        description="Default: rate for grids, communities and streets; count for H3 cells.",
    )

    def options(self, zone: str | None = None) -> dict[str, Any]:
        """Keyword arguments of the analysis functions (naive times put in ``zone``)."""
        options = asdict(self)
        if zone is not None:
            options["start"] = localize(self.start, zone)
            options["end"] = localize(self.end, zone)
        return options


@router.get(
    "/analytics/hotspots", response_model=AnalysisLayer, responses={**GEOJSON, **errors(404, 422)}
)
async def get_hotspots(
    request: Request,
    selection: EventSelection = Depends(),
    permutations: int = Query(999, ge=0, le=9999),
    seed: int = Query(0, ge=0, le=MAX_SEED),
) -> Response:
    """Getis-Ord Gi* (binary weights, star, permutations, FDR) with ArcGIS bins −3…+3."""
    layer = await run_in_threadpool(
        partial(
            analytics.hotspots,
            permutations=permutations,
            seed=seed,
            **selection.options(_zone(request)),
        ),
        request.app.state.analytics,
    )
    return geojson(layer)


@router.get(
    "/analytics/emerging", response_model=AnalysisLayer, responses={**GEOJSON, **errors(404, 422)}
)
async def get_emerging(request: Request, selection: EventSelection = Depends()) -> Response:
    """Emerging hot spots over monthly slices (17 ArcGIS categories)."""
    layer = await run_in_threadpool(
        partial(analytics.emerging, **selection.options(_zone(request))),
        request.app.state.analytics,
    )
    return geojson(layer)


@router.get(
    "/analytics/coverage", response_model=AnalysisLayer, responses={**GEOJSON, **errors(404, 422)}
)
async def get_coverage(
    request: Request,
    start: datetime | None = Query(
        None, description="Default: 30 days before the last fix. " + TIME_HELP
    ),
    end: datetime | None = Query(None),
    days: float = Query(7, gt=0, le=365, description="Not visited within this many days."),
    target: float = Query(0.6, ge=0, le=1, description="Coverage share target."),
    h3_res: int = Query(10, ge=7, le=11),
) -> Response:
    """Patrol coverage per grid and the gaps (unvisited, stale, below target)."""
    layer = await run_in_threadpool(
        analytics.coverage,
        request.app.state.analytics,
        start=localize(start, _zone(request)),
        end=localize(end, _zone(request)),
        days=days,
        target=target,
        h3_res=h3_res,
    )
    return geojson(layer)
