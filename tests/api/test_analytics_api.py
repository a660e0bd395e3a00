"""GeoJSON analytics and track endpoints on the sample city with its activity."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gridgeo.settings import Settings
from gridgeo.store.users import add_user
from tests.conftest import bearer

TRUTH = json.loads(
    (Path(__file__).resolve().parents[2] / "data/samples/ground_truth.json").read_text()
)


@pytest.fixture(scope="module")
def client(activity_city_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=activity_city_url))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def analyst(activity_city_url: str) -> Iterator[dict[str, str]]:
    """Authorization of an analyst (tracks, flags and worker coverage are personal data)."""
    engine = create_engine(activity_city_url)
    name = "analytics-analyst-" + secrets.token_hex(3)
    with Session(engine) as session, session.begin():
        _, token = add_user(session, name, "analyst")
    yield bearer(token)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE name = :n"), {"n": name})
    engine.dispose()


def test_hotspots_find_the_planted_persistent_spots(client: TestClient) -> None:
    response = client.get("/v1/analytics/hotspots")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["parameters"]["level"] == "grid"
    bins = {f["id"]: f["properties"]["gi_bin"] for f in body["features"]}
    for spot in TRUTH["hotspots"]:
        if spot["kind"] == "persistent":
            assert bins[spot["grid_code"]] == 3, spot
    h3 = client.get("/v1/analytics/hotspots", params={"level": "h3:8", "permutations": 99})
    assert h3.status_code == 200 and len(h3.json()["features"]) > 500


def test_emerging_and_bad_parameters(client: TestClient) -> None:
    body = client.get("/v1/analytics/emerging").json()
    categories = {f["properties"]["category"] for f in body["features"]}
    assert "persistent_hot_spot" in categories
    bad = client.get("/v1/analytics/hotspots", params={"level": "h3:42"})
    assert bad.status_code == 422 and "h3" in bad.json()["detail"]
    bad = client.get("/v1/analytics/hotspots", params={"category": "no such thing"})
    assert bad.status_code == 422 and "category" in bad.json()["detail"]


def test_coverage_reports_never_visited_grids(client: TestClient, analyst: dict[str, str]) -> None:
    body = client.get("/v1/analytics/coverage", params={"days": 3}).json()
    props = {f["id"]: f["properties"] for f in body["features"]}
    for code in TRUTH["unvisited_grids"]:
        assert props[code]["gap"], code
    assert client.get("/v1/tracks/flags").status_code == 401
    flags = client.get("/v1/tracks/flags", headers=analyst).json()
    assert {flag["kind"] for flag in flags} <= {
        "teleport",
        "replay",
        "stationary",
        "outside",
        "too_regular",
        "no_noise",
        "copy",
        "spoofing",
        "vehicle",
    }
    workers = client.get("/v1/tracks/coverage", headers=analyst).json()
    assert len(workers) > 1000 and "worker_id" in workers[0]


def test_worker_sees_tracks_of_own_grid_only(
    client: TestClient, analyst: dict[str, str], activity_city_url: str
) -> None:
    everyone = client.get("/v1/tracks/coverage", headers=analyst).json()
    flags = client.get("/v1/tracks/flags", headers=analyst).json()
    flagged = {flag["worker_id"] for flag in flags}
    target = next(w for w in everyone if w["worker_id"] in flagged and w["assigned_code"])
    grid = target["assigned_code"][:15]
    engine = create_engine(activity_city_url)
    name = "analytics-worker-" + secrets.token_hex(3)
    with Session(engine) as session, session.begin():
        _, token = add_user(session, name, "worker", [grid])
    try:
        mine = client.get("/v1/tracks/coverage", headers=bearer(token)).json()
        assert target["worker_id"] in {w["worker_id"] for w in mine}
        assert 0 < len(mine) < len(everyone)
        assert all(w["assigned_code"].startswith(grid) for w in mine)
        my_flags = client.get("/v1/tracks/flags", headers=bearer(token)).json()
        assert target["worker_id"] in {f["worker_id"] for f in my_flags}
        assert {f["worker_id"] for f in my_flags} <= {w["worker_id"] for w in mine}
        assert len(my_flags) < len(flags)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE name = :n"), {"n": name})
        engine.dispose()
