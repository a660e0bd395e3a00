"""Map pages (folium, offline) under ``/maps/``: grids, hotspots, emerging, coverage."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.routers.analytics import EventSelection
from api.schemas import errors
from gridgeo.heatmaps import render_html
from gridgeo.workflows import maps as map_pages

router = APIRouter(tags=["maps"])
Basemap = Literal["none", "osm", "amap", "tianditu"]

INDEX = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>gridgeo maps</title><style>body{font:15px sans-serif;margin:2em;max-width:48em}
li{margin:.4em 0}</style></head><body><h1>gridgeo maps · 地图</h1><ul>
<li><a href="/maps/grids">Grid boundaries · 网格边界</a> (levels, code search)</li>
<li><a href="/maps/hotspots">Hot spots · 热点分析</a> (Gi*, per grid; <code>?level=h3:9</code>)</li>
<li><a href="/maps/emerging">Emerging hot spots · 时空热点趋势</a> (monthly)</li>
<li><a href="/maps/coverage">Patrol coverage gaps · 巡查覆盖盲区</a></li>
</ul><p>Every page takes <code>basemap=none|osm|amap|tianditu</code> (Tianditu needs
<code>tianditu_key</code>); without a basemap the pages work offline.</p></body></html>"""


@dataclass
class MapStyle:
    """Query parameters shared by the map pages."""

    basemap: Basemap = Query("none", description="none works offline; amap shifts to GCJ-02.")
    tianditu_key: str | None = Query(
        None, max_length=200, description="Tianditu key, for basemap=tianditu."
    )
    canvas: bool = Query(True, description="Draw on a canvas (fast) instead of SVG.")

    def options(self) -> dict[str, Any]:
        """Keyword arguments of the map builders."""
        return {
            "basemap": self.basemap,
            "tianditu_key": self.tianditu_key,
            "prefer_canvas": self.canvas,
        }


def _page(m: Any) -> HTMLResponse:
    return HTMLResponse(render_html(m, inline_assets=False, static_url="/maps/static"))


@router.get("/maps/", response_class=HTMLResponse)
def maps_index() -> HTMLResponse:
    """List the map pages."""
    return HTMLResponse(INDEX)


@router.get("/maps/grids", response_class=HTMLResponse, responses=errors(404, 422))
async def grids_page(
    request: Request,
    levels: str = Query(
        "street,community,grid,microgrid", max_length=200, description="Comma-separated."
    ),
    style: MapStyle = Depends(),
) -> HTMLResponse:
    """Grid boundaries by level, code/name tooltips and a search by code."""
    build = partial(map_pages.grids_map, levels=levels.split(","), **style.options())
    return _page(await run_in_threadpool(build, request.app.state.analytics))


@router.get("/maps/hotspots", response_class=HTMLResponse, responses=errors(404, 422))
async def hotspots_page(
    request: Request, selection: EventSelection = Depends(), style: MapStyle = Depends()
) -> HTMLResponse:
    """Getis-Ord Gi* hot and cold spots with a legend."""
    zone = request.app.state.settings.timezone
    build = partial(map_pages.hotspots_map, **selection.options(zone), **style.options())
    return _page(await run_in_threadpool(build, request.app.state.analytics))


@router.get("/maps/emerging", response_class=HTMLResponse, responses=errors(404, 422))
async def emerging_page(
    request: Request, selection: EventSelection = Depends(), style: MapStyle = Depends()
) -> HTMLResponse:
    """Emerging hot spot categories over monthly slices."""
    zone = request.app.state.settings.timezone
    build = partial(map_pages.emerging_map, **selection.options(zone), **style.options())
    return _page(await run_in_threadpool(build, request.app.state.analytics))


@router.get("/maps/coverage", response_class=HTMLResponse, responses=errors(404, 422))
async def coverage_page(
    request: Request,
    days: int = Query(7, ge=1, le=365),
    target: float = Query(0.6, ge=0, le=1),
    style: MapStyle = Depends(),
) -> HTMLResponse:
    """Grids not visited within ``days`` or below the coverage target."""
    build = partial(map_pages.coverage_map, days=days, target=target, **style.options())
    return _page(await run_in_threadpool(build, request.app.state.analytics))
