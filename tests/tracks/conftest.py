"""A tiny synthetic city and track makers for the tracks tests.

Units (EPSG:4490), codes of district 330109:

* grid A ``330109001001001`` = box 120.00–120.01 E, 30.00–30.01 N (about 960 m
  by 1,110 m), split into micro-grids A1 (west half) and A2 (east half);
* grid B ``330109001001002`` = the box east of A;
* special grid S ``330109001001801`` (a school) = a 200 m box inside A1.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.locate import LocateIndex
from gridgeo.tracks._geo import metres_per_degree

A = "330109001001001"
B = "330109001001002"
A1 = "330109001001001001"
A2 = "330109001001001002"
S = "330109001001801"
LON0, LAT0 = 120.0, 30.0
MX, MY = (float(v) for v in metres_per_degree(LAT0 + 0.005))


def city_units() -> gpd.GeoDataFrame:
    rows = [
        ("330109", None, "district", "base", shapely.box(120.0, 30.0, 120.02, 30.01)),
        ("330109001", "330109", "street", "base", shapely.box(120.0, 30.0, 120.02, 30.01)),
        (
            "330109001001",
            "330109001",
            "community",
            "base",
            shapely.box(120.0, 30.0, 120.02, 30.01),
        ),
        (A, "330109001001", "grid", "base", shapely.box(120.0, 30.0, 120.01, 30.01)),
        (B, "330109001001", "grid", "base", shapely.box(120.01, 30.0, 120.02, 30.01)),
        (A1, A, "microgrid", "base", shapely.box(120.0, 30.0, 120.005, 30.01)),
        (A2, A, "microgrid", "base", shapely.box(120.005, 30.0, 120.01, 30.01)),
        (S, "330109001001", "grid", "special", shapely.box(120.001, 30.001, 120.003, 30.003)),
    ]
    return gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "parent_code": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "kind": [r[3] for r in rows],
            "name": [f"unit {r[0]}" for r in rows],
        },
        geometry=[shapely.MultiPolygon([r[4]]) for r in rows],
        crs="EPSG:4490",
    )


@pytest.fixture(scope="session")
def units() -> gpd.GeoDataFrame:
    return city_units()


@pytest.fixture(scope="session")
def index(units: gpd.GeoDataFrame) -> LocateIndex:
    return LocateIndex.build(units)


@pytest.fixture(scope="session")
def base_index(units: gpd.GeoDataFrame) -> LocateIndex:
    return LocateIndex.build(units[units["kind"] == "base"])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261124)


def to_lonlat(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Metres east/north of (120.0, 30.0) to lon/lat."""
    return LON0 + np.asarray(x, dtype=float) / MX, LAT0 + np.asarray(y, dtype=float) / MY


def fixes_frame(
    x: Any,
    y: Any,
    t_s: Any,
    *,
    worker: str = "W1",
    start: str = "2026-10-05 01:00:00",
    accuracy: float = 5.0,
    patrol_key: str | None = None,
) -> pd.DataFrame:
    """A fixes table from metre coordinates and seconds after ``start`` (UTC)."""
    lon, lat = to_lonlat(x, y)
    t = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(np.asarray(t_s, dtype=float), unit="s")
    frame = pd.DataFrame(
        {
            "worker_id": worker,
            "t": t,
            "lon": lon,
            "lat": lat,
            "crs": "wgs84",
            "accuracy_m": float(accuracy),
        }
    )
    if patrol_key is not None:
        frame["patrol_key"] = patrol_key
    return frame


def walk(
    rng: np.random.Generator,
    *,
    start_xy: tuple[float, float] = (300.0, 500.0),
    minutes: float = 40.0,
    interval_s: float = 30.0,
    jitter: float = 0.2,
    speed: float = 1.2,
    noise_m: float = 4.0,
    box: tuple[float, float, float, float] = (20.0, 20.0, 940.0, 1090.0),
    worker: str = "W1",
    start: str = "2026-10-05 01:00:00",
    accuracy: float = 5.0,
) -> pd.DataFrame:
    """An honest-looking patrol: a smooth walk inside ``box`` (metres) with GPS noise."""
    steps = rng.uniform(1 - jitter, 1 + jitter, int(minutes * 60 / interval_s)) * interval_s
    t = np.concatenate([[0.0], np.cumsum(np.round(steps))])
    t = t[t <= minutes * 60]
    x, y = [start_xy[0]], [start_xy[1]]
    heading = rng.uniform(0, 2 * np.pi)
    for dt in np.diff(t):
        heading += rng.normal(0, 0.4)
        nx = x[-1] + speed * dt * np.cos(heading)
        ny = y[-1] + speed * dt * np.sin(heading)
        if not (box[0] <= nx <= box[2] and box[1] <= ny <= box[3]):
            heading += np.pi
            nx = x[-1] + speed * dt * np.cos(heading)
            ny = y[-1] + speed * dt * np.sin(heading)
        x.append(float(np.clip(nx, box[0], box[2])))
        y.append(float(np.clip(ny, box[1], box[3])))
    xs = np.asarray(x) + rng.normal(0, noise_m, len(x))
    ys = np.asarray(y) + rng.normal(0, noise_m, len(y))
    return fixes_frame(xs, ys, t, worker=worker, start=start, accuracy=accuracy)


def route(
    rng: np.random.Generator,
    waypoints: list[tuple[float, float]],
    *,
    speed: float = 1.2,
    interval_s: float = 30.0,
    jitter: float = 0.2,
    noise_m: float = 0.0,
    worker: str = "W1",
    start: str = "2026-10-05 01:00:00",
) -> pd.DataFrame:
    """A generated track: constant speed along straight legs between ``waypoints``."""
    wx = np.array([p[0] for p in waypoints], dtype=float)
    wy = np.array([p[1] for p in waypoints], dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(wx), np.diff(wy)))])
    total_s = cum[-1] / speed
    steps = rng.uniform(1 - jitter, 1 + jitter, int(total_s / interval_s) + 2) * interval_s
    t = np.concatenate([[0.0], np.cumsum(np.round(steps))])
    t = t[t <= total_s]
    s = t * speed
    x = np.interp(s, cum, wx) + rng.normal(0, noise_m, t.size) * (noise_m > 0)
    y = np.interp(s, cum, wy) + rng.normal(0, noise_m, t.size) * (noise_m > 0)
    return fixes_frame(x, y, t, worker=worker, start=start)
