"""API skeleton: health, error mapping, auth."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from gridgeo.settings import Settings
from tests.conftest import bearer


def test_healthz_reports_postgis(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["database"]["postgresql"][:2].isdigit()
    assert body["database"]["schema"].isdigit()


def test_unknown_route_is_404_json(client: TestClient) -> None:
    response = client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_bad_parameter_is_422_naming_it(client: TestClient) -> None:
    response = client.get("/v1/grids", params={"level": "planet"})
    assert response.status_code == 422
    assert "level" in response.json()["detail"]
    response = client.get("/v1/grids/12ab")
    assert response.status_code == 422
    assert "code" in response.json()["detail"]


def test_no_published_generation_is_404(client: TestClient) -> None:
    response = client.get("/v1/grids")
    assert response.status_code == 404
    assert "published" in response.json()["detail"]


def test_openapi_and_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/healthz" in spec["paths"] and "/v1/grids" in spec["paths"]


def test_write_needs_token(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.post("/v1/generations", json={"label": "x"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    response = client.post("/v1/generations", json={"label": "x"}, headers=bearer("ggt_wrong"))
    assert response.status_code == 401


def test_roles_are_enforced(client: TestClient, tokens: dict[str, str]) -> None:
    for role in ("analyst", "worker"):
        response = client.post("/v1/generations", json={}, headers=bearer(tokens[role]))
        assert response.status_code == 403, role
        assert "planner" in response.json()["detail"]
    for role in ("planner", "admin"):
        response = client.post(
            "/v1/generations", json={"label": f"draft by {role}"}, headers=bearer(tokens[role])
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "draft"


def test_admin_creates_user_and_token_works(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.post(
        "/v1/users", json={"name": "li", "role": "planner"}, headers=bearer(tokens["admin"])
    )
    assert response.status_code == 201
    new_token = response.json()["token"]
    response = client.post("/v1/generations", json={"label": "by li"}, headers=bearer(new_token))
    assert response.status_code == 201
    response = client.post(
        "/v1/users", json={"name": "li", "role": "planner"}, headers=bearer(tokens["admin"])
    )
    assert response.status_code == 409
    response = client.post(
        "/v1/users", json={"name": "w", "role": "worker"}, headers=bearer(tokens["admin"])
    )
    assert response.status_code == 422 and "grid" in response.json()["detail"]
    response = client.get("/v1/users", headers=bearer(tokens["planner"]))
    assert response.status_code == 403


def test_database_down_is_503() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:9/nothing")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in ("/healthz", "/v1/grids"):
            response = client.get(path)
            assert response.status_code == 503, path
            body = response.json()
            assert body["error"] == "database_unavailable"
            assert "Traceback" not in response.text and "psycopg" not in response.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings):  # type: ignore[no-untyped-def]
    """The real app served by uvicorn on a loopback port."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_real_http_server(live_server: str) -> None:
    with httpx.Client(base_url=live_server) as http:
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json()["postgis"]
        assert http.get("/nope").status_code == 404
        response = http.post("/v1/generations", json={}, headers=bearer("ggt_nobody"))
        assert response.status_code == 401
