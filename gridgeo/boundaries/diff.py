"""Diff of two generations of units: what a redraw changes, level by level.

:func:`diff_generations` compares an old and a new units table (see
:mod:`gridgeo.boundaries.mapping`). Every number is reported **per level**
(district, street, community, grid, microgrid, and the special layer as
``special`` / ``special_microgrid``) and never summed across levels: a strip
of 25,000 m² that passes from a grid of one community to a grid of another
moves 25,000 m² at the grid level *and* 25,000 m² at the community level.

* **added / removed**: codes only in the new / only in the old generation;
* **changed**: codes in both whose geometry changed (symmetric difference of
  at least :data:`MIN_AREA_M2`) or whose attributes (name, level, kind,
  parent, population, households, workers) differ, with old/new area and the
  area delta in m²;
* **area moved**: within each level, the area in m² that passes from an old
  code to a different new code (``area(old ∩ new)``). Area of an old unit
  covered by no new unit of its level goes to ``to_code = None``; new area no
  old unit covered comes from ``from_code = None``;
* **re-attribution** of households and workers. Households and population
  are apportioned by area: an old unit's figures are spread over the new
  units in proportion to the share of its area each receives (residents
  spread evenly within the old unit: the best that can be done without
  address points). Workers are people, not densities: an old unit's
  full-time and part-time workers follow the new unit that receives the
  largest share of its area, and count as re-attributed when that unit has
  another code. ``estimated`` sums the apportioned figures per new code (for
  the codes the diff touches);
* **events re-attributed** (:func:`events_reattributed`): event points are
  located in both generations with :class:`gridgeo.locate.LocateIndex` —
  the ownership rules of DESIGN section 4: special grids first, the most
  specific level, the lowest code on shared edges. An event is re-attributed
  at a level when its chain's unit of that level differs between the two
  answers (an event owned by a special grid has no base grid in its chain,
  so redrawing the base grids under a special grid moves none of its events).

Speed: only what changed is compared. A code present in both generations
with the same level, kind, parent and the same geometry (vertex for vertex
within :data:`SAME_GEOMETRY_DEG`, about 1 µm) is *clean*; only pairs of
units of which at least one is not clean are intersected, so a small edit of
a city with thousands of units costs milliseconds rather than an overlay of
everything. The same rule gives the :attr:`GenerationDiff.region` outside of
which no point can change owner, so only events inside it need locating.

All areas are computed in a local equal-area projection
(:func:`gridgeo.measure.to_local_metric`), hence exact in m².
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from gridgeo import STORAGE_EPSG
from gridgeo.boundaries.mapping import derive_kind, derive_level, normalize_codes
from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.locate import LocateIndex
from gridgeo.measure import local_metric_crs, to_local_metric

__all__ = [
    "ATTRIBUTES",
    "GROUPS",
    "EventsDiff",
    "GenerationDiff",
    "diff_generations",
    "events_reattributed",
    "group_of",
    "units_near",
]

ATTRIBUTES: Final = (
    "name",
    "level",
    "kind",
    "parent_code",
    "population",
    "households",
    "full_time_workers",
    "part_time_workers",
)
"""Attributes compared for ``changed`` (those present in both tables)."""

MIN_AREA_M2: Final = 0.01
"""Areas below this are floating-point noise."""

SAME_GEOMETRY_DEG: Final = 1e-11
"""Two geometries whose vertices agree within this many degrees (about 1 µm)
are the same geometry; area this could move is far below :data:`MIN_AREA_M2`."""

GROUPS: Final[tuple[str, ...]] = (
    "district",
    "street",
    "community",
    "grid",
    "microgrid",
    "special",
    "special_microgrid",
)
"""Levels a diff reports on, in this order (special grids are a layer of their own)."""

Progress = Callable[[str], None]
"""Callback receiving one line of progress text."""

_STRUCTURE: Final = ("level", "kind", "parent_code")
"""Attributes that decide ownership and chains: a change makes a unit dirty."""


def group_of(level: Any, kind: Any) -> str:
    """Report group of a unit: its level, or ``special`` for special grids.

    Examples
    --------
    >>> group_of("grid", "base"), group_of("grid", "special"), group_of("microgrid", "special")
    ('grid', 'special', 'special_microgrid')
    """
    if kind == "special":
        return "special" if level == "grid" else f"special_{level}"
    return str(level)


def _empty_numbers() -> dict[str, Any]:
    return {
        "added": 0,
        "removed": 0,
        "changed": 0,
        "unchanged": 0,
        "area_moved_m2": 0.0,
        "area_uncovered_m2": 0.0,
        "area_newly_covered_m2": 0.0,
        "households_reattributed": 0.0,
        "population_reattributed": 0.0,
        "full_time_workers_reattributed": 0,
        "part_time_workers_reattributed": 0,
    }


@dataclass
class EventsDiff:
    """Events whose owner differs between two generations (:func:`events_reattributed`).

    Attributes
    ----------
    considered : int
        Events located in both generations (those inside the diff's region).
    owner_changed : int
        Events whose owner code differs.
    by_level : dict of str to int
        Per report group (:data:`GROUPS`): events whose chain unit of that
        level differs.
    flows : pandas.DataFrame
        ``from_code``, ``to_code``, ``events``: owner changes, largest first.
    """

    considered: int = 0
    owner_changed: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    flows: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["from_code", "to_code", "events"])
    )

    def to_dict(self, max_flows: int | None = 100) -> dict[str, Any]:
        """JSON-ready dict; ``flows`` cut to the ``max_flows`` largest."""
        flows = self.flows if max_flows is None else self.flows.head(max_flows)
        return {
            "considered": self.considered,
            "owner_changed": self.owner_changed,
            "by_level": dict(self.by_level),
            "flows": _records(flows),
            "flows_total": len(self.flows),
        }


@dataclass
class GenerationDiff:
    """Result of :func:`diff_generations`.

    Attributes
    ----------
    added, removed : list of str
        Sorted codes only in the new / only in the old generation.
    changed : pandas.DataFrame
        One row per code in both with a change: ``code``, ``level`` (report
        group), ``geometry_changed`` (bool), ``attributes_changed`` (list of
        column names), ``area_old_m2``, ``area_new_m2``, ``area_delta_m2``.
    unchanged : int
        Number of codes in both with neither change.
    area_moved : pandas.DataFrame
        ``from_code``, ``to_code``, ``level`` (report group), ``area_m2``:
        area passing between different codes of one level (None = not
        covered), largest first.
    moved_geometry : numpy.ndarray
        The lon/lat (EPSG:4490) piece of each ``area_moved`` row.
    reattributed : pandas.DataFrame
        ``from_code``, ``to_code``, ``level``, ``share`` (of the old unit's
        area), ``households``, ``population`` (area-apportioned, float),
        ``full_time_workers``, ``part_time_workers`` (whole workers following
        the majority of the area); one row per pair of different codes that
        share area.
    estimated : pandas.DataFrame
        Per new code touched by the diff: ``code``, ``households_estimated``,
        ``population_estimated`` (sums of apportioned old figures; NaN where
        no old figure reaches).
    groups : dict of str to str
        Report group of every code of either generation.
    region : shapely geometry or None
        Lon/lat area outside of which no point changes owner or chain (the
        parts of unclean units that can matter), None when nothing changed.
    events : EventsDiff or None
        Filled by :func:`events_reattributed` when events were given.
    """

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: pd.DataFrame = field(default_factory=pd.DataFrame)
    unchanged: int = 0
    area_moved: pd.DataFrame = field(default_factory=pd.DataFrame)
    moved_geometry: NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, dtype=object))
    reattributed: pd.DataFrame = field(default_factory=pd.DataFrame)
    estimated: pd.DataFrame = field(default_factory=pd.DataFrame)
    groups: dict[str, str] = field(default_factory=dict)
    region: Any = None
    events: EventsDiff | None = None

    @property
    def changed_codes(self) -> list[str]:
        """Sorted codes in ``changed``."""
        return sorted(self.changed["code"].tolist()) if len(self.changed) else []

    def totals(self) -> dict[str, dict[str, Any]]:
        """Summary numbers per report group (never summed across levels).

        Returns
        -------
        dict
            ``{group: {added, removed, changed, unchanged, area_moved_m2,
            area_uncovered_m2, area_newly_covered_m2, households_reattributed,
            population_reattributed, full_time_workers_reattributed,
            part_time_workers_reattributed[, events_reattributed]}}`` for
            every group present in either generation, in :data:`GROUPS` order.
        """
        present = set(self.groups.values())
        out: dict[str, dict[str, Any]] = {g: _empty_numbers() for g in GROUPS if g in present}
        for g in sorted(present - set(GROUPS)):
            out[g] = _empty_numbers()
        for code in self.added:
            out[self.groups[code]]["added"] += 1
        for code in self.removed:
            out[self.groups[code]]["removed"] += 1
        if len(self.changed):
            for g, n in self.changed["level"].value_counts().items():
                out[str(g)]["changed"] += int(n)
        changed_set = set(self.changed["code"]) if len(self.changed) else set()
        skip = changed_set | set(self.added) | set(self.removed)
        for code, g in self.groups.items():
            if code not in skip:
                out[g]["unchanged"] += 1
        moved = self.area_moved
        if len(moved):
            between = moved["from_code"].notna() & moved["to_code"].notna()
            for g, part in moved.groupby("level"):
                rows = part.index
                out[str(g)]["area_moved_m2"] = round(
                    float(part.loc[between[rows], "area_m2"].sum()), 2
                )
                out[str(g)]["area_uncovered_m2"] = round(
                    float(part.loc[part["to_code"].isna(), "area_m2"].sum()), 2
                )
                out[str(g)]["area_newly_covered_m2"] = round(
                    float(part.loc[part["from_code"].isna(), "area_m2"].sum()), 2
                )
        re = self.reattributed
        if len(re):
            for g, part in re.groupby("level"):
                numbers = out[str(g)]
                numbers["households_reattributed"] = round(float(part["households"].sum()), 1)
                numbers["population_reattributed"] = round(float(part["population"].sum()), 1)
                numbers["full_time_workers_reattributed"] = int(part["full_time_workers"].sum())
                numbers["part_time_workers_reattributed"] = int(part["part_time_workers"].sum())
        if self.events is not None:
            for g in out:
                out[g]["events_reattributed"] = int(self.events.by_level.get(g, 0))
        return out

    def to_dict(self, *, detail: bool = True) -> dict[str, Any]:
        """JSON-ready dict (NaN → None).

        Parameters
        ----------
        detail : bool
            Include the row tables (``changed``, ``area_moved``,
            ``reattributed``, ``estimated``); only counts and totals otherwise.
        """
        body: dict[str, Any] = {
            "added": list(self.added),
            "removed": list(self.removed),
            "unchanged": self.unchanged,
            "totals": self.totals(),
        }
        if detail:
            body["changed"] = _records(self.changed)
            body["area_moved"] = _records(self.area_moved)
            body["reattributed"] = _records(self.reattributed)
            body["estimated"] = _records(self.estimated)
        else:
            body["changed"] = self.changed_codes
        if self.events is not None:
            body["events"] = self.events.to_dict()
        return body

    def geometry_feature_collection(self) -> dict[str, Any]:
        """The changed areas as a GeoJSON FeatureCollection (lon/lat, RFC 7946).

        One feature per ``area_moved`` row: the piece of ground that passes
        from ``from_code`` to ``to_code`` at ``level``, with ``area_m2``.
        """
        features = []
        for record, geom in zip(
            _records(self.area_moved), self.moved_geometry.tolist(), strict=True
        ):
            if geom is None or shapely.is_empty(geom):
                continue
            features.append(
                {
                    "type": "Feature",
                    "properties": record,
                    "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-7)),
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def to_text(self) -> str:
        """A readable summary, one block per level."""
        totals = self.totals()
        lines = []
        touched = {
            g: n
            for g, n in totals.items()
            if n["added"] or n["removed"] or n["changed"] or n.get("events_reattributed")
        }
        if not touched:
            lines.append("no differences")
        for g, n in touched.items():
            lines.append(
                f"{g}: {n['added']} added, {n['removed']} removed, {n['changed']} changed, "
                f"{n['unchanged']} unchanged"
            )
            lines.append(
                f"  area moved {n['area_moved_m2']:,.0f} m²"
                f" (uncovered {n['area_uncovered_m2']:,.0f} m², newly covered "
                f"{n['area_newly_covered_m2']:,.0f} m²)"
            )
            lines.append(
                f"  households re-attributed {n['households_reattributed']:,.1f}, population "
                f"{n['population_reattributed']:,.1f}, workers "
                f"{n['full_time_workers_reattributed']} full-time / "
                f"{n['part_time_workers_reattributed']} part-time"
            )
            if "events_reattributed" in n:
                lines.append(f"  events re-attributed {n['events_reattributed']:,}")
        if self.added:
            lines.append("added: " + _short_list(self.added))
        if self.removed:
            lines.append("removed: " + _short_list(self.removed))
        if len(self.changed):
            lines.append("changed: " + _short_list(self.changed_codes))
        if self.events is not None:
            lines.append(
                f"events: {self.events.owner_changed:,} of {self.events.considered:,} located "
                "in the changed region change owner"
            )
            for rec in _records(self.events.flows.head(10)):
                lines.append(f"  {rec['from_code']} -> {rec['to_code']}: {rec['events']:,}")
        return "\n".join(lines)


def _short_list(codes: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" … ({len(codes)} in all)" if len(codes) > limit else "")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, list):
                clean[str(k)] = list(v)
            elif v is None or (not isinstance(v, str) and pd.isna(v)):
                clean[str(k)] = None
            elif isinstance(v, np.bool_ | bool):
                clean[str(k)] = bool(v)
            elif isinstance(v, np.integer):
                clean[str(k)] = int(v)
            elif isinstance(v, np.floating | float):
                clean[str(k)] = round(float(v), 2)
            else:
                clean[str(k)] = v
        out.append(clean)
    return out


def _prepare(units: gpd.GeoDataFrame, which: str) -> gpd.GeoDataFrame:
    if not isinstance(units, gpd.GeoDataFrame) or "code" not in units.columns:
        raise InvalidInput(f"{which} generation must be a GeoDataFrame with a 'code' column")
    if units.crs is None:
        raise CRSMismatch(f"{which} generation has no CRS")
    frame = units.copy()
    if frame.crs.to_epsg() not in (STORAGE_EPSG, 4326):
        frame = frame.to_crs(STORAGE_EPSG)
    frame = frame.reset_index(drop=True)
    frame["code"] = normalize_codes(frame["code"])
    if frame["code"].isna().any():
        rows = np.flatnonzero(frame["code"].isna().to_numpy())
        raise InvalidInput(
            f"{which} generation has features without code (rows {rows[:5].tolist()})"
        )
    dup = frame["code"][frame["code"].duplicated()].unique().tolist()
    if dup:
        raise InvalidInput(
            f"{which} generation has duplicate codes: {', '.join(map(str, dup[:5]))}",
            details={"codes": dup},
        )
    if "level" not in frame.columns:
        frame["level"] = derive_level(frame["code"])
    if "kind" not in frame.columns:
        frame["kind"] = derive_kind(frame["code"], frame["level"])
    if "parent_code" not in frame.columns:
        frame["parent_code"] = None
    frame["_group"] = [
        group_of(lv, kd) for lv, kd in zip(frame["level"], frame["kind"], strict=True)
    ]
    return frame


def _same(a: Any, b: Any) -> bool:
    a_na = a is None or (not isinstance(a, str) and bool(pd.isna(a)))
    b_na = b is None or (not isinstance(b, str) and bool(pd.isna(b)))
    if a_na or b_na:
        return a_na and b_na
    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number):
        return float(a) == float(b)
    return bool(a == b)


def _same_columns(
    a: pd.Series, b: pd.Series, ia: NDArray[np.int64], ib: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Row-wise :func:`_same` of ``a[ia]`` and ``b[ib]`` (numbers compared as floats)."""
    va = a.to_numpy(dtype=object)[ia]
    vb = b.to_numpy(dtype=object)[ib]
    if not len(va):
        return np.ones(0, dtype=bool)
    na_a = pd.isna(va)
    na_b = pd.isna(vb)
    fa = pd.to_numeric(pd.Series(va), errors="coerce").to_numpy(dtype=float)
    fb = pd.to_numeric(pd.Series(vb), errors="coerce").to_numpy(dtype=float)
    numeric = ~np.isnan(fa) & ~np.isnan(fb)
    numeric &= np.array([not isinstance(x, str) for x in va], dtype=bool)
    out = np.where(numeric, fa == fb, va == vb)
    out = np.where(na_a | na_b, na_a & na_b, out)
    return np.asarray(out, dtype=bool)


def _numbers(frame: gpd.GeoDataFrame, col: str) -> NDArray[np.float64]:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    values: NDArray[np.float64] = pd.to_numeric(frame[col], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    return values


class _Projector:
    """Lazily projects geometries of one table to the shared metric CRS."""

    def __init__(self, geoms: NDArray[np.object_], crs: Any) -> None:
        self.geoms = geoms
        self.crs = crs
        self.metric = np.full(len(geoms), None, dtype=object)
        self.done = np.zeros(len(geoms), dtype=bool)
        self.area = np.zeros(len(geoms), dtype=float)

    def need(self, rows: NDArray[np.int64]) -> None:
        todo = np.unique(rows[~self.done[rows]]) if len(rows) else rows
        if not len(todo) or self.crs is None:
            return
        geoms = self.geoms[todo]
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if ok.any():
            self.metric[todo[ok]] = to_local_metric(geoms[ok], self.crs)[0]
            self.area[todo[ok]] = np.nan_to_num(shapely.area(self.metric[todo[ok]]).astype(float))
        self.done[todo] = True


def diff_generations(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, progress: Progress | None = None
) -> GenerationDiff:
    """Compare two generations of units, level by level.

    Parameters
    ----------
    old, new : geopandas.GeoDataFrame
        Units tables with unique ``code`` and polygon geometries (any CRS,
        compared in EPSG:4490). ``level`` and ``kind`` are derived from the
        codes when absent. Not modified.
    progress : callable, optional
        Receives a line of text at each step.

    Returns
    -------
    GenerationDiff

    Raises
    ------
    InvalidInput
        Missing or duplicate codes.
    CRSMismatch
        A table without CRS.

    Examples
    --------
    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["330109001001001"], "households": [400]},
    ...                        geometry=[box(120.26, 30.18, 120.28, 30.19)], crs=4490)
    >>> new = gpd.GeoDataFrame({"code": ["330109001001002", "330109001001003"]},
    ...                        geometry=[box(120.26, 30.18, 120.27, 30.19),
    ...                                  box(120.27, 30.18, 120.28, 30.19)], crs=4490)
    >>> d = diff_generations(old, new)
    >>> d.added, d.removed
    (['330109001001002', '330109001001003'], ['330109001001001'])
    >>> d.reattributed["households"].round().tolist()
    [200.0, 200.0]
    >>> d.totals()["grid"]["households_reattributed"]
    400.0
    """
    say = progress or (lambda _line: None)
    a = _prepare(old, "old")
    b = _prepare(new, "new")
    ga = np.asarray(a.geometry.values, dtype=object)
    gb = np.asarray(b.geometry.values, dtype=object)
    codes_a = np.array(a["code"].tolist(), dtype=object)
    codes_b = np.array(b["code"].tolist(), dtype=object)
    group_a = np.array(a["_group"].tolist(), dtype=object)
    group_b = np.array(b["_group"].tolist(), dtype=object)
    row_b = {c: i for i, c in enumerate(codes_b.tolist())}
    set_a, set_b = set(codes_a.tolist()), set(row_b)
    added = sorted(set_b - set_a)
    removed = sorted(set_a - set_b)

    # Clean units: same code, same structure, same geometry (vertex for vertex).
    common = [(i, row_b[c]) for i, c in enumerate(codes_a.tolist()) if c in row_b]
    ia_c = np.array([i for i, _ in common], dtype=np.int64)
    ib_c = np.array([j for _, j in common], dtype=np.int64)
    same_geom = np.zeros(len(common), dtype=bool)
    if len(common):
        same_geom = np.asarray(
            shapely.equals_exact(ga[ia_c], gb[ib_c], tolerance=SAME_GEOMETRY_DEG), dtype=bool
        )
    attrs = [c for c in ATTRIBUTES if c in a.columns and c in b.columns]
    same_attr = {c: _same_columns(a[c], b[c], ia_c, ib_c) for c in {*attrs, *_STRUCTURE}}
    same_structure = np.ones(len(common), dtype=bool)
    for column in _STRUCTURE:
        same_structure &= same_attr[column]
    dirty_a = np.ones(len(a), dtype=bool)
    dirty_b = np.ones(len(b), dtype=bool)
    clean = same_geom & same_structure
    dirty_a[ia_c[clean]] = False
    dirty_b[ib_c[clean]] = False
    say(
        f"compared {len(a):,} old and {len(b):,} new units: {int(dirty_a.sum()):,} old and "
        f"{int(dirty_b.sum()):,} new units differ"
    )

    # One equal-area projection for both tables; only the units concerned are projected.
    both = np.concatenate([ga[dirty_a], gb[dirty_b]])
    both = both[~(shapely.is_missing(both) | shapely.is_empty(both))] if len(both) else both
    crs = local_metric_crs(both) if len(both) else None
    proj_a = _Projector(ga, crs)
    proj_b = _Projector(gb, crs)

    # Changed: codes in both that are not clean, or whose other attributes differ.
    all_same = np.ones(len(common), dtype=bool)
    for column in attrs:
        all_same &= same_attr[column]
    geom_rows = np.flatnonzero(~same_geom)
    proj_a.need(ia_c[geom_rows])
    proj_b.need(ib_c[geom_rows])
    sym = np.zeros(len(common), dtype=float)
    if len(geom_rows):
        pa_, pb_ = proj_a.metric[ia_c[geom_rows]], proj_b.metric[ib_c[geom_rows]]
        inter = np.nan_to_num(shapely.area(shapely.intersection(pa_, pb_)).astype(float))
        sym[geom_rows] = proj_a.area[ia_c[geom_rows]] + proj_b.area[ib_c[geom_rows]] - 2 * inter
    changed_rows = []
    unchanged = 0
    for k in np.flatnonzero((sym >= MIN_AREA_M2) | ~all_same).tolist():
        i, j = common[k]
        geom_changed = bool(sym[k] >= MIN_AREA_M2)
        diff_attrs = [c for c in attrs if not same_attr[c][k]]
        if not geom_changed:
            proj_a.need(np.array([i]))
            proj_b.need(np.array([j]))
        changed_rows.append(
            {
                "code": codes_a[i],
                "level": group_b[j],
                "geometry_changed": geom_changed,
                "attributes_changed": diff_attrs,
                "area_old_m2": float(proj_a.area[i]),
                "area_new_m2": float(proj_b.area[j]),
                "area_delta_m2": float(proj_b.area[j] - proj_a.area[i]),
            }
        )
    unchanged = len(common) - len(changed_rows)
    changed = pd.DataFrame(
        changed_rows,
        columns=[
            "code",
            "level",
            "geometry_changed",
            "attributes_changed",
            "area_old_m2",
            "area_new_m2",
            "area_delta_m2",
        ],
    )
    if len(changed):
        changed = changed.sort_values("code", ignore_index=True)

    moved, moved_geom, reattributed, estimated = _overlay(
        a, b, proj_a, proj_b, dirty_a, dirty_b, codes_a, codes_b, group_a, group_b
    )
    say(f"area moved: {len(moved):,} pieces")
    region = _region(ga, gb, ia_c, ib_c, dirty_a, dirty_b, same_structure)
    groups = dict(zip(codes_a.tolist(), group_a.tolist(), strict=True))
    groups.update(zip(codes_b.tolist(), group_b.tolist(), strict=True))
    return GenerationDiff(
        added=added,
        removed=removed,
        changed=changed,
        unchanged=unchanged,
        area_moved=moved,
        moved_geometry=moved_geom,
        reattributed=reattributed,
        estimated=estimated,
        groups=groups,
        region=region,
    )


def _region(
    ga: NDArray[np.object_],
    gb: NDArray[np.object_],
    ia_c: NDArray[np.int64],
    ib_c: NDArray[np.int64],
    dirty_a: NDArray[np.bool_],
    dirty_b: NDArray[np.bool_],
    same_structure: NDArray[np.bool_],
) -> Any:
    """Where owners or chains may differ: changed ground of unclean units (lon/lat).

    A unit kept with the same code and structure contributes only its
    symmetric difference (the ground it gained or lost); any other unclean
    unit (added, removed, re-levelled, re-parented) contributes all of it.
    """
    in_common_a = np.zeros(len(ga), dtype=bool)
    in_common_b = np.zeros(len(gb), dtype=bool)
    partial = same_structure & dirty_a[ia_c] if len(ia_c) else np.zeros(0, dtype=bool)
    in_common_a[ia_c[partial]] = True
    in_common_b[ib_c[partial]] = True
    pieces: list[Any] = []
    if partial.any():
        sym = shapely.symmetric_difference(ga[ia_c[partial]], gb[ib_c[partial]])
        pieces.extend(sym.tolist())
    pieces.extend(ga[dirty_a & ~in_common_a].tolist())
    pieces.extend(gb[dirty_b & ~in_common_b].tolist())
    pieces = [p for p in pieces if p is not None and not shapely.is_empty(p)]
    if not pieces:
        return None
    return shapely.GeometryCollection(pieces)


def _overlay(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    proj_a: _Projector,
    proj_b: _Projector,
    dirty_a: NDArray[np.bool_],
    dirty_b: NDArray[np.bool_],
    codes_a: NDArray[np.object_],
    codes_b: NDArray[np.object_],
    group_a: NDArray[np.object_],
    group_b: NDArray[np.object_],
) -> tuple[pd.DataFrame, NDArray[np.object_], pd.DataFrame, pd.DataFrame]:
    ga, gb = proj_a.geoms, proj_b.geoms
    # Pairs of the same group with at least one unclean unit and overlapping boxes.
    tree_b = shapely.STRtree(gb)
    tree_a = shapely.STRtree(ga)
    rows_a = np.flatnonzero(dirty_a)
    rows_b = np.flatnonzero(dirty_b)
    q1, t1 = tree_b.query(ga[rows_a]) if len(rows_a) else (np.zeros(0, int), np.zeros(0, int))
    q2, t2 = tree_a.query(gb[rows_b]) if len(rows_b) else (np.zeros(0, int), np.zeros(0, int))
    ia = np.concatenate([rows_a[q1], t2]).astype(np.int64)
    ib = np.concatenate([t1, rows_b[q2]]).astype(np.int64)
    if len(ia):
        keys = np.unique(np.column_stack([ia, ib]), axis=0)
        ia, ib = keys[:, 0], keys[:, 1]
    same = group_a[ia] == group_b[ib] if len(ia) else np.zeros(0, dtype=bool)
    ia, ib = ia[same], ib[same]
    proj_a.need(np.concatenate([ia, rows_a]))
    proj_b.need(np.concatenate([ib, rows_b]))
    pa, pb = proj_a.metric, proj_b.metric
    inter = (
        np.nan_to_num(shapely.area(shapely.intersection(pa[ia], pb[ib])).astype(float))
        if len(ia)
        else np.zeros(0)
    )
    real = inter >= MIN_AREA_M2
    ia, ib, inter = ia[real], ib[real], inter[real]

    # Area passing between different codes, and area no longer / newly covered.
    covered_a = np.bincount(ia, weights=inter, minlength=len(ga))
    covered_b = np.bincount(ib, weights=inter, minlength=len(gb))
    lost = np.where(dirty_a, proj_a.area - covered_a, 0.0)
    gained = np.where(dirty_b, proj_b.area - covered_b, 0.0)
    rows: list[dict[str, Any]] = []
    pieces: list[Any] = []
    differ = codes_a[ia] != codes_b[ib] if len(ia) else np.zeros(0, dtype=bool)
    between_geom = (
        shapely.intersection(ga[ia[differ]], gb[ib[differ]]) if differ.any() else np.zeros(0)
    )
    for k, (i, j, x) in enumerate(
        zip(ia[differ].tolist(), ib[differ].tolist(), inter[differ].tolist(), strict=True)
    ):
        rows.append(
            {"from_code": codes_a[i], "to_code": codes_b[j], "level": group_a[i], "area_m2": x}
        )
        pieces.append(between_geom[k])
    for i in np.flatnonzero(lost >= MIN_AREA_M2).tolist():
        rows.append(
            {
                "from_code": codes_a[i],
                "to_code": None,
                "level": group_a[i],
                "area_m2": float(lost[i]),
            }
        )
        same_group_b = np.flatnonzero(group_b == group_a[i])
        near = same_group_b[shapely.intersects(gb[same_group_b], ga[i])]
        pieces.append(shapely.difference(ga[i], shapely.union_all(gb[near])))
    for j in np.flatnonzero(gained >= MIN_AREA_M2).tolist():
        rows.append(
            {
                "from_code": None,
                "to_code": codes_b[j],
                "level": group_b[j],
                "area_m2": float(gained[j]),
            }
        )
        same_group_a = np.flatnonzero(group_a == group_b[j])
        near = same_group_a[shapely.intersects(ga[same_group_a], gb[j])]
        pieces.append(shapely.difference(gb[j], shapely.union_all(ga[near])))
    moved = pd.DataFrame(rows, columns=["from_code", "to_code", "level", "area_m2"])
    geoms = np.empty(len(pieces), dtype=object)
    geoms[:] = pieces
    if len(moved):
        order = moved.sort_values(
            ["area_m2", "from_code", "to_code"], ascending=[False, True, True]
        ).index.to_numpy()
        moved = moved.loc[order].reset_index(drop=True)
        geoms = geoms[order]

    # Re-attribution of households/population (by area) and workers (by majority).
    area_a = proj_a.area
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(area_a[ia] > 0, inter / area_a[ia], 0.0)
    hh = _numbers(a, "households")[ia] * share
    pop = _numbers(a, "population")[ia] * share
    ft = np.nan_to_num(_numbers(a, "full_time_workers"))
    pt = np.nan_to_num(_numbers(a, "part_time_workers"))
    best = np.full(len(ga), -1)
    best_area = np.zeros(len(ga))
    for k, (i, x) in enumerate(zip(ia.tolist(), inter.tolist(), strict=True)):
        if x > best_area[i]:
            best_area[i], best[i] = x, k
    re_rows = []
    for k, (i, j) in enumerate(zip(ia.tolist(), ib.tolist(), strict=True)):
        if codes_a[i] == codes_b[j]:
            continue
        majority = best[i] == k
        re_rows.append(
            {
                "from_code": codes_a[i],
                "to_code": codes_b[j],
                "level": group_a[i],
                "share": float(share[k]),
                "households": float(hh[k]),
                "population": float(pop[k]),
                "full_time_workers": int(ft[i]) if majority else 0,
                "part_time_workers": int(pt[i]) if majority else 0,
            }
        )
    reattributed = pd.DataFrame(
        re_rows,
        columns=[
            "from_code",
            "to_code",
            "level",
            "share",
            "households",
            "population",
            "full_time_workers",
            "part_time_workers",
        ],
    )
    reattributed = reattributed.sort_values(["from_code", "to_code"], ignore_index=True)

    touched = np.flatnonzero(dirty_b)
    est_hh = pd.Series(hh).groupby(ib).sum(min_count=1) if len(ib) else pd.Series(dtype=float)
    est_pop = pd.Series(pop).groupby(ib).sum(min_count=1) if len(ib) else pd.Series(dtype=float)
    estimated = pd.DataFrame(
        {
            "code": codes_b[touched],
            "households_estimated": est_hh.reindex(touched).to_numpy(dtype=float),
            "population_estimated": est_pop.reindex(touched).to_numpy(dtype=float),
        }
    )
    return moved, geoms, reattributed, estimated


def events_reattributed(
    old_index: LocateIndex,
    new_index: LocateIndex,
    lon: ArrayLike,
    lat: ArrayLike,
    groups: dict[str, str],
) -> EventsDiff:
    """Count events whose owner or chain differs between two generations.

    Parameters
    ----------
    old_index, new_index : LocateIndex
        Indexes of the old and new generation (the locate rules decide).
    lon, lat : array_like
        Event coordinates (EPSG:4490). Usually only the events inside the
        diff's :attr:`GenerationDiff.region`: outside it nothing changes.
    groups : dict
        Report group of each code (:attr:`GenerationDiff.groups`).

    Returns
    -------
    EventsDiff
    """
    x = np.asarray(lon, dtype=float).ravel()
    y = np.asarray(lat, dtype=float).ravel()
    out = EventsDiff(considered=len(x), by_level={})
    if not len(x):
        return out
    old = old_index.locate(x, y)
    new = new_index.locate(x, y)
    owner_old = old.owner
    owner_new = new.owner
    differ = np.array(
        [p != q for p, q in zip(owner_old.tolist(), owner_new.tolist(), strict=True)], dtype=bool
    )
    out.owner_changed = int(differ.sum())
    counts: dict[str, int] = {}
    chains_old, chains_new = old.chains, new.chains
    for k in range(len(x)):
        co, cn = chains_old[k], chains_new[k]
        if co == cn:
            continue
        by_o = {groups.get(c, "?"): c for c in co}
        by_n = {groups.get(c, "?"): c for c in cn}
        for g in set(by_o) | set(by_n):
            if by_o.get(g) != by_n.get(g):
                counts[g] = counts.get(g, 0) + 1
    out.by_level = {
        g: counts[g] for g in (*GROUPS, *sorted(set(counts) - set(GROUPS))) if g in counts
    }
    if out.owner_changed:
        flows = pd.DataFrame({"from_code": owner_old[differ], "to_code": owner_new[differ]})
        flows = (
            flows.fillna({"from_code": "", "to_code": ""})
            .groupby(["from_code", "to_code"])
            .size()
            .rename("events")
            .reset_index()
            .replace({"": None})
            .sort_values(["events", "from_code"], ascending=[False, True], ignore_index=True)
        )
        out.flows = flows
    return out


def units_near(units: gpd.GeoDataFrame, area: Any) -> gpd.GeoDataFrame:
    """The units touching ``area`` and all their ancestors.

    Enough to build a :class:`~gridgeo.locate.LocateIndex` that answers like
    the whole generation's for points inside ``area`` (every unit that can
    cover such a point, and the parents its chain needs).
    """
    geoms = np.asarray(units.geometry.values, dtype=object)
    hit = shapely.STRtree(geoms).query(shapely.get_parts(area))[1]
    codes = units["code"].tolist()
    parent = dict(zip(codes, units["parent_code"].tolist(), strict=True))
    keep: set[str] = set()
    for code in {codes[i] for i in np.unique(hit).tolist()}:
        while isinstance(code, str) and code not in keep:
            keep.add(code)
            code = parent.get(code)
    return units[units["code"].isin(keep)]
