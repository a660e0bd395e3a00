"""folium map builders: grid boundaries, Gi* hot spots, emerging hot spots, coverage gaps.

Each builder returns a :class:`folium.Map`; turn it into a page with
:func:`gridgeo.heatmaps.assets.render_html` (inline assets for a file, links
to ``/maps/static`` for the API).

Readable offline
----------------
By default (``basemap="none"``) a map has no tile layer at all: a light
background, the data, a thin outline of the study area and the legend, and
only vendored Leaflet assets, so the page works with no network and logs no
errors. A basemap is an explicit choice:

``"osm"``
    OpenStreetMap tiles (WGS84; Tianditu offered as an alternative base
    layer when a key is given).
``"tianditu"``
    Tianditu vector tiles with labels (``vec_w`` + ``cva_w``; CGCS2000, i.e.
    WGS84 to centimetres), which needs the user's ``tianditu_key`` (``tk``);
    without a key it is not offered.
``"amap"``
    Amap (高德) tiles, which are in GCJ-02: every overlay geometry is then
    shifted WGS84 → GCJ-02 with :func:`gridgeo.crs.transform_geometries` so
    that it lands on the right streets (a shift of a few hundred metres in
    China). The shift applies to the whole page, so GCJ-02 and WGS84
    basemaps are never mixed on one map.

Large layers
------------
Polygons are simplified with :func:`shapely.coverage_simplify`, which keeps
the edges shared between neighbouring polygons shared (no slivers or gaps
appear between grids), at a tolerance per level (:data:`SIMPLIFY_M`: 20 m for
the district down to 1 m for micro-grids; H3 cells are not simplified), and
coordinates are rounded to 6 decimals (about 0.1 m). Maps use Leaflet's
canvas renderer (``prefer_canvas``), which keeps tens of thousands of
polygons responsive, and the hot spot map draws only significant cells
unless asked otherwise.

Examples
--------
>>> import geopandas as gpd, shapely
>>> units = gpd.GeoDataFrame({"code": ["330109001", "330109002"], "name": ["城厢", "北干"],
...     "level": "street"}, geometry=[shapely.box(120.25, 30.15, 120.27, 30.17),
...     shapely.box(120.27, 30.15, 120.29, 30.17)], crs=4490)
>>> from gridgeo.heatmaps.assets import render_html
>>> html = render_html(grid_map(units), inline_assets=True)
>>> "330109002" in html and "leaflet-control-search" in html and "cdn.jsdelivr" not in html
True
"""

from __future__ import annotations

import html as html_lib
import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Final, Literal
from urllib.parse import quote

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement, Template

from gridgeo.crs import transform_geometries
from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.heatmaps.assets import MAP_CSS, MAP_JS
from gridgeo.heatmaps.emerging import CATEGORIES

__all__ = [
    "BASEMAPS",
    "EMERGING_COLOURS",
    "HOTSPOT_BINS",
    "LEVEL_ORDER",
    "SIMPLIFY_M",
    "Basemap",
    "coverage_map",
    "emerging_map",
    "grid_map",
    "hotspot_map",
    "prepare_layer",
]

Basemap = Literal["none", "osm", "tianditu", "amap"]
BASEMAPS: Final[tuple[str, ...]] = ("none", "osm", "tianditu", "amap")

LEVEL_ORDER: Final[tuple[str, ...]] = ("district", "street", "community", "grid", "microgrid")
"""Levels from coarse to fine; other level names are drawn after these."""

SIMPLIFY_M: Final[dict[str, float]] = {
    "district": 20.0,
    "street": 10.0,
    "community": 5.0,
    "grid": 2.0,
    "microgrid": 1.0,
}
"""Simplification tolerance in metres per level (others: 2 m)."""

_LEVEL_STYLE: Final[dict[str, tuple[str, float]]] = {
    "district": ("#222222", 3.0),
    "street": ("#444444", 2.2),
    "community": ("#5a6b7b", 1.5),
    "grid": ("#3b7dd8", 1.0),
    "microgrid": ("#7fa8d9", 0.6),
}

_LEVEL_LABELS: Final[dict[str, str]] = {
    "district": "区县 district",
    "street": "街道 street",
    "community": "社区 community",
    "grid": "网格 grid",
    "microgrid": "微网格 micro-grid",
    "special": "专属网格 special grid",
}

HOTSPOT_BINS: Final[tuple[tuple[int, str, str], ...]] = (
    (3, "#d62f27", "Hot spot, 99% confidence · 热点 99%"),
    (2, "#ed7551", "Hot spot, 95% confidence · 热点 95%"),
    (1, "#fab984", "Hot spot, 90% confidence · 热点 90%"),
    (0, "#f2f0d7", "Not significant · 不显著"),
    (-1, "#c0ccbe", "Cold spot, 90% confidence · 冷点 90%"),
    (-2, "#849eba", "Cold spot, 95% confidence · 冷点 95%"),
    (-3, "#4575b5", "Cold spot, 99% confidence · 冷点 99%"),
)
"""``(gi_bin, colour, legend label)``: ArcGIS's hot spot palette."""

EMERGING_COLOURS: Final[dict[str, str]] = {
    "new_hot_spot": "#ff7f00",
    "consecutive_hot_spot": "#fdbf6f",
    "intensifying_hot_spot": "#67001f",
    "persistent_hot_spot": "#c4122f",
    "diminishing_hot_spot": "#f4a6a6",
    "sporadic_hot_spot": "#e6c229",
    "oscillating_hot_spot": "#c51b7d",
    "historical_hot_spot": "#8c6d62",
    "new_cold_spot": "#00a6a6",
    "consecutive_cold_spot": "#99d8c9",
    "intensifying_cold_spot": "#08306b",
    "persistent_cold_spot": "#3a6fb0",
    "diminishing_cold_spot": "#c6dbef",
    "sporadic_cold_spot": "#b8a9e0",
    "oscillating_cold_spot": "#6a51a3",
    "historical_cold_spot": "#62798c",
    "no_pattern": "#f2f0eb",
}
"""Colour of each emerging hot spot category id."""

_COVERAGE_CLASSES: Final[tuple[tuple[str, str, str], ...]] = (
    ("never", "#7f0000", "Never visited · 从未巡查"),
    ("stale", "#d7301f", "Not visited within the window · 超期未巡查"),
    ("below_target", "#fc8d59", "Coverage below target · 覆盖率未达标"),
    ("ok", "#d9f0d3", "Covered · 已覆盖"),
)

_AMAP_URL: Final = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
_TIANDITU_URL: Final = (
    "https://t{s}.tianditu.gov.cn/LAYER_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=LAYER&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
)
_OSM_URL: Final = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
_BACKGROUND: Final = "#f4f3ee"
_METRES_PER_DEGREE: Final = 111_320.0


def grid_map(
    units: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] | None = None,
    search_level: str | None = None,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    prefer_canvas: bool = True,
    title: str | None = None,
    simplify: bool = True,
) -> folium.Map:
    """Grid boundaries, one toggleable layer per level, with code/name tooltips and a code search.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Columns ``code``, ``level`` and geometry (lon/lat, EPSG:4490 or
        4326), optionally ``name``, ``kind`` (``"special"`` rows go to their
        own layer) and ``population``/``households`` (shown in tooltips).
    levels : sequence of str, optional
        Levels to draw (default all present), drawn coarse to fine.
    search_level : str, optional
        Level whose codes the search box finds (default the finest drawn
        level; codes match by prefix, so a community code lists its grids).
    basemap, tianditu_key
        See the module docstring.
    prefer_canvas : bool, default True
        Draw polygons on a canvas (fast for many polygons); False draws SVG
        paths (one DOM element per polygon, easier to inspect in a browser).
    title : str, optional
        Heading shown on the map.
    simplify : bool, default True
        Simplify polygons per level (:data:`SIMPLIFY_M`).

    Returns
    -------
    folium.Map
    """
    _require_columns(units, ("code", "level"))
    present = [str(v) for v in pd.unique(units["level"].astype(str))]
    wanted = list(levels) if levels is not None else present
    unknown = [lv for lv in wanted if lv not in present]
    if unknown:
        raise InvalidInput(f"no units of level {unknown[0]!r} (levels present: {present})")
    ordered = sorted(wanted, key=_level_rank)
    kind = units["kind"].astype(str) if "kind" in units.columns else pd.Series("base", units.index)
    groups: list[tuple[str, str, gpd.GeoDataFrame]] = []
    for level in ordered:
        base = units[(units["level"].astype(str) == level) & (kind != "special")]
        special = units[(units["level"].astype(str) == level) & (kind == "special")]
        if len(base):
            groups.append((level, _LEVEL_LABELS.get(level, level), base))
        if len(special):
            groups.append((level, f"{_LEVEL_LABELS['special']} ({level})", special))
    layers = [
        (level, label, prepare_layer(g, basemap, tolerance_m=_tolerance(level) if simplify else 0))
        for level, label, g in groups
    ]
    m = _new_map(pd.concat([lyr for _, _, lyr in layers]), basemap, tianditu_key, prefer_canvas)
    searchable = search_level or ordered[-1]
    if searchable not in ordered:
        raise InvalidInput(f"search_level {searchable!r} is not among the drawn levels {ordered}")
    searched = False
    for level, label, layer in layers:
        colour, weight = _LEVEL_STYLE.get(level, ("#3b7dd8", 1.0))
        special = "专属" in label
        style = {
            "color": "#b5179e" if special else colour,
            "weight": weight,
            "fillColor": "#b5179e" if special else colour,
            "fillOpacity": 0.08 if special else 0.02,
            "dashArray": "4 3" if special else None,
        }
        fields = [c for c in ("code", "name", "population", "households") if c in layer.columns]
        aliases = {
            "code": "编码 code",
            "name": "名称 name",
            "population": "人口",
            "households": "户数",
        }
        with_search = not searched and level == searchable and not special
        geojson = _geojson(
            layer,
            fields,
            name=label,
            style=partial(_constant, style),
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[aliases[f] for f in fields]),
            embed_style=with_search,
        )
        geojson.add_to(m)
        if with_search:
            folium.plugins.Search(
                layer=geojson,
                search_label="code",
                geom_type="Polygon",
                placeholder="搜索编码 Search code",
                collapsed=False,
                position="topleft",
                weight=4,
                color="#ff7800",
            ).add_to(m)
            searched = True
    _finish(m, title=title, legend=None)
    return m


def hotspot_map(
    cells: gpd.GeoDataFrame,
    *,
    outline: Any = None,
    show_not_significant: bool = False,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    prefer_canvas: bool = True,
    title: str | None = "Getis-Ord Gi* hot spots · 热点分析",
) -> folium.Map:
    """Gi* bins coloured with ArcGIS's diverging palette, with a legend.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        One polygon per location with a ``gi_bin`` column (-3…3), and
        optionally ``gi_z``, ``gi_p``, ``value``/``count``, ``code``/``name``
        (shown in tooltips). The index is shown as ``location``.
    outline : shapely geometry or GeoDataFrame, optional
        Study-area outline drawn as a thin line (default: the union of ``cells``).
    show_not_significant : bool, default False
        Also draw cells with ``gi_bin == 0`` (many more polygons).
    basemap, tianditu_key, prefer_canvas, title
        See :func:`grid_map`.
    """
    _require_columns(cells, ("gi_bin",))
    bins = pd.to_numeric(cells["gi_bin"]).astype(int)
    if ((bins < -3) | (bins > 3)).any():
        raise InvalidInput("gi_bin must be an integer from -3 to 3")
    frame = cells.assign(location=cells.index.astype(str), gi_bin=bins)
    shown = frame if show_not_significant else frame[bins != 0]
    fields = [
        c
        for c in ("location", "code", "name", "value", "count", "gi_z", "gi_p", "gi_bin")
        if c in shown.columns
    ]
    m = _new_map(prepare_layer(frame[["geometry"]], basemap), basemap, tianditu_key, prefer_canvas)
    _outline(m, outline if outline is not None else frame, basemap)
    for b, colour, label in HOTSPOT_BINS:
        part = shown[shown["gi_bin"] == b]
        if not len(part):
            continue
        _geojson(
            prepare_layer(part, basemap),
            fields,
            name=label,
            style=partial(_fill, colour),
            tooltip=folium.GeoJsonTooltip(fields=fields),
        ).add_to(m)
    legend = [(c, label) for b, c, label in HOTSPOT_BINS if show_not_significant or b != 0]
    _finish(m, title=title, legend=("Gi* 置信度 confidence", legend))
    return m


def emerging_map(
    locations: gpd.GeoDataFrame,
    *,
    outline: Any = None,
    show_no_pattern: bool = False,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    prefer_canvas: bool = True,
    title: str | None = "Emerging hot spots · 时空热点趋势",
) -> folium.Map:
    """Emerging hot spot categories (the 17 ArcGIS categories) with a legend.

    Parameters
    ----------
    locations : geopandas.GeoDataFrame
        One polygon per location with a ``category`` column (ids of
        :data:`gridgeo.heatmaps.emerging.CATEGORIES`), optionally
        ``category_name``, ``trend_z``, ``trend_p``, ``n_hot``, ``n_cold``,
        ``total``.
    outline, basemap, tianditu_key, prefer_canvas, title
        See :func:`hotspot_map`.
    show_no_pattern : bool, default False
        Also draw locations without a pattern.
    """
    _require_columns(locations, ("category",))
    known = {i for _, i, _ in CATEGORIES}
    bad = set(locations["category"].astype(str)) - known
    if bad:
        raise InvalidInput(f"unknown emerging category {sorted(bad)[0]!r}")
    frame = locations.assign(location=locations.index.astype(str))
    shown = frame if show_no_pattern else frame[frame["category"] != "no_pattern"]
    fields = [
        c
        for c in (
            "location",
            "code",
            "name",
            "category_name",
            "trend_z",
            "trend_p",
            "n_hot",
            "n_cold",
            "total",
        )
        if c in shown.columns
    ]
    m = _new_map(prepare_layer(frame[["geometry"]], basemap), basemap, tianditu_key, prefer_canvas)
    _outline(m, outline if outline is not None else frame, basemap)
    for _, cat_id, name in CATEGORIES:
        part = shown[shown["category"] == cat_id]
        if not len(part):
            continue
        colour = EMERGING_COLOURS[cat_id]
        _geojson(
            prepare_layer(part, basemap),
            fields,
            name=name,
            style=partial(_fill, colour),
            tooltip=folium.GeoJsonTooltip(fields=fields),
        ).add_to(m)
    legend = [(EMERGING_COLOURS[i], name) for _, i, name in CATEGORIES]
    _finish(m, title=title, legend=("时空模式 Emerging pattern", legend))
    return m


def coverage_map(
    gaps: gpd.GeoDataFrame,
    *,
    outline: Any = None,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    prefer_canvas: bool = True,
    title: str | None = "Patrol coverage gaps · 巡查覆盖盲区",
) -> folium.Map:
    """Coverage gaps: never visited, not visited within the window, below target, covered.

    Parameters
    ----------
    gaps : geopandas.GeoDataFrame
        Output of :func:`gridgeo.heatmaps.coverage.coverage_gaps` joined to
        geometries: ``stale``, ``below_target`` and ``days_since_visit``
        (NaN = never visited), optionally ``coverage``, ``last_visit``,
        ``code``/``name``.
    outline, basemap, tianditu_key, prefer_canvas, title
        See :func:`hotspot_map`.
    """
    _require_columns(gaps, ("stale", "below_target", "days_since_visit"))
    never = gaps["days_since_visit"].isna().to_numpy()
    stale = gaps["stale"].astype(bool).to_numpy()
    below = gaps["below_target"].astype(bool).to_numpy()
    klass = np.select([never, stale, below], ["never", "stale", "below_target"], default="ok")
    frame = gaps.assign(location=gaps.index.astype(str), status=klass)
    fields = [
        c
        for c in (
            "location",
            "code",
            "name",
            "status",
            "days_since_visit",
            "last_visit",
            "coverage",
        )
        if c in frame.columns
    ]
    m = _new_map(prepare_layer(frame[["geometry"]], basemap), basemap, tianditu_key, prefer_canvas)
    _outline(m, outline if outline is not None else frame, basemap)
    for key, colour, label in _COVERAGE_CLASSES:
        part = frame[frame["status"] == key]
        if not len(part):
            continue
        _geojson(
            prepare_layer(part, basemap),
            fields,
            name=label,
            style=partial(_fill, colour),
            tooltip=folium.GeoJsonTooltip(fields=fields),
        ).add_to(m)
    legend = [(c, label) for _, c, label in _COVERAGE_CLASSES]
    _finish(m, title=title, legend=("巡查覆盖 Coverage", legend))
    return m


def prepare_layer(
    frame: gpd.GeoDataFrame, basemap: Basemap = "none", *, tolerance_m: float = 0.0
) -> gpd.GeoDataFrame:
    """Geometries ready for a map: lon/lat, simplified, shifted for GCJ-02, rounded.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        In EPSG:4326 or EPSG:4490 (the same to centimetres); no CRS is taken
        as lon/lat.
    basemap : str
        ``"amap"`` shifts the geometries to GCJ-02.
    tolerance_m : float
        Simplification tolerance in metres (0: none); the polygons are
        simplified together as a coverage so shared edges stay shared.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame (EPSG:4326 label, or the input's label in GCJ-02).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame(geometry=[shapely.box(120.2, 30.1, 120.3, 30.2)], crs=4326)
    >>> shifted = prepare_layer(f, "amap")
    >>> round(float(shifted.total_bounds[0]) - 120.2, 4)  # about 430 m east
    0.0045
    """
    _check_basemap(basemap)
    if frame.crs is not None and frame.crs.to_epsg() not in (4326, 4490):
        raise CRSMismatch(
            f"map layers must be in EPSG:4326 or EPSG:4490 lon/lat, got {frame.crs.to_string()}"
        )
    geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
    if tolerance_m > 0 and len(geoms):
        geoms = _simplify(geoms, tolerance_m / _METRES_PER_DEGREE)
    if basemap == "amap":
        geoms = transform_geometries(geoms, "wgs84", "gcj02")
    geoms = shapely.transform(geoms, lambda c: np.round(c, 6))
    out = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geoms, crs=4326)
    return out


def _simplify(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    out = geoms.copy()
    if not polygonal.any():
        return out
    try:
        simplified = shapely.coverage_simplify(geoms[polygonal], tolerance)
        ok = shapely.is_valid(simplified) & ~shapely.is_empty(simplified)
    except shapely.errors.GEOSException:
        simplified, ok = geoms[polygonal], np.zeros(int(polygonal.sum()), dtype=bool)
    fallback = shapely.simplify(geoms[polygonal], tolerance, preserve_topology=True)
    out[polygonal] = np.where(ok, simplified, fallback)
    return out


def _geojson(
    layer: gpd.GeoDataFrame,
    fields: list[str],
    *,
    name: str,
    style: Callable[[dict[str, Any]], dict[str, Any]],
    tooltip: folium.GeoJsonTooltip,
    embed_style: bool = False,
) -> folium.GeoJson:
    features = []
    props = _json_properties(layer[fields]) if fields else [{} for _ in range(len(layer))]
    geo = shapely.to_geojson(np.asarray(layer.geometry.to_numpy(), dtype=object))
    for p, g in zip(props, geo, strict=True):
        if embed_style:
            p = {**p, "style": style(p)}
        features.append({"type": "Feature", "properties": p, "geometry": json.loads(g)})
    data = {"type": "FeatureCollection", "features": features}
    return folium.GeoJson(
        data,
        name=name,
        style_function=lambda f: style(f["properties"]),
        highlight_function=lambda _f: {"weight": 3, "color": "#ff7800"},
        tooltip=tooltip,
        smooth_factor=1.0,
        zoom_on_click=False,
    )


def _json_properties(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = {col: [_json_value(v) for v in frame[col].tolist()] for col in frame.columns}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _json_value(value: Any) -> Any:
    """A JSON-ready scalar: None for missing, rounded floats, ISO-like times, text otherwise."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return round(float(value), 4)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return value if isinstance(value, str) else str(value)


def _fill(colour: str, _properties: dict[str, Any]) -> dict[str, Any]:
    return {"color": colour, "weight": 0.6, "fillColor": colour, "fillOpacity": 0.75}


def _constant(style: dict[str, Any], _properties: dict[str, Any]) -> dict[str, Any]:
    return style


def _new_map(
    layer: gpd.GeoDataFrame, basemap: Basemap, tianditu_key: str | None, prefer_canvas: bool
) -> folium.Map:
    _check_basemap(basemap)
    if basemap == "tianditu" and not tianditu_key:
        raise InvalidInput("the Tianditu basemap needs a tianditu_key (tk)")
    if len(layer) == 0 or layer.geometry.is_empty.all():
        raise InvalidInput("nothing to map: the layer has no geometry")
    minx, miny, maxx, maxy = layer.total_bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=11,
        tiles=None,
        prefer_canvas=prefer_canvas,
        control_scale=True,
    )
    m.default_js = list(MAP_JS)
    m.default_css = list(MAP_CSS)
    figure = m.get_root()
    assert isinstance(figure, Figure)
    figure.header.add_child(
        Element(f"<style>body .leaflet-container {{ background: {_BACKGROUND}; }}</style>"),
        name="gridgeo_background",
    )
    for tiles in _basemap_layers(basemap, tianditu_key):
        tiles.add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _basemap_layers(basemap: Basemap, key: str | None) -> list[folium.TileLayer]:
    if basemap == "none":
        return []
    if basemap == "amap":
        return [
            folium.TileLayer(
                tiles=_AMAP_URL,
                attr="© 高德地图 AutoNavi",
                name="高德 Amap (GCJ-02)",
                subdomains="1234",
                max_zoom=18,
            )
        ]
    osm = folium.TileLayer(
        tiles=_OSM_URL, attr="© OpenStreetMap contributors", name="OpenStreetMap", max_zoom=19
    )
    layers = []
    if key:
        tianditu = folium.TileLayer(
            tiles=_tianditu_url("vec", key),
            attr="© 天地图 Tianditu",
            name="天地图 Tianditu",
            subdomains="01234567",
            max_zoom=18,
        )
        labels = folium.TileLayer(
            tiles=_tianditu_url("cva", key),
            attr="© 天地图 Tianditu",
            name="天地图注记 Tianditu labels",
            subdomains="01234567",
            max_zoom=18,
            overlay=True,
            show=basemap == "tianditu",
        )
        layers = [tianditu, osm] if basemap == "tianditu" else [osm, tianditu]
        layers.append(labels)
    else:
        layers = [osm]
    return layers


def _tianditu_url(layer: str, key: str) -> str:
    return _TIANDITU_URL.replace("LAYER", layer) + quote(key, safe="")


def _outline(m: folium.Map, outline: Any, basemap: Basemap) -> None:
    if isinstance(outline, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = np.asarray(outline.geometry if isinstance(outline, gpd.GeoDataFrame) else outline)
        crs = outline.crs
    elif isinstance(outline, shapely.Geometry):
        geoms, crs = np.array([outline], dtype=object), None
    else:
        raise InvalidInput("outline must be a shapely geometry, GeoSeries or GeoDataFrame")
    try:
        merged = shapely.coverage_union_all(geoms)
        ok = bool(shapely.is_valid(merged))
    except shapely.errors.GEOSException:
        ok = False
    if not ok:
        merged = shapely.union_all(geoms, grid_size=1e-7)
    frame = gpd.GeoDataFrame(geometry=[shapely.boundary(merged)], crs=crs)
    layer = prepare_layer(frame, basemap)
    folium.GeoJson(
        shapely.to_geojson(layer.geometry.iloc[0]),
        name="范围 study area",
        style_function=lambda _f: {"color": "#555555", "weight": 1.2, "fill": False},
        interactive=False,
        control=False,
    ).add_to(m)


def _finish(
    m: folium.Map, *, title: str | None, legend: tuple[str, list[tuple[str, str]]] | None
) -> None:
    if title:
        _Panel(
            "gridgeo-title",
            f'<div class="gridgeo-title">{html_lib.escape(title)}</div>',
        ).add_to(m)
    if legend is not None:
        heading, rows = legend
        items = "".join(
            f'<div class="gridgeo-legend-row"><span class="gridgeo-swatch" '
            f'style="background:{html_lib.escape(colour)}"></span>{html_lib.escape(label)}</div>'
            for colour, label in rows
        )
        _Panel(
            "gridgeo-legend",
            f'<div class="gridgeo-legend"><div class="gridgeo-legend-title">'
            f"{html_lib.escape(heading)}</div>{items}</div>",
        ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)


class _Panel(MacroElement):
    """A fixed HTML panel (title or legend) over the map, with its CSS."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .gridgeo-title { position: absolute; z-index: 1000; top: 10px; left: 50%;
            transform: translateX(-50%); background: rgba(255,255,255,0.92);
            padding: 4px 12px; border-radius: 4px; font: 600 15px/1.4 sans-serif;
            box-shadow: 0 1px 4px rgba(0,0,0,0.3); pointer-events: none; }
        .gridgeo-legend { position: absolute; z-index: 1000; bottom: 24px; right: 10px;
            background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 4px;
            font: 12px/1.5 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.3);
            max-height: 70vh; overflow-y: auto; }
        .gridgeo-legend-title { font-weight: 600; margin-bottom: 4px; }
        .gridgeo-legend-row { white-space: nowrap; }
        .gridgeo-swatch { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
            vertical-align: -2px; border: 1px solid #888; }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}{{ this.body }}{% endmacro %}
        """
    )

    def __init__(self, kind: str, body: str) -> None:
        super().__init__()
        self._name = kind
        self.body = body


def _tolerance(level: str) -> float:
    return SIMPLIFY_M.get(level, 2.0)


def _level_rank(level: str) -> tuple[int, str]:
    return (LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER), level)


def _require_columns(frame: Any, cols: Sequence[str]) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInput("the map layer must be a GeoDataFrame")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InvalidInput(f"the map layer has no {missing[0]!r} column")


def _check_basemap(basemap: str) -> None:
    if basemap not in BASEMAPS:
        raise InvalidInput(f"basemap must be one of {', '.join(BASEMAPS)}; got {basemap!r}")
