"""Synthetic GPS patrol tracks of grid workers, with planted fakes and coverage gaps.

:func:`generate_tracks` simulates the patrols of the grid workers of a roster
over ``days`` local calendar days and returns the GPS fixes with the ground
truth of what was planted.

Who patrols, when
-----------------
* Full-time workers patrol their unit (the roster's ``grid_code``) once on
  each working day (Monday–Friday; public holidays are not modelled), absent
  on about 10 % of them.
* Part-time workers assigned to a grid-level unit (a village grid) patrol on
  about 30 % of the working days (at least once). Part-time workers of
  micro-grids carry no GPS device and have no fixes.
* A patrol starts between 08:45 and 11:00 or between 14:00 and 16:30 local
  time and lasts 25–45 minutes (``patrol_minutes``).

What a patrol looks like
------------------------
Each worker walks (1.0–1.5 m/s) or, in large rural grids (2 km² or more),
rides an e-bike (3–5 m/s, 60 % of those workers), with a gentle
speed variation and up to two pauses of 1–4 minutes. The path is a walk on a
graph of 64 random points inside the unit, each linked to those of its 8
nearest neighbours that it sees along a straight leg inside the unit; the
walker prefers to keep its heading, so paths are smooth and stay inside even
non-convex units. Each device keeps its own fix
interval (15 s on 10 % of devices, 30 s on 20 %, 60 s on 70 %; each interval is
drawn uniformly within ±20 % of it, inside 10–60 s)
and its own CRS label: ``wgs84`` (60 % of devices) or ``gcj02`` (40 %), the
coordinates being converted accordingly. Every fix reports ``accuracy_m``
(the 68 % error radius the phone believes); the position error comes from
:mod:`gridgeo.samples.gps_error`: temporally correlated (Gauss–Markov), larger
and biased in small urban grids (under 0.5 km²), with an optimistic accuracy
there, and indoor dropouts (gaps of 1–4 minutes) in honest patrols. About 1 %
of fixes are poor (accuracy 50–200 m, error to match) and about 0.4 % are
uploaded twice (exact duplicate rows), for the cleaning step.

Tracks table
------------
Columns :data:`TRACK_COLUMNS`, sorted by ``worker_id`` and ``t``:

``worker_id`` (str), ``patrol_id`` (int64, the app's patrol session, unique
over the table), ``t`` (``datetime64[s, UTC]``, whole seconds), ``lon``,
``lat`` (degrees in the device CRS, rounded to 1e-6), ``crs`` (``wgs84`` or
``gcj02``), ``accuracy_m`` (float64, whole metres as many devices report).

Planted truth
-------------
The returned dict has:

``unvisited_grids``
    Sorted codes of the grid-level units (base and special) with no fix at
    all in the period. ``fakes_per_kind + 1`` base grids (4 by default) are
    planted: their workers record nothing, except for the first one, whose
    full-time workers patrol a neighbouring grid instead (every such patrol is
    listed in ``fake_tracks`` as ``outside``). Any other fix that would fall
    inside a planted grid is moved back onto the worker's path or dropped.
    Grids without a tracked worker can be unvisited too.
``unvisited_reasons``
    ``{code: "planted: no patrols" | "planted: worker patrols elsewhere" |
    "no worker with GPS" | "no fix inside"}``.
``fake_tracks``
    One record per planted fake, ``{"worker_id", "kind", "patrol_id",
    "start", "end", "grid_code"}`` (ISO 8601 with +08:00; the worker's
    assigned unit) plus per kind:

    ``teleport``: one fix 8–15 km away, back at the next fix (at most 60 s
    later); ``start``/``end`` are the times of the jump fix and of the return
    fix; ``distance_m``, ``jump_lon``, ``jump_lat`` (WGS84).
    ``replay``: a later patrol whose fixes repeat an earlier patrol of the same
    worker position for position, times shifted; ``source_patrol_id`` and
    ``offset_m`` (0 for exact copies, sub-metre for the tiny-offset copy).
    ``stationary``: a 58–70 minute "patrol" whose fixes all lie within 10 m
    of one spot (``lon``, ``lat``, WGS84).
    ``outside``: a patrol that starts in the assigned unit and spends the rest
    in ``visited_grid``, a neighbouring base grid.

Each kind is planted ``fakes_per_kind`` times (3 by default) on distinct
full-time workers of base grids; every other patrol is honest.

Examples
--------
>>> import geopandas as gpd, numpy as np, pandas as pd, shapely
>>> xs, ys = 120.2 + 0.005 * np.arange(7), 30.1 + 0.005 * np.arange(6)
>>> boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(6) for j in range(5)]
>>> codes = [f"330109001001{k + 1:03d}" for k in range(30)]
>>> units = gpd.GeoDataFrame({
...     "code": codes, "parent_code": "330109001001", "level": "grid", "kind": "base",
...     "name": [f"第{k}网格" for k in range(30)], "population": 1000, "households": 400,
...     "full_time_workers": 1, "part_time_workers": 0,
...     "geometry": [shapely.MultiPolygon([b]) for b in boxes]}, crs=4490)
>>> roster = pd.DataFrame({"worker_id": [f"W{k:03d}" for k in range(30)],
...     "name": "张三", "employment": "full_time", "grid_code": codes})
>>> fixes, truth = generate_tracks(units, roster, np.random.default_rng(3),
...                                start=pd.Timestamp("2025-03-03"), days=14)
>>> sorted({f["kind"] for f in truth["fake_tracks"]})
['outside', 'replay', 'stationary', 'teleport']
>>> len(truth["unvisited_grids"]) >= 4
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgeo.crs import from_wgs84
from gridgeo.errors import InvalidInput
from gridgeo.samples.events import (
    LOCAL_TZ,
    LocalFrame,
    check_units,
    local_period,
    sample_points_in_polygons,
)
from gridgeo.samples.gps_error import ENVIRONMENTS, draw_errors, indoor_gaps

__all__ = ["FAKE_KINDS", "ROSTER_COLUMNS", "TRACK_COLUMNS", "generate_tracks"]

TRACK_COLUMNS: Final[tuple[str, ...]] = (
    "worker_id",
    "patrol_id",
    "t",
    "lon",
    "lat",
    "crs",
    "accuracy_m",
)
ROSTER_COLUMNS: Final[tuple[str, ...]] = ("worker_id", "name", "employment", "grid_code")
FAKE_KINDS: Final[tuple[str, ...]] = ("teleport", "replay", "stationary", "outside")

_DEVICE_CRS: Final[tuple[str, ...]] = ("wgs84", "gcj02")
_DEVICE_CRS_P: Final[tuple[float, ...]] = (0.6, 0.4)
_INTERVALS: Final[tuple[int, ...]] = (15, 30, 30, 60, 60, 60, 60, 60, 60, 60)
_POOL: Final = 64
_NEIGHBOURS: Final = 8
_HEADING_T: Final = 0.35
_POOR_P: Final = 0.01
_DUP_P: Final = 0.004
_ABSENT_P: Final = 0.10
_PART_TIME_P: Final = 0.3
_STATIONARY_RADIUS_M: Final = 10.0
_GUARD_M: Final = 2.0
_RURAL_KM2: Final = 2.0
_URBAN_KM2: Final = 0.5
_ENVS: Final = (ENVIRONMENTS["rural"], ENVIRONMENTS["suburban"], ENVIRONMENTS["urban"])
_HONEST, _OUTSIDE, _STATIONARY, _TELEPORT, _REPLAY = range(5)
_MODE_KIND: Final[dict[int, str]] = {
    _OUTSIDE: "outside",
    _STATIONARY: "stationary",
    _TELEPORT: "teleport",
    _REPLAY: "replay",
}


def _check_roster(roster: pd.DataFrame, codes: pd.Index) -> pd.DataFrame:
    if not isinstance(roster, pd.DataFrame):
        raise InvalidInput("roster must be a DataFrame")
    missing = [c for c in ROSTER_COLUMNS if c not in roster.columns]
    if missing:
        raise InvalidInput(f"roster lacks the columns {missing}")
    r = roster[list(ROSTER_COLUMNS)].copy()
    r["worker_id"] = r["worker_id"].astype(str)
    r["grid_code"] = r["grid_code"].astype(str)
    dup = r["worker_id"][r["worker_id"].duplicated()]
    if len(dup):
        raise InvalidInput(f"roster has duplicate worker_id {dup.iloc[0]!r}")
    bad_emp = ~r["employment"].isin(["full_time", "part_time"])
    if bad_emp.any():
        w = r.loc[bad_emp, "worker_id"].iloc[0]
        raise InvalidInput(f"worker {w!r}: employment must be 'full_time' or 'part_time'")
    unknown = ~r["grid_code"].isin(codes)
    if unknown.any():
        w, c = r.loc[unknown, ["worker_id", "grid_code"]].iloc[0]
        raise InvalidInput(f"worker {w!r}: grid_code {c!r} is not a code in units")
    return r.sort_values("worker_id", kind="stable").reset_index(drop=True)


def _iso(seconds: int) -> str:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").tz_convert(LOCAL_TZ).isoformat()


def _grouped_cumsum(values: NDArray[Any], group_start: NDArray[np.int64]) -> NDArray[Any]:
    """Cumulative sum restarting at each group; ``group_start`` flags first rows."""
    total = np.cumsum(values)
    first = np.flatnonzero(group_start)
    offsets = np.repeat(total[first] - values[first], np.diff(np.append(first, values.size)))
    out: NDArray[Any] = total - offsets
    return out


def generate_tracks(
    units: gpd.GeoDataFrame,
    roster: pd.DataFrame,
    rng: np.random.Generator,
    *,
    start: pd.Timestamp,
    days: int,
    fakes_per_kind: int = 3,
    patrol_minutes: tuple[int, int] = (25, 45),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Generate GPS fixes of the roster's patrols over ``days`` days from ``start``.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Sample-city units in EPSG:4490 (see :data:`gridgeo.samples.events.UNIT_COLUMNS`).
    roster : pandas.DataFrame
        Columns :data:`ROSTER_COLUMNS`; ``grid_code`` names the unit a worker patrols.
    rng : numpy.random.Generator
        The only source of randomness: the same seed gives identical output.
    start : pandas.Timestamp
        First day (naive values are China Standard Time); no patrol starts earlier.
    days : int
        Number of local calendar days.
    fakes_per_kind : int, default 3
        How many fakes of each kind in :data:`FAKE_KINDS` to plant.
    patrol_minutes : (int, int), default (25, 45)
        Range of honest patrol durations in minutes, the volume knob: at the
        default the sample city (about 1,700 full-time and 440 part-time
        village workers) has about 2 million fixes in 31 days.

    Returns
    -------
    fixes : pandas.DataFrame
        Columns :data:`TRACK_COLUMNS` (module docstring).
    truth : dict
        ``unvisited_grids``, ``unvisited_reasons`` and ``fake_tracks`` (module docstring).

    Raises
    ------
    InvalidInput
        Bad roster or arguments, or too few eligible workers, grids or working
        days for the plants.
    CRSMismatch
        If ``units`` is not in EPSG:4490.
    """
    check_units(units)
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise InvalidInput(f"days must be a positive integer, got {days!r}")
    if isinstance(fakes_per_kind, bool) or not isinstance(fakes_per_kind, int | np.integer):
        raise InvalidInput("fakes_per_kind must be an integer")
    if fakes_per_kind < 1:
        raise InvalidInput("fakes_per_kind must be at least 1")
    lo_min, hi_min = (int(v) for v in patrol_minutes)
    if not 5 <= lo_min <= hi_min <= 240:
        raise InvalidInput(
            f"patrol_minutes must satisfy 5 <= low <= high <= 240, got {patrol_minutes}"
        )
    t0, _ = local_period(start, pd.Timestamp(start) + pd.Timedelta(days=1))
    t1 = t0.normalize() + pd.Timedelta(days=int(days))
    codes = units["code"].astype(str)
    if codes.duplicated().any():
        raise InvalidInput(f"units have duplicate code {codes[codes.duplicated()].iloc[0]!r}")
    u = units.assign(code=codes).set_index("code", drop=False)
    staff = _check_roster(roster, pd.Index(codes))

    frame = LocalFrame.around(u.geometry.to_numpy())

    level = u["level"].astype(str)
    base_codes = np.sort(u.index[(level == "grid") & (u["kind"] == "base")].to_numpy(dtype=str))
    grid_codes = np.sort(u.index[level == "grid"].to_numpy(dtype=str))
    if base_codes.size == 0:
        raise InvalidInput("units contain no base grids (level 'grid', kind 'base')")
    base_geoms = u.loc[base_codes].geometry.to_numpy()
    neighbours, edge_neighbours = _neighbours(base_geoms)

    # --- who is tracked --------------------------------------------------------------
    w_level = level.loc[staff["grid_code"]].to_numpy()
    full = (staff["employment"] == "full_time").to_numpy()
    tracked = full | (w_level == "grid")
    w_code = staff["grid_code"].to_numpy(dtype=str)
    w_id = staff["worker_id"].to_numpy(dtype=str)

    # --- planted unvisited grids -----------------------------------------------------
    n_unvisited = fakes_per_kind + 1
    base_pos = {c: i for i, c in enumerate(base_codes)}
    planted = _pick_unvisited(
        rng,
        base_geoms,
        u[(level == "grid") & (u["kind"] != "base")].geometry.to_numpy(),
        np.isin(base_codes, w_code),
        np.isin(base_codes, w_code[full]),
        neighbours,
        edge_neighbours,
        n_unvisited,
    )
    planted_codes = base_codes[planted]
    planted_mask = np.zeros(base_codes.size, dtype=bool)
    planted_mask[planted] = True
    in_planted = np.array([any(c.startswith(p) for p in planted_codes) for c in w_code])
    elsewhere_code = planted_codes[0]
    nb = [j for j in edge_neighbours[planted[0]] if not planted_mask[j]]
    elsewhere_target = base_codes[nb[rng.integers(len(nb))]]
    elsewhere = tracked & full & (w_code == elsewhere_code)
    tracked = tracked & (~in_planted | elsewhere)

    # --- patrol plan -----------------------------------------------------------------
    day_index = pd.date_range(t0.normalize(), t1, freq="D", inclusive="left")
    workday = day_index.day_of_week.to_numpy() < 5
    wd_start = day_index[workday].tz_convert("UTC").as_unit("s").asi8.astype(np.int64)
    tw = np.flatnonzero(tracked)
    present_p = np.where(full[tw], 1 - _ABSENT_P, _PART_TIME_P)
    present = rng.random((tw.size, wd_start.size)) < present_p[:, None]
    # Everyone tracked patrols at least once, so only planted grids go unvisited.
    idle = np.flatnonzero(~present.any(axis=1))
    if wd_start.size:
        present[idle, rng.integers(0, wd_start.size, idle.size)] = True
    pw, pd_ = np.nonzero(present)
    p_worker = tw[pw]
    n_p = p_worker.size
    afternoon = rng.random(n_p) < 0.5
    minute = np.where(
        afternoon, 14 * 60 + rng.integers(0, 151, n_p), 8 * 60 + 45 + rng.integers(0, 136, n_p)
    )
    p_start = wd_start[pd_] + minute * 60 + rng.integers(0, 60, n_p)
    p_dur = rng.integers(lo_min * 60, hi_min * 60 + 1, n_p)
    ok = p_start >= int(t0.tz_convert("UTC").timestamp())
    p_worker, p_start, p_dur = p_worker[ok], p_start[ok], p_dur[ok]
    order = np.lexsort((p_start, p_worker))
    p_worker, p_start, p_dur = p_worker[order], p_start[order], p_dur[order]
    n_p = p_worker.size
    patrol_id = np.arange(1, n_p + 1, dtype=np.int64)
    p_mode = np.full(n_p, _HONEST, dtype=np.int64)
    p_area = w_code[p_worker].astype(object)
    p_wp_area = p_area.copy()  # area of waypoints after the first
    p_first_area = p_area.copy()
    p_wp_area[elsewhere[p_worker]] = elsewhere_target
    p_first_area[elsewhere[p_worker]] = elsewhere_target
    p_mode[elsewhere[p_worker]] = _OUTSIDE

    # --- fakes -----------------------------------------------------------------------
    counts = np.bincount(p_worker, minlength=len(staff))
    w_base = np.array([c in base_pos for c in w_code])
    usable_nb = [
        [j for j in edge_neighbours[base_pos[c]] if not planted_mask[j]] if c in base_pos else []
        for c in w_code
    ]
    eligible = np.flatnonzero(
        tracked
        & full
        & w_base
        & ~elsewhere
        & (counts >= 2)
        & np.array([len(n) > 0 for n in usable_nb])
    )
    need = len(FAKE_KINDS) * fakes_per_kind
    if eligible.size < need:
        raise InvalidInput(
            f"need {need} full-time workers of base grids with 2+ patrols to plant fakes, "
            f"found {eligible.size}"
        )
    fake_workers = eligible[rng.permutation(eligible.size)[:need]]
    first_patrol = np.searchsorted(p_worker, np.arange(len(staff)))
    replay_pairs: list[tuple[int, int, float]] = []
    teleports: list[int] = []
    for n, w in enumerate(fake_workers):
        kind = FAKE_KINDS[n // fakes_per_kind]
        mine = first_patrol[w] + np.arange(counts[w])
        if kind == "replay":
            src = int(mine[rng.integers(0, counts[w] - 1)])
            later = mine[mine > src]
            dst = int(later[rng.integers(later.size)])
            tiny = fakes_per_kind > 1 and n % fakes_per_kind == fakes_per_kind - 1
            offset = 0.5 if tiny else 0.0
            replay_pairs.append((src, dst, offset))
            p_mode[dst] = _REPLAY
            p_dur[dst] = p_dur[src]
            continue
        p = int(mine[rng.integers(counts[w])])
        if kind == "teleport":
            p_mode[p] = _TELEPORT
            teleports.append(p)
        elif kind == "stationary":
            p_mode[p] = _STATIONARY
            p_dur[p] = rng.integers(58 * 60, 70 * 60 + 1)
        else:
            p_mode[p] = _OUTSIDE
            nbs = usable_nb[w]
            p_wp_area[p] = base_codes[nbs[rng.integers(len(nbs))]]

    # --- devices and walkers ---------------------------------------------------------
    n_staff = len(staff)
    dev_crs = rng.choice(len(_DEVICE_CRS), size=n_staff, p=_DEVICE_CRS_P)
    dev_interval = np.asarray(_INTERVALS)[rng.integers(0, len(_INTERVALS), n_staff)]
    # E-bikes in large rural grids only; GPS environment by grid size.
    w_km2 = shapely.area(u.loc[w_code].geometry.to_numpy()) * frame.mx * frame.my / 1e6
    w_env = np.where(w_km2 >= _RURAL_KM2, 0, np.where(w_km2 >= _URBAN_KM2, 1, 2))
    bike = (w_env == 0) & (rng.random(n_staff) < 0.6)
    speed = np.where(bike, rng.uniform(3.0, 5.0, n_staff), rng.uniform(1.0, 1.5, n_staff))

    gen = np.flatnonzero(p_mode != _REPLAY)
    fx = _simulate(
        rng,
        frame,
        u,
        gen,
        p_mode,
        p_dur,
        p_first_area,
        p_wp_area,
        speed[p_worker],
        dev_interval[p_worker],
        w_env[p_worker],
    )
    f_patrol, f_rel, x_true, y_true, acc, x, y = fx

    # Teleport jumps.
    planted_geoms = u.loc[planted_codes].geometry.to_numpy()
    shapely.prepare(planted_geoms)
    tele_info = {}
    for p in teleports:
        rows = np.flatnonzero(f_patrol == p)
        drawn = rows[rng.integers(rows.size // 4, max(rows.size // 4 + 1, 3 * rows.size // 4))]
        i = int(min(max(drawn, rows[1]), rows[-2]))
        dist = rng.uniform(8000.0, 15000.0)
        theta = rng.uniform(0, 2 * np.pi)
        for _ in range(4):
            jx, jy = x_true[i] + dist * np.cos(theta), y_true[i] + dist * np.sin(theta)
            lon_j, lat_j = frame.to_deg(jx, jy)
            if not _inside_any(shapely.buffer(planted_geoms, 0.001), lon_j, lat_j).any():
                break
            theta += np.pi / 2
        x[i], y[i] = jx, jy
        tele_info[p] = (i, float(dist), float(lon_j), float(lat_j))

    lon_w, lat_w = _keep_out(planted_geoms, frame, x, y, x_true, y_true)

    # Replays: copy an earlier patrol, times shifted.
    rep_parts = []
    for src, dst, offset in replay_pairs:
        rows = np.flatnonzero(f_patrol == src)
        dx = offset / frame.mx
        rep_parts.append(
            (np.full(rows.size, dst), f_rel[rows], lon_w[rows] + dx, lat_w[rows], acc[rows])
        )
    # Duplicated uploads in honest patrols.
    dup = (p_mode[f_patrol] == _HONEST) & (rng.random(f_patrol.size) < _DUP_P)
    dup_rows = np.flatnonzero(dup)
    parts = [(f_patrol, f_rel, lon_w, lat_w, acc), *rep_parts]
    parts.append(
        (f_patrol[dup_rows], f_rel[dup_rows], lon_w[dup_rows], lat_w[dup_rows], acc[dup_rows])
    )
    a_patrol, a_rel, a_lon, a_lat, a_acc = (np.concatenate(c) for c in zip(*parts, strict=True))
    seq = np.arange(a_patrol.size)
    order = np.lexsort((seq, a_rel, a_patrol))
    a_patrol, a_rel, a_lon, a_lat, a_acc = (
        a[order] for a in (a_patrol, a_rel, a_lon, a_lat, a_acc)
    )

    # Device CRS.
    a_worker = p_worker[a_patrol]
    a_crs = dev_crs[a_worker]
    out_lon, out_lat = a_lon.copy(), a_lat.copy()
    for k, name in enumerate(_DEVICE_CRS):
        idx = np.flatnonzero(a_crs == k)
        if name != "wgs84" and idx.size:
            out_lon[idx], out_lat[idx] = from_wgs84(a_lon[idx], a_lat[idx], name)
    t_s = p_start[a_patrol] + a_rel
    fixes = pd.DataFrame(
        {
            "worker_id": pd.array(w_id[a_worker], dtype="str"),
            "patrol_id": patrol_id[a_patrol],
            "t": pd.to_datetime(t_s, unit="s", utc=True).as_unit("s"),
            "lon": np.round(out_lon, 6),
            "lat": np.round(out_lat, 6),
            "crs": pd.array(np.asarray(_DEVICE_CRS, dtype=object)[a_crs], dtype="str"),
            "accuracy_m": np.round(a_acc),
        }
    )

    # --- truth -----------------------------------------------------------------------
    fakes: list[dict[str, Any]] = []
    bounds = _patrol_bounds(a_patrol, t_s, n_p)
    for p in np.flatnonzero(p_mode != _HONEST).tolist():
        w = int(p_worker[p])
        rec: dict[str, Any] = {
            "worker_id": str(w_id[w]),
            "kind": _MODE_KIND[int(p_mode[p])],
            "patrol_id": int(patrol_id[p]),
            "start": _iso(bounds[p, 0]),
            "end": _iso(bounds[p, 1]),
            "grid_code": str(w_code[w]),
        }
        mode = int(p_mode[p])
        if mode == _TELEPORT:
            i, dist, lj, la = tele_info[p]
            tt = p_start[p] + f_rel[i]
            nxt = f_rel[i + 1] + p_start[p]
            rec.update(start=_iso(tt), end=_iso(nxt), distance_m=round(dist, 1))
            rec.update(jump_lon=round(lj, 6), jump_lat=round(la, 6))
        elif mode == _REPLAY:
            src, _, offset = next(r for r in replay_pairs if r[1] == p)
            rec.update(source_patrol_id=int(patrol_id[src]), offset_m=offset)
        elif mode == _STATIONARY:
            rows = np.flatnonzero(f_patrol == p)
            slon, slat = frame.to_deg(x_true[rows[0]], y_true[rows[0]])
            rec.update(lon=round(float(slon), 6), lat=round(float(slat), 6))
        else:
            rec["visited_grid"] = str(p_wp_area[p])
            if elsewhere[w]:
                rec["note"] = "assigned grid planted as unvisited"
        fakes.append(rec)
    kind_rank = {k: i for i, k in enumerate(FAKE_KINDS)}
    fakes.sort(key=lambda r: (kind_rank[r["kind"]], r["worker_id"], r["patrol_id"]))

    reasons = _unvisited(u, grid_codes, a_lon, a_lat, p_area[a_patrol], w_code[tracked])
    for c in planted_codes.tolist():
        if c not in reasons:  # pragma: no cover - an invariant of the construction
            raise RuntimeError(f"planted unvisited grid {c} has fixes")
        reasons[c] = (
            "planted: worker patrols elsewhere" if c == elsewhere_code else "planted: no patrols"
        )
    truth = {
        "unvisited_grids": sorted(reasons),
        "unvisited_reasons": {k: reasons[k] for k in sorted(reasons)},
        "fake_tracks": fakes,
    }
    return fixes, truth


def _pick_unvisited(
    rng: np.random.Generator,
    base_geoms: NDArray[np.object_],
    special: NDArray[np.object_],
    has_worker: NDArray[np.bool_],
    has_full: NDArray[np.bool_],
    neighbours: list[list[int]],
    edge_neighbours: list[list[int]],
    n: int,
) -> list[int]:
    """Indices of ``n`` staffed, pairwise non-adjacent base grids to leave unvisited.

    Grids overlapping a special grid are skipped (its workers would visit them); the
    first one has a full-time worker and an edge neighbour to patrol instead.
    """
    overlaps_special = np.zeros(base_geoms.size, dtype=bool)
    if special.size:
        pairs = shapely.STRtree(special).query(base_geoms, predicate="intersects")
        inter = shapely.area(shapely.intersection(base_geoms[pairs[0]], special[pairs[1]]))
        overlaps_special[pairs[0][inter > 0]] = True
    cand = np.flatnonzero(has_worker & ~overlaps_special)
    cand = cand[rng.permutation(cand.size)]
    cand = np.concatenate([cand[has_full[cand]], cand[~has_full[cand]]])
    planted: list[int] = []
    blocked = np.zeros(base_geoms.size, dtype=bool)
    for i in cand.tolist():
        if blocked[i] or not edge_neighbours[i]:
            continue
        planted.append(i)
        blocked[i] = True
        blocked[neighbours[i]] = True
        if len(planted) == n:
            break
    if len(planted) < n or not has_full[planted[0]]:
        raise InvalidInput(f"need {n} non-adjacent staffed base grids to leave unvisited")
    return planted


def _keep_out(
    geoms: NDArray[np.object_],
    frame: LocalFrame,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    x_true: NDArray[np.float64],
    y_true: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Move fixes out of ``geoms`` (in place in ``x``, ``y``); return them in degrees.

    The margin of ``_GUARD_M`` is wider than what rounding and CRS round trips can
    move a fix. Noisy fixes go back onto the worker's path; a path cutting a corner
    of a planted grid is pushed a metre beyond the margin.
    """
    guard = shapely.buffer(geoms, _GUARD_M / frame.my)
    shapely.prepare(guard)
    lon, lat = frame.to_deg(x, y)
    inside = _inside_any(guard, lon, lat)
    if not inside.any():
        return lon, lat
    x[inside], y[inside] = x_true[inside], y_true[inside]
    lon, lat = frame.to_deg(x, y)
    for i in np.flatnonzero(_inside_any(guard, lon, lat)).tolist():
        g = guard[shapely.contains_xy(guard, lon[i], lat[i])][0]
        edge = shapely.get_coordinates(
            shapely.shortest_line(shapely.Point(lon[i], lat[i]), shapely.boundary(g))
        )[-1]
        ex, ey = frame.to_m(edge[0], edge[1])
        dx, dy = ex - x[i], ey - y[i]
        norm = max(float(np.hypot(dx, dy)), 1e-9)
        x[i], y[i] = ex + dx / norm, ey + dy / norm
    return frame.to_deg(x, y)


def _neighbours(geoms: NDArray[np.object_]) -> tuple[list[list[int]], list[list[int]]]:
    """Indices of the polygons touching each polygon, and of those sharing an edge with it."""
    tree = shapely.STRtree(geoms)
    pairs = tree.query(geoms, predicate="intersects")
    pairs = pairs[:, pairs[0] != pairs[1]]
    shared = shapely.length(shapely.intersection(geoms[pairs[0]], geoms[pairs[1]]))
    touching: list[set[int]] = [set() for _ in range(len(geoms))]
    edge: list[set[int]] = [set() for _ in range(len(geoms))]
    for a, b, length in zip(pairs[0].tolist(), pairs[1].tolist(), shared.tolist(), strict=True):
        touching[a].add(b)
        if length > 0:
            edge[a].add(b)
    return [sorted(v) for v in touching], [sorted(v) for v in edge]


def _inside_any(
    geoms: NDArray[np.object_], lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.bool_]:
    inside = np.zeros(lon.size, dtype=bool)
    for g in geoms:
        x0, y0, x1, y1 = shapely.bounds(g)
        near = np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
        if near.size:
            inside[near[shapely.contains_xy(g, lon[near], lat[near])]] = True
    return inside


def _patrol_bounds(a_patrol: NDArray[np.int64], t_s: NDArray[np.int64], n_p: int) -> NDArray[Any]:
    out = np.zeros((n_p, 2), dtype=np.int64)
    first = np.searchsorted(a_patrol, np.arange(n_p))
    last = np.searchsorted(a_patrol, np.arange(n_p), side="right") - 1
    has = last >= first
    out[has, 0] = t_s[first[has]]
    out[has, 1] = t_s[last[has]]
    return out


def _unvisited(
    u: gpd.GeoDataFrame,
    grid_codes: NDArray[np.str_],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    fix_area: NDArray[np.object_],
    tracked_codes: NDArray[np.str_],
) -> dict[str, str]:
    """Grid-level units without a fix inside, with a reason."""
    visited: set[str] = set()
    grid_set = set(grid_codes.tolist())
    own = np.array([c in grid_set for c in fix_area])
    if own.any():
        geoms = u.loc[fix_area[own]].geometry.to_numpy()
        hit = shapely.contains_xy(geoms, lon[own], lat[own])
        visited.update(np.unique(fix_area[own][hit].astype(str)).tolist())
    reasons: dict[str, str] = {}
    tracked = set(tracked_codes.tolist())
    for code in grid_codes:
        if code in visited:
            continue
        if _inside_any(np.asarray([u.loc[code].geometry]), lon, lat).any():
            continue
        reasons[str(code)] = "no fix inside" if code in tracked else "no worker with GPS"
    return reasons


def _ranks(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """0, 1, …, n-1 for each group of ``counts``, concatenated."""
    total = int(counts.sum())
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out: NDArray[np.int64] = np.arange(total) - np.repeat(first, counts)
    return out


@dataclass(frozen=True)
class _WalkGraph:
    """Per area: ``_POOL`` points inside it (metres) and their visible near neighbours.

    ``nb[a, i]`` are the ``_NEIGHBOURS`` nearest points of point ``i`` of area ``a``;
    ``ok[a, i, j]`` says the straight leg to ``nb[a, i, j]`` stays inside the area, so
    walks along the graph never leave a non-convex unit.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    nb: NDArray[np.int64]
    ok: NDArray[np.bool_]
    edge_m: NDArray[np.float64]

    @classmethod
    def build(
        cls, geoms: NDArray[np.object_], frame: LocalFrame, rng: np.random.Generator
    ) -> _WalkGraph:
        n = geoms.size
        px, py, _ = sample_points_in_polygons(geoms, np.full(n, _POOL), rng)
        mx, my = frame.to_m(px, py)
        x = np.asarray(mx).reshape(n, _POOL)
        y = np.asarray(my).reshape(n, _POOL)
        nb = np.empty((n, _POOL, _NEIGHBOURS), dtype=np.int64)
        for lo in range(0, n, 256):
            sl = slice(lo, min(n, lo + 256))
            d = np.hypot(x[sl, :, None] - x[sl, None, :], y[sl, :, None] - y[sl, None, :])
            d[:, np.arange(_POOL), np.arange(_POOL)] = np.inf
            nb[sl] = np.argsort(d, axis=2, kind="stable")[:, :, :_NEIGHBOURS]
        area = np.repeat(np.arange(n), _POOL * _NEIGHBOURS)
        src = np.tile(np.repeat(np.arange(_POOL), _NEIGHBOURS), n)
        dst = nb.ravel()
        lon_a, lat_a = px.reshape(n, _POOL)[area, src], py.reshape(n, _POOL)[area, src]
        lon_b, lat_b = px.reshape(n, _POOL)[area, dst], py.reshape(n, _POOL)[area, dst]
        legs = shapely.linestrings(
            np.stack([np.column_stack([lon_a, lat_a]), np.column_stack([lon_b, lat_b])], axis=1)
        )
        shapely.prepare(geoms)
        ok = shapely.contains_properly(geoms[area], legs).reshape(n, _POOL, _NEIGHBOURS)
        length = np.hypot(x[area, src] - x[area, dst], y[area, src] - y[area, dst])
        length = length.reshape(n, _POOL, _NEIGHBOURS)
        edge_m = np.where(ok, length, 0).sum(axis=(1, 2)) / np.maximum(ok.sum(axis=(1, 2)), 1)
        edge_m = np.where(edge_m > 0, edge_m, length.mean(axis=(1, 2)))
        return cls(x, y, nb, ok, np.maximum(edge_m, 1.0))

    def walk(
        self,
        rng: np.random.Generator,
        area: NDArray[np.int64],
        start: NDArray[np.int64],
        steps: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """Node sequences (concatenated) of walks that prefer to keep their heading."""
        first = np.concatenate([[0], np.cumsum(steps)[:-1]])
        out = np.empty(int(steps.sum()), dtype=np.int64)
        cur = start.copy()
        heading = rng.uniform(0, 2 * np.pi, area.size)
        hx, hy = np.cos(heading), np.sin(heading)
        out[first] = cur
        for j in range(1, int(steps.max()) if steps.size else 0):
            act = np.flatnonzero(steps > j)
            a, c = area[act], cur[act]
            cand = self.nb[a, c]
            dx = self.x[a[:, None], cand] - self.x[a, c][:, None]
            dy = self.y[a[:, None], cand] - self.y[a, c][:, None]
            dist = np.maximum(np.hypot(dx, dy), 1e-9)
            score = (dx * hx[act, None] + dy * hy[act, None]) / dist / _HEADING_T
            score = score + rng.gumbel(size=score.shape)
            ok = self.ok[a, c]
            stuck = ~ok.any(axis=1)
            score = np.where(ok, score, -np.inf)
            score[stuck] = -dist[stuck]  # nowhere visible: step to the nearest point
            best = np.argmax(score, axis=1)
            rows = np.arange(act.size)
            cur[act] = cand[rows, best]
            hx[act] = dx[rows, best] / dist[rows, best]
            hy[act] = dy[rows, best] / dist[rows, best]
            out[first[act] + j] = cur[act]
        return out


def _simulate(
    rng: np.random.Generator,
    frame: LocalFrame,
    u: gpd.GeoDataFrame,
    gen: NDArray[np.int64],
    p_mode: NDArray[np.int64],
    p_dur: NDArray[np.int64],
    p_first_area: NDArray[np.object_],
    p_wp_area: NDArray[np.object_],
    p_speed: NDArray[np.float64],
    p_interval: NDArray[np.int64],
    p_env: NDArray[np.int64],
) -> tuple[NDArray[Any], ...]:
    """Fixes of the patrols ``gen``: patrol, rel. seconds, true x/y (m), accuracy, noisy x/y."""
    # Waypoint graphs per area, and walks on them.
    areas = np.unique(np.concatenate([p_first_area[gen], p_wp_area[gen]]).astype(str))
    area_pos = {c: i for i, c in enumerate(areas)}
    graph = _WalkGraph.build(u.loc[areas].geometry.to_numpy(), frame, rng)

    first_a = np.array([area_pos[c] for c in p_first_area[gen]], dtype=np.int64)
    wp_a = np.array([area_pos[c] for c in p_wp_area[gen]], dtype=np.int64)
    mode = p_mode[gen]
    dur = p_dur[gen].astype(np.float64)
    stationary = mode == _STATIONARY
    speed = np.where(stationary, 0.0, p_speed[gen])
    need_len = speed * dur
    # Outside patrols start at the point of their own unit nearest the unit they go to.
    lead = (mode == _OUTSIDE) & (first_a != wp_a)
    start_node = rng.integers(0, _POOL, gen.size)
    lead_node = np.zeros(gen.size, dtype=np.int64)
    for k in np.flatnonzero(lead):
        target = (graph.x[wp_a[k]].mean(), graph.y[wp_a[k]].mean())
        own = np.hypot(graph.x[first_a[k]] - target[0], graph.y[first_a[k]] - target[1])
        lead_node[k] = int(np.argmin(own))
        there = (graph.x[first_a[k], lead_node[k]], graph.y[first_a[k], lead_node[k]])
        start_node[k] = int(
            np.argmin(np.hypot(graph.x[wp_a[k]] - there[0], graph.y[wp_a[k]] - there[1]))
        )
    steps = np.where(stationary, 2, np.ceil(2.0 * need_len / graph.edge_m[wp_a]) + 3).astype(
        np.int64
    )
    nodes = graph.walk(rng, wp_a, start_node, np.where(stationary, 1, steps))
    n_wp = np.where(stationary, 2, steps) + lead
    wp_first = np.concatenate([[0], np.cumsum(n_wp)[:-1]])
    wx = np.empty(int(n_wp.sum()))
    wy = np.empty_like(wx)
    walk_first = np.concatenate([[0], np.cumsum(np.where(stationary, 1, steps))[:-1]])
    for_walk = np.ones(wx.size, dtype=bool)
    for_walk[wp_first[lead]] = False
    # Stationary patrols repeat their single node.
    walk_pos = np.repeat(walk_first, n_wp - lead) + _ranks(n_wp - lead)
    walk_pos = np.where(
        np.repeat(stationary, n_wp - lead), np.repeat(walk_first, n_wp - lead), walk_pos
    )
    area_of = np.repeat(wp_a, n_wp - lead)
    wx[for_walk] = graph.x[area_of, nodes[walk_pos]]
    wy[for_walk] = graph.y[area_of, nodes[walk_pos]]
    wx[wp_first[lead]] = graph.x[first_a[lead], lead_node[lead]]
    wy[wp_first[lead]] = graph.y[first_a[lead], lead_node[lead]]
    is_first = np.zeros(wx.size, dtype=bool)
    is_first[wp_first] = True
    seg = np.hypot(np.diff(wx), np.diff(wy))
    seg[is_first[1:]] = 0.0  # no leg between patrols
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    wp_last = wp_first + n_wp - 1
    path_len = cum[wp_last] - cum[wp_first]

    # Fix times.
    n_cand = np.ceil(dur / (0.8 * p_interval[gen])).astype(np.int64) + 2
    f_p = np.repeat(np.arange(gen.size), n_cand)
    starts = np.zeros(f_p.size, dtype=bool)
    starts[np.concatenate([[0], np.cumsum(n_cand)[:-1]])] = True
    base = p_interval[gen][f_p].astype(np.float64)
    lo, hi = np.maximum(10.0, 0.8 * base), np.minimum(60.0, 1.2 * base)
    step = np.round(lo + (hi - lo) * rng.random(f_p.size))
    step = np.where(starts, 0, step).astype(np.int64)
    rel = _grouped_cumsum(step, starts)
    keep = rel <= dur[f_p]
    f_p, rel = f_p[keep], rel[keep]
    n_f = f_p.size

    # Distance along the path: pauses and a gentle speed variation.
    moving = rel.astype(np.float64)
    for _ in range(2):
        has = rng.random(gen.size) < 0.5
        ps = rng.uniform(0.1, 0.9, gen.size) * dur
        pl = np.where(has, rng.uniform(60, 240, gen.size), 0.0)
        moving -= np.clip(rel - ps[f_p], 0.0, pl[f_p])
    omega = 2 * np.pi / rng.uniform(300, 900, gen.size)
    phi = rng.uniform(0, 2 * np.pi, gen.size)
    amp = 0.2
    s = speed[f_p] * (
        moving + amp / omega[f_p] * (np.cos(phi[f_p]) - np.cos(omega[f_p] * moving + phi[f_p]))
    )
    s = np.minimum(s, path_len[f_p])
    key = cum[wp_first[f_p]] + s
    segi = np.searchsorted(cum, key, side="right") - 1
    segi = np.clip(segi, wp_first[f_p], np.maximum(wp_last[f_p] - 1, wp_first[f_p]))
    seg_len = cum[segi + 1] - cum[segi]
    frac = np.where(seg_len > 0, (key - cum[segi]) / np.where(seg_len > 0, seg_len, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    x_true = wx[segi] + frac * (wx[segi + 1] - wx[segi])
    y_true = wy[segi] + frac * (wy[segi + 1] - wy[segi])

    # GPS error and reported accuracy (gridgeo.samples.gps_error: correlated,
    # biased near tall buildings, optimistic accuracy in town, indoor dropouts).
    st = stationary[f_p]
    envs = [_ENVS[int(e)] for e in p_env[gen]]
    err = draw_errors(rng, rel.astype(np.float64), f_p, envs)
    acc, ex, ey = err.accuracy_m, err.ex, err.ey
    poor = ~st & (mode[f_p] != _TELEPORT) & (rng.random(n_f) < _POOR_P)
    poor |= (mode[f_p] == _TELEPORT) & (rng.random(n_f) < _POOR_P)
    acc = np.where(poor, rng.uniform(50, 200, n_f), acc)
    ex = np.where(poor, rng.normal(0, 1, n_f) * acc / 1.515, ex)
    ey = np.where(poor, rng.normal(0, 1, n_f) * acc / 1.515, ey)
    r = np.hypot(ex, ey)
    cap = np.where(st, _STATIONARY_RADIUS_M, np.inf)
    scale = np.where(r > cap, cap / np.where(r > 0, r, 1.0), 1.0)
    ex, ey = ex * scale, ey * scale
    honest = mode[f_p] == _HONEST
    per_hour = np.array([e.indoor_per_hour for e in envs])
    keep = indoor_gaps(rng, f_p, rel.astype(np.float64), per_hour) | ~honest
    first = np.ones(n_f, dtype=bool)
    first[1:] = f_p[1:] != f_p[:-1]
    keep |= first
    f_p, rel, x_true, y_true, acc, ex, ey = (
        a[keep] for a in (f_p, rel, x_true, y_true, acc, ex, ey)
    )
    return gen[f_p], rel, x_true, y_true, acc, x_true + ex, y_true + ey
