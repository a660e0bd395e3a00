"""Honest patrols in the sample city's real grids: walks, joint walks, e-bike rounds.

A worker walks (1.0–1.5 m/s) a street-like route inside the grid he is
assigned to (``data/samples/units.parquet`` and ``workers.csv``): legs follow
two perpendicular street directions of the grid, with short pauses at
crossings and household visits of 5–15 minutes, mostly indoors (where the
phone's fixes degrade or stop, see :mod:`.gps`). Workers in large rural
grids may ride an e-bike (4–7 m/s, allowed). Two workers who patrol together
walk the same route at the same time a metre or two apart; each phone has its
own clock and its own error.

Everything works in a local plane in metres (east, north) around a fixed
origin of the district; :meth:`City.to_lonlat` converts back to WGS84.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.signal import lfilter
from shapely.geometry.base import BaseGeometry

from tests.tracks.heldout import gps
from tests.tracks.heldout.gps import FloatArray, IntArray

SAMPLES: Final = Path(__file__).resolve().parents[3] / "data" / "samples"
LON0: Final = 120.27
LAT0: Final = 30.17
MX: Final = 111_320.0 * math.cos(math.radians(LAT0))  # metres per degree of longitude
MY: Final = 110_574.0  # metres per degree of latitude
RURAL_STREETS: Final = ("1", "5")  # 镇 (1xx) and 围垦区/农场 (501, 503) but not 505
URBAN_EXCEPT: Final = ("330109505",)


@dataclass
class Grid:
    """One base grid: code, polygon in local metres, character, roster."""

    code: str
    poly: BaseGeometry
    rural: bool
    density: float
    angle: float
    workers: list[str] = field(default_factory=list)

    @cached_property
    def inner(self) -> BaseGeometry:
        """The polygon shrunk by 10 m: routes may follow a boundary street, where
        GPS error puts some fixes in the neighbouring grid."""
        shrunk = self.poly.buffer(-10.0)
        return shrunk if not shrunk.is_empty and shrunk.area > 0.2 * self.poly.area else self.poly

    @property
    def area_km2(self) -> float:
        return float(self.poly.area) / 1e6

    def random_point(self, rng: np.random.Generator) -> tuple[float, float]:
        """A uniformly random point of :attr:`inner`."""
        x0, y0, x1, y1 = self.inner.bounds
        prepared = self.inner
        shapely.prepare(prepared)
        for _ in range(1000):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if prepared.contains(shapely.Point(x, y)):
                return float(x), float(y)
        c = self.inner.representative_point()
        return float(c.x), float(c.y)

    def street_legs(
        self, a: tuple[float, float], b: tuple[float, float]
    ) -> list[tuple[float, float]] | None:
        """From ``a`` to ``b`` inside the grid: along its two street directions
        when possible, else straight; None when both leave the grid."""
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        dx, dy = b[0] - a[0], b[1] - a[1]
        u = dx * ca + dy * sa  # along the first street direction
        for corner in (
            (a[0] + u * ca, a[1] + u * sa),
            (b[0] - u * ca, b[1] - u * sa),
        ):
            if self.inner.contains(shapely.LineString([a, corner, b])):
                return [corner, b]
        if self.inner.contains(shapely.LineString([a, b])):
            return [b]
        return None

    def reachable(
        self, a: tuple[float, float], rng: np.random.Generator, *, straight: bool = False
    ) -> list[tuple[float, float]]:
        """Legs from ``a`` to a random point reachable without leaving the grid
        (only straight when ``straight``)."""
        for _ in range(80):
            b = self.random_point(rng)
            if straight:
                if self.inner.contains(shapely.LineString([a, b])):
                    return [b]
                continue
            legs = self.street_legs(a, b)
            if legs is not None:
                return legs
        return [self.random_point(rng)]


class City:
    """The sample city's base grids and roster, in local metres."""

    def __init__(self, samples: Path = SAMPLES) -> None:
        units = gpd.read_parquet(samples / "units.parquet")
        self.units = units
        roster = pd.read_csv(samples / "workers.csv", dtype=str)
        self.roster = roster
        grids = units[(units["level"] == "grid") & (units["kind"] == "base")]
        local = shapely.transform(
            grids.geometry.to_numpy(), lambda c: np.column_stack(self.to_xy(c[:, 0], c[:, 1]))
        )
        angles = np.random.default_rng(7_070_707).uniform(0.0, math.pi / 2, len(grids))
        self.grids: dict[str, Grid] = {}
        for code, poly, pop, ang in zip(
            grids["code"], local, grids["population"], angles, strict=True
        ):
            street = code[6:9]
            rural = street.startswith(RURAL_STREETS) and code[:9] not in URBAN_EXCEPT
            area = float(poly.area) / 1e6
            self.grids[code] = Grid(code, poly, rural, float(pop) / max(area, 1e-3), float(ang))
        for worker, grid in zip(roster["worker_id"], roster["grid_code"], strict=True):
            if grid in self.grids:  # full-time workers assigned to a whole grid
                self.grids[grid].workers.append(worker)
        self._tree = shapely.STRtree([g.poly for g in self.grids.values()])
        self._codes = list(self.grids)

    @staticmethod
    def to_xy(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """WGS84 degrees to local metres."""
        return (np.asarray(lon) - LON0) * MX, (np.asarray(lat) - LAT0) * MY

    @staticmethod
    def to_lonlat(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Local metres to WGS84 degrees."""
        return LON0 + np.asarray(x) / MX, LAT0 + np.asarray(y) / MY

    def neighbours(self, code: str) -> list[str]:
        """Base grids sharing a boundary with ``code``."""
        g = self.grids[code]
        hits = self._tree.query(g.poly.buffer(2.0), predicate="intersects")
        return [self._codes[i] for i in hits if self._codes[i] != code]

    def units_for(self, codes: set[str]) -> gpd.GeoDataFrame:
        """The units the product needs to place fixes in ``codes``: ancestors,
        the grids and their micro-grids."""
        keep = set(codes)
        for c in codes:
            keep.update({c[:6], c[:9], c[:12]})
        u = self.units
        mask = u["code"].isin(keep) | (u["parent_code"].isin(codes) & (u["kind"] == "base"))
        out: gpd.GeoDataFrame = u[mask].reset_index(drop=True)
        return out


@dataclass(frozen=True)
class TruePath:
    """A true path sampled each second: time from 0, local metres, environment."""

    t: FloatArray
    x: FloatArray
    y: FloatArray
    env: IntArray

    @property
    def duration_s(self) -> float:
        return float(self.t[-1])


class _Planner:
    """Knots of a piecewise-linear path in time, then sampled at 1 s."""

    def __init__(self, start: tuple[float, float]) -> None:
        self.t = [0.0]
        self.x = [start[0]]
        self.y = [start[1]]
        self.env: list[int] = []

    @property
    def now(self) -> float:
        return self.t[-1]

    @property
    def here(self) -> tuple[float, float]:
        return self.x[-1], self.y[-1]

    def move(self, to: tuple[float, float], speed: float, env: int) -> None:
        d = math.hypot(to[0] - self.x[-1], to[1] - self.y[-1])
        self.t.append(self.t[-1] + max(d / speed, 1.0))
        self.x.append(to[0])
        self.y.append(to[1])
        self.env.append(env)

    def stay(self, seconds: float, env: int, rng: np.random.Generator, wander: float) -> None:
        """Stay near here for ``seconds``, shuffling about within ``wander`` metres."""
        x0, y0 = self.here
        end = self.now + seconds
        while self.now < end - 1.0:
            step = min(rng.uniform(30.0, 120.0), end - self.now)
            self.t.append(self.now + step)
            self.x.append(x0 + rng.uniform(-wander, wander))
            self.y.append(y0 + rng.uniform(-wander, wander))
            self.env.append(env)
        self.t.append(self.now + 1.0)
        self.x.append(x0)
        self.y.append(y0)
        self.env.append(env)

    def path(
        self,
        duration_s: float,
        rng: np.random.Generator | None = None,
        *,
        warp_s: float = 0.0,
        wander_m: float = 0.0,
    ) -> TruePath:
        """Sample each second. A person is no machine: with ``rng``, the pace
        varies (the path is followed ``warp_s`` seconds ahead or behind, a
        Gauss–Markov process with a 40 s correlation time, so the speed varies by
        roughly ``warp_s / 40``) and the position weaves ``wander_m`` around the
        street line (15 s correlation time)."""
        kt = np.asarray(self.t)
        t = np.arange(0.0, min(duration_s, kt[-1]) + 1.0)
        tw = t
        if rng is not None and warp_s > 0:
            tw = np.maximum.accumulate(
                np.clip(t + _ar1_regular(t.size, warp_s, 40.0, rng), 0, None)
            )
        x = np.interp(tw, kt, np.asarray(self.x))
        y = np.interp(tw, kt, np.asarray(self.y))
        if rng is not None and wander_m > 0:
            x = x + _ar1_regular(t.size, wander_m, 15.0, rng)
            y = y + _ar1_regular(t.size, wander_m, 15.0, rng)
        seg = np.clip(np.searchsorted(kt, tw, side="right") - 1, 0, len(self.env) - 1)
        env = np.asarray(self.env, dtype=np.int64)[seg]
        return TruePath(t, x, y, env)


def _ar1_regular(n: int, sigma: float, tau: float, rng: np.random.Generator) -> FloatArray:
    """A stationary Gauss–Markov sequence at 1 s steps."""
    phi = math.exp(-1.0 / tau)
    w = rng.standard_normal(n) * sigma * math.sqrt(1 - phi * phi)
    w[0] = rng.standard_normal() * sigma
    out: FloatArray = np.asarray(lfilter([1.0], [1.0, -phi], w), dtype=np.float64)
    return out


def street_env(grid: Grid, rng: np.random.Generator) -> int:
    """The surroundings of one leg: canyons in dense urban grids, open in rural ones."""
    if grid.rural:
        return int(rng.choice([gps.OPEN, gps.OPEN, gps.SUBURBAN]))
    p_canyon = min(0.75, 0.15 + grid.density / 25_000.0)
    return gps.CANYON if rng.random() < p_canyon else gps.SUBURBAN


def patrol_path(
    grid: Grid,
    rng: np.random.Generator,
    duration_s: float,
    *,
    speed: tuple[float, float] = (1.0, 1.5),
    visit_every_s: tuple[float, float] = (900.0, 2400.0),
    visit_len_s: tuple[float, float] = (300.0, 900.0),
    crossing_pause: float = 0.35,
    env_of_leg: int | None = None,
    start: tuple[float, float] | None = None,
    loop: list[tuple[float, float]] | None = None,
    visit_env: int = gps.INDOOR,
    gait: tuple[float, float] = (4.0, 0.8),
) -> TruePath:
    """A street-like round of ``grid`` with pauses and household visits.

    Parameters
    ----------
    grid : Grid
    rng : numpy.random.Generator
    duration_s : float
    speed : (float, float)
        Range of the speed of each leg (m/s).
    visit_every_s, visit_len_s : (float, float)
        Time between household visits and their length (mostly indoors).
    crossing_pause : float
        Probability of a 5–45 s pause at a street corner.
    env_of_leg : int, optional
        Force the environment of moving legs (``gps.VEHICLE`` for a car).
    start : (float, float), optional
        Start point (default random in the grid).
    loop : list of (float, float), optional
        A habitual round: its points are visited in order, again and again,
        from a random one of them, each within a few metres (either side of
        the street), with an occasional detour to a random point.
    visit_env : int
        Surroundings during a visit (indoors by default).
    gait : (float, float)
        ``warp_s`` and ``wander_m`` of :meth:`_Planner.path`: how unevenly
        the person moves (pace and weaving).
    """
    k = int(rng.integers(len(loop))) if loop else 0
    if start is None:
        start = loop[k] if loop else grid.random_point(rng)
    plan = _Planner(start)
    next_visit = rng.uniform(*visit_every_s)
    while plan.now < duration_s:
        legs = None
        if loop and rng.random() > 0.15:
            k = (k + 1) % len(loop)
            target = (loop[k][0] + rng.uniform(-4.0, 4.0), loop[k][1] + rng.uniform(-4.0, 4.0))
            legs = grid.street_legs(plan.here, target)
            if legs is None:  # not reachable from here: a detour, then try again
                k = (k - 1) % len(loop)
        if legs is None:
            legs = grid.reachable(plan.here, rng)
        v = rng.uniform(*speed)
        for p in legs:
            env = env_of_leg if env_of_leg is not None else street_env(grid, rng)
            plan.move(p, v * rng.uniform(0.9, 1.1), env)
            if rng.random() < crossing_pause:
                plan.stay(rng.uniform(5.0, 45.0), env, rng, 0.5)
        if plan.now >= next_visit:
            length = rng.uniform(*visit_len_s)
            plan.stay(rng.uniform(20.0, 60.0), gps.SUBURBAN, rng, 2.0)  # at the door
            plan.stay(length, visit_env, rng, 4.0)
            next_visit = plan.now + rng.uniform(*visit_every_s)
    return plan.path(duration_s, rng, warp_s=gait[0], wander_m=gait[1])


def walk_path(
    grid: Grid,
    rng: np.random.Generator,
    duration_s: float,
    loop: list[tuple[float, float]] | None = None,
) -> TruePath:
    """An honest walking patrol of 1–4 h (the caller picks the duration).

    With ``loop`` the worker walks his habitual round (see :func:`patrol_path`):
    the same streets as on other days, at other speeds, with other stops and
    other GPS errors — the honest look-alike of a replay.
    """
    return patrol_path(grid, rng, duration_s, loop=loop)


def habitual_loop(grid: Grid, rng: np.random.Generator) -> list[tuple[float, float]]:
    """A worker's habitual round of ``grid``: 4–8 points he walks through in order,
    each reachable from the one before."""
    points = [grid.random_point(rng)]
    for _ in range(int(rng.integers(3, 8))):
        points.append(grid.reachable(points[-1], rng)[-1])
    return points


def ebike_path(grid: Grid, rng: np.random.Generator, duration_s: float) -> TruePath:
    """An honest e-bike round of a large rural grid: 4–7 m/s between stops."""
    return patrol_path(
        grid,
        rng,
        duration_s,
        speed=(4.0, 7.0),
        visit_every_s=(600.0, 1500.0),
        crossing_pause=0.2,
        gait=(5.0, 0.6),
    )


def companion(path: TruePath, rng: np.random.Generator) -> TruePath:
    """The path of a colleague walking alongside: 0.8–2.5 m apart, 0–3 s behind."""
    lag = rng.uniform(0.0, 3.0)
    side = rng.uniform(0.8, 2.5) * rng.choice([-1.0, 1.0])
    x = np.interp(path.t - lag, path.t, path.x)
    y = np.interp(path.t - lag, path.t, path.y)
    vx, vy = np.gradient(x), np.gradient(y)
    norm = np.hypot(vx, vy)
    moving = norm > 0.2
    nx = np.where(moving, -vy / np.where(moving, norm, 1.0), 0.0)
    ny = np.where(moving, vx / np.where(moving, norm, 1.0), 0.0)
    # Keep the side offset smooth: hold the last direction while stopped.
    nx = pd.Series(np.where(moving, nx, np.nan)).ffill().fillna(1.0).to_numpy()
    ny = pd.Series(np.where(moving, ny, np.nan)).ffill().fillna(0.0).to_numpy()
    return TruePath(path.t, x + side * nx, y + side * ny, path.env)


def fixes_frame(
    city: City,
    worker: str,
    start: pd.Timestamp,
    obs: gps.Observed,
    *,
    uploaded_at: pd.Timestamp | None = None,
    mock: bool | None = None,
) -> pd.DataFrame:
    """The fixes a phone uploads: product columns plus the optional phone fields.

    ``provider``, ``speed_mps`` (NaN when not recorded) and ``is_mock``
    (nullable boolean, missing when the app does not report it) are optional
    fields; ``uploaded_at`` is when the server received the batch.
    """
    lon, lat = city.to_lonlat(obs.x, obs.y)
    start = start.round("ms")
    t = start + pd.to_timedelta(np.round(obs.t * 1000.0).astype(np.int64), unit="ms")
    upload = uploaded_at if uploaded_at is not None else t[-1] + pd.Timedelta(minutes=5)
    return pd.DataFrame(
        {
            "worker_id": worker,
            "t": t,
            "lon": lon,
            "lat": lat,
            "crs": "wgs84",
            "accuracy_m": obs.accuracy_m,
            "provider": obs.provider,
            "speed_mps": obs.speed_mps if obs.speed_mps is not None else np.nan,
            "is_mock": pd.array([mock] * len(t), dtype="boolean"),
            "uploaded_at": upload.round("ms"),
        }
    )
