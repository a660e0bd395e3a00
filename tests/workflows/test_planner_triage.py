"""Planner workflow on real edits: no 500, triaged reports, completeness (issue 13).

Each test works on a private copy of the sample city and commits for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from api.app import create_app
from gridgeo.settings import Settings
from gridgeo.store.generations import get_generation
from gridgeo.store.users import add_user
from gridgeo.workflows import planner
from tests.boundaries.edits import move_shared_boundary
from tests.conftest import bearer
from tests.workflows.test_planner import cli, published_units

A, B = "330109003025001", "330109003025003"


def planner_token(url: str) -> str:
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        _, token = add_user(session, "planner-13", "planner")
    engine.dispose()
    return token


def edited_city(url: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The active generation with a 50 m boundary move and two grids made too large."""
    units = move_shared_boundary(published_units(url), A, B, 50.0)
    grids = units[(units["level"] == "grid") & (units["kind"] == "base")]
    in_range = grids[grids["households"].between(300, 500) & (grids["full_time_workers"] <= 1)]
    changed = in_range["code"].iloc[:2].tolist()
    units.loc[units["code"].isin(changed), "households"] = 2000
    return units, changed


def test_edit_validates_over_http_and_changed_only_shows_the_two_new_warnings(
    fresh_city_url: str, tmp_path: Path
) -> None:
    token = planner_token(fresh_city_url)
    units, changed = edited_city(fresh_city_url)
    units["备注"] = "moved 50 m"  # a column gridgeo does not use
    path = tmp_path / "edit.gpkg"
    units.to_file(path, driver="GPKG", engine="pyogrio")
    settings = Settings(database_url=fresh_city_url, index_refresh_seconds=3600)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        with path.open("rb") as handle:
            response = client.post(
                "/v1/generations/import",
                headers=bearer(token),
                data={"label": "edit"},
                files={"file": ("edit.gpkg", handle, "application/geopackage+sqlite3")},
            )
        assert response.status_code == 201, response.text
        assert response.json()["unused_columns"] == ["备注"]
        # On main: 500 (GEOS TopologyException after the projection to metres).
        response = client.post("/v1/generations/edit/validate", headers=bearer(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] and body["errors"] == 0, body["by_kind"]
        assert body["warnings"] > 900  # 806 households + 130 compactness were there before
        assert body["changed_only"] is False  # a whole-district import shows everything …
        assert body["issues"][0]["new"] and body["new"] == 2  # … new findings first
        kinds = {k["rule"]: k for k in body["by_kind"]}
        assert kinds["households_out_of_range"]["count"] > 800
        assert kinds["households_out_of_range"]["new"] == 2

        response = client.get("/v1/generations/edit/report", params={"changed_only": "true"})
        assert response.status_code == 200
        view = response.json()
        assert [(i["rule"], i["codes"]) for i in view["issues"]] == [
            ("households_out_of_range", [code]) for code in sorted(changed)
        ]
        assert view["hidden"] == body["warnings"] - 2
        assert view["baseline_generation"] == "1"

        response = client.get(
            "/v1/generations/edit/report", params={"severity": "error", "level": "grid"}
        )
        assert response.status_code == 200 and response.json()["issues"] == []
        response = client.get("/v1/generations/edit/report", params={"level": "nowhere"})
        assert response.status_code == 422

    result = cli(fresh_city_url, "boundaries", "report", "edit", "--changed-only")
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("NEW ")]
    assert len(lines) == 2 and all(any(c in ln for c in changed) for ln in lines)
    assert len(result.stdout.splitlines()) < 20  # not 940 lines
    result = cli(fresh_city_url, "boundaries", "report", "edit", "--all", "--severity", "warning")
    assert result.returncode == 0 and len(result.stdout.splitlines()) > 900


def test_draft_from_an_edit_defaults_to_changed_only(fresh_city_url: str) -> None:
    engine = create_engine(fresh_city_url)
    with Session(engine) as session, session.begin():
        summary = planner.redraw(session, 1, "merge", codes=[A, B], label="merged")
    result = cli(fresh_city_url, "boundaries", "validate", "merged", "--json")
    assert "checking overlaps" in result.stderr  # progress lines on stderr
    view = json.loads(result.stdout)
    assert view["changed_only"] is True and view["baseline_generation"] == "1"
    assert all(issue["new"] for issue in view["issues"])
    assert view["hidden"] > 800
    with Session(engine) as session:
        assert get_generation(session, summary.generation_id).parent_id == 1
    engine.dispose()


def test_one_community_file_is_incomplete_and_publish_refuses(
    fresh_city_url: str, tmp_path: Path
) -> None:
    units = published_units(fresh_city_url)
    community = "330109003025"
    part = units[units["code"].str.startswith(community) & (units["code"] != community)]
    path = tmp_path / "one-community.geojson"
    part.to_file(path, driver="GeoJSON", engine="pyogrio")
    assert cli(fresh_city_url, "boundaries", "import", str(path), "--label", "part").returncode == 0
    result = cli(fresh_city_url, "boundaries", "validate", "part", "--severity", "error")
    assert result.returncode == 1
    assert "incomplete" in result.stdout and "330109001" in result.stdout  # a missing street
    assert "missing_parent" in result.stdout and community in result.stdout
    result = cli(fresh_city_url, "boundaries", "publish", "part")
    assert result.returncode == 1
    assert "incomplete" in result.stderr and "street" in result.stderr
    assert community in result.stderr  # the missing parent is named
    engine = create_engine(fresh_city_url)
    with Session(engine) as session:
        assert get_generation(session, 1).status == "published"
    engine.dispose()


def test_stated_scope_limits_completeness(fresh_city_url: str, tmp_path: Path) -> None:
    units = published_units(fresh_city_url)
    street = "330109003"
    rest = units[~units["code"].str.startswith(street)]
    path = tmp_path / "without-street.gpkg"
    rest.to_file(path, driver="GPKG", engine="pyogrio")
    assert cli(fresh_city_url, "boundaries", "import", str(path), "--label", "rest").returncode == 0
    result = cli(fresh_city_url, "boundaries", "validate", "rest", "--severity", "error", "--json")
    view = json.loads(result.stdout)
    assert result.returncode == 1
    incomplete = [i for i in view["issues"] if i["rule"] == "incomplete"]
    assert incomplete and street in incomplete[0]["codes"]
    others = sorted(set(rest.loc[rest["level"] == "street", "code"]))
    scoped = ["--scope", others[0]]
    for code in others[1:]:
        scoped += ["--scope", code]
    result = cli(fresh_city_url, "boundaries", "validate", "rest", "--json", *scoped)
    view = json.loads(result.stdout)
    assert not [i for i in view["issues"] if i["rule"] == "incomplete"]
    assert view["scope"] == others
    result = cli(fresh_city_url, "boundaries", "validate", "rest", "--severity", "fatal")
    assert result.returncode != 0 and "severity" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_lists_unused_columns(fresh_city_url: str, tmp_path: Path) -> None:
    units = published_units(fresh_city_url)
    grids = units[units["code"].str.startswith("330109003025")].copy()
    grids = grids.rename(columns={"kind": "类型", "households": "户数", "name": "网格名称"})
    grids["类型"] = grids["类型"].map({"base": "基础网格", "special": "专属网格"})
    grids["备注"] = "test"
    path = tmp_path / "headers.geojson"
    grids.to_file(path, driver="GeoJSON", engine="pyogrio")
    result = cli(fresh_city_url, "boundaries", "import", str(path), "--label", "headers")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["unused_columns"] == ["备注"]
    assert summary["notes"]["columns"]["kind"] == "类型"
