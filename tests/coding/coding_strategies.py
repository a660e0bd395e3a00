"""Hypothesis strategies and helpers: random grid coverages of a community-sized area.

Coverages are built in integer lattice units and mapped to lon/lat near
Xiaoshan (lon 120.26, lat 30.18): one unit is ``UNIT`` degrees (about 1 m),
so vertices lie on a 1e-5 degree lattice, the data the reading-order rule
guarantees to be jitter-proof for (see gridgeo.coding.order).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPoint, Polygon, box
from shapely.ops import split

ORIGIN = np.array([120.255, 30.175])
UNIT = 1e-5
COMMUNITY = "330109001001"
OTHER_COMMUNITY = "330109001014"


def to_lonlat(geoms: list[Polygon] | np.ndarray) -> np.ndarray:
    """Lattice-unit geometries to lon/lat degrees."""
    return np.asarray(
        shapely.transform(np.asarray(geoms, dtype=object), lambda c: ORIGIN + c * UNIT)
    )


def frame(geoms: np.ndarray, parents: list[str] | None = None, kinds: list[str] | None = None):
    """A GeoDataFrame of grids with an index that is not positional (to catch misalignment)."""
    n = len(geoms)
    return gpd.GeoDataFrame(
        {
            "parent_code": parents if parents is not None else [COMMUNITY] * n,
            "kind": kinds if kinds is not None else ["base"] * n,
            "level": ["grid"] * n,
        },
        geometry=list(geoms),
        index=[f"row{i}" for i in range(n)],
        crs=4490,
    )


def _noise(c: np.ndarray, salt: float, a: float, b: float) -> np.ndarray:
    """Pseudo-random numbers in [-1, 1) that depend only on the coordinates and the salt."""
    u = np.sin(c[:, 0] * a + c[:, 1] * b + salt) * 43758.5453
    return 2 * (u - np.floor(u)) - 1


def jitter(geoms: np.ndarray, amplitude: float, seed: int, independent: bool = False) -> np.ndarray:
    """Move every vertex by up to ``amplitude`` degrees in x and y.

    The displacement is a pseudo-random function of the vertex (so rings
    stay closed and, unless ``independent``, neighbours sharing a vertex
    move it alike); with ``independent`` each polygon gets its own noise.
    """
    geoms = np.asarray(geoms, dtype=object)

    def move(salt: float):
        def fn(c: np.ndarray) -> np.ndarray:
            d = np.column_stack(
                [_noise(c, salt, 12.9898e3, 78.233e3), _noise(c, salt + 0.5, 39.3468e3, 11.135e3)]
            )
            return c + amplitude * d

        return fn

    if not independent:
        return np.asarray(shapely.transform(geoms, move(seed % 9973)))
    return np.array(
        [shapely.transform(g, move((seed + i) % 9973)) for i, g in enumerate(geoms)], dtype=object
    )


def _pieces(geom) -> list[Polygon]:
    return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 0]


@st.composite
def rect_coverages(draw, max_rows: int = 5, max_cols: int = 5) -> list[Polygon]:
    """A rows x columns lattice of rectangles of random sizes, then random merges and splits.

    Returned in lattice units. Merges join two polygons that share an edge;
    splits cut a polygon along a lattice line or a rectangle along its
    diagonal, so every vertex stays on the lattice.
    """
    heights = draw(st.lists(st.integers(20, 200), min_size=1, max_size=max_rows))
    widths = draw(st.lists(st.integers(20, 200), min_size=1, max_size=max_cols))
    ys = np.concatenate([[0], np.cumsum(heights)])
    xs = np.concatenate([[0], np.cumsum(widths)])
    cells = [
        box(xs[i], ys[j], xs[i + 1], ys[j + 1])
        for j in range(len(heights))
        for i in range(len(widths))
    ]
    for _ in range(draw(st.integers(0, 4))):
        if len(cells) < 2:
            break
        i = draw(st.integers(0, len(cells) - 1))
        neighbours = [
            k for k, c in enumerate(cells) if k != i and cells[i].intersection(c).length > 0
        ]
        if not neighbours:
            continue
        k = neighbours[draw(st.integers(0, len(neighbours) - 1))]
        merged = shapely.union(cells[i], cells[k])
        if merged.geom_type != "Polygon":
            continue
        cells = [c for m, c in enumerate(cells) if m not in (i, k)] + [merged]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(cells) - 1))
        cell = cells[i]
        minx, miny, maxx, maxy = (int(round(v)) for v in cell.bounds)
        how = draw(st.sampled_from(["vertical", "horizontal", "diagonal"]))
        if how == "diagonal":
            if not cell.equals(box(minx, miny, maxx, maxy)):
                continue
            line = LineString([(minx, miny), (maxx, maxy)])
        elif how == "vertical":
            if maxx - minx < 2:
                continue
            x = draw(st.integers(minx + 1, maxx - 1))
            line = LineString([(x, miny - 1), (x, maxy + 1)])
        else:
            if maxy - miny < 2:
                continue
            y = draw(st.integers(miny + 1, maxy - 1))
            line = LineString([(minx - 1, y), (maxx + 1, y)])
        parts = _pieces(split(cell, line))
        if len(parts) < 2:
            continue
        cells = cells[:i] + cells[i + 1 :] + parts
    return cells


@st.composite
def voronoi_coverages(draw, lattice: bool = True) -> list[Polygon]:
    """Voronoi cells of 3-25 random seeds clipped to a community-sized box.

    With ``lattice`` the seeds are integers and every vertex is snapped to
    the integer lattice; without, seeds and vertices are arbitrary floats.
    """
    width = draw(st.integers(300, 1500))
    height = draw(st.integers(300, 1500))
    if lattice:
        coord = st.tuples(st.integers(0, width), st.integers(0, height))
    else:
        # Arbitrary (non-lattice) coordinates, avoiding subnormals that GEOS chokes on.
        coord = st.tuples(
            st.integers(0, 10**9).map(lambda k: k * width / 1e9),
            st.integers(0, 10**9).map(lambda k: k * height / 1e9),
        )
    seeds = draw(st.lists(coord, min_size=3, max_size=25, unique=True))
    frame_box = box(0, 0, width, height)
    cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame_box))
    cells = shapely.intersection(cells, frame_box)
    if lattice:
        cells = shapely.set_precision(cells, 1.0)
    out: list[Polygon] = []
    for cell in cells:
        out.extend(p for p in _pieces(cell) if p.area >= 1.0)
    # Distinct geometries only (snapping could in principle make two alike).
    keys = {shapely.normalize(p).wkb for p in out}
    if len(keys) != len(out):
        return [box(0, 0, width, height)]
    return out
