"""A held-out month of patrols with ground truth: honest walks, joint patrols,
e-bike rounds and every cheat kind of issue 15.

:func:`build` makes September 2026 in the sample city's real grids (the
sample city itself is October; September keeps every fix in the past for the
product's validation), seeded, in a few seconds. Each patrol is a row of
:attr:`Heldout.truth`:

=================  ===========================================================
``case_id``        int, unique
``kind``           ``walk``, ``joint``, ``ebike`` (honest) or the cheat kind:
                   ``replay``, ``spoofing``, ``stationary``, ``vehicle``,
                   ``outside``, ``copy``
``honest``         bool
``worker_id``      who uploaded it
``start, end``     first and last fix time (UTC)
``grid_code``      the worker's assigned grid
``other_worker``   replay: whose earlier patrol was replayed; copy: the
                   original's worker; joint: the partner; outside: the grid
                   where most of the time was spent
``source_case``    replay and copy: the case copied
``variant``        how the cheat was made (e.g. ``own/white/drop``); walk:
                   ``habitual`` (the worker's usual round) or ``random``
``param``          replay: fresh noise (m); copy: offset (m); stationary:
                   drift (m); outside: share of time outside
=================  ===========================================================

:func:`replay_sweep` and :func:`copy_sweep` add replays at one fresh-noise
level, or copies at one offset, to the honest patrols of a scenario.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from tests.tracks.heldout import cheats, gps
from tests.tracks.heldout.walks import (
    City,
    Grid,
    companion,
    ebike_path,
    fixes_frame,
    habitual_loop,
    walk_path,
)

SEED: Final = 2_611_015  # not the sample city's seed (20261124)
MONTH: Final = pd.Timestamp("2026-09-01", tz="UTC")
CHEAT_KINDS: Final = ("replay", "spoofing", "stationary", "vehicle", "outside", "copy")
HONEST_KINDS: Final = ("walk", "joint", "ebike")
TRUTH_COLUMNS: Final = (
    "case_id",
    "kind",
    "honest",
    "worker_id",
    "start",
    "end",
    "grid_code",
    "other_worker",
    "source_case",
    "variant",
    "param",
)

_CITY: City | None = None


def city() -> City:
    """The sample city's grids and roster (loaded once per process)."""
    global _CITY
    if _CITY is None:
        _CITY = City()
    return _CITY


@dataclass
class Heldout:
    """A held-out set: uploaded fixes, ground truth, and what the product needs."""

    fixes: pd.DataFrame
    truth: pd.DataFrame
    roster: pd.DataFrame
    units: gpd.GeoDataFrame
    ebike_grids: frozenset[str]
    seed: int
    modes: dict[str, str] = field(default_factory=dict)
    """Travel mode allowed per grid: ``ebike`` in rural grids, ``walk`` elsewhere."""


@dataclass
class _Builder:
    city: City
    rng: np.random.Generator
    frames: list[pd.DataFrame] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    busy: set[tuple[str, int]] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)

    def start_of(self, day: int) -> pd.Timestamp:
        """A start between 08:00 and 15:00 local time (UTC+8) on ``day``."""
        seconds = round(float(self.rng.uniform(0.0, 7 * 3600.0)), 3)
        return MONTH + pd.Timedelta(days=day) + pd.Timedelta(seconds=seconds)

    def free_day(self, workers: tuple[str, ...], lo: int = 0, hi: int = 30) -> int | None:
        days = self.rng.permutation(np.arange(lo, hi))
        for d in days:
            if all((w, int(d)) not in self.busy for w in workers):
                return int(d)
        return None

    def add(self, frame: pd.DataFrame, kind: str, grid: str, **extra: Any) -> int:
        case = len(self.rows)
        worker = str(frame["worker_id"].iloc[0])
        day = int((frame["t"].iloc[0] - MONTH).days)
        for d in range(day, int((frame["t"].iloc[-1] - MONTH).days) + 1):
            self.busy.add((worker, d))
        self.frames.append(frame)
        self.rows.append(
            {
                "case_id": case,
                "kind": kind,
                "honest": kind in HONEST_KINDS,
                "worker_id": worker,
                "start": frame["t"].iloc[0],
                "end": frame["t"].iloc[-1],
                "grid_code": grid,
                "other_worker": extra.get("other_worker"),
                "source_case": extra.get("source_case"),
                "variant": extra.get("variant", ""),
                "param": float(extra.get("param", np.nan)),
            }
        )
        self.codes.add(grid)
        return case

    def observe(self, path: Any, worker: str, start: pd.Timestamp) -> pd.DataFrame:
        phone = gps.random_phone(self.rng)
        obs = gps.observe(path.t, path.x, path.y, path.env, phone, self.rng)
        mock = False if self.rng.random() < 0.5 else None  # half the apps report the flag
        up = start + pd.Timedelta(seconds=float(obs.t[-1]) + self.rng.uniform(60.0, 3600.0))
        frame = fixes_frame(self.city, worker, start, obs, uploaded_at=up, mock=mock)
        if self.rng.random() < 0.3:
            # A batch sent twice after a network error: exact duplicate rows.
            n = max(1, int(len(frame) * self.rng.uniform(0.005, 0.02)))
            a = int(self.rng.integers(0, max(1, len(frame) - n)))
            frame = pd.concat([frame, frame.iloc[a : a + n]]).sort_values("t", kind="stable")
            frame = frame.reset_index(drop=True)
        return frame

    def hours(self, lo: float = 1.0, hi: float = 4.0) -> float:
        return float(self.rng.uniform(lo, hi)) * 3600.0

    def walk(
        self, grid: Grid, worker: str, day: int, loop: list[tuple[float, float]] | None = None
    ) -> int:
        start = self.start_of(day)
        frame = self.observe(walk_path(grid, self.rng, self.hours(), loop), worker, start)
        return self.add(frame, "walk", grid.code, variant="habitual" if loop else "random")

    def frame_of(self, case: int) -> pd.DataFrame:
        return self.frames[case]

    def result(self, seed: int) -> Heldout:
        fixes = pd.concat(self.frames, ignore_index=True)
        truth = pd.DataFrame(self.rows, columns=list(TRUTH_COLUMNS))
        roster = self.city.roster[["worker_id", "grid_code"]].copy()
        units = self.city.units_for(self.codes)
        ebike = frozenset(truth.loc[truth["kind"] == "ebike", "grid_code"])
        modes = {c: "ebike" if self.city.grids[c].rural else "walk" for c in sorted(self.codes)}
        return Heldout(fixes, truth, roster, units, ebike, seed, modes)


def _grid_pools(c: City) -> dict[str, list[Grid]]:
    two = [g for g in c.grids.values() if len(g.workers) >= 2]
    return {
        "urban2": [g for g in two if not g.rural and g.area_km2 >= 0.08],
        "car": [g for g in c.grids.values() if not g.rural and g.area_km2 >= 0.15 and g.workers],
        "rural_large": [g for g in c.grids.values() if g.rural and g.area_km2 >= 2.5 and g.workers],
        "any2": two,
    }


def _cycle(values: tuple[Any, ...], n: int) -> Iterator[Any]:
    for i in range(n):
        yield values[i % len(values)]


def build(
    seed: int = SEED,
    *,
    n_walk: int = 180,
    n_same_day: int = 10,
    n_joint: int = 30,
    n_ebike: int = 30,
    n_cheat: int = 24,
) -> Heldout:
    """The held-out month: honest patrols and ``n_cheat`` cheats of each kind.

    Parameters
    ----------
    seed : int
    n_walk : int
        Honest single walks (the replays and copies take their sources from
        these; the sources stay honest).
    n_same_day : int
        Pairs of colleagues walking the same round of their grid on the same
        day, separately, hours apart (honest look-alikes of a copy).
    n_joint : int
        Joint patrols (two honest patrols each).
    n_ebike : int
        Honest e-bike rounds in large rural grids.
    n_cheat : int
        Cheats of each kind.
    """
    c = city()
    b = _Builder(c, np.random.default_rng(seed))
    rng = b.rng
    pools = _grid_pools(c)

    def pick(pool: str) -> Grid:
        grids = pools[pool]
        return grids[int(rng.integers(len(grids)))]

    # Honest single walks by regular workers (2-5 a month each, in two-worker
    # grids: the sources of replays and copies). Most follow the worker's
    # habitual round, the honest look-alike of a replay.
    walks: list[int] = []
    while len(walks) < n_walk:
        g = pick("urban2") if rng.random() < 0.75 else pick("any2")
        w = g.workers[int(rng.integers(len(g.workers)))]
        loop = habitual_loop(g, rng)
        for _ in range(int(rng.integers(2, 6))):
            day = b.free_day((w,), 0, 18)
            if day is None or len(walks) >= n_walk:
                break
            habitual = rng.random() < 0.7
            walks.append(b.walk(g, w, day, loop if habitual else None))
    # Colleagues walking the grid's usual round on the same day, separately.
    for _ in range(n_same_day):
        g = pick("urban2")
        pair = (g.workers[0], g.workers[1])
        day = b.free_day(pair)
        if day is None:
            continue
        loop = habitual_loop(g, rng)
        first = b.start_of(day)
        second = first + pd.Timedelta(minutes=float(rng.uniform(20.0, 300.0)))
        for w, start, partner in ((pair[0], first, pair[1]), (pair[1], second, pair[0])):
            path = walk_path(g, rng, b.hours(1.0, 3.0), loop)
            frame = b.observe(path, w, start)
            b.add(frame, "walk", g.code, other_worker=partner, variant="same-day")
    # Joint patrols.
    for _ in range(n_joint):
        g = pick("any2")
        pair = (g.workers[0], g.workers[1])
        day = b.free_day(pair)
        if day is None:
            continue
        path = walk_path(g, rng, b.hours())
        other = companion(path, rng)
        start = b.start_of(day)
        b.add(b.observe(path, pair[0], start), "joint", g.code, other_worker=pair[1])
        lag = pd.Timedelta(seconds=float(rng.uniform(-20.0, 20.0)))
        b.add(b.observe(other, pair[1], start + lag), "joint", g.code, other_worker=pair[0])
    # E-bike rounds.
    for _ in range(n_ebike):
        g = pick("rural_large")
        w = g.workers[0]
        day = b.free_day((w,))
        if day is not None:
            frame = b.observe(ebike_path(g, rng, b.hours(1.5, 4.0)), w, b.start_of(day))
            b.add(frame, "ebike", g.code)

    sources = [int(s) for s in rng.permutation(walks)]
    half = len(sources) // 2
    _replays(b, sources[:half], noise=None, limit=n_cheat)
    _copies(b, sources[half:], offsets=None, limit=n_cheat)
    for acc, mock in _cycle(
        (
            ("constant", None),
            ("plausible", None),
            ("constant", True),
            ("plausible", False),
            ("plausible", True),
            ("constant", False),
        ),
        n_cheat,
    ):
        g = pick("urban2")
        w = g.workers[0]
        day = b.free_day((w,))
        if day is None:
            continue
        frame = cheats.spoof(
            c, g, w, b.start_of(day), rng, duration_s=b.hours(1.0, 3.0), accuracy=acc, mock=mock
        )
        b.add(frame, "spoofing", g.code, variant=f"{acc}/mock={mock}")
    for acc in _cycle(("optimistic", "realistic"), n_cheat):
        g = pick("urban2") if rng.random() < 0.7 else pick("rural_large")
        w = g.workers[-1]
        day = b.free_day((w,))
        if day is None:
            continue
        drift = float(rng.uniform(10.0, 30.0))
        start = MONTH + pd.Timedelta(days=day) + pd.Timedelta(minutes=float(rng.uniform(0, 90)))
        frame = cheats.phone_at_home(c, g, w, start, rng, drift_m=drift, accuracy=acc)
        b.add(frame, "stationary", g.code, variant=acc, param=drift)
    for i in range(n_cheat):
        g = pick("car")
        w = g.workers[0]
        day = b.free_day((w,))
        if day is None:
            continue
        parked = i % 2 == 1
        hours = b.hours(0.75, 2.0) if parked else b.hours(0.5, 1.5)
        frame = cheats.drive(c, g, w, b.start_of(day), rng, duration_s=hours, parked=parked)
        b.add(frame, "vehicle", g.code, variant="parked stops" if parked else "driving")
    for _ in range(n_cheat):
        g = pick("urban2")
        near = [c.grids[n] for n in c.neighbours(g.code)]
        w = g.workers[-1]
        day = b.free_day((w,))
        if not near or day is None:
            continue
        there = near[int(rng.integers(len(near)))]
        share = float(rng.uniform(0.65, 0.85))
        frame = cheats.outside(
            c, g, there, w, b.start_of(day), rng, duration_s=b.hours(1.0, 3.0), share=share
        )
        b.codes.add(there.code)
        b.add(frame, "outside", g.code, other_worker=there.code, param=share)
    return b.result(seed)


def _colleague(c: City, case_row: dict[str, Any]) -> str:
    g = c.grids[case_row["grid_code"]]
    others = [w for w in g.workers if w != case_row["worker_id"]]
    return others[0]


def _replays(
    b: _Builder, sources: list[int], noise: float | None, limit: int | None = None
) -> None:
    """Replays of ``sources`` (at most ``limit``); ``noise`` None draws 3–8 m each."""
    rng = b.rng
    made = 0
    for i, src in enumerate(sources):
        if limit is not None and made >= limit:
            break
        row = b.rows[src]
        own = i % 2 == 0
        worker = row["worker_id"] if own else _colleague(b.city, row)
        src_day = int((row["start"] - MONTH).days)
        day = b.free_day((worker,), src_day + 1, src_day + 15)
        if day is None:
            continue
        shift = pd.Timedelta(days=day - src_day) + pd.Timedelta(
            minutes=float(rng.uniform(-90.0, 90.0))
        )
        sigma = float(rng.uniform(3.0, 8.0)) if noise is None else noise
        drop = float(rng.uniform(0.05, 0.30))
        correlated = i % 4 in (1, 2)
        resample = i % 3 == 0
        frame = cheats.replay(
            b.city,
            b.frame_of(src),
            worker,
            shift,
            rng,
            noise_m=sigma,
            drop=drop,
            correlated=correlated,
            resample=resample,
        )
        variant = "/".join(
            [
                "own" if own else "colleague",
                "ar1" if correlated else "white",
                "resample" if resample else "drop",
            ]
        )
        b.add(
            frame,
            "replay",
            row["grid_code"],
            other_worker=row["worker_id"],
            source_case=src,
            variant=variant,
            param=sigma,
        )
        made += 1


def _copies(
    b: _Builder, sources: list[int], offsets: float | None, limit: int | None = None
) -> None:
    """Same-day copies of ``sources`` by a colleague (at most ``limit``);
    ``offsets`` None draws 0–30 m each."""
    rng = b.rng
    made = 0
    for i, src in enumerate(sources):
        if limit is not None and made >= limit:
            break
        row = b.rows[src]
        copier = _colleague(b.city, row)
        day = int((row["start"] - MONTH).days)
        if (copier, day) in b.busy:
            continue
        offset = float(rng.uniform(0.0, 30.0)) if offsets is None else offsets
        shift = 0.0 if i % 3 else float(rng.uniform(1.0, 600.0))
        drop = 0.0 if i % 2 else float(rng.uniform(0.0, 0.05))
        frame = cheats.copy_track(
            b.city, b.frame_of(src), copier, rng, offset_m=offset, time_shift_s=shift, drop=drop
        )
        b.add(
            frame,
            "copy",
            row["grid_code"],
            other_worker=row["worker_id"],
            source_case=src,
            variant=f"shift={shift:.0f}s/drop={drop:.2f}",
            param=offset,
        )
        made += 1


def _honest_base(seed: int, n_walk: int) -> tuple[_Builder, list[int]]:
    """``n_walk`` source walks on habitual rounds, and for half of their workers
    another walk of the same round on another day (honest look-alikes)."""
    c = city()
    b = _Builder(c, np.random.default_rng(seed))
    pools = _grid_pools(c)
    sources: list[int] = []
    for i in range(n_walk):
        g = pools["urban2"][int(b.rng.integers(len(pools["urban2"])))]
        w = g.workers[int(b.rng.integers(len(g.workers)))]
        loop = habitual_loop(g, b.rng)
        day = b.free_day((w,), 0, 15)
        if day is None:
            continue
        sources.append(b.walk(g, w, day, loop))
        again = b.free_day((w,), 0, 30)
        if i % 2 == 0 and again is not None:
            b.walk(g, w, again, loop)
    return b, sources


def replay_sweep(noise_m: float, *, n: int = 30, seed: int = SEED + 1) -> Heldout:
    """``n`` honest walks and one replay of each with fresh noise ``noise_m``."""
    b, sources = _honest_base(seed, n)
    _replays(b, sources, noise=noise_m)
    return b.result(seed)


def copy_sweep(offset_m: float, *, n: int = 30, seed: int = SEED + 2) -> Heldout:
    """``n`` honest walks and a same-day copy of each at offset ``offset_m``."""
    b, sources = _honest_base(seed, n)
    _copies(b, sources, offsets=offset_m)
    return b.result(seed)
