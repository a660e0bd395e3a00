"""Aggregation: H3 counts, study-area cells, grid counts by code prefix, time slices, rates."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.crs import from_wgs84
from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.aggregate import (
    apportion_population,
    count_by_grid,
    count_by_h3,
    count_by_slice,
    h3_cells,
    h3_geometries,
    rates_per_1000,
    study_cells,
)


def test_h3_counts_match_scalar_h3(rng: np.random.Generator) -> None:
    lon = rng.uniform(120.2, 120.3, 5000)
    lat = rng.uniform(30.1, 30.2, 5000)
    counts = count_by_h3(lon, lat, 9)
    expected = pd.Series(
        [h3.latlng_to_cell(b, a, 9) for a, b in zip(lon, lat, strict=True)]
    ).value_counts()
    assert counts.sum() == 5000
    assert counts.sort_index().to_dict() == expected.sort_index().to_dict()


def test_points_in_gcj02_land_in_the_cell_of_their_true_position(rng: np.random.Generator) -> None:
    lon = rng.uniform(120.2, 120.3, 300)
    lat = rng.uniform(30.1, 30.2, 300)
    g_lon, g_lat = from_wgs84(lon, lat, "gcj02")
    crs = np.where(np.arange(300) % 2 == 0, "gcj02", "wgs84")
    rep_lon = np.where(crs == "gcj02", g_lon, lon)
    rep_lat = np.where(crs == "gcj02", g_lat, lat)
    truth = h3_cells(lon, lat, 10)
    assert (h3_cells(rep_lon, rep_lat, 10, crs=crs) == truth).all()
    # reading GCJ-02 points as WGS84 puts them hundreds of metres off
    assert (h3_cells(g_lon, g_lat, 10) != truth).mean() > 0.9


def test_study_cells_include_empty_cells_and_every_point_inside(rng: np.random.Generator) -> None:
    area = shapely.Polygon([(120.25, 30.15), (120.30, 30.15), (120.28, 30.19)])
    cells = study_cells(area, 9)
    x = rng.uniform(120.25, 120.30, 2000)
    y = rng.uniform(30.15, 30.19, 2000)
    inside = shapely.contains_xy(area, x, y)
    counts = count_by_h3(x[inside], y[inside], 9, cells=cells)
    assert list(counts.index) == list(cells)
    assert counts.sum() == inside.sum()  # overlap containment loses no point
    assert (counts == 0).any()
    centre_only = study_cells(area, 9, contain="center")
    assert set(centre_only) < set(cells)


def test_points_outside_the_study_cells_are_dropped() -> None:
    cells = study_cells(shapely.box(120.26, 30.16, 120.27, 30.17), 9)
    counts = count_by_h3([120.265, 121.0], [30.165, 31.0], 9, cells=cells)
    assert counts.sum() == 1


def test_grid_counts_roll_up_by_code_prefix() -> None:
    units = pd.DataFrame(
        {
            "code": ["330109001", "330109002", "330109001001", "330109001001001"],
            "population": [10_000, 0, 4_000, None],
        }
    )
    events = ["330109001001001", "330109001001001", "330109001002005", "330109002001801", None]
    out = count_by_grid(events, units)
    assert out["count"].tolist() == [3, 1, 2, 2]
    np.testing.assert_allclose(out["rate_per_1000"], [0.3, np.nan, 0.5, np.nan])
    assert "count" not in units.columns  # input untouched


def test_grid_counts_reject_repeated_codes() -> None:
    with pytest.raises(InvalidInput, match="repeats"):
        count_by_grid(["1"], pd.DataFrame({"code": ["330109", "330109"]}))


def test_rates() -> None:
    np.testing.assert_allclose(rates_per_1000([3, 3, 3], [1500, 0, np.nan]), [2.0, np.nan, np.nan])


def test_slices_are_calendar_months_in_china_time() -> None:
    t = pd.to_datetime(
        ["2025-01-31T15:59:00Z", "2025-01-31T16:00:00Z", "2025-03-15T00:00:00Z"], utc=True
    )
    cube = count_by_slice(["a", "a", "b"], t, start="2025-01-01", end="2025-04-01")
    wide = cube.pivot(index="location", columns="time_slice", values="count")
    assert [ts.strftime("%Y-%m-%d %z") for ts in wide.columns] == [
        "2025-01-01 +0800",
        "2025-02-01 +0800",
        "2025-03-01 +0800",
    ]
    # 16:00 UTC on 31 January is midnight, 1 February, in Hangzhou
    assert wide.loc["a"].tolist() == [1, 1, 0]
    assert wide.loc["b"].tolist() == [0, 0, 1]


def test_slices_cover_all_locations_and_drop_events_outside() -> None:
    t = pd.to_datetime(
        ["2024-12-31T12:00:00Z", "2025-01-10T00:00:00Z", "2025-01-11T00:00:00Z"], utc=True
    )
    cube = count_by_slice(
        ["x", "y", "elsewhere"],
        t,
        start="2025-01-01",
        end="2025-03-01",
        all_locations=["x", "y", "z"],
    )
    assert len(cube) == 3 * 2
    assert cube["count"].sum() == 1
    assert set(cube["location"]) == {"x", "y", "z"}


def test_weekly_slices() -> None:
    t = pd.to_datetime(["2025-01-06T02:00:00Z", "2025-01-12T15:00:00Z"], utc=True)
    cube = count_by_slice(["a", "a"], t, freq="W-MON", start="2025-01-06", end="2025-01-20")
    assert cube["count"].tolist() == [2, 0]


def test_apportioned_population_is_conserved(rng: np.random.Generator) -> None:
    units = gpd.GeoDataFrame(
        {"population": rng.integers(100, 2000, 16)},
        geometry=[
            shapely.box(120.2 + 0.01 * i, 30.1 + 0.01 * j, 120.21 + 0.01 * i, 30.11 + 0.01 * j)
            for i in range(4)
            for j in range(4)
        ],
        crs=4490,
    )
    cells = study_cells(units, 9)
    pop = apportion_population(h3_geometries(cells), units)
    assert pop.sum() == pytest.approx(units["population"].sum(), rel=1e-9)
    assert (pop >= 0).all()


def test_h3_geometries_are_the_cells(hex_area: list[str]) -> None:
    geoms = h3_geometries(hex_area[:5])
    for cell, poly in geoms.items():
        assert h3.latlng_to_cell(poly.centroid.y, poly.centroid.x, 8) == cell


def test_invalid_resolution() -> None:
    with pytest.raises(InvalidInput, match="resolution"):
        count_by_h3([120.0], [30.0], 16)
