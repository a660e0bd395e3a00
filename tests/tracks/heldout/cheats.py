"""Cheats made the way a worker would make them, one function per kind of issue 15.

Each function returns the fixes a cheating worker would upload (the columns
of :func:`.walks.fixes_frame`). They never look at the product's detectors:
they follow what the tools at hand do (a GPX editor, a "fake GPS" app, a
phone in a drawer, a car) and what a worker would tweak to escape an exact
comparison.

* :func:`replay` — an earlier track (own or a colleague's) shifted by days,
  fresh noise (white or correlated), 5–30 % of fixes dropped or resampled
  onto a new clock;
* :func:`spoof` — a spoofing app's route mode: straight segments between
  waypoints at a constant walking speed, 5 m white noise, irregular
  sampling, constant or plausible accuracy, with or without a mock flag;
* :func:`phone_at_home` — 8 h of a phone lying at home, its fixes drifting
  10–30 m (correlated), accuracy an optimistic 5 m or realistic;
* :func:`drive` — the grid's streets driven at ~30–50 km/h instead of walked;
* :func:`outside` — 65–85 % of the time in a neighbouring grid;
* :func:`copy_track` — a colleague's same-day track, shifted by a constant
  offset and uploaded later under the copier's name.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from shapely.ops import nearest_points

from tests.tracks.heldout import gps
from tests.tracks.heldout.walks import City, Grid, TruePath, _Planner, fixes_frame, patrol_path


def _xy(city: City, frame: pd.DataFrame) -> tuple[gps.FloatArray, gps.FloatArray]:
    return city.to_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))


def replay(
    city: City,
    source: pd.DataFrame,
    worker: str,
    shift: pd.Timedelta,
    rng: np.random.Generator,
    *,
    noise_m: float,
    drop: float,
    correlated: bool,
    resample: bool,
) -> pd.DataFrame:
    """Replay ``source`` (an earlier patrol's fixes) as ``worker``'s, ``shift`` later.

    Parameters
    ----------
    city : City
    source : pandas.DataFrame
        The earlier patrol's uploaded fixes.
    worker : str
        Who uploads the replay (the source's worker, or a colleague).
    shift : pandas.Timedelta
        Added to every time (days, plus a few minutes of the day).
    noise_m : float
        Per-axis standard deviation of the fresh noise added to every fix.
    drop : float
        Share of fixes removed (0.05–0.3).
    correlated : bool
        Fresh noise as a Gauss–Markov process (tau 20–90 s) instead of white.
    resample : bool
        Interpolate the track onto a new jittered clock instead of only
        dropping fixes.
    """
    x, y = _xy(city, source)
    t = (source["t"] - source["t"].iloc[0]).dt.total_seconds().to_numpy()
    acc = source["accuracy_m"].to_numpy(float)
    if resample:
        step = float(np.median(np.diff(t))) * rng.uniform(0.8, 1.6)
        phone = gps.random_phone(rng, interval_s=step)
        nt = gps.sample_times(float(t[-1]), phone, rng)
        x, y = np.interp(nt, t, x), np.interp(nt, t, y)
        acc = np.round(np.interp(nt, t, acc))
        t = nt
    keep = rng.random(t.size) >= drop
    keep[0] = keep[-1] = True
    t, x, y, acc = t[keep], x[keep], y[keep], acc[keep]
    if noise_m > 0:
        if correlated:
            tau = np.full(t.size, rng.uniform(20.0, 90.0))
            sig = np.full(t.size, noise_m)
            x = x + gps.ar1(t, sig, tau, rng)
            y = y + gps.ar1(t, sig, tau, rng)
        else:
            x = x + rng.normal(0.0, noise_m, t.size)
            y = y + rng.normal(0.0, noise_m, t.size)
    start = source["t"].iloc[0] + shift
    obs = gps.Observed(t, x, y, acc, np.full(t.size, "fused", dtype=object))
    return fixes_frame(city, worker, start, obs)


def spoof(
    city: City,
    grid: Grid,
    worker: str,
    start: pd.Timestamp,
    rng: np.random.Generator,
    *,
    duration_s: float,
    accuracy: str,
    mock: bool | None,
) -> pd.DataFrame:
    """A spoofing app's route: constant speed between waypoints, white noise.

    Parameters
    ----------
    accuracy : {"constant", "plausible"}
        The app reports one fixed value (3, 5 or 10 m), or draws a plausible
        value (4–15 m, rounded) for every fix.
    mock : bool or None
        The mock-location flag as reported (None: the app does not report it;
        False: a rooted phone hides it).
    """
    plan = _Planner(grid.random_point(rng))
    v = rng.uniform(1.05, 1.45)
    while plan.now < duration_s:
        plan.move(grid.reachable(plan.here, rng, straight=True)[0], v, gps.OPEN)
    path = plan.path(duration_s)
    phone = gps.random_phone(rng)
    t = gps.sample_times(path.duration_s, phone, rng)
    x = np.interp(t, path.t, path.x) + rng.normal(0.0, 5.0, t.size)
    y = np.interp(t, path.t, path.y) + rng.normal(0.0, 5.0, t.size)
    if accuracy == "constant":
        acc = np.full(t.size, float(rng.choice([3.0, 5.0, 10.0])))
    else:
        acc = np.round(rng.uniform(4.0, 15.0, t.size))
    # Route-mode apps that fill in the speed report the set speed; others none.
    speed = np.full(t.size, round(v, 2) if rng.random() < 0.5 else np.nan)
    obs = gps.Observed(t, x, y, acc, np.full(t.size, "gps", dtype=object), speed)
    return fixes_frame(city, worker, start, obs, mock=mock)


def phone_at_home(
    city: City,
    grid: Grid,
    worker: str,
    start: pd.Timestamp,
    rng: np.random.Generator,
    *,
    drift_m: float,
    accuracy: str,
    hours: float = 8.0,
) -> pd.DataFrame:
    """A phone left at home (in the grid) reporting a patrol for ``hours``.

    Parameters
    ----------
    drift_m : float
        Per-axis standard deviation of the correlated drift (10–30 m),
        correlation time 3–15 min, on top of a little white noise.
    accuracy : {"optimistic", "realistic"}
        A constant 5 m, or indoor-like values that follow the drift.
    """
    home = grid.random_point(rng)
    phone = gps.random_phone(rng, interval_s=float(rng.choice([10.0, 15.0, 30.0, 60.0])))
    t = gps.sample_times(hours * 3600.0, phone, rng)
    tau = np.full(t.size, rng.uniform(180.0, 900.0))
    sig = np.full(t.size, drift_m)
    x = home[0] + gps.ar1(t, sig, tau, rng) + rng.normal(0.0, 1.5, t.size)
    y = home[1] + gps.ar1(t, sig, tau, rng) + rng.normal(0.0, 1.5, t.size)
    if accuracy == "optimistic":
        acc = np.full(t.size, 5.0)
    else:
        acc = np.round(
            np.clip(drift_m * rng.uniform(0.6, 1.2) * rng.lognormal(0, 0.2, t.size), 8.0, 45.0)
        )
    provider = np.where(rng.random(t.size) < 0.6, "network", "fused").astype(object)
    speed: gps.FloatArray | None = None
    if phone.reports_speed:
        speed = np.asarray(np.round(np.abs(rng.normal(0.0, 0.3, t.size)), 2), dtype=np.float64)
    return fixes_frame(city, worker, start, gps.Observed(t, x, y, acc, provider, speed))


def drive(
    city: City,
    grid: Grid,
    worker: str,
    start: pd.Timestamp,
    rng: np.random.Generator,
    *,
    duration_s: float,
    parked: bool = False,
) -> pd.DataFrame:
    """The grid's streets driven at 30–50 km/h (stops at lights) instead of walked.

    With ``parked`` the driver also parks for 3–10 minutes every 10–20
    minutes of driving (sitting in the car, as if visiting a household), which
    brings the patrol's average speed down.
    """
    path = patrol_path(
        grid,
        rng,
        duration_s,
        speed=(30 / 3.6, 50 / 3.6),
        visit_every_s=(600.0, 1200.0) if parked else (1e9, 1e9),
        visit_len_s=(180.0, 600.0),
        crossing_pause=0.4,
        env_of_leg=gps.VEHICLE,
        visit_env=gps.VEHICLE,
        gait=(8.0, 0.3),
    )
    phone = gps.random_phone(rng)
    obs = gps.observe(path.t, path.x, path.y, path.env, phone, rng)
    return fixes_frame(city, worker, start, obs)


def outside(
    city: City,
    grid: Grid,
    other: Grid,
    worker: str,
    start: pd.Timestamp,
    rng: np.random.Generator,
    *,
    duration_s: float,
    share: float,
) -> pd.DataFrame:
    """A walk spending ``share`` (0.65–0.85) of the time in the neighbouring ``other``.

    The worker starts in his own grid, crosses the shared boundary and
    patrols (or shops, or works elsewhere) in the other grid.
    """
    own_s = duration_s * (1.0 - share)
    first = patrol_path(grid, rng, own_s, visit_every_s=(1e9, 1e9))
    # Cross into the other grid at the point of it nearest to where we are.
    here = shapely.Point(first.x[-1], first.y[-1])
    entry = nearest_points(other.inner, here)[0]
    second = patrol_path(other, rng, duration_s - own_s, start=(float(entry.x), float(entry.y)))
    gap = math.hypot(entry.x - here.x, entry.y - here.y) / 1.3
    t2 = second.t + first.t[-1] + gap + 1.0
    path = TruePath(
        np.concatenate([first.t, t2]),
        np.concatenate([first.x, second.x]),
        np.concatenate([first.y, second.y]),
        np.concatenate([first.env, second.env]),
    )
    obs = gps.observe(path.t, path.x, path.y, path.env, gps.random_phone(rng), rng)
    return fixes_frame(city, worker, start, obs)


def copy_track(
    city: City,
    original: pd.DataFrame,
    copier: str,
    rng: np.random.Generator,
    *,
    offset_m: float,
    time_shift_s: float = 0.0,
    drop: float = 0.0,
) -> pd.DataFrame:
    """A colleague's same-day track copied under ``copier``'s name.

    Every fix is moved by the same ``offset_m`` in one random direction
    (the copier nudges the file so that it does not look identical),
    optionally shifted by a few seconds or minutes and thinned; it is
    uploaded 1–20 h after the original.
    """
    x, y = _xy(city, original)
    a = rng.uniform(0.0, 2 * math.pi)
    x = x + offset_m * math.cos(a)
    y = y + offset_m * math.sin(a)
    keep = rng.random(len(original)) >= drop
    keep[0] = keep[-1] = True
    t0 = original["t"].iloc[0]
    t = (original["t"] - t0).dt.total_seconds().to_numpy()[keep]
    obs = gps.Observed(
        t,
        x[keep],
        y[keep],
        original["accuracy_m"].to_numpy(float)[keep],
        original["provider"].to_numpy(object)[keep],
        original["speed_mps"].to_numpy(float)[keep],
    )
    uploaded = original["uploaded_at"].iloc[0] + pd.Timedelta(hours=float(rng.uniform(1.0, 20.0)))
    start = t0 + pd.Timedelta(seconds=time_shift_s)
    return fixes_frame(city, copier, start, obs, uploaded_at=uploaded)
