"""Cleaning validated fixes: duplicates, poor accuracy, single-fix speed spikes.

Steps, in this order (each sees the result of the previous one):

1. **WGS84.** Coordinates are converted from the device CRS
   (:func:`gridgeo.tracks.validate.as_wgs84`); ``device_crs`` keeps the label.
2. **Sort** by ``worker_id`` and ``t`` (stable).
3. **Duplicate times** (reason ``duplicate_time``): of several fixes of one
   worker at the same instant only the one with the best (smallest)
   ``accuracy_m`` is kept, the first of equals; unknown accuracy ranks last.
   Re-sent uploads are exact copies; two different positions at one instant
   cannot both be right and the more accurate is the better guess.
4. **Poor accuracy** (reason ``poor_accuracy``): ``accuracy_m`` above
   ``max_accuracy_m`` (50 m: the device itself says the fix may be off by
   more than half a street block, too coarse to say which grid it is in).
   Fixes of unknown accuracy are kept.
5. **Speed spikes** (reason ``speed_spike``): a single fix whose implied
   speeds from the previous fix *and* to the next fix of the same worker both
   exceed ``max_speed_mps`` (40 m/s = 144 km/h, beyond any patrol on foot,
   bicycle or in city traffic), while going straight from the previous to
   the next fix does not. That is a glitch (multipath, a cell-tower fix) that
   would add hundreds of metres of phantom distance. Repeated up to three
   times, so that two separate spikes next to each other are both found.
   Groups of two or more consecutive far-away fixes are *not* spikes; they
   stay for the authenticity checks.

Order with authenticity
-----------------------
A single far-away fix that comes straight back is exactly what a *teleport*
looks like, so cleaning removes the evidence of one. The pipeline therefore
keeps the dropped rows (:attr:`CleanResult.dropped` holds them in full) and
:func:`gridgeo.tracks.authenticity.authenticity_flags` puts the
``speed_spike`` and ``poor_accuracy`` rows back for its teleport check
(allowing for each fix's stated accuracy). Every other check, and distances,
times and coverage, use the cleaned fixes.

Examples
--------
>>> import pandas as pd
>>> t = pd.to_datetime(["2026-10-01 08:00:00", "2026-10-01 08:00:30", "2026-10-01 08:00:30",
...                     "2026-10-01 08:01:00", "2026-10-01 08:01:30"], utc=True)
>>> fixes = pd.DataFrame({"worker_id": "W1", "t": t, "crs": "wgs84",
...     "lon": [120.2700, 120.2703, 120.2703, 120.3000, 120.2709],
...     "lat": [30.17, 30.17, 30.17, 30.17, 30.17], "accuracy_m": [5.0, 9.0, 4.0, 5.0, 5.0]})
>>> result = clean_fixes(fixes)
>>> result.fixes.index.tolist(), result.dropped[["index", "reason"]].values.tolist()
([0, 2, 4], [[1, 'duplicate_time'], [3, 'speed_spike']])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.tracks._geo import FIX_COLUMNS, distance_m, epoch_seconds, require_columns
from gridgeo.tracks.validate import as_wgs84

__all__ = ["DROP_REASONS", "CleanResult", "clean_fixes"]

DROP_REASONS: Final[tuple[str, ...]] = ("duplicate_time", "poor_accuracy", "speed_spike")
_SPIKE_PASSES: Final = 3


@dataclass(frozen=True)
class CleanResult:
    """What :func:`clean_fixes` kept and dropped.

    Attributes
    ----------
    fixes : pandas.DataFrame
        The kept fixes in WGS84, sorted by ``worker_id`` and ``t``, original
        index labels kept, with ``device_crs``.
    dropped : pandas.DataFrame
        The dropped rows: ``index`` (the original label), ``reason`` (one of
        :data:`DROP_REASONS`) and the row's columns (WGS84), in input order.
    """

    fixes: pd.DataFrame
    dropped: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Number of dropped rows per reason (every reason listed)."""
        vc = self.dropped["reason"].value_counts()
        return {r: int(vc.get(r, 0)) for r in DROP_REASONS}


def clean_fixes(
    fixes: pd.DataFrame, *, max_accuracy_m: float = 50.0, max_speed_mps: float = 40.0
) -> CleanResult:
    """Remove duplicate times, poor-accuracy fixes and single-fix speed spikes.

    Parameters
    ----------
    fixes : pandas.DataFrame
        Validated fixes (:func:`gridgeo.tracks.validate.validate_fixes`):
        columns :data:`~gridgeo.tracks.io.FIX_COLUMNS`, no missing times or
        coordinates. Not modified.
    max_accuracy_m : float, default 50
        Fixes whose ``accuracy_m`` exceeds this are dropped.
    max_speed_mps : float, default 40
        Speed above which a lone fix counts as a spike (module docstring).

    Returns
    -------
    CleanResult

    Raises
    ------
    InvalidInput
        Missing columns, missing times or coordinates, or bad thresholds.
    """
    require_columns(fixes, FIX_COLUMNS, "fixes")
    for name, value in (("max_accuracy_m", max_accuracy_m), ("max_speed_mps", max_speed_mps)):
        if not (np.isfinite(value) and value > 0):
            raise InvalidInput(f"{name} must be a positive number, not {value!r}")
    bad = fixes["t"].isna() | fixes["lon"].isna() | fixes["lat"].isna()
    if bad.any():
        raise InvalidInput(
            f"{int(bad.sum())} fixes lack a time or coordinates; run validate_fixes first"
        )
    data = as_wgs84(fixes)
    # Positions, so that duplicate index labels in the input cannot confuse the bookkeeping.
    pos = np.arange(len(data))
    worker_rank = pd.factorize(data["worker_id"].to_numpy(dtype=object), sort=True)[0]
    order = np.lexsort((pos, epoch_seconds(data["t"]), worker_rank))
    data = data.iloc[order]
    reason = np.full(len(data), None, dtype=object)

    worker = worker_rank[order]
    t = epoch_seconds(data["t"])
    acc = data["accuracy_m"].to_numpy(dtype=np.float64)
    # Duplicate times: rank by accuracy within (worker, t), keep the best.
    acc_rank = np.where(np.isnan(acc), np.inf, acc)
    by = np.lexsort((np.arange(len(data)), acc_rank, t, worker))
    w_s, t_s = worker[by], t[by]
    same = np.zeros(len(data), dtype=bool)
    if len(data) > 1:
        same[1:] = (w_s[1:] == w_s[:-1]) & (t_s[1:] == t_s[:-1])
    reason[by[same]] = "duplicate_time"
    with np.errstate(invalid="ignore"):
        reason[(reason == None) & (acc > max_accuracy_m)] = "poor_accuracy"  # noqa: E711

    lon = data["lon"].to_numpy(dtype=np.float64)
    lat = data["lat"].to_numpy(dtype=np.float64)
    for _ in range(_SPIKE_PASSES):
        keep = np.flatnonzero(reason == None)  # noqa: E711
        spikes = _spikes(worker[keep], t[keep], lon[keep], lat[keep], max_speed_mps)
        if not spikes.any():
            break
        reason[keep[spikes]] = "speed_spike"

    kept = reason == None  # noqa: E711
    out = data.iloc[np.flatnonzero(kept)]
    dropped_rows = data.iloc[np.flatnonzero(~kept)]
    dropped = dropped_rows.assign(reason=pd.array(reason[~kept], dtype="str"))
    dropped = dropped.iloc[np.argsort(order[~kept], kind="stable")]
    dropped.insert(0, "index", dropped.index.to_numpy())
    dropped.insert(1, "reason", dropped.pop("reason"))
    return CleanResult(fixes=out, dropped=dropped.reset_index(drop=True))


def _spikes(
    worker: np.ndarray, t: np.ndarray, lon: np.ndarray, lat: np.ndarray, max_speed: float
) -> np.ndarray:
    """Lone fixes whose speeds in and out both exceed ``max_speed`` while the bypass does not."""
    n = len(t)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    mid = np.arange(1, n - 1)
    same = (worker[mid - 1] == worker[mid]) & (worker[mid + 1] == worker[mid])
    mid = mid[same]
    if not mid.size:
        return out
    d_in = distance_m(lon[mid - 1], lat[mid - 1], lon[mid], lat[mid])
    d_out = distance_m(lon[mid], lat[mid], lon[mid + 1], lat[mid + 1])
    d_by = distance_m(lon[mid - 1], lat[mid - 1], lon[mid + 1], lat[mid + 1])
    dt_in = np.maximum(t[mid] - t[mid - 1], 1e-3)
    dt_out = np.maximum(t[mid + 1] - t[mid], 1e-3)
    dt_by = np.maximum(t[mid + 1] - t[mid - 1], 1e-3)
    spike = (d_in / dt_in > max_speed) & (d_out / dt_out > max_speed) & (d_by / dt_by <= max_speed)
    out[mid[spike]] = True
    return out
