"""Map pages (folium, offline) under ``/maps/``: grids, hotspots, emerging, coverage."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

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


def _page(m: Any) -> HTMLResponse:
    return HTMLResponse(render_html(m, inline_assets=False, static_url="/maps/static"))


@router.get("/maps/", response_class=HTMLResponse)
def maps_index() -> HTMLResponse:
    """List the map pages."""
    return HTMLResponse(INDEX)


@router.get("/maps/grids", response_class=HTMLResponse)
async def grids_page(
    request: Request,
    levels: str = Query("street,community,grid,microgrid", description="Comma-separated."),
    basemap: Basemap = Query("none"),
    tianditu_key: str | None = Query(None),
    canvas: bool = Query(True, description="Draw on a canvas (fast) instead of SVG."),
) -> HTMLResponse:
    """Grid boundaries by level, code/name tooltips and a search by code."""
    m = await run_in_threadpool(
        map_pages.grids_map,
        request.app.state.analytics,
        levels=levels.split(","),
        basemap=basemap,
        tianditu_key=tianditu_key,
        prefer_canvas=canvas,
    )
    return _page(m)


@router.get("/maps/hotspots", response_class=HTMLResponse)
async def hotspots_page(
    request: Request,
    level: str = Query("grid", description="grid, community, street or h3:<res>"),
    category: str | None = Query(None),
    start: datetime | None = Query(None),
    end: datetime | None = Query(None),
    basemap: Basemap = Query("none"),
    tianditu_key: str | None = Query(None),
    canvas: bool = Query(True),
) -> HTMLResponse:
    """Getis-Ord Gi* hot and cold spots with a legend."""
    m = await run_in_threadpool(
        map_pages.hotspots_map,
        request.app.state.analytics,
        level=level,
        category=category,
        start=start,
        end=end,
        basemap=basemap,
        tianditu_key=tianditu_key,
        prefer_canvas=canvas,
    )
    return _page(m)


@router.get("/maps/emerging", response_class=HTMLResponse)
async def emerging_page(
    request: Request,
    level: str = Query("grid"),
    category: str | None = Query(None),
    start: datetime | None = Query(None),
    end: datetime | None = Query(None),
    basemap: Basemap = Query("none"),
    tianditu_key: str | None = Query(None),
    canvas: bool = Query(True),
) -> HTMLResponse:
    """Emerging hot spot categories over monthly slices."""
    m = await run_in_threadpool(
        map_pages.emerging_map,
        request.app.state.analytics,
        level=level,
        category=category,
        start=start,
        end=end,
        basemap=basemap,
        tianditu_key=tianditu_key,
        prefer_canvas=canvas,
    )
    return _page(m)


@router.get("/maps/coverage", response_class=HTMLResponse)
async def coverage_page(
    request: Request,
    days: int = Query(7, ge=1, le=365),
    target: float = Query(0.6, ge=0, le=1),
    basemap: Basemap = Query("none"),
    tianditu_key: str | None = Query(None),
    canvas: bool = Query(True),
) -> HTMLResponse:
    """Grids not visited within ``days`` or below the coverage target."""
    m = await run_in_threadpool(
        map_pages.coverage_map,
        request.app.state.analytics,
        days=days,
        target=target,
        basemap=basemap,
        tianditu_key=tianditu_key,
        prefer_canvas=canvas,
    )
    return _page(m)
