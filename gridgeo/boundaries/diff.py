"""Diff of two generations of units: what a redraw changes.

:func:`diff_generations` compares an old and a new units table (see
:mod:`gridgeo.boundaries.mapping`):

* **added / removed**: codes only in the new / only in the old generation;
* **changed**: codes in both whose geometry changed (symmetric difference of
  at least 0.01 m²) or whose attributes (name, level, kind, parent, population,
  households, workers) differ, with old/new area and the area delta in m²;
* **area moved**: the new polygons overlaid on the old ones, level by level
  and kind by kind (special grids are a layer of their own), giving the area
  in m² that passes from each old code to each other new code. Area of an
  old unit covered by no new unit goes to ``to_code = None``; new area that
  no old unit covered comes from ``from_code = None``;
* **re-attribution** of households and workers. Households and population
  are apportioned by area: an old unit's figures are spread over the new
  units in proportion to the share of its area each receives, assuming
  residents are spread evenly within the old unit (the best that can be done
  without address points). Workers are people, not densities: an old unit's
  full-time and part-time workers follow the new unit that receives the
  largest share of its area. ``estimated`` sums the apportioned figures per
  new code.

All areas are computed in a local equal-area projection
(:func:`gridgeo.measure.to_local_metric`), hence exact in m².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import STORAGE_EPSG
from gridgeo.boundaries.mapping import derive_kind, derive_level, normalize_codes
from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.measure import local_metric_crs, to_local_metric

__all__ = ["ATTRIBUTES", "GenerationDiff", "diff_generations"]

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

_NUMBERS: Final = ("households", "population", "full_time_workers", "part_time_workers")


@dataclass
class GenerationDiff:
    """Result of :func:`diff_generations`.

    Attributes
    ----------
    added, removed : list of str
        Sorted codes only in the new / only in the old generation.
    changed : pandas.DataFrame
        One row per code in both with a change: ``code``, ``level``,
        ``geometry_changed`` (bool), ``attributes_changed`` (list of column
        names), ``area_old_m2``, ``area_new_m2``, ``area_delta_m2``.
    unchanged : int
        Number of codes in both with neither change.
    area_moved : pandas.DataFrame
        ``from_code``, ``to_code``, ``level``, ``kind``, ``area_m2``: area
        passing between different codes (None = not covered), largest first.
    reattributed : pandas.DataFrame
        ``from_code``, ``to_code``, ``level``, ``share`` (of the old unit's
        area), ``households``, ``population`` (area-apportioned, float),
        ``full_time_workers``, ``part_time_workers`` (whole workers following
        the majority of the area); one row per pair of different codes that
        share area.
    estimated : pandas.DataFrame
        Per new code: ``code``, ``households_estimated``,
        ``population_estimated`` (sums of apportioned old figures; NaN where
        no old figure reaches).
    """

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: pd.DataFrame = field(default_factory=pd.DataFrame)
    unchanged: int = 0
    area_moved: pd.DataFrame = field(default_factory=pd.DataFrame)
    reattributed: pd.DataFrame = field(default_factory=pd.DataFrame)
    estimated: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def changed_codes(self) -> list[str]:
        """Sorted codes in ``changed``."""
        return sorted(self.changed["code"].tolist()) if len(self.changed) else []

    def totals(self) -> dict[str, float | int]:
        """Summary numbers: counts, area moved, households and workers re-attributed."""
        moved = self.area_moved
        between = moved[moved["from_code"].notna() & moved["to_code"].notna()]
        re = self.reattributed
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "area_moved_m2": round(float(between["area_m2"].sum()), 2),
            "area_uncovered_m2": round(
                float(moved.loc[moved["to_code"].isna(), "area_m2"].sum()), 2
            ),
            "area_newly_covered_m2": round(
                float(moved.loc[moved["from_code"].isna(), "area_m2"].sum()), 2
            ),
            "households_reattributed": round(float(re["households"].sum()), 1) if len(re) else 0,
            "population_reattributed": round(float(re["population"].sum()), 1) if len(re) else 0,
            "full_time_workers_reattributed": int(re["full_time_workers"].sum()) if len(re) else 0,
            "part_time_workers_reattributed": int(re["part_time_workers"].sum()) if len(re) else 0,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN → None)."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": _records(self.changed),
            "unchanged": self.unchanged,
            "area_moved": _records(self.area_moved),
            "reattributed": _records(self.reattributed),
            "estimated": _records(self.estimated),
            "totals": self.totals(),
        }


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
    return frame


def _same(a: Any, b: Any) -> bool:
    a_na = a is None or (not isinstance(a, str) and bool(pd.isna(a)))
    b_na = b is None or (not isinstance(b, str) and bool(pd.isna(b)))
    if a_na or b_na:
        return a_na and b_na
    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number):
        return float(a) == float(b)
    return bool(a == b)


def diff_generations(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> GenerationDiff:
    """Compare two generations of units.

    Parameters
    ----------
    old, new : geopandas.GeoDataFrame
        Units tables with unique ``code`` and polygon geometries (any CRS,
        compared in EPSG:4490). ``level`` and ``kind`` are derived from the
        codes when absent. Not modified.

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
    """
    a = _prepare(old, "old")
    b = _prepare(new, "new")
    ga = np.asarray(a.geometry.values, dtype=object)
    gb = np.asarray(b.geometry.values, dtype=object)
    both = np.concatenate([ga, gb])
    present = ~(shapely.is_missing(both) | shapely.is_empty(both))
    crs = local_metric_crs(both[present]) if present.any() else None
    pa = np.full(len(ga), None, dtype=object)
    pb = np.full(len(gb), None, dtype=object)
    if crs is not None:
        ok_a, ok_b = present[: len(ga)], present[len(ga) :]
        if ok_a.any():
            pa[ok_a] = to_local_metric(ga[ok_a], crs)[0]
        if ok_b.any():
            pb[ok_b] = to_local_metric(gb[ok_b], crs)[0]
    area_a = np.nan_to_num(shapely.area(pa).astype(float))
    area_b = np.nan_to_num(shapely.area(pb).astype(float))

    codes_a = a["code"].tolist()
    codes_b = b["code"].tolist()
    row_b = {c: i for i, c in enumerate(codes_b)}
    set_a, set_b = set(codes_a), set(codes_b)
    added = sorted(set_b - set_a)
    removed = sorted(set_a - set_b)

    changed_rows = []
    unchanged = 0
    attrs = [c for c in ATTRIBUTES if c in a.columns and c in b.columns]
    common = [(i, row_b[c]) for i, c in enumerate(codes_a) if c in row_b]
    if common:
        ia = np.array([i for i, _ in common])
        ib = np.array([j for _, j in common])
        inter = np.nan_to_num(shapely.area(shapely.intersection(pa[ia], pb[ib])).astype(float))
        sym = area_a[ia] + area_b[ib] - 2 * inter
        for k, (i, j) in enumerate(common):
            geom_changed = bool(sym[k] >= MIN_AREA_M2)
            diff_attrs = [c for c in attrs if not _same(a.at[i, c], b.at[j, c])]
            if not geom_changed and not diff_attrs:
                unchanged += 1
                continue
            changed_rows.append(
                {
                    "code": codes_a[i],
                    "level": b.at[j, "level"],
                    "geometry_changed": geom_changed,
                    "attributes_changed": diff_attrs,
                    "area_old_m2": float(area_a[i]),
                    "area_new_m2": float(area_b[j]),
                    "area_delta_m2": float(area_b[j] - area_a[i]),
                }
            )
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

    moved, reattributed, estimated = _overlay(a, b, pa, pb, area_a, area_b)
    return GenerationDiff(
        added=added,
        removed=removed,
        changed=changed,
        unchanged=unchanged,
        area_moved=moved,
        reattributed=reattributed,
        estimated=estimated,
    )


def _numbers(frame: gpd.GeoDataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _overlay(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    pa: np.ndarray,
    pb: np.ndarray,
    area_a: np.ndarray,
    area_b: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    key_a = list(zip(a["level"].tolist(), a["kind"].tolist(), strict=True))
    key_b = list(zip(b["level"].tolist(), b["kind"].tolist(), strict=True))
    codes_a = np.array(a["code"].tolist(), dtype=object)
    codes_b = np.array(b["code"].tolist(), dtype=object)
    tree = shapely.STRtree(pb)
    ia, ib = tree.query(pa, predicate="intersects")
    same_group = np.array([key_a[i] == key_b[j] for i, j in zip(ia, ib, strict=True)], dtype=bool)
    ia, ib = ia[same_group], ib[same_group]
    inter = np.nan_to_num(shapely.area(shapely.intersection(pa[ia], pb[ib])).astype(float))
    real = inter >= MIN_AREA_M2
    ia, ib, inter = ia[real], ib[real], inter[real]

    # Area passing between different codes, and area no longer / newly covered.
    covered_a = np.bincount(ia, weights=inter, minlength=len(pa))
    covered_b = np.bincount(ib, weights=inter, minlength=len(pb))
    lost = area_a - covered_a
    gained = area_b - covered_b
    rows: list[dict[str, Any]] = []
    for i, j, x in zip(ia.tolist(), ib.tolist(), inter.tolist(), strict=True):
        if codes_a[i] != codes_b[j]:
            rows.append(
                {
                    "from_code": codes_a[i],
                    "to_code": codes_b[j],
                    "level": key_a[i][0],
                    "kind": key_a[i][1],
                    "area_m2": x,
                }
            )
    for i in np.flatnonzero(lost >= MIN_AREA_M2).tolist():
        rows.append(
            {
                "from_code": codes_a[i],
                "to_code": None,
                "level": key_a[i][0],
                "kind": key_a[i][1],
                "area_m2": float(lost[i]),
            }
        )
    for j in np.flatnonzero(gained >= MIN_AREA_M2).tolist():
        rows.append(
            {
                "from_code": None,
                "to_code": codes_b[j],
                "level": key_b[j][0],
                "kind": key_b[j][1],
                "area_m2": float(gained[j]),
            }
        )
    moved = pd.DataFrame(rows, columns=["from_code", "to_code", "level", "kind", "area_m2"])
    moved = moved.sort_values(
        ["area_m2", "from_code", "to_code"], ascending=[False, True, True], ignore_index=True
    )

    # Re-attribution of households/population (by area) and workers (by majority).
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(area_a[ia] > 0, inter / area_a[ia], 0.0)
    hh = _numbers(a, "households")[ia] * share
    pop = _numbers(a, "population")[ia] * share
    ft = np.nan_to_num(_numbers(a, "full_time_workers"))
    pt = np.nan_to_num(_numbers(a, "part_time_workers"))
    best = np.full(len(pa), -1)
    best_area = np.zeros(len(pa))
    for k, (i, x) in enumerate(zip(ia.tolist(), inter.tolist(), strict=True)):
        if x > best_area[i]:
            best_area[i], best[i] = x, k
    re_rows = []
    for k, (i, j) in enumerate(zip(ia.tolist(), ib.tolist(), strict=True)):
        if codes_a[i] == codes_b[j]:
            continue
        majority = best[i] == k
        workers_ft = int(ft[i]) if majority else 0
        workers_pt = int(pt[i]) if majority else 0
        re_rows.append(
            {
                "from_code": codes_a[i],
                "to_code": codes_b[j],
                "level": key_a[i][0],
                "share": float(share[k]),
                "households": float(hh[k]),
                "population": float(pop[k]),
                "full_time_workers": workers_ft,
                "part_time_workers": workers_pt,
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

    est_hh = pd.Series(hh).groupby(ib).sum(min_count=1) if len(ib) else pd.Series(dtype=float)
    est_pop = pd.Series(pop).groupby(ib).sum(min_count=1) if len(ib) else pd.Series(dtype=float)
    estimated = pd.DataFrame(
        {
            "code": codes_b,
            "households_estimated": est_hh.reindex(range(len(pb))).to_numpy(dtype=float),
            "population_estimated": est_pop.reindex(range(len(pb))).to_numpy(dtype=float),
        }
    )
    return moved, reattributed, estimated
