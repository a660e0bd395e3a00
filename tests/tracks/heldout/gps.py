"""An independent smartphone GPS error model for the held-out authenticity set.

Written for the held-out tests only, from published measurements, without
looking at the product's sample generator: its parameters and random streams
are deliberately its own.

What a phone reports for a true position ``p(t)`` is ``p(t) + e(t)`` at times
chosen by the operating system, with a self-reported ``accuracy``:

* **Temporally correlated error.** Each axis carries a first-order
  Gauss–Markov (AR(1)) process, exactly discretised for irregular intervals,
  ``e_k = phi e_{k-1} + sqrt(1 - phi^2) sigma w_k`` with
  ``phi = exp(-dt / tau)``. Consecutive smartphone fixes are strongly
  correlated: the error wanders over tens of seconds to minutes rather than
  jumping independently (Zandbergen & Barbeau 2011; the receiver's own
  position filter does the rest). ``tau`` is drawn per phone in 25–110 s.
* **Open sky** ``sigma`` per axis 2.6–4.2 m (a 95 % radius of about 6–10 m):
  van Diggelen & Enge 2015, "The World's first GPS MOOC and worldwide
  laboratory using smartphones" (ION GNSS+ 2015), found a 4.9 m 95 % radius
  for good phones in open sky; cheaper phones and the fused provider are
  worse, hence the spread.
* **Urban canyon**: ``sigma`` 6–9.5 m plus a slowly varying *bias* of 3–12 m
  (reflected signals pull the solution across the street, the same way for
  minutes): Merry & Bettinger 2019, "Smartphone GPS accuracy study in an
  urban environment" (PLOS ONE 14(7): e0219890), report average errors of
  7–13 m that grow near tall buildings and tree cover.
* **Multipath jumps**: short excursions of 12–55 m lasting 1–4 fixes, a few
  per hour in canyons, rare in open sky.
* **Indoors** (household visits, a phone left at home): high-sensitivity
  receivers still fix indoors, with errors of tens of metres and long
  correlation (Zandbergen & Barbeau 2011, "Positional accuracy of assisted
  GPS data from high-sensitivity GPS-enabled mobile phones", Journal of
  Navigation 64(3): 381–399: median indoor errors of roughly 10–30 m), and
  many fixes are simply missing.
* **Reported accuracy** is Android's 68 % horizontal radius
  (``Location.getAccuracy``). It is roughly calibrated in open sky but
  *under-reports* in canyons and under multipath (the filter does not know
  about reflections): reported / true ratio 0.9–1.2 in open sky, 0.45–0.7 in
  canyons, rounded the way phones round it (whole metres or tenths), never
  below a floor of about 3 m (the Fused Location Provider rarely claims
  better).
* **Speed**: 60 % of phones/apps record the Doppler speed
  (``Location.getSpeed``), 0.2 m/s error in the open, 0.5 m/s in canyons.
* **Sampling**: apps ask the Fused Location Provider for an interval (5–30 s);
  the OS delivers with jitter, occasionally late by tens of seconds (Doze,
  app in background), drops fixes indoors and loses the signal for a few
  minutes now and then. Timestamps come in milliseconds.

All functions take a ``numpy.random.Generator``; nothing here reads global
random state. Coordinates are local metres (east, north).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Environment codes carried by a true path, one per second.
OPEN: Final = 0
SUBURBAN: Final = 1
CANYON: Final = 2
INDOOR: Final = 3
VEHICLE: Final = 4


@dataclass(frozen=True)
class Environment:
    """Error parameters of one kind of surroundings (see the module docstring).

    Attributes
    ----------
    sigma_m : float
        Per-axis standard deviation of the correlated error.
    tau_scale : float
        Multiplies the phone's correlation time.
    bias_m : tuple of float
        Range of the magnitude of the slowly varying bias.
    jumps_per_h : float
        Rate of multipath excursions.
    acc_ratio : tuple of float
        Range of reported accuracy over the true 68 % radius.
    drop_p : float
        Probability that a due fix is not delivered at all.
    """

    sigma_m: float
    tau_scale: float
    bias_m: tuple[float, float]
    jumps_per_h: float
    acc_ratio: tuple[float, float]
    drop_p: float


ENVIRONMENTS: Final[dict[int, Environment]] = {
    OPEN: Environment(3.1, 1.0, (0.0, 1.5), 0.4, (0.9, 1.2), 0.01),
    SUBURBAN: Environment(4.6, 1.1, (1.0, 5.0), 1.5, (0.75, 1.05), 0.02),
    CANYON: Environment(7.0, 1.4, (3.0, 12.0), 5.0, (0.45, 0.7), 0.06),
    INDOOR: Environment(16.0, 2.5, (6.0, 25.0), 3.0, (0.5, 0.9), 0.55),
    VEHICLE: Environment(5.5, 0.8, (1.0, 8.0), 3.0, (0.6, 0.95), 0.03),
}


@dataclass(frozen=True)
class Phone:
    """One phone and its app: clock, filter and rounding habits.

    Attributes
    ----------
    interval_s : float
        Requested fix interval.
    jitter : float
        Relative standard deviation of the delivered interval (log-normal).
    late_p : float
        Probability that a fix comes late by 20–150 s (Doze, background).
    sigma_scale : float
        Receiver quality: multiplies every environment's ``sigma_m``.
    tau_s : float
        Correlation time of the error in open sky.
    acc_decimals : int
        0 when the phone reports whole metres, 1 for tenths.
    outage_per_h : float
        Rate of signal losses of 1–6 minutes.
    reports_speed : bool
        The app records ``Location.getSpeed`` (Doppler speed, about 0.2 m/s
        error in the open, more in canyons); many apps do not.
    """

    interval_s: float
    jitter: float
    late_p: float
    sigma_scale: float
    tau_s: float
    acc_decimals: int
    outage_per_h: float
    reports_speed: bool = False


def random_phone(rng: np.random.Generator, *, interval_s: float | None = None) -> Phone:
    """A phone drawn from a plausible population of Android handsets."""
    return Phone(
        interval_s=float(interval_s or rng.choice([5.0, 8.0, 10.0, 15.0, 20.0, 30.0])),
        jitter=float(rng.uniform(0.04, 0.3)),
        late_p=float(rng.uniform(0.0, 0.03)),
        sigma_scale=float(rng.uniform(0.85, 1.35)),
        tau_s=float(rng.uniform(25.0, 110.0)),
        acc_decimals=int(rng.choice([0, 0, 1])),
        outage_per_h=float(rng.uniform(0.0, 0.8)),
        reports_speed=bool(rng.random() < 0.6),
    )


def sample_times(duration_s: float, phone: Phone, rng: np.random.Generator) -> FloatArray:
    """Fix times (seconds from 0, millisecond resolution) the OS would deliver."""
    n = int(duration_s / phone.interval_s * 1.3) + 8
    steps = phone.interval_s * rng.lognormal(-0.5 * phone.jitter**2, phone.jitter, n)
    late = rng.random(n) < phone.late_p
    steps = steps + late * rng.uniform(20.0, 150.0, n)
    t = np.concatenate([[rng.uniform(0.0, 2.0)], rng.uniform(0.0, 2.0) + np.cumsum(steps)])
    t = t[t <= duration_s]
    # Signal outages of 1-6 minutes.
    n_out = rng.poisson(phone.outage_per_h * duration_s / 3600.0)
    keep = np.ones(t.size, dtype=bool)
    for _ in range(n_out):
        a = rng.uniform(0.0, duration_s)
        keep &= ~((t >= a) & (t < a + rng.uniform(60.0, 360.0)))
    keep[0] = keep[-1] = True
    out: FloatArray = np.round(t[keep], 3)
    return out


def ar1(t: FloatArray, sigma: FloatArray, tau: FloatArray, rng: np.random.Generator) -> FloatArray:
    """A Gauss–Markov sequence at irregular times with per-sample sigma and tau.

    Stationary variance ``sigma**2``; ``phi = exp(-dt / tau)``. When sigma
    changes (entering a canyon) the process adapts over about ``tau``.
    """
    n = t.size
    w = rng.standard_normal(n)
    out = np.empty(n)
    if n == 0:
        return out
    dt = np.diff(t, prepend=t[0])
    phi = np.exp(-dt / tau)
    gain = np.sqrt(1.0 - phi * phi) * sigma
    prev = float(sigma[0] * w[0])
    out[0] = prev
    ph = phi.tolist()
    g = gain.tolist()
    ww = w.tolist()
    for k in range(1, n):
        prev = ph[k] * prev + g[k] * ww[k]
        out[k] = prev
    return out


@dataclass(frozen=True)
class Observed:
    """What the phone reported: times, positions, accuracy, provider, speed."""

    t: FloatArray
    x: FloatArray
    y: FloatArray
    accuracy_m: FloatArray
    provider: NDArray[np.object_]
    speed_mps: FloatArray | None = None


def observe(
    t_true: FloatArray,
    x_true: FloatArray,
    y_true: FloatArray,
    env: IntArray,
    phone: Phone,
    rng: np.random.Generator,
) -> Observed:
    """Sample a true path (one point per second, ``t_true`` from 0) with a phone.

    Parameters
    ----------
    t_true, x_true, y_true : numpy.ndarray
        The true path in local metres at increasing times (seconds).
    env : numpy.ndarray of int
        Environment code of each true point (``OPEN`` … ``VEHICLE``).
    phone : Phone
    rng : numpy.random.Generator

    Returns
    -------
    Observed
    """
    t = sample_times(float(t_true[-1]), phone, rng)
    x0 = np.interp(t, t_true, x_true)
    y0 = np.interp(t, t_true, y_true)
    idx = np.clip(np.searchsorted(t_true, t), 0, t_true.size - 1)
    e = env[idx]
    envs = [ENVIRONMENTS[int(c)] for c in range(5)]
    sigma = np.array([envs[c].sigma_m for c in e]) * phone.sigma_scale
    tau = np.array([envs[c].tau_scale for c in e]) * phone.tau_s
    ex = ar1(t, sigma, tau, rng)
    ey = ar1(t, sigma, tau, rng)
    # Slowly varying bias: a target per run of one environment, approached
    # with a time constant of a few minutes.
    run_start = np.flatnonzero(np.diff(e, prepend=-1) != 0)
    run_id = np.cumsum(np.isin(np.arange(e.size), run_start)) - 1
    lo = np.array([envs[c].bias_m[0] for c in e[run_start]])
    hi = np.array([envs[c].bias_m[1] for c in e[run_start]])
    mag = rng.uniform(lo, hi)
    ang = rng.uniform(0.0, 2 * math.pi, run_start.size)
    bx_target = (mag * np.cos(ang))[run_id]
    by_target = (mag * np.sin(ang))[run_id]
    bx = _smooth_towards(t, bx_target, 150.0)
    by = _smooth_towards(t, by_target, 150.0)
    # Multipath excursions.
    jx = np.zeros(t.size)
    jy = np.zeros(t.size)
    rate = np.array([envs[c].jumps_per_h for c in e])
    hit = rng.random(t.size) < rate * phone.interval_s / 3600.0
    for k in np.flatnonzero(hit):
        size = rng.uniform(12.0, 55.0)
        a = rng.uniform(0.0, 2 * math.pi)
        span = min(int(rng.integers(1, 5)), int(t.size - k))
        decay = np.exp(-np.arange(span, dtype=np.float64) * 0.6)
        jx[k : k + decay.size] += size * math.cos(a) * decay
        jy[k : k + decay.size] += size * math.sin(a) * decay
    x = x0 + ex + bx + jx
    y = y0 + ey + by + jy
    # Reported accuracy: the filter's own 68 % radius estimate, which does not
    # see biases or multipath and under-reports in canyons.
    est = 1.51 * sigma  # 68 % radius of a 2-D Gaussian with that per-axis sigma
    lo_r = np.array([envs[c].acc_ratio[0] for c in e])
    hi_r = np.array([envs[c].acc_ratio[1] for c in e])
    ratio = _smooth_towards(t, rng.uniform(lo_r, hi_r), 60.0)
    acc = np.maximum(est * ratio * rng.lognormal(0.0, 0.12, t.size), 3.0)
    acc = np.asarray(np.round(acc, phone.acc_decimals), dtype=np.float64)
    provider = np.where(e == INDOOR, "network", "fused").astype(object)
    provider[(e != INDOOR) & (rng.random(t.size) < 0.3)] = "gps"
    # Doppler speed of the true motion, when the app records it.
    v_true = np.interp(
        t, t_true, np.hypot(np.gradient(x_true, t_true), np.gradient(y_true, t_true))
    )
    v_err = np.where(e == CANYON, 0.5, np.where(e == INDOOR, 0.4, 0.2))
    speed = np.round(np.abs(v_true + rng.normal(0.0, 1.0, t.size) * v_err), 2)
    if not phone.reports_speed:
        speed = np.full(t.size, np.nan)
    # Fixes the OS never delivered (indoors above all).
    drop_p = np.array([envs[c].drop_p for c in e])
    keep = rng.random(t.size) >= drop_p
    keep[0] = keep[-1] = True
    return Observed(t[keep], x[keep], y[keep], acc[keep], provider[keep], speed[keep])


def _smooth_towards(t: FloatArray, target: FloatArray, tau: float) -> FloatArray:
    """First-order lag of ``target`` with time constant ``tau`` (irregular t)."""
    out = np.empty(t.size)
    if t.size == 0:
        return out
    a = np.exp(-np.diff(t, prepend=t[0]) / tau).tolist()
    tg = target.tolist()
    prev = tg[0]
    out[0] = prev
    for k in range(1, t.size):
        prev = a[k] * prev + (1.0 - a[k]) * tg[k]
        out[k] = prev
    return out
