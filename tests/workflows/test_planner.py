"""Planner workflow end to end on a private copy of the sample city (commits for real)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Polygon
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gridgeo.errors import Conflict
from gridgeo.settings import Settings
from gridgeo.store.generations import get_generation
from gridgeo.store.units import read_units
from gridgeo.store.users import add_user
from gridgeo.workflows import planner
from tests.conftest import bearer


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIDGEO_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def published_units(url: str) -> gpd.GeoDataFrame:
    engine = create_engine(url)
    with Session(engine) as session:
        units = read_units(session, 1)
    engine.dispose()
    return units


def planted_problems(units: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The sample city with an overlap, a gap, a bow-tie and a micro-grid outside its grid."""
    units = units.copy()
    grids = units[(units["level"] == "grid") & (units["kind"] == "base")]
    # Three grids of one community with micro-grids (urban).
    community = grids["parent_code"].value_counts().index[0]
    siblings = grids[grids["parent_code"] == community]
    a, b = siblings.index[:2]
    metric = gpd.GeoSeries(units.geometry, crs=4490).to_crs(4549)
    units.loc[a, "geometry"] = gpd.GeoSeries([metric[a].buffer(25)], crs=4549).to_crs(4490)[0]
    units.loc[b, "geometry"] = gpd.GeoSeries([metric[b].buffer(-25)], crs=4549).to_crs(4490)[0]
    c = siblings.index[2]
    x0, y0, x1, y1 = units.loc[c, "geometry"].bounds
    units.loc[c, "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    micro = units[(units["level"] == "microgrid")].index[0]
    units.loc[micro, "geometry"] = shapely.affinity.translate(
        units.loc[micro, "geometry"], xoff=0.05
    )
    codes = {
        "overlap": units.loc[a, "code"],
        "gap": units.loc[b, "code"],
        "invalid": units.loc[c, "code"],
        "outside": units.loc[micro, "code"],
    }
    return units, codes


def test_cli_refuses_planted_problems_then_publishes_with_reason(
    fresh_city_url: str, tmp_path: Path
) -> None:
    units, codes = planted_problems(published_units(fresh_city_url))
    path = tmp_path / "redraw.gpkg"
    units.to_file(path, driver="GPKG", engine="pyogrio")
    result = cli(fresh_city_url, "boundaries", "import", str(path), "--label", "planted")
    assert result.returncode == 0, result.stderr
    result = cli(fresh_city_url, "boundaries", "validate", "planted")
    assert result.returncode == 1
    report = result.stdout
    for rule in ("overlap", "gap", "invalid_geometry", "outside_parent"):
        assert rule in report, rule
    for code in codes.values():
        assert code in report, code
    result = cli(fresh_city_url, "boundaries", "publish", "planted")
    assert result.returncode == 1 and "validation error" in result.stderr
    result = cli(
        fresh_city_url,
        "boundaries",
        "publish",
        "planted",
        "--force",
        "emergency redraw approved by the grid centre",
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(fresh_city_url)
    with Session(engine) as session:
        generation = get_generation(session, "planted")
        assert generation.status == "published"
        assert generation.forced_reason == "emergency redraw approved by the grid centre"
        assert get_generation(session, 1).status == "superseded"
    engine.dispose()


def test_failed_import_leaves_nothing(fresh_city_url: str, tmp_path: Path) -> None:
    units = published_units(fresh_city_url)
    units.loc[units.index[-1], "code"] = units.loc[units.index[0], "code"]  # duplicate code
    path = tmp_path / "dup.gpkg"
    units.to_file(path, driver="GPKG", engine="pyogrio")
    result = cli(fresh_city_url, "boundaries", "import", str(path), "--label", "broken")
    assert result.returncode != 0
    engine = create_engine(fresh_city_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM generations")).scalar() == 1
        assert (
            conn.execute(text("SELECT count(*) FROM grid_units WHERE generation_id <> 1")).scalar()
            == 0
        )
    engine.dispose()


def _draft(url: str, label: str, units: gpd.GeoDataFrame) -> None:
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        from gridgeo.store.generations import create_generation
        from gridgeo.store.units import insert_units

        generation = create_generation(session, label)
        insert_units(session, generation.id, units)
        generation.status = "validated"
    engine.dispose()


def test_concurrent_publishes_are_serialised(fresh_city_url: str) -> None:
    units = published_units(fresh_city_url)
    _draft(fresh_city_url, "left", units)
    _draft(fresh_city_url, "right", units)
    engine = create_engine(fresh_city_url)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def publish(label: str) -> None:
        try:
            with Session(engine) as session, session.begin():
                barrier.wait()
                planner.publish_generation(session, label)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(label,)) for label in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT label, status, valid_from, valid_to FROM generations ORDER BY valid_from")
        ).all()
    engine.dispose()
    assert [r.status for r in rows] == ["superseded", "superseded", "published"]
    for earlier, later in zip(rows, rows[1:], strict=False):
        assert earlier.valid_to == later.valid_from


def test_api_upload_publish_and_locate_at(fresh_city_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_city_url, index_refresh_seconds=3600)
    engine = create_engine(fresh_city_url)
    with Session(engine) as session, session.begin():
        _, token = add_user(session, "planner-1", "planner")
        _, analyst = add_user(session, "analyst-1", "analyst")
    units = published_units(fresh_city_url)
    # Redraw: a village grid arrives without its code; the unchanged shape must get
    # its old code back by the overlap rule.
    grids = units[(units["level"] == "grid") & (units["kind"] == "base")]
    village = grids[~grids["code"].isin(units["parent_code"])].iloc[0]
    point = shapely.point_on_surface(village.geometry)
    redraw = units.copy()
    redraw.loc[redraw["code"] == village["code"], "code"] = None
    redraw.loc[redraw["code"].isna(), "geometry"] = shapely.buffer(
        shapely.buffer(village.geometry, 0), 0
    )
    path = tmp_path / "redraw.geojson"
    redraw.to_file(path, driver="GeoJSON", engine="pyogrio")
    before = datetime.now(UTC) - timedelta(seconds=1)
    with TestClient(create_app(settings)) as client:
        with path.open("rb") as handle:
            response = client.post(
                "/v1/generations/import",
                headers=bearer(analyst),
                files={"file": ("redraw.geojson", handle, "application/geo+json")},
            )
        assert response.status_code == 403
        with path.open("rb") as handle:
            response = client.post(
                "/v1/generations/import",
                headers=bearer(token),
                data={"label": "v2"},
                files={"file": ("redraw.geojson", handle, "application/geo+json")},
            )
        assert response.status_code == 201, response.text
        assert response.json()["coded"] >= 1
        response = client.post("/v1/generations/v2/validate", headers=bearer(token))
        assert response.status_code == 200
        response = client.post(
            "/v1/generations/v2/publish",
            headers=bearer(token),
            json={"force_reason": "test redraw"},
        )
        assert response.status_code == 200, response.text
        new_owner = client.get("/v1/locate", params={"lon": point.x, "lat": point.y}).json()
        old_owner = client.get(
            "/v1/locate", params={"lon": point.x, "lat": point.y, "at": before.isoformat()}
        ).json()
        assert old_owner["generation"] == "1" and old_owner["owner"]["code"] == village["code"]
        assert new_owner["generation"] != "1"
        assert new_owner["owner"]["code"] == village["code"]  # unchanged shape keeps its code
        history = client.get(f"/v1/codes/{village['code']}/history").json()
        assert [g["status"] for g in history["generations"]] == ["superseded", "published"]
        diff = client.get("/v1/generations/1/diff/v2").json()
        assert diff["old_generation"] == "1"
        exported = client.get("/v1/generations/v2/export", params={"format": "gpkg"})
        assert exported.status_code == 200 and exported.content[:15] == b"SQLite format 3"
        garbage = client.post(
            "/v1/generations/import",
            headers=bearer(token),
            files={"file": ("x.geojson", b"x" * 2048, "application/geo+json")},
        )
        assert garbage.status_code == 422 and "x.geojson" in garbage.json()["detail"]
    engine.dispose()


def test_upload_limit_is_413(fresh_city_url: str) -> None:
    settings = Settings(database_url=fresh_city_url, upload_limit_bytes=1000)
    engine = create_engine(fresh_city_url)
    with Session(engine) as session, session.begin():
        _, token = add_user(session, "planner-2", "planner")
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/generations/import",
            headers=bearer(token),
            files={"file": ("big.geojson", b"{" + b" " * 5000 + b"}", "application/geo+json")},
        )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_publish_refuses_unvalidated_draft(fresh_city_url: str) -> None:
    units = published_units(fresh_city_url)
    engine = create_engine(fresh_city_url)
    with Session(engine) as session, session.begin():
        from gridgeo.store.generations import create_generation
        from gridgeo.store.units import insert_units

        generation = create_generation(session, "unchecked")
        insert_units(session, generation.id, units)
    with Session(engine) as session, session.begin(), pytest.raises(Conflict, match="validated"):
        planner.publish_generation(session, "unchecked")
    engine.dispose()


def test_shapefile_export_round_trips_every_attribute(fresh_city_url: str, tmp_path: Path) -> None:
    from gridgeo.boundaries import read_boundaries

    engine = create_engine(fresh_city_url)
    with Session(engine) as session:
        out = planner.export_generation(session, 1, tmp_path / "units.zip")
        original = read_units(session, 1)
    engine.dispose()
    back = read_boundaries(out, filename=out.name).sort_values("code").reset_index(drop=True)
    assert len(back) == len(original)
    for column in ("parent_code", "name", "households", "full_time_workers",
                   "part_time_workers"):
        expected = original[column].astype(object).where(original[column].notna(), None)
        got = back[column].astype(object).where(back[column].notna(), None)
        assert got.tolist() == expected.tolist(), column
