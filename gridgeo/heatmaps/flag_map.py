"""Map of one authenticity flag: the flagged patrol and, for a replay or copy, its source.

Offline like the other pages (:mod:`gridgeo.heatmaps.maps`): no tile server is
needed; the evidence is listed in a panel and in the tracks' tooltips.
"""

from __future__ import annotations

import html as html_lib
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.maps import Basemap, _finish, _new_map, _Panel, prepare_layer

__all__ = ["flag_map"]

_COLOURS = {"flagged": "#d7301f", "matched": "#2b8cbe"}


def flag_map(
    flag: dict[str, Any],
    tracks: dict[str, pd.DataFrame],
    *,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    prefer_canvas: bool = True,
) -> folium.Map:
    """A flagged patrol with its evidence; other tracks (``matched``) overlaid.

    Parameters
    ----------
    flag : dict
        A stored flag (:func:`gridgeo.store.flags.get_flag`).
    tracks : dict
        ``{"flagged": fixes, "matched": fixes}`` (``matched`` optional), each
        with ``t``, ``lon``, ``lat`` (WGS84/CGCS2000).
    basemap, tianditu_key, prefer_canvas
        See :func:`gridgeo.heatmaps.maps.hotspot_map`.

    Raises
    ------
    InvalidInput
        No fixes to show.
    """
    rows = []
    for role, fixes in tracks.items():
        if fixes is None or len(fixes) == 0:
            continue
        pts = fixes.sort_values("t")
        coords = list(zip(pts["lon"].astype(float), pts["lat"].astype(float), strict=True))
        geom = shapely.LineString(coords) if len(coords) > 1 else shapely.Point(coords[0])
        rows.append(
            {
                "role": role,
                "worker_id": str(pts["worker_id"].iloc[0]) if "worker_id" in pts else "",
                "start": pd.Timestamp(pts["t"].iloc[0]).isoformat(),
                "end": pd.Timestamp(pts["t"].iloc[-1]).isoformat(),
                "fixes": len(pts),
                "geometry": geom,
            }
        )
    if not rows:
        raise InvalidInput(f"flag {flag.get('id')}: no fixes of the patrol are stored")
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4490")
    layer = prepare_layer(frame, basemap)
    m = _new_map(layer, basemap, tianditu_key, prefer_canvas)
    fields = ["role", "worker_id", "start", "end", "fixes"]
    for i in range(len(layer)):
        part = layer.iloc[[i]]
        role = str(part["role"].iloc[0])
        colour = _COLOURS.get(role, "#555555")
        folium.GeoJson(
            part.to_json(),
            name=f"{role} · {part['worker_id'].iloc[0]}",
            style_function=lambda _f, c=colour: {"color": c, "weight": 3, "opacity": 0.8},
            tooltip=folium.GeoJsonTooltip(fields=fields),
        ).add_to(m)
    ev = flag.get("evidence") or {}
    items = "".join(
        f"<tr><td>{html_lib.escape(str(k))}</td><td>{html_lib.escape(str(v))}</td></tr>"
        for k, v in ev.items()
    )
    _Panel(
        "gridgeo-evidence",
        '<div class="gridgeo-legend" style="top:60px;bottom:auto;left:10px;right:auto">'
        f'<div class="gridgeo-legend-title">{html_lib.escape(str(flag.get("kind")))} · '
        f"{html_lib.escape(str(flag.get('state', 'open')))}</div>"
        f"<div>{html_lib.escape(str(flag.get('reason', '')))}</div>"
        f"<table>{items}</table></div>",
    ).add_to(m)
    title = f"Flag {flag.get('id')} · {flag.get('kind')} · {flag.get('worker_id')}"
    legend = [(c, label) for label, c in _COLOURS.items() if label in tracks]
    _finish(m, title=title, legend=("轨迹 Tracks", legend))
    return m
