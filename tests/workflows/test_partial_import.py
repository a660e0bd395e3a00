"""Partial re-import (``--replace-under``) and one published generation for every reader.

Regression tests of issue 13: a file holding one community's grids was
published as the whole district; ``/v1/grids`` then served it while the
locate index failed to build and kept the old generation, and ``/healthz``
said ok.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gridgeo.boundaries.redraw import replace_geometry
from gridgeo.errors import Conflict, InvalidInput
from gridgeo.measure import from_local_metric, to_local_metric
from gridgeo.settings import Settings
from gridgeo.store.generations import get_generation
from gridgeo.store.units import read_units
from gridgeo.store.users import add_user
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


def published_units(url: str, generation: int = 1) -> gpd.GeoDataFrame:
    engine = create_engine(url)
    with Session(engine) as session:
        units = read_units(session, generation)
    engine.dispose()
    return units


def edited_community(units: gpd.GeoDataFrame) -> tuple[str, gpd.GeoDataFrame]:
    """A community in which one grid took a 40 m strip from a sibling; the whole city back."""
    grids = units[(units.level == "grid") & (units.kind == "base")].set_index("code")
    for code in grids.index:
        sib = grids[(grids.parent_code == grids.at[code, "parent_code"]) & (grids.index != code)]
        if not len(sib):
            continue
        me = grids.at[code, "geometry"]
        shared = shapely.length(shapely.intersection(sib.geometry.values, me.boundary))
        if shared.max() < 0.002:
            continue
        other = sib.geometry.values[int(np.argmax(shared))]
        (me_m, other_m), crs = to_local_metric([me, other])
        edge = shapely.intersection(me_m.boundary, other_m.boundary)
        strip = shapely.intersection(other_m, edge.buffer(40.0, cap_style="flat"))
        grown = from_local_metric([shapely.union(me_m, strip).buffer(0)], crs)[0]
        try:
            edited = replace_geometry(units, code, grown).units
        except (Conflict, InvalidInput):
            continue
        return str(grids.at[code, "parent_code"]), edited
    raise AssertionError("no editable grid")


def under(units: gpd.GeoDataFrame, code: str) -> gpd.GeoDataFrame:
    codes = units["code"].astype(str)
    return units[codes.str.startswith(code) & (codes.str.len() > len(code))]


def generation_ids(url: str) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM generations ORDER BY id")).scalars())
    engine.dispose()
    return ids


def test_replace_under_makes_a_complete_draft(fresh_city_url: str, tmp_path: Path) -> None:
    units = published_units(fresh_city_url)
    community, edited = edited_community(units)
    part = under(edited, community)
    path = tmp_path / "community.gpkg"
    part.to_file(path, driver="GPKG", engine="pyogrio")
    result = cli(
        fresh_city_url,
        "boundaries",
        "import",
        str(path),
        "--replace-under",
        community,
        "--label",
        "partial",
    )
    assert result.returncode == 0, result.stderr
    assert "replacing" in result.stderr  # progress
    engine = create_engine(fresh_city_url)
    with Session(engine) as session:
        draft = get_generation(session, "partial")
        assert draft.base_generation_id == 1
        assert draft.import_notes["replace_under"]["code"] == community
        stored = read_units(session, draft.id)
    engine.dispose()
    # Complete: the whole district, the community's units replaced by the file's.
    assert sorted(stored.code) == sorted(edited.code)
    same = stored.set_index("code").geometry
    for code, geom in zip(edited.code, edited.geometry, strict=True):
        assert shapely.equals_exact(same[code], geom, tolerance=1e-9), code
    outside = ~stored.code.str.startswith(community)
    assert outside.sum() > 8000  # everything else kept as published
    # The draft publishes and every reader serves it.
    result = cli(fresh_city_url, "boundaries", "publish", "partial", "--force", "partial test")
    assert result.returncode == 0, result.stderr
    assert "locate index" in result.stderr


def test_replace_under_keeps_codes_by_overlap(fresh_city_url: str, tmp_path: Path) -> None:
    units = published_units(fresh_city_url)
    grids = units[(units.level == "grid") & (units.kind == "base")]
    community = str(grids.parent_code.value_counts().index[0])  # the one with most grids
    part = under(units, community)
    part = part[part.level == "grid"].copy()  # a planner's file of grids only, without codes
    old_codes = sorted(part.code)
    part["code"] = None
    part["parent_code"] = None
    path = tmp_path / "grids.geojson"
    part.to_file(path, driver="GeoJSON", engine="pyogrio")
    result = cli(
        fresh_city_url,
        "boundaries",
        "import",
        str(path),
        "--replace-under",
        community,
        "--label",
        "recoded",
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(fresh_city_url)
    with Session(engine) as session:
        stored = read_units(session, get_generation(session, "recoded").id)
    engine.dispose()
    redrawn = under(stored, community)
    assert sorted(redrawn[redrawn.level == "grid"].code) == old_codes
    assert set(redrawn[redrawn.level == "grid"].parent_code) == {community}
    assert len(stored) == len(units) - len(under(units, community)) + len(part)


def test_file_reaching_outside_the_code_is_refused(fresh_city_url: str, tmp_path: Path) -> None:
    units = published_units(fresh_city_url)
    communities = units[units.level == "community"].code.tolist()
    part = under(units, communities[0])
    stranger = under(units, communities[1]).iloc[:1]
    path = tmp_path / "mixed.gpkg"
    gpd.GeoDataFrame(
        np.concatenate([part.to_numpy(), stranger.to_numpy()]).tolist(),
        columns=units.columns,
        geometry="geometry",
        crs=units.crs,
    ).to_file(path, driver="GPKG", engine="pyogrio")
    result = cli(
        fresh_city_url, "boundaries", "import", str(path), "--replace-under", communities[0]
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert stranger.code.iloc[0] in result.stderr and "not under" in result.stderr
    unknown = cli(fresh_city_url, "boundaries", "import", str(path), "--replace-under", "330199")
    assert unknown.returncode != 0 and "330199" in unknown.stderr
    assert generation_ids(fresh_city_url) == [1]


def test_one_community_file_without_replace_under_cannot_be_published(
    fresh_city_url: str, tmp_path: Path
) -> None:
    units = published_units(fresh_city_url)
    community = units[units.level == "community"].code.iloc[0]
    path = tmp_path / "one.gpkg"
    under(units, community).to_file(path, driver="GPKG", engine="pyogrio")
    result = cli(fresh_city_url, "boundaries", "import", str(path), "--label", "one")
    assert result.returncode == 0, result.stderr
    result = cli(fresh_city_url, "boundaries", "publish", "one", "--force", "try anyway")
    assert result.returncode == 1
    assert "locate index" in result.stderr and "Traceback" not in result.stderr
    engine = create_engine(fresh_city_url)
    with Session(engine) as session:
        assert get_generation(session, 1).status == "published"
        assert get_generation(session, "one").status == "draft"
    engine.dispose()


def test_http_partial_import_then_every_reader_agrees(fresh_city_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_city_url, index_refresh_seconds=3600)
    engine = create_engine(fresh_city_url)
    with Session(engine) as session, session.begin():
        _, token = add_user(session, "planner-partial", "planner")
    engine.dispose()
    units = published_units(fresh_city_url)
    community, edited = edited_community(units)
    path = tmp_path / "community.geojson"
    under(edited, community).to_file(path, driver="GeoJSON", engine="pyogrio")
    elsewhere = units[(units.level == "grid") & ~units.code.str.startswith(community[:9])].iloc[0]
    probe = shapely.point_on_surface(elsewhere.geometry)
    with TestClient(create_app(settings)) as client:
        # Without replace_under the one-community file is a draft that cannot be published.
        with path.open("rb") as handle:
            alone = client.post(
                "/v1/generations/import",
                headers=bearer(token),
                data={"label": "alone"},
                files={"file": ("community.geojson", handle, "application/geo+json")},
            )
        assert alone.status_code == 201, alone.text
        refused = client.post(
            "/v1/generations/alone/publish",
            headers=bearer(token),
            json={"force_reason": "try anyway"},
        )
        assert refused.status_code == 409 and "locate index" in refused.json()["detail"]
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["active_generation"] == "1"
        assert health["locate_index"]["generation"] == "1"

        with path.open("rb") as handle:
            response = client.post(
                "/v1/generations/import",
                headers=bearer(token),
                data={"label": "whole", "replace_under": community},
                files={"file": ("community.geojson", handle, "application/geo+json")},
            )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["units"] == len(edited) and body["base_generation"] == "1"
        published = client.post(
            "/v1/generations/whole/publish",
            headers=bearer(token),
            json={"force_reason": "partial re-import test"},
        )
        assert published.status_code == 200, published.text
        new_id = published.json()["id"]
        assert published.json()["base_generation"] == "1"
        health = client.get("/healthz").json()
        assert health["status"] == "ok"
        assert health["active_generation"] == health["locate_index"]["generation"] == new_id
        located = client.get("/v1/locate", params={"lon": probe.x, "lat": probe.y}).json()
        assert located["generation"] == new_id
        assert located["owner"]["code"].startswith(elsewhere.code)
        grids = client.get("/v1/grids", params={"level": "community"}).json()
        assert grids["generation"] == new_id
        assert len(grids["features"]) == int((units.level == "community").sum())
        bad = client.post(
            "/v1/generations/import",
            headers=bearer(token),
            data={"replace_under": "x1"},
            files={"file": ("community.geojson", path.read_bytes(), "application/geo+json")},
        )
        assert bad.status_code == 422


def test_healthz_is_degraded_when_the_published_generation_has_no_index(
    fresh_city_url: str,
) -> None:
    """A generation published behind the planner's back (no index check): readers stay on
    the last generation the index serves and ``/healthz`` says degraded and why."""
    from gridgeo.store.generations import create_generation, publish
    from gridgeo.store.units import insert_units

    settings = Settings(database_url=fresh_city_url, index_refresh_seconds=3600)
    units = published_units(fresh_city_url)
    community = units[units.level == "community"].code.iloc[0]
    engine = create_engine(fresh_city_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        with Session(engine) as session, session.begin():
            broken = create_generation(session, "broken")
            insert_units(session, broken.id, under(units, community))
            publish(session, broken)  # the store alone does not check the index
            broken_id = str(broken.id)
        health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        assert health["active_generation"] == broken_id
        assert health["locate_index"]["generation"] == "1"
        assert "parent_code" in health["index_error"]
        grids = client.get("/v1/grids", params={"level": "community"}).json()
        assert grids["generation"] == "1"  # the same generation locate answers from
        point = shapely.point_on_surface(units[units.level == "grid"].geometry.iloc[-1])
        located = client.get("/v1/locate", params={"lon": point.x, "lat": point.y}).json()
        assert located["generation"] == "1"
    engine.dispose()
