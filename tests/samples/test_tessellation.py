"""Atoms and region growing of the sample-city generator."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridgeo.errors import InvalidInput
from gridgeo.samples.tessellation import (
    AtomGraph,
    farthest_point_seeds,
    grow_regions,
    make_contiguous,
    voronoi_atoms,
)

# A concave outline (a "C"), so Voronoi cells get cut into several faces.
C_SHAPE = shapely.Polygon([(0, 0), (10, 0), (10, 3), (3, 3), (3, 7), (10, 7), (10, 10), (0, 10)])


@pytest.fixture(scope="module")
def atoms():
    points = np.random.default_rng(4).uniform(0, 10, (300, 2))
    points = points[shapely.contains_xy(C_SHAPE, points[:, 0], points[:, 1])]
    faces, generator = voronoi_atoms(C_SHAPE, points, grid_size=1e-6)
    return faces, generator, points


def test_atoms_are_an_exact_coverage_of_the_outline(atoms):
    faces, generator, points = atoms
    assert shapely.coverage_is_valid(faces)
    assert shapely.is_valid(faces).all()
    union = shapely.coverage_union_all(faces)
    assert shapely.symmetric_difference(union, C_SHAPE).area < 1e-9
    # Each face lies in the Voronoi cell of its generator: its interior point
    # is nearer to that generator than to any other point.
    inner = shapely.get_coordinates(shapely.point_on_surface(faces))
    d = np.hypot(*(inner[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    assert (d.argmin(axis=1) == generator).all()


def test_atoms_are_in_a_stable_order(atoms):
    faces, _, points = atoms
    again, _ = voronoi_atoms(C_SHAPE, points[::-1].copy(), grid_size=1e-6)
    assert shapely.equals_exact(again, faces, tolerance=0).all()


def test_adjacency_is_symmetric_with_shared_lengths(atoms):
    faces, _, _ = atoms
    graph = AtomGraph.from_atoms(faces, scale=1e6)
    for i, (nbs, lengths) in enumerate(zip(graph.neighbours, graph.shared, strict=True)):
        for j, length in zip(nbs, lengths, strict=True):
            assert i in graph.neighbours[j]
            common = shapely.intersection(faces[i].boundary, faces[j].boundary).length
            assert length == pytest.approx(common, rel=1e-9)
    assert len(graph.components(np.arange(len(faces)))) == 1


def test_regions_are_contiguous_and_complete(atoms):
    faces, _, _ = atoms
    graph = AtomGraph.from_atoms(faces, scale=1e6)
    members = np.arange(len(faces))
    seeds = farthest_point_seeds(graph.xy, 6, 0)
    labels = grow_regions(
        graph, members, seeds=seeds, weights=np.array([1, 1, 1, 1, 2, 4.0]), xy=graph.xy
    )
    assert (labels >= 0).all()
    assert (labels[seeds] == np.arange(6)).all()
    for region in range(6):
        assert len(graph.components(members[labels == region])) == 1
    sizes = np.bincount(labels)
    assert sizes[5] > sizes[:4].max()  # weights steer the sizes


def test_make_contiguous_reattaches_detached_pieces(atoms):
    faces, _, _ = atoms
    graph = AtomGraph.from_atoms(faces, scale=1e6)
    labels = np.zeros(len(faces), dtype=np.int64)
    labels[graph.xy[:, 0] > 5] = 1  # the two arms of the C are apart
    fixed = make_contiguous(graph, labels)
    for label in np.unique(fixed):
        assert len(graph.components(np.flatnonzero(fixed == label))) == 1


def test_farthest_point_seeds_spread_out():
    xy = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 0.0], [10.0, 0.0], [5.0, 5.0]])
    assert farthest_point_seeds(xy, 3, 0).tolist() == [0, 3, 4]
    with pytest.raises(InvalidInput):
        farthest_point_seeds(xy, 6, 0)


def test_bad_input_is_refused():
    graph = AtomGraph.from_atoms(np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]))
    with pytest.raises(InvalidInput):
        grow_regions(
            graph, np.array([0, 1]), seeds=np.array([0, 0]), weights=np.ones(2), xy=graph.xy
        )
    with pytest.raises(InvalidInput):
        voronoi_atoms(C_SHAPE, np.zeros((2, 2)), grid_size=1e-6)
