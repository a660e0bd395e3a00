"""folium map builders and offline HTML rendering."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from gridgeo.crs import wgs84_to_gcj02
from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.assets import STATIC_DIR, render_html
from gridgeo.heatmaps.emerging import CATEGORIES
from gridgeo.heatmaps.maps import (
    HOTSPOT_BINS,
    coverage_map,
    emerging_map,
    grid_map,
    hotspot_map,
    prepare_layer,
)

X0, Y0, STEP = 120.25, 30.15, 0.01
REMOTE_ASSET = re.compile(r'<(script|link)[^>]+(src|href)="https?://')


def box(i: int, j: int, w: int = 1, h: int = 1) -> shapely.Polygon:
    return shapely.box(X0 + STEP * i, Y0 + STEP * j, X0 + STEP * (i + w), Y0 + STEP * (j + h))


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    """A district of 2 streets, 4 communities, 8 grids and one special grid."""
    rows = [("330109", "萧山区", "district", "base", box(0, 0, 4, 2))]
    for s in range(2):
        street = f"330109{s + 1:03d}"
        rows.append((street, f"街道{s + 1}", "street", "base", box(2 * s, 0, 2, 2)))
        for c in range(2):
            community = f"{street}{c + 1:03d}"
            rows.append((community, f"社区{s}{c}", "community", "base", box(2 * s + c, 0, 1, 2)))
            for g in range(2):
                code = f"{community}{g + 1:03d}"
                rows.append((code, f"第{g + 1}网格", "grid", "base", box(2 * s + c, g)))
    special = shapely.box(X0 + 0.002, Y0 + 0.002, X0 + 0.005, Y0 + 0.005)
    rows.append(("330109001001801", "医院专属网格", "grid", "special", special))
    code, name, level, kind, geom = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"code": code, "name": name, "level": level, "kind": kind, "population": 1000},
        geometry=list(geom),
        crs=4490,
    )


def cells_frame(units: gpd.GeoDataFrame, column: str, values: list[object]) -> gpd.GeoDataFrame:
    grids = units[(units["level"] == "grid") & (units["kind"] == "base")].set_index("code")
    return gpd.GeoDataFrame(
        {column: values, "value": np.arange(len(grids), dtype=float)},
        geometry=grids.geometry.to_numpy(),
        index=grids.index,
        crs=4490,
    )


def test_grid_map_layers_tooltips_and_search(units: gpd.GeoDataFrame) -> None:
    before = units.copy()
    html = render_html(grid_map(units, title="萧山区网格"), inline_assets=True)
    for label in ("区县 district", "街道 street", "社区 community", "网格 grid"):
        assert json.dumps(label) in html  # one LayerControl entry per level
    assert json.dumps("专属网格 special grid (grid)") in html
    for code in units["code"]:
        assert f'"{code}"' in html
    assert "new L.Control.Search(" in html and "propertyName: 'code'" in html
    assert "L.control.layers(" in html
    assert "GeoJsonTooltip" in html or "bindTooltip" in html
    assert REMOTE_ASSET.search(html) is None
    assert "cdn." not in html and "tile.openstreetmap" not in html  # no tiles by default
    pd.testing.assert_frame_equal(units, before)


def test_grid_map_levels_and_search_level(units: gpd.GeoDataFrame) -> None:
    html = render_html(
        grid_map(units, levels=["street"], search_level="street"), inline_assets=False
    )
    assert '"330109001"' in html and '"330109001001001"' not in html
    with pytest.raises(InvalidInput, match="level 'block'"):
        grid_map(units, levels=["block"])


def test_served_pages_link_vendored_files(units: gpd.GeoDataFrame) -> None:
    html = render_html(grid_map(units), inline_assets=False, static_url="/maps/static/")
    links = re.findall(r'(?:src|href)="/maps/static/([^"]+)"', html)
    assert "leaflet/leaflet.js" in links and "leaflet/leaflet.css" in links
    assert "leaflet-search/dist/leaflet-search.min.js" in links
    assert all((STATIC_DIR / rel).is_file() for rel in links)
    assert REMOTE_ASSET.search(html) is None


def test_inline_css_images_become_data_uris(units: gpd.GeoDataFrame) -> None:
    html = render_html(grid_map(units), inline_assets=True)
    assert "url(images/layers.png)" not in html
    assert 'url("data:image/png;base64,' in html
    assert "sourceMappingURL" not in html


def test_hotspot_map_bins_and_legend(units: gpd.GeoDataFrame) -> None:
    cells = cells_frame(units, "gi_bin", [3, 3, 2, 0, 0, -1, -3, 0])
    html = render_html(
        hotspot_map(cells, outline=units[units["level"] == "district"]), inline_assets=True
    )
    assert 'class="gridgeo-legend"' in html
    for _, colour, label in HOTSPOT_BINS:
        if label.startswith("Not significant"):
            continue
        assert label in html and colour in html
    assert "Not significant" not in html  # not drawn nor listed by default
    assert '"330109001001001"' in html and '"330109001002002"' not in html  # bin 0 cells left out
    shown = render_html(hotspot_map(cells, show_not_significant=True), inline_assets=True)
    assert '"330109001002002"' in shown and "Not significant" in shown


def test_hotspot_map_rejects_bad_bins(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(InvalidInput, match="gi_bin"):
        hotspot_map(cells_frame(units, "gi_bin", [4, 0, 0, 0, 0, 0, 0, 0]))


def test_emerging_map_lists_the_17_categories(units: gpd.GeoDataFrame) -> None:
    ids = ["new_hot_spot", "persistent_hot_spot", "no_pattern", "intensifying_cold_spot"] * 2
    frame = cells_frame(units, "category", ids)
    html = render_html(emerging_map(frame), inline_assets=True)
    assert html.count('class="gridgeo-legend-row"') == 17
    for _, _, name in CATEGORIES:
        assert name in html
    assert json.dumps("New Hot Spot") in html and json.dumps("Sporadic Hot Spot") not in html
    with pytest.raises(InvalidInput, match="unknown emerging category"):
        emerging_map(cells_frame(units, "category", ["hot"] * 8))


def test_coverage_map(units: gpd.GeoDataFrame) -> None:
    frame = cells_frame(units, "stale", [True, False, False, False, True, False, False, False])
    frame["below_target"] = [False, True, False, False, False, False, False, False]
    frame["days_since_visit"] = [np.nan, 2.0, 1.0, 1.0, 40.0, 3.0, 0.5, 1.0]
    frame["last_visit"] = pd.Timestamp("2025-06-01", tz="UTC")
    html = render_html(coverage_map(frame), inline_assets=True)
    assert "Never visited" in html and "Coverage below target" in html
    assert '"never"' in html and '"stale"' in html and '"2025-06-01 00:00"' in html


def test_amap_basemap_shifts_overlays_to_gcj02(units: gpd.GeoDataFrame) -> None:
    grid = units[units["code"] == "330109001001001"]
    shifted = prepare_layer(grid, "amap")
    before = np.asarray(grid.geometry.iloc[0].exterior.coords)
    after = np.asarray(shifted.geometry.iloc[0].exterior.coords)
    exp_lon, exp_lat = wgs84_to_gcj02(before[:, 0], before[:, 1])
    np.testing.assert_allclose(after[:, 0], np.round(exp_lon, 6), atol=1e-9)
    np.testing.assert_allclose(after[:, 1], np.round(exp_lat, 6), atol=1e-9)
    _, _, metres = Geod(ellps="WGS84").inv(before[:, 0], before[:, 1], after[:, 0], after[:, 1])
    assert np.all((metres > 300) & (metres < 700))  # the GCJ-02 offset in Hangzhou
    html = render_html(grid_map(units, basemap="amap"), inline_assets=True)
    assert "webrd0{s}.is.autonavi.com" in html
    lon, lat = (round(float(v), 6) for v in wgs84_to_gcj02(X0, Y0))
    assert f"[{lon}, {lat}]" in html
    assert f"[{X0}, {Y0}]" not in html  # no unshifted vertex left


def test_tianditu_needs_a_key(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(InvalidInput, match="tianditu_key"):
        grid_map(units, basemap="tianditu")
    html = render_html(
        grid_map(units, basemap="tianditu", tianditu_key="abc 123"), inline_assets=True
    )
    assert "tianditu.gov.cn/vec_w/wmts" in html and "tianditu.gov.cn/cva_w/wmts" in html
    assert "tk=abc%20123" in html
    osm = render_html(grid_map(units, basemap="osm"), inline_assets=True)
    assert "tile.openstreetmap.org" in osm and "tianditu" not in osm


def wiggly_coverage(rng: np.random.Generator, n: int = 5) -> np.ndarray:
    """An n x n coverage of ~1 km cells whose shared edges are noisy lines of many vertices."""
    t = np.linspace(0.0, 1.0, 200)
    lines = []
    for k in range(n + 1):
        wiggle = 0.0003 * np.sin(40 * t + k) + rng.normal(0, 0.00002, t.size)
        wiggle[[0, -1]] = 0.0
        pos = k / n + (wiggle if 0 < k < n else np.zeros(t.size))
        lines.append(shapely.LineString(np.column_stack([pos, t])))  # vertical
        lines.append(shapely.LineString(np.column_stack([t, pos])))  # horizontal
    noded = shapely.union_all(lines)
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return shapely.transform(polys, lambda c: np.array([120.2, 30.1]) + 0.05 * c)


def test_simplification_keeps_a_valid_coverage(rng: np.random.Generator) -> None:
    original = wiggly_coverage(rng)
    assert shapely.coverage_is_valid(original)
    simple = prepare_layer(gpd.GeoDataFrame(geometry=original, crs=4490), tolerance_m=30.0)
    simplified = simple.geometry.to_numpy()
    assert (
        shapely.get_num_coordinates(simplified).sum()
        < shapely.get_num_coordinates(original).sum() / 3
    )
    # shared edges stay shared: no gaps and no overlaps appear between cells
    assert shapely.is_valid(simplified).all()
    assert shapely.coverage_is_valid(simplified)
    np.testing.assert_allclose(shapely.area(simplified), shapely.area(original), rtol=0.02)


def test_render_refuses_unvendored_remote_assets() -> None:
    with pytest.raises(InvalidInput, match="not vendored"):
        render_html(folium.Map(tiles=None), inline_assets=True)  # folium's Bootstrap etc.


def test_unknown_basemap_and_projected_layers_are_rejected(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(InvalidInput, match="basemap"):
        grid_map(units, basemap="google")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="EPSG"):
        prepare_layer(units.to_crs(4549))
