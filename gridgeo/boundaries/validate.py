"""Validate a units table: geometry, coverage, special grids, codes, sizes, shape.

:func:`validate_units` returns a :class:`~gridgeo.boundaries.report.ValidationReport`
whose issues carry stable rule ids (listed in :mod:`gridgeo.boundaries.report`),
the codes and rows involved, a (lon, lat) point inside the problem and its
area in m².

How each check works
--------------------
Topology (overlaps, gaps, parts outside a parent, unmatched edges) is decided
in the storage CRS (EPSG:4490), where the input is valid: a polygon valid in
lon/lat may self-intersect after any projection. The pieces found are then
measured in a Lambert azimuthal equal-area projection of CGCS2000 centred on
the data (:func:`gridgeo.measure.to_local_metric`): areas exact, distances
good to ~1e-4 within 100 km.

Tolerance and robustness: pieces narrower than :data:`GRID_M` (1 mm mean
width, 2·area/perimeter) or smaller than :data:`MIN_AREA_M2` are floating-point
noise and never reported, so a coverage that ``shapely.coverage_is_valid``
accepts (in any input CRS) has no gap, overlap or sliver issue. Sibling unions
are exact coverage unions when the siblings form a valid coverage, else
snap-rounded to :data:`GRID_DEG` (≈1 mm). An overlay the geometry engine
refuses is retried snap-rounded to :data:`GRID_DEG`, then on ``make_valid``
copies (for the computation only; the data are repaired only with
``repair=True``); if that fails too, the check becomes a ``geometry_engine``
error naming the units, never an exception.

* **Validity**: :func:`shapely.is_valid_reason`; the location is the point the
  reason names (e.g. the self-intersection). Invalid geometries are errors;
  with ``repair=True`` they are repaired with
  ``make_valid(method="structure")`` (non-polygonal leftovers dropped), the
  report lists what changed and the issue becomes a warning. The remaining
  checks always run on the repaired geometries.
* **Sibling sets** are the base (non-special) units sharing a level and a
  parent code. Special grids form their own layer over the base grids.
* **Overlaps**: pairs of units of the same level and kind whose interiors
  intersect (``STRtree`` query, then the exact DE-9IM pattern ``T********``),
  reported per pair with the intersection's area (pieces below 0.01 m² are
  left to the edge check).
* **Gaps**: the parent minus the union of its children; pieces lying within
  ``tolerance_m`` of the parent's boundary are digitising noise and ignored.
  When the parent polygon is not in the data, holes enclosed by the siblings'
  union (and not filled by other units of the level) are reported as warnings.
* **Slivers**: gap or overlap pieces, and polygon parts of units, that are
  small (area < ``sliver_area_m2``) or thin (mean width 2·A/P <
  ``sliver_width_m``) are reported as ``sliver`` instead of gap/overlap.
* **Edges**: :func:`shapely.coverage_invalid_edges` per sibling set; edges that
  do not match neighbours vertex for vertex are warnings for units not
  already in an overlap.
* **Outside parent**: the part of a child more than ``tolerance_m`` outside
  its parent; the reported area is everything outside the parent.
* **Special grids** must lie within their community (the community polygon,
  or the union of its base grids when the community is not in the data) up to
  ``tolerance_m``; the message names the communities entered and whether
  another community holds most of the area.
* **Codes**: missing and duplicate codes; coding rules (length, digits, level,
  parent prefix, sequence range per kind) with
  :func:`gridgeo.coding.validate_codes`; street and community codes missing
  from the official statistical list (``official=True``) are warnings.
* **Parents**: with ``parents_required=True`` (a whole generation, as the
  planner validates it) a unit whose parent code is not in the table is a
  ``missing_parent`` error; otherwise an ``unknown_parent`` warning when other
  units of the parent's level are present.
* **Completeness** (:func:`check_completeness`, run by the planner against the
  active generation): the same districts, streets and communities, grids in
  every community that had them, and per level at least
  1 − :data:`COMPLETENESS_AREA_TOLERANCE` of the area, within a stated scope.
* **Names**: missing names and names repeated among siblings are warnings.
* **Households**: for base grids, households per full-time worker (per grid
  when it has none) outside ``households_range`` is a warning.
* **Compactness** of grids and micro-grids: Polsby–Popper 4πA/P² and Reock
  A / area of the minimum bounding circle below ``compactness_min`` are
  warnings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.errors import GEOSException

from gridgeo import STORAGE_EPSG
from gridgeo.boundaries.mapping import (
    LEVEL_BY_LENGTH,
    derive_kind,
    derive_level,
    derive_parent_code,
    normalize_codes,
)
from gridgeo.boundaries.report import Issue, Severity, ValidationReport
from gridgeo.coding.codes import validate_codes
from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.measure import (
    compactness_planar,
    from_local_metric,
    local_metric_crs,
    to_local_metric,
)

__all__ = [
    "COMPLETENESS_AREA_TOLERANCE",
    "DEFAULT_COMPACTNESS_MIN",
    "GRID_DEG",
    "GRID_M",
    "MIN_AREA_M2",
    "check_completeness",
    "polygon_parts",
    "validate_units",
]

DEFAULT_COMPACTNESS_MIN: Final = {"polsby_popper": 0.2, "reock": 0.25}
"""Default compactness targets."""

MIN_AREA_M2: Final = 0.1
"""Overlap and gap pieces smaller than this (0.1 m², far below survey precision over
any edge length) are floating-point noise of reprojection and snap-rounding."""

GRID_M: Final = 0.001
"""The stated geometric tolerance of the overlay (metres): 1 mm."""

GRID_DEG: Final = 1e-8
""":data:`GRID_M` in storage-CRS degrees (1e-8° ≈ 1.1 mm of latitude, less of
longitude). An overlay that fails exactly is retried snap-rounded to this grid."""

_REASON_POINT: Final = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


@dataclass
class _Draft:
    severity: Severity
    rule: str
    codes: list[str]
    message: str
    rows: list[int]
    area_m2: float | None = None
    geom: Any = None  # planar geometry of the problem
    geo_geom: Any = None  # or its storage-CRS (lon/lat) geometry
    point: Any = None  # planar point inside the problem
    lonlat: tuple[float, float] | None = None
    details: dict[str, Any] = field(default_factory=dict)


def validate_units(
    units: gpd.GeoDataFrame,
    *,
    repair: bool = False,
    sliver_area_m2: float = 50.0,
    sliver_width_m: float = 2.0,
    tolerance_m: float = 1.0,
    households_range: tuple[float, float] = (300, 500),
    compactness_min: Mapping[str, float] | None = None,
    official: bool = True,
    parents_required: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Validate a units table and report every problem with its location.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units table (see :mod:`gridgeo.boundaries.mapping`); needs
        ``code`` and a polygonal geometry with a CRS (reprojected to
        EPSG:4490). Missing ``level``, ``parent_code``, ``kind`` are derived
        from the codes. Not modified.
    repair : bool
        Repair invalid geometries (``make_valid(method="structure")``) and
        return them in ``report.repaired``.
    sliver_area_m2 : float
        Pieces and polygon parts smaller than this are slivers.
    sliver_width_m : float
        Pieces and polygon parts whose mean width (2·area/perimeter) is below
        this are slivers.
    tolerance_m : float
        How far a child may reach beyond its parent (and a special grid
        beyond its community), and the width of the band along the parent's
        boundary in which gaps are ignored.
    households_range : (float, float)
        Target households per full-time grid worker (per grid when none).
    compactness_min : dict, optional
        Minimum ``polsby_popper`` and ``reock``; default
        :data:`DEFAULT_COMPACTNESS_MIN`.
    official : bool
        Check street and community codes against the official list.
    parents_required : bool
        The table is a whole generation: a unit whose parent code is not in it
        is a ``missing_parent`` error (otherwise an ``unknown_parent`` warning
        when other units of the parent's level are present).
    progress : callable, optional
        Called with a short line before each step (for progress output).

    Returns
    -------
    ValidationReport

    Raises
    ------
    InvalidInput
        If ``units`` lacks a code column.
    CRSMismatch
        If ``units`` has no CRS.

    Examples
    --------
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame(
    ...     {"code": ["330109001001001", "330109001001002"], "name": ["一", "二"]},
    ...     geometry=[box(120.26, 30.18, 120.27, 30.19), box(120.2699, 30.18, 120.28, 30.19)],
    ...     crs=4490)
    >>> report = validate_units(units)
    >>> [(i.rule, i.codes, round(i.area_m2, -2)) for i in report.errors]
    [('overlap', ['330109001001001', '330109001001002'], 10700.0)]
    """
    targets = dict(DEFAULT_COMPACTNESS_MIN)
    targets.update(compactness_min or {})
    frame = _prepare(units)
    n = len(frame)
    codes: list[str | None] = frame["code"].tolist()
    labels = [c if c else f"row {i}" for i, c in enumerate(codes)]
    drafts: list[_Draft] = []
    changes: list[dict[str, Any]] = []

    say = progress or (lambda _: None)
    say(f"checking geometry validity of {n:,} units")
    raw = np.asarray(frame.geometry.values, dtype=object)
    fixed = _check_validity(raw, codes, labels, repair, drafts, changes)
    present = ~(shapely.is_missing(fixed) | shapely.is_empty(fixed))
    crs_local = local_metric_crs(fixed[present]) if present.any() else None
    planar = np.full(n, None, dtype=object)
    if crs_local is not None:
        planar[present] = to_local_metric(fixed[present], crs_local)[0]
        for change in changes:
            change.update(_change_areas(raw[change["row"]], fixed[change["row"]], crs_local))
            drafts.append(_repair_issue(change))
        _below_tolerance(drafts, raw, fixed, crs_local)

    ctx = _Context(
        frame=frame,
        codes=codes,
        labels=labels,
        geo=_present_only(fixed, present),
        crs=crs_local,
        planar=planar,
        present=present,
        tolerance_m=tolerance_m,
        sliver_area_m2=sliver_area_m2,
        sliver_width_m=sliver_width_m,
        parents_required=parents_required,
    )
    say(f"checking codes and names of {n:,} units")
    _check_codes(ctx, drafts, official)
    _check_names(ctx, drafts)
    say("checking overlaps")
    everything = np.flatnonzero(present)
    overlapping = _guard(ctx, drafts, "overlap", everything, _check_overlaps, ctx, drafts)
    overlapping = overlapping if overlapping is not None else set(everything.tolist())
    say("checking gaps, parents and edges")
    _check_sibling_sets(ctx, drafts, overlapping)
    say("checking slivers and special grids")
    _guard(ctx, drafts, "sliver", everything, _check_unit_slivers, ctx, drafts)
    _guard(ctx, drafts, "special-grid", everything, _check_special, ctx, drafts)
    say("checking households and compactness")
    _check_households(ctx, drafts, households_range)
    _guard(
        ctx,
        drafts,
        "compactness",
        everything,
        _check_compactness,
        ctx,
        drafts,
        targets,
    )

    issues = _finish(drafts, crs_local)
    repaired = None
    if repair:
        repaired = gpd.GeoDataFrame(
            frame.drop(columns=frame.geometry.name),
            geometry=gpd.GeoSeries(_multipolygons(fixed), index=frame.index).values,
            crs=STORAGE_EPSG,
        )
    return ValidationReport(issues=issues, repaired=repaired, changes=changes, checked=n)


# --------------------------------------------------------------------------- preparation


def _prepare(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidInput("units must be a GeoDataFrame with a code column and geometry")
    if "code" not in units.columns:
        raise InvalidInput("units have no 'code' column")
    if units.crs is None:
        raise CRSMismatch("units have no CRS; set it (EPSG:4490 for stored boundaries)")
    frame = units.copy()
    if frame.crs.to_epsg() not in (STORAGE_EPSG, 4326):
        frame = frame.to_crs(STORAGE_EPSG)
    frame = frame.reset_index(drop=True)
    frame["code"] = normalize_codes(frame["code"])
    derived_level = derive_level(frame["code"])
    if "level" not in frame.columns:
        frame["level"] = derived_level
    else:
        frame["level"] = frame["level"].where(frame["level"].notna(), derived_level)
        frame["level"] = frame["level"].astype(object).where(frame["level"].notna(), None)
    if "parent_code" not in frame.columns:
        frame["parent_code"] = derive_parent_code(frame["code"], frame["level"])
    else:
        frame["parent_code"] = normalize_codes(frame["parent_code"], "parent_code")
    if "kind" not in frame.columns:
        frame["kind"] = derive_kind(frame["code"], frame["level"])
    else:
        kind = frame["kind"].astype(object)
        frame["kind"] = kind.where(kind.notna(), derive_kind(frame["code"], frame["level"]))
    for col in ("name",):
        if col not in frame.columns:
            frame[col] = None
    for col in ("households", "full_time_workers"):
        if col not in frame.columns:
            frame[col] = pd.NA
    return frame


@dataclass
class _Context:
    frame: gpd.GeoDataFrame
    codes: list[str | None]
    labels: list[str]
    geo: np.ndarray  # storage CRS (lon/lat), where topology is decided
    crs: pyproj.CRS | None  # the local equal-area projection, where sizes are measured
    planar: np.ndarray
    present: np.ndarray
    tolerance_m: float
    sliver_area_m2: float
    sliver_width_m: float
    parents_required: bool = False
    _tree: shapely.STRtree | None = None
    _geo_tree: shapely.STRtree | None = None
    _row_of: dict[str, int] | None = None

    @property
    def geo_tree(self) -> shapely.STRtree:
        if self._geo_tree is None:
            self._geo_tree = shapely.STRtree(self.geo)
        return self._geo_tree

    def project(self, geoms: Any) -> np.ndarray:
        """Storage-CRS geometries in the local equal-area projection (metres)."""
        arr = np.asarray(geoms, dtype=object)
        if self.crs is None or not len(arr):
            return arr
        return to_local_metric(arr, self.crs)[0]

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.planar)
        return self._tree

    @property
    def row_of(self) -> dict[str, int]:
        """First row of each code."""
        if self._row_of is None:
            self._row_of = {}
            for i, c in enumerate(self.codes):
                if c and c not in self._row_of:
                    self._row_of[c] = i
        return self._row_of

    def levels(self) -> list[str | None]:
        return list(self.frame["level"].tolist())

    def kinds(self) -> list[str]:
        return list(self.frame["kind"].tolist())

    def parents(self) -> list[str | None]:
        return list(self.frame["parent_code"].tolist())

    def is_sliver(self, area: np.ndarray, perimeter: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.where(perimeter > 0, 2 * area / perimeter, 0.0)
        return (area < self.sliver_area_m2) | (width < self.sliver_width_m)


def polygon_parts(geoms: Any) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of geometries (nested collections flattened), with owners.

    Parameters
    ----------
    geoms : array-like of shapely geometries

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Non-empty polygons and the index of the geometry each came from.

    Examples
    --------
    >>> from shapely import box, GeometryCollection, LineString
    >>> parts, owner = polygon_parts([GeometryCollection([box(0, 0, 1, 1),
    ...                                                  LineString([(0, 0), (2, 2)])])])
    >>> [p.geom_type for p in parts], owner.tolist()
    (['Polygon'], [0])
    """
    arr = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(arr, return_index=True)
    while True:
        nested = np.isin(shapely.get_type_id(parts), [4, 5, 6, 7])
        if not nested.any():
            break
        sub, sub_owner = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        owner = np.concatenate([owner[~nested], owner[nested][sub_owner]])
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[keep], owner[keep]


def _multipolygons(geoms: Any) -> np.ndarray:
    arr = np.asarray(geoms, dtype=object)
    parts, owner = polygon_parts(arr)
    order = np.argsort(owner, kind="stable")
    out = np.array([shapely.MultiPolygon() for _ in range(len(arr))], dtype=object)
    if len(parts):
        shapely.multipolygons(parts[order], indices=owner[order], out=out)
    return out


# --------------------------------------------------------------------------- validity


def _check_validity(
    raw: np.ndarray,
    codes: list[str | None],
    labels: list[str],
    repair: bool,
    drafts: list[_Draft],
    changes: list[dict[str, Any]],
) -> np.ndarray:
    fixed = raw.copy()
    missing = shapely.is_missing(raw) | shapely.is_empty(raw)
    for i in np.flatnonzero(missing).tolist():
        drafts.append(
            _Draft("error", "invalid_geometry", _c(codes[i]), f"{labels[i]} has no geometry", [i])
        )
    valid = shapely.is_valid(raw)
    invalid = np.flatnonzero(~valid & ~missing)
    if not invalid.size:
        return fixed
    reasons = shapely.is_valid_reason(raw[invalid])
    repaired = _multipolygons(_make_valid(raw[invalid]))
    fixed[invalid] = repaired
    rows: list[int] = invalid.tolist()
    for i, reason, geom in zip(rows, reasons.tolist(), repaired.tolist(), strict=True):
        match = _REASON_POINT.search(reason)
        if match:
            lonlat: tuple[float, float] | None = (float(match.group(1)), float(match.group(2)))
        elif not shapely.is_empty(geom):
            inside = shapely.point_on_surface(geom)
            lonlat = (float(inside.x), float(inside.y))
        else:
            lonlat = None
        if repair:
            changes.append(
                {
                    "row": i,
                    "code": codes[i],
                    "reason": reason.split("[")[0].strip() or reason,
                    "location": list(lonlat) if lonlat else None,
                }
            )
            continue
        what = reason.split("[")[0].strip() or reason
        drafts.append(
            _Draft(
                "error",
                "invalid_geometry",
                _c(codes[i]),
                f"{labels[i]} is invalid: {what} (repair with repair=True)",
                [i],
                lonlat=lonlat,
                details={"reason": reason},
            )
        )
        if shapely.is_empty(geom):
            drafts[-1].message += "; nothing polygonal would remain"
    return fixed


def _make_valid(geoms: np.ndarray) -> np.ndarray:
    """``make_valid(method="structure")``, one geometry at a time when the batch fails
    (a geometry the engine cannot repair becomes empty: "nothing polygonal would remain")."""
    try:
        return np.asarray(
            shapely.make_valid(geoms, method="structure", keep_collapsed=False), dtype=object
        )
    except GEOSException:
        out = np.empty(len(geoms), dtype=object)
        for k, geom in enumerate(geoms.tolist()):
            try:
                out[k] = shapely.make_valid(geom, method="structure", keep_collapsed=False)
            except GEOSException:
                out[k] = shapely.MultiPolygon()
        return out


def _below_tolerance(
    drafts: list[_Draft], raw: np.ndarray, fixed: np.ndarray, crs: pyproj.CRS
) -> None:
    """Invalid geometries whose repair changes their area by less than :data:`MIN_AREA_M2`
    are warnings, not errors.

    Such invalidity (a zero-width spike, a vertex a fraction of a millimetre
    across an edge, typically left by a reprojection) changes no coverage; the
    geometry is still listed so that ``repair=True`` can clean it.
    """
    for d in drafts:
        if d.rule != "invalid_geometry" or d.severity != "error" or len(d.rows) != 1:
            continue
        i = d.rows[0]
        if shapely.is_missing(raw[i]) or shapely.is_empty(raw[i]) or shapely.is_empty(fixed[i]):
            continue
        before, after = to_local_metric(np.array([raw[i], fixed[i]], dtype=object), crs)[0]
        change = abs(float(shapely.area(after)) - abs(float(shapely.area(before))))
        if change < MIN_AREA_M2:
            d.severity = "warning"
            d.message += (
                f"; repairing it changes its area by only {change:.4f} m² (below the "
                f"{MIN_AREA_M2:g} m² tolerance), so no coverage check is affected"
            )
            d.details["area_change_m2"] = round(change, 6)


def _change_areas(before: Any, after: Any, crs: pyproj.CRS) -> dict[str, Any]:
    b, a = to_local_metric(np.array([before, after], dtype=object), crs)[0]
    return {
        "area_before_m2": round(float(shapely.area(b)), 2),
        "area_after_m2": round(float(shapely.area(a)), 2),
        "parts_before": int(shapely.get_num_geometries(before)),
        "parts_after": int(shapely.get_num_geometries(after)),
    }


def _repair_issue(change: dict[str, Any]) -> _Draft:
    label = change["code"] or f"row {change['row']}"
    loc = change["location"]
    return _Draft(
        "warning",
        "invalid_geometry",
        _c(change["code"]),
        f"{label} was invalid ({change['reason']}) and was repaired: area "
        f"{change['area_before_m2']:,.1f} → {change['area_after_m2']:,.1f} m², parts "
        f"{change['parts_before']} → {change['parts_after']}",
        [change["row"]],
        area_m2=change["area_after_m2"] - change["area_before_m2"],
        lonlat=(loc[0], loc[1]) if loc else None,
        details={k: change[k] for k in change if k not in ("row", "code", "location")},
    )


# --------------------------------------------------------------------------- codes and names


def _c(code: str | None) -> list[str]:
    return [code] if code else []


def _check_codes(ctx: _Context, drafts: list[_Draft], official: bool) -> None:
    codes, labels = ctx.codes, ctx.labels
    levels, parents, kinds = ctx.levels(), ctx.parents(), ctx.kinds()
    for i, code in enumerate(codes):
        if not code:
            drafts.append(
                _Draft("error", "missing_code", [], f"row {i} has no code", [i], point=_pt(ctx, i))
            )
    rows_by_code: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        if code:
            rows_by_code.setdefault(code, []).append(i)
    for code, rows in rows_by_code.items():
        if len(rows) > 1:
            drafts.append(
                _Draft(
                    "error",
                    "duplicate_code",
                    [code],
                    f"code {code} is used by {len(rows)} features (rows "
                    f"{', '.join(map(str, rows))})",
                    rows,
                    point=_pt(ctx, rows[1]),
                )
            )
    frame = pd.DataFrame(
        {
            "code": codes,
            "parent_code": parents,
            "kind": kinds,
            "level": levels,
        }
    )
    for problem in validate_codes(frame, check_official=official):
        i = int(problem.row)
        if problem.rule in ("unique",) or codes[i] is None:
            continue  # reported as duplicate_code / missing_code
        official_rule = problem.rule == "official"
        drafts.append(
            _Draft(
                "warning" if official_rule else "error",
                "unknown_official_code" if official_rule else "code_rule",
                _c(codes[i]),
                f"{labels[i]}: {_problem_text(problem.message)}",
                [i],
                point=_pt(ctx, i),
                details={"code_rule": problem.rule},
            )
        )
    present_levels = {lv for lv in levels if lv}
    for i, parent in enumerate(parents):
        if not parent or parent in ctx.row_of:
            continue
        parent_level = LEVEL_BY_LENGTH.get(len(parent))
        if ctx.parents_required:
            drafts.append(
                _Draft(
                    "error",
                    "missing_parent",
                    _c(codes[i]),
                    f"{labels[i]}: its parent {parent_level or 'unit'} {parent} is not in "
                    "the generation",
                    [i],
                    point=_pt(ctx, i),
                    details={"parent_code": parent},
                )
            )
        elif parent_level in present_levels:
            drafts.append(
                _Draft(
                    "warning",
                    "unknown_parent",
                    _c(codes[i]),
                    f"{labels[i]}: parent {parent} is not in the data although other "
                    f"{parent_level} units are",
                    [i],
                    point=_pt(ctx, i),
                    details={"parent_code": parent},
                )
            )


def _problem_text(message: str) -> str:
    """'invalid code 'X': rule 'r' broken: why' → 'why (rule r)'."""
    match = re.match(r"invalid code .*?: rule '(\w+)' broken: (.*)$", message)
    return f"{match.group(2)} (rule {match.group(1)})" if match else message


def _check_names(ctx: _Context, drafts: list[_Draft]) -> None:
    names = [
        (str(v).strip() or None) if v is not None and not pd.isna(v) else None
        for v in ctx.frame["name"].tolist()
    ]
    levels, parents = ctx.levels(), ctx.parents()
    for i, name in enumerate(names):
        if name is None:
            drafts.append(
                _Draft(
                    "warning",
                    "missing_name",
                    _c(ctx.codes[i]),
                    f"{ctx.labels[i]} has no name",
                    [i],
                    point=_pt(ctx, i),
                )
            )
    groups: dict[tuple[Any, Any, str], list[int]] = {}
    for i, name in enumerate(names):
        if name is not None:
            groups.setdefault((levels[i], parents[i], name), []).append(i)
    for (_, parent, name), rows in groups.items():
        if len(rows) > 1:
            drafts.append(
                _Draft(
                    "warning",
                    "duplicate_name",
                    [c for c in (ctx.codes[r] for r in rows) if c],
                    f"name {name!r} is shared by {len(rows)} siblings"
                    + (f" under {parent}" if parent else ""),
                    rows,
                    point=_pt(ctx, rows[1]),
                )
            )


def _pt(ctx: _Context, i: int) -> Any:
    if not ctx.present[i]:
        return None
    return shapely.point_on_surface(ctx.planar[i])


# --------------------------------------------------------------------------- robust overlay


def _robust(fn: Callable[..., Any], *geoms: Any) -> Any:
    """``fn(*geoms)`` on storage-CRS geometries, with retry paths.

    First exactly (GEOS OverlayNG, which already falls back to snapping
    internally); on a GEOS failure again snap-rounded to :data:`GRID_DEG`;
    then on ``make_valid`` copies of the inputs (for this computation only,
    the data are not changed), snap-rounded. The last failure propagates and
    is turned into a ``geometry_engine`` issue by :func:`_guard`.
    """
    try:
        return fn(*geoms)
    except GEOSException:
        pass
    try:
        return fn(*geoms, grid_size=GRID_DEG)
    except GEOSException:
        pass
    return fn(*(shapely.make_valid(g) for g in geoms), grid_size=GRID_DEG)


def _union(geoms: np.ndarray) -> Any:
    """Union of storage-CRS polygons.

    Exact (``coverage_union_all``) when they form a valid coverage (edges
    matched vertex for vertex); otherwise snap-rounded to :data:`GRID_DEG`, so
    that T-junctions off their neighbour's edge by floating-point amounts (as
    after any reprojection) do not open hairline gaps.
    """
    if len(geoms) == 0:
        return shapely.Polygon()
    try:
        if bool(shapely.coverage_is_valid(geoms)):
            return shapely.coverage_union_all(geoms)
    except GEOSException:
        pass
    try:
        return shapely.union_all(geoms, grid_size=GRID_DEG)
    except GEOSException:
        return shapely.union_all(shapely.make_valid(geoms), grid_size=GRID_DEG)


def _guard(
    ctx: _Context, drafts: list[_Draft], what: str, rows: Any, fn: Callable[..., Any], *args: Any
) -> Any:
    """Run one check; an unexpected geometry-engine failure becomes a report entry.

    The entry (rule ``geometry_engine``, an error: the units were not fully
    checked) names the units and the check, never a traceback.
    """
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        members = sorted({int(r) for r in rows})
        codes = sorted({c for c in (ctx.codes[r] for r in members) if c})
        shown = ", ".join(ctx.labels[r] for r in members[:8]) + (
            f" (+{len(members) - 8} more)" if len(members) > 8 else ""
        )
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        drafts.append(
            _Draft(
                "error",
                "geometry_engine",
                codes,
                f"the {what} check could not be completed for {shown or 'the data'}: the "
                f"geometry engine failed ({reason}); check these units' geometries",
                members,
                point=_pt(ctx, members[0]) if members else None,
                details={"check": what, "error": type(exc).__name__, "reason": reason},
            )
        )
        return None


# --------------------------------------------------------------------------- coverage


def _pieces(geom: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parts, _ = polygon_parts([geom])
    return parts, shapely.area(parts), shapely.length(parts)


def _largest(parts: np.ndarray) -> Any:
    return parts[int(np.argmax(shapely.area(parts)))]


@dataclass
class _Pieces:
    """Polygon pieces found in the storage CRS, measured in metres."""

    geo: np.ndarray
    planar: np.ndarray
    area: np.ndarray
    perimeter: np.ndarray

    def select(self, mask: np.ndarray) -> _Pieces:
        return _Pieces(self.geo[mask], self.planar[mask], self.area[mask], self.perimeter[mask])

    def __len__(self) -> int:
        return len(self.geo)


def _measure(ctx: _Context, geom: Any) -> _Pieces:
    """Polygon parts of a storage-CRS geometry with their planar copies, areas, perimeters.

    Noise (:func:`_is_noise`) is dropped.
    """
    geo, _ = polygon_parts([geom])
    planar = ctx.project(geo)
    area = np.asarray(shapely.area(planar), dtype=float)
    perimeter = np.asarray(shapely.length(planar), dtype=float)
    pieces = _Pieces(geo, planar, area, perimeter)
    return pieces.select(~_is_noise(area, perimeter))


def _is_noise(area: np.ndarray, perimeter: np.ndarray) -> np.ndarray:
    """Pieces below the stated tolerance: area < :data:`MIN_AREA_M2` or mean width
    (2·area/perimeter) < :data:`GRID_M`. Such pieces are what floating point leaves
    between edges that match up to a millimetre (a vertex on its neighbour's edge in
    the source CRS is no longer exactly on it after reprojection)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(perimeter > 0, 2 * area / perimeter, 0.0)
    return (area < MIN_AREA_M2) | (width < GRID_M)


def _check_overlaps(ctx: _Context, drafts: list[_Draft]) -> set[int]:
    """Overlaps between units of the same level and kind; returns the rows involved.

    Found in the storage CRS (where the input is valid), measured in metres.
    """
    levels = np.array(ctx.levels(), dtype=object)
    kinds = np.array(ctx.kinds(), dtype=object)
    left, right = ctx.geo_tree.query(ctx.geo, predicate="intersects")
    keep = (left < right) & (levels[left] == levels[right]) & (kinds[left] == kinds[right])
    left, right = left[keep], right[keep]
    try:
        interior = np.asarray(
            shapely.relate_pattern(ctx.geo[left], ctx.geo[right], "T********"), dtype=bool
        )
    except GEOSException:  # one pair at a time, failures reported per pair
        interior = np.zeros(len(left), dtype=bool)
        for k, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
            hit = _guard(
                ctx,
                drafts,
                "overlap",
                (a, b),
                shapely.relate_pattern,
                ctx.geo[a],
                ctx.geo[b],
                "T********",
            )
            interior[k] = bool(hit)
    left, right = left[interior], right[interior]
    involved: set[int] = set()
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        inter = _guard(
            ctx, drafts, "overlap", (a, b), _robust, shapely.intersection, ctx.geo[a], ctx.geo[b]
        )
        if inter is None:
            involved.update((a, b))
            continue
        pieces = _measure(ctx, inter)
        if not len(pieces):
            continue
        involved.update((a, b))
        sliver = ctx.is_sliver(pieces.area, pieces.perimeter)
        pair = sorted(c for c in (ctx.codes[a], ctx.codes[b]) if c)
        who = f"{ctx.labels[a]} and {ctx.labels[b]}"
        for is_sliver, mask in ((False, ~sliver), (True, sliver)):
            if not mask.any():
                continue
            chosen = pieces.select(mask)
            total = float(chosen.area.sum())
            rule = "sliver" if is_sliver else "overlap"
            what = "sliver overlap" if is_sliver else "overlap"
            drafts.append(
                _Draft(
                    "error",
                    rule,
                    pair,
                    f"{who} {'have a ' + what if is_sliver else 'overlap'} "
                    f"({int(mask.sum())} piece{'s' if mask.sum() > 1 else ''}, "
                    f"{total:,.1f} m²)",
                    [a, b],
                    area_m2=total,
                    geo_geom=shapely.multipolygons(chosen.geo),
                    point=shapely.point_on_surface(_largest(chosen.planar)),
                    details={"between": "overlap"} if is_sliver else {},
                )
            )
    return involved


def _check_sibling_sets(ctx: _Context, drafts: list[_Draft], overlapping: set[int]) -> None:
    levels, kinds, parents = ctx.levels(), ctx.kinds(), ctx.parents()
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i in range(len(ctx.codes)):
        level = levels[i]
        if ctx.present[i] and level is not None and kinds[i] != "special":
            groups.setdefault((level, parents[i]), []).append(i)
    for (level, parent), rows in groups.items():
        members = np.array(rows)
        prow = ctx.row_of.get(parent) if parent else None
        if parent is not None and prow is not None and bool(ctx.present[prow]):
            union = _guard(ctx, drafts, "gap", rows, _union, ctx.geo[members])
            if union is None:
                continue
            _guard(
                ctx,
                drafts,
                "gap",
                [*rows, prow],
                _check_gaps_in_parent,
                ctx,
                drafts,
                members,
                parent,
                prow,
                union,
            )
            _guard(
                ctx,
                drafts,
                "outside-parent",
                [*rows, prow],
                _check_outside,
                ctx,
                drafts,
                members,
                parent,
                prow,
            )
        else:
            _guard(ctx, drafts, "gap", rows, _check_holes, ctx, drafts, members, level, parent)
    explained = set(overlapping)
    for d in drafts:
        if d.severity == "error" and d.rule in ("invalid_geometry", "gap", "sliver"):
            explained.update(d.rows)
    for rows in groups.values():
        _guard(ctx, drafts, "edge", rows, _check_edges, ctx, drafts, np.array(rows), explained)


def _check_edges(
    ctx: _Context, drafts: list[_Draft], members: np.ndarray, explained: set[int]
) -> None:
    if len(members) < 2:
        return
    edges = shapely.coverage_invalid_edges(ctx.geo[members])
    for i, edge in zip(members.tolist(), edges.tolist(), strict=True):
        if edge is None or shapely.is_empty(edge) or i in explained:
            continue
        planar = ctx.project([edge])[0]
        length = float(shapely.length(planar))
        drafts.append(
            _Draft(
                "warning",
                "unmatched_edges",
                _c(ctx.codes[i]),
                f"{ctx.labels[i]}: {length:,.1f} m of edges do not match the neighbours' "
                "vertex for vertex",
                [i],
                point=shapely.line_interpolate_point(_longest_line(planar), 0.5, normalized=True),
                details={"length_m": round(length, 2)},
            )
        )


def _longest_line(geom: Any) -> Any:
    parts = shapely.get_parts(geom)
    return parts[int(np.argmax(shapely.length(parts)))]


def _neighbours(ctx: _Context, piece: Any, members: np.ndarray) -> list[int]:
    hits = ctx.tree.query(piece, predicate="dwithin", distance=max(ctx.tolerance_m, 0.01))
    return sorted(set(hits.tolist()) & set(members.tolist()))


def _report_pieces(
    ctx: _Context,
    drafts: list[_Draft],
    pieces: _Pieces,
    members: np.ndarray,
    severity: Severity,
    where: str,
    parent: str | None,
) -> None:
    if not len(pieces):
        return
    sliver = ctx.is_sliver(pieces.area, pieces.perimeter)
    for geo, part, a, is_sliver in zip(
        pieces.geo.tolist(),
        pieces.planar.tolist(),
        pieces.area.tolist(),
        sliver.tolist(),
        strict=True,
    ):
        rows = _neighbours(ctx, part, members)
        codes = sorted(c for c in (ctx.codes[r] for r in rows) if c)
        if parent:
            codes.append(parent)
        names = ", ".join(ctx.labels[r] for r in rows) or "no unit"
        what = "sliver gap" if is_sliver else "gap"
        drafts.append(
            _Draft(
                severity,
                "sliver" if is_sliver else "gap",
                codes,
                f"{what} of {a:,.1f} m² {where} (next to {names})",
                rows,
                area_m2=float(a),
                geo_geom=geo,
                point=shapely.point_on_surface(part),
                details={"between": "gap"} if is_sliver else {},
            )
        )


def _beyond_band(ctx: _Context, pieces: _Pieces, boundary: Any) -> np.ndarray:
    """Which pieces reach more than ``tolerance_m`` away from a (planar) boundary.

    Decided by vertex distances (no overlay on projected geometries, which may
    have become invalid in the projection): a piece whose every vertex lies
    within the tolerance of the boundary cannot reach beyond it by more than
    the piece's own width, and such pieces are at most ``2·tolerance`` wide.
    """
    out = np.zeros(len(pieces), dtype=bool)
    for k, piece in enumerate(pieces.planar.tolist()):
        coords = shapely.points(shapely.get_coordinates(piece))
        far = float(shapely.distance(coords, boundary).max()) if len(coords) else 0.0
        inside = shapely.point_on_surface(piece)
        out[k] = far > ctx.tolerance_m or float(shapely.distance(inside, boundary)) > (
            ctx.tolerance_m
        )
    return out


def _check_gaps_in_parent(
    ctx: _Context,
    drafts: list[_Draft],
    members: np.ndarray,
    parent: str,
    prow: int,
    union: Any,
) -> None:
    gap = _robust(shapely.difference, ctx.geo[prow], union)
    pieces = _measure(ctx, gap)
    if not len(pieces):
        return
    inner = _beyond_band(ctx, pieces, shapely.boundary(ctx.planar[prow]))
    _report_pieces(ctx, drafts, pieces.select(inner), members, "error", f"in {parent}", parent)


def _planar_union(geoms: np.ndarray) -> Any:
    """Union of planar polygons snap-rounded to :data:`GRID_M` (retried on valid copies)."""
    try:
        return shapely.union_all(geoms, grid_size=GRID_M)
    except GEOSException:
        return shapely.union_all(shapely.make_valid(geoms), grid_size=GRID_M)


def _check_holes(
    ctx: _Context,
    drafts: list[_Draft],
    members: np.ndarray,
    level: str,
    parent: str | None,
) -> None:
    """Holes enclosed by siblings whose parent polygon is not in the data (warnings).

    Enclosure is decided on the planar union snap-rounded to :data:`GRID_M`, so that
    T-junctions a millimetre off their neighbour's edge (as after reprojecting
    a layout drawn in a projected CRS) close the ring.
    """
    closed = _planar_union(ctx.planar[members])
    polys, _ = polygon_parts([closed])
    rings = [r for p in polys.tolist() for r in p.interiors]
    if not rings:
        return
    holes = shapely.make_valid(shapely.polygons(np.array(rings, dtype=object)))
    levels = np.array(ctx.levels(), dtype=object)
    kinds = np.array(ctx.kinds(), dtype=object)
    hit_hole, hit_row = ctx.tree.query(holes, predicate="intersects")
    other = (levels[hit_row] == level) & (kinds[hit_row] != "special")
    other &= ~np.isin(hit_row, members)
    filled = []
    for h, hole in enumerate(holes.tolist()):
        rows = hit_row[other & (hit_hole == h)]
        if rows.size:
            hole = _robust(shapely.difference, hole, _planar_union(ctx.planar[rows]))
        filled.append(hole)
    planar, _ = polygon_parts(filled)
    area = np.asarray(shapely.area(planar), dtype=float)
    perimeter = np.asarray(shapely.length(planar), dtype=float)
    geo = from_local_metric(planar, ctx.crs) if ctx.crs is not None and len(planar) else planar
    pieces = _Pieces(np.asarray(geo, dtype=object), planar, area, perimeter)
    pieces = pieces.select(~_is_noise(area, perimeter))
    where = f"enclosed by the units of {parent}" if parent else f"enclosed by {level} units"
    where += " (the parent polygon is not in the data)" if parent else ""
    _report_pieces(ctx, drafts, pieces, members, "warning", where, parent)


def _check_outside(
    ctx: _Context, drafts: list[_Draft], members: np.ndarray, parent: str, prow: int
) -> None:
    parent_geo, parent_planar = ctx.geo[prow], ctx.planar[prow]
    rim = shapely.boundary(parent_planar)
    covered = shapely.covers(parent_geo, ctx.geo[members])
    rest = members[~covered]
    if not len(rest):
        return
    outsides = _robust(shapely.difference, ctx.geo[rest], parent_geo)
    for i, outside in zip(rest.tolist(), outsides.tolist(), strict=True):
        if shapely.is_empty(outside):
            continue
        pieces = _measure(ctx, outside)
        if not len(pieces):
            continue
        coords = shapely.points(shapely.get_coordinates(pieces.planar))
        dist = float(shapely.distance(coords, rim).max()) if len(coords) else 0.0
        if dist <= ctx.tolerance_m:
            continue
        far = pieces.select(_beyond_band(ctx, pieces, rim))
        area = float(pieces.area.sum())
        drafts.append(
            _Draft(
                "error",
                "outside_parent",
                [c for c in (ctx.codes[i], parent) if c],
                f"{ctx.labels[i]} extends {area:,.1f} m² beyond its parent {parent} "
                f"(up to {dist:,.1f} m; tolerance {ctx.tolerance_m:g} m)",
                [i],
                area_m2=area,
                geo_geom=shapely.multipolygons(pieces.geo),
                point=shapely.point_on_surface(_largest(far.planar if len(far) else pieces.planar)),
                details={"parent_code": parent, "max_distance_m": round(dist, 2)},
            )
        )


def _check_unit_slivers(ctx: _Context, drafts: list[_Draft]) -> None:
    idx = np.flatnonzero(ctx.present)
    parts, owner = polygon_parts(ctx.planar[idx])
    if not len(parts):
        return
    owner = idx[owner]
    area, perim = shapely.area(parts), shapely.length(parts)
    crumb = _is_noise(area, perim)  # floating-point crumbs, like gap pieces
    parts, owner, area, perim = parts[~crumb], owner[~crumb], area[~crumb], perim[~crumb]
    sliver = ctx.is_sliver(area, perim)
    for i in np.unique(owner[sliver]).tolist():
        mine = owner == i
        bad = mine & sliver
        total = float(area[bad].sum())
        whole = bool(bad.sum() == mine.sum())
        width = 2 * total / float(perim[bad].sum())
        what = (
            f"is a sliver ({total:,.1f} m², mean width {width:,.2f} m)"
            if whole
            else f"has {int(bad.sum())} sliver part(s) ({total:,.1f} m², mean width {width:,.2f} m)"
        )
        drafts.append(
            _Draft(
                "error",
                "sliver",
                _c(ctx.codes[i]),
                f"{ctx.labels[i]} {what}",
                [i],
                area_m2=total,
                geom=shapely.multipolygons(parts[bad]),
                point=shapely.point_on_surface(_largest(parts[bad])),
                details={"between": "part", "whole_unit": whole},
            )
        )


# --------------------------------------------------------------------------- special grids


def _check_special(ctx: _Context, drafts: list[_Draft]) -> None:
    levels, kinds, parents = ctx.levels(), ctx.kinds(), ctx.parents()
    special = [
        i
        for i in range(len(ctx.codes))
        if ctx.present[i] and kinds[i] == "special" and levels[i] == "grid"
    ]
    if not special:
        return
    communities = _community_shapes(ctx, drafts)
    names = list(communities)
    shapes = np.array([communities[c] for c in names], dtype=object)
    tree = shapely.STRtree(shapes)
    for i in special:
        own = parents[i]
        if own is None or own not in communities:
            continue
        _guard(
            ctx,
            drafts,
            "special-grid",
            [i],
            _check_one_special,
            ctx,
            drafts,
            i,
            own,
            communities,
            names,
            shapes,
            tree,
        )


def _check_one_special(
    ctx: _Context,
    drafts: list[_Draft],
    i: int,
    own: str,
    communities: dict[str, Any],
    names: list[str],
    shapes: np.ndarray,
    tree: shapely.STRtree,
) -> None:
    geom = ctx.geo[i]
    outside = _robust(shapely.difference, geom, communities[own])
    pieces = _measure(ctx, outside)
    if not len(pieces):
        return
    rim = shapely.boundary(ctx.project([communities[own]])[0])
    far = pieces.select(_beyond_band(ctx, pieces, rim))
    if not len(far):
        return
    hits = tree.query(outside, predicate="intersects")
    shares = {
        names[h]: float(_measure(ctx, _robust(shapely.intersection, geom, shapes[h])).area.sum())
        for h in hits
    }
    shares.pop(own, None)
    entered = sorted(c for c, a in shares.items() if a >= MIN_AREA_M2)
    inside = float(_measure(ctx, _robust(shapely.intersection, geom, communities[own])).area.sum())
    area = float(pieces.area.sum())
    msg = f"special grid {ctx.labels[i]} reaches {area:,.1f} m² beyond its community {own}" + (
        f" into {', '.join(entered)}" if entered else ""
    )
    top = max(shares.items(), key=lambda kv: kv[1], default=None)
    if top is not None and top[1] > inside:
        msg += f"; most of its area lies in {top[0]}"
    drafts.append(
        _Draft(
            "error",
            "special_crosses_community",
            [c for c in [ctx.codes[i], own, *entered] if c],
            msg,
            [i],
            area_m2=area,
            geo_geom=shapely.multipolygons(pieces.geo),
            point=shapely.point_on_surface(_largest(far.planar)),
            details={"community": own, "entered": entered},
        )
    )


def _community_shapes(ctx: _Context, drafts: list[_Draft]) -> dict[str, Any]:
    """Storage-CRS community shapes: the polygon if present, else the union of its base grids."""
    levels, kinds, parents = ctx.levels(), ctx.kinds(), ctx.parents()
    shapes: dict[str, Any] = {}
    for i, code in enumerate(ctx.codes):
        if code and levels[i] == "community" and ctx.present[i] and code not in shapes:
            shapes[code] = ctx.geo[i]
    grids: dict[str, list[int]] = {}
    for i, parent in enumerate(parents):
        if (
            parent
            and parent not in shapes
            and levels[i] == "grid"
            and kinds[i] == "base"
            and ctx.present[i]
        ):
            grids.setdefault(parent, []).append(i)
    for parent, rows in grids.items():
        union = _guard(ctx, drafts, "special-grid", rows, _union, ctx.geo[np.array(rows)])
        if union is not None:
            shapes[parent] = union
    return shapes


# --------------------------------------------------------------------------- sizes and shapes


def _check_households(
    ctx: _Context, drafts: list[_Draft], households_range: tuple[float, float]
) -> None:
    lo, hi = households_range
    frame = ctx.frame
    hh = pd.to_numeric(frame["households"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    workers = pd.to_numeric(frame["full_time_workers"], errors="coerce")
    w = workers.fillna(0).to_numpy(dtype=float)
    levels, kinds = ctx.levels(), ctx.kinds()
    for i in range(len(ctx.codes)):
        if levels[i] != "grid" or kinds[i] != "base" or np.isnan(hh[i]):
            continue
        per = hh[i] / max(w[i], 1.0)
        if lo <= per <= hi:
            continue
        if w[i] > 1:
            what = f"{hh[i]:,.0f} households for {w[i]:g} full-time workers ({per:,.0f} each)"
        else:
            what = f"{hh[i]:,.0f} households" + (" for one full-time worker" if w[i] else "")
        drafts.append(
            _Draft(
                "warning",
                "households_out_of_range",
                _c(ctx.codes[i]),
                f"{ctx.labels[i]}: {what}, outside the target {lo:g}–{hi:g}",
                [i],
                point=_pt(ctx, i),
                details={"households": hh[i], "workers": w[i], "per_worker": round(per, 1)},
            )
        )


def _check_compactness(ctx: _Context, drafts: list[_Draft], targets: Mapping[str, float]) -> None:
    levels = ctx.levels()
    rows = [
        i for i in range(len(ctx.codes)) if ctx.present[i] and levels[i] in ("grid", "microgrid")
    ]
    if not rows:
        return
    scores = compactness_planar(ctx.planar[np.array(rows)])
    pp_min = float(targets.get("polsby_popper", 0.0))
    reock_min = float(targets.get("reock", 0.0))
    for i, pp, reock in zip(
        rows, scores["polsby_popper"].tolist(), scores["reock"].tolist(), strict=True
    ):
        low = []
        if pp < pp_min:
            low.append(f"Polsby–Popper {pp:.2f} < {pp_min:g}")
        if reock < reock_min:
            low.append(f"Reock {reock:.2f} < {reock_min:g}")
        if low:
            drafts.append(
                _Draft(
                    "warning",
                    "low_compactness",
                    _c(ctx.codes[i]),
                    f"{ctx.labels[i]} is not compact: {'; '.join(low)}",
                    [i],
                    point=_pt(ctx, i),
                    details={"polsby_popper": round(pp, 4), "reock": round(reock, 4)},
                )
            )


# --------------------------------------------------------------------------- assembly


_RULE_ORDER: Final = {
    r: k
    for k, r in enumerate(
        (
            "invalid_geometry",
            "missing_code",
            "duplicate_code",
            "code_rule",
            "overlap",
            "gap",
            "sliver",
            "outside_parent",
            "special_crosses_community",
            "incomplete",
            "missing_parent",
            "geometry_engine",
        )
    )
}


def _finish(drafts: list[_Draft], crs: pyproj.CRS | None) -> list[Issue]:
    geoms = np.array([d.geom for d in drafts], dtype=object)
    points = np.array([d.point if d.lonlat is None else None for d in drafts], dtype=object)
    if crs is not None and len(drafts):
        has_geom = ~shapely.is_missing(geoms)
        if has_geom.any():
            geoms[has_geom] = from_local_metric(geoms[has_geom], crs)
        has_point = ~shapely.is_missing(points)
        if has_point.any():
            points[has_point] = from_local_metric(points[has_point], crs)
    issues = []
    for d, g, p in zip(drafts, geoms.tolist(), points.tolist(), strict=True):
        if d.geo_geom is not None:
            g = d.geo_geom
        loc = d.lonlat
        if loc is None and p is not None:
            loc = (round(float(p.x), 7), round(float(p.y), 7))
        wkt = shapely.to_wkt(g, rounding_precision=7, trim=True) if g is not None else None
        issues.append(
            Issue(
                severity=d.severity,
                rule=d.rule,
                codes=list(d.codes),
                message=d.message,
                location=loc,
                area_m2=round(d.area_m2, 2) if d.area_m2 is not None else None,
                geometry_wkt=wkt,
                rows=list(d.rows),
                details=dict(d.details),
            )
        )
    issues.sort(
        key=lambda i: (
            i.severity != "error",
            _RULE_ORDER.get(i.rule, len(_RULE_ORDER)),
            i.rule,
            i.codes,
            i.rows,
        )
    )
    return issues


def _present_only(geoms: np.ndarray, present: np.ndarray) -> np.ndarray:
    out = np.full(len(geoms), None, dtype=object)
    out[present] = geoms[present]
    return out


# --------------------------------------------------------------------------- completeness

COMPLETENESS_AREA_TOLERANCE: Final = 0.01
"""A generation may cover up to 1 % less area per level than the one it replaces
(outlines redrawn along a road, say); more than that is ``incomplete``."""

_AREA_LEVELS: Final = ("district", "street", "community", "grid", "microgrid")


def check_completeness(
    units: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame,
    *,
    scope: list[str] | None = None,
    area_tolerance: float = COMPLETENESS_AREA_TOLERANCE,
) -> list[Issue]:
    """Does ``units`` cover what ``reference`` (the active generation) covers?

    Within ``scope`` (codes; default: everything in ``reference``), every
    district, street and community code of the reference must be present,
    every reference community with grids must have grids, and at every level
    the base units must cover the reference's area up to ``area_tolerance``.

    Parameters
    ----------
    units, reference : geopandas.GeoDataFrame
        Units tables (``code``, ``level``, ``kind``, ``parent_code``, geometry).
    scope : list of str, optional
        Codes the planner states the generation covers; only reference units
        under them are required.
    area_tolerance : float
        Relative area shortfall allowed per level.

    Returns
    -------
    list of Issue
        ``incomplete`` errors naming what is missing.

    Examples
    --------
    >>> from shapely import box
    >>> ref = gpd.GeoDataFrame({"code": ["330109", "330109001", "330109002"],
    ...     "level": ["district", "street", "street"], "kind": "base",
    ...     "parent_code": [None, "330109", "330109"]},
    ...     geometry=[box(120, 30, 120.02, 30.01), box(120, 30, 120.01, 30.01),
    ...               box(120.01, 30, 120.02, 30.01)], crs=4490)
    >>> [(i.details["level"], i.codes) for i in check_completeness(ref.iloc[:2], ref)]
    [('street', ['330109002']), ('street', [])]
    """
    prefixes = tuple(scope or ())
    ref = reference[reference["code"].notna()].copy()
    if prefixes:
        ref = ref[ref["code"].astype(str).str.startswith(prefixes)]
    have = units[units["code"].notna()]
    codes = set(have["code"].astype(str))
    issues: list[Issue] = []
    scope_text = f" within the stated scope {', '.join(prefixes)}" if prefixes else ""
    for level in ("district", "street", "community"):
        want = ref[ref["level"] == level]
        missing = [c for c in want["code"].astype(str) if c not in codes]
        if missing:
            names = (
                dict(zip(want["code"].astype(str), want["name"], strict=True))
                if "name" in want.columns
                else {}
            )
            shown = ", ".join(f"{c} {names.get(c) or ''}".strip() for c in missing[:10])
            more = f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
            issues.append(
                Issue(
                    "error",
                    "incomplete",
                    missing,
                    f"{len(missing)} {level} unit(s) of the active generation are missing"
                    f"{scope_text}: {shown}{more}; import the whole district, use a partial "
                    "re-import (--replace-under) or state the scope",
                    details={"level": level, "missing": missing},
                )
            )
    ref_grids = ref[(ref["level"] == "grid") & (ref["kind"] == "base")]
    have_grids = have[(have["level"] == "grid") & (have["kind"] == "base")]
    empty = sorted(set(ref_grids["parent_code"].dropna()) - set(have_grids["parent_code"].dropna()))
    if empty:
        shown = ", ".join(empty[:10]) + (f" (+{len(empty) - 10} more)" if len(empty) > 10 else "")
        issues.append(
            Issue(
                "error",
                "incomplete",
                empty,
                f"{len(empty)} communit{'y has' if len(empty) == 1 else 'ies have'} no grids "
                f"in this generation although the active one has{scope_text}: {shown}",
                details={"level": "grid", "communities_without_grids": empty},
            )
        )
    for level in _AREA_LEVELS:
        want = ref[(ref["level"] == level) & (ref["kind"] == "base")]
        if want.empty:
            continue
        got = have[(have["level"] == level) & (have["kind"] == "base")]
        if prefixes:
            got = got[got["code"].astype(str).str.startswith(prefixes)]
        want_m2 = float(_areas(want).sum())
        got_m2 = float(_areas(got).sum()) if len(got) else 0.0
        if want_m2 <= 0 or got_m2 >= want_m2 * (1 - area_tolerance):
            continue
        issues.append(
            Issue(
                "error",
                "incomplete",
                [],
                f"the {level} level covers {got_m2 / 1e6:,.3f} km² of the active generation's "
                f"{want_m2 / 1e6:,.3f} km²{scope_text} ({100 * got_m2 / want_m2:.1f} %, "
                f"tolerance {100 * area_tolerance:g} %)",
                area_m2=round(want_m2 - got_m2, 2),
                details={
                    "level": level,
                    "area_m2": round(got_m2, 2),
                    "reference_area_m2": round(want_m2, 2),
                },
            )
        )
    return issues


def _areas(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.to_crs(STORAGE_EPSG).geometry.values if frame.crs else frame.geometry.values
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return np.zeros(0)
    return np.asarray(shapely.area(to_local_metric(arr)[0]), dtype=float)
