"""Fine tessellations ("atoms") of an outline and contiguous groupings of them.

Every level of the sample city is a union of the same atoms, so neighbouring
units share their edges vertex for vertex at every level and each level is an
exact coverage of its parent. The atoms are the faces of the Voronoi diagram
of a point set, noded together with the outline and snap-rounded to a fixed
grid in one overlay (:func:`voronoi_atoms`); groups of atoms are grown from
seeds over the atoms' edge-adjacency graph (:func:`grow_regions`), which keeps
every group contiguous.

Examples
--------
>>> import numpy as np, shapely
>>> square = shapely.box(0, 0, 1, 1)
>>> points = np.random.default_rng(0).uniform(0, 1, (50, 2))
>>> atoms, generator = voronoi_atoms(square, points, grid_size=1e-6)
>>> bool(shapely.coverage_is_valid(atoms))
True
>>> graph = AtomGraph.from_atoms(atoms)
>>> labels = grow_regions(graph, np.arange(len(atoms)), seeds=np.array([0, 1]),
...                       weights=np.array([1.0, 1.0]), xy=graph.xy)
>>> sorted(set(labels.tolist()))
[0, 1]
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgeo.errors import InvalidInput

Transform = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def voronoi_atoms(
    outline: shapely.Geometry,
    points: NDArray[np.float64],
    *,
    grid_size: float,
    to_outline_crs: Transform | None = None,
    to_points_crs: Transform | None = None,
) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Tessellate ``outline`` into the Voronoi faces of ``points``.

    The Voronoi edges (computed in the points' CRS, typically metres) are
    transformed into the outline's CRS, noded together with the outline's
    boundary and snap-rounded to ``grid_size`` in a single overlay, then
    polygonised. The faces inside the outline form a valid coverage of it
    whose shared edges are identical vertex for vertex.

    Parameters
    ----------
    outline : shapely.Polygon or shapely.MultiPolygon
        Area to tessellate, in the output CRS.
    points : numpy.ndarray, shape (n, 2)
        Generator points in the points' CRS.
    grid_size : float
        Precision grid of the output coordinates (outline CRS units).
    to_outline_crs, to_points_crs : callable, optional
        Vectorised coordinate transforms ``(n, 2) -> (n, 2)`` between the two
        CRSs; identity when omitted.

    Returns
    -------
    atoms : numpy.ndarray of shapely.Polygon
        The faces, in a deterministic order (by representative point).
    generator : numpy.ndarray of int
        Index into ``points`` of the generator of each face.

    Raises
    ------
    InvalidInput
        Fewer than three points, or an empty outline.
    """
    if len(points) < 3:
        raise InvalidInput(f"need at least 3 generator points, got {len(points)}")
    if shapely.is_empty(outline):
        raise InvalidInput("the outline to tessellate is empty")
    forward = to_outline_crs or _identity
    backward = to_points_crs or _identity
    # Envelope of the outline in the points' CRS, generously enlarged.
    hull = shapely.transform(shapely.envelope(outline), backward)
    span = max(np.ptp(points[:, 0]), np.ptp(points[:, 1]), 1e-9)
    extend = shapely.buffer(shapely.envelope(hull), span)
    edges = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extend, only_edges=True)
    edges = shapely.transform(edges, forward)
    lines = shapely.union_all([edges, shapely.boundary(outline)], grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    inside_point = shapely.point_on_surface(faces)
    faces = faces[shapely.contains(outline, inside_point)]
    inside_point = shapely.point_on_surface(faces)
    xy = shapely.get_coordinates(inside_point)
    order = np.lexsort((xy[:, 0], -xy[:, 1]))
    faces, xy = faces[order], xy[order]
    tree = shapely.STRtree(shapely.points(points))
    generator = tree.query_nearest(shapely.points(backward(xy)), all_matches=False)[1]
    return faces, generator.astype(np.int64)


def _identity(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    return xy


@dataclass(frozen=True)
class AtomGraph:
    """Edge adjacency of a coverage of polygons.

    Attributes
    ----------
    neighbours : list of list of int
        Atoms sharing at least one edge segment with each atom (sorted).
    shared : list of list of float
        Length of the shared boundary with each neighbour (coverage CRS units).
    xy : numpy.ndarray, shape (n, 2)
        A representative point of each atom (coverage CRS).
    """

    neighbours: list[list[int]]
    shared: list[list[float]]
    xy: NDArray[np.float64]

    @classmethod
    def from_atoms(cls, atoms: NDArray[np.object_], *, scale: float = 1e7) -> AtomGraph:
        """Build the graph from a valid coverage whose vertices lie on ``1/scale``.

        Parameters
        ----------
        atoms : numpy.ndarray of shapely.Polygon
            A valid coverage (shared edges identical vertex for vertex).
        scale : float
            Inverse of the precision grid used to match vertices exactly.

        Returns
        -------
        AtomGraph
        """
        rings, owner = shapely.get_rings(atoms, return_index=True)
        coords, ring = shapely.get_coordinates(rings, return_index=True)
        same = ring[1:] == ring[:-1]
        start = np.rint(coords[:-1][same] * scale).astype(np.int64)
        end = np.rint(coords[1:][same] * scale).astype(np.int64)
        atom = owner[ring[:-1][same]]
        length = np.hypot(*(coords[1:][same] - coords[:-1][same]).T)
        swap = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
        lo = np.where(swap[:, None], end, start)
        hi = np.where(swap[:, None], start, end)
        keys = np.column_stack([lo, hi])
        _, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        order = np.argsort(inverse, kind="stable")
        inv_sorted = inverse[order]
        pair_start = np.flatnonzero(inv_sorted[1:] == inv_sorted[:-1])
        a = atom[order[pair_start]]
        b = atom[order[pair_start + 1]]
        seg_len = length[order[pair_start]]
        keep = a != b
        a, b, seg_len = a[keep], b[keep], seg_len[keep]
        pairs = np.column_stack([np.minimum(a, b), np.maximum(a, b)])
        uniq, pair_inverse = np.unique(pairs, axis=0, return_inverse=True)
        total = np.bincount(pair_inverse.ravel(), weights=seg_len, minlength=len(uniq))
        n = len(atoms)
        neighbours: list[list[int]] = [[] for _ in range(n)]
        shared: list[list[float]] = [[] for _ in range(n)]
        for (i, j), w in zip(uniq.tolist(), total.tolist(), strict=True):
            neighbours[i].append(j)
            shared[i].append(w)
            neighbours[j].append(i)
            shared[j].append(w)
        for i in range(n):
            if len(neighbours[i]) > 1:
                idx = np.argsort(neighbours[i])
                neighbours[i] = [neighbours[i][k] for k in idx]
                shared[i] = [shared[i][k] for k in idx]
        xy = shapely.get_coordinates(shapely.point_on_surface(atoms))
        return cls(neighbours=neighbours, shared=shared, xy=xy)

    def __len__(self) -> int:
        return len(self.neighbours)

    def components(self, members: NDArray[np.int64]) -> list[list[int]]:
        """Connected components of the subgraph induced by ``members``.

        Returns
        -------
        list of list of int
            Components (atom ids), largest first, ties by smallest atom id.
        """
        inside = set(members.tolist())
        seen: set[int] = set()
        result: list[list[int]] = []
        for start in sorted(inside):
            if start in seen:
                continue
            seen.add(start)
            stack, comp = [start], [start]
            while stack:
                node = stack.pop()
                for nb in self.neighbours[node]:
                    if nb in inside and nb not in seen:
                        seen.add(nb)
                        stack.append(nb)
                        comp.append(nb)
            result.append(sorted(comp))
        result.sort(key=lambda comp: (-len(comp), comp[0]))
        return result


def make_contiguous(graph: AtomGraph, labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Reassign detached pieces of each label to the neighbour they share most edge with.

    Parameters
    ----------
    graph : AtomGraph
    labels : numpy.ndarray of int
        A label per atom (all atoms labelled, labels >= 0).

    Returns
    -------
    numpy.ndarray of int
        New labels in which every label's atoms are connected (the largest
        component of each label keeps it).
    """
    out = labels.copy()
    for _ in range(100):
        changed = False
        for label in np.unique(out).tolist():
            comps = graph.components(np.flatnonzero(out == label))
            for comp in comps[1:]:
                border: dict[int, float] = {}
                comp_set = set(comp)
                for node in comp:
                    for nb, w in zip(graph.neighbours[node], graph.shared[node], strict=True):
                        if nb not in comp_set and out[nb] != label:
                            border[int(out[nb])] = border.get(int(out[nb]), 0.0) + w
                if border:
                    target = max(sorted(border), key=lambda k: border[k])
                    out[comp] = target
                    changed = True
        if not changed:
            return out
    raise InvalidInput("could not make the regions contiguous")


def farthest_point_seeds(xy: NDArray[np.float64], k: int, first: int) -> NDArray[np.int64]:
    """Pick ``k`` well-spread points by farthest-point sampling.

    Parameters
    ----------
    xy : numpy.ndarray, shape (n, 2)
        Candidate positions.
    k : int
        Number of seeds (at most ``n``).
    first : int
        Index of the first seed.

    Returns
    -------
    numpy.ndarray of int
        Indices into ``xy``, in the order picked.

    Examples
    --------
    >>> farthest_point_seeds(np.array([[0.0, 0], [1, 0], [10, 0]]), 2, 0).tolist()
    [0, 2]
    """
    if k > len(xy):
        raise InvalidInput(f"cannot pick {k} seeds among {len(xy)} candidates")
    chosen = [first]
    dist = np.hypot(*(xy - xy[first]).T)
    for _ in range(k - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.hypot(*(xy - xy[nxt]).T))
    return np.asarray(chosen, dtype=np.int64)


def grow_regions(
    graph: AtomGraph,
    members: NDArray[np.int64],
    *,
    seeds: NDArray[np.int64],
    weights: NDArray[np.float64],
    xy: NDArray[np.float64],
    sizes: NDArray[np.float64] | None = None,
) -> NDArray[np.int64]:
    """Partition ``members`` into contiguous regions grown from ``seeds``.

    Growth is balanced: at each step the region with the smallest
    ``size / weight`` takes the free neighbouring atom nearest its seed, until
    no region can grow. Regions are contiguous by construction; every atom
    reachable from a seed is assigned.

    Parameters
    ----------
    graph : AtomGraph
    members : numpy.ndarray of int
        Atom ids to partition (a connected set for a complete partition).
    seeds : numpy.ndarray of int
        One atom id (a member) per region.
    weights : numpy.ndarray of float
        Relative target size of each region (> 0).
    xy : numpy.ndarray, shape (n_atoms, 2)
        Positions used for the distance to the seed (metres).
    sizes : numpy.ndarray of float, optional
        Size of each atom (default 1: regions balance atom counts).

    Returns
    -------
    numpy.ndarray of int
        Region index (position in ``seeds``) of each member, aligned with
        ``members``; -1 for members no seed can reach.
    """
    if len(seeds) != len(weights):
        raise InvalidInput("seeds and weights differ in length")
    if len(set(seeds.tolist())) != len(seeds):
        raise InvalidInput("seeds must be distinct")
    position = {atom: i for i, atom in enumerate(members.tolist())}
    if any(s not in position for s in seeds.tolist()):
        raise InvalidInput("every seed must be one of the members")
    label = np.full(len(members), -1, dtype=np.int64)
    atom_size = np.ones(len(graph)) if sizes is None else sizes
    grown = np.zeros(len(seeds))
    frontier: list[list[tuple[float, int]]] = [[] for _ in seeds]
    queue: list[tuple[float, int]] = []
    for r, seed in enumerate(seeds.tolist()):
        label[position[seed]] = r
        grown[r] = atom_size[seed]
        _push_neighbours(graph, seed, r, position, label, frontier, xy, xy[seed])
        queue.append((grown[r] / weights[r], r))
    heapq.heapify(queue)
    while queue:
        _, r = heapq.heappop(queue)
        heap = frontier[r]
        while heap:
            _, atom = heapq.heappop(heap)
            if label[position[atom]] < 0:
                break
        else:
            continue
        label[position[atom]] = r
        grown[r] += atom_size[atom]
        _push_neighbours(graph, atom, r, position, label, frontier, xy, xy[seeds[r]])
        heapq.heappush(queue, (grown[r] / weights[r], r))
    return label


def _push_neighbours(
    graph: AtomGraph,
    atom: int,
    region: int,
    position: dict[int, int],
    label: NDArray[np.int64],
    frontier: list[list[tuple[float, int]]],
    xy: NDArray[np.float64],
    origin: NDArray[np.float64],
) -> None:
    for nb in graph.neighbours[atom]:
        pos = position.get(nb)
        if pos is not None and label[pos] < 0:
            d = float(np.hypot(xy[nb, 0] - origin[0], xy[nb, 1] - origin[1]))
            heapq.heappush(frontier[region], (d, nb))
