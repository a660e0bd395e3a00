"""Map pages in headless Chromium (Debian's /usr/bin/chromium) served by the real app."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from gridgeo.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(activity_city_url: str) -> Iterator[str]:
    settings = Settings(database_url=activity_city_url)
    port = _free_port()
    app_server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not app_server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    app_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (make setup installs it)"
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


PAGES = {
    "grids": ("/maps/grids?canvas=false&levels=street,community,grid", "Grids", 500),
    "hotspots": ("/maps/hotspots?canvas=false", "confidence", 20),
    "emerging": ("/maps/emerging?canvas=false", "", 20),
    "coverage": ("/maps/coverage?canvas=false&days=3", "", 100),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_map_page_renders(server: str, browser, name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, legend_text, min_polygons = PAGES[name]
    # warm the analysis cache so the browser does not wait on it
    assert httpx.get(server + path, timeout=300).status_code == 200
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside: list[str] = []
    page.on(
        "request",
        lambda req: outside.append(req.url) if not req.url.startswith((server, "data:")) else None,
    )
    page.goto(server + path, wait_until="networkidle", timeout=120_000)
    page.wait_for_timeout(500)
    polygons = page.locator("path.leaflet-interactive").count()
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot))
    assert not errors, errors
    assert not outside, outside[:3]
    assert polygons >= min_polygons, polygons
    if name != "grids":
        legend = page.locator(".gridgeo-legend")
        assert legend.is_visible()
        assert legend.locator(".gridgeo-legend-row").count() >= 2
        assert legend_text in legend.inner_text()
    else:
        assert page.locator(".leaflet-control-layers").count() == 1
    assert shot.stat().st_size > 20_000  # a blank page is a few kB
    page.close()


def test_maps_index_links_every_page(server: str) -> None:
    body = httpx.get(server + "/maps/").text
    for name in PAGES:
        assert f'href="/maps/{name}"' in body
