"""What a diff of two generations must report, recomputed with plain geopandas.

Inputs are the two generations' units as exported by the product (EPSG:4490,
the stored coordinates) and, for events, points in EPSG:4490.

Per level (``street``, ``community``, ``grid``, ``microgrid`` for base units,
and ``special`` for special grids), never summed across levels:

``added`` / ``removed``
    Codes only in the new / only in the old generation.
``changed``
    Codes in both whose geometry differs (symmetric difference above
    ``CHANGE_TOLERANCE_M2``) or whose households, population, workers, name
    or parent differ.
``area_moved_m2``
    Area whose unit code at that level differs between the generations:
    the pieces of ``geopandas.overlay(old, new, how="intersection")`` with
    different codes, measured in a Lambert azimuthal equal-area projection
    centred on the data (areas exact to ~1e-6). Before the overlay the
    projected polygons are snapped to a 1 mm grid (``shapely.set_precision``):
    projection can leave edges that crossed by 1e-9 m, which GEOS rejects;
    snapping changes areas by at most half a millimetre times the perimeter.
``area_uncovered_m2`` / ``area_newly_covered_m2``
    Area covered at that level only in the old / only in the new generation.
``households_moved`` (exact rule)
    Half the sum over codes of ``|households_new − households_old|`` (a
    missing code counts 0): the number of households that change code when
    attributes are maintained by the planner. For a boundary move that
    carries *h* households it is *h*; for a merge, the households of the
    absorbed unit; for a split, those of the new part.
``households_apportioned`` (area rule)
    Σ over moved pieces of ``households_old(o) × area(piece) / area(o)``:
    the same figure estimated by area share, for diffs that apportion.
``events_reattributed``
    Events whose covering unit at that level changes.

Ownership of an event (DESIGN.md section 4): candidates are units whose
closure covers the point (``covered_by``); a special grid wins; else the most
specific base level present; ties between siblings (shared edges) go to the
lowest code. ``owner_changes`` counts events whose owner differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

LEVELS = ("street", "community", "grid", "microgrid", "special")
RANK = {"district": 0, "street": 1, "community": 2, "grid": 3, "microgrid": 4}
CHANGE_TOLERANCE_M2 = 0.01
ATTRIBUTES = (
    "name",
    "parent_code",
    "households",
    "population",
    "full_time_workers",
    "part_time_workers",
)


@dataclass
class LevelDiff:
    """Expected diff figures of one level."""

    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    geometry_changed: set[str] = field(default_factory=set)
    area_moved_m2: float = 0.0
    area_uncovered_m2: float = 0.0
    area_newly_covered_m2: float = 0.0
    households_moved: float = 0.0
    households_apportioned: float = 0.0
    events_reattributed: int = 0
    perimeter_changed_m: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (sorted code lists)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = sorted(value) if isinstance(value, set) else value
        return out


@dataclass
class DiffOracle:
    """Expected diff of two generations."""

    levels: dict[str, LevelDiff]
    owner_changes: int
    owners_old: np.ndarray
    owners_new: np.ndarray


def local_equal_area(units: gpd.GeoDataFrame) -> str:
    """A Lambert azimuthal equal-area CRS centred on the units."""
    minx, miny, maxx, maxy = units.to_crs(4490).total_bounds
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    return f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +ellps=GRS80 +units=m +no_defs"


def _level_frame(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    if level == "special":
        mask = units["kind"] == "special"
    else:
        mask = (units["level"] == level) & (units["kind"] == "base")
    return units.loc[mask].reset_index(drop=True)


def _metric(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Project to ``crs`` and snap to a 1 mm grid (valid output), indexed by code."""
    out = frame.to_crs(crs)
    out["geometry"] = shapely.set_precision(out.geometry.to_numpy(), 0.001)
    return out.set_index("code")


def _hh(frame: pd.DataFrame) -> dict[str, float]:
    values = frame["households"].astype("Float64").fillna(0).astype(float)
    return dict(zip(frame["code"].astype(str), values, strict=True))


def level_diff(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, level: str, crs: str) -> LevelDiff:
    """Expected figures of one level (frames in EPSG:4490; areas in ``crs``)."""
    o, n = _level_frame(old, level), _level_frame(new, level)
    result = LevelDiff()
    o_codes, n_codes = set(o["code"]), set(n["code"])
    result.added = n_codes - o_codes
    result.removed = o_codes - n_codes
    common = sorted(o_codes & n_codes)
    o_idx, n_idx = o.set_index("code").loc[common], n.set_index("code").loc[common]
    identical = shapely.equals_exact(o_idx.geometry.to_numpy(), n_idx.geometry.to_numpy(), 0.0)
    stable = {c for c, same in zip(common, identical, strict=True) if same}
    o_m = _metric(o[~o["code"].isin(stable)], crs)
    n_m = _metric(n[~n["code"].isin(stable)], crs)
    moved = [c for c in common if c not in stable]
    if moved:
        sym = shapely.area(
            shapely.symmetric_difference(
                o_m.geometry.loc[moved].to_numpy(), n_m.geometry.loc[moved].to_numpy()
            )
        )
        result.geometry_changed = {
            c for c, a in zip(moved, sym, strict=True) if a > CHANGE_TOLERANCE_M2
        }
        result.perimeter_changed_m = float(shapely.length(o_m.geometry.loc[moved]).sum())
    attributes_differ = np.zeros(len(common), dtype=bool)
    for column in ATTRIBUTES:
        a, b = o_idx[column], n_idx[column]
        if column in ("name", "parent_code"):
            a, b = a.astype("string").fillna("<NA>"), b.astype("string").fillna("<NA>")
        else:
            a, b = a.astype("Float64").fillna(-1.0), b.astype("Float64").fillna(-1.0)
        attributes_differ |= (a.to_numpy() != b.to_numpy()).astype(bool)
    result.changed = set(result.geometry_changed) | {
        c for c, d in zip(common, attributes_differ, strict=True) if d
    }
    # households: exact rule
    ho, hn = _hh(o), _hh(n)
    codes = set(ho) | set(hn)
    result.households_moved = 0.5 * sum(abs(hn.get(c, 0.0) - ho.get(c, 0.0)) for c in codes)
    # areas: overlay of the units that are not byte-identical in both generations
    o_sub, n_sub = o_m.reset_index(), n_m.reset_index()
    if len(o_sub) and len(n_sub):
        pieces = gpd.overlay(
            o_sub[["code", "households", "geometry"]].rename(columns={"code": "old"}),
            n_sub[["code", "geometry"]].rename(columns={"code": "new"}),
            how="intersection",
            keep_geom_type=True,
        )
        pieces = pieces[pieces["old"] != pieces["new"]]
        areas = pieces.geometry.area.to_numpy()
        result.area_moved_m2 = float(areas.sum())
        old_area = o_sub.set_index("code").geometry.area
        share = areas / old_area.reindex(pieces["old"]).to_numpy()
        hh = pieces["households"].astype("Float64").fillna(0).astype(float).to_numpy()
        result.households_apportioned = float((hh * share).sum())
    # stable units are the same in both generations, so they cancel out
    o_all = shapely.union_all(o_sub.geometry.to_numpy(), grid_size=0.001)
    n_all = shapely.union_all(n_sub.geometry.to_numpy(), grid_size=0.001)
    result.area_uncovered_m2 = float(shapely.difference(o_all, n_all).area)
    result.area_newly_covered_m2 = float(shapely.difference(n_all, o_all).area)
    return result


def covering(units: gpd.GeoDataFrame, points: gpd.GeoSeries, level: str) -> np.ndarray:
    """Lowest code of the units of ``level`` whose closure covers each point (or None)."""
    frame = _level_frame(units, level)[["code", "geometry"]]
    pts = gpd.GeoDataFrame({"i": np.arange(len(points))}, geometry=points.values, crs=points.crs)
    hits = gpd.sjoin(pts, frame.to_crs(points.crs), predicate="covered_by", how="inner")
    lowest = hits.groupby("i")["code"].min()
    out = np.full(len(points), None, dtype=object)
    out[lowest.index.to_numpy()] = lowest.to_numpy()
    return out


def owners(units: gpd.GeoDataFrame, points: gpd.GeoSeries) -> np.ndarray:
    """Owner code of each point under DESIGN.md section 4 (None when uncovered)."""
    out = covering(units, points, "special")
    for level in ("microgrid", "grid", "community", "street"):
        level_owner = covering(units, points, level)
        fill = np.array([o is None for o in out]) & np.array([c is not None for c in level_owner])
        out[fill] = level_owner[fill]
    return out


def diff_oracle(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, points: gpd.GeoSeries | None = None
) -> DiffOracle:
    """Expected diff of ``old`` → ``new`` (both EPSG:4490), with events at ``points``."""
    crs = local_equal_area(old)
    levels = {level: level_diff(old, new, level, crs) for level in LEVELS}
    if points is None or len(points) == 0:
        empty = np.array([], dtype=object)
        return DiffOracle(levels, 0, empty, empty)
    for level in LEVELS:
        before, after = covering(old, points, level), covering(new, points, level)
        levels[level].events_reattributed = int(
            sum(1 for a, b in zip(before, after, strict=True) if a != b)
        )
    owners_old, owners_new = owners(old, points), owners(new, points)
    changes = int(sum(1 for a, b in zip(owners_old, owners_new, strict=True) if a != b))
    return DiffOracle(levels, changes, owners_old, owners_new)
