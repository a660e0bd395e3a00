"""Joining fixes to grids: which grid each fix is in, and time and distance per grid.

:func:`join_to_grids` locates every fix with the in-memory
:class:`~gridgeo.locate.LocateIndex` (millions of points a second) and adds:

==================  ==========================================================
``unit_code``       the owner: the most specific unit covering the fix (a
                    micro-grid, a special grid such as a school, or a grid);
                    missing (NA) outside every unit
``grid_code``       the grid-level unit (``level == "grid"``, 15 digits) of the
                    owner's chain: the owner itself for a grid or special
                    grid, the parent grid for a micro-grid
``base_grid_code``  the *base* grid containing the fix, also where a special
                    grid owns it (a school inside a base grid is still part
                    of that grid's area); needs ``base_index``, else missing
                    for fixes owned by a special grid
``special_grids``   tuple of the special grids covering the fix
==================  ==========================================================

and a per-patrol, per-grid summary (``grid_time``): the time and distance
spent in each ``grid_code``. Time and distance of the interval between two
consecutive fixes of a patrol go to the grid of the interval's *start* fix
(the worker was there when the interval began; splitting legs at boundaries
would need the unknown path between fixes). Intervals are capped at
``gap_minutes``, so a patrol that was not split (for example by an app
session column) cannot carry a long pause into one grid. Fixes outside every
unit are summarised under a missing ``grid_code``.

Assignment areas
----------------
:func:`assignment_areas` turns the roster's assignment (``grid_code``, any
unit level) into the area a worker is expected to patrol: a worker assigned
a **micro-grid counts as inside when inside the micro-grid's parent grid**
(micro-grid staff are part-timers whose daily rounds cross the grid's other
micro-grids, and the grid is the unit the coverage and fake-track rules are
stated for); a special grid is its own area; any other base unit (a grid, or
a community for community-level staff) is its own area, including the units
inside it. :func:`inside_assigned` applies it to joined fixes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.locate import LocateIndex
from gridgeo.tracks._geo import distance_m, epoch_seconds, require_columns, wgs84_lonlat

__all__ = [
    "GRID_TIME_COLUMNS",
    "JOIN_COLUMNS",
    "JoinResult",
    "assignment_areas",
    "grid_memberships",
    "inside_assigned",
    "interval_weights",
    "join_to_grids",
]

JOIN_COLUMNS: Final[tuple[str, ...]] = ("unit_code", "grid_code", "base_grid_code", "special_grids")
GRID_TIME_COLUMNS: Final[tuple[str, ...]] = (
    "patrol_key",
    "worker_id",
    "grid_code",
    "n_fixes",
    "time_s",
    "distance_m",
    "first_t",
    "last_t",
)


@dataclass(frozen=True)
class JoinResult:
    """Fixes with their grids, and time and distance per patrol and grid.

    Attributes
    ----------
    fixes : pandas.DataFrame
        The input fixes (same order and index) with :data:`JOIN_COLUMNS`.
    grid_time : pandas.DataFrame
        Columns :data:`GRID_TIME_COLUMNS`, one row per patrol and grid.
    """

    fixes: pd.DataFrame
    grid_time: pd.DataFrame


def join_to_grids(
    fixes: pd.DataFrame,
    index: LocateIndex,
    *,
    base_index: LocateIndex | None = None,
    gap_minutes: float = 15,
) -> JoinResult:
    """Locate each fix in the grids and sum time and distance per patrol and grid.

    Parameters
    ----------
    fixes : pandas.DataFrame
        Cleaned fixes with ``patrol_key`` (:func:`~gridgeo.tracks.patrols.split_patrols`),
        sorted by ``worker_id`` and ``t``; WGS84 (rows in another ``crs``
        are converted on the fly). Not modified.
    index : LocateIndex
        Index over all units of the generation.
    base_index : LocateIndex, optional
        Index over the base units only (``units[units["kind"] == "base"]``),
        to name the base grid under special grids (module docstring).
    gap_minutes : float, default 15
        Cap on the interval between two fixes credited to a grid.

    Returns
    -------
    JoinResult

    Raises
    ------
    InvalidInput
        Missing columns or invalid coordinates.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> units = gpd.GeoDataFrame({"code": ["330109", "330109001", "330109001001",
    ...     "330109001001001", "330109001001002"], "parent_code": [None, "330109",
    ...     "330109001", "330109001001", "330109001001"], "level": ["district", "street",
    ...     "community", "grid", "grid"], "kind": "base", "name": "x"},
    ...     geometry=[shapely.box(120.0, 30.0, 120.02, 30.01)] * 3
    ...     + [shapely.box(120.0, 30.0, 120.01, 30.01), shapely.box(120.01, 30.0, 120.02, 30.01)],
    ...     crs=4490)
    >>> t = pd.to_datetime(["2026-10-01 01:00", "2026-10-01 01:01", "2026-10-01 01:03"], utc=True)
    >>> fixes = pd.DataFrame({"worker_id": "W1", "t": t, "lon": [120.005, 120.009, 120.015],
    ...                       "lat": 30.005, "patrol_key": "W1@20261001T010000Z"})
    >>> res = join_to_grids(fixes, LocateIndex.build(units))
    >>> res.fixes["grid_code"].tolist()
    ['330109001001001', '330109001001001', '330109001001002']
    >>> res.grid_time[["grid_code", "n_fixes", "time_s"]].values.tolist()
    [['330109001001001', 2, 180.0], ['330109001001002', 1, 0.0]]
    """
    require_columns(fixes, ["worker_id", "t", "lon", "lat", "patrol_key"], "fixes")
    if not (np.isfinite(gap_minutes) and gap_minutes > 0):
        raise InvalidInput(f"gap_minutes must be a positive number, not {gap_minutes!r}")
    lon, lat = wgs84_lonlat(fixes)
    n = len(fixes)
    out = fixes.copy()
    if n == 0:
        for col in JOIN_COLUMNS:
            out[col] = pd.Series(dtype=object)
        return JoinResult(out, _grid_time(out, np.zeros(0), np.zeros(0)))
    res = index.locate(lon, lat)
    owner_idx = np.asarray(res.owner_index, dtype=np.int64)
    uniq, first = np.unique(owner_idx, return_index=True)
    grid_of: dict[int, str | None] = {}
    special_owner: dict[int, bool] = {}
    for oi, pos in zip(uniq.tolist(), first.tolist(), strict=True):
        if oi < 0:
            grid_of[oi], special_owner[oi] = None, False
            continue
        chain = res.chains[pos]
        grid_of[oi] = _grid_level(index, chain)
        special_owner[oi] = index.unit(chain[-1])["kind"] == "special"
    lookup_grid = np.array([grid_of[i] for i in uniq.tolist()], dtype=object)
    lookup_special = np.array([special_owner[i] for i in uniq.tolist()], dtype=bool)
    slot = np.searchsorted(uniq, owner_idx)
    grid_code = lookup_grid[slot]
    base_grid = grid_code.copy()
    on_special = lookup_special[slot]
    if on_special.any():
        sel = np.flatnonzero(on_special)
        base_grid[sel] = None
        if base_index is not None:
            base_res = base_index.locate(lon[sel], lat[sel])
            cache: dict[tuple[str, ...], str | None] = {}
            found = np.empty(sel.size, dtype=object)
            for k, chain in enumerate(base_res.chains.tolist()):
                if chain not in cache:
                    cache[chain] = _grid_level(base_index, chain) if chain else None
                found[k] = cache[chain]
            base_grid[sel] = found
    out["unit_code"] = res.owner
    out["grid_code"] = grid_code
    out["base_grid_code"] = base_grid
    out["special_grids"] = res.special_grids
    weights = interval_weights(out, gap_minutes=gap_minutes)
    legs = _legs(out, lon, lat)
    return JoinResult(out, _grid_time(out, weights, legs))


def _grid_level(index: LocateIndex, chain: tuple[str, ...]) -> str | None:
    """The grid-level code of a chain (district first), or None above grid level."""
    for code in reversed(chain):
        if index.unit(code)["level"] == "grid":
            return code
    return None


def interval_weights(fixes: pd.DataFrame, *, gap_minutes: float = 15) -> np.ndarray:
    """Seconds credited to each fix: the interval to the next fix of its patrol, capped.

    The last fix of a patrol gets 0. Fixes must be sorted by patrol and time.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2026-10-01 01:00", "2026-10-01 01:01", "2026-10-01 02:00"], utc=True)
    >>> interval_weights(pd.DataFrame({"t": t, "patrol_key": ["a", "a", "a"]})).tolist()
    [60.0, 900.0, 0.0]
    """
    key = fixes["patrol_key"].to_numpy(dtype=object)
    t = epoch_seconds(fixes["t"])
    w = np.zeros(len(fixes))
    if len(fixes) > 1:
        same = key[1:] == key[:-1]
        w[:-1] = np.where(same, np.clip(np.diff(t), 0.0, gap_minutes * 60.0), 0.0)
    return w


def _legs(fixes: pd.DataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    key = fixes["patrol_key"].to_numpy(dtype=object)
    out = np.zeros(len(fixes))
    if len(fixes) > 1:
        same = key[1:] == key[:-1]
        out[:-1] = np.where(same, distance_m(lon[:-1], lat[:-1], lon[1:], lat[1:]), 0.0)
    return out


def _grid_time(fixes: pd.DataFrame, weights: np.ndarray, legs: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "patrol_key": fixes["patrol_key"].to_numpy(dtype=object),
            "worker_id": fixes["worker_id"].to_numpy(dtype=object),
            "grid_code": fixes["grid_code"].to_numpy(dtype=object),
            "t": fixes["t"].reset_index(drop=True),
            "w": weights,
            "d": legs,
        }
    )
    g = frame.groupby(["patrol_key", "worker_id", "grid_code"], sort=True, dropna=False)
    out = g.agg(
        n_fixes=("w", "size"),
        time_s=("w", "sum"),
        distance_m=("d", "sum"),
        first_t=("t", "min"),
        last_t=("t", "max"),
    ).reset_index()
    out["n_fixes"] = out["n_fixes"].astype(np.int64)
    return out[list(GRID_TIME_COLUMNS)]


def assignment_areas(roster: pd.DataFrame, units: LocateIndex | pd.DataFrame) -> pd.DataFrame:
    """The area each worker is expected to patrol (module docstring).

    Parameters
    ----------
    roster : pandas.DataFrame
        Columns ``worker_id`` and ``grid_code`` (the assigned unit, any level).
    units : LocateIndex or pandas.DataFrame
        The units the codes refer to: an index, or a table with ``code,
        parent_code, level, kind``.

    Returns
    -------
    pandas.DataFrame
        ``worker_id, assigned_code, area_code, area_kind`` (``base`` or
        ``special``); ``area_code`` is missing for codes not among the units
        (those workers get no inside/outside answer).
    """
    require_columns(roster, ["worker_id", "grid_code"], "roster")
    info = _unit_info(units)
    areas: dict[str, tuple[str | None, str | None]] = {}
    for code in pd.unique(roster["grid_code"].astype("str").to_numpy()).tolist():
        unit = info(code)
        if unit is None:
            areas[code] = (None, None)
            continue
        level, kind, parent = unit
        if kind == "special":
            areas[code] = (code, "special")
            continue
        area: str | None = code
        while level == "microgrid" and area is not None:
            area = parent
            up = info(area) if area is not None else None
            if up is None:
                area = None
                break
            level, kind, parent = up
        areas[code] = (area, "base" if area is not None else None)
    assigned = roster["grid_code"].astype("str").to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "worker_id": roster["worker_id"].astype("str").to_numpy(dtype=object),
            "assigned_code": assigned,
            "area_code": [areas[c][0] for c in assigned],
            "area_kind": [areas[c][1] for c in assigned],
        }
    )


def _unit_info(
    units: LocateIndex | pd.DataFrame,
) -> Callable[[str], tuple[str, str, str | None] | None]:
    """``code -> (level, kind, parent_code)`` or None for unknown codes."""
    if isinstance(units, LocateIndex):
        index = units

        def from_index(code: str) -> tuple[str, str, str | None] | None:
            if code not in index:
                return None
            u = index.unit(code)
            return str(u["level"]), str(u["kind"]), u["parent_code"]

        return from_index
    require_columns(units, ["code", "parent_code", "level", "kind"], "units")
    table = {
        str(c): (str(lv), str(k), None if pd.isna(p) else str(p))
        for c, p, lv, k in zip(
            units["code"], units["parent_code"], units["level"], units["kind"], strict=True
        )
    }
    return table.get


def inside_assigned(fixes: pd.DataFrame, areas: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Whether each joined fix lies in its worker's assignment area.

    Returns
    -------
    inside : numpy.ndarray of bool
    known : numpy.ndarray of bool
        False for workers without an area (not in the roster, or assigned a
        code unknown to the index); ``inside`` is False there.
    """
    require_columns(fixes, ["worker_id", *JOIN_COLUMNS], "joined fixes")
    a = areas.drop_duplicates("worker_id").set_index("worker_id")
    worker = fixes["worker_id"].astype("str")
    area = worker.map(a["area_code"]).to_numpy(dtype=object)
    kind = worker.map(a["area_kind"]).to_numpy(dtype=object)
    known = pd.notna(area)
    inside = np.zeros(len(fixes), dtype=bool)
    base_code = fixes["base_grid_code"].to_numpy(dtype=object)
    unit_code = fixes["unit_code"].to_numpy(dtype=object)
    where = np.where(pd.isna(base_code), unit_code, base_code)
    where_s = pd.Series(where, dtype="str")
    base_sel = known & (kind == "base")
    area_s = pd.Series(area, dtype="str")
    lengths = area_s.str.len().to_numpy()
    for length in pd.unique(lengths[base_sel]).tolist():
        sel = np.flatnonzero(base_sel & (lengths == length))
        prefix = where_s.iloc[sel].str.slice(0, int(length)).to_numpy(dtype=object)
        inside[sel] = prefix == area[sel]
    special_sel = np.flatnonzero(known & (kind == "special"))
    if special_sel.size:
        specials = fixes["special_grids"].to_numpy(dtype=object)
        inside[special_sel] = [
            unit_code[i] == area[i] or area[i] in _codes(specials[i]) for i in special_sel.tolist()
        ]
    return inside, known


def _codes(value: object) -> tuple[str, ...]:
    """A ``special_grids`` cell as a tuple (None, NaN and arrays from Parquet allowed)."""
    if value is None or isinstance(value, float):
        return ()
    if isinstance(value, tuple):
        return value
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def grid_memberships(fixes: pd.DataFrame) -> pd.DataFrame:
    """Long table ``(pos, code)``: every grid-level unit whose area contains each fix.

    A fix belongs to its base grid, to its grid-level owner (a special grid
    where one owns it) and to every special grid covering it. ``pos`` is the
    fix's position in ``fixes``. Rows are not sorted.
    """
    require_columns(fixes, JOIN_COLUMNS, "joined fixes")
    base = fixes["base_grid_code"].to_numpy(dtype=object)
    grid = fixes["grid_code"].to_numpy(dtype=object)
    pos = np.arange(len(fixes))
    parts = [pd.DataFrame({"pos": pos, "code": base})]
    differs = pd.notna(grid) & (grid != base)
    parts.append(pd.DataFrame({"pos": pos[differs], "code": grid[differs]}))
    specials = fixes["special_grids"].to_numpy(dtype=object)
    has = np.flatnonzero([len(_codes(s)) > 0 for s in specials.tolist()])
    if has.size:
        listed = [list(_codes(s)) for s in specials[has].tolist()]
        sp = pd.DataFrame({"pos": has, "code": pd.Series(listed, dtype=object)}).explode("code")
        parts.append(sp)
    out = pd.concat(parts, ignore_index=True)
    out = out[out["code"].notna()].drop_duplicates()
    out["code"] = out["code"].astype("str")
    return out.reset_index(drop=True)
