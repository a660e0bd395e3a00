"""Locate tolerance: points on a shared edge up to rounding follow the lowest code.

Regression test of issue 13: a point on a shared edge up to floating-point
rounding (1e-9 m off) got the owner of whichever side rounding picked and
``on_boundary: false``. Points are built on many shared edges of the sample
city, then moved perpendicular to the edge by 0, ±1e-12 … ±1e-9 m and up to
±0.9 mm: within the default tolerance (1 mm) the lower code owns them and
``on_boundary`` is true, identically in the cell cache, the exact path, the
scalar path, ``GET /v1/locate`` and ``POST /v1/locate``. At 2 mm the point
belongs to its own side again.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridgeo.errors import InvalidInput
from gridgeo.locate import DEFAULT_TOLERANCE_M, LocateIndex

SAMPLE_UNITS = Path(__file__).resolve().parents[2] / "data" / "samples" / "units.parquet"
M = 111_320.0
OFFSETS_M = [0.0, 1e-12, -1e-12, 1e-9, -1e-9, 1e-6, -1e-6, 0.0005, -0.0005, 0.0009, -0.0009]

pytestmark = pytest.mark.skipif(not SAMPLE_UNITS.exists(), reason="sample city not generated")


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return gpd.read_parquet(SAMPLE_UNITS)


def shared_edge_points(units: gpd.GeoDataFrame, n_edges: int, offsets: list[float], seed: int):
    """Points on edges shared by two leaf units of one level, moved perpendicular.

    Returns lon, lat, the lower code, the higher code and the offset in metres
    (positive: towards the higher code's side).
    """
    base = units[units["kind"] == "base"]
    parents = set(base["parent_code"].dropna())
    leaves = base[~base["code"].isin(parents)].reset_index(drop=True)
    specials = units[units["kind"] == "special"].geometry.values
    cos = math.cos(math.radians(float(np.mean(units.total_bounds[[1, 3]]))))
    seen: dict[tuple[float, ...], tuple[int, str]] = {}
    pairs: list[tuple[np.ndarray, int, int]] = []
    for i, (geom, level) in enumerate(zip(leaves.geometry, leaves["level"], strict=True)):
        for ring in shapely.get_rings(shapely.get_parts(geom)):
            xy = shapely.get_coordinates(ring)
            for a, b in zip(xy[:-1], xy[1:], strict=True):
                key = tuple(np.round(np.concatenate(sorted([a, b], key=tuple)), 12))
                if key in seen and seen[key][1] == level and seen[key][0] != i:
                    pairs.append((np.array([a, b]), seen[key][0], i))
                else:
                    seen[key] = (i, level)
    rng = np.random.default_rng(seed)
    rng.shuffle(pairs)
    special_tree = shapely.STRtree(specials)
    leaf_tree = shapely.STRtree(leaves.geometry.values)
    rows = []
    for seg, i, j in pairs:
        if len(rows) >= n_edges * len(offsets):
            break
        (ax, ay), (bx, by) = seg
        dx, dy = (bx - ax) * cos * M, (by - ay) * M
        length = math.hypot(dx, dy)
        if length < 1.0:
            continue
        t = rng.uniform(0.3, 0.7)
        px, py = ax + t * (bx - ax), ay + t * (by - ay)
        nx, ny = -dy / length, dx / length  # unit normal in metres (left of a -> b)
        low, high = sorted([i, j], key=lambda k: leaves.at[k, "code"])
        # Which side of the edge is the higher code's?
        probe = shapely.Point(px + nx * 0.5 / (cos * M), py + ny * 0.5 / M)
        sign = 1.0 if leaves.geometry.values[high].covers(probe) else -1.0
        here = shapely.Point(px, py).buffer(0.05 / M)
        if len(special_tree.query(here, predicate="intersects")):
            continue
        if len(leaf_tree.query(here, predicate="intersects")) != 2:
            continue  # near a vertex where a third unit meets
        for off in offsets:
            s = sign * off
            rows.append(
                (
                    px + nx * s / (cos * M),
                    py + ny * s / M,
                    leaves.at[low, "code"],
                    leaves.at[high, "code"],
                    off,
                )
            )
    lon = np.array([r[0] for r in rows])
    lat = np.array([r[1] for r in rows])
    return lon, lat, [r[2] for r in rows], [r[3] for r in rows], np.array([r[4] for r in rows])


@pytest.fixture(scope="module")
def edge_points(units):
    return shared_edge_points(units, 150, OFFSETS_M, seed=13)


@pytest.fixture(scope="module")
def indexes(units):
    return {
        "cached": LocateIndex.build(units),
        "exact": LocateIndex.build(units, cell_size_m=None),
    }


def test_points_near_shared_edges_go_to_the_lowest_code(edge_points, indexes) -> None:
    lon, lat, low, _high, _off = edge_points
    assert len(lon) >= 150 * len(OFFSETS_M) * 0.9
    assert len(set(low)) > 100  # many different edges
    for name, index in indexes.items():
        result = index.locate(lon, lat)
        wrong = [k for k in range(len(lon)) if result.owner[k] != low[k]]
        assert not wrong, (name, len(wrong), lon[wrong[0]], lat[wrong[0]], low[wrong[0]])
        assert result.on_boundary.all(), name
        # The scalar path (one point at a time) gives the same answers.
        for k in range(0, len(lon), 7):
            one = index.locate(float(lon[k]), float(lat[k]))
            assert one.owner[0] == low[k] and bool(one.on_boundary[0]), (name, k)


def test_beyond_the_tolerance_the_point_keeps_its_side(units, indexes) -> None:
    lon, lat, low, high, off = shared_edge_points(units, 150, [0.002, -0.002], seed=13)
    result = indexes["cached"].locate(lon, lat)
    expected = [h if o > 0 else lo for lo, h, o in zip(low, high, off, strict=True)]
    assert list(result.owner) == expected
    assert not result.on_boundary.any()
    exact = indexes["exact"].locate(lon, lat)
    assert list(exact.owner) == expected


def test_zero_tolerance_lets_rounding_decide(units, edge_points) -> None:
    lon, lat, low, high, off = edge_points
    exact = LocateIndex.build(units, cell_size_m=None, tolerance_m=0.0)
    result = exact.locate(lon, lat)
    tiny = np.abs(off) >= 1e-12
    # Without tolerance, points pushed into the higher code's side by rounding-size
    # offsets go to the higher code: what the tolerance fixes.
    pushed = tiny & (off > 0)
    assert any(result.owner[k] == high[k] for k in np.flatnonzero(pushed))


def test_tolerance_setting(monkeypatch, units) -> None:
    small = units[
        units["code"].str.startswith("330109001001") | units["code"].isin(["330109", "330109001"])
    ]
    assert LocateIndex.build(small).tolerance_m == DEFAULT_TOLERANCE_M
    monkeypatch.setenv("GRIDGEO_BOUNDARY_TOLERANCE_M", "0.01")
    assert LocateIndex.build(small, cell_size_m=None).tolerance_m == 0.01
    monkeypatch.setenv("GRIDGEO_BOUNDARY_TOLERANCE_M", "lots")
    with pytest.raises(InvalidInput, match="GRIDGEO_BOUNDARY_TOLERANCE_M"):
        LocateIndex.build(small)
    with pytest.raises(InvalidInput, match="tolerance"):
        LocateIndex.build(small, tolerance_m=-1.0)


def test_http_get_and_post_agree_with_the_index(city_client, units, edge_points) -> None:
    lon, lat, low, _high, _off = edge_points
    picked = np.arange(0, len(lon), 3)
    for k in picked.tolist():
        body = city_client.get(
            "/v1/locate",
            params={"lon": repr(float(lon[k])), "lat": repr(float(lat[k])), "crs": "cgcs2000"},
        ).json()
        assert body["owner"]["code"] == low[k], (k, body)
        assert body["on_boundary"] is True
    response = city_client.post(
        "/v1/locate",
        json={
            "crs": "cgcs2000",
            "points": [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)],
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["owner"] for r in results] == low
    assert all(r["on_boundary"] for r in results)
