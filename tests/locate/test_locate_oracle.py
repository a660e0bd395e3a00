"""LocateIndex against an independent brute-force oracle, point for point."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridgeo.locate import LocateIndex
from tests.locate.locate_synthetic import brute_force, oracle_points

SAMPLE_UNITS = Path(__file__).resolve().parents[2] / "data" / "samples" / "units.parquet"


def assert_matches_oracle(index: LocateIndex, units: gpd.GeoDataFrame, lon, lat, **kw) -> None:
    result = index.locate(lon, lat)
    expected = brute_force(units, lon, lat, **kw)
    bad = np.flatnonzero(result.owner != np.array(expected["owner"], dtype=object))
    assert len(bad) == 0, (
        f"{len(bad)} owners differ; first at ({lon[bad[0]]!r}, {lat[bad[0]]!r}): "
        f"{result.owner[bad[0]]} != {expected['owner'][bad[0]]}"
    )
    bad = np.flatnonzero(result.on_boundary != np.array(expected["on_boundary"]))
    assert len(bad) == 0, f"{len(bad)} on_boundary flags differ, e.g. row {bad[0]}"
    assert [list(c) for c in result.chains] == expected["chain"]
    assert list(result.special_grids) == expected["special_grids"]


@pytest.mark.parametrize("cell_size_m", [None, 2.0, 25.0])
@pytest.mark.parametrize("fixture", ["units", "jittered_units"])
def test_random_points_match_brute_force(request, fixture, cell_size_m):
    units = request.getfixturevalue(fixture)
    index = LocateIndex.build(units, cell_size_m=cell_size_m)
    lon, lat = oracle_points(units, 100_000, seed=11)
    assert_matches_oracle(index, units, lon, lat)


def test_oracle_points_exercise_every_case(jittered_units):
    # Guard the oracle test's power: the sample must contain boundary points,
    # uncovered points, special-grid points and micro-grid owners.
    index = LocateIndex.build(jittered_units)
    lon, lat = oracle_points(jittered_units, 20_000, seed=11)
    result = index.locate(lon, lat)
    levels = {index.unit(c)["level"] for c in result.owner if c is not None}
    assert {"grid", "microgrid"} <= levels
    assert 0.2 < result.on_boundary.mean() < 0.8
    assert (result.owner == None).sum() > 1000  # noqa: E711 (elementwise)
    assert sum(1 for s in result.special_grids if len(s) >= 2) > 100


def test_cache_and_exact_path_agree_near_boundaries(jittered_units):
    # Points within a few cells of boundaries, where cache cells and mixed
    # cells interleave.
    rng = np.random.default_rng(5)
    cached = LocateIndex.build(jittered_units, cell_size_m=3.0)
    exact = LocateIndex.build(jittered_units, cell_size_m=None)
    lon, lat = oracle_points(jittered_units, 20_000, seed=2)
    lon = lon + rng.normal(0, 2e-5, len(lon))
    lat = lat + rng.normal(0, 2e-5, len(lat))
    a, b = cached.locate(lon, lat), exact.locate(lon, lat)
    np.testing.assert_array_equal(a.owner, b.owner)
    np.testing.assert_array_equal(a.on_boundary, b.on_boundary)
    assert list(a.special_grids) == list(b.special_grids)


@pytest.mark.skipif(not SAMPLE_UNITS.exists(), reason="sample city not generated")
def test_sample_city_matches_brute_force():
    units = gpd.read_parquet(SAMPLE_UNITS)
    index = LocateIndex.build(units)
    district = units[units["level"] == "district"]
    lon, lat = oracle_points(units, 100_000, seed=4, bbox=tuple(district.total_bounds))

    def bbox_candidates(geoms, points):
        # A separate, unprepared tree: bounding boxes only; shapely.covers decides.
        return shapely.STRtree(shapely.force_2d(geoms)).query(points)

    assert_matches_oracle(index, units, lon, lat, candidates=bbox_candidates)


@pytest.mark.parametrize("cell_size_m", [None, 4.0])
def test_single_point_calls_match_the_batch(jittered_units, cell_size_m):
    # locate() answers one point by a scalar fast path; it must agree with
    # the vectorised path on every kind of point.
    index = LocateIndex.build(jittered_units, cell_size_m=cell_size_m)
    lon, lat = oracle_points(jittered_units, 3000, seed=8)
    batch = index.locate(lon, lat, within_m=150)
    for i in range(len(lon)):
        for one in (
            index.locate(float(lon[i]), float(lat[i]), within_m=150),
            index.locate(lon[i : i + 1], lat[i : i + 1], within_m=150),
            index.locate(np.asarray(lon[i]), np.asarray(lat[i]), within_m=150),
        ):
            assert one.owner[0] == batch.owner[i]
            assert one.on_boundary[0] == batch.on_boundary[i]
            assert one.chains[0] == batch.chains[i]
            assert one.special_grids[0] == batch.special_grids[i]
            assert one.nearest_code[0] == batch.nearest_code[i]
            np.testing.assert_equal(one.nearest_distance_m[0], batch.nearest_distance_m[i])
