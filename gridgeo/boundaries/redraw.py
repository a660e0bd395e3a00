"""Redraw operations of the planner workflow: split, merge, move, replace.

Each operation is a pure function over a generation's units table (see
:mod:`gridgeo.boundaries.mapping`; EPSG:4490 or 4326 lon/lat) and returns a
:class:`RedrawResult`: a *new* units table (the input is never modified; the
index is reset, rows keep their order and new rows take the place of the rows
they come from) plus the lineage records, the codes retired, created and
changed. The caller persists the result as a draft generation.

* :func:`split_unit` — split a grid or micro-grid by a line;
* :func:`merge_units` — merge contiguous siblings into one unit;
* :func:`move_units` — move micro-grids to a neighbouring grid;
* :func:`replace_geometry` — replace one unit's geometry, adjusting the
  neighbours or reporting the conflict.

Only grids and micro-grids are redrawn: streets and communities keep their
official boundaries and codes.

Geometry: noding keeps the coverage valid
-----------------------------------------
Every operation rebuilds each *touched sibling set* (the units of one level,
parent and kind around the change: e.g. all base grids of the community whose
grid is split) and the children of the units that change, by **noding**:
the boundaries of the set (and the split line or new geometry) are unioned
with snap-rounding to :data:`GRID_DEG` (1e-10 degrees, about 0.01 mm), the
noded linework is polygonized into faces, every face is given to the unit(s)
whose old polygon holds its interior point (or to its new owner), and each
unit is the :func:`shapely.coverage_union_all` of its faces. Since
neighbouring units are built from the same faces, their shared edges are
identical vertex for vertex: a split point on a shared edge appears in the
neighbour's ring too, and :func:`shapely.coverage_invalid_edges` finds
nothing. The price is that the vertices of a touched set are rounded to
:data:`GRID_DEG` (by at most 0.007 mm); rounding is idempotent, so repeated
redraws move nothing further. Units outside the touched sets keep their
geometry objects.

Lines and new geometries are first snapped onto the edges and vertices of
the units concerned within ``snap_m`` metres (default :data:`SNAP_M`; vertices
move onto the nearest edge or vertex, and edges passing a vertex take it in,
:func:`shapely.snap`), so a line drawn along an existing edge follows it
exactly instead of cutting slivers off.

Codes and lineage
-----------------
New units get new codes with :func:`gridgeo.coding.assign_codes`: in reading
order (north to south, then west to east; the exact rule is in
:mod:`gridgeo.coding.order`) under their parent and kind, with the first free
sequences of the kind's range. A sequence is free unless its code is in
``reserved`` (the code registry: retired codes, codes of other generations)
or anywhere in the units table (including the codes being retired), so a
code is never reused. Lineage records (relations of
:data:`gridgeo.coding.LINEAGE_RELATIONS`) read "``code`` *relation*
``related_code``":

``split_from``   a new piece and the code it was split from;
``merged_into``  an old code and the new code it was merged into;
``replaced_by``  an old code and the new code of the same area (a micro-grid
                 that moved to another grid: its code encodes the parent, so
                 it changes).

Children follow the area
------------------------
When a grid's area changes hands (split, merge, move, replace), its
micro-grids follow the area: each micro-grid is cut by the new grid
boundaries and every piece goes to the grid holding it.

* A micro-grid that stays whole under its old grid keeps its code (its
  geometry may gain vertices).
* A micro-grid that lies wholly in another (or a new) grid is re-parented
  and recoded under it (``replaced_by``).
* A micro-grid cut by a new grid boundary is split: every piece gets a new
  code under the grid holding it (``split_from``) and the old code retires.
* The micro-grids of the grids that change are conformed to the grids' new
  boundaries: their vertices within ``snap_m`` of a grid edge are snapped onto
  it (the edges of a grid and of its micro-grids commonly differ by
  millimetres). *Crumbs* are pieces smaller than ``min_piece_m2`` (default
  :data:`MIN_PIECE_M2`, 1 m²) or thinner than :data:`CRUMB_WIDTH_M` (5 cm on
  average), e.g. left by a line passing a hair's breadth from a corner.
  Crumbs never become micro-grids: crumbs of micro-grids outside every grid
  are dropped; a crumb cut off a micro-grid joins the micro-grid of its grid
  (same kind) sharing the longest boundary with it, else is dropped. A
  micro-grid whose other pieces are all crumbs is therefore not cut.
  Micro-grid area outside every grid that is more than a crumb is a
  :class:`~gridgeo.errors.Conflict`.

The same holds one level up: a unit that would keep only crumbs of a second
piece gives them to the unit sharing the longest edge with them; a real
second piece is a Conflict.

Attributes
----------
* Names: pieces of a split are named ``"<old name>-1"``, ``"-2"`` … in
  reading order (which is also the order of their codes); a merge takes the
  ``name`` given, else the merged names joined with ``"、"`` in code order.
* Households and population of a split unit are apportioned to the pieces
  with the largest-remainder method, so they stay whole numbers and add up
  to the old figure. The weights are the pieces' areas; for a split grid
  whose micro-grids all have the figure, the weights are the figures of the
  micro-grids (and micro-grid pieces) each part receives instead.
* Workers are people, not densities: a split unit's full-time and part-time
  workers go to its largest piece, unless ``full_time_workers`` gives the
  numbers per piece for a split grid.
* A merge sums every figure; population or households missing on one merged
  unit make the sum missing (unknown), missing workers count as 0.
* Moves and replacements: when micro-grids change grid, their population and
  households (where known) are subtracted from the old grid's figures and
  added to the new grid's (a missing grid figure stays missing). The figures
  of the redrawn unit and its neighbours are not re-estimated from areas: a
  redraw that moves residents without micro-grids needs the new figures
  entered.

The results
-----------
``changed`` lists kept codes whose shape moved by more than
:data:`CHANGE_DEG` (Hausdorff distance, about 0.1 m, the reading-order
tolerance; inserted vertices, the rounding and crumbs do not count)
or whose attributes changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.boundaries.mapping import (
    derive_kind,
    derive_level,
    derive_parent_code,
    normalize_codes,
)
from gridgeo.coding.assign import assign_codes
from gridgeo.coding.order import reading_order
from gridgeo.errors import Conflict, CRSMismatch, InvalidInput, NotFound
from gridgeo.measure import area_m2, length_m, local_metric_crs, to_local_metric

__all__ = [
    "CHANGE_DEG",
    "GRID_DEG",
    "MIN_PIECE_M2",
    "SNAP_M",
    "RedrawResult",
    "merge_units",
    "move_units",
    "replace_geometry",
    "split_unit",
]

GRID_DEG: Final = 1e-10
"""Snap-rounding grid of the noding, in degrees (about 0.01 mm)."""

CHANGE_DEG: Final = 1e-6
"""A kept unit whose shape moved by more than this (degrees, ~0.1 m) is ``changed``."""

SNAP_M: Final = 0.5
"""Default snapping distance (metres) of lines and new geometries to existing vertices."""

MIN_PIECE_M2: Final = 1.0
"""Default minimum area (m²) of a split piece and of a kept piece of a cut micro-grid."""

MIN_AREA_M2: Final = 0.01
"""Areas below this are floating-point noise."""

CRUMB_WIDTH_M: Final = 0.05
"""Pieces thinner than this on average (2·area/perimeter, metres) are crumbs, not units."""

MIN_SHARED_M: Final = 0.01
"""Two units are adjacent when they share more than this length of boundary (metres)."""

TOLERANCE_M: Final = 1.0
"""How far (metres) a new geometry may reach beyond its parent (digitising noise)."""

_M_PER_DEG: Final = 111_320.0  # metres per degree of latitude (for snapping distances)
_COUNTS: Final = ("population", "households")
_WORKERS: Final = ("full_time_workers", "part_time_workers")
_REDRAWN: Final = ("grid", "microgrid")
_LONLAT_EPSG: Final = (4490, 4326)


@dataclass(frozen=True)
class RedrawResult:
    """Outcome of a redraw operation.

    Attributes
    ----------
    units : geopandas.GeoDataFrame
        The new units table (a new object; index reset; the input's columns
        in their order, then ``level``, ``parent_code`` and ``kind`` where
        the input lacked them, derived from the codes).
    lineage : list of dict
        Records ``{"code", "related_code", "relation"}`` (directions in the
        module docstring), sorted.
    retired : list of str
        Codes no longer in the table (never to be issued again).
    created : list of str
        Codes new in the table.
    changed : list of str
        Kept codes whose shape or attributes changed.
    operation : str
        What was done, in one line.
    """

    units: gpd.GeoDataFrame
    lineage: list[dict[str, str]]
    retired: list[str]
    created: list[str]
    changed: list[str]
    operation: str = ""

    def summary(self) -> str:
        """Readable account of the operation, one fact per line.

        Examples
        --------
        >>> import geopandas as gpd
        >>> r = RedrawResult(gpd.GeoDataFrame(), [{"code": "b", "related_code": "a",
        ...                  "relation": "split_from"}], ["a"], ["b"], [], "split a")
        >>> print(r.summary())
        split a: 1 created, 1 retired, 0 changed
        created: b
        retired: a
        b split from a
        """
        lines = [
            f"{self.operation or 'redraw'}: {len(self.created)} created, "
            f"{len(self.retired)} retired, {len(self.changed)} changed"
        ]
        for label, codes in (
            ("created", self.created),
            ("retired", self.retired),
            ("changed", self.changed),
        ):
            if codes:
                lines.append(f"{label}: {', '.join(codes)}")
        lines.extend(
            f"{r['code']} {r['relation'].replace('_', ' ')} {r['related_code']}"
            for r in self.lineage
        )
        return "\n".join(lines)


# --------------------------------------------------------------------------- input


def _prepare(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidInput(
            f"units must be a GeoDataFrame (the units table), got {type(units).__name__}"
        )
    if "code" not in units.columns:
        raise InvalidInput("units have no 'code' column")
    if units.crs is None:
        raise CRSMismatch("units have no CRS; redraw works on lon/lat EPSG:4490 units")
    if units.crs.to_epsg() not in _LONLAT_EPSG:
        raise CRSMismatch(
            f"units are in {units.crs.name}; redraw works on lon/lat EPSG:4490 units: "
            "reproject first with to_crs(4490)"
        )
    frame = units.copy().reset_index(drop=True)
    frame["code"] = normalize_codes(frame["code"])
    derived = derive_level(frame["code"])
    if "level" in frame.columns:
        level = frame["level"].astype(object)
        frame["level"] = level.where(level.notna(), derived)
    else:
        frame["level"] = derived
    frame["level"] = frame["level"].astype(object).where(frame["level"].notna(), None)
    if "parent_code" in frame.columns:
        parent = normalize_codes(frame["parent_code"], "parent_code")
        derived_parent = derive_parent_code(frame["code"], frame["level"])
        frame["parent_code"] = parent.where(parent.notna(), derived_parent)
    else:
        frame["parent_code"] = derive_parent_code(frame["code"], frame["level"])
    derived_kind = derive_kind(frame["code"], frame["level"])
    if "kind" in frame.columns:
        kind = frame["kind"].astype(object)
        frame["kind"] = kind.where(kind.notna(), derived_kind)
    else:
        frame["kind"] = derived_kind
    return frame


def _reserved(reserved: Collection[str]) -> set[str]:
    if isinstance(reserved, str):
        raise InvalidInput("reserved must be a collection of codes, not a single string")
    out = set()
    for code in reserved:
        if not isinstance(code, str):
            raise InvalidInput(f"reserved codes are strings, got {code!r}")
        out.add(code)
    return out


def _code_list(codes: Sequence[str], what: str) -> list[str]:
    if isinstance(codes, str) or not isinstance(codes, Iterable):
        raise InvalidInput(f"{what} must be a list of codes, got {codes!r}")
    out: list[str] = []
    for code in codes:
        if not isinstance(code, str):
            raise InvalidInput(f"codes are strings, got {code!r}")
        if code in out:
            raise InvalidInput(f"code {code} is listed twice in {what}")
        out.append(code)
    return out


def _lonlat_range(geom: BaseGeometry, what: str) -> None:
    xmin, ymin, xmax, ymax = shapely.bounds(geom)
    if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
        raise InvalidInput(f"{what} has non-finite coordinates")
    if max(abs(xmin), abs(xmax)) > 180 or max(abs(ymin), abs(ymax)) > 90:
        raise CRSMismatch(
            f"{what} has coordinates outside the lon/lat range (x {xmin:.0f}..{xmax:.0f}, "
            f"y {ymin:.0f}..{ymax:.0f}); give it in lon/lat EPSG:4490"
        )


def _is_polygonal(geom: Any) -> bool:
    return (
        isinstance(geom, BaseGeometry)
        and not geom.is_empty
        and geom.geom_type in ("Polygon", "MultiPolygon")
    )


class _Edit:
    """Working state of one operation: changes to kept rows, retired rows, new rows."""

    def __init__(self, units: gpd.GeoDataFrame, frame: gpd.GeoDataFrame, reserved: set[str]):
        self.units = units
        self.frame = frame
        self.geomcol = frame.geometry.name
        self.geoms = np.asarray(frame.geometry.values, dtype=object)
        self.codes: list[Any] = frame["code"].tolist()
        self.levels: list[Any] = frame["level"].tolist()
        self.parents: list[Any] = frame["parent_code"].tolist()
        self.kinds: list[Any] = frame["kind"].tolist()
        self.new_geoms: dict[int, Any] = {}
        self.new_attrs: dict[int, dict[str, Any]] = {}
        self.retired: set[int] = set()
        self.added: list[dict[str, Any]] = []
        self.lineage: list[dict[str, str]] = []
        self.taken: set[str] = set(reserved) | {c for c in self.codes if isinstance(c, str)}

    # --- lookups
    def position(self, code: str) -> int:
        if not isinstance(code, str):
            raise InvalidInput(f"codes are strings, got {code!r}")
        hits = [i for i, c in enumerate(self.codes) if c == code]
        if not hits:
            raise NotFound(f"unit {code} is not in the units table")
        if len(hits) > 1:
            raise InvalidInput(
                f"code {code} appears {len(hits)} times in the units table; codes must be unique"
            )
        return hits[0]

    def redrawable(self, code: str) -> int:
        pos = self.position(code)
        level = self.levels[pos]
        if level not in _REDRAWN:
            raise InvalidInput(
                f"{code} is a {level or 'unit of unknown level'}; redraw operations work on "
                "grids and micro-grids (streets and communities keep their official boundaries)"
            )
        if not _is_polygonal(self.geoms[pos]):
            raise InvalidInput(f"{code} has no polygon geometry to redraw")
        return pos

    def siblings(self, pos: int) -> list[int]:
        """Rows of the same level, parent and kind with a polygon (``pos`` included)."""
        key = (self.levels[pos], self.parents[pos], self.kinds[pos])
        return [
            i
            for i in range(len(self.codes))
            if (self.levels[i], self.parents[i], self.kinds[i]) == key
            and i not in self.retired
            and _is_polygonal(self.geoms[i])
        ]

    def children(self, positions: Sequence[int]) -> list[int]:
        codes = {self.codes[p] for p in positions}
        return [
            i
            for i in range(len(self.codes))
            if self.parents[i] in codes
            and self.levels[i] == "microgrid"
            and i not in self.retired
            and _is_polygonal(self.geoms[i])
        ]

    def value(self, pos: int, col: str) -> int | None:
        if col not in self.frame.columns:
            return None
        return _number(self.new_attrs.get(pos, {}).get(col, self.frame.at[pos, col]))

    def current_geom(self, pos: int) -> Any:
        return self.new_geoms.get(pos, self.geoms[pos])

    # --- changes
    def set_geom(self, pos: int, geom: Any) -> None:
        self.new_geoms[pos] = geom

    def set_attr(self, pos: int, col: str, value: Any) -> None:
        if col in self.frame.columns:
            self.new_attrs.setdefault(pos, {})[col] = value

    def retire(self, pos: int) -> None:
        self.retired.add(pos)

    def new_row(self, source: int, geom: Any, **values: Any) -> dict[str, Any]:
        row = {c: self.frame.at[source, c] for c in self.frame.columns if c != self.geomcol}
        row.update(self.new_attrs.get(source, {}))
        row[self.geomcol] = geom
        for col, value in values.items():
            if col in self.frame.columns or col in ("code", "parent_code"):
                row[col] = value
        row["_anchor"] = source
        row["_sub"] = len(self.added)
        self.added.append(row)
        return row

    def assign(self, rows: list[dict[str, Any]]) -> None:
        """Give new rows codes: reading order per parent and kind, first free sequences."""
        if not rows:
            return
        table = gpd.GeoDataFrame(
            {
                "parent_code": [r["parent_code"] for r in rows],
                "kind": [r["kind"] for r in rows],
                "level": [r["level"] for r in rows],
            },
            geometry=[r[self.geomcol] for r in rows],
            crs=self.frame.crs,
        )
        codes = assign_codes(table, reserved=self.taken)
        for row, code in zip(rows, codes.tolist(), strict=True):
            row["code"] = code
            self.taken.add(code)

    def link(self, code: str, related: str, relation: str) -> None:
        self.lineage.append({"code": code, "related_code": related, "relation": relation})

    # --- result
    def result(self, operation: str) -> RedrawResult:
        frame, geomcol, crs = self.frame, self.geomcol, self.frame.crs
        n = len(frame)
        geoms = self.geoms.copy()
        for pos, geom in self.new_geoms.items():
            geoms[pos] = geom
        out = pd.DataFrame(frame.drop(columns=geomcol))
        for pos, attrs in self.new_attrs.items():
            for col, value in attrs.items():
                out.at[pos, col] = value
        out[geomcol] = list(geoms)
        out["_anchor"] = np.arange(n)
        out["_sub"] = -1
        out = out.drop(index=sorted(self.retired))
        if self.added:
            added = pd.DataFrame(self.added)
            added = added.reindex(columns=out.columns)
            out = pd.concat([out.astype(object), added.astype(object)], ignore_index=True)
        out = out.sort_values(["_anchor", "_sub"], kind="stable").drop(columns=["_anchor", "_sub"])
        table = gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geomcol, crs=crs)
        order = list(self.units.columns)
        table = table[order + [c for c in table.columns if c not in order]]
        for col in self.units.columns:
            if col in (geomcol, "code", "parent_code") or col not in table.columns:
                continue
            with contextlib.suppress(TypeError, ValueError):
                table[col] = table[col].astype(self.units[col].dtype)
        changed = set()
        for pos, geom in self.new_geoms.items():
            if pos in self.retired:
                continue
            old = self.geoms[pos]
            if float(shapely.hausdorff_distance(old, geom)) > CHANGE_DEG:
                changed.add(self.codes[pos])
        for pos, attrs in self.new_attrs.items():
            if pos not in self.retired and any(
                not _same(frame.at[pos, col], value) for col, value in attrs.items()
            ):
                changed.add(self.codes[pos])
        lineage = sorted(
            {tuple(r.items()) for r in self.lineage}, key=lambda t: (t[2][1], t[0][1], t[1][1])
        )
        return RedrawResult(
            units=table,
            lineage=[dict(r) for r in lineage],
            retired=sorted(str(self.codes[p]) for p in self.retired),
            created=sorted(str(r["code"]) for r in self.added),
            changed=sorted(str(c) for c in changed),
            operation=operation,
        )


def _number(value: Any) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return None
    return int(round(float(value)))


def _same(a: Any, b: Any) -> bool:
    na_a = a is None or a is pd.NA or (isinstance(a, float) and np.isnan(a))
    na_b = b is None or b is pd.NA or (isinstance(b, float) and np.isnan(b))
    if na_a or na_b:
        return na_a and na_b
    return bool(a == b)


# ------------------------------------------------------------------------ geometry


def _multi(geom: Any) -> shapely.MultiPolygon:
    parts = [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type == "Polygon" and not p.is_empty and p.area > 0
    ]
    return shapely.MultiPolygon(parts)


def _faces(polys: Sequence[Any], lines: Sequence[Any] = ()) -> np.ndarray:
    """Faces of the noded boundaries of ``polys`` plus ``lines`` (snap-rounded)."""
    work = [shapely.boundary(p) for p in polys] + list(lines)
    noded = shapely.union_all(np.asarray(work, dtype=object), grid_size=GRID_DEG)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return np.asarray(faces[shapely.area(faces) > 0], dtype=object)


def _inside(faces: np.ndarray, polys: Sequence[Any]) -> np.ndarray:
    """Boolean matrix: face i lies in polygon j (by its interior point)."""
    arr = np.asarray(list(polys), dtype=object)
    out = np.zeros((len(faces), len(arr)), dtype=bool)
    if len(faces) and len(arr):
        tree = shapely.STRtree(arr)
        fi, pj = tree.query(shapely.point_on_surface(faces), predicate="within")
        out[fi, pj] = True
    return out


def _owner(inside: np.ndarray) -> np.ndarray:
    """First polygon holding each face, -1 for none."""
    if inside.shape[1] == 0:
        return np.full(inside.shape[0], -1)
    return np.where(inside.any(axis=1), inside.argmax(axis=1), -1)


def _face_areas(faces: np.ndarray) -> np.ndarray:
    return np.asarray(area_m2(faces), dtype=float)


def _union(faces: np.ndarray, mask: np.ndarray) -> Any:
    if not mask.any():
        return None
    return _multi(shapely.coverage_union_all(faces[mask]))


def _renode(polys: Sequence[Any]) -> list[Any]:
    """The polygons rebuilt from common faces: shared edges vertex for vertex."""
    faces = _faces(polys)
    inside = _inside(faces, polys)
    out = []
    for j, poly in enumerate(polys):
        union = _union(faces, inside[:, j])
        out.append(union if union is not None else poly)
    return out


def _snap(geom: Any, reference: Sequence[Any], snap_m: float) -> Any:
    """Snap vertices onto the reference boundaries within ``snap_m`` metres.

    First every vertex within reach of a reference edge moves onto its nearest
    point; then :func:`shapely.snap` moves vertices onto reference vertices
    and inserts reference vertices into segments passing within reach. A
    polygon that would become invalid is returned unsnapped.
    """
    if snap_m < 0:
        raise InvalidInput(f"snap_m must be >= 0, got {snap_m}")
    if snap_m == 0 or not len(reference):
        return geom
    tol = snap_m / _M_PER_DEG
    edges = shapely.get_parts(shapely.boundary(np.asarray(list(reference), dtype=object)))
    ref = shapely.multilinestrings(edges)
    coords = shapely.get_coordinates(geom)
    points = shapely.points(coords)
    dist = shapely.distance(points, ref)
    near = (dist > 0) & (dist <= tol)
    moved = geom
    if near.any():
        onto = shapely.get_coordinates(shapely.shortest_line(points[near], ref))[1::2]
        coords = coords.copy()
        coords[near] = onto
        moved = shapely.transform(geom, lambda _: coords)
    snapped = shapely.snap(moved, ref, tol)
    if snapped.is_empty or (_is_polygonal(geom) and not snapped.is_valid):
        return geom
    return snapped


def _shared_m(a: Any, b: Any) -> float:
    """Length of boundary shared by two polygons (metres)."""
    common = shapely.intersection(shapely.boundary(a), shapely.boundary(b))
    if common.is_empty:
        return 0.0
    return float(length_m([common])[0])


def _where(geom: Any) -> list[float]:
    p = shapely.point_on_surface(geom)
    return [round(float(p.x), 7), round(float(p.y), 7)]


def _n_parts(geom: Any) -> int:
    return len([p for p in shapely.get_parts(geom) if not p.is_empty])


def _apportion(total: int | None, weights: Sequence[float] | np.ndarray) -> list[int | None]:
    """Split a whole number by weights with the largest-remainder method.

    Examples
    --------
    >>> _apportion(10, [1, 1, 1])
    [4, 3, 3]
    >>> _apportion(None, [1, 2])
    [None, None]
    """
    n = len(weights)
    if total is None:
        return [None] * n
    w = np.asarray(weights, dtype=float)
    if not np.isfinite(w).all() or w.sum() <= 0:
        w = np.ones(n)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(int)
    rest = int(total - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return [int(v) for v in base]


# ------------------------------------------------------------- children follow


@dataclass(frozen=True)
class _Parent:
    code: str
    geom: Any


def _follow(
    ed: _Edit,
    kids: Sequence[int],
    parents: Sequence[_Parent],
    min_piece_m2: float,
    snap_m: float,
) -> list[tuple[str, str, str, int]]:
    """Micro-grids follow the area of their (new) grids; returns count transfers.

    Each transfer is ``(from parent code, to parent code, column, value)``.
    """
    if not kids:
        return []
    par_geoms = [p.geom for p in parents]
    kid_geoms = [_snap(ed.geoms[k], par_geoms, snap_m) for k in kids]
    faces = _faces(kid_geoms + par_geoms)
    in_kid = _inside(faces, kid_geoms)
    face_par = _owner(_inside(faces, par_geoms))
    face_area = area_m2(faces)

    pieces = _conform(ed, kids, faces, face_area, in_kid, face_par, min_piece_m2)

    rows: list[dict[str, Any]] = []
    links: list[tuple[str, dict[str, Any], str]] = []
    transfers: list[tuple[str, str, str, int]] = []
    for k, pos in enumerate(kids):
        mine = sorted((p, sel) for (kk, p), sel in pieces.items() if kk == k)
        old_code, old_parent = str(ed.codes[pos]), str(ed.parents[pos])
        if not mine:  # a noise-sized micro-grid with no place left
            ed.retire(pos)
            continue
        geoms = [_union(faces, np.isin(np.arange(len(faces)), sel)) for _, sel in mine]
        targets = [parents[p].code for p, _ in mine]
        if len(mine) == 1 and targets[0] == old_parent:
            ed.set_geom(pos, geoms[0])
            continue
        ed.retire(pos)
        if len(mine) == 1:
            row = ed.new_row(pos, geoms[0], parent_code=targets[0])
            rows.append(row)
            links.append((old_code, row, "replaced_by"))
            for col in _COUNTS:
                v = ed.value(pos, col)
                if v is not None:
                    transfers.append((old_parent, targets[0], col, v))
            continue
        order = reading_order(geoms)
        areas = area_m2([geoms[i] for i in order])
        shares = {col: _apportion(ed.value(pos, col), areas) for col in _COUNTS}
        largest = int(np.argmax(areas))
        name = ed.frame.at[pos, "name"] if "name" in ed.frame.columns else None
        for rank, i in enumerate(order.tolist()):
            values: dict[str, Any] = {"parent_code": targets[i]}
            if isinstance(name, str):
                values["name"] = f"{name}-{rank + 1}"
            for col in _COUNTS:
                share = shares[col][rank]
                values[col] = share
                if share is not None:
                    transfers.append((old_parent, targets[i], col, share))
            for col in _WORKERS:
                values[col] = ed.value(pos, col) if rank == largest else 0
            row = ed.new_row(pos, geoms[i], **values)
            rows.append(row)
            links.append((old_code, row, "split_from"))
    ed.assign(rows)
    for old_code, row, relation in links:
        if relation == "split_from":
            ed.link(row["code"], old_code, relation)
        else:
            ed.link(old_code, row["code"], relation)
    return transfers


def _is_crumb(geom: Any, area: float, min_piece_m2: float) -> bool:
    """Too small (< min_piece_m2) or too thin (mean width < CRUMB_WIDTH_M) to be a unit."""
    if area < min_piece_m2:
        return True
    perimeter = float(length_m([geom])[0])
    return perimeter > 0 and 2 * area / perimeter < CRUMB_WIDTH_M


def _face_groups(faces: np.ndarray, sel: np.ndarray) -> list[tuple[Any, np.ndarray]]:
    """Connected pieces of the faces ``sel``: (geometry, faces) pairs."""
    if not sel.size:
        return []
    parts = shapely.get_parts(shapely.coverage_union_all(faces[sel]))
    part_of = _owner(_inside(faces[sel], parts))
    return [(part, sel[part_of == i]) for i, part in enumerate(parts)]


def _conform(
    ed: _Edit,
    kids: Sequence[int],
    faces: np.ndarray,
    face_area: np.ndarray,
    in_kid: np.ndarray,
    face_par: np.ndarray,
    min_piece_m2: float,
) -> dict[tuple[int, int], np.ndarray]:
    """Pieces (micro-grid, new grid) → faces, conformed to the grids' boundaries.

    Micro-grid area outside every grid is dropped when it is a crumb (see
    :func:`_is_crumb`) and a Conflict otherwise. Crumbs cut off a micro-grid
    join the micro-grid of the same grid and kind sharing the longest boundary
    with them, else are dropped.
    """
    idx = np.arange(len(faces))
    outside: list[tuple[list[str], float]] = []
    for comp, sel in _face_groups(faces, np.flatnonzero((face_par < 0) & in_kid.any(axis=1))):
        area = float(face_area[sel].sum())
        if not _is_crumb(comp, area, min_piece_m2):
            owners = np.flatnonzero(in_kid[sel].any(axis=0)).tolist()
            outside.append(([str(ed.codes[kids[k]]) for k in owners], area))
    if outside:
        shown = ", ".join(f"{'/'.join(c)} ({a:,.1f} m²)" for c, a in outside)
        raise Conflict(
            f"micro-grids would lie outside every grid after this change: {shown}; move or "
            "redraw them first, or adjust the neighbours",
            {"outside": [{"codes": c, "area_m2": round(a, 2)} for c, a in outside]},
        )

    pieces: dict[tuple[int, int], np.ndarray] = {}
    for k in range(len(kids)):
        fk = np.flatnonzero(in_kid[:, k] & (face_par >= 0))
        for p in np.unique(face_par[fk]).tolist():
            pieces[(k, p)] = fk[face_par[fk] == p]

    def geom(sel: np.ndarray) -> Any:
        return _union(faces, np.isin(idx, sel))

    crumbs: list[tuple[int, int, np.ndarray]] = []
    for k in range(len(kids)):
        mine = [key for key in pieces if key[0] == k]
        if len(mine) < 2:
            continue
        areas = {key: float(face_area[pieces[key]].sum()) for key in mine}
        largest = max(mine, key=lambda key: (areas[key], -key[1]))
        for key in mine:
            if key != largest and _is_crumb(geom(pieces[key]), areas[key], min_piece_m2):
                crumbs.append((k, key[1], pieces.pop(key)))
    for k, p, sel in sorted(crumbs, key=lambda c: float(face_area[c[2]].sum())):
        kind = ed.kinds[kids[k]]
        candidates = {
            key: geom(s)
            for key, s in pieces.items()
            if key[1] == p and key[0] != k and ed.kinds[kids[key[0]]] == kind
        }
        best = _longest_border(geom(sel), candidates)
        if best is not None:
            pieces[best] = np.concatenate([pieces[best], sel])
    return pieces


def _longest_border(geom: Any, candidates: dict[Any, Any]) -> Any:
    """Key of the candidate sharing the longest boundary with ``geom`` (None if none does)."""
    best, best_len = None, MIN_SHARED_M
    for key, other in sorted(candidates.items(), key=lambda kv: str(kv[0])):
        if other is None:
            continue
        shared = _shared_m(geom, other)
        if shared > best_len:
            best, best_len = key, shared
    return best


def _apply_transfers(ed: _Edit, transfers: Sequence[tuple[str, str, str, int]]) -> None:
    delta: dict[tuple[str, str], int] = {}
    for src, dst, col, value in transfers:
        if src == dst:
            continue
        delta[(src, col)] = delta.get((src, col), 0) - value
        delta[(dst, col)] = delta.get((dst, col), 0) + value
    for (code, col), d in delta.items():
        if d == 0 or code not in ed.codes:
            continue
        pos = ed.codes.index(code)
        if pos in ed.retired:
            continue
        current = ed.value(pos, col)
        if current is not None:
            ed.set_attr(pos, col, max(current + d, 0))


# -------------------------------------------------------------------- operations


def split_unit(
    units: gpd.GeoDataFrame,
    code: str,
    line: BaseGeometry,
    *,
    reserved: Collection[str] = (),
    full_time_workers: Sequence[int] | None = None,
    snap_m: float = SNAP_M,
    min_piece_m2: float = MIN_PIECE_M2,
) -> RedrawResult:
    """Split a grid or micro-grid in two (or more) by a line.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units table of a generation (EPSG:4490). Not modified.
    code : str
        The grid or micro-grid to split; its code retires.
    line : shapely LineString or MultiLineString
        In lon/lat. It must cross the unit from boundary to boundary (or close
        a loop inside it); it may run on beyond the unit, which is ignored.
        It is first snapped to the vertices of the unit and its micro-grids
        within ``snap_m`` metres.
    reserved : collection of str
        Codes never to issue (the code registry); codes in ``units`` are
        never issued either.
    full_time_workers : sequence of int, optional
        Full-time workers of each piece, in reading order (the order of the
        new codes). Default: all of them to the largest piece.
    snap_m : float
        Snapping distance in metres (0 to switch snapping off), also used to
        conform the micro-grids to the new grid boundaries.
    min_piece_m2 : float
        Smallest piece the line may cut off the unit; smaller pieces of cut
        micro-grids are crumbs (module docstring).

    Returns
    -------
    RedrawResult
        The pieces get new codes under the unit's parent, in reading order,
        named ``"<name>-1"``, ``"<name>-2"`` …, with lineage ``split_from``.
        Micro-grids of a split grid follow the area (module docstring).

    Raises
    ------
    NotFound
        If ``code`` is not in the table.
    InvalidInput
        If the unit is not a grid or micro-grid, the line is not a line in
        lon/lat, misses the unit, does not cross it fully, or cuts off a
        piece smaller than ``min_piece_m2``; or ``full_time_workers`` does
        not give one number per piece.
    Conflict
        If the reserved codes leave no free sequence.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> units = gpd.GeoDataFrame(
    ...     {"code": ["330109001001001"], "name": ["一"], "households": [400]},
    ...     geometry=[box(120.26, 30.18, 120.27, 30.19)], crs=4490)
    >>> r = split_unit(units, "330109001001001", LineString([(120.265, 30.17), (120.265, 30.2)]))
    >>> r.units[["code", "name", "households"]].values.tolist()
    [['330109001001002', '一-1', 200], ['330109001001003', '一-2', 200]]
    >>> r.lineage[0]
    {'code': '330109001001002', 'related_code': '330109001001001', 'relation': 'split_from'}
    """
    frame = _prepare(units)
    ed = _Edit(units, frame, _reserved(reserved))
    pos = ed.redrawable(code)
    target = ed.geoms[pos]
    kids = ed.children([pos]) if ed.levels[pos] == "grid" else []
    line = _snap(_check_line(line), [target] + [ed.geoms[k] for k in kids], snap_m)
    if not shapely.intersects(line, target):
        raise InvalidInput(
            f"the split line does not touch {code}: it must cross the unit from one side "
            "to the other"
        )
    pieces = _cut(target, line)
    if len(pieces) < 2:
        raise InvalidInput(
            f"the split line does not cross {code} fully: it must enter and leave the unit "
            "(or close a loop inside it); a line that ends inside the unit or only touches "
            "its boundary divides nothing"
        )
    order = reading_order(pieces)
    pieces = [pieces[i] for i in order.tolist()]
    areas = area_m2(pieces)
    tiny = np.flatnonzero(areas < min_piece_m2)
    if tiny.size:
        i = int(tiny[0])
        raise InvalidInput(
            f"the split line cuts a piece of only {areas[i]:,.2f} m² off {code} (around "
            f"{_where(pieces[i])}); pieces must be at least {min_piece_m2} m²",
            {"area_m2": round(float(areas[i]), 3), "location": _where(pieces[i])},
        )
    if full_time_workers is not None and (
        isinstance(full_time_workers, str)
        or len(full_time_workers) != len(pieces)
        or any(not isinstance(w, int | np.integer) or w < 0 for w in full_time_workers)
    ):
        raise InvalidInput(
            f"full_time_workers must give one non-negative whole number per piece "
            f"({len(pieces)} pieces), got {full_time_workers!r}"
        )

    # Pieces and neighbours from common faces: the split points enter the neighbours' rings.
    sibs = [s for s in ed.siblings(pos) if s != pos]
    rebuilt = _renode([ed.geoms[s] for s in sibs] + pieces)
    for s, geom in zip(sibs, rebuilt, strict=False):
        ed.set_geom(s, geom)
    pieces = rebuilt[len(sibs) :]

    name = frame.at[pos, "name"] if "name" in frame.columns else None
    rows = []
    for rank, geom in enumerate(pieces):
        values: dict[str, Any] = {}
        if isinstance(name, str):
            values["name"] = f"{name}-{rank + 1}"
        rows.append(ed.new_row(pos, geom, **values))
    ed.assign(rows)
    ed.retire(pos)
    for row in rows:
        ed.link(row["code"], code, "split_from")

    transfers = _follow(
        ed, kids, [_Parent(r["code"], r[ed.geomcol]) for r in rows], min_piece_m2, snap_m
    )
    piece_areas = area_m2(pieces)
    for col in _COUNTS:
        weights: Sequence[float] | np.ndarray = piece_areas
        kid_values = [ed.value(k, col) for k in kids]
        if kids and all(v is not None for v in kid_values):
            by_part = {r["code"]: 0.0 for r in rows}
            for _, dst, c, value in transfers:
                if c == col and dst in by_part:
                    by_part[dst] += value
            if sum(by_part.values()) > 0:
                weights = [by_part[r["code"]] for r in rows]
        for row, share in zip(rows, _apportion(ed.value(pos, col), weights), strict=True):
            row[col] = share
    largest = int(np.argmax(piece_areas))
    for col in _WORKERS:
        total = ed.value(pos, col)
        for rank, row in enumerate(rows):
            if col == "full_time_workers" and full_time_workers is not None:
                row[col] = int(full_time_workers[rank])
            elif col in frame.columns:
                row[col] = total if rank == largest else (0 if total is not None else None)
    return ed.result(f"split {code} into {len(rows)}")


def _check_line(line: Any) -> BaseGeometry:
    if not isinstance(line, shapely.LineString | shapely.MultiLineString) or line.is_empty:
        raise InvalidInput(
            "the split line must be a non-empty LineString or MultiLineString in lon/lat "
            f"(EPSG:4490), got {getattr(line, 'geom_type', type(line).__name__)}"
        )
    _lonlat_range(line, "the split line")
    return line


def _cut(target: Any, line: Any) -> list[Any]:
    """Pieces of ``target`` cut by ``line``; parts of a multi-polygon the line does not cut
    join the nearest piece."""
    faces = _faces([target], [line])
    faces = faces[_inside(faces, [target])[:, 0]]
    parts = shapely.get_parts(target)
    part_of = _owner(_inside(faces, parts))
    cut = [p for p in range(len(parts)) if (part_of == p).sum() >= 2]
    if not cut:
        return []
    is_piece = np.isin(part_of, cut)
    groups = [[int(i)] for i in np.flatnonzero(is_piece)]
    for i in np.flatnonzero(~is_piece).tolist():
        dist = [min(shapely.distance(faces[i], faces[j]) for j in g) for g in groups]
        groups[int(np.argmin(dist))].append(i)
    return [_multi(shapely.coverage_union_all(faces[g])) for g in groups]


def merge_units(
    units: gpd.GeoDataFrame,
    codes: Sequence[str],
    *,
    reserved: Collection[str] = (),
    name: str | None = None,
    snap_m: float = SNAP_M,
    min_piece_m2: float = MIN_PIECE_M2,
) -> RedrawResult:
    """Merge contiguous sibling grids (or micro-grids) into one unit with a new code.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units table (EPSG:4490). Not modified.
    codes : sequence of str
        Two or more siblings: same level (grid or micro-grid), same parent,
        same kind; together one contiguous area (every one shares an edge
        with another, directly or through the others).
    reserved : collection of str
        Codes never to issue; codes in ``units`` are never issued either.
    name : str, optional
        Name of the merged unit; default the merged names joined with "、".
    snap_m, min_piece_m2 : float
        See :func:`split_unit` (used when the micro-grids are conformed).

    Returns
    -------
    RedrawResult
        One new unit (coverage union of the merged polygons, shared vertices
        kept), figures summed (module docstring), lineage ``merged_into``
        for every old code; micro-grids re-parented and recoded under the
        new code (``replaced_by``).

    Raises
    ------
    NotFound
        If a code is not in the table.
    InvalidInput
        Fewer than two codes, units that are not siblings (the message names
        the offending codes and what differs), or not contiguous.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame(
    ...     {"code": ["330109001001001", "330109001001002"], "name": ["一", "二"],
    ...      "households": [300, 200]},
    ...     geometry=[box(120.26, 30.18, 120.27, 30.19), box(120.27, 30.18, 120.28, 30.19)],
    ...     crs=4490)
    >>> r = merge_units(units, ["330109001001001", "330109001001002"])
    >>> r.units[["code", "name", "households"]].values.tolist()
    [['330109001001003', '一、二', 500]]
    """
    frame = _prepare(units)
    ed = _Edit(units, frame, _reserved(reserved))
    wanted = _code_list(codes, "codes")
    if len(wanted) < 2:
        raise InvalidInput(f"merging needs at least two codes, got {wanted}")
    positions = [ed.redrawable(c) for c in wanted]
    first = positions[0]
    key = (ed.levels[first], ed.parents[first], ed.kinds[first])
    odd = []
    for c, p in zip(wanted[1:], positions[1:], strict=True):
        diffs = [
            f"{what} {mine} instead of {theirs}"
            for what, mine, theirs in zip(
                ("level", "parent", "kind"),
                (ed.levels[p], ed.parents[p], ed.kinds[p]),
                key,
                strict=True,
            )
            if mine != theirs
        ]
        if diffs:
            odd.append(f"{c} ({', '.join(diffs)})")
    if odd:
        raise InvalidInput(
            f"only siblings (same level, parent and kind as {wanted[0]}: {key[0]} of "
            f"{key[1]}, {key[2]}) can be merged; not siblings: {'; '.join(odd)}",
            {"codes": [o.split(" ")[0] for o in odd]},
        )

    sibs = ed.siblings(first)
    polys = [ed.geoms[s] for s in sibs]
    faces = _faces(polys)
    inside = _inside(faces, polys)
    rebuilt = [_union(faces, inside[:, j]) for j in range(len(sibs))]
    index = {s: j for j, s in enumerate(sibs)}
    merged_idx = [index[p] for p in positions]
    _check_contiguous(wanted, [rebuilt[j] for j in merged_idx])
    for s, j in index.items():
        if s not in positions and rebuilt[j] is not None:
            ed.set_geom(s, rebuilt[j])
    merged = _union(faces, np.asarray(inside[:, merged_idx].any(axis=1)))

    areas = area_m2([ed.geoms[p] for p in positions])
    source = positions[int(np.argmax(areas))]
    values: dict[str, Any] = {}
    if "name" in frame.columns:
        names = [frame.at[p, "name"] for p in positions]
        joined = "、".join(str(n) for n in names if isinstance(n, str) and n)
        values["name"] = name if name is not None else (joined or None)
    for col in _COUNTS:
        figures = [ed.value(p, col) for p in positions]
        values[col] = None if any(v is None for v in figures) else sum(v or 0 for v in figures)
    for col in _WORKERS:
        values[col] = sum(ed.value(p, col) or 0 for p in positions)
    row = ed.new_row(source, merged, **values)
    ed.assign([row])
    for c, p in zip(wanted, positions, strict=True):
        ed.retire(p)
        ed.link(c, row["code"], "merged_into")
    kids = ed.children(positions) if key[0] == "grid" else []
    _follow(ed, kids, [_Parent(row["code"], merged)], min_piece_m2, snap_m)
    return ed.result(f"merge {', '.join(wanted)} into {row['code']}")


def _components(labels: Sequence[str], geoms: Sequence[Any]) -> list[list[str]]:
    """Groups of units connected by shared edges."""
    n = len(geoms)
    group = list(range(n))

    def find(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if _shared_m(geoms[i], geoms[j]) > MIN_SHARED_M:
                group[find(i)] = find(j)
    out: dict[int, list[str]] = {}
    for i in range(n):
        out.setdefault(find(i), []).append(labels[i])
    return list(out.values())


def _check_contiguous(codes: Sequence[str], geoms: Sequence[Any]) -> None:
    groups = _components(codes, geoms)
    if len(groups) > 1:
        shown = " | ".join(", ".join(g) for g in groups)
        raise InvalidInput(
            f"the units to merge are not contiguous: they form {len(groups)} separate areas "
            f"({shown}); only units sharing edges can be merged",
            {"groups": groups},
        )


def move_units(
    units: gpd.GeoDataFrame,
    codes: Sequence[str],
    new_parent: str,
    *,
    reserved: Collection[str] = (),
    snap_m: float = SNAP_M,
    min_piece_m2: float = MIN_PIECE_M2,
) -> RedrawResult:
    """Move micro-grids to a neighbouring grid, adjusting both grids' boundaries.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units table (EPSG:4490). Not modified.
    codes : sequence of str
        Micro-grids to move. Each must share an edge with ``new_parent``,
        directly or through other micro-grids moved with it.
    new_parent : str
        The grid receiving them: a grid of the same community and kind as
        their current grids.
    reserved : collection of str
        Codes never to issue; codes in ``units`` are never issued either.
    snap_m, min_piece_m2 : float
        See :func:`split_unit` (used when the micro-grids are conformed).

    Returns
    -------
    RedrawResult
        The old grids lose the micro-grids' area, the new grid gains it
        (shared edges vertex for vertex); the moved micro-grids get new codes
        under ``new_parent`` in reading order (lineage ``replaced_by``); the
        grids' population and households move with the micro-grids' figures
        where those are known. The other micro-grids keep their codes.

    Raises
    ------
    NotFound
        If a code is not in the table, or a moved micro-grid's grid is not.
    InvalidInput
        If a code is not a micro-grid, ``new_parent`` is not a grid, already
        holds one of them, lies in another community or is of another kind,
        or a micro-grid is not adjacent to it.
    Conflict
        If an old grid would be left empty or cut in pieces.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame(
    ...     {"code": ["330109001001001", "330109001001002", "330109001001001001",
    ...               "330109001001001002", "330109001001002001"]},
    ...     geometry=[box(0, 0, 2, 1), box(2, 0, 3, 1), box(0, 0, 1, 1), box(1, 0, 2, 1),
    ...               box(2, 0, 3, 1)], crs=4490)
    >>> r = move_units(units, ["330109001001001002"], "330109001001002")
    >>> [(x["code"], x["relation"], x["related_code"]) for x in r.lineage]
    [('330109001001001002', 'replaced_by', '330109001001002002')]
    >>> [round(g.area, 6) for g in r.units.geometry[:2]]
    [1.0, 2.0]
    """
    frame = _prepare(units)
    ed = _Edit(units, frame, _reserved(reserved))
    wanted = _code_list(codes, "codes")
    if not wanted:
        raise InvalidInput("no micro-grids to move")
    moved = [ed.redrawable(c) for c in wanted]
    not_micro = [c for c, p in zip(wanted, moved, strict=True) if ed.levels[p] != "microgrid"]
    if not_micro:
        raise InvalidInput(f"only micro-grids can be moved; not micro-grids: {not_micro}")
    g = ed.redrawable(new_parent)
    if ed.levels[g] != "grid":
        raise InvalidInput(f"the new parent {new_parent} is a {ed.levels[g]}, not a grid")
    already = [c for c, p in zip(wanted, moved, strict=True) if ed.parents[p] == new_parent]
    if already:
        raise InvalidInput(f"micro-grids {already} already belong to {new_parent}")
    old_codes = sorted({str(ed.parents[p]) for p in moved})
    olds = []
    for oc in old_codes:
        try:
            olds.append(ed.redrawable(oc))
        except NotFound:
            raise NotFound(
                f"grid {oc} of the micro-grids to move is not in the units table"
            ) from None
    for oc, o in zip(old_codes, olds, strict=True):
        if ed.parents[o] != ed.parents[g] or ed.kinds[o] != ed.kinds[g]:
            raise InvalidInput(
                f"micro-grids can only move between grids of one community and kind: "
                f"{oc} is a {ed.kinds[o]} grid of {ed.parents[o]}, {new_parent} a "
                f"{ed.kinds[g]} grid of {ed.parents[g]}"
            )

    sibs = ed.siblings(g)
    grid_polys = [ed.geoms[s] for s in sibs]
    # conform the moved micro-grids to the grid edges (they commonly differ by millimetres)
    moved_polys = [_snap(ed.geoms[p], grid_polys, snap_m) for p in moved]
    faces = _faces(grid_polys + moved_polys)
    face_area = _face_areas(faces)
    owner = _owner(_inside(faces, grid_polys))
    in_moved = _inside(faces, moved_polys)
    index = {s: j for j, s in enumerate(sibs)}
    target = np.where(in_moved.any(axis=1), index[g], owner)

    # adjacency: every moved micro-grid connects to the new grid through shared edges
    pieces = [_union(faces, in_moved[:, i]) for i in range(len(moved))]
    receiver = _union(faces, owner == index[g])
    groups = _components([new_parent, *wanted], [receiver, *pieces])
    detached = [c for grp in groups if new_parent not in grp for c in grp]
    if detached:
        raise InvalidInput(
            f"micro-grids {detached} share no edge with grid {new_parent} (directly or "
            "through the other micro-grids moved); only neighbouring micro-grids can move",
            {"codes": detached},
        )

    for j in sorted({index[o] for o in olds} | {index[g]}):
        unit = str(ed.codes[sibs[j]])
        _settle(
            faces,
            face_area,
            target,
            grid_polys,
            j,
            min_piece_m2,
            empty=f"moving {', '.join(wanted)} would leave grid {unit} empty; merge the grids "
            "instead",
            split=f"moving {', '.join(wanted)} would cut grid {unit} into {{parts}} separate "
            "pieces",
            code=unit,
        )
    changed = [sibs[j] for j in sorted({int(j) for j in target[target != owner] if j >= 0})]
    changed = sorted(set(changed) | set(olds) | {g})
    for s, j in index.items():
        geom = _union(faces, target == j)
        if geom is not None:
            ed.set_geom(s, geom)

    kids = ed.children(changed)
    transfers = _follow(
        ed,
        kids,
        [_Parent(str(ed.codes[p]), ed.current_geom(p)) for p in changed],
        min_piece_m2,
        snap_m,
    )
    _apply_transfers(ed, transfers)
    return ed.result(f"move {', '.join(wanted)} to {new_parent}")


def replace_geometry(
    units: gpd.GeoDataFrame,
    code: str,
    geometry: BaseGeometry,
    *,
    adjust_neighbours: bool = True,
    reserved: Collection[str] = (),
    snap_m: float = SNAP_M,
    tolerance_m: float = TOLERANCE_M,
    min_piece_m2: float = MIN_PIECE_M2,
) -> RedrawResult:
    """Replace one grid's (or micro-grid's) geometry; its code stays.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units table (EPSG:4490). Not modified.
    code : str
        The unit to redraw.
    geometry : shapely Polygon or MultiPolygon
        The new geometry in lon/lat, valid. Snapped onto the siblings'
        edges and vertices within ``snap_m`` metres (so a boundary drawn along
        a neighbour follows it exactly).
    adjust_neighbours : bool
        True: siblings lose the area the new geometry takes, and each piece
        of area the unit gives up goes to the sibling sharing the longest
        boundary with it (crumbs below ``min_piece_m2`` that border no
        sibling stay with the unit). False: nothing else changes; the new geometry may
        not overlap a sibling, and area given up becomes a gap (which the
        draft's validation reports).
    reserved : collection of str
        Codes never to issue (for micro-grids that change grid).
    snap_m : float
        Snapping distance in metres (0 to switch snapping off).
    tolerance_m : float
        How far the new geometry may reach beyond the parent (when the parent
        is in the table); less is digitising noise and is kept as drawn.
    min_piece_m2 : float
        See :func:`split_unit`.

    Returns
    -------
    RedrawResult
        The unit keeps its code; adjusted neighbours keep theirs; micro-grids
        of the grids that changed follow the area (module docstring).

    Raises
    ------
    NotFound
        If ``code`` is not in the table.
    InvalidInput
        If the unit is not a grid or micro-grid, or ``geometry`` is not a
        valid (multi)polygon in lon/lat.
    Conflict
        If the new geometry reaches more than ``tolerance_m`` beyond the
        parent (details: area outside in m²); with ``adjust_neighbours``, if
        a sibling would vanish or fall apart, or area given up touches no
        sibling (a gap); without it, if the new geometry overlaps siblings
        (details: codes and overlap areas in m²); or if micro-grids would be
        left outside every grid.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame(
    ...     {"code": ["330109001001001", "330109001001002"]},
    ...     geometry=[box(120.26, 30.18, 120.27, 30.19), box(120.27, 30.18, 120.28, 30.19)],
    ...     crs=4490)
    >>> r = replace_geometry(units, "330109001001001", box(120.26, 30.18, 120.275, 30.19))
    >>> r.changed
    ['330109001001001', '330109001001002']
    >>> [round(g.bounds[0], 3) for g in r.units.geometry]
    [120.26, 120.275]
    """
    frame = _prepare(units)
    ed = _Edit(units, frame, _reserved(reserved))
    pos = ed.redrawable(code)
    new = _check_polygon(geometry)
    sibs = ed.siblings(pos)
    polys = [ed.geoms[s] for s in sibs]
    u = sibs.index(pos)
    new = _snap(new, polys, snap_m)
    parent_pos = _parent_position(ed, pos)
    if parent_pos is not None:
        _check_inside_parent(ed, pos, parent_pos, new, tolerance_m)

    faces = _faces(polys, [shapely.boundary(new)])
    inside = _inside(faces, polys)
    owner = _owner(inside)
    in_new = _inside(faces, [new])[:, 0]
    face_area = area_m2(faces)
    target = np.where(in_new, u, owner)
    freed = (owner == u) & ~in_new
    others = [j for j in range(len(sibs)) if j != u]

    if not adjust_neighbours:
        target[freed] = -1
        overlaps = []
        for j in others:
            area = float(face_area[in_new & inside[:, j]].sum())
            if area > MIN_AREA_M2:
                overlaps.append({"code": str(ed.codes[sibs[j]]), "area_m2": round(area, 2)})
        if overlaps:
            shown = ", ".join(f"{o['code']} ({o['area_m2']:,.2f} m²)" for o in overlaps)
            raise Conflict(
                f"the new geometry of {code} overlaps its siblings {shown}; adjust the "
                "neighbours or redraw them first",
                {"overlaps": overlaps},
            )
    elif freed.any():
        _give_away(ed, code, faces, face_area, freed, target, sibs, u, min_piece_m2)

    if adjust_neighbours:
        for j in _touched(owner, target, u):
            if j != u:
                neighbour = str(ed.codes[sibs[j]])
                _settle(
                    faces,
                    face_area,
                    target,
                    polys,
                    j,
                    min_piece_m2,
                    empty=f"the new geometry of {code} would swallow its neighbour {neighbour}",
                    split=f"the new geometry of {code} would cut its neighbour {neighbour} "
                    "into {parts} separate pieces",
                    code=neighbour,
                )
    touched = _touched(owner, target, u)
    rebuilt = [_union(faces, target == j) for j in range(len(sibs))]
    if rebuilt[u] is None:
        raise InvalidInput(f"the new geometry of {code} covers no area")
    for j, s in enumerate(sibs):
        if rebuilt[j] is not None:
            ed.set_geom(s, rebuilt[j])

    changed = [sibs[j] for j in touched]
    if ed.levels[pos] == "grid":
        kids = ed.children(changed)
        transfers = _follow(
            ed,
            kids,
            [_Parent(str(ed.codes[p]), ed.current_geom(p)) for p in changed],
            min_piece_m2,
            snap_m,
        )
        _apply_transfers(ed, transfers)
    return ed.result(f"replace the geometry of {code}")


def _touched(owner: np.ndarray, target: np.ndarray, u: int) -> list[int]:
    moved = target != owner
    return sorted(
        {u} | {int(j) for j in owner[moved] if j >= 0} | {int(j) for j in target[moved] if j >= 0}
    )


def _check_polygon(geometry: Any) -> BaseGeometry:
    if not _is_polygonal(geometry):
        raise InvalidInput(
            "the new geometry must be a non-empty Polygon or MultiPolygon in lon/lat, got "
            f"{getattr(geometry, 'geom_type', type(geometry).__name__)}"
        )
    _lonlat_range(geometry, "the new geometry")
    if not geometry.is_valid:
        raise InvalidInput(
            f"the new geometry is invalid: {shapely.is_valid_reason(geometry)}; repair it "
            "first (e.g. shapely.make_valid)"
        )
    return geometry


def _parent_position(ed: _Edit, pos: int) -> int | None:
    parent = ed.parents[pos]
    hits = [i for i, c in enumerate(ed.codes) if c == parent and _is_polygonal(ed.geoms[i])]
    return hits[0] if len(hits) == 1 else None


def _check_inside_parent(
    ed: _Edit, pos: int, parent_pos: int, new: Any, tolerance_m: float
) -> None:
    parent = ed.geoms[parent_pos]
    if shapely.covers(parent, new):
        return
    crs = local_metric_crs([parent, new])
    (new_m, parent_m), _ = to_local_metric([new, parent], crs)
    beyond = shapely.difference(new_m, shapely.buffer(parent_m, tolerance_m))
    if float(shapely.area(beyond)) > MIN_AREA_M2:
        outside = shapely.difference(new, parent)
        area = float(area_m2([outside])[0])
        raise Conflict(
            f"the new geometry of {ed.codes[pos]} reaches beyond its parent "
            f"{ed.codes[parent_pos]}: {area:,.1f} m² lie outside (more than {tolerance_m} m "
            f"beyond its boundary, around {_where(outside)})",
            {
                "parent": ed.codes[parent_pos],
                "outside_m2": round(area, 2),
                "location": _where(outside),
            },
        )


def _give_away(
    ed: _Edit,
    code: str,
    faces: np.ndarray,
    face_area: np.ndarray,
    freed: np.ndarray,
    target: np.ndarray,
    sibs: Sequence[int],
    u: int,
    min_piece_m2: float,
) -> None:
    """Give each connected piece of freed area to the sibling with the longest shared edge.

    A piece bordering no sibling is a gap (Conflict), unless it is smaller than
    ``min_piece_m2``: such crumbs stay with the unit.
    """
    target[freed] = -1
    pieces = shapely.get_parts(shapely.coverage_union_all(faces[freed]))
    piece_of = _owner(_inside(faces, pieces))
    kept = {j: _union(faces, target == j) for j in range(len(sibs)) if j != u}
    for i, piece in enumerate(pieces):
        mine = freed & (piece_of == i)
        best, best_len = -1, MIN_SHARED_M
        for j, geom in kept.items():
            if geom is None:
                continue
            shared = _shared_m(piece, geom)
            if shared > best_len:
                best, best_len = j, shared
        if best < 0:
            area = float(face_area[mine].sum())
            if area < min_piece_m2:
                target[mine] = u
                continue
            raise Conflict(
                f"area given up by {code} ({area:,.1f} m² around {_where(piece)}) borders no "
                "sibling and would become a gap",
                {
                    "code": code,
                    "reason": "gap",
                    "area_m2": round(area, 2),
                    "location": _where(piece),
                },
            )
        target[mine] = best


def _settle(
    faces: np.ndarray,
    face_area: np.ndarray,
    target: np.ndarray,
    polys: Sequence[Any],
    j: int,
    min_piece_m2: float,
    *,
    empty: str,
    split: str,
    code: str,
) -> None:
    """Unit ``j`` must keep area and not fall apart; crumbs cut off it go to a neighbour.

    Raises ``Conflict(empty)`` or ``Conflict(split.format(parts=n))``.
    """
    mine = target == j
    if float(face_area[mine].sum()) < MIN_AREA_M2:
        raise Conflict(empty, {"code": code, "reason": "vanish"})
    parts = shapely.get_parts(shapely.coverage_union_all(faces[mine]))
    allowed = _n_parts(polys[j])
    if len(parts) <= allowed:
        return
    part_of = _owner(_inside(faces, parts))
    areas = np.array([face_area[mine & (part_of == i)].sum() for i in range(len(parts))])
    extra = np.argsort(-areas, kind="stable")[allowed:]
    if any(not _is_crumb(parts[i], float(areas[i]), min_piece_m2) for i in extra.tolist()):
        raise Conflict(
            split.format(parts=len(parts)), {"code": code, "reason": "split", "parts": len(parts)}
        )
    others = {k: _union(faces, target == k) for k in range(len(polys)) if k != j}
    for i in extra.tolist():
        best = _longest_border(parts[i], others)
        if best is not None:
            target[mine & (part_of == i)] = best
