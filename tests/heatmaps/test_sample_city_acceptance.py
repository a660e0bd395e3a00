"""Acceptance on the committed sample city: the analyst's default analyses find what was planted.

``data/samples/ground_truth.json`` records six planted spots (one cold, five
hot; :mod:`gridgeo.samples.events`). Events get their owner as the product
attributes it at report time: the point converted from its reported CRS to
WGS84 and located with :class:`~gridgeo.locate.LocateIndex`. Then, with
default settings only:

* :func:`~gridgeo.heatmaps.layers.hotspot_layer` (grid level, rates per 1,000
  residents, FDR) gives every hot plant's grid the 99 % hot bin (+3) in the
  plant's period and the cold plant's grid a significant cold bin, and
  nothing significant far from the plants;
* :func:`~gridgeo.heatmaps.layers.emerging_layer` (monthly slices) gives each
  hot plant its kind's category (persistent, new, intensifying, diminishing)
  and the cold plant a cold category in which it is cold in every month;
* its ``gi_z`` is esda's ``G_Local(...).Zs`` on the same weights to 1e-9.
"""

from __future__ import annotations

import json
from typing import Any

import esda
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.crs import to_wgs84
from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.layers import (
    COVERAGE_COLUMNS,
    EMERGING_COLUMNS,
    HOTSPOT_COLUMNS,
    coverage_layer,
    emerging_layer,
    hotspot_layer,
    parse_level,
)
from gridgeo.heatmaps.weights import contiguity_neighbours
from gridgeo.locate import LocateIndex
from gridgeo.samples.events import metres_per_degree
from gridgeo.samples.reference import SAMPLES_DIR

HOT_CATEGORY = {
    "persistent": "persistent_hot_spot",
    "new": "new_hot_spot",
    "intensifying": "intensifying_hot_spot",
    "diminishing": "diminishing_hot_spot",
}
# Cold in at least 90 % of the slices and in the last one: the cold plant
# thins every month, so only the trend of its z-scores may vary.
COLD_CATEGORIES = {"persistent_cold_spot", "intensifying_cold_spot", "diminishing_cold_spot"}
EVENT_COLUMNS = [
    "event_id",
    "category_code",
    "category_l1",
    "category_l2",
    "source",
    "reported_at",
    "lon",
    "lat",
    "crs",
]


def wgs84(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x = frame["lon"].to_numpy(dtype=np.float64, copy=True)
    y = frame["lat"].to_numpy(dtype=np.float64, copy=True)
    crs = frame["crs"].to_numpy(dtype=object)
    for name in pd.unique(crs):
        sel = crs == name
        x[sel], y[sel] = to_wgs84(x[sel], y[sel], str(name))
    return x, y


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return gpd.read_parquet(SAMPLES_DIR / "units.parquet")


@pytest.fixture(scope="module")
def index(units: gpd.GeoDataFrame) -> LocateIndex:
    return LocateIndex.build(units)


@pytest.fixture(scope="module")
def events(index: LocateIndex) -> pd.DataFrame:
    raw = pd.read_parquet(SAMPLES_DIR / "events.parquet", columns=EVENT_COLUMNS)
    x, y = wgs84(raw)
    return raw.assign(owner_code=index.locate(x, y).owner)


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    return json.loads((SAMPLES_DIR / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def plants(truth: dict[str, Any]) -> list[dict[str, Any]]:
    return truth["hotspots"]


@pytest.fixture(scope="module")
def base_grids(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    grids = units[(units["level"] == "grid") & (units["kind"] == "base")]
    return grids.sort_values("code").reset_index(drop=True)


@pytest.fixture(scope="module")
def year_hot(events: pd.DataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return hotspot_layer(events, units)


@pytest.fixture(scope="module")
def year_emerging(events: pd.DataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return emerging_layer(events, units)


def plant_layer(
    plant: dict[str, Any],
    year: gpd.GeoDataFrame | None,
    events: pd.DataFrame,
    units: Any,
    **kw: Any,
) -> gpd.GeoDataFrame:
    """The hot spot layer over the plant's own period: ``year`` (computed with the same
    options over all events) when the plant lasts all year, else computed for its window."""
    if year is not None and pd.Timestamp(plant["start"]) <= pd.Timestamp(year.attrs["first_event"]):
        return year
    return hotspot_layer(events, units, start=plant["start"], end=plant["end"], **kw)


def test_each_plant_sits_in_its_recorded_base_grid(plants, base_grids):
    assert len(plants) == 6
    for plant in plants:
        point = shapely.Point(plant["lon"], plant["lat"])
        inside = base_grids.loc[base_grids.contains(point), "code"].tolist()
        assert inside == [plant["grid_code"]], plant["id"]


def test_planted_spots_get_the_strongest_bins_in_their_period(plants, year_hot, events, units):
    kinds = sorted(p["kind"] for p in plants)
    assert kinds == ["cold", "diminishing", "intensifying", "new", "persistent", "persistent"]
    for plant in plants:
        row = plant_layer(plant, year_hot, events, units).loc[plant["grid_code"]]
        if plant["kind"] == "cold":
            assert row["gi_bin"] <= -2 and row["gi_z"] < -3, plant
        else:
            assert row["gi_bin"] == 3 and row["gi_z"] > 3, plant


def test_the_planted_category_alone_is_hot_there(plants, year_hot, events, units):
    for plant in plants:
        if plant["kind"] == "cold":
            continue
        layer = plant_layer(plant, None, events, units, category=plant["category"])
        assert layer.loc[plant["grid_code"], "gi_bin"] == 3, plant["id"]
        assert layer.attrs["category"] == plant["category"]


def test_nothing_significant_away_from_the_plants(plants, year_hot, base_grids):
    """Significant grids touch a plant disk or neighbour a grid that does (Gi* sees neighbours)."""
    mx, my = metres_per_degree(30.2)
    geoms = base_grids.geometry.to_numpy()
    codes = base_grids["code"].to_numpy(dtype=object)
    nb = contiguity_neighbours(geoms, ids=codes)

    def near(kinds: set[str]) -> set[str]:
        hit = np.zeros(len(geoms), dtype=bool)
        for p in plants:
            if p["kind"] in kinds:
                disk = shapely.Point(0, 0).buffer(p["radius_m"] + 100)
                local = shapely.transform(
                    geoms,
                    lambda c, p=p: np.column_stack(
                        [(c[:, 0] - p["lon"]) * mx, (c[:, 1] - p["lat"]) * my]
                    ),
                )
                hit |= shapely.intersects(local, disk)
        neighbours = nb.to_sparse()[np.flatnonzero(hit)].nonzero()[1]
        return set(codes[hit]) | set(codes[neighbours])

    bins = year_hot["gi_bin"]
    hot, cold = set(bins.index[bins >= 2]), set(bins.index[bins <= -2])
    assert len(hot) >= 10 and len(cold) >= 10
    assert hot <= near(set(HOT_CATEGORY)), sorted(hot - near(set(HOT_CATEGORY)))
    assert cold <= near({"cold"}), sorted(cold - near({"cold"}))


def test_emerging_categories_match_the_planted_kinds(plants, year_emerging):
    assert list(year_emerging.columns) == list(EMERGING_COLUMNS)
    slices = year_emerging.attrs["time_slices"]
    assert len(slices) == 12 and slices[0] == "2025-11-01T00:00:00+08:00"
    for plant in plants:
        row = year_emerging.loc[plant["grid_code"]]
        if plant["kind"] == "cold":
            assert row["category"] in COLD_CATEGORIES, (plant["id"], row["category"])
            assert row["n_cold"] == 12 and row["n_hot"] == 0
        else:
            assert row["category"] == HOT_CATEGORY[plant["kind"]], (plant["id"], row["category"])
            assert row["n_hot"] == (1 if plant["kind"] == "new" else 12), plant["id"]


def test_gi_z_is_esdas_on_the_same_weights(year_hot, base_grids):
    codes = base_grids["code"].to_numpy(dtype=object)
    layer = year_hot.loc[codes]
    weights = contiguity_neighbours(base_grids.geometry, ids=codes).to_libpysal()
    reference = esda.G_Local(
        layer["value"].to_numpy(), weights, transform="B", star=True, permutations=0
    )
    np.testing.assert_allclose(layer["gi_z"].to_numpy(), reference.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        layer["value"], 1000 * layer["count"] / base_grids["population"].to_numpy(), rtol=1e-12
    )


def test_counts_are_the_events_inside_each_base_grid(events, year_hot, base_grids):
    # Independent of owner codes: events owned by special grids or micro-grids
    # count for the base grid that contains them.
    x, y = wgs84(events)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4490)
    # A point within the locate tolerance (1 mm ≈ 1e-8°) of a shared edge belongs
    # to the lowest code (DESIGN section 4).
    joined = gpd.sjoin(
        points, base_grids[["code", "geometry"]], predicate="dwithin", distance=1e-8
    )
    joined = joined.sort_values("code", kind="stable")
    joined = joined[~joined.index.duplicated()]
    expected = joined["code"].value_counts().reindex(year_hot.index, fill_value=0)
    diff = year_hot["count"] - expected
    assert (diff == 0).all(), diff[diff != 0].to_dict()
    assert year_hot.attrs["n_events"] == len(joined)
    assert year_hot.attrs["n_events"] + year_hot.attrs["n_outside"] == len(events)
    # Without owner codes every event is placed by its coordinates: same counts.
    by_point = hotspot_layer(events.drop(columns="owner_code"), base_grids, permutations=0)
    assert (by_point["count"] == year_hot["count"]).all()


def test_h3_cells_find_the_hot_plants_by_counts(plants, events, units):
    year = hotspot_layer(events, units, level="h3:9")
    assert year.attrs["level"] == "h3:9" and year.attrs["value"] == "count"
    assert year["name"].isna().all() and year["population"].isna().all()
    assert year.crs.to_epsg() == 4490 and len(year) > 10_000
    for plant in plants:
        if plant["kind"] == "cold":
            continue
        layer = plant_layer(plant, year, events, units, level="h3:9")
        cell = h3.latlng_to_cell(plant["lat"], plant["lon"], 9)
        assert layer.loc[cell, "gi_bin"] == 3, plant["id"]


def test_grids_never_patrolled_show_as_never_visited(truth, index, units):
    tracks = pd.read_parquet(SAMPLES_DIR / "tracks.parquet", columns=["t", "lon", "lat", "crs"])
    x, y = wgs84(tracks)
    owner = pd.Series(index.locate(x, y).owner, dtype="string").str.slice(0, 15)
    visits = (
        pd.DataFrame({"grid_code": owner, "last_visit": tracks["t"]})
        .dropna()
        .groupby("grid_code", as_index=False)["last_visit"]
        .max()
    )
    gaps = coverage_layer(visits, units, now="2026-11-01", days=7)
    assert list(gaps.columns) == list(COVERAGE_COLUMNS)
    never = set(gaps.index[gaps["status"] == "never"])
    planted = {g for g, why in truth["unvisited_reasons"].items() if "no patrols" in why}
    assert planted and planted <= never
    assert len(never) < 0.05 * len(gaps)
    assert gaps.attrs["ignored_rows"] == (~visits["grid_code"].isin(gaps.index)).sum()


def test_layers_are_geojson_ready(year_hot):
    assert list(year_hot.columns) == list(HOTSPOT_COLUMNS)
    assert year_hot.crs.to_epsg() == 4490
    feature = json.loads(year_hot.iloc[:3].to_json())["features"][0]
    assert feature["id"] == feature["properties"]["id"] == year_hot.index[0]
    assert set(feature["properties"]) == set(HOTSPOT_COLUMNS) - {"geometry"}
    json.dumps(year_hot.attrs)


def test_category_by_code_or_name_selects_the_same_events(events, units):
    by_code = hotspot_layer(events, units, category="S0101", permutations=0)
    by_name = hotspot_layer(events, units, category="暴露垃圾", permutations=0)
    assert (by_code["count"] == by_name["count"]).all()
    assert (
        by_code.attrs["n_events"] + by_code.attrs["n_outside"]
        == (events["category_code"] == "S0101").sum()
    )
    by_class = hotspot_layer(events, units, category="市容环境", permutations=0)
    assert (by_class["count"] >= by_code["count"]).all()
    assert by_class["count"].sum() > by_code["count"].sum()


def test_bad_requests_name_the_problem(events, units):
    with pytest.raises(InvalidInput, match=r"unknown category 'S9999'.*S0101 暴露垃圾"):
        hotspot_layer(events, units, category="S9999")
    with pytest.raises(InvalidInput, match="empty"):
        hotspot_layer(events, units, start="2030-01-01", end="2030-02-01")
    with pytest.raises(InvalidInput, match="after start"):
        emerging_layer(events, units, start="2026-05-01", end="2026-04-01")
    with pytest.raises(InvalidInput, match="value='count'"):
        hotspot_layer(events, units, level="h3:9", value="rate")
    with pytest.raises(InvalidInput, match="at least 3 time slices"):
        emerging_layer(events, units, start="2026-01-01", end="2026-03-01")
    for bad in ("h3:4", "h3:11", "h3:", "h3:x", "micro", "district", ""):
        with pytest.raises(InvalidInput, match=r"h3:<res> with res 5–10"):
            parse_level(bad)
    assert parse_level(" Community ") == ("community", None)


def test_inputs_are_not_mutated(events, units):
    sample = events.iloc[::20]
    before_events, before_units = sample.copy(), units.copy()
    hotspot_layer(sample, units, level="street", permutations=0)
    emerging_layer(sample, units, level="community")
    hotspot_layer(sample, units, level="h3:7", permutations=0)
    pd.testing.assert_frame_equal(sample, before_events)
    pd.testing.assert_frame_equal(units, before_units)


def test_grids_without_residents_are_left_out_of_rates(events, units, year_hot):
    empty = year_hot.index[year_hot["gi_bin"] == 3][0]
    unpopulated = units.assign(population=units["population"].where(units["code"] != empty, 0))
    layer = hotspot_layer(events, unpopulated, permutations=0)
    row = layer.loc[empty]
    assert row["count"] == year_hot.loc[empty, "count"] and np.isnan(row["rate_per_1000"])
    assert np.isnan(row["gi_z"]) and row["gi_bin"] == 0
    # Its neighbours no longer see it, and counts still can be analysed there.
    assert (layer["neighbours"] <= year_hot["neighbours"]).all()
    fewer = layer["neighbours"] < year_hot["neighbours"]
    assert fewer.drop(empty).sum() == year_hot.loc[empty, "neighbours"]
    assert row["neighbours"] == 0
    counted = hotspot_layer(events, unpopulated, value="count", permutations=0)
    assert np.isfinite(counted.loc[empty, "gi_z"])
    assert counted.loc[empty, "neighbours"] == year_hot.loc[empty, "neighbours"]
    emerging = emerging_layer(events, unpopulated).loc[empty]
    assert emerging["category"] == "no_pattern" and np.isnan(emerging["trend_z"])
