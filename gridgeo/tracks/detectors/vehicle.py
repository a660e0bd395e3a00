"""Riding or driving where the grid's patrol mode is slower (kind ``vehicle``).

Rule
----
Each grid allows a travel mode: ``walk`` in urban grids, ``ebike`` in large
rural ones (configurable per grid or per worker with ``modes``; a grid not
listed allows ``ebike``, so without configuration only cars are caught). The
speed at a fix is the path length (over fixes thinned to at least 30 s apart)
to the first fix at least ``vehicle_lag_s`` (120 s) later, divided by the
time between them: a car circling a small grid covers a long path with little
net displacement. GPS error, correlated over tens of seconds, moves fixes
30 s apart by only a fraction of its size, adding about 0.2–0.3 m/s, while
the lag still resolves a car's stops at junctions. A
patrol is flagged when the time spent above the mode's limit is at least
``vehicle_min_minutes`` (5) and at least ``vehicle_min_share`` (20 %) of the
patrol: sustained, not a sprint for a bus.

Limits: ``walk_max_mps`` 2.5 m/s (9 km/h; comfortable walking is 1.2–1.4 m/s
and brisk walking about 1.8–2 m/s, Bohannon & Williams Andrews 2011,
"Normal walking speed: a descriptive meta-analysis", Physiotherapy
97:182–189); ``ebike_max_mps`` 8 m/s (China's e-bike standard GB 17761-2018
caps the design speed at 25 km/h = 6.9 m/s; the margin covers GPS error).
A car in town averages 20–40 km/h (6–11 m/s) and is caught under either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.tracks.detectors._patrols import FloatArray, PatrolArrays, rnd

if TYPE_CHECKING:
    from gridgeo.tracks.authenticity import Thresholds

__all__ = ["MODES", "vehicle_records"]

MODES: Final[tuple[str, ...]] = ("walk", "ebike")


def vehicle_records(
    fixes: pd.DataFrame,
    pa: PatrolArrays,
    th: Thresholds,
    *,
    modes: Mapping[str, str] | None = None,
    roster: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Vehicle flag records (module docstring)."""
    modes = dict(modes or {})
    bad = sorted({str(v) for v in modes.values()} - set(MODES))
    if bad:
        raise InvalidInput(f"unknown travel modes {bad}; use {list(MODES)}")
    grid_of: dict[str, str] = {}
    if roster is not None and {"worker_id", "grid_code"} <= set(roster.columns):
        grid_of = dict(
            zip(roster["worker_id"].astype(str), roster["grid_code"].astype(str), strict=True)
        )
    limit_of = {"walk": th.walk_max_mps, "ebike": th.ebike_max_mps}
    records = []
    for p in range(pa.n):
        r = pa.rows(p)
        worker = str(pa.worker[r.start])
        grid = grid_of.get(worker, "")
        mode = modes.get(worker) or modes.get(grid) or "ebike"
        limit = limit_of[mode]
        t, x, y = pa.t[r], pa.x[r], pa.y[r]
        if t.size < 3:
            continue
        keep = _thin(t, 30.0)
        t, x, y = t[keep], x[keep], y[keep]
        v, span = path_speed(t, x, y, th.vehicle_lag_s)
        gap = np.diff(t, append=t[-1])
        w = np.minimum(gap, 300.0)
        fast = (span > 0) & (span <= 4 * th.vehicle_lag_s) & (v > limit)
        fast_s = float(w[fast].sum())
        total = float(t[-1] - t[0])
        if fast_s < th.vehicle_min_minutes * 60 or fast_s < th.vehicle_min_share * max(total, 1.0):
            continue
        idx = np.flatnonzero(fast)
        records.append(
            pa.record(
                p,
                "vehicle",
                f"{fast_s / 60:.0f} min faster than {limit:.1f} m/s ({mode} allowed), "
                f"median {np.median(v[fast]) * 3.6:.0f} km/h",
                {
                    "mode_allowed": mode,
                    "limit_mps": rnd(limit, 2),
                    "minutes_fast": rnd(fast_s / 60, 1),
                    "share_fast": rnd(fast_s / max(total, 1.0), 3),
                    "median_speed_mps": rnd(float(np.median(v[fast])), 2),
                    "max_speed_mps": rnd(float(v[fast].max()), 2),
                    "first_fast": rnd(t[idx[0]], 0),
                    "last_fast": rnd(t[idx[-1]], 0),
                },
                start=float(t[idx[0]]),
                end=float(t[min(idx[-1] + 1, t.size - 1)]),
            )
        )
    return records


def _thin(t: FloatArray, min_dt: float) -> np.ndarray:
    """Indices of fixes kept greedily at least ``min_dt`` apart (first and last kept)."""
    keep = [0]
    last = t[0]
    for i in range(1, t.size):
        if t[i] - last >= min_dt:
            keep.append(i)
            last = t[i]
    if keep[-1] != t.size - 1:
        keep.append(t.size - 1)
    return np.asarray(keep, dtype=np.int64)


def path_speed(
    t: FloatArray, x: FloatArray, y: FloatArray, lag_s: float
) -> tuple[FloatArray, FloatArray]:
    """Path length over at least ``lag_s`` from each fix, per second, and the span (0: none)."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    j = np.searchsorted(t, t + lag_s, side="left")
    ok = j < t.size
    jj = np.where(ok, j, 0)
    dt = np.where(ok, t[jj] - t, 0.0)
    v = np.where(ok & (dt > 0), (cum[jj] - cum) / np.where(dt > 0, dt, 1.0), 0.0)
    return v, dt
