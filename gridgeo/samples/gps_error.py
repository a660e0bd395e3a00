"""A smartphone GPS error model: correlated, environment-dependent, honestly imperfect.

Real phone fixes are not a true position plus white Gaussian noise. This module
draws errors the way published smartphone measurements describe them, for the
sample generator and for the tests that build cheats against the detectors:

Temporal correlation
    The horizontal error of consecutive fixes is a first-order Gauss–Markov
    (AR(1)) process per axis, ``e[k] = rho e[k-1] + sqrt(1 - rho^2) sigma w[k]``
    with ``rho = exp(-dt / tau)``; the correlation time ``tau`` is tens of
    seconds to a few minutes (40–120 s here). Satellite geometry, multipath and
    atmospheric delays change slowly, so the errors of fixes seconds apart are
    nearly the same (Olynik, Petovello, Cannon & Lachapelle 2002, "Temporal
    impact of selected GPS errors on point positioning", GPS Solutions 6:47–57,
    find position-error autocorrelation over minutes; the Gauss–Markov form is
    the textbook model of such errors, e.g. Grewal, Andrews & Bartone, *Global
    Navigation Satellite Systems, Inertial Navigation, and Integration*, 4th
    ed. 2020, ch. 10). A small white part (receiver noise, 0.5–1 m) is added.
Size by environment
    Open sky: a 68 % horizontal radius of about 3–5 m (van Diggelen & Enge 2015,
    "The world's first GPS MOOC and worldwide laboratory using smartphones",
    ION GNSS+ 2015: about 5 m at 95 % with good phones under open sky);
    built-up areas: medians of 5–10 m and tails of tens of metres (Zandbergen &
    Barbeau 2011, "Positional accuracy of assisted GPS data from high-
    sensitivity GPS-enabled mobile phones", Journal of Navigation 64:381–399;
    Merry & Bettinger 2019, "Smartphone GPS accuracy study in an urban
    environment", PLoS ONE 14(7): e0219890, 7–13 m average errors in a city
    with trees and buildings). Near tall buildings (urban canyons) reflected
    signals bias fixes to one side of the street by 10–30 m for minutes at a
    time (van Diggelen 2020, "Improving urban GPS accuracy for your app",
    Android Developers Blog): modelled as a bias vector redrawn with its own
    correlation time (a second, slower Gauss–Markov term).
Reported accuracy
    Android's ``getAccuracy()`` is the 68 % radius the phone *believes*; in
    the open it is roughly right, in canyons it under-reports (multipath is
    invisible to the receiver): the reported value is the model's own
    optimistic radius times a factor below 1 (0.5–0.7 in canyons),
    rounded to whole metres, with its own slow variation.
Sampling
    Phones deliver location updates at the requested interval only loosely:
    the OS batches and delays them (Android ``LocationRequest`` intervals are
    "inexact"; power saving stretches them), so intervals are jittered by
    ±10–25 % and occasionally doubled.
Indoor dropouts
    Inside buildings GPS fixes stop or degrade (Kjærgaard, Blunck, Godsk,
    Toftkjær, Christensen & Grønbæk 2010, "Indoor positioning using GPS
    revisited", Pervasive 2010, LNCS 6030: fixes obtainable in only part of
    the buildings, with errors of tens of metres): a patrol has a few gaps of
    one to a few minutes (visits into buildings) with no fixes.

All of it is vectorised over many patrols at once (``group`` arrays) and takes
its randomness only from the ``rng`` passed in.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = sample_times(rng, np.array([1800.0]), np.array([30.0]))[1]
>>> g = np.zeros(t.size, dtype=np.int64)
>>> err = draw_errors(rng, t, g, [ENVIRONMENTS["urban"]])
>>> err.ex.shape == t.shape and bool(np.all(err.accuracy_m >= 1))
True
>>> float(np.corrcoef(err.ex[:-1], err.ex[1:])[0, 1]) > 0.3   # correlated, not white
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gridgeo.errors import InvalidInput

__all__ = [
    "ENVIRONMENTS",
    "GpsEnvironment",
    "GpsErrors",
    "draw_errors",
    "indoor_gaps",
    "sample_times",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_R68: Final = 1.515  # 68 % radius of a 2-D Gaussian = 1.515 sigma (per axis)


@dataclass(frozen=True)
class GpsEnvironment:
    """Error parameters of one kind of place (see the module docstring for sources).

    Attributes
    ----------
    name : str
    sigma_m : (float, float)
        Range of the per-axis standard deviation of the correlated error, drawn per patrol.
    tau_s : (float, float)
        Range of its correlation time in seconds.
    white_m : float
        Per-axis standard deviation of the uncorrelated receiver noise.
    bias_m : (float, float)
        Range of the per-axis standard deviation of the slow multipath bias.
    bias_tau_s : float
        Correlation time of the bias.
    reported : (float, float)
        Range of reported accuracy over the true 68 % radius (below 1: optimistic).
    indoor_per_hour : float
        Mean number of indoor dropouts per hour of patrol.
    """

    name: str
    sigma_m: tuple[float, float]
    tau_s: tuple[float, float]
    white_m: float
    bias_m: tuple[float, float]
    bias_tau_s: float
    reported: tuple[float, float]
    indoor_per_hour: float


ENVIRONMENTS: Final[dict[str, GpsEnvironment]] = {
    "rural": GpsEnvironment("rural", (2.0, 3.5), (40.0, 120.0), 0.7, (0.0, 1.0), 600.0,
                            (0.9, 1.2), 0.5),
    "suburban": GpsEnvironment("suburban", (3.0, 5.0), (40.0, 120.0), 0.8, (1.0, 3.0), 400.0,
                               (0.8, 1.1), 1.0),
    "urban": GpsEnvironment("urban", (4.0, 7.0), (40.0, 120.0), 1.0, (3.0, 8.0), 300.0,
                            (0.6, 0.9), 1.5),
}  # fmt: skip
"""Parameter sets by kind of place; ``urban`` includes canyon multipath bias."""


@dataclass(frozen=True)
class GpsErrors:
    """Errors drawn for fixes: east/north metres and the reported accuracy."""

    ex: FloatArray
    ey: FloatArray
    accuracy_m: FloatArray


def sample_times(
    rng: np.random.Generator,
    duration_s: FloatArray,
    interval_s: FloatArray,
    *,
    jitter: float = 0.2,
    stretch_p: float = 0.03,
) -> tuple[IntArray, FloatArray]:
    """Fix times (seconds from each patrol's start) as a phone's OS delivers them.

    Parameters
    ----------
    rng : numpy.random.Generator
    duration_s, interval_s : array of float
        Per patrol: its duration and the requested update interval.
    jitter : float, default 0.2
        Intervals are drawn from a gamma law with this coefficient of variation.
    stretch_p : float, default 0.03
        Probability that an update is skipped (the interval doubles: doze).

    Returns
    -------
    group : array of int
        Patrol index of each fix.
    t : array of float
        Seconds since the patrol's start, rounded to whole seconds, increasing.
    """
    duration_s = np.asarray(duration_s, dtype=np.float64)
    interval_s = np.asarray(interval_s, dtype=np.float64)
    if duration_s.shape != interval_s.shape or np.any(interval_s <= 0):
        raise InvalidInput("duration_s and interval_s must match and intervals be positive")
    n_cand = np.ceil(duration_s / (0.5 * interval_s)).astype(np.int64) + 2
    group = np.repeat(np.arange(duration_s.size), n_cand)
    k = 1.0 / jitter**2
    step = rng.gamma(k, interval_s[group] / k)
    step *= np.where(rng.random(group.size) < stretch_p, 2.0, 1.0)
    step = np.maximum(np.round(step), 1.0)
    first = np.concatenate([[0], np.cumsum(n_cand)[:-1]])
    step[first] = 0.0
    t = np.cumsum(step)
    t -= np.repeat(t[first], n_cand)
    keep = t <= duration_s[group]
    return group[keep], t[keep]


def indoor_gaps(
    rng: np.random.Generator,
    group: IntArray,
    t: FloatArray,
    per_hour: FloatArray,
    *,
    gap_s: tuple[float, float] = (60.0, 240.0),
) -> NDArray[np.bool_]:
    """Mask of the fixes kept after indoor dropouts (``per_hour`` per patrol)."""
    n_p = int(group.max()) + 1 if group.size else 0
    dur = np.zeros(n_p)
    np.maximum.at(dur, group, t)
    keep = np.ones(t.size, dtype=bool)
    count = rng.poisson(np.asarray(per_hour, dtype=np.float64)[:n_p] * dur / 3600.0)
    for p in np.flatnonzero(count).tolist():
        rows = np.flatnonzero(group == p)
        for _ in range(int(count[p])):
            s = rng.uniform(0.1, 0.9) * dur[p]
            e = s + rng.uniform(*gap_s)
            keep[rows[(t[rows] > s) & (t[rows] < e)]] = False
    return keep


def _ar1(rng: np.random.Generator, group: IntArray, t: FloatArray, tau: FloatArray) -> FloatArray:
    """Unit-variance Gauss–Markov series restarting at each group (``tau`` per row).

    Rows of a group are contiguous; the recurrence runs over the position within
    the group, vectorised across groups.
    """
    n = t.size
    w = rng.normal(size=n)
    if n == 0:
        return np.empty(0)
    new = np.ones(n, dtype=bool)
    new[1:] = group[1:] != group[:-1]
    dt = np.zeros(n)
    dt[1:] = np.maximum(t[1:] - t[:-1], 0.0)
    rho = np.where(new, 0.0, np.exp(-dt / tau))
    scale = np.sqrt(1.0 - rho**2)
    starts = np.flatnonzero(new)
    rank = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(int(rank.max()) + 2))
    out = np.empty(n)
    prev = np.zeros(starts.size)
    for k in range(int(rank.max()) + 1):
        rows = order[bounds[k] : bounds[k + 1]]  # the k-th fix of every group that long
        g = np.searchsorted(starts, rows, side="right") - 1
        val = rho[rows] * prev[g] + scale[rows] * w[rows]
        prev[g] = val
        out[rows] = val
    return out


def draw_errors(
    rng: np.random.Generator,
    t: FloatArray,
    group: IntArray,
    envs: Sequence[GpsEnvironment],
) -> GpsErrors:
    """Errors of fixes at times ``t`` (seconds, increasing within each group).

    Parameters
    ----------
    rng : numpy.random.Generator
    t : array of float
        Fix times, sorted within each patrol.
    group : array of int
        Patrol of each fix (rows of a patrol contiguous), indexing ``envs``.
    envs : sequence of GpsEnvironment
        Environment of each patrol.

    Returns
    -------
    GpsErrors
    """
    t = np.asarray(t, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    n_p = len(envs)
    if group.size and (group.min() < 0 or group.max() >= n_p):
        raise InvalidInput("group indexes outside envs")

    def draw(attr: str) -> FloatArray:
        lo = np.array([getattr(e, attr)[0] for e in envs], dtype=np.float64)
        hi = np.array([getattr(e, attr)[1] for e in envs], dtype=np.float64)
        return rng.uniform(lo, hi) if n_p else np.zeros(0)

    sigma, tau, bias, ratio = draw("sigma_m"), draw("tau_s"), draw("bias_m"), draw("reported")
    white = np.array([e.white_m for e in envs], dtype=np.float64)
    btau = np.array([e.bias_tau_s for e in envs], dtype=np.float64)
    g = group
    ex = sigma[g] * _ar1(rng, g, t, tau[g]) + bias[g] * _ar1(rng, g, t, btau[g])
    ey = sigma[g] * _ar1(rng, g, t, tau[g]) + bias[g] * _ar1(rng, g, t, btau[g])
    ex += white[g] * rng.normal(size=t.size)
    ey += white[g] * rng.normal(size=t.size)
    # The phone's belief: its own error estimate (without the invisible bias),
    # slowly varying, times an optimism factor; whole metres, at least 1 m.
    believed = np.sqrt(sigma**2 + white**2) * _R68
    wobble = np.exp(0.25 * _ar1(rng, g, t, tau[g]))
    accuracy = np.maximum(np.round(believed[g] * ratio[g] * wobble), 1.0)
    return GpsErrors(ex, ey, accuracy)
