"""Neighbour builders: H3 rings, queen contiguity, distance bands."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from libpysal.weights import Queen

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.weights import (
    Neighbours,
    contiguity_neighbours,
    distance_band_neighbours,
    h3_neighbours,
)
from tests.heatmaps.conftest import CENTRE, disk


def neighbour_sets(nb: Neighbours) -> dict[object, set[object]]:
    return {
        nb.ids[i]: {nb.ids[j] for j in nb.indices[nb.indptr[i] : nb.indptr[i + 1]]}
        for i in range(nb.n)
    }


def test_h3_neighbours_match_grid_disk(hex_area: list[str]) -> None:
    nb = h3_neighbours(hex_area)
    area = set(hex_area)
    for cell, found in neighbour_sets(nb).items():
        assert found == (set(h3.grid_ring(str(cell), 1)) & area)
    inner = disk(*CENTRE, 8, 13)
    assert all(nb.cardinalities[hex_area.index(c)] == 6 for c in inner)
    assert nb.cardinalities.min() == 3  # corners of the big hexagon


def test_h3_neighbours_k2_and_order_follow_input(hex_area: list[str]) -> None:
    reordered = hex_area[::-1]
    nb = h3_neighbours(reordered, k=2)
    assert list(nb.ids) == reordered
    centre = h3.latlng_to_cell(*CENTRE, 8)
    assert nb.cardinalities[reordered.index(centre)] == 18


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["not-a-cell"], "invalid H3"),
        ([h3.latlng_to_cell(30.1, 120.2, 8), h3.latlng_to_cell(30.1, 120.2, 9)], "mixed"),
        ([h3.latlng_to_cell(30.1, 120.2, 8)] * 2, "repeat"),
    ],
)
def test_h3_neighbours_validation(cells: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        h3_neighbours(cells)


def test_contiguity_matches_libpysal_queen(rng: np.random.Generator) -> None:
    frame = gpd.GeoDataFrame(
        {"code": [f"c{i:03d}" for i in range(120)]},
        geometry=list(
            shapely.get_parts(
                shapely.voronoi_polygons(
                    shapely.multipoints(rng.uniform(0, 10, (120, 2))),
                    extend_to=shapely.box(0, 0, 10, 10),
                )
            )
        ),
    ).set_index("code")
    ours = neighbour_sets(contiguity_neighbours(frame))
    queen = Queen.from_dataframe(frame, use_index=True, silence_warnings=True)
    assert ours == {k: set(v) for k, v in queen.neighbors.items()}


def test_corner_touch_is_queen_neighbour() -> None:
    boxes = [shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2), shapely.box(3, 3, 4, 4)]
    nb = contiguity_neighbours(boxes, ids=["a", "b", "c"])
    assert neighbour_sets(nb) == {"a": {"b"}, "b": {"a"}, "c": set()}
    assert list(nb.islands) == ["c"]


def test_distance_band_matches_brute_force(rng: np.random.Generator) -> None:
    lon = 120.25 + rng.uniform(0, 0.02, 80)
    lat = 30.15 + rng.uniform(0, 0.02, 80)
    nb = distance_band_neighbours(shapely.points(lon, lat), 500.0)
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    i, j = np.triu_indices(80, 1)
    _, _, dist = geod.inv(lon[i], lat[i], lon[j], lat[j])
    expected = {(a, b) for a, b, d in zip(i, j, dist, strict=True) if d <= 500.0}
    found = {(a, b) for a, nbs in neighbour_sets(nb).items() for b in nbs if a < b}  # type: ignore[operator]
    borderline = {(a, b) for a, b, d in zip(i, j, dist, strict=True) if abs(d - 500.0) < 1.0}
    assert found ^ expected <= borderline


def test_round_trip_through_libpysal() -> None:
    nb = Neighbours.from_lists(["x", "y", "z"], [[1, 2], [0], [0]])
    back = Neighbours.from_libpysal(nb.to_libpysal())
    assert neighbour_sets(back) == neighbour_sets(nb)
    np.testing.assert_array_equal(nb.to_sparse(self_weight=1).diagonal(), [1, 1, 1])


def test_pairs_are_symmetrised_and_self_pairs_dropped() -> None:
    nb = Neighbours.from_pairs(["a", "b", "c"], [0, 1, 2], [1, 1, 1])
    assert neighbour_sets(nb) == {"a": {"b"}, "b": {"a", "c"}, "c": {"b"}}
