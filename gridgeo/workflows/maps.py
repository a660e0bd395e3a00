"""Map pages from the active generation and stored activity (shared by API and CLI)."""

from __future__ import annotations

from typing import Any

import folium

from gridgeo.heatmaps import coverage_map as coverage_map_
from gridgeo.heatmaps import emerging_map as emerging_map_
from gridgeo.heatmaps import grid_map, hotspot_map
from gridgeo.workflows import analytics
from gridgeo.workflows.analytics import AnalyticsData


def grids_map(data: AnalyticsData, *, levels: list[str], **options: Any) -> folium.Map:
    """Boundaries of the active generation, one layer per level."""
    generation, units = data.units()
    units = units[units["level"].isin(levels) | (units["kind"] == "special")]
    return grid_map(units, levels=None, title=f"Grids · 网格 (generation {generation})",
                    **options)


def _outline(data: AnalyticsData) -> Any:
    _, units = data.units()
    district = units[units["level"] == "district"]
    return district.geometry.union_all() if len(district) else None


def hotspots_map(data: AnalyticsData, *, basemap: str = "none", tianditu_key: str | None = None,
                 prefer_canvas: bool = True, **options: Any) -> folium.Map:
    """Gi* hot and cold spots with their legend."""
    layer = analytics.hotspots(data, **options)
    return hotspot_map(layer, outline=_outline(data), basemap=basemap,  # type: ignore[arg-type]
                       tianditu_key=tianditu_key, prefer_canvas=prefer_canvas)


def emerging_map(data: AnalyticsData, *, basemap: str = "none", tianditu_key: str | None = None,
                 prefer_canvas: bool = True, **options: Any) -> folium.Map:
    """Emerging hot spot categories."""
    layer = analytics.emerging(data, **options)
    return emerging_map_(layer, outline=_outline(data), basemap=basemap,  # type: ignore[arg-type]
                         tianditu_key=tianditu_key, prefer_canvas=prefer_canvas)


def coverage_map(data: AnalyticsData, *, basemap: str = "none", tianditu_key: str | None = None,
                 prefer_canvas: bool = True, **options: Any) -> folium.Map:
    """Patrol coverage gaps."""
    layer = analytics.coverage(data, **options)
    return coverage_map_(layer, outline=_outline(data), basemap=basemap,  # type: ignore[arg-type]
                         tianditu_key=tianditu_key, prefer_canvas=prefer_canvas)
