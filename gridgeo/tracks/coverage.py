"""Patrol coverage of grids and of workers' assignments, over a time window.

Definitions
-----------
The window is half-open, ``[start, end)``, and is cut at ``now``:
``as_of = min(end, now)``; only fixes in ``[start, as_of)`` count.

Cells of a unit
    The H3 cells (resolution ``h3_res``, default 10: cells of about
    15,000 m², 66 m edge, a street block) whose **centre lies in the unit's
    polygon**. A unit too small to contain a cell centre gets the one cell
    containing its representative point, so every unit has at least one cell.
    Special grids overlap base grids, so a cell can belong to both.
``cells_visited`` / ``coverage_share`` (巡查覆盖率)
    Cells of the grid that contain at least one fix *inside the grid* in the
    window (of any worker: coverage is about the place, not the person), and
    their share of ``cells_total``. A fix just across the boundary, in the
    neighbour's part of a boundary cell, does not count.
``visits``
    Patrols with at least one fix inside the grid's polygon (see
    :func:`gridgeo.tracks.join.grid_memberships`: the base grid, the grid-level
    owner and every covering special grid). A grid is *visited* when it has a
    visit; this uses the polygon, not the cells, so a visit to a corner of a
    grid counts even if it touched no cell centre.
``revisit_interval_h``
    Median time between the starts of consecutive visits (NaN with fewer than
    two visits).
``longest_unvisited_h``
    The longest time in ``[start, as_of)`` without anyone in the grid: before
    the first visit, between the end of one visit and the start of the next,
    and after the last; the whole window for a grid never visited.
``last_visit``, ``days_since_visit``
    Time of the last fix inside the grid, and ``as_of`` minus it in days (NaN
    if never visited). :func:`unvisited_grids` lists grids not visited within
    ``days``.
``patrol_time_h``
    Patrol time spent inside the grid (each fix carries the interval to the
    next fix of its patrol, capped at ``gap_minutes``).

Examples
--------
>>> import geopandas as gpd, pandas as pd, shapely
>>> units = gpd.GeoDataFrame({"code": ["330109001001001", "330109001001002"],
...     "parent_code": "330109001001", "level": "grid", "kind": "base", "name": ["A", "B"]},
...     geometry=[shapely.box(120.0, 30.0, 120.01, 30.01),
...               shapely.box(120.01, 30.0, 120.02, 30.01)], crs=4490)
>>> t = pd.to_datetime(["2026-10-01 01:00", "2026-10-01 01:01"], utc=True)
>>> fixes = pd.DataFrame({"worker_id": "W1", "t": t, "lon": [120.005, 120.006], "lat": 30.005,
...     "patrol_key": "k1", "unit_code": "330109001001001", "grid_code": "330109001001001",
...     "base_grid_code": "330109001001001", "special_grids": [(), ()]})
>>> cov = grid_coverage(fixes, units, window=("2026-10-01", "2026-10-02"))
>>> cov[["code", "cells_total", "cells_visited", "visits", "longest_unvisited_h"]].values.tolist()
[['330109001001001', 90, 2, 1, 22.98...], ['330109001001002', 90, 0, 0, 24.0]]
>>> unvisited_grids(cov, days=1)
['330109001001002']
"""

from __future__ import annotations

from itertools import repeat
from typing import Any, Final

import h3
import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import shapely

from gridgeo.errors import InvalidInput
from gridgeo.tracks._geo import epoch_seconds, require_columns, utc_timestamp, wgs84_lonlat
from gridgeo.tracks.join import (
    JOIN_COLUMNS,
    assignment_areas,
    grid_memberships,
    inside_assigned,
    interval_weights,
)

__all__ = [
    "COVERAGE_COLUMNS",
    "WORKER_COVERAGE_COLUMNS",
    "fix_cells",
    "grid_coverage",
    "unit_cells",
    "unvisited_grids",
    "worker_coverage",
]

COVERAGE_COLUMNS: Final[tuple[str, ...]] = (
    "code",
    "name",
    "kind",
    "cells_total",
    "cells_visited",
    "coverage_share",
    "visits",
    "patrol_time_h",
    "revisit_interval_h",
    "longest_unvisited_h",
    "last_visit",
    "days_since_visit",
)
WORKER_COVERAGE_COLUMNS: Final[tuple[str, ...]] = (
    "worker_id",
    "assigned_code",
    "area_code",
    "patrols",
    "patrol_time_h",
    "inside_share",
    "cells_total",
    "cells_visited",
    "coverage_share",
    "last_patrol",
)
_HOUR: Final = 3600.0


def unit_cells(units: pd.DataFrame, *, h3_res: int = 10) -> pd.DataFrame:
    """H3 cells (uint64 ids) of each unit: centres in the polygon, at least one.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        ``code`` and polygon ``geometry`` in EPSG:4490/4326.
    h3_res : int, default 10

    Returns
    -------
    pandas.DataFrame
        ``code, cell`` (uint64), one row per unit and cell.
    """
    _check_res(h3_res)
    require_columns(units, ["code", "geometry"], "units")
    codes: list[str] = []
    cells: list[int] = []
    for code, geom in zip(units["code"].astype("str"), units.geometry, strict=True):
        found: list[int] = []
        if geom is not None and not geom.is_empty:
            shape = h3.geo_to_h3shape(shapely.geometry.mapping(geom))
            found = list(h3i.h3shape_to_cells(shape, h3_res))
            if not found:
                p = shapely.point_on_surface(geom)
                found = [h3i.latlng_to_cell(p.y, p.x, h3_res)]
        codes.extend([code] * len(found))
        cells.extend(found)
    return pd.DataFrame({"code": codes, "cell": np.asarray(cells, dtype=np.uint64)})


def fix_cells(fixes: pd.DataFrame, *, h3_res: int = 10) -> np.ndarray:
    """The H3 cell (uint64) of each fix (about 0.5 µs a fix; h3 4 has no array call)."""
    _check_res(h3_res)
    lon, lat = wgs84_lonlat(fixes)
    return np.fromiter(
        map(h3i.latlng_to_cell, lat.tolist(), lon.tolist(), repeat(h3_res)),
        dtype=np.uint64,
        count=lon.size,
    )


def grid_coverage(
    fixes: pd.DataFrame,
    units: pd.DataFrame,
    *,
    h3_res: int = 10,
    window: tuple[Any, Any] | None = None,
    now: Any = None,
    gap_minutes: float = 15,
    cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Coverage, visits and gaps of every grid-level unit (module docstring).

    Parameters
    ----------
    fixes : pandas.DataFrame
        Joined fixes (:func:`gridgeo.tracks.join.join_to_grids`), sorted by
        patrol and time. Not modified.
    units : geopandas.GeoDataFrame
        Units with ``code, level, kind, name, geometry``; the rows with
        ``level == "grid"`` (base and special) are reported.
    h3_res : int, default 10
    window : (start, end), optional
        Half-open period (naive times are UTC); default from the first fix to
        one second after the last.
    now : datetime-like, optional
        Cuts the window (``as_of = min(end, now)``); default ``end``.
    gap_minutes : float, default 15
        Cap on the interval credited to a fix in ``patrol_time_h``.
    cells : pandas.DataFrame, optional
        Precomputed :func:`unit_cells` of the grids at ``h3_res`` (reuse
        across windows).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COVERAGE_COLUMNS`, one row per grid, sorted by code.
    """
    require_columns(fixes, ["worker_id", "t", "lon", "lat", "patrol_key", *JOIN_COLUMNS], "fixes")
    require_columns(units, ["code", "level", "kind", "name", "geometry"], "units")
    grids = units[units["level"].astype("str") == "grid"]
    codes = grids["code"].astype("str").to_numpy(dtype=object)
    if cells is None:
        cells = unit_cells(grids, h3_res=h3_res)
    start, as_of = _period(fixes, window, now)
    span_h = max(as_of - start, 0.0) / _HOUR
    t_all = epoch_seconds(fixes["t"])
    in_window = (t_all >= start) & (t_all < as_of)
    weights = interval_weights(fixes, gap_minutes=gap_minutes)
    sel = np.flatnonzero(in_window)
    f = fixes.iloc[sel]
    t = t_all[sel]

    members = grid_memberships(f)
    pos = members["pos"].to_numpy()
    members["patrol"] = f["patrol_key"].to_numpy(dtype=object)[pos]
    members["t"] = t[pos]
    members["w"] = weights[sel][pos]
    members["cell"] = fix_cells(f, h3_res=h3_res)[pos]

    seen = members[["code", "cell"]].drop_duplicates().assign(visited=True)
    c = cells[["code", "cell"]].assign(code=cells["code"].astype("str"))
    c = c.merge(seen, on=["code", "cell"], how="left")
    c["visited"] = c["visited"].fillna(False).astype(bool)
    per_cell = c.groupby("code").agg(cells_total=("cell", "size"), cells_visited=("visited", "sum"))
    time_h = members.groupby("code")["w"].sum() / _HOUR
    visits = (
        members.groupby(["code", "patrol"], sort=False)["t"]
        .agg(["min", "max"])
        .reset_index()
        .sort_values(["code", "min"], kind="stable")
    )
    stats = _visit_stats(visits, start, as_of)

    out = pd.DataFrame({"code": codes})
    out["name"] = grids["name"].to_numpy(dtype=object)
    out["kind"] = grids["kind"].astype("str").to_numpy(dtype=object)
    out = out.join(per_cell, on="code").join(stats, on="code")
    out["cells_total"] = out["cells_total"].fillna(0).astype(np.int64)
    out["cells_visited"] = out["cells_visited"].fillna(0).astype(np.int64)
    total = out["cells_total"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["coverage_share"] = np.where(total > 0, out["cells_visited"] / total, np.nan)
    out["visits"] = out["visits"].fillna(0).astype(np.int64)
    out["patrol_time_h"] = out["code"].map(time_h).fillna(0.0).astype(np.float64)
    out["longest_unvisited_h"] = out["longest_unvisited_h"].fillna(span_h)
    last = out["last_s"].to_numpy(dtype=np.float64)
    out["last_visit"] = _to_times(last)
    out["days_since_visit"] = (as_of - last) / 86400.0
    out = out[list(COVERAGE_COLUMNS)].sort_values("code", kind="stable").reset_index(drop=True)
    return out


def _visit_stats(visits: pd.DataFrame, start: float, as_of: float) -> pd.DataFrame:
    """Per code: visits, median revisit interval, longest gap, last fix (seconds)."""
    if visits.empty:
        return pd.DataFrame(
            columns=["visits", "revisit_interval_h", "longest_unvisited_h", "last_s"],
            index=pd.Index([], name="code"),
            dtype=np.float64,
        )
    code = visits["code"].to_numpy(dtype=object)
    v_start = visits["min"].to_numpy(dtype=np.float64)
    v_end = visits["max"].to_numpy(dtype=np.float64)
    first = np.ones(len(visits), dtype=bool)
    first[1:] = code[1:] != code[:-1]
    gid = np.cumsum(first) - 1
    # Running maximum of visit ends within each code (visits can overlap): shift
    # each code's values above the previous code's, accumulate, shift back.
    lo = float(v_end.min())
    offset = gid.astype(np.float64) * (float(v_end.max()) - lo + 1.0)
    run_end = np.maximum.accumulate(v_end - lo + offset) - offset + lo
    prev_end = np.empty(len(visits))
    prev_end[0] = start
    prev_end[1:] = run_end[:-1]
    prev_end[first] = start
    gap = np.maximum(v_start - prev_end, 0.0)
    interval = np.full(len(visits), np.nan)
    interval[1:] = v_start[1:] - v_start[:-1]
    interval[first] = np.nan
    frame = pd.DataFrame({"code": code, "gap": gap, "interval": interval, "end": run_end})
    g = frame.groupby("code", sort=False)
    stats = pd.DataFrame(
        {
            "visits": g.size(),
            "revisit_interval_h": g["interval"].median() / _HOUR,
            "inner_gap": g["gap"].max(),
            "last_s": g["end"].max(),
        }
    )
    tail = np.maximum(as_of - stats["last_s"], 0.0)
    stats["longest_unvisited_h"] = np.maximum(stats["inner_gap"], tail) / _HOUR
    return stats[["visits", "revisit_interval_h", "longest_unvisited_h", "last_s"]]


def worker_coverage(
    fixes: pd.DataFrame,
    roster: pd.DataFrame,
    units: pd.DataFrame,
    *,
    h3_res: int = 10,
    window: tuple[Any, Any] | None = None,
    now: Any = None,
    gap_minutes: float = 15,
) -> pd.DataFrame:
    """Per worker of the roster: patrols, time inside the assignment, cells of it visited.

    The assignment area follows :func:`gridgeo.tracks.join.assignment_areas`
    (a micro-grid worker's area is the parent grid). ``cells_visited`` counts
    the area's cells holding a fix *of this worker* inside the area; ``inside_share`` is the
    share of the worker's patrol time spent inside the area (NaN without
    patrol time).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`WORKER_COVERAGE_COLUMNS`, one row per roster worker.
    """
    require_columns(fixes, ["worker_id", "t", "lon", "lat", "patrol_key", *JOIN_COLUMNS], "fixes")
    require_columns(units, ["code", "parent_code", "level", "kind", "geometry"], "units")
    areas = assignment_areas(roster, units)
    start, as_of = _period(fixes, window, now)
    t_all = epoch_seconds(fixes["t"])
    sel = np.flatnonzero((t_all >= start) & (t_all < as_of))
    weights = interval_weights(fixes, gap_minutes=gap_minutes)[sel]
    f = fixes.iloc[sel]
    inside, _ = inside_assigned(f, areas)
    area_codes = pd.unique(areas["area_code"].dropna().to_numpy())
    unit_rows = units[units["code"].astype("str").isin(area_codes)]
    cells = unit_cells(unit_rows, h3_res=h3_res)
    worker = f["worker_id"].astype("str").to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "worker_id": worker,
            "patrol_key": f["patrol_key"].to_numpy(dtype=object),
            "t": t_all[sel],
            "w": weights,
            "w_in": np.where(inside, weights, 0.0),
            "cell": fix_cells(f, h3_res=h3_res),
        }
    )
    g = frame.groupby("worker_id")
    per = pd.DataFrame(
        {
            "patrols": g["patrol_key"].nunique(),
            "time_s": g["w"].sum(),
            "in_s": g["w_in"].sum(),
            "last_s": g["t"].max(),
        }
    )
    seen = frame.loc[inside, ["worker_id", "cell"]].drop_duplicates()
    area_cells = areas[["worker_id", "area_code"]].merge(
        cells, left_on="area_code", right_on="code", how="inner"
    )
    hit = area_cells.merge(seen, on=["worker_id", "cell"], how="inner")
    out = areas[["worker_id", "assigned_code", "area_code"]].copy()
    out = out.join(per, on="worker_id")
    out["patrols"] = out["patrols"].fillna(0).astype(np.int64)
    out["patrol_time_h"] = out["time_s"].fillna(0.0) / _HOUR
    with np.errstate(invalid="ignore", divide="ignore"):
        out["inside_share"] = np.where(
            out["time_s"] > 0, out["in_s"] / out["time_s"].where(out["time_s"] > 0), np.nan
        )
    out["cells_total"] = (
        out["worker_id"].map(area_cells.groupby("worker_id").size()).fillna(0).astype(np.int64)
    )
    out["cells_visited"] = (
        out["worker_id"].map(hit.groupby("worker_id").size()).fillna(0).astype(np.int64)
    )
    total = out["cells_total"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["coverage_share"] = np.where(total > 0, out["cells_visited"] / total, np.nan)
    out["last_patrol"] = _to_times(out["last_s"].to_numpy(dtype=np.float64))
    return out[list(WORKER_COVERAGE_COLUMNS)].reset_index(drop=True)


def unvisited_grids(coverage: pd.DataFrame, days: float) -> list[str]:
    """Codes of grids with no visit within ``days`` before ``as_of`` (or none at all).

    Parameters
    ----------
    coverage : pandas.DataFrame
        Output of :func:`grid_coverage`.
    days : float
        A grid last visited more than this many days before ``as_of``, or
        never in the window, is listed.

    Returns
    -------
    list of str
        Sorted codes.
    """
    require_columns(coverage, ["code", "days_since_visit"], "coverage")
    if not (np.isfinite(days) and days >= 0):
        raise InvalidInput(f"days must be a non-negative number, not {days!r}")
    since = coverage["days_since_visit"]
    stale = since.isna() | (since > days)
    return sorted(coverage.loc[stale, "code"].astype("str").tolist())


def _period(fixes: pd.DataFrame, window: tuple[Any, Any] | None, now: Any) -> tuple[float, float]:
    """Window start and ``as_of`` in epoch seconds."""
    if window is None:
        t = epoch_seconds(fixes["t"])
        if t.size == 0:
            raise InvalidInput("no fixes and no window: give window=(start, end)")
        start, end = float(np.nanmin(t)), float(np.nanmax(t)) + 1.0
    else:
        if not isinstance(window, tuple | list) or len(window) != 2:
            raise InvalidInput("window must be a (start, end) pair")
        start = utc_timestamp(window[0], "window start").value / 1e9
        end = utc_timestamp(window[1], "window end").value / 1e9
        if end <= start:
            raise InvalidInput(f"window end must be after its start, got {window!r}")
    as_of = end if now is None else min(end, utc_timestamp(now, "now").value / 1e9)
    return start, as_of


def _to_times(seconds: np.ndarray) -> pd.Series:
    ns = np.where(np.isnan(seconds), 0, np.round(seconds * 1e9)).astype(np.int64)
    out = pd.Series(pd.to_datetime(ns, unit="ns", utc=True))
    out[np.isnan(seconds)] = pd.NaT
    return out


def _check_res(res: int) -> None:
    if isinstance(res, bool) or not isinstance(res, int | np.integer) or not 0 <= int(res) <= 15:
        raise InvalidInput(f"h3_res must be an integer 0-15, got {res!r}")
