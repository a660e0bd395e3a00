"""Synthetic grid hierarchies for the locate tests, and an independent oracle.

The hierarchy is drawn on a 12 x 8 lattice of points (``STEP`` degrees apart,
optionally jittered). Every polygon is a lattice rectangle whose ring runs
through all lattice points on its edges, so neighbours (and parents and
children) share edges vertex for vertex. Lattice coordinates (i, j) below:

district 330109            [0,12] x [0,8]
  street 330109001         [0,6] x [0,8]
    community ...001001    [0,6] x [0,4]; grids (codes deliberately east to west):
      grid ...001001001    [4,6] x [0,4]; micro-grids 002 [4,5]x[0,2], 001 [5,6]x[0,2],
                                          004 [4,5]x[2,4], 003 [5,6]x[2,4]
      grid ...001001002    [2,4] x [0,4]
      grid ...001001003    [0,2] x [0,4]
    community ...001002    [0,6] x [4,8]
      grid ...001002001    [0,6] x [6,8]
      grid ...001002002    [0,6] x [4,6]; micro-grids 001..003 west to east, 2 wide
  street 330109002         [6,12] x [0,8]
    community ...002001    [6,9] x [0,8]; one grid ...002001001 (the whole community)
    community ...002002    [9,12] x [0,8]
      grid ...002002001    [9,12] x [0,3] + [9,12] x [5,8] (a MultiPolygon)
      grid ...002002002    [9,12] x [3,5]
special grids
  330109001001801          [2,5] x [1,3], with special micro-grid ...801001 [2,3] x [1,3]
  330109002001801          [5,8] x [1,3] (shares the edge i = 5 with the one above)
  330109002002801          a rotated square around (10.5, 5.2), not on the lattice
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity

LON0, LAT0, STEP = 120.25, 30.15, 0.001
NX, NY = 12, 8
DEPTH = {"district": 0, "street": 1, "community": 2, "grid": 3, "microgrid": 4}

D = "330109"
S1, S2 = D + "001", D + "002"
C11, C12, C21, C22 = S1 + "001", S1 + "002", S2 + "001", S2 + "002"
SP1, SP2, SP3 = C11 + "801", C21 + "801", C22 + "801"
SP1_MICRO = SP1 + "001"


def lattice(jitter: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lattice point coordinates ``px[i, j], py[i, j]``, interior points jittered."""
    i, j = np.meshgrid(np.arange(NX + 1), np.arange(NY + 1), indexing="ij")
    px = LON0 + i * STEP
    py = LAT0 + j * STEP
    if jitter:
        rng = np.random.default_rng(seed)
        inner = (i > 0) & (i < NX) & (j > 0) & (j < NY)
        px = px + inner * rng.uniform(-jitter, jitter, px.shape) * STEP
        py = py + inner * rng.uniform(-jitter, jitter, py.shape) * STEP
    return px, py


def lattice_point(i: float, j: float) -> tuple[float, float]:
    """Coordinates of lattice position (i, j) of the un-jittered lattice."""
    return LON0 + i * STEP, LAT0 + j * STEP


def make_units(jitter: float = 0.0, seed: int = 0) -> gpd.GeoDataFrame:
    """The hierarchy described in the module docstring."""
    px, py = lattice(jitter, seed)

    def rect(i0: int, j0: int, i1: int, j1: int) -> shapely.Polygon:
        ring = (
            [(i, j0) for i in range(i0, i1)]
            + [(i1, j) for j in range(j0, j1)]
            + [(i, j1) for i in range(i1, i0, -1)]
            + [(i0, j) for j in range(j1, j0, -1)]
        )
        return shapely.Polygon([(px[i, j], py[i, j]) for i, j in ring])

    rows: list[tuple[str, str | None, str, str, Any]] = [
        (D, None, "district", "base", rect(0, 0, 12, 8)),
        (S1, D, "street", "base", rect(0, 0, 6, 8)),
        (S2, D, "street", "base", rect(6, 0, 12, 8)),
        (C11, S1, "community", "base", rect(0, 0, 6, 4)),
        (C12, S1, "community", "base", rect(0, 4, 6, 8)),
        (C21, S2, "community", "base", rect(6, 0, 9, 8)),
        (C22, S2, "community", "base", rect(9, 0, 12, 8)),
        (C11 + "001", C11, "grid", "base", rect(4, 0, 6, 4)),
        (C11 + "002", C11, "grid", "base", rect(2, 0, 4, 4)),
        (C11 + "003", C11, "grid", "base", rect(0, 0, 2, 4)),
        (C11 + "001002", C11 + "001", "microgrid", "base", rect(4, 0, 5, 2)),
        (C11 + "001001", C11 + "001", "microgrid", "base", rect(5, 0, 6, 2)),
        (C11 + "001004", C11 + "001", "microgrid", "base", rect(4, 2, 5, 4)),
        (C11 + "001003", C11 + "001", "microgrid", "base", rect(5, 2, 6, 4)),
        (C12 + "001", C12, "grid", "base", rect(0, 6, 6, 8)),
        (C12 + "002", C12, "grid", "base", rect(0, 4, 6, 6)),
        (C12 + "002001", C12 + "002", "microgrid", "base", rect(0, 4, 2, 6)),
        (C12 + "002002", C12 + "002", "microgrid", "base", rect(2, 4, 4, 6)),
        (C12 + "002003", C12 + "002", "microgrid", "base", rect(4, 4, 6, 6)),
        (C21 + "001", C21, "grid", "base", rect(6, 0, 9, 8)),
        (
            C22 + "001",
            C22,
            "grid",
            "base",
            shapely.MultiPolygon([rect(9, 0, 12, 3), rect(9, 5, 12, 8)]),
        ),
        (C22 + "002", C22, "grid", "base", rect(9, 3, 12, 5)),
        (SP1, C11, "grid", "special", rect(2, 1, 5, 3)),
        (SP1_MICRO, SP1, "microgrid", "special", rect(2, 1, 3, 3)),
        (SP2, C21, "grid", "special", rect(5, 1, 8, 3)),
    ]
    cx, cy = lattice_point(10.5, 5.2)
    square = shapely.box(-0.6, -0.6, 0.6, 0.6)
    square = shapely.affinity.rotate(square, 30, origin=(0, 0))
    square = shapely.affinity.scale(square, STEP, STEP, origin=(0, 0))
    rows.append((SP3, C22, "grid", "special", shapely.affinity.translate(square, cx, cy)))
    return gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "parent_code": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "kind": [r[3] for r in rows],
            "name": [f"{r[2]} {r[0]}" for r in rows],
        },
        geometry=[r[4] for r in rows],
        crs="EPSG:4490",
    )


# --------------------------------------------------------------------------- test points


def oracle_points(
    units: gpd.GeoDataFrame, n: int, seed: int, bbox: tuple[float, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points: 40 % uniform, 20 % exactly on vertices, 30 % on edges, 10 % near vertices.

    Uniform points fill ``bbox`` (default: the units' bounds grown by 10 %).
    """
    rng = np.random.default_rng(seed)
    geoms = np.asarray(units.geometry.array, dtype=object)
    rings = shapely.get_rings(shapely.get_parts(geoms))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = np.flatnonzero(ring[1:] == ring[:-1])
    if bbox is None:
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        pad_x, pad_y = 0.1 * (maxx - minx), 0.1 * (maxy - miny)
        bbox = (minx - pad_x, miny - pad_y, maxx + pad_x, maxy + pad_y)
    n_uniform, n_vertex, n_edge = int(0.4 * n), int(0.2 * n), int(0.3 * n)
    n_near = n - n_uniform - n_vertex - n_edge
    parts_x: list[np.ndarray] = []
    parts_y: list[np.ndarray] = []
    parts_x.append(rng.uniform(bbox[0], bbox[2], n_uniform))
    parts_y.append(rng.uniform(bbox[1], bbox[3], n_uniform))
    v = coords[rng.integers(0, len(coords), n_vertex)]
    parts_x.append(v[:, 0])
    parts_y.append(v[:, 1])
    s = same[rng.integers(0, len(same), n_edge)]
    t = rng.uniform(0, 1, n_edge)
    # A third of the edge points at simple fractions, which are exact on
    # axis-parallel edges.
    t[: n_edge // 3] = rng.choice([0.25, 0.5, 0.75], n_edge // 3)
    a, b = coords[s], coords[s + 1]
    parts_x.append(a[:, 0] + t * (b[:, 0] - a[:, 0]))
    parts_y.append(a[:, 1] + t * (b[:, 1] - a[:, 1]))
    v = coords[rng.integers(0, len(coords), n_near)]
    offset = 10.0 ** rng.uniform(-12, -5, (n_near, 2)) * rng.choice([-1, 1], (n_near, 2))
    parts_x.append(v[:, 0] + offset[:, 0])
    parts_y.append(v[:, 1] + offset[:, 1])
    lon, lat = np.concatenate(parts_x), np.concatenate(parts_y)
    order = rng.permutation(n)
    return lon[order], lat[order]


# --------------------------------------------------------------------------- oracle


def brute_force(
    units: gpd.GeoDataFrame,
    lon: np.ndarray,
    lat: np.ndarray,
    candidates: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    tolerance_m: float = 0.001,
) -> dict[str, list[Any]]:
    """Ownership by plain ``shapely.covers`` on every candidate and the rules spelled out.

    ``candidates(geoms, points)`` may return (point, unit) pairs whose
    bounding boxes overlap; by default every (point, unit) pair whose
    bounding box contains the point is tested. With a tolerance, the
    "points" given to ``candidates`` are boxes of the tolerance around them.

    ``tolerance_m`` (the locate contract, default 1 mm): a unit within this
    distance of a point covers it, and the point is on the boundary of an
    owner whose boundary is within it. Distance: Euclidean after scaling
    longitudes by the cosine of the units' mid-latitude, 111,320 m a degree.
    """
    geoms = np.asarray(units.geometry.array, dtype=object)
    codes = units["code"].tolist()
    levels = units["level"].tolist()
    kinds = units["kind"].tolist()
    parent = {
        code: p if isinstance(p, str) else None
        for code, p in zip(codes, units["parent_code"].tolist(), strict=True)
    }
    points = shapely.points(lon, lat)
    _, miny, _, maxy = shapely.total_bounds(geoms)
    cos = max(math.cos(math.radians(0.5 * (miny + maxy))), 0.01)
    tol = tolerance_m / 111_320.0  # in scaled degrees
    pad = 2 * tol / cos  # generous, in plain degrees
    if candidates is None:
        b = shapely.bounds(geoms)
        pi_list, ui_list = [], []
        for u in range(len(geoms)):
            inside = np.flatnonzero(
                (lon >= b[u, 0] - pad)
                & (lon <= b[u, 2] + pad)
                & (lat >= b[u, 1] - pad)
                & (lat <= b[u, 3] + pad)
            )
            pi_list.append(inside)
            ui_list.append(np.full(len(inside), u))
        pi, ui = np.concatenate(pi_list), np.concatenate(ui_list)
    elif tolerance_m > 0:
        pi, ui = candidates(geoms, shapely.box(lon - pad, lat - pad, lon + pad, lat + pad))
    else:
        pi, ui = candidates(geoms, points)
    covered = shapely.covers(geoms[ui], points[pi])
    if tolerance_m > 0:
        scaled_geoms = np.array(
            [shapely.affinity.scale(g.boundary, cos, 1.0, origin=(0, 0)) for g in geoms],
            dtype=object,
        )
        scaled_points = shapely.points(lon * cos, lat)
        near = shapely.distance(scaled_geoms[ui], scaled_points[pi]) <= tol
        covered = covered | near
    cands: list[list[int]] = [[] for _ in range(len(lon))]
    for p, u in zip(pi[covered].tolist(), ui[covered].tolist(), strict=True):
        cands[p].append(u)

    def chain_of(code: str) -> list[str]:
        out = [code]
        up = parent[code]
        while up is not None:
            out.insert(0, up)
            up = parent[up]
        return out

    owners: list[str | None] = []
    owner_idx: list[int] = []
    chains: list[list[str]] = []
    specials: list[tuple[str, ...]] = []
    for found in cands:
        special = [u for u in found if kinds[u] == "special"]
        specials.append(tuple(sorted(codes[u] for u in special)))
        pool = special if special else found
        if not pool:
            owners.append(None)
            owner_idx.append(-1)
            chains.append([])
            continue
        deepest = max(DEPTH[levels[u]] for u in pool)
        best = min((u for u in pool if DEPTH[levels[u]] == deepest), key=lambda u: codes[u])
        owners.append(codes[best])
        owner_idx.append(best)
        chains.append(chain_of(codes[best]))
    owner_arr = np.array(owner_idx)
    on_boundary = np.zeros(len(lon), dtype=bool)
    has = owner_arr >= 0
    if tolerance_m > 0:
        on_boundary[has] = shapely.distance(scaled_geoms[owner_arr[has]], scaled_points[has]) <= tol
    else:
        on_boundary[has] = shapely.touches(geoms[owner_arr[has]], points[has])
    return {
        "owner": owners,
        "chain": chains,
        "on_boundary": on_boundary.tolist(),
        "special_grids": specials,
    }
