"""Boundaries, population and special grids of the sample city (Xiaoshan, 330109).

:func:`generate_units` draws the whole hierarchy — district, its 27 official
streets, 585 official communities, about 1,500 grids, their micro-grids and
about 100 special grids — as one GeoDataFrame (EPSG:4490, MultiPolygon, see
:data:`UNIT_COLUMNS`).

How the polygons are made
-------------------------
1. *Street territories.* A coarse tessellation of the district outline is
   grouped into 27 contiguous territories grown from hand-placed anchors
   (:mod:`gridgeo.samples.layout`) with target areas.
2. *Atoms.* Each territory receives as many generator points as its
   communities need (urban units need many, villages few), denser near the
   street's anchor (the town centre). The Voronoi faces of all points, noded
   with the outline and snap-rounded to 1e-7° in one overlay, are the atoms:
   a valid coverage whose shared edges are identical vertex for vertex
   (:mod:`gridgeo.samples.tessellation`).
3. *Hierarchy.* Atoms are labelled with the territory of their generator
   point (detached pieces reassigned), then grouped into communities, grids
   and micro-grids by balanced region growing from spread seeds — urban
   communities take the seeds nearest the town centre. Every unit is the
   coverage union of its atoms, so every level is an exact, vertex-sharing
   coverage of its parent.

Because the core streets are small but have many units, urban units are small
and dense near the district centre; rural villages are larger.

Distances and the Voronoi diagram are computed in a local metric frame
(:class:`_LocalFrame`: plain arithmetic, no PROJ), and every output
coordinate is snapped to the 1e-7° grid, so the same seed gives bit-identical
boundaries on every machine (with the same GEOS and numpy).

Numbers
-------
- Grids: 1,506 in total (the district's published figure) unless a
  community is too small for its planned grids: each village committee
  (village digits 200–399) is exactly one grid; the other communities share
  the rest, one or more grids each, 300–500 households per grid.
- Micro-grids: 3–8 per urban grid (resident groups); villages have none.
- Population about 2 million: 2.3–2.9 residents per urban household,
  2.7–3.3 per rural one; a village has 250–2,500 households.
- Special grids: :data:`SPECIAL_COUNTS` (about 100) schools, campuses,
  hospitals, industrial parks and commercial buildings, each inside one
  community (each in a different one), laid over the base grids. Their
  ``population`` is the number of people regularly present (students, staff,
  workers) and overlaps the base grids' residents; ``households`` is 0. Sum
  base units only to get residents.

Worker counts are filled in by :func:`gridgeo.samples.roster.with_worker_counts`
from the roster.

Examples
--------
>>> import numpy as np
>>> from gridgeo.samples.reference import load_reference
>>> units = generate_units(load_reference(), np.random.default_rng(1))  # doctest: +SKIP
>>> units.level.value_counts()["street"]  # doctest: +SKIP
27
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgeo import STORAGE_EPSG
from gridgeo.boundaries.mapping import UNIT_COLUMNS as ATTRIBUTE_COLUMNS
from gridgeo.errors import InvalidInput
from gridgeo.samples.layout import (
    CORE_STREETS,
    STREET_LAYOUT,
    is_town,
    is_village,
)
from gridgeo.samples.names import (
    grid_name,
    microgrid_name,
    place_name,
    special_names,
)
from gridgeo.samples.reference import Reference
from gridgeo.samples.tessellation import (
    AtomGraph,
    farthest_point_seeds,
    grow_regions,
    make_contiguous,
    voronoi_atoms,
)
from gridgeo.samples.unit_codes import assign_unit_codes

UNIT_COLUMNS = (*ATTRIBUTE_COLUMNS, "geometry")
"""Columns of the units table, in order (the attributes of :mod:`gridgeo.boundaries`)."""

LEVEL_ORDER = ("district", "street", "community", "grid", "microgrid")

GRID_SIZE = 1e-7
"""Precision grid of all boundary coordinates (degrees, about 1 cm)."""

TOTAL_GRIDS = 1506
"""Base grids aimed at (Xiaoshan's published figure)."""

HOUSEHOLDS_PER_GRID = (300, 500)
"""Households of an urban grid (inclusive)."""

MICROGRIDS_PER_GRID = (3, 8)
"""Micro-grids of an urban grid (inclusive)."""

SPECIAL_COUNTS = {
    "commercial": 20,
    "campus": 10,
    "hospital": 20,
    "industrial_park": 20,
    "school": 30,
}
"""Special grids per type (100 in total)."""

LOCAL_ORIGIN = (120.38, 30.07)
"""Origin (lon, lat) of the generator's local metric frame (middle of the district)."""

METRES_PER_DEGREE = (96_418.46, 110_853.61)
"""Metres per degree of longitude and latitude at 30.07°N (GRS80), as literals."""

_COARSE_POINTS = 3000
_ATOM_MARGIN = 1.15
_RETRIES = 12
# Special-grid rectangle sides (metres) and people regularly present.
_SPECIAL_SIZE = {
    "school": ((180, 320), (120, 220), (800, 3000)),
    "campus": ((400, 900), (300, 600), (5000, 20000)),
    "hospital": ((120, 260), (100, 200), (800, 3000)),
    "industrial_park": ((500, 1400), (400, 900), (2000, 15000)),
    "commercial": ((80, 220), (60, 160), (300, 2500)),
}


class _LocalFrame:
    """Local metres ↔ EPSG:4490 degrees, by plain arithmetic.

    An equirectangular frame centred on :data:`LOCAL_ORIGIN` with the
    constant scales :data:`METRES_PER_DEGREE` (exact at the origin's latitude,
    within 0.5 % over the district). Only multiplications and additions, which
    IEEE 754 rounds the same way on every platform, so the coordinates of the
    generated boundaries do not depend on PROJ or the C maths library.
    """

    @staticmethod
    def to_metres(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        origin = np.asarray(LOCAL_ORIGIN)
        return (np.asarray(xy, dtype=np.float64) - origin) * np.asarray(METRES_PER_DEGREE)

    @staticmethod
    def to_degrees(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        origin = np.asarray(LOCAL_ORIGIN)
        return np.asarray(xy, dtype=np.float64) / np.asarray(METRES_PER_DEGREE) + origin


def generate_units(reference: Reference, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Generate the boundary hierarchy, population and special grids.

    Parameters
    ----------
    reference : Reference
        Official outline, streets and communities (:func:`load_reference`).
    rng : numpy.random.Generator
        Source of all randomness; the same state gives the same units.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`UNIT_COLUMNS` (worker counts 0), EPSG:4490,
        MultiPolygon geometries, rows ordered by level then code.

    Raises
    ------
    InvalidInput
        A street of the reference has no layout anchor.
    """
    missing = sorted(set(reference.streets["code"]) - set(STREET_LAYOUT))
    if missing:
        raise InvalidInput(f"no layout anchor for streets {missing}")
    proj = _LocalFrame()
    plan = _plan_communities(reference, rng)
    outline_m = shapely.transform(reference.outline, proj.to_metres)
    streets = reference.streets["code"].tolist()
    territories = _street_territories(outline_m, streets, rng)
    need = plan.groupby("parent")["need"].sum().reindex(streets).to_numpy()
    points, point_street = _sample_points(territories, streets, need, rng)
    atoms, generator = voronoi_atoms(
        reference.outline,
        points,
        grid_size=GRID_SIZE,
        to_outline_crs=proj.to_degrees,
        to_points_crs=proj.to_metres,
    )
    graph = AtomGraph.from_atoms(atoms, scale=1.0 / GRID_SIZE)
    xy = proj.to_metres(graph.xy)
    street_of = make_contiguous(graph, point_street[generator])
    community_of = _assign_communities(graph, xy, street_of, streets, plan, rng)
    grid_of, micro_of, grid_table, micro_table = _assign_grids(graph, xy, community_of, plan, rng)
    base = _assemble(reference, plan, atoms, grid_of, micro_of, grid_table, micro_table, rng)
    special = _special_grids(base, plan, proj, rng)
    units = pd.concat([base, special], ignore_index=True)
    units = assign_unit_codes(units)
    units = _name_units(units)
    units = _aggregate(units)
    return _finish(units)


# --------------------------------------------------------------------------- plan


def _plan_communities(reference: Reference, rng: np.random.Generator) -> pd.DataFrame:
    """Grids per community, micro-grids per grid and atoms needed."""
    comm = reference.communities[["code", "name", "parent"]].copy()
    comm["village"] = comm["code"].map(is_village)
    comm["other"] = comm["code"].str[9:].astype(int) >= 400
    urban = ~comm["village"] & ~comm["other"]
    grids = np.ones(len(comm), dtype=np.int64)
    other_idx = np.flatnonzero(comm["other"].to_numpy())
    grids[other_idx] += rng.binomial(3, 0.5, len(other_idx))
    urban_idx = np.flatnonzero(urban.to_numpy())
    spare = TOTAL_GRIDS - int(comm["village"].sum()) - int(grids[other_idx].sum()) - len(urban_idx)
    if spare < 0:
        raise InvalidInput(f"{len(comm)} communities cannot share {TOTAL_GRIDS} grids")
    core = comm["parent"].iloc[urban_idx].isin(CORE_STREETS).to_numpy()
    weight = rng.gamma(2.5, 1.0, len(urban_idx)) * np.where(core, 1.4, 1.0)
    grids[urban_idx] += rng.multinomial(spare, weight / weight.sum())
    comm["grids"] = grids
    lo, hi = MICROGRIDS_PER_GRID
    micro: list[list[int]] = []
    need: list[int] = []
    for is_village_row, g in zip(comm["village"].tolist(), grids.tolist(), strict=True):
        if is_village_row:
            micro.append([0])
            need.append(int(rng.integers(3, 7)))
        else:
            m = rng.integers(lo, hi + 1, g).tolist()
            micro.append(m)
            need.append(int(sum(m) + rng.binomial(np.asarray(m), 0.6).sum()))
    comm["micro"] = micro
    comm["need"] = need
    return comm.reset_index(drop=True)


# ---------------------------------------------------------------------- territories


def _street_territories(
    outline_m: shapely.Geometry, streets: list[str], rng: np.random.Generator
) -> list[shapely.Geometry]:
    """Contiguous street territories (metres) with areas proportional to the layout."""
    pts = _uniform_points(outline_m, _COARSE_POINTS, rng)
    atoms, _ = voronoi_atoms(outline_m, pts, grid_size=0.01)
    graph = AtomGraph.from_atoms(atoms, scale=100.0)
    area = shapely.area(atoms)
    anchors = np.array([[STREET_LAYOUT[s].lon, STREET_LAYOUT[s].lat] for s in streets])
    anchors_m = _LocalFrame.to_metres(anchors)
    seeds = _nearest_distinct(graph.xy, anchors_m)
    weights = np.array([STREET_LAYOUT[s].area_km2 for s in streets])
    labels = grow_regions(
        graph, np.arange(len(atoms)), seeds=seeds, weights=weights, xy=graph.xy, sizes=area
    )
    labels = make_contiguous(graph, _fill_unreached(graph, labels))
    return [shapely.coverage_union_all(atoms[labels == i]) for i in range(len(streets))]


def _uniform_points(
    polygon: shapely.Geometry, n: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    out: list[NDArray[np.float64]] = []
    total = 0
    while total < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 2 * n), rng.uniform(miny, maxy, 2 * n)])
        cand = cand[shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])]
        out.append(cand)
        total += len(cand)
    return np.concatenate(out)[:n]


def _nearest_distinct(xy: NDArray[np.float64], targets: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of the nearest row of ``xy`` to each target, all distinct."""
    taken: set[int] = set()
    out = []
    for tx, ty in targets:
        order = np.argsort(np.hypot(xy[:, 0] - tx, xy[:, 1] - ty), kind="stable")
        pick = next(int(i) for i in order if int(i) not in taken)
        taken.add(pick)
        out.append(pick)
    return np.asarray(out, dtype=np.int64)


def _fill_unreached(graph: AtomGraph, labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Give atoms no seed reached (islands) the label of the nearest labelled atom."""
    out = labels.copy()
    missing = np.flatnonzero(out < 0)
    if len(missing):
        done = np.flatnonzero(out >= 0)
        tree = shapely.STRtree(shapely.points(graph.xy[done]))
        nearest = tree.query_nearest(shapely.points(graph.xy[missing]), all_matches=False)[1]
        out[missing] = out[done[nearest]]
    return out


def _sample_points(
    territories: list[shapely.Geometry],
    streets: list[str],
    need: NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Generator points per territory, denser near the street's anchor."""
    proj = _LocalFrame()
    chunks: list[NDArray[np.float64]] = []
    labels: list[NDArray[np.int64]] = []
    for i, (street, territory) in enumerate(zip(streets, territories, strict=True)):
        n = int(np.ceil(need[i] * _ATOM_MARGIN))
        anchor = proj.to_metres(np.array([[STREET_LAYOUT[street].lon, STREET_LAYOUT[street].lat]]))
        sigma = 0.35 * np.sqrt(territory.area)
        peak = 5.0 if is_town(street) else 2.0
        minx, miny, maxx, maxy = territory.bounds
        shapely.prepare(territory)
        got: list[NDArray[np.float64]] = []
        total = 0
        while total < n:
            cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
            d = np.hypot(cand[:, 0] - anchor[0, 0], cand[:, 1] - anchor[0, 1])
            accept = rng.random(len(cand)) * (1.0 + peak) < 1.0 + peak * np.exp(-((d / sigma) ** 2))
            cand = cand[accept & shapely.contains_xy(territory, cand[:, 0], cand[:, 1])]
            got.append(cand)
            total += len(cand)
        pts = np.concatenate(got)[:n]
        chunks.append(pts)
        labels.append(np.full(n, i, dtype=np.int64))
    return np.concatenate(chunks), np.concatenate(labels)


# ------------------------------------------------------------------------ grouping


def _assign_communities(
    graph: AtomGraph,
    xy: NDArray[np.float64],
    street_of: NDArray[np.int64],
    streets: list[str],
    plan: pd.DataFrame,
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Community index (row of ``plan``) of every atom."""
    proj = _LocalFrame()
    community_of = np.full(len(graph), -1, dtype=np.int64)
    for s, street in enumerate(streets):
        members = np.flatnonzero(street_of == s)
        rows = plan.index[plan["parent"] == street].to_numpy()
        village = plan.loc[rows, "village"].to_numpy()
        weights = plan.loc[rows, "need"].to_numpy(dtype=float)
        minimum = np.where(village, 1, MICROGRIDS_PER_GRID[0])
        if len(rows) > len(members):
            raise InvalidInput(f"street {street} has fewer atoms than communities")
        anchor = proj.to_metres(np.array([[STREET_LAYOUT[street].lon, STREET_LAYOUT[street].lat]]))
        # Urban communities first (nearest the centre), in a random order within each class.
        order = np.lexsort((rng.permutation(len(rows)), village))
        best: NDArray[np.int64] | None = None
        best_short = np.inf
        for attempt in range(_RETRIES):
            local = xy[members]
            if attempt == 0:
                first = int(np.argmin(np.hypot(*(local - anchor[0]).T)))
            else:
                first = int(rng.integers(len(members)))
            picked = farthest_point_seeds(local, len(rows), first)
            picked = picked[np.argsort(np.hypot(*(local[picked] - anchor[0]).T), kind="stable")]
            seeds = np.empty(len(rows), dtype=np.int64)
            seeds[order] = members[picked]
            labels = grow_regions(graph, members, seeds=seeds, weights=weights, xy=xy)
            counts = np.bincount(labels[labels >= 0], minlength=len(rows))
            short = int(np.maximum(minimum - counts, 0).sum()) + int((labels < 0).sum())
            if short < best_short:
                best, best_short = labels, short
            if short == 0:
                break
        assert best is not None
        community_of[members] = rows[best]
    return community_of


def _assign_grids(
    graph: AtomGraph,
    xy: NDArray[np.float64],
    community_of: NDArray[np.int64],
    plan: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.int64], pd.DataFrame, pd.DataFrame]:
    """Grid and micro-grid ids of every atom, with one row per grid and micro-grid."""
    grid_of = np.full(len(graph), -1, dtype=np.int64)
    micro_of = np.full(len(graph), -1, dtype=np.int64)
    grid_rows: list[tuple[int, int]] = []  # (community row, micro-grids)
    micro_rows: list[int] = []  # grid id
    lo = MICROGRIDS_PER_GRID[0]
    for row in plan.itertuples():
        members = np.flatnonzero(community_of == row.Index)
        if row.village:
            grid_of[members] = len(grid_rows)
            grid_rows.append((int(row.Index), 0))
            continue
        planned = list(row.micro)
        labels = _split(graph, xy, members, planned, minimum=lo, rng=rng)
        while labels is None:
            planned = planned[:-1]
            labels = _split(graph, xy, members, planned, minimum=lo, rng=rng)
        for g, m in enumerate(planned):
            gid = len(grid_rows)
            cells = members[labels == g]
            grid_of[cells] = gid
            k = min(m, len(cells))
            grid_rows.append((int(row.Index), k))
            sub = _split(graph, xy, cells, [1] * k, minimum=1, rng=rng)
            assert sub is not None
            for j in range(k):
                micro_of[cells[sub == j]] = len(micro_rows)
                micro_rows.append(gid)
    grids = pd.DataFrame(grid_rows, columns=["community", "microgrids"])
    micro = pd.DataFrame({"grid": np.asarray(micro_rows, dtype=np.int64)})
    return grid_of, micro_of, grids, micro


def _split(
    graph: AtomGraph,
    xy: NDArray[np.float64],
    members: NDArray[np.int64],
    weights: list[int],
    *,
    minimum: int,
    rng: np.random.Generator,
) -> NDArray[np.int64] | None:
    """Split ``members`` into ``len(weights)`` contiguous parts of at least ``minimum`` atoms.

    Returns None if no attempt succeeds (the caller then asks for fewer parts);
    a single part always succeeds.
    """
    k = len(weights)
    if k == 1:  # one part: always possible (it may be below ``minimum``)
        return np.zeros(len(members), dtype=np.int64)
    if len(members) < k * minimum:
        return None
    w = np.asarray(weights, dtype=float)
    for _ in range(_RETRIES):
        first = int(rng.integers(len(members)))
        picked = farthest_point_seeds(xy[members], k, first)
        labels = grow_regions(graph, members, seeds=members[picked], weights=w, xy=xy)
        counts = np.bincount(labels[labels >= 0], minlength=k)
        if (labels >= 0).all() and (counts >= minimum).all():
            return labels
    return None


# ------------------------------------------------------------------------ assembly


def _union_groups(geoms: NDArray[np.object_], groups: NDArray[np.int64], n: int) -> list[object]:
    """Coverage union of ``geoms`` grouped by ``groups`` (0..n-1)."""
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(n + 1))
    return [shapely.coverage_union_all(geoms[order[bounds[i] : bounds[i + 1]]]) for i in range(n)]


def _assemble(
    reference: Reference,
    plan: pd.DataFrame,
    atoms: NDArray[np.object_],
    grid_of: NDArray[np.int64],
    micro_of: NDArray[np.int64],
    grid_table: pd.DataFrame,
    micro_table: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Rows of the base hierarchy (codes of grids and micro-grids still missing)."""
    n_grid, n_micro = len(grid_table), len(micro_table)
    in_micro = micro_of >= 0
    micro_geom = np.empty(n_micro, dtype=object)
    micro_geom[:] = _union_groups(atoms[in_micro], micro_of[in_micro], n_micro)
    # Grids: urban grids from their micro-grids, villages from their atoms.
    grid_geom = np.empty(n_grid, dtype=object)
    has_micro = np.zeros(n_grid, dtype=bool)
    has_micro[micro_table["grid"].to_numpy()] = True
    if n_micro:
        urban_ids = np.flatnonzero(has_micro)
        merged = _union_groups(
            micro_geom, _rank(micro_table["grid"].to_numpy(), urban_ids), len(urban_ids)
        )
        grid_geom[urban_ids] = merged
    village_ids = np.flatnonzero(~has_micro)
    village_atoms = np.isin(grid_of, village_ids)
    grid_geom[village_ids] = _union_groups(
        atoms[village_atoms], _rank(grid_of[village_atoms], village_ids), len(village_ids)
    )
    grid_community = grid_table["community"].to_numpy()
    comm_geom = _union_groups(grid_geom, grid_community, len(plan))
    street_codes = reference.streets["code"].tolist()
    street_index = {c: i for i, c in enumerate(street_codes)}
    comm_street = plan["parent"].map(street_index).to_numpy()
    street_geom = _union_groups(np.asarray(comm_geom, dtype=object), comm_street, len(street_codes))
    district_geom = shapely.coverage_union_all(np.asarray(street_geom, dtype=object))

    # Households and population.
    village = plan["village"].to_numpy()[grid_community]
    hh_lo, hh_hi = HOUSEHOLDS_PER_GRID
    hh = np.where(
        village,
        np.clip(np.rint(rng.lognormal(np.log(750), 0.35, n_grid)), 250, 2500),
        rng.integers(hh_lo, hh_hi + 1, n_grid),
    ).astype(np.int64)
    ratio = np.where(village, rng.uniform(2.7, 3.3, n_grid), rng.uniform(2.3, 2.9, n_grid))
    pop = np.maximum(np.rint(hh * ratio).astype(np.int64), hh)
    micro_grid = micro_table["grid"].to_numpy()
    micro_hh = np.zeros(n_micro, dtype=np.int64)
    micro_pop = np.zeros(n_micro, dtype=np.int64)
    for gid in np.flatnonzero(has_micro).tolist():
        idx = np.flatnonzero(micro_grid == gid)
        share = rng.dirichlet(np.full(len(idx), 6.0))
        split_hh = rng.multinomial(hh[gid], share)
        extra = rng.multinomial(pop[gid] - hh[gid], split_hh / max(hh[gid], 1))
        micro_hh[idx] = split_hh
        micro_pop[idx] = split_hh + extra

    comm_codes = plan["code"].to_numpy()
    frames = [
        pd.DataFrame(
            {
                "code": [reference.district_code],
                "parent_code": [None],
                "level": "district",
                "name": [reference.district_name],
                "geometry": [district_geom],
            }
        ),
        pd.DataFrame(
            {
                "code": street_codes,
                "parent_code": reference.district_code,
                "level": "street",
                "name": reference.streets["name"].tolist(),
                "geometry": street_geom,
            }
        ),
        pd.DataFrame(
            {
                "code": comm_codes,
                "parent_code": plan["parent"].to_numpy(),
                "level": "community",
                "name": plan["name"].to_numpy(),
                "geometry": comm_geom,
            }
        ),
        pd.DataFrame(
            {
                "code": None,
                "parent_code": comm_codes[grid_community],
                "level": "grid",
                "name": None,
                "population": pop,
                "households": hh,
                "geometry": grid_geom,
                "_grid": np.arange(n_grid),
            }
        ),
        pd.DataFrame(
            {
                "code": None,
                "parent_code": None,
                "level": "microgrid",
                "name": None,
                "population": micro_pop,
                "households": micro_hh,
                "geometry": micro_geom,
                "_grid": micro_grid,
            }
        ),
    ]
    base = pd.concat(frames, ignore_index=True)
    base["kind"] = "base"
    base["_special"] = None
    return base


def _rank(values: NDArray[np.int64], ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """Position of each value in the sorted array ``ids``."""
    return np.searchsorted(ids, values).astype(np.int64)


# --------------------------------------------------------------------- special grids


def _special_grids(
    base: pd.DataFrame, plan: pd.DataFrame, proj: _LocalFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Special grids, each inside a different community (codes still missing)."""
    comm = base[base["level"] == "community"].set_index("code")
    comm_geom_m = shapely.transform(comm.geometry.to_numpy(), proj.to_metres)
    area = shapely.area(comm_geom_m)
    village = plan.set_index("code").loc[comm.index, "village"].to_numpy()
    other = plan.set_index("code").loc[comm.index, "other"].to_numpy()
    street = comm["parent_code"].to_numpy()
    town = np.array([is_town(s) for s in street])
    core = np.isin(street, sorted(CORE_STREETS))
    central = core | np.isin(street, ["330109013", "330109015", "330109401", "330109505"])
    urban = ~village & ~other
    weights = {
        "commercial": np.where(urban & central, 1.0, 0.0),
        "campus": np.where(~town & ~core, area, 0.0),
        "hospital": np.where(urban, np.where(core, 3.0, 1.0), 0.0),
        "industrial_park": np.where(other, 5.0, np.where(village, 1.0, 0.0)) * np.sqrt(area),
        "school": np.where(urban, 1.0, np.where(village, 0.3, 0.0)),
    }
    free = np.ones(len(comm), dtype=bool)
    kinds: list[str] = []
    chosen: list[int] = []
    for kind in SPECIAL_COUNTS:
        for _ in range(SPECIAL_COUNTS[kind]):
            w = weights[kind] * free
            if w.sum() <= 0:
                break
            i = int(rng.choice(len(comm), p=w / w.sum()))
            free[i] = False
            kinds.append(kind)
            chosen.append(i)
    geoms = []
    population = []
    for kind, i in zip(kinds, chosen, strict=True):
        (wlo, whi), (hlo, hhi), (plo, phi) = _SPECIAL_SIZE[kind]
        geoms.append(
            _special_polygon(comm_geom_m[i], rng.uniform(wlo, whi), rng.uniform(hlo, hhi), rng)
        )
        population.append(int(rng.integers(plo, phi + 1)))
    geoms_deg = shapely.set_precision(
        shapely.transform(np.asarray(geoms, dtype=object), proj.to_degrees), GRID_SIZE
    )
    places = np.array([place_name(n) for n in base.set_index("code").loc[street[chosen], "name"]])
    names = special_names(rng, np.asarray(kinds), places, town[chosen])
    return pd.DataFrame(
        {
            "code": None,
            "parent_code": comm.index.to_numpy()[chosen],
            "level": "grid",
            "kind": "special",
            "name": names,
            "population": population,
            "households": 0,
            "geometry": geoms_deg,
            "_special": kinds,
        }
    )


def _special_polygon(
    community: shapely.Geometry, width: float, height: float, rng: np.random.Generator
) -> shapely.Geometry:
    """A rotated rectangle around the community's most interior point, clipped inside it."""
    inner = shapely.buffer(community, -5.0)
    circle = shapely.maximum_inscribed_circle(inner, 2.0)
    centre = np.asarray(circle.coords[0])
    radius = circle.length
    offset = rng.uniform(-0.3, 0.3, 2) * radius
    scale = min(1.0, 1.3 * radius / (0.5 * np.hypot(width, height)))
    w, h = width * scale / 2, height * scale / 2
    angle = rng.uniform(0, np.pi / 2)
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rect = shapely.Polygon(corners @ rot.T + centre + offset)
    shape = shapely.intersection(rect, inner)
    parts = shapely.get_parts(shape)
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[int(np.argmax(shapely.area(parts)))]


# ------------------------------------------------------------------------ finishing


def _name_units(units: pd.DataFrame) -> pd.DataFrame:
    """Names of base grids and micro-grids from their codes' sequence numbers."""
    out = units.copy()
    comm_names = out.loc[out["level"] == "community"].set_index("code")["name"]
    grids = (out["level"] == "grid") & (out["kind"] == "base")
    out.loc[grids, "name"] = [
        grid_name(comm_names[p], int(c[-3:]))
        for p, c in zip(out.loc[grids, "parent_code"], out.loc[grids, "code"], strict=True)
    ]
    grid_names = out.loc[grids].set_index("code")["name"]
    micro = out["level"] == "microgrid"
    out.loc[micro, "name"] = [
        microgrid_name(grid_names[p], int(c[-3:]))
        for p, c in zip(out.loc[micro, "parent_code"], out.loc[micro, "code"], strict=True)
    ]
    return out


def _aggregate(units: pd.DataFrame) -> pd.DataFrame:
    """Population and households of communities, streets and the district from base grids."""
    out = units.copy()
    base_grids = out[(out["level"] == "grid") & (out["kind"] == "base")]
    for level, length in (("community", 12), ("street", 9), ("district", 6)):
        key = base_grids["code"].str[:length]
        sums = base_grids.groupby(key)[["population", "households"]].sum()
        rows = out["level"] == level
        for column in ("population", "households"):
            out.loc[rows, column] = out.loc[rows, "code"].map(sums[column]).to_numpy()
    return out


def _finish(units: pd.DataFrame) -> gpd.GeoDataFrame:
    """Order rows and columns, set dtypes and MultiPolygon geometries."""
    out = units.copy()
    out["full_time_workers"] = 0
    out["part_time_workers"] = 0
    for column in ("population", "households", "full_time_workers", "part_time_workers"):
        out[column] = out[column].astype(np.int64)
    for column in ("code", "parent_code", "level", "kind", "name"):
        out[column] = out[column].astype(object)
    out["parent_code"] = out["parent_code"].where(out["parent_code"].notna(), None)
    geoms = np.array(out["geometry"].to_numpy(), dtype=object)
    single = shapely.get_type_id(geoms) == 3
    geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    out["geometry"] = geoms
    rank = out["level"].map({level: i for i, level in enumerate(LEVEL_ORDER)})
    out = out.assign(_rank=rank).sort_values(["_rank", "code"], kind="stable")
    out = out[list(UNIT_COLUMNS)].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_EPSG)
