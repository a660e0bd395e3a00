"""Per-patrol arrays shared by the detectors: local metres, seconds, row ranges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridgeo.tracks._geo import epoch_seconds, first_of_group, group_ids, local_xy, wgs84_lonlat

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PatrolArrays:
    """Sorted fixes as arrays: ``x``, ``y`` (m), ``t`` (s), and each patrol's row range."""

    key: NDArray[np.object_]
    worker: NDArray[np.object_]
    t: FloatArray
    x: FloatArray
    y: FloatArray
    lon: FloatArray
    lat: FloatArray
    acc: FloatArray
    pid: NDArray[np.int64]
    first: NDArray[np.int64]
    last: NDArray[np.int64]

    @classmethod
    def build(cls, fixes: pd.DataFrame) -> PatrolArrays:
        """From fixes sorted by worker, patrol and time (``_sorted`` of authenticity)."""
        key = fixes["patrol_key"].to_numpy(dtype=object)
        lon, lat = wgs84_lonlat(fixes)
        x, y = local_xy(lon, lat)
        acc = (
            pd.to_numeric(fixes["accuracy_m"], errors="coerce").to_numpy(dtype=np.float64)
            if "accuracy_m" in fixes.columns
            else np.full(len(fixes), np.nan)
        )
        first_mask = first_of_group(key)
        first = np.flatnonzero(first_mask)
        last = np.append(first[1:], len(key)) - 1
        return cls(
            key=key,
            worker=fixes["worker_id"].to_numpy(dtype=object),
            t=epoch_seconds(fixes["t"]),
            x=np.asarray(x, dtype=np.float64),
            y=np.asarray(y, dtype=np.float64),
            lon=np.asarray(lon, dtype=np.float64),
            lat=np.asarray(lat, dtype=np.float64),
            acc=acc,
            pid=group_ids(first_mask),
            first=first,
            last=last,
        )

    @property
    def n(self) -> int:
        return int(self.first.size)

    def rows(self, p: int) -> slice:
        return slice(int(self.first[p]), int(self.last[p]) + 1)

    def record(
        self,
        p: int,
        kind: str,
        reason: str,
        evidence: dict[str, Any],
        *,
        start: float | None = None,
        end: float | None = None,
    ) -> dict[str, Any]:
        r = self.rows(p)
        return {
            "worker_id": str(self.worker[r.start]),
            "patrol_key": str(self.key[r.start]),
            "kind": kind,
            "reason": reason,
            "evidence": evidence,
            "start": float(self.t[r.start] if start is None else start),
            "end": float(self.t[r.stop - 1] if end is None else end),
        }


def rnd(value: float, digits: int = 2) -> float:
    """``value`` rounded, as a plain float (JSON-ready evidence)."""
    return round(float(value), digits)


def lag_speed(
    t: FloatArray, x: FloatArray, y: FloatArray, lag_s: float
) -> tuple[FloatArray, FloatArray]:
    """Speed over at least ``lag_s`` from each fix, and the span it covers (0 where none)."""
    j = np.searchsorted(t, t + lag_s, side="left")
    ok = j < t.size
    jj = np.where(ok, j, 0)
    dt = np.where(ok, t[jj] - t, 0.0)
    d = np.hypot(x[jj] - x, y[jj] - y)
    v = np.where(ok & (dt > 0), d / np.where(dt > 0, dt, 1.0), 0.0)
    return v, dt
