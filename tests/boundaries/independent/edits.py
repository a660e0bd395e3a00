"""Realistic planner edits of a generation's units, as Hypothesis strategies.

Each edit takes a units table (the columns of an export: ``code``,
``parent_code``, ``level``, ``kind``, ``name``, ``population``,
``households``, ``full_time_workers``, ``part_time_workers``, ``geometry``)
in any CRS (EPSG:4490 for a sample-city export, EPSG:4548 for the second
district) and returns an :class:`Edit`: the edited table and the defects the
edit planted on purpose (none for a clean edit).

Clean edits keep every level a coverage of its parent, edges shared vertex
for vertex, vertices of untouched units byte-identical:

* ``move_boundary`` — the shared edge of two micro-grids of two sibling grids
  moves by 1–200 m into one of them: a strip of micro-grid *b* along the edge
  (kept away from *b*'s other edges) goes to micro-grid *a*; both polygons
  are rebuilt from one noded linework (``union_all`` + ``polygonize``), both
  grids are the ``coverage_union_all`` of their micro-grids; households and
  population of the strip (area share of *b*) follow it.
* ``split_grid`` — a grid is cut along its micro-grid edges into two connected
  parts; the second part gets the next free sequence of the community and its
  micro-grids new codes under it.
* ``merge_grids`` — two adjacent sibling grids become one (lower code kept);
  the micro-grids of the other are recoded under it.
* ``move_microgrid`` — a micro-grid moves to the neighbouring sibling grid it
  shares an edge with (new code under that grid); both grids are rebuilt.
* ``jitter`` — every vertex moves by at most 1 cm (survey precision), the same
  displacement for the same coordinate, so shared vertices stay shared.

Planted defects:

* ``drop_microgrid`` — one micro-grid is deleted: a ``gap`` in its grid.
* ``drop_grid`` — a base grid and its micro-grids are deleted: a ``gap`` in
  its community.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from shapely.geometry.base import BaseGeometry

DEGREE_M = 111_320.0  # metres per degree of latitude (approximation for edit sizes)


@dataclass(frozen=True)
class Defect:
    """A defect an edit planted on purpose."""

    kind: str  # validation rule that must report it ("gap")
    level: str  # level of the missing unit
    parent: str  # code of the parent the gap is in
    codes: tuple[str, ...]  # codes of the removed units
    geometry: BaseGeometry  # where it is, in the units' CRS


@dataclass(frozen=True, repr=False)
class Edit:
    """An edited units table and what the edit did."""

    name: str
    units: gpd.GeoDataFrame
    defects: list[Defect] = field(default_factory=list)
    touched: tuple[str, ...] = ()  # codes whose geometry or attributes changed
    region: BaseGeometry | None = None  # where the change is (units' CRS)
    details: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        defects = [f"{d.kind} in {d.parent}" for d in self.defects]
        touched = list(self.touched)[:6]
        return f"Edit({self.name!r}, {touched=}, details={self.details}, {defects=})"

    @property
    def clean(self) -> bool:
        """True when the edit planted no defect."""
        return not self.defects


class Rejected(ValueError):
    """The drawn parameters do not give a valid edit (outside Hypothesis)."""


def _require(condition: bool) -> None:
    """``assume`` inside a Hypothesis test, else raise :class:`Rejected`."""
    if condition:
        return
    if currently_in_test_context():
        assume(False)
    raise Rejected("no valid edit for these parameters")


def _metres(units: gpd.GeoDataFrame) -> float:
    """Size of one metre in the units' CRS (approximate for geographic CRSs)."""
    return 1.0 if units.crs is not None and units.crs.is_projected else 1.0 / DEGREE_M


def _single(geom: BaseGeometry) -> BaseGeometry:
    return shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom


def _is_one_polygon(geom: BaseGeometry) -> bool:
    if geom.is_empty or not geom.is_valid:
        return False
    if geom.geom_type == "Polygon":
        return True
    return geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1


def _union(geoms: list[BaseGeometry]) -> BaseGeometry:
    return shapely.coverage_union_all(np.asarray(geoms, dtype=object))


@dataclass
class Candidates:
    """Precomputed structure of one units table (adjacency of micro-grids and grids)."""

    units: gpd.GeoDataFrame
    micro_pairs: list[tuple[int, int]]  # adjacent micro-grids of two sibling base grids
    grid_pairs: list[tuple[int, int]]  # adjacent sibling base grids
    split_grids: list[int]  # base grids with at least two micro-grids
    micro_moves: list[tuple[int, int]]  # (micro-grid row, neighbouring sibling grid row)
    micro_rows: list[int]
    droppable_grids: list[int]
    children: dict[str, list[int]]


_CACHE: dict[int, Candidates] = {}


def candidates(units: gpd.GeoDataFrame) -> Candidates:
    """Candidate units of each edit (cached per table object)."""
    key = id(units)
    if key in _CACHE and _CACHE[key].units is units:
        return _CACHE[key]
    eps = 0.05 * _metres(units)  # shared edges longer than 5 cm
    level = units["level"].to_numpy()
    kind = units["kind"].to_numpy()
    parent = units["parent_code"].to_numpy()
    code = units["code"].to_numpy()
    geoms = units.geometry.to_numpy()
    row_of = {c: i for i, c in enumerate(code)}
    micro = np.flatnonzero((level == "microgrid") & (kind == "base"))
    grids = np.flatnonzero((level == "grid") & (kind == "base"))
    children: dict[str, list[int]] = {}
    for row in micro.tolist():
        children.setdefault(str(parent[row]), []).append(int(row))

    def pairs(rows: np.ndarray) -> list[tuple[int, int]]:
        tree = shapely.STRtree(geoms[rows])
        left, right = tree.query(geoms[rows], predicate="touches")
        out = []
        for i, j in zip(rows[left].tolist(), rows[right].tolist(), strict=True):
            if i < j and shapely.intersection(geoms[i], geoms[j]).length > eps:
                out.append((i, j))
        return out

    grid_parent = {str(code[g]): str(parent[g]) for g in grids}
    micro_pairs: list[tuple[int, int]] = []
    for i, j in pairs(micro):
        gi, gj = str(parent[i]), str(parent[j])
        if gi != gj and gi in grid_parent and grid_parent.get(gj) == grid_parent[gi]:
            micro_pairs.append((i, j))
    grid_pairs = [(i, j) for i, j in pairs(grids) if parent[i] == parent[j]]
    split_grids = [int(g) for g in grids if len(children.get(str(code[g]), [])) >= 2]
    micro_moves: list[tuple[int, int]] = []
    for i, j in micro_pairs:
        for m, other in ((i, j), (j, i)):
            if len(children[str(parent[m])]) >= 2:
                micro_moves.append((m, row_of[str(parent[other])]))
    droppable = [int(g) for g in grids if str(code[g]) in children]
    result = Candidates(
        units=units,
        micro_pairs=micro_pairs,
        grid_pairs=grid_pairs,
        split_grids=split_grids,
        micro_moves=sorted(set(micro_moves)),
        micro_rows=[int(i) for i in micro],
        droppable_grids=droppable,
        children=children,
    )
    _CACHE.clear()
    _CACHE[key] = result
    return result


def _next_sequence(codes: pd.Series, prefix: str, upper: int = 799) -> str:
    """The next sequence after the highest one in use under ``prefix`` (base range)."""
    used = {
        int(c[len(prefix) :])
        for c in codes
        if c.startswith(prefix) and len(c) == len(prefix) + 3 and int(c[len(prefix) :]) <= upper
    }
    top = max(used | {0})
    if top < upper:
        return f"{prefix}{top + 1:03d}"
    free = sorted(set(range(1, upper + 1)) - used)
    if not free:
        raise ValueError(f"no free sequence under {prefix}")
    return f"{prefix}{free[0]:03d}"


def _recode_children(units: gpd.GeoDataFrame, rows: list[int], new_parent: str) -> gpd.GeoDataFrame:
    """Give micro-grid ``rows`` fresh codes under ``new_parent``."""
    codes = units["code"]
    for r in rows:
        new = _next_sequence(codes, new_parent)
        units.loc[r, "code"] = new
        units.loc[r, "parent_code"] = new_parent
        codes = units["code"]
    return units


def _sum_into(units: gpd.GeoDataFrame, target: int, rows: list[int]) -> None:
    for column in ("households", "population", "part_time_workers"):
        units.loc[target, column] = int(units.loc[rows, column].fillna(0).sum())


# --- clean edits ---------------------------------------------------------------


def move_boundary(units: gpd.GeoDataFrame, pair: int, distance_m: float, flip: bool) -> Edit:
    """Move the shared edge of two micro-grids of sibling grids by ``distance_m``."""
    cand = candidates(units)
    i, j = cand.micro_pairs[pair % len(cand.micro_pairs)]
    a_row, b_row = (j, i) if flip else (i, j)
    out = units.copy()
    geoms = units.geometry.to_numpy()
    a, b = geoms[a_row], geoms[b_row]
    unit = _metres(units)
    edge = shapely.line_merge(shapely.intersection(a, b))
    edge = shapely.union_all([g for g in getattr(edge, "geoms", [edge]) if g.length > 0])
    other = shapely.difference(b.boundary, shapely.buffer(edge, 1e-4 * unit))
    strip = None
    d = distance_m
    while d >= 0.5:
        dd = d * unit
        raw = shapely.intersection(b, shapely.buffer(edge, dd, cap_style="flat"))
        raw = shapely.difference(raw, shapely.buffer(other, max(0.5 * dd, 0.5 * unit)))
        parts = [p for p in getattr(raw, "geoms", [raw]) if p.geom_type == "Polygon"]
        parts = [p for p in parts if shapely.intersection(p.boundary, edge).length > 0]
        if parts:
            piece = max(parts, key=lambda p: p.area)
            rest = shapely.difference(b, piece)
            if (
                piece.area > (0.25 * unit) ** 2
                and _is_one_polygon(rest)
                and (rest.area > 0.25 * b.area)
            ):
                strip = piece
                break
        d /= 2
    _require(strip is not None)
    assert strip is not None
    # In a projected CRS the new vertices go on the file's 1 mm grid (snap-rounded
    # noding), as CAD/GIS tools in survey CRSs write them; in lon/lat they stay exact.
    grid_size = 0.001 if units.crs is not None and units.crs.is_projected else None
    if grid_size:
        strip = shapely.set_precision(strip, grid_size)
    lines = [a.boundary, b.boundary, strip.boundary]
    noded = shapely.union_all(lines, grid_size=grid_size)
    faces = list(shapely.polygonize(list(getattr(noded, "geoms", [noded]))).geoms)
    a_faces, b_faces = [], []
    for f in faces:
        p = f.point_on_surface()
        if strip.covers(p) or a.covers(p):
            a_faces.append(f)
        elif b.covers(p):
            b_faces.append(f)
    new_a, new_b = _union(a_faces), _union(b_faces)
    _require(_is_one_polygon(new_a) and _is_one_polygon(new_b))
    out.loc[a_row, "geometry"] = _single(new_a)
    out.loc[b_row, "geometry"] = _single(new_b)
    share = strip.area / b.area
    for column in ("households", "population"):
        value = units.loc[b_row, column]
        if pd.notna(value):
            moved = int(round(float(value) * share))
            out.loc[b_row, column] = int(value) - moved
            before = units.loc[a_row, column]
            out.loc[a_row, column] = (int(before) if pd.notna(before) else 0) + moved
    code = out["code"].to_numpy()
    grid_a = str(units.loc[a_row, "parent_code"])
    grid_b = str(units.loc[b_row, "parent_code"])
    _rebuild_grids(out, [grid_a, grid_b])
    changed = out[out["code"].isin([str(code[a_row]), str(code[b_row]), grid_a, grid_b])]
    _require(bool(shapely.is_valid(changed.geometry.to_numpy()).all()))
    _require(bool(shapely.is_valid(changed.to_crs(4490).geometry.to_numpy()).all()))
    return Edit(
        "move_boundary",
        out,
        touched=(str(code[a_row]), str(code[b_row]), grid_a, grid_b),
        region=strip,
        details={"distance_m": d, "strip_area_share": share},
    )


def move_grid_boundary(units: gpd.GeoDataFrame, pair: int, distance_m: float, flip: bool) -> Edit:
    """Move the shared boundary of two sibling grids by ``distance_m``, the way a GIS does it.

    A strip of grid *B* along its edge with grid *A* goes to *A* with separate
    overlay operations (``A ∪ strip``, ``B − strip``, each micro-grid of *B*
    minus the strip, the micro-grid of *A* along the edge plus the strip), as a
    planner's desktop GIS would compute them: every polygon valid, shared
    edges equal up to floating-point rounding, and the strip may end on *B*'s
    other neighbours (T-junctions there). The issue's "routine edit".
    """
    cand = candidates(units)
    _require(bool(cand.grid_pairs))
    i, j = cand.grid_pairs[pair % len(cand.grid_pairs)]
    a_row, b_row = (j, i) if flip else (i, j)
    a_code, b_code = str(units.loc[a_row, "code"]), str(units.loc[b_row, "code"])
    geoms = units.geometry
    big_a, big_b = geoms[a_row], geoms[b_row]
    unit = _metres(units)
    edge = shapely.line_merge(shapely.intersection(big_a, big_b))
    edge = shapely.union_all([g for g in getattr(edge, "geoms", [edge]) if g.length > 0])
    a_micro = cand.children.get(a_code, [])
    b_micro = cand.children.get(b_code, [])
    _require(bool(a_micro) and bool(b_micro))
    d = distance_m
    out = None
    while d >= 0.5 and out is None:
        raw = shapely.intersection(big_b, shapely.buffer(edge, d * unit, cap_style="flat"))
        parts = [p for p in getattr(raw, "geoms", [raw]) if p.geom_type == "Polygon"]
        parts = [p for p in parts if shapely.intersection(p.boundary, edge).length > 0]
        d_used = d
        d /= 2
        if not parts:
            continue
        strip = max(parts, key=lambda p: p.area)
        new_b = shapely.difference(big_b, strip)
        if not _is_one_polygon(new_b) or new_b.area < 0.25 * big_b.area:
            continue
        target = max(a_micro, key=lambda r: shapely.intersection(geoms[r], strip).length)
        candidate = units.copy()
        candidate.loc[a_row, "geometry"] = _single(shapely.union(big_a, strip))
        candidate.loc[b_row, "geometry"] = _single(new_b)
        candidate.loc[target, "geometry"] = _single(shapely.union(geoms[target], strip))
        lost_hh = 0
        ok = True
        for r in b_micro:
            rest = shapely.difference(geoms[r], strip)
            if not _is_one_polygon(rest):
                ok = False
                break
            candidate.loc[r, "geometry"] = _single(rest)
            share = 1.0 - rest.area / geoms[r].area
            hh = units.loc[r, "households"]
            if pd.notna(hh) and share > 0:
                moved = int(round(float(hh) * share))
                candidate.loc[r, "households"] = int(hh) - moved
                lost_hh += moved
        if not ok:
            continue
        for row, delta in ((target, lost_hh), (a_row, lost_hh), (b_row, -lost_hh)):
            value = candidate.loc[row, "households"]
            candidate.loc[row, "households"] = (int(value) if pd.notna(value) else 0) + delta
        touched_rows = [a_row, b_row, target, *b_micro]
        changed = candidate.loc[touched_rows]
        if not shapely.is_valid(changed.to_crs(4490).geometry.to_numpy()).all():
            continue
        if not all(_is_one_polygon(g) for g in changed.geometry):
            continue
        out = candidate
        region = strip
        details = {"distance_m": d_used, "grids": (a_code, b_code)}
    _require(out is not None)
    assert out is not None
    touched = tuple(str(units.loc[r, "code"]) for r in [a_row, b_row, *a_micro, *b_micro])
    return Edit("move_grid_boundary", out, touched=touched, region=region, details=details)


def drag_boundary(units: gpd.GeoDataFrame, pair: int, distance_m: float, flip: bool) -> Edit:
    """Drag the interior vertices of two sibling grids' shared boundary by ``distance_m``.

    The planner selects the shared boundary and moves it sideways: every vertex
    strictly inside the shared path moves by the same vector (perpendicular to
    the path's chord), in every unit that has that vertex (both grids and their
    micro-grids), so shared vertices stay shared. Attributes are left as they
    were. Rejected unless every changed polygon stays valid in its CRS and in
    EPSG:4490 and the grids' micro-grids still form a valid coverage.
    """
    cand = candidates(units)
    _require(bool(cand.grid_pairs))
    i, j = cand.grid_pairs[pair % len(cand.grid_pairs)]
    a_row, b_row = (j, i) if flip else (i, j)
    a_code, b_code = str(units.loc[a_row, "code"]), str(units.loc[b_row, "code"])
    geoms = units.geometry
    edge = shapely.line_merge(shapely.intersection(geoms[a_row], geoms[b_row]))
    _require(edge.geom_type == "LineString")
    xy = shapely.get_coordinates(edge)
    _require(len(xy) >= 3)
    inner = {tuple(p) for p in xy[1:-1].tolist()}
    chord = xy[-1] - xy[0]
    normal = np.array([-chord[1], chord[0]]) / max(float(np.hypot(*chord)), 1e-12)
    if units.crs is not None and units.crs.is_geographic:
        normal = normal / np.array([np.cos(np.radians(xy[:, 1].mean())), 1.0])
        normal = normal / float(np.hypot(*normal))
    rows = [a_row, b_row, *cand.children.get(a_code, []), *cand.children.get(b_code, [])]
    d = distance_m
    while d >= 0.5:
        vector = normal * d * _metres(units)

        def move(coords: np.ndarray, vector: np.ndarray = vector) -> np.ndarray:
            out = coords.copy()
            hit = np.array([tuple(c) in inner for c in coords.tolist()], dtype=bool)
            out[hit] += vector
            return out

        moved = shapely.transform(geoms.loc[rows].to_numpy(), move)
        candidate = units.copy()
        candidate.loc[rows, "geometry"] = moved
        changed = candidate.loc[rows]
        ok = bool(shapely.is_valid(moved).all()) and bool(
            shapely.is_valid(changed.to_crs(4490).geometry.to_numpy()).all()
        )
        if ok:
            for g in (a_code, b_code):
                kids = candidate[candidate["parent_code"] == g].geometry.to_numpy()
                ok = ok and bool(shapely.coverage_is_valid(kids))
            ok = ok and bool(
                shapely.coverage_is_valid(
                    candidate[candidate["parent_code"] == units.loc[a_row, "parent_code"]]
                    .loc[lambda f: f["kind"] == "base"]
                    .geometry.to_numpy()
                )
            )
        if ok:
            touched = tuple(str(units.loc[r, "code"]) for r in rows)
            region = shapely.convex_hull(shapely.union(edge, shapely.transform(edge, move)))
            return Edit(
                "drag_boundary",
                candidate,
                touched=touched,
                region=region,
                details={"distance_m": d, "grids": (a_code, b_code)},
            )
        d /= 2
    _require(False)
    raise AssertionError("unreachable")


def _rebuild_grids(out: gpd.GeoDataFrame, grid_codes: list[str]) -> None:
    """Grid geometry = coverage union of its micro-grids; households etc. = their sums."""
    for g in grid_codes:
        rows = out.index[(out["parent_code"] == g) & (out["level"] == "microgrid")].tolist()
        target = out.index[out["code"] == g][0]
        out.loc[target, "geometry"] = _single(_union(out.geometry.loc[rows].tolist()))
        _sum_into(out, target, rows)


def split_grid(units: gpd.GeoDataFrame, grid: int, cut: int) -> Edit:
    """Split a grid along its micro-grid edges into two connected parts."""
    cand = candidates(units)
    g_row = cand.split_grids[grid % len(cand.split_grids)]
    g_code = str(units.loc[g_row, "code"])
    rows = sorted(cand.children[g_code], key=lambda r: str(units.loc[r, "code"]))
    geoms = units.geometry
    order = [rows[0]]  # breadth-first along shared edges
    while len(order) < len(rows):
        grown = [
            r
            for r in rows
            if r not in order
            and any(shapely.intersection(geoms[r], geoms[o]).length > 0 for o in order)
        ]
        _require(bool(grown))
        order.append(grown[0])
    k = 1 + cut % (len(rows) - 1)
    second = order[k:]
    _require(_is_one_polygon(_union(geoms.loc[second].tolist())))
    out = units.copy()
    community = str(units.loc[g_row, "parent_code"])
    new_code = _next_sequence(out["code"], community)
    new_row = out.loc[[g_row]].copy()
    new_row["code"] = new_code
    new_row["name"] = f"{units.loc[g_row, 'name']}（拆分）"
    new_row["part_time_workers"] = 0
    out = pd.concat([out, new_row], ignore_index=True)
    out = _recode_children(out, second, new_code)
    _rebuild_grids(out, [g_code, new_code])
    region = _union(geoms.loc[second].tolist())
    touched = (g_code, new_code, *[str(units.loc[r, "code"]) for r in second])
    return Edit(
        "split_grid",
        gpd.GeoDataFrame(out, crs=units.crs),
        touched=touched,
        region=region,
        details={"grid": g_code, "moved_micro": len(second)},
    )


def merge_grids(units: gpd.GeoDataFrame, pair: int) -> Edit:
    """Merge two adjacent sibling grids; the lower code stays."""
    cand = candidates(units)
    _require(bool(cand.grid_pairs))
    i, j = cand.grid_pairs[pair % len(cand.grid_pairs)]
    keep, gone = sorted((i, j), key=lambda r: str(units.loc[r, "code"]))
    keep_code, gone_code = str(units.loc[keep, "code"]), str(units.loc[gone, "code"])
    _require(_is_one_polygon(_union([units.geometry[keep], units.geometry[gone]])))
    out = units.copy()
    moved = cand.children.get(gone_code, [])
    out = _recode_children(out, moved, keep_code)
    out = out.drop(index=gone).reset_index(drop=True)
    _rebuild_grids(out, [keep_code])
    touched = (keep_code, gone_code, *[str(units.loc[r, "code"]) for r in moved])
    return Edit(
        "merge_grids",
        out,
        touched=touched,
        region=units.geometry[gone],
        details={"kept": keep_code, "merged": gone_code},
    )


def move_microgrid(units: gpd.GeoDataFrame, choice: int) -> Edit:
    """Move a micro-grid to the neighbouring sibling grid it shares an edge with."""
    cand = candidates(units)
    m_row, target_row = cand.micro_moves[choice % len(cand.micro_moves)]
    source = str(units.loc[m_row, "parent_code"])
    target = str(units.loc[target_row, "code"])
    rest = [r for r in cand.children[source] if r != m_row]
    _require(_is_one_polygon(_union(units.geometry.loc[rest].tolist())))
    _require(_is_one_polygon(_union([units.geometry[m_row], units.geometry[target_row]])))
    out = units.copy()
    old_code = str(units.loc[m_row, "code"])
    out = _recode_children(out, [m_row], target)
    _rebuild_grids(out, [source, target])
    return Edit(
        "move_microgrid",
        out,
        touched=(old_code, str(out.loc[m_row, "code"]), source, target),
        region=units.geometry[m_row],
        details={"from": source, "to": target},
    )


def jitter(units: gpd.GeoDataFrame, seed: int, amplitude_m: float = 0.007) -> Edit:
    """Move every vertex by ≤ ``amplitude_m`` per axis (≤ 1 cm), same move for same vertex."""
    unit = _metres(units)

    def shift(xy: np.ndarray) -> np.ndarray:
        keys = np.round(xy / (1e-6 * unit)).astype(np.int64)
        h = (keys[:, 0] * 73856093) ^ (keys[:, 1] * 19349663) ^ seed
        rng_x = ((h * 2654435761) % 1_000_003) / 1_000_003.0 - 0.5
        rng_y = ((h * 40503) % 999_983) / 999_983.0 - 0.5
        return xy + 2 * amplitude_m * unit * np.column_stack([rng_x, rng_y])

    out = units.copy()
    out["geometry"] = shapely.transform(units.geometry.to_numpy(), shift)
    _require(bool(shapely.is_valid(out.geometry.to_numpy()).all()))
    return Edit(
        "jitter",
        gpd.GeoDataFrame(out, crs=units.crs),
        details={"amplitude_m": amplitude_m, "seed": seed},
    )


# --- planted defects -----------------------------------------------------------


def drop_microgrid(units: gpd.GeoDataFrame, choice: int) -> Edit:
    """Delete one base micro-grid: a gap in its grid."""
    cand = candidates(units)
    row = cand.micro_rows[choice % len(cand.micro_rows)]
    code, parent = str(units.loc[row, "code"]), str(units.loc[row, "parent_code"])
    out = units.drop(index=row).reset_index(drop=True)
    geom = units.geometry[row]
    defect = Defect("gap", "microgrid", parent, (code,), geom)
    return Edit("drop_microgrid", out, [defect], touched=(code,), region=geom)


def drop_grid(units: gpd.GeoDataFrame, choice: int) -> Edit:
    """Delete one base grid and its micro-grids: a gap in its community."""
    cand = candidates(units)
    row = cand.droppable_grids[choice % len(cand.droppable_grids)]
    code, parent = str(units.loc[row, "code"]), str(units.loc[row, "parent_code"])
    rows = [row, *cand.children.get(code, [])]
    codes = tuple(str(units.loc[r, "code"]) for r in rows)
    out = units.drop(index=rows).reset_index(drop=True)
    geom = units.geometry[row]
    defect = Defect("gap", "grid", parent, codes, geom)
    return Edit("drop_grid", out, [defect], touched=codes, region=geom)


# --- strategies ----------------------------------------------------------------

INDEX = st.integers(min_value=0, max_value=10**6)
DISTANCES = st.one_of(
    st.sampled_from((50.0, 120.0, 200.0, 8.0)), st.floats(min_value=1.0, max_value=200.0)
)
"""Boundary moves in metres: the issue's 50 m first, then anything in 1–200 m."""

EDIT_KINDS: dict[str, Callable[[gpd.GeoDataFrame], st.SearchStrategy[Edit]]] = {
    "move_boundary": lambda u: st.builds(
        move_boundary, st.just(u), INDEX, DISTANCES, st.booleans()
    ),
    "move_grid_boundary": lambda u: st.builds(
        move_grid_boundary, st.just(u), INDEX, DISTANCES, st.booleans()
    ),
    "drag_boundary": lambda u: st.builds(
        drag_boundary, st.just(u), INDEX, DISTANCES, st.booleans()
    ),
    "split_grid": lambda u: st.builds(split_grid, st.just(u), INDEX, INDEX),
    "merge_grids": lambda u: st.builds(merge_grids, st.just(u), INDEX),
    "move_microgrid": lambda u: st.builds(move_microgrid, st.just(u), INDEX),
    "jitter": lambda u: st.builds(jitter, st.just(u), st.integers(0, 2**20)),
    "drop_microgrid": lambda u: st.builds(drop_microgrid, st.just(u), INDEX),
    "drop_grid": lambda u: st.builds(drop_grid, st.just(u), INDEX),
}
"""Strategy factory of each edit kind."""

CLEAN_KINDS = (
    "move_boundary",
    "move_grid_boundary",
    "drag_boundary",
    "split_grid",
    "merge_grids",
    "move_microgrid",
    "jitter",
)
DEFECT_KINDS = ("drop_microgrid", "drop_grid")


def edits(units: gpd.GeoDataFrame, kinds: tuple[str, ...] | None = None) -> st.SearchStrategy[Edit]:
    """Any of the edits (or of ``kinds``) applied to ``units``."""
    names = kinds or tuple(EDIT_KINDS)
    return st.one_of([EDIT_KINDS[name](units) for name in names])


def first_edit(units: gpd.GeoDataFrame, kind: str, distance_m: float = 50.0) -> Edit:
    """A deterministic edit of ``kind``: the first candidate that gives a valid edit.

    For DB-heavy checks where one example per kind is enough (no Hypothesis
    replay); boundary moves use ``distance_m``.
    """
    functions: dict[str, Callable[[int], Edit]] = {
        "move_boundary": lambda i: move_boundary(units, i, distance_m, False),
        "move_grid_boundary": lambda i: move_grid_boundary(units, i, distance_m, False),
        "drag_boundary": lambda i: drag_boundary(units, i, distance_m, False),
        "split_grid": lambda i: split_grid(units, i, 0),
        "merge_grids": lambda i: merge_grids(units, i),
        "move_microgrid": lambda i: move_microgrid(units, i),
        "jitter": lambda i: jitter(units, i),
        "drop_microgrid": lambda i: drop_microgrid(units, i),
        "drop_grid": lambda i: drop_grid(units, i),
    }
    for index in range(200):
        try:
            return functions[kind](index)
        except Rejected:
            continue
    raise Rejected(f"no valid {kind} edit among the first 200 candidates")
