"""The sample city's boundaries, population, special grids and roster.

Every check runs on two cities: the committed one in ``data/samples`` and one
freshly generated with another seed, so both the shipped data and the
generator are held to the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.coding import is_official, official_name, validate_codes
from gridgeo.samples.city import HOUSEHOLDS_PER_GRID, MICROGRIDS_PER_GRID, generate_units
from gridgeo.samples.hashing import content_hash
from gridgeo.samples.layout import DISTRICT_CENTRE, PROJECTED_EPSG, is_village
from gridgeo.samples.reference import SAMPLES_DIR, load_reference
from gridgeo.samples.roster import generate_roster, with_worker_counts

CHILD = {"district": "street", "street": "community", "community": "grid", "grid": "microgrid"}


@dataclass(frozen=True)
class City:
    units: gpd.GeoDataFrame
    roster: pd.DataFrame


@pytest.fixture(scope="module")
def reference():
    return load_reference()


@pytest.fixture(scope="module")
def committed() -> City:
    units = gpd.read_parquet(SAMPLES_DIR / "units.parquet")
    roster = pd.read_csv(SAMPLES_DIR / "workers.csv", dtype=str, keep_default_na=False)
    return City(units, roster)


@pytest.fixture(scope="module")
def seed7(reference) -> City:
    units = generate_units(reference, np.random.default_rng(7))
    roster = generate_roster(units, np.random.default_rng(8))
    return City(with_worker_counts(units, roster), roster)


@pytest.fixture(scope="module", params=["committed", "seed7"])
def city(request) -> City:
    return request.getfixturevalue(request.param)


def base(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    return units[(units["level"] == level) & (units["kind"] == "base")]


def area_m2(geoms) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=4490).to_crs(PROJECTED_EPSG).area.to_numpy()


def test_table_shape(city):
    units = city.units
    assert units.crs.to_epsg() == 4490
    assert list(units.columns) == [
        "code",
        "parent_code",
        "level",
        "kind",
        "name",
        "population",
        "households",
        "full_time_workers",
        "part_time_workers",
        "geometry",
    ]
    assert (units.geom_type == "MultiPolygon").all()
    assert shapely.is_valid(units.geometry.values).all()
    assert not units.geometry.is_empty.any()
    assert units["code"].is_unique
    assert (units["name"].str.len() > 0).all()
    assert units["kind"].isin(["base", "special"]).all()


def test_counts(city):
    level_kind = city.units.groupby(["level", "kind"]).size().to_dict()
    assert level_kind[("district", "base")] == 1
    assert level_kind[("street", "base")] == 27
    assert level_kind[("community", "base")] == 585
    assert 1300 <= level_kind[("grid", "base")] <= 1700
    assert 90 <= level_kind[("grid", "special")] <= 110
    assert 3 * 1000 <= level_kind[("microgrid", "base")] <= 8 * 1300
    assert ("microgrid", "special") not in level_kind


def test_streets_and_communities_are_the_official_ones(city, reference):
    streets = base(city.units, "street")
    assert streets["code"].tolist() == reference.streets["code"].tolist()
    assert streets["name"].tolist() == reference.streets["name"].tolist()
    communities = base(city.units, "community")
    assert communities["code"].tolist() == reference.communities["code"].tolist()
    assert communities["name"].tolist() == reference.communities["name"].tolist()
    assert communities["parent_code"].tolist() == reference.communities["parent"].tolist()
    official = pd.concat([streets, communities])
    assert is_official(official["code"]).all()
    assert [official_name(c) for c in official["code"]] == official["name"].tolist()


def test_codes_follow_the_coding_rules(city):
    problems = validate_codes(city.units)
    assert problems == []
    grids = city.units[city.units["level"] == "grid"]
    seq = grids["code"].str[-3:].astype(int)
    special = grids["kind"] == "special"
    assert seq[~special].between(1, 799).all() and seq[special].between(801, 999).all()
    assert (grids["code"].str[:12] == grids["parent_code"]).all()
    micro = city.units[city.units["level"] == "microgrid"]
    assert (micro["code"].str[:15] == micro["parent_code"]).all()
    assert micro["parent_code"].isin(set(grids.loc[~special, "code"])).all()


@pytest.mark.parametrize("parent_level", list(CHILD))
def test_each_level_is_a_valid_coverage_of_its_parent(city, parent_level):
    units = city.units
    parents = base(units, parent_level).set_index("code").geometry
    children = base(units, CHILD[parent_level])
    groups = children.groupby("parent_code").geometry
    if parent_level == "community":  # every community has grids
        assert set(groups.groups) == set(parents.index)
    else:  # villages have no micro-grids
        assert set(groups.groups) <= set(parents.index)
    unions, parent_geoms = [], []
    for code, geoms in groups:
        members = geoms.to_numpy()
        edges = shapely.coverage_invalid_edges(members)
        assert shapely.is_empty(edges).all(), f"children of {code} share edges badly"
        unions.append(shapely.coverage_union_all(members))
        parent_geoms.append(parents[code])
    # Union of the children equals the parent (no gaps, nothing outside).
    diff = area_m2(shapely.symmetric_difference(np.array(unions), np.array(parent_geoms)))
    assert diff.max() < 1.0, f"children differ from their parent by {diff.max():.3f} m²"
    # The whole level is one valid coverage (no overlaps across parents either).
    assert shapely.coverage_is_valid(children.geometry.to_numpy())


def test_urban_grids_and_villages(city):
    grids = base(city.units, "grid")
    micro = base(city.units, "microgrid")
    village = grids["parent_code"].map(is_village)
    lo, hi = HOUSEHOLDS_PER_GRID
    assert grids.loc[~village, "households"].between(lo, hi).all()
    # A village committee is exactly one grid, without micro-grids.
    per_community = grids.groupby("parent_code").size()
    villages = per_community[per_community.index.map(is_village)]
    assert len(villages) == 336 and (villages == 1).all()
    assert not micro["parent_code"].isin(set(grids.loc[village, "code"])).any()
    # Urban grids have 3–8 resident-group micro-grids.
    per_grid = micro.groupby("parent_code").size().reindex(grids.loc[~village, "code"])
    assert per_grid.between(*MICROGRIDS_PER_GRID).all()


def test_population_adds_up(city):
    units = city.units.set_index("code")
    grids = base(city.units, "grid")
    micro = base(city.units, "microgrid")
    for column in ("population", "households"):
        by_grid = micro.groupby("parent_code")[column].sum()
        assert (units.loc[by_grid.index, column] == by_grid).all()
        for level, length in (("community", 12), ("street", 9), ("district", 6)):
            sums = grids.groupby(grids["code"].str[:length])[column].sum()
            rows = base(city.units, level).set_index("code")[column]
            assert (rows == sums.reindex(rows.index).fillna(0)).all()
    assert (city.units["population"] >= city.units["households"]).all()
    assert 1_800_000 <= int(units.loc["330109", "population"]) <= 2_200_000


def test_urban_units_are_small_near_the_centre(city):
    grids = base(city.units, "grid")
    area = area_m2(grids.geometry.to_numpy())
    centre = gpd.GeoSeries(shapely.points([DISTRICT_CENTRE]), crs=4490).to_crs(PROJECTED_EPSG)
    dist = gpd.GeoSeries(grids.geometry.representative_point().to_numpy(), crs=4490)
    dist = dist.to_crs(PROJECTED_EPSG).distance(centre.iloc[0]).to_numpy()
    village = grids["parent_code"].map(is_village).to_numpy()
    near = dist < 5000
    assert near.sum() > 200
    assert np.median(area[near & ~village]) * 5 < np.median(area[village])
    assert np.median(area[near]) < np.median(area[dist > 15000]) / 5


def test_special_grids(city):
    units = city.units
    special = units[units["kind"] == "special"]
    assert (special["level"] == "grid").all()
    assert special["name"].is_unique
    assert special["parent_code"].is_unique  # each in a different community
    communities = base(units, "community").set_index("code").geometry
    parents = communities.loc[special["parent_code"]].to_numpy()
    assert shapely.within(special.geometry.to_numpy(), parents).all()
    area = area_m2(special.geometry.to_numpy())
    assert (area > 1000).all() and (area < 2e6).all()
    # No two special grids overlap.
    tree = shapely.STRtree(special.geometry.to_numpy())
    left, right = tree.query(special.geometry.to_numpy(), predicate="overlaps")
    assert (left == right).all()
    assert (special["households"] == 0).all() and (special["population"] > 0).all()
    assert special["name"].str.contains("学|院|医|园|广场|中心|大厦|综合体").all()


def test_names(city):
    units = city.units.set_index("code")
    grids = base(city.units, "grid")
    for code, name in zip(grids["code"], grids["name"], strict=True):
        assert name.endswith(f"第{int(code[-3:])}网格")
        assert name[:2] == units.loc[code[:12], "name"][:2]
    micro = base(city.units, "microgrid")
    for code, name in zip(micro["code"][:500], micro["name"][:500], strict=True):
        assert name == f"{units.loc[code[:15], 'name']}第{int(code[-3:])}微网格"


def test_roster(city):
    units, roster = city.units, city.roster
    assert list(roster.columns) == ["worker_id", "name", "employment", "grid_code"]
    assert roster["worker_id"].is_unique
    assert roster["worker_id"].str.fullmatch(r"W\d{5}").all()
    assert (roster["name"].str.len() >= 2).all()
    assert roster["grid_code"].isin(set(units["code"])).all()
    ft = roster[roster["employment"] == "full_time"].groupby("grid_code").size()
    pt = roster[roster["employment"] == "part_time"].groupby("grid_code").size()
    grids = base(units, "grid")
    urban = grids.loc[~grids["parent_code"].map(is_village), "code"]
    village = grids.loc[grids["parent_code"].map(is_village), "code"]
    assert ft.reindex(urban).fillna(0).between(1, 2).all()
    assert pt.reindex(urban).fillna(0).eq(0).all()
    assert pt.reindex(village).fillna(0).eq(1).all() and not ft.index.isin(village).any()
    for level_kind in (units["level"] == "microgrid", units["kind"] == "special"):
        assert pt.reindex(units.loc[level_kind, "code"]).fillna(0).eq(1).all()
    assert set(ft.index) <= set(urban)
    # Unit worker counts roll the roster up.
    district = units[units["level"] == "district"].iloc[0]
    assert district["full_time_workers"] == len(ft.index.repeat(ft))
    assert district["full_time_workers"] + district["part_time_workers"] == len(roster)
    counts = units.set_index("code")
    assert (counts.loc[ft.index, "full_time_workers"] == ft).all()


def test_another_seed_gives_another_city(committed, seed7):
    def geometry_hash(city: City) -> str:
        return content_hash(city.units[["code", "geometry"]])

    assert geometry_hash(seed7) != geometry_hash(committed)
    assert content_hash(seed7.roster) != content_hash(committed.roster)
    streets = [c.units[c.units["level"] == "street"] for c in (committed, seed7)]
    assert streets[0]["code"].tolist() == streets[1]["code"].tolist()
    assert not np.array_equal(streets[0]["population"], streets[1]["population"])
