"""A small synthetic month of patrols with realistic GPS error and planted cheats.

Honest patrols walk (urban grids) or ride e-bikes (large rural grids) along a
street lattice, with pauses, indoor dropouts and errors from
:mod:`gridgeo.samples.gps_error`; some are joint patrols of two workers (one
true path, two phones). Cheats are made the way a worker would make them:
near-replays of an earlier patrol with fresh noise and dropped fixes, copies of
a colleague's same-day track with an offset, spoofing-app tracks, car rides,
phones left at home, each recorded in ``truth``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridgeo.samples.gps_error import ENVIRONMENTS, draw_errors, indoor_gaps, sample_times
from gridgeo.tracks._geo import metres_per_degree

LON0, LAT0 = 120.0, 30.0
MX, MY = (float(v) for v in metres_per_degree(LAT0))
DAY0 = pd.Timestamp("2026-10-05 00:30:00", tz="UTC")


@dataclass
class Grid:
    code: str
    x0: float
    y0: float
    size: float
    block: float
    env: str
    mode: str  # walk / ebike


@dataclass
class Month:
    frames: list[pd.DataFrame] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    honest: list[str] = field(default_factory=list)  # patrol keys
    joint: list[tuple[str, str]] = field(default_factory=list)  # honest pairs walking together

    def fixes(self) -> pd.DataFrame:
        f = pd.concat(self.frames, ignore_index=True)
        return f.sort_values(["worker_id", "t"], kind="stable").reset_index(drop=True)


def street_path(
    rng: np.random.Generator, g: Grid, length_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a walk along the grid's street lattice, about ``length_m`` long."""
    n = int(g.size // g.block)
    i, j = int(rng.integers(0, n + 1)), int(rng.integers(0, n + 1))
    d = int(rng.integers(4))
    moves = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    xs, ys = [i], [j]
    total = 0.0
    while total < length_m:
        r = rng.random()
        d = d if r < 0.5 else (d + (1 if r < 0.75 else 3)) % 4
        di, dj = moves[d]
        if not (0 <= i + di <= n and 0 <= j + dj <= n):
            d = (d + 2) % 4
            di, dj = moves[d]
        i, j = i + di, j + dj
        xs.append(i)
        ys.append(j)
        total += g.block
    return g.x0 + g.block * np.asarray(xs, float), g.y0 + g.block * np.asarray(ys, float)


def motion(
    rng: np.random.Generator,
    vx: np.ndarray,
    vy: np.ndarray,
    t: np.ndarray,
    speed: float,
    *,
    pauses: int = 2,
    vary: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """True positions at times ``t`` moving along vertices at a varying speed with pauses."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(vx), np.diff(vy)))])
    dur = float(t[-1]) if t.size else 0.0
    moving = t.astype(float).copy()
    for _ in range(pauses):
        if rng.random() < 0.6:
            ps, pl = rng.uniform(0.1, 0.9) * dur, rng.uniform(60, 300)
            moving -= np.clip(t - ps, 0.0, pl)
    om = 2 * np.pi / rng.uniform(200, 600)
    ph = rng.uniform(0, 2 * np.pi)
    s = speed * (moving + vary / om * (np.cos(ph) - np.cos(om * moving + ph)))
    s = np.clip(s, 0.0, cum[-1])
    return np.interp(s, cum, vx), np.interp(s, cum, vy)


def to_frame(
    worker: str, start: pd.Timestamp, t: np.ndarray, x: np.ndarray, y: np.ndarray, acc: np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "worker_id": worker,
            "t": start.floor("s") + pd.to_timedelta(np.round(t), unit="s"),
            "lon": np.round(LON0 + x / MX, 6),
            "lat": np.round(LAT0 + y / MY, 6),
            "crs": "wgs84",
            "accuracy_m": acc.astype(float),
        }
    )


def phone(
    rng: np.random.Generator,
    env: str,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    dropouts: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    g = np.zeros(t.size, dtype=np.int64)
    keep = (
        indoor_gaps(rng, g, t, np.array([ENVIRONMENTS[env].indoor_per_hour]))
        if dropouts
        else np.ones(t.size, bool)
    )
    err = draw_errors(rng, t, g, [ENVIRONMENTS[env]])
    return t[keep], (x + err.ex)[keep], (y + err.ey)[keep], err.accuracy_m[keep]


def honest_patrol(
    rng: np.random.Generator,
    g: Grid,
    worker: str,
    start: pd.Timestamp,
    *,
    minutes: float | None = None,
    interval: float | None = None,
    partner: str | None = None,
) -> list[pd.DataFrame]:
    dur = 60 * (minutes if minutes is not None else rng.uniform(25, 60))
    speed = rng.uniform(1.0, 1.5) if g.mode == "walk" else rng.uniform(3.5, 6.0)
    vx, vy = street_path(rng, g, speed * dur * 1.3 + g.block)
    td = np.arange(0.0, dur + 1.0)
    dx, dy = motion(rng, vx, vy, td, speed)
    out = []
    for w in [worker] + ([partner] if partner else []):
        iv = interval if interval is not None else float(rng.choice([5, 10, 15, 30, 60]))
        _, t = sample_times(rng, np.array([dur]), np.array([iv]))
        tx, ty = np.interp(t, td, dx), np.interp(t, td, dy)
        if w != worker:  # walking side by side, a metre or two apart
            tx, ty = tx + rng.normal(0, 1.0), ty + rng.normal(0, 1.0)
        tt, x, y, acc = phone(rng, g.env, t, tx, ty)
        out.append(to_frame(w, start, tt, x, y, acc))
    return out


def key_of(frame: pd.DataFrame) -> str:
    t0 = frame["t"].min()
    return f"{frame['worker_id'].iloc[0]}@{t0.strftime('%Y%m%dT%H%M%SZ')}"


def grids() -> list[Grid]:
    out = []
    for k in range(6):  # urban walking grids, 600 m, 100 m blocks
        out.append(Grid(f"U{k}", 700.0 * k, 0.0, 600.0, 100.0, "urban", "walk"))
    for k in range(3):  # large rural grids, 3 km, 500 m lanes
        out.append(Grid(f"R{k}", 3500.0 * k, 5000.0, 3000.0, 500.0, "rural", "ebike"))
    return out


def honest_month(rng: np.random.Generator, days: int = 20) -> tuple[Month, dict[str, Grid]]:
    """Two workers per grid patrolling most working days; some joint patrols."""
    m = Month()
    workers: dict[str, Grid] = {}
    for g in grids():
        a, b = f"{g.code}a", f"{g.code}b"
        workers[a] = workers[b] = g
        for d in range(days):
            day = DAY0 + pd.Timedelta(days=d)
            if rng.random() < 0.15:  # joint patrol
                frames = honest_patrol(
                    rng, g, a, day + pd.Timedelta(minutes=rng.uniform(0, 60)), partner=b
                )
                m.joint.append((key_of(frames[0]), key_of(frames[1])))
            else:
                frames = []
                for w in (a, b):
                    if rng.random() < 0.85:
                        start = day + pd.Timedelta(minutes=rng.uniform(0, 300))
                        frames += honest_patrol(rng, g, w, start)
            for f in frames:
                m.frames.append(f)
                m.honest.append(key_of(f))
    return m, workers


def plant_cheats(
    rng: np.random.Generator,
    m: Month,
    workers: dict[str, Grid],
    *,
    per_kind: int = 10,
    replay_noise: tuple[float, float] = (0.0, 10.0),
    copy_offset: tuple[float, float] = (0.0, 30.0),
    kinds: tuple[str, ...] = ("replay", "copy", "spoofing", "vehicle", "stationary"),
) -> None:
    """Append cheats of each kind to ``m`` (later days than the honest month)."""
    honest = list(m.frames)
    names = sorted(workers)
    day = DAY0 + pd.Timedelta(days=40)

    def later(k: int) -> pd.Timestamp:
        return day + pd.Timedelta(days=k // 3, hours=float(rng.uniform(0, 6)))

    for k in range(
        per_kind if "replay" in kinds else 0
    ):  # replays: own or a colleague's earlier patrol
        src = honest[int(rng.integers(len(honest)))]
        w = (
            str(src["worker_id"].iloc[0])
            if rng.random() < 0.5
            else names[int(rng.integers(len(names)))]
        )
        keep = rng.random(len(src)) > rng.uniform(0.0, 0.3)
        f = src[keep].copy()
        s = rng.uniform(*replay_noise)
        x = (f["lon"].to_numpy() - LON0) * MX + rng.normal(0, s / np.sqrt(2), len(f))
        y = (f["lat"].to_numpy() - LAT0) * MY + rng.normal(0, s / np.sqrt(2), len(f))
        t = (f["t"] - f["t"].iloc[0]).dt.total_seconds().to_numpy()
        fr = to_frame(w, later(k), t, x, y, f["accuracy_m"].to_numpy())
        m.frames.append(fr)
        m.truth.append(
            {
                "kind": "replay",
                "key": key_of(fr),
                "worker_id": w,
                "noise_m": s,
                "source_key": key_of(src),
            }
        )
    for k in range(per_kind if "copy" in kinds else 0):  # copies of a colleague's same-day patrol
        g = list(workers.values())[int(rng.integers(len(workers)))]
        a, b = f"{g.code}a", f"{g.code}b"
        start = day + pd.Timedelta(days=10 + k, hours=float(rng.uniform(0, 6)))
        orig = honest_patrol(rng, g, a, start)[0]
        off = rng.uniform(*copy_offset)
        th = rng.uniform(0, 2 * np.pi)
        x = (orig["lon"].to_numpy() - LON0) * MX + off * np.cos(th)
        y = (orig["lat"].to_numpy() - LAT0) * MY + off * np.sin(th)
        if rng.random() < 0.5:
            x = x + rng.normal(0, 1.5, x.size)
            y = y + rng.normal(0, 1.5, y.size)
        t = (orig["t"] - orig["t"].iloc[0]).dt.total_seconds().to_numpy()
        cp = to_frame(
            b,
            orig["t"].iloc[0] + pd.Timedelta(seconds=float(rng.integers(0, 600))),
            t,
            x,
            y,
            orig["accuracy_m"].to_numpy(),
        )
        m.frames += [orig, cp]
        m.honest.append(key_of(orig))
        m.truth.append(
            {
                "kind": "copy",
                "key": key_of(cp),
                "worker_id": b,
                "offset_m": off,
                "original_worker_id": a,
                "original_key": key_of(orig),
            }
        )
    for k in range(
        per_kind if "spoofing" in kinds else 0
    ):  # spoofing app: straight legs, constant speed, white noise
        w = names[int(rng.integers(len(names)))]
        g = workers[w]
        speed = 1.3 if g.mode == "walk" else 4.5
        dur = rng.uniform(30, 50) * 60
        vx, vy = street_path(rng, g, speed * dur + g.block)
        _, t = sample_times(rng, np.array([dur]), np.array([float(rng.choice([10, 15, 30]))]))
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(vx), np.diff(vy)))])
        s = np.clip(speed * t, 0, cum[-1])
        x = np.interp(s, cum, vx) + rng.normal(0, 5 / np.sqrt(2), t.size)
        y = np.interp(s, cum, vy) + rng.normal(0, 5 / np.sqrt(2), t.size)
        acc = np.full(t.size, 5.0) if rng.random() < 0.5 else np.round(rng.uniform(3, 12, t.size))
        fr = to_frame(w, later(k) + pd.Timedelta(days=20), t, x, y, acc)
        m.frames.append(fr)
        m.truth.append({"kind": "spoofing", "key": key_of(fr), "worker_id": w})
    urban = [w for w in names if workers[w].mode == "walk"]
    for k in range(per_kind if "vehicle" in kinds else 0):  # driven by car instead of walked
        w = urban[int(rng.integers(len(urban)))]
        g = workers[w]
        dur = rng.uniform(25, 40) * 60
        speed = rng.uniform(8.0, 14.0)
        vx, vy = street_path(rng, g, speed * dur * 1.2)
        _, t = sample_times(rng, np.array([dur]), np.array([float(rng.choice([10, 30, 60]))]))
        tx, ty = motion(rng, vx, vy, t, speed, pauses=3, vary=0.3)
        tt, x, y, acc = phone(rng, g.env, t, tx, ty)
        fr = to_frame(w, later(k) + pd.Timedelta(days=30), tt, x, y, acc)
        m.frames.append(fr)
        m.truth.append({"kind": "vehicle", "key": key_of(fr), "worker_id": w})
    for k in range(
        per_kind if "stationary" in kinds else 0
    ):  # phone left at home, drifting, optimistic accuracy
        w = names[int(rng.integers(len(names)))]
        g = workers[w]
        dur = rng.uniform(1, 8) * 3600
        _, t = sample_times(rng, np.array([dur]), np.array([float(rng.choice([15, 30, 60]))]))
        drift = rng.uniform(10, 30) / 1.18
        gg = np.zeros(t.size, dtype=np.int64)
        from gridgeo.samples.gps_error import _ar1

        tau = rng.uniform(60, 300)
        x = g.x0 + 300 + drift * _ar1(rng, gg, t, np.full(t.size, tau))
        y = g.y0 + 300 + drift * _ar1(rng, gg, t, np.full(t.size, tau))
        acc = np.full(t.size, 5.0) if rng.random() < 0.5 else np.round(rng.uniform(8, 20, t.size))
        fr = to_frame(w, later(k) + pd.Timedelta(days=45), t, x, y, acc)
        m.frames.append(fr)
        m.truth.append({"kind": "stationary", "key": key_of(fr), "worker_id": w})


def modes(workers: dict[str, Grid]) -> dict[str, str]:
    return {w: g.mode for w, g in workers.items()}
