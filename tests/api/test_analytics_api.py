"""GeoJSON analytics and track endpoints on the sample city with its activity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gridgeo.settings import Settings

TRUTH = json.loads(
    (Path(__file__).resolve().parents[2] / "data/samples/ground_truth.json").read_text()
)


@pytest.fixture(scope="module")
def client(activity_city_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=activity_city_url))) as test_client:
        yield test_client


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


def test_coverage_reports_never_visited_grids(client: TestClient) -> None:
    body = client.get("/v1/analytics/coverage", params={"days": 3}).json()
    props = {f["id"]: f["properties"] for f in body["features"]}
    for code in TRUTH["unvisited_grids"]:
        assert props[code]["gap"], code
    flags = client.get("/v1/tracks/flags").json()
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
    workers = client.get("/v1/tracks/coverage").json()
    assert len(workers) > 1000 and "worker_id" in workers[0]
