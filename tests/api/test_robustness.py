"""Issue 12: no input gives a 500; unsafe inputs are refused; lenient-but-strict parameters."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.indexes import IndexRegistry
from gridgeo.settings import Settings
from gridgeo.store.units import read_units
from gridgeo.store.users import add_user
from tests.api.test_foundation import _free_port
from tests.conftest import bearer


def _inside(db: Session) -> tuple[shapely.Point, str]:
    grids = read_units(db, 1, level="grid")
    grid = grids[grids["kind"] == "base"].iloc[0]
    return shapely.point_on_surface(grid.geometry), str(grid["code"])


def _admin(db: Session) -> dict[str, str]:
    _, token = add_user(db, "robust-admin", "admin")
    return bearer(token)


# --------------------------------------------------------------------------- 500s


def test_integer_overflow_is_422(city_client: TestClient, city_db: Session) -> None:
    headers = _admin(city_db)
    for params in ({"offset": "100000000000000000000"}, {"offset": -1}, {"limit": 10**20}):
        response = city_client.get("/v1/events", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert next(iter(params)) in response.json()["detail"]
    response = city_client.get("/v1/analytics/hotspots", params={"seed": -1})
    assert response.status_code == 422 and "seed" in response.json()["detail"]
    response = city_client.get("/v1/generations/99999999999999999999999/report")
    assert response.status_code == 404, response.text


def test_unicode_digits_are_not_digits(city_client: TestClient, city_db: Session) -> None:
    response = city_client.get("/v1/generations/%C2%B2/report")
    assert response.status_code == 404, response.text
    assert city_client.get("/v1/grids/３３０１０９").status_code == 422
    assert city_client.get("/v1/codes/３３０１０９/history").status_code == 422
    response = city_client.get(
        "/v1/events", params={"grid": "３３０１０９００１００１００１"}, headers=_admin(city_db)
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/grids/330109?generation=%00", "generation"),
        ("/v1/events?status=%00", "status"),
        ("/v1/events?category=a%01b", "category"),
        ("/v1/events/E%00", "path"),
        ("/v1/generations/x%00/report", "path"),
        ("/v1/locate?lon=120&lat=30&crs=wgs84%00", "crs"),
    ],
)
def test_control_characters_in_the_url_are_422(
    city_client: TestClient, url: str, field: str
) -> None:
    response = city_client.get(url)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"] and "U+00" in response.json()["detail"]


def test_control_characters_in_bodies_are_422(city_client: TestClient, city_db: Session) -> None:
    headers = _admin(city_db)
    point, _ = _inside(city_db)
    event = {"category_code": "S0101", "lon": point.x, "lat": point.y}
    for field, value in (
        ("description", "broken\x00lamp"),
        ("external_id", "hot\x00line"),
        ("category_code", "S01\x0001"),
        ("description", "lone \ud800 surrogate"),
    ):
        response = city_client.post(
            "/v1/events",
            content=json.dumps({**event, field: value}),  # ASCII, lone surrogates escaped
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["detail"]
    ok = city_client.post(
        "/v1/events", json={**event, "description": "two\nlines\tand a tab"}, headers=headers
    )
    assert ok.status_code == 201, ok.text
    response = city_client.post(
        "/v1/users", json={"name": "li\x00", "role": "planner"}, headers=headers
    )
    assert response.status_code == 422 and "name" in response.json()["detail"]
    response = city_client.post("/v1/generations", json={"label": "draft\x00"}, headers=headers)
    assert response.status_code == 422 and "label" in response.json()["detail"]
    response = city_client.post(
        "/v1/generations/import",
        files={"file": ("g.geojson", b"{}", "application/geo+json")},
        data={"encoding": "utf\x008"},
        headers=headers,
    )
    assert response.status_code == 422 and "encoding" in response.json()["detail"]


def test_control_characters_in_uploaded_files_are_422(
    city_client: TestClient, city_db: Session
) -> None:
    headers = _admin(city_db)
    point, _ = _inside(city_db)
    csv = (
        "external_id,category_code,lon,lat,source,reported_at,description\n"
        f"x1,S0101,{point.x},{point.y},hotline,2026-01-05T10:00:00+08:00,bad\x00text\n"
    )
    response = city_client.post(
        "/v1/events/import", files={"file": ("e.csv", csv.encode(), "text/csv")}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert "description" in response.json()["detail"]
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "330109001001001", "name": "a\u0001b"},
                "geometry": shapely.geometry.mapping(shapely.box(120.1, 30.1, 120.2, 30.2)),
            }
        ],
    }
    response = city_client.post(
        "/v1/generations/import",
        files={"file": ("g.geojson", json.dumps(fc).encode(), "application/geo+json")},
        data={"crs": "cgcs2000"},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert "name" in response.json()["detail"]


def test_retried_event_is_idempotent(city_client: TestClient, city_db: Session) -> None:
    headers = _admin(city_db)
    point, _ = _inside(city_db)
    body = {
        "category_code": "S0101",
        "lon": point.x,
        "lat": point.y,
        "source": "hotline",
        "external_id": "12345-hotline-retry",
    }
    first = city_client.post("/v1/events", json=body, headers=headers)
    assert first.status_code == 201, first.text
    second = city_client.post("/v1/events", json=body, headers=headers)
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    listed = city_client.get("/v1/events", params={"limit": 10_000}, headers=headers).json()
    ids = [f["properties"]["external_id"] for f in listed["features"]]
    assert ids.count("12345-hotline-retry") == 1
    spec = city_client.get("/openapi.json").json()
    assert "200" in spec["paths"]["/v1/events"]["post"]["responses"]


def test_boundary_import_constraint_cases_are_422(
    city_client: TestClient, city_db: Session
) -> None:
    headers = _admin(city_db)

    def upload(rows: list[dict[str, Any]], **data: str) -> httpx.Response:
        fc = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": shapely.geometry.mapping(
                        shapely.box(120.1 + i / 100, 30.1, 120.105 + i / 100, 30.105)
                    ),
                }
                for i, props in enumerate(rows)
            ],
        }
        return city_client.post(
            "/v1/generations/import",
            files={"file": ("g.geojson", json.dumps(fc).encode(), "application/geo+json")},
            data={"crs": "cgcs2000", **data},
            headers=headers,
        )

    code = "330109001001001"
    response = upload([{"code": code}, {"code": code}])
    assert response.status_code == 422, response.text
    assert code in response.json()["detail"] and "code" in response.json()["detail"]
    response = upload([{"code": "33010900100100A"}])
    assert response.status_code == 422, response.text
    assert "code" in response.json()["detail"] and "row 0" in response.json()["detail"]
    response = upload([{"code": code, "households": 10**12}])
    assert response.status_code == 422, response.text
    assert "households" in response.json()["detail"]
    response = upload([{"code": code}], encoding="bogus")
    assert response.status_code == 422, response.text
    assert "encoding" in response.json()["detail"]


# --------------------------------------------------------------------------- unsafe inputs


def test_non_finite_coordinates_are_422(city_client: TestClient, city_db: Session) -> None:
    headers = {**_admin(city_db), "Content-Type": "application/json"}
    for lon in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"category_code": "S0101", "lon": {lon}, "lat": 30.2}}'
        response = city_client.post("/v1/events", content=body, headers=headers)
        assert response.status_code == 422, response.text
        assert "lon" in response.json()["detail"]
        response = city_client.post(
            "/v1/locate", content=f'{{"points": [[120.2, 30.1], [{lon}, 30.1]]}}', headers=headers
        )
        assert response.status_code == 422, response.text
    response = city_client.get("/v1/locate", params={"lon": "inf", "lat": 30})
    assert response.status_code == 422


def test_long_input_is_not_echoed(city_client: TestClient, city_db: Session) -> None:
    headers = _admin(city_db)
    point, _ = _inside(city_db)
    huge = "Z" * 1_000_000
    for body in (
        {"category_code": huge, "lon": point.x, "lat": point.y},
        {"category_code": "S0101", "lon": point.x, "lat": point.y, "crs": huge},
        {"category_code": "S0101", "lon": point.x, "lat": point.y, "source": huge},
    ):
        response = city_client.post("/v1/events", json=body, headers=headers)
        assert response.status_code == 422
        assert len(response.content) < 2000, len(response.content)
    response = city_client.get("/v1/events/" + "E" * 30_000, headers=headers)
    assert response.status_code == 404 and len(response.content) < 1000
    response = city_client.get("/v1/generations/" + "9" * 5000 + "/report")
    assert response.status_code in (404, 422) and len(response.content) < 2000
    response = city_client.get("/v1/locate", params={"lon": 1, "lat": 1, "crs": "Q" * 90})
    assert response.status_code == 422 and "Q" * 41 not in response.text


def _asgi_post(app: Any, path: str, chunks: list[bytes], content_type: str) -> tuple[int, int]:
    """POST a chunked body straight to the ASGI app; return (status, chunks consumed)."""
    consumed = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        if consumed < len(chunks):
            consumed += 1
            return {
                "type": "http.request",
                "body": chunks[consumed - 1],
                "more_body": consumed < len(chunks),
            }
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", content_type.encode()), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status, consumed


def test_huge_chunked_locate_body_stops_at_the_limit(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"batch_limit": 1000}))
    point = b"[120.2,30.1],"
    chunk = point * 100  # 100 points per chunk
    chunks = [b'{"points":['] + [chunk] * 20_000  # 2 M points
    status, consumed = _asgi_post(app, "/v1/locate", chunks, "application/json")
    assert status == 413
    assert consumed < 20, consumed  # stopped after about 1000 points, not 2 M
    lines = [b"lon,lat\n"] + [b"120.2,30.1\n" * 100] * 20_000
    status, consumed = _asgi_post(app, "/v1/locate", lines, "text/csv")
    assert status == 413 and consumed < 20, consumed


# --------------------------------------------------------------------------- parameters


def test_booleans_are_not_numbers(city_client: TestClient, city_db: Session) -> None:
    headers = _admin(city_db)
    point, _ = _inside(city_db)
    for field in ("lon", "lat"):
        body = {"category_code": "S0101", "lon": point.x, "lat": point.y, field: False}
        response = city_client.post("/v1/events", json=body, headers=headers)
        assert response.status_code == 422 and field in response.json()["detail"]
    response = city_client.post("/v1/locate", json={"points": [[120.2, False]]})
    assert response.status_code == 422
    response = city_client.post("/v1/locate", json={"points": [[120.2, "30.1"]]})
    assert response.status_code == 422
    response = city_client.post("/v1/locate", json={"points": [[120, 30]]})
    assert response.status_code == 200  # integers are numbers


def test_status_groups(city_client: TestClient, city_db: Session) -> None:
    headers = _admin(city_db)
    point, _ = _inside(city_db)
    created = city_client.post(
        "/v1/events",
        json={"category_code": "S0101", "lon": point.x, "lat": point.y},
        headers=headers,
    ).json()
    opened = city_client.get("/v1/events", params={"status": "open"}, headers=headers).json()
    assert created["id"] in [f["id"] for f in opened["features"]]
    closed = city_client.get("/v1/events", params={"status": "closed"}, headers=headers).json()
    assert created["id"] not in [f["id"] for f in closed["features"]]
    both = city_client.get(
        "/v1/events", params={"status": "reported,closed"}, headers=headers
    ).json()
    assert created["id"] in [f["id"] for f in both["features"]]
    response = city_client.get("/v1/events", params={"status": "opened"}, headers=headers)
    assert response.status_code == 422
    assert "open" in response.json()["detail"] and "dispatched" in response.json()["detail"]


def test_times_without_zone_are_local(city_client: TestClient, city_db: Session) -> None:
    for at in ("2099-01-01", "2099-01-01T08:00", "2099-01-01T08:00:00+08:00"):
        response = city_client.get("/v1/locate", params={"lon": 120.2, "lat": 30.2, "at": at})
        assert response.status_code == 200, (at, response.text)
    response = city_client.post("/v1/locate", json={"at": "2099-01-01", "points": [[120.2, 30.2]]})
    assert response.status_code == 200, response.text
    response = city_client.get(
        "/v1/events",
        params={"start": "2026-01-01", "end": "2099-01-01"},
        headers=_admin(city_db),
    )
    assert response.status_code == 200, response.text


def test_crs_names_and_projected_codes(city_client: TestClient, city_db: Session) -> None:
    point, code = _inside(city_db)
    from gridgeo.crs import from_wgs84

    owners = {}
    for name in ("wgs84", "EPSG:4326", "4326", "cgcs2000", "EPSG:4490", "CRS84"):
        response = city_client.get(
            "/v1/locate", params={"lon": point.x, "lat": point.y, "crs": name}
        )
        assert response.status_code == 200, (name, response.text)
        owners[name] = response.json()["owner"]["code"]
    for name, canonical in (
        ("gcj02", "gcj02"),
        ("gcj-02", "gcj02"),
        ("bd09", "bd09"),
        ("bd-09", "bd09"),
    ):
        x, y = (float(v) for v in from_wgs84(point.x, point.y, canonical))
        response = city_client.get("/v1/locate", params={"lon": x, "lat": y, "crs": name})
        assert response.status_code == 200, (name, response.text)
        owners[name] = response.json()["owner"]["code"]
    gk = pyproj.Transformer.from_crs(4490, 4549, always_xy=True)
    x, y = gk.transform(point.x, point.y)
    response = city_client.get("/v1/locate", params={"lon": x, "lat": y, "crs": "EPSG:4549"})
    assert response.status_code == 200, response.text
    assert response.json()["point"]["crs"] == "EPSG:4549"
    owners["EPSG:4549"] = response.json()["owner"]["code"]
    response = city_client.post("/v1/locate", json={"crs": "EPSG:4549", "points": [[x, y]]})
    batch_owner = response.json()["results"][0]["owner"]
    owners["EPSG:4549 batch"] = batch_owner if isinstance(batch_owner, str) else batch_owner["code"]
    assert set(owners.values()) == {owners["wgs84"]} and owners["wgs84"].startswith(code)
    response = city_client.get("/v1/locate", params={"lon": x, "lat": y, "crs": "EPSG:999999"})
    assert response.status_code == 422 and "EPSG:4549" in response.json()["detail"]
    spec = city_client.get("/openapi.json").json()
    crs_param = next(
        p for p in spec["paths"]["/v1/locate"]["get"]["parameters"] if p["name"] == "crs"
    )
    assert "EPSG:4549" in crs_param["description"] and "gcj-02" in crs_param["description"]


# --------------------------------------------------------------------------- housekeeping


def test_export_404_leaves_no_temp_dir(
    city_client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    response = city_client.get("/v1/generations/no-such-generation/export")
    assert response.status_code == 404
    response = city_client.get("/v1/generations/1/export", params={"format": "geojson"})
    assert response.status_code == 200
    assert list(tmp_path.glob("gridgeo-export-*")) == []


def test_start_up_removes_import_dirs_of_killed_workers(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import subprocess
    import sys

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f"gridgeo-import-{int(gone.stdout)}-k1ll3d"
    stale.mkdir()
    (stale / "upload.zip").write_bytes(b"partial")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
    assert not stale.exists()


def test_poller_logs_one_line_per_outage(
    caplog: pytest.LogCaptureFixture, database_url_for_tests: str
) -> None:
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/nothing")
    registry = IndexRegistry(dead)

    async def run(seconds: float) -> None:
        task = asyncio.create_task(registry.poll(0.0))
        await asyncio.sleep(seconds)
        task.cancel()

    with caplog.at_level(logging.INFO, logger="gridgeo.api.indexes"):
        asyncio.run(run(1.0))
        down = [r for r in caplog.records if r.name == "gridgeo.api.indexes"]
        assert len(down) == 1, [r.getMessage() for r in down]
        assert down[0].exc_info is None and "could not refresh" in down[0].getMessage()
        registry._engine = create_engine(database_url_for_tests)
        asyncio.run(run(1.0))
        records = [r for r in caplog.records if r.name == "gridgeo.api.indexes"]
        assert any("recovered" in r.getMessage() for r in records)
    dead.dispose()
    registry._engine.dispose()


# --------------------------------------------------------------------------- keep-alive


@pytest.fixture
def city_server(fresh_city_url: str):  # type: ignore[no-untyped-def]
    """The real app on a private sample city, served by uvicorn, with a route that breaks."""
    import threading
    import time

    import uvicorn

    app = create_app(Settings(database_url=fresh_city_url, index_refresh_seconds=3600))

    def broken() -> None:
        raise RuntimeError("unexpected")

    app.add_api_route("/test-broken", broken)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    engine = create_engine(fresh_city_url)
    with Session(engine) as session, session.begin():
        _, token = add_user(session, "keepalive-admin", "admin")
        point, _ = _inside(session)
    engine.dispose()
    yield f"http://127.0.0.1:{port}", token, point
    server.should_exit = True
    thread.join(timeout=10)


def _local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


def test_keep_alive_connection_survives_every_error(city_server: Any) -> None:
    base, token, point = city_server
    headers = bearer(token)
    event = {
        "category_code": "S0101",
        "lon": point.x,
        "lat": point.y,
        "external_id": "keepalive-1",
    }
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v1/events?offset=100000000000000000000", {"headers": headers}),
        ("POST", "/v1/events", {"json": event, "headers": headers}),
        ("POST", "/v1/events", {"json": event, "headers": headers}),
        ("GET", "/v1/grids/330109?generation=%00", {}),
        ("GET", "/v1/events?status=%00", {}),
        ("POST", "/v1/events", {"json": {**event, "description": "a\x00b"}, "headers": headers}),
        ("POST", "/v1/users", {"json": {"name": "x\x00", "role": "admin"}, "headers": headers}),
        ("GET", "/v1/generations/%C2%B2/report", {}),
        ("GET", "/test-broken", {"headers": headers}),  # unlisted: admin only
        ("GET", "/v1/generations/nothing/export", {}),
    ]
    statuses = []
    with httpx.Client(base_url=base, timeout=60) as http:
        first = http.get("/healthz")
        port = _local_port(first)
        for method, url, kwargs in requests:
            response = http.request(method, url, **kwargs)
            statuses.append(response.status_code)
            assert "Traceback" not in response.text
            after = http.get("/healthz")
            assert after.status_code == 200, (url, after.status_code)
            assert _local_port(after) == port, f"connection replaced after {url}"
    assert statuses == [422, 201, 200, 422, 422, 422, 422, 404, 500, 404], statuses
