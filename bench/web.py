"""Benchmark the web/GIS conventions, each against a named baseline in the same run.

Usage::

    python bench/web.py [--tiles 64]

(a) gzip: bytes of ``/v1/grids?level=microgrid&limit=10000`` (every
    micro-grid in one page) with ``Accept-Encoding: gzip`` vs the identity
    body (baseline).
(b) Vector tiles: ``--tiles`` zoom-14 tiles around the city centre served
    from the per-generation cache vs the same tiles rendered by PostGIS
    ``ST_AsMVT`` on the first request (baseline).
(c) GDAL: ``ogr2ogr`` of the ``microgrids`` collection through the OAPIF
    driver (GDAL 3.6 asks for 10-feature pages and follows ``next`` links)
    vs ``ogr2ogr`` of the single-page
    ``/v1/grids?level=microgrid&limit=10000`` GeoJSON (baseline); both must
    copy every micro-grid.

A scratch database ``gridgeo_bench_web`` on the configured server receives
the sample city's boundaries (created and dropped by the run). Needs
``gdal-bin``.
"""

from __future__ import annotations

import argparse
import math
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.app import create_app
from gridgeo.settings import Settings
from gridgeo.store import localdb
from gridgeo.store.db import database_url, upgrade
from gridgeo.workflows.samples import load_sample_city

ROOT = Path(__file__).resolve().parents[1]
NAME = "gridgeo_bench_web"


def scratch_database() -> str:
    settings = Settings()
    if not settings.database_url:
        localdb.up(settings.home)
    server = make_url(database_url(settings))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {NAME}"))
    admin.dispose()
    url = server.set(database=NAME).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    with Session(engine) as session, session.begin():
        load_sample_city(session, ROOT / "data" / "samples", events=False, tracks=False)
    engine.dispose()
    return url


def drop_scratch(url: str) -> None:
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
    admin.dispose()


def serve(url: str) -> tuple[str, uvicorn.Server, threading.Thread]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(database_url=url, index_refresh_seconds=3600)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int(
        (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    )


def gzip_sizes(base: str) -> None:
    path = "/v1/grids?level=microgrid&limit=10000"
    with httpx.Client(base_url=base, timeout=120) as http:
        plain = http.get(path, headers={"Accept-Encoding": "identity"})
        packed = http.stream("GET", path, headers={"Accept-Encoding": "gzip"})
        with packed as response:
            wire = sum(len(chunk) for chunk in response.iter_raw())
    size, n = len(plain.content), plain.json()["numberReturned"]
    print(
        f"(a) {n} micro-grids: identity {size / 1e6:.2f} MB (baseline), "
        f"gzip {wire / 1e6:.2f} MB on the wire: ratio {size / wire:.1f}x"
    )


def tiles(base: str, count: int) -> None:
    x0, y0 = tile_of(120.27, 30.16, 14)
    side = int(math.sqrt(count))
    addresses = [(x0 + i, y0 + j) for i in range(side) for j in range(side)]
    with httpx.Client(base_url=base, timeout=120) as http:
        start = time.perf_counter()
        sizes = [len(http.get(f"/tiles/14/{x}/{y}.mvt").content) for x, y in addresses]
        cold = time.perf_counter() - start
        start = time.perf_counter()
        for x, y in addresses:
            http.get(f"/tiles/14/{x}/{y}.mvt")
        warm = time.perf_counter() - start
    n = len(addresses)
    print(
        f"(b) {n} z14 tiles ({sum(sizes) / n / 1e3:.1f} kB mean): ST_AsMVT on first request "
        f"{cold / n * 1e3:.1f} ms/tile (baseline), cached {warm / n * 1e3:.1f} ms/tile: "
        f"ratio {cold / warm:.1f}x"
    )


def gdal_copy(base: str, url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        expected = conn.execute(
            text("SELECT count(*) FROM grid_units WHERE level = 'microgrid'")
        ).scalar_one()
    engine.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        timings = {}
        for label, source, layer in (
            ("oapif", f"OAPIF:{base}", "microgrids"),
            ("geojson", f"{base}/v1/grids?level=microgrid&limit=10000", None),
        ):
            out = Path(tmp) / f"{label}.gpkg"
            args = ["ogr2ogr", "-f", "GPKG", str(out), source] + ([layer] if layer else [])
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            timings[label] = time.perf_counter() - start
            info = subprocess.run(
                ["ogrinfo", "-so", "-al", "-ro", str(out)], check=True, capture_output=True
            ).stdout.decode()
            got = int(info.split("Feature Count: ")[1].split()[0])
            assert got == expected, (label, got, expected)
    print(
        f"(c) ogr2ogr of {expected} micro-grids: one GeoJSON page {timings['geojson']:.1f} s "
        f"(baseline), OAPIF in GDAL's default pages {timings['oapif']:.1f} s: "
        f"ratio {timings['oapif'] / timings['geojson']:.1f}x the time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=64)
    options = parser.parse_args()
    url = scratch_database()
    try:
        base, server, thread = serve(url)
        try:
            gzip_sizes(base)
            tiles(base, options.tiles)
            gdal_copy(base, url)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        drop_scratch(url)


if __name__ == "__main__":
    main()
