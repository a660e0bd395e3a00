"""The cell cache: pure cells answer directly, cells near boundaries defer to the exact path."""

from __future__ import annotations

import numpy as np
import shapely

import gridgeo.locate.cells as cells_module
from gridgeo.locate import LocateIndex
from gridgeo.locate.cells import MIXED, build_cell_grid
from tests.locate.locate_synthetic import make_units

X0, Y0, W = 120.0, 30.0, 0.01


def two_squares():
    west = shapely.box(X0, Y0, X0 + W, Y0 + W)
    east = shapely.box(X0 + W, Y0, X0 + 2 * W, Y0 + W)
    return np.array([west, east], dtype=object)


def classes(lon, lat):
    """1 in the west square, 2 in the east one, 0 outside (points off boundaries only)."""
    inside = (lat > Y0) & (lat < Y0 + W)
    west = inside & (lon > X0) & (lon < X0 + W)
    east = inside & (lon > X0 + W) & (lon < X0 + 2 * W)
    return np.where(west, 1, np.where(east, 2, 0)).astype(np.int64)


def test_lookup_answers_pure_cells_and_defers_near_boundaries():
    grid = build_cell_grid(two_squares(), classes, cell_size_m=10.0)
    cell_deg = grid.dx
    lon = np.array(
        [
            X0 + W / 2,
            X0 + 1.5 * W,
            X0 + W,
            X0 + W + 0.3 * cell_deg,
            X0 + W + 3 * cell_deg,
            X0 - W / 2,
            X0 - 10.0,
            X0 + W / 2,
        ]
    )
    lat = np.array([Y0 + W / 2] * 6 + [Y0, Y0 + W])
    got = grid.lookup(lon, lat).tolist()
    assert got[:2] == [1, 2]
    assert got[2] == MIXED and got[3] == MIXED  # on and next to the shared edge
    assert got[4] == 2  # three cells away
    assert got[5] == 0 and got[6] == 0  # outside, and outside the grid entirely
    assert got[7] == MIXED  # on the outer boundary


def test_every_cached_answer_equals_the_class_of_the_point():
    grid = build_cell_grid(two_squares(), classes, cell_size_m=7.0)
    rng = np.random.default_rng(0)
    lon = rng.uniform(X0 - W, X0 + 3 * W, 200_000)
    lat = rng.uniform(Y0 - W, Y0 + 2 * W, 200_000)
    got = grid.lookup(lon, lat)
    cached = got != MIXED
    np.testing.assert_array_equal(got[cached], classes(lon[cached], lat[cached]))
    # Only a thin band along the boundaries is deferred.
    assert 0.0 < (~cached).mean() < 0.05


def test_a_rotated_polygon_is_cached_correctly():
    shape = shapely.affinity.rotate(shapely.box(X0, Y0, X0 + W, Y0 + W), 33)
    geoms = np.array([shape], dtype=object)
    shapely.prepare(shape)

    def inside(lon, lat):
        return shapely.contains_xy(shape, lon, lat).astype(np.int64)

    grid = build_cell_grid(geoms, inside, cell_size_m=5.0)
    rng = np.random.default_rng(1)
    lon = rng.uniform(X0 - W, X0 + 2 * W, 100_000)
    lat = rng.uniform(Y0 - W, Y0 + 2 * W, 100_000)
    got = grid.lookup(lon, lat)
    cached = got != MIXED
    np.testing.assert_array_equal(got[cached], inside(lon[cached], lat[cached]))
    near = shapely.distance(shape.boundary, shapely.points(lon[cached], lat[cached]))
    assert near.min() > 0


def test_memory_caps_coarsen_the_cells():
    fine = build_cell_grid(two_squares(), classes, cell_size_m=2.0)
    capped = build_cell_grid(two_squares(), classes, cell_size_m=2.0, max_stored_cells=50_000)
    assert capped.nbytes < fine.nbytes
    assert capped.n_stored_blocks * capped.block**2 <= 50_000
    assert capped.dx > fine.dx
    assert build_cell_grid(np.array([], dtype=object), classes) is None


def test_building_in_chunks_gives_the_same_cache(monkeypatch):
    units = make_units(jitter=0.25, seed=3)
    whole = LocateIndex.build(units, cell_size_m=3.0)._cells
    monkeypatch.setattr(cells_module, "_CELLS_PER_CHUNK", 256 * 3)  # three blocks a chunk
    monkeypatch.setattr(cells_module, "_PIECES_PER_CHUNK", 100)
    chunked = LocateIndex.build(units, cell_size_m=3.0)._cells
    assert whole is not None and chunked is not None
    assert whole.n_stored_blocks > 30
    np.testing.assert_array_equal(whole.coarse, chunked.coarse)
    np.testing.assert_array_equal(whole.blocks, chunked.blocks)
    np.testing.assert_array_equal(whole.palette_start, chunked.palette_start)
    np.testing.assert_array_equal(whole.palette, chunked.palette)
