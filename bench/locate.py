"""Benchmark locate: batch and HTTP, each against named baselines in the same run.

Usage::

    python bench/locate.py [--points 1000000] [--duration 10] [--connections 32]

(a) Batch: ``--points`` random points over the sample city's bounding box:
    gridgeo's ``LocateIndex.locate`` vs ``geopandas.sjoin(predicate="intersects")``
    plus the same owner rule vs a set-based PostGIS join (points COPYed into a
    temporary table, ``ST_Covers`` join, ``DISTINCT ON`` with the owner rule).
    All three must agree point for point.
``--scale N`` benchmarks N copies of the sample city side by side (N × 8,495
polygons) instead of one.

(b) HTTP: ``GET /v1/locate`` vs the baseline ``GET /bench/locate-postgis`` (one
    ``ST_Covers`` query per request) served by the same app under uvicorn
    (httptools/uvloop), loaded by ``wrk`` with ``--connections`` keep-alive
    connections on loopback for ``--duration`` seconds each, random points.

A scratch database ``gridgeo_bench`` on the configured server receives the
sample city's boundaries (created and dropped by the run). Needs ``wrk``
(``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from locate_batch import scenario_points, sjoin_owners  # noqa: E402

from gridgeo.locate import LocateIndex  # noqa: E402
from gridgeo.settings import Settings  # noqa: E402
from gridgeo.store import localdb  # noqa: E402
from gridgeo.store.bulk import copy_frame  # noqa: E402
from gridgeo.store.db import database_url, upgrade  # noqa: E402
from gridgeo.store.generations import create_generation, publish  # noqa: E402
from gridgeo.store.units import insert_units, read_units  # noqa: E402
from gridgeo.workflows.samples import load_sample_city  # noqa: E402

POSTGIS_JOIN = """
SELECT DISTINCT ON (p.i) p.i, u.code
FROM bench_points p JOIN grid_units u
  ON u.generation_id = :g AND ST_Covers(u.geom, p.geom)
ORDER BY p.i, (u.kind = 'special') DESC, length(u.code) DESC, u.code
"""

WRK_SCRIPT = """
math.randomseed(7)
request = function()
  local lon = %(minx)f + math.random() * %(dx)f
  local lat = %(miny)f + math.random() * %(dy)f
  return wrk.format("GET", string.format("%(path)s?lon=%%.6f&lat=%%.6f", lon, lat))
end
"""


def tiled_city(scale: int) -> gpd.GeoDataFrame:
    """The sample city, or ``scale`` copies of it side by side (more polygons, same shapes).

    Copy ``k`` is shifted east by ``k`` district widths and its codes start
    with ``330109 + 100 k`` (330209, 330309, …), so every code stays unique.
    """
    units = gpd.read_parquet(ROOT / "data" / "samples" / "units.parquet")
    if scale <= 1:
        return units
    width = units.total_bounds[2] - units.total_bounds[0] + 0.01
    copies = []
    for k in range(scale):
        copy = units.copy()
        prefix = f"{330109 + 100 * k:06d}"
        copy["code"] = prefix + copy["code"].str[6:]
        copy["parent_code"] = copy["parent_code"].map(
            lambda c, p=prefix: None if c is None or pd.isna(c) else p + c[6:]
        )
        copy["geometry"] = copy.geometry.translate(xoff=k * width)
        copies.append(copy)
    return gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=units.crs)


def scratch_database(scale: int = 1) -> str:
    settings = Settings()
    if not settings.database_url:
        localdb.up(settings.home)
    server = make_url(database_url(settings))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS gridgeo_bench WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE gridgeo_bench"))
    admin.dispose()
    url = server.set(database="gridgeo_bench").render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    with Session(engine) as session, session.begin():
        if scale <= 1:
            load_sample_city(session, ROOT / "data" / "samples", events=False, tracks=False)
        else:
            generation = create_generation(session, f"bench-x{scale}")
            insert_units(session, generation.id, tiled_city(scale))
            publish(session, generation)
    engine.dispose()
    return url


def drop_scratch(url: str) -> None:
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS gridgeo_bench WITH (FORCE)"))
    admin.dispose()


def timed(label: str, fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    return result, seconds


def postgis_owners(url: str, generation: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    engine = create_engine(url)
    owners = np.full(len(lon), None, dtype=object)
    with Session(engine) as session, session.begin():
        session.execute(text("CREATE TEMP TABLE bench_points (i int, geom geometry(Point,4490))"))
        from gridgeo.store.bulk import point_ewkb_hex

        frame = pd.DataFrame({"i": np.arange(len(lon)), "geom": point_ewkb_hex(lon, lat)})
        copy_frame(session, "bench_points", frame, ("i", "geom"))
        session.execute(text("CREATE INDEX ON bench_points USING gist (geom)"))
        session.execute(text("ANALYZE bench_points"))
        rows = session.execute(text(POSTGIS_JOIN), {"g": generation}).all()
    engine.dispose()
    for i, code in rows:
        owners[i] = code
    return owners


def batch(url: str, n: int) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        units = read_units(session, 1)
    engine.dispose()
    (index, build_s) = timed("build", LocateIndex.build, units)
    rng = np.random.default_rng(7)
    lon, lat = scenario_points(units, "bbox", n, rng)
    index.locate(lon[:1000], lat[:1000])  # warm-up
    ours, t_ours = timed("gridgeo", index.locate, lon, lat)
    theirs, t_sjoin = timed("sjoin", sjoin_owners, units, lon, lat)
    pg, t_pg = timed("postgis", postgis_owners, url, 1, lon, lat)
    owners = np.asarray(ours.owner, dtype=object)
    assert (owners == theirs).all(), "gridgeo and sjoin disagree"
    assert (owners == pg).all(), "gridgeo and PostGIS disagree"
    print(f"\n(a) batch of {n:,} points over the district bbox "
          f"({len(units):,} units; index built in {build_s:.1f} s, "
          f"{index.memory_bytes() / 1e6:.0f} MB)")
    rows = [("gridgeo LocateIndex", t_ours), ("geopandas.sjoin + owner rule", t_sjoin),
            ("PostGIS set join (ST_Covers)", t_pg)]
    for label, seconds in rows:
        print(f"  {label:32s} {seconds:7.2f} s  {n / seconds / 1e6:6.2f} M points/s")
    print(f"  ratio vs sjoin:   {t_sjoin / t_ours:6.1f}x   (target >= 2x)")
    print(f"  ratio vs PostGIS: {t_pg / t_ours:6.1f}x   (target >= 10x)")
    print("  all three agree point for point")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, path: str, bounds: tuple[float, ...], seconds: int, connections: int
        ) -> dict[str, float]:
    minx, miny, maxx, maxy = bounds
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"minx": minx, "miny": miny, "dx": maxx - minx,
                                   "dy": maxy - miny, "path": path})
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", script.name, url],
        capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(script.name)

    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"),
            "non2xx": float(errors.group(1)) if errors else 0.0}


def http(url: str, seconds: int, connections: int, workers: int) -> None:
    if shutil.which("wrk") is None:
        print("\n(b) HTTP skipped: wrk is not installed (apt-get install wrk)")
        return
    engine = create_engine(url)
    with Session(engine) as session:
        units = read_units(session, 1, level="district")
    engine.dispose()
    bounds = tuple(units.total_bounds)
    port = free_port()
    env = {**os.environ, "GRIDGEO_DATABASE_URL": url, "GRIDGEO_BASELINE_ENDPOINTS": "true"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        env=env, cwd=ROOT,
    )
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/locate?lon=120.27&lat=30.17").is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.5)
        base = f"http://127.0.0.1:{port}"
        wrk(base, "/v1/locate", bounds, 2, connections)  # warm-up
        ours = wrk(base, "/v1/locate", bounds, seconds, connections)
        baseline = wrk(base, "/bench/locate-postgis", bounds, seconds, connections)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\n(b) HTTP single-point GET, {connections} keep-alive connections, {seconds} s each, "
          f"uvicorn --workers {workers}")
    for label, r in (("/v1/locate (in-memory index)", ours),
                     ("/bench/locate-postgis (ST_Covers/request)", baseline)):
        print(f"  {label:42s} {r['rps']:9.0f} req/s  p50 {r['p50']:7.2f} ms  "
              f"p99 {r['p99']:7.2f} ms  non-2xx {r['non2xx']:.0f}")
    print(f"  throughput ratio: {ours['rps'] / baseline['rps']:.1f}x (target >= 3x); "
          f"p99 {ours['p99']:.2f} ms (target <= 10 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--scale", type=int, default=1,
                        help="Copies of the sample city side by side (more polygons).")
    args = parser.parse_args()
    url = scratch_database(args.scale)
    try:
        batch(url, args.points)
        if not args.skip_http:
            http(url, args.duration, args.connections, args.workers)
    finally:
        drop_scratch(url)


if __name__ == "__main__":
    main()
