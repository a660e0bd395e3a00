"""The independently built second district (庐阳区 340103, EPSG:4548) and the product.

The data checks are the tester's own (shapely), the product checks go through
the public planner workflow on an empty database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gridgeo.workflows import planner
from tests.boundaries.independent.district import (
    DISTRICT_CODE,
    GK_EPSG,
    REFERENCE,
    build_district,
    cached_district,
    coverage_problems,
    write_district,
)
from tests.boundaries.independent.harness import create_database, drop_database


def test_district_is_deterministic_and_sized() -> None:
    units = cached_district().units
    again = build_district()
    assert units.drop(columns="geometry").equals(again.units.drop(columns="geometry"))
    assert shapely.equals_exact(units.geometry.to_numpy(), again.units.geometry.to_numpy()).all()
    counts = units.groupby(["level", "kind"]).size().to_dict()
    assert counts[("street", "base")] == 3
    assert counts[("community", "base")] == 12
    assert 35 <= counts[("grid", "base")] <= 45
    assert 1 <= counts[("grid", "special")] <= 3
    assert 120 <= counts[("microgrid", "base")] <= 180
    base_grids = units[(units["level"] == "grid") & (units["kind"] == "base")]
    assert base_grids["households"].between(300, 500).all()


def test_district_uses_real_codes() -> None:
    units = cached_district().units
    streets = pd.read_csv(REFERENCE / "streets.csv.gz", dtype=str)
    villages = pd.read_csv(REFERENCE / "villages.csv.gz", dtype=str)
    official_streets = set(streets.loc[streets["areaCode"] == DISTRICT_CODE, "code"])
    official_communities = set(villages.loc[villages["areaCode"] == DISTRICT_CODE, "code"])
    assert set(units.loc[units["level"] == "street", "code"]) <= official_streets
    assert set(units.loc[units["level"] == "community", "code"]) <= official_communities
    for _, row in units[units["parent_code"].notna()].iterrows():
        assert row["code"].startswith(row["parent_code"])


@pytest.mark.parametrize("epsg", [GK_EPSG, 4490])
def test_district_is_a_clean_coverage(epsg: int) -> None:
    units = cached_district().units.to_crs(epsg)
    assert shapely.is_valid(units.geometry.to_numpy()).all()
    assert coverage_problems(units) == []
    # vertices on the 1 mm grid in the file's CRS
    if epsg == GK_EPSG:
        xy = shapely.get_coordinates(units.geometry.to_numpy())
        assert abs(xy * 1000 - (xy * 1000).round()).max() < 1e-3


def test_district_edges_shared_vertex_for_vertex() -> None:
    units = cached_district().units
    micro = units[units["level"] == "microgrid"]
    for _, children in micro.groupby("parent_code"):
        geoms = children.geometry.to_numpy()
        assert shapely.coverage_is_valid(geoms, gap_width=0.0)


def test_special_grids_inside_one_community() -> None:
    units = cached_district().units
    by_code = units.set_index("code").geometry
    special = units[units["kind"] == "special"]
    for _, row in special.iterrows():
        community = by_code[row["parent_code"]]
        assert shapely.difference(row.geometry, community).area < 1e-6


@pytest.fixture
def empty_db_url(database_url_for_tests: str) -> Iterator[str]:
    """A migrated database with nothing in it (dropped afterwards)."""
    import secrets

    url = create_database(database_url_for_tests, "empty" + secrets.token_hex(3))
    try:
        yield url
    finally:
        drop_database(url)


def test_whole_district_imports_validates_clean_and_publishes(
    empty_db_url: str, tmp_path: Path
) -> None:
    path = write_district(tmp_path / "luyang_4548.gpkg")
    assert gpd.read_file(path).crs.to_epsg() == GK_EPSG
    engine = create_engine(empty_db_url, poolclass=NullPool)
    try:
        with Session(engine) as session, session.begin():
            summary = planner.import_boundaries(session, path, filename=path.name)
            assert summary.units == len(cached_district().units)
            generation = summary.generation_id
        with Session(engine) as session, session.begin():
            report = planner.validate_generation(session, generation)
        errors = [f"{i.rule}: {i.message}" for i in report.errors]
        assert errors == [], errors
        with Session(engine) as session, session.begin():
            planner.publish_generation(session, generation)
        with engine.connect() as conn:
            status = conn.execute(
                text("SELECT status FROM generations WHERE id = :g"), {"g": generation}
            ).scalar_one()
        assert status == "published"
    finally:
        engine.dispose()
