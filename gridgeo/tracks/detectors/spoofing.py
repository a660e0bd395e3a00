"""Simulated movement from spoofing apps (kind ``spoofing``).

Rule
----
A spoofing ("mock location") app moves a point along straight legs at constant
velocity and, to look real, adds noise drawn afresh for every fix. Real GPS
error is temporally correlated (Gauss–Markov, correlation time of tens of
seconds to minutes; see :mod:`gridgeo.samples.gps_error`), and real walking
changes speed and heading continuously. Evidence, any of which flags a patrol
of at least ``spoof_min_fixes`` (30) fixes (all but ``constant_accuracy`` flag):

``mock_location``
    The phone itself said so (``is_mock``/``mock`` column true on at least one
    fix; Android's ``Location.isMock()``). Absent column: no evidence.
``constant_speed_field_mps``
    The phone's ``speed_mps`` (Doppler speed, re-measured with every fix) is
    the same non-zero value on every fix: a route simulator's set speed.
``constant_accuracy`` (supporting evidence, never a flag alone)
    Every fix reports the same ``accuracy_m``: receivers re-estimate it with
    every fix as satellites and signal change; simulators send a constant,
    but so do some loggers and upload tools that fill a default. With it, the
    residual test below also applies to fixes up to 3 × ``spoof_max_interval_s``
    apart and needs half the pairs.
``white_residuals``
    The track is cut into pieces of constant velocity (top-down: a piece is
    split at its worst fix while that fix lies more than 3 noise units off the
    piece's least-squares line in time); within pieces of 6+ fixes the lag-1
    autocorrelation of the residuals is at most ``spoof_max_correlation``
    (0.0) and not below −0.5 (an alternating pattern, such as positions that
    repeat in pairs, is neither GPS nor white noise). For white noise it is
    about 0 (slightly negative after fitting);
    for real fixes sampled at most ``spoof_max_interval_s`` (20 s) apart the
    error of consecutive fixes correlates by exp(−20/40) ≈ 0.6 or more, and
    real motion adds more. Sampled more sparsely, real error is close to
    white, so the test is not applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gridgeo.tracks.detectors._patrols import FloatArray, PatrolArrays, rnd

if TYPE_CHECKING:
    from gridgeo.tracks.authenticity import Thresholds

__all__ = ["residual_correlation", "spoofing_records"]

_MOCK_COLUMNS = ("is_mock", "mock")


def residual_correlation(
    t: FloatArray, x: FloatArray, y: FloatArray, k: float = 3.0
) -> tuple[float, int]:
    """Lag-1 autocorrelation of residuals within constant-velocity pieces, and pairs used."""
    n = t.size
    if n < 6:
        return float("nan"), 0
    span = t[2:] - t[:-2]
    w = np.where(span > 0, (t[1:-1] - t[:-2]) / np.where(span > 0, span, 1.0), 0.5)
    rx = x[1:-1] - (x[:-2] + w * (x[2:] - x[:-2]))
    ry = y[1:-1] - (y[:-2] + w * (y[2:] - y[:-2]))
    med = float(np.median(np.hypot(rx, ry)))
    if med < 0.5:  # no noise at all: the ``no_noise`` check's business
        return float("nan"), 0
    unit = med / 1.22 * 1.18
    a: list[FloatArray] = []
    b: list[FloatArray] = []
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        tt = t[i : j + 1]
        design = np.column_stack([np.ones_like(tt), tt - tt.mean()])
        coef, *_ = np.linalg.lstsq(
            design, np.column_stack([x[i : j + 1], y[i : j + 1]]), rcond=None
        )
        res = np.column_stack([x[i : j + 1], y[i : j + 1]]) - design @ coef
        e = np.hypot(res[:, 0], res[:, 1])
        m = int(np.argmax(e))
        if e[m] > k * unit and j - i >= 4:
            m = min(max(m, 1), j - i - 1)
            stack += [(i, i + m), (i + m, j)]
        elif j - i + 1 >= 6:
            a += [res[:-1, 0], res[:-1, 1]]
            b += [res[1:, 0], res[1:, 1]]
    if not a:
        return float("nan"), 0
    av, bv = np.concatenate(a), np.concatenate(b)
    den = float(np.sqrt(np.sum(av * av) * np.sum(bv * bv)))
    return (float(np.sum(av * bv) / den) if den > 0 else float("nan")), av.size // 2


def _mock(fixes: pd.DataFrame) -> np.ndarray | None:
    for col in _MOCK_COLUMNS:
        if col in fixes.columns:
            v = fixes[col]
            if v.dtype == object or isinstance(v.dtype, pd.StringDtype):
                return np.asarray(
                    v.astype(str).str.strip().str.lower().isin(["true", "1", "yes", "t"])
                )
            if isinstance(v.dtype, pd.BooleanDtype) or v.dtype == bool:
                return np.asarray(v.astype("boolean").fillna(False).to_numpy(dtype=bool))
            return np.asarray(pd.to_numeric(v, errors="coerce").fillna(0).to_numpy() > 0)
    return None


def spoofing_records(fixes: pd.DataFrame, pa: PatrolArrays, th: Thresholds) -> list[dict[str, Any]]:
    """Spoofing flag records (module docstring)."""
    mock = _mock(fixes)
    speed = (
        pd.to_numeric(fixes["speed_mps"], errors="coerce").to_numpy(dtype=np.float64)
        if "speed_mps" in fixes.columns
        else None
    )
    records = []
    for p in range(pa.n):
        r = pa.rows(p)
        t, x, y, acc = pa.t[r], pa.x[r], pa.y[r], pa.acc[r]
        n = t.size
        evidence: dict[str, Any] = {"n_fixes": int(n)}
        reasons = []
        if mock is not None and mock[r].any():
            evidence["mock_fixes"] = int(mock[r].sum())
            reasons.append(f"{int(mock[r].sum())} fixes marked as mock locations by the phone")
        if n < th.spoof_min_fixes:
            if reasons:
                records.append(pa.record(p, "spoofing", "; ".join(reasons), evidence))
            continue
        finite = acc[np.isfinite(acc)]
        constant = finite.size == n and np.unique(finite).size == 1
        if constant:
            evidence["constant_accuracy_m"] = rnd(finite[0], 1)
        if speed is not None:
            sp = speed[r]
            sp = sp[np.isfinite(sp)]
            if sp.size >= th.spoof_min_fixes and np.unique(sp).size == 1 and sp[0] > 0:
                evidence["constant_speed_field_mps"] = rnd(sp[0], 2)
                reasons.append(f"the phone reports the same speed {sp[0]:g} m/s on all fixes")
        dt = float(np.median(np.diff(t))) if n > 1 else 0.0
        limit_dt = th.spoof_max_interval_s * (3.0 if constant else 1.0)
        if 0 < dt <= limit_dt:
            c, pairs = residual_correlation(t, x, y)
            evidence.update(residual_correlation=rnd(c, 3), median_interval_s=rnd(dt, 1))
            need = th.spoof_min_fixes // (2 if constant else 1)
            if pairs >= need and np.isfinite(c) and -0.5 <= c <= th.spoof_max_correlation:
                reasons.append(
                    f"noise without GPS time correlation (lag-1 correlation {c:.2f} within "
                    f"constant-velocity legs, fixes every {dt:.0f} s)"
                    + (f", constant accuracy {finite[0]:g} m" if constant else "")
                )
        if reasons:
            records.append(pa.record(p, "spoofing", "; ".join(reasons), evidence))
    return records
