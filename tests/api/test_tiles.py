"""Vector tiles of the published generation (``/tiles/{z}/{x}/{y}.mvt``, ``/tiles.json``)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gridgeo.settings import Settings
from gridgeo.store.generations import create_generation, publish
from tests.api.test_ogc import serve

MVT = "application/vnd.mapbox-vector-tile"
CENTRE = (120.27, 30.16)  # inside the sample city


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def tile_server(city_url: str) -> Iterator[str]:
    yield from serve(Settings(database_url=city_url, index_refresh_seconds=3600))


def codes_near_tile(
    engine: Engine, level: str, z: int, x: int, y: int
) -> tuple[set[str], set[str]]:
    """Codes that clearly overlap the tile, and codes that touch its buffered envelope."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "WITH t AS (SELECT ST_Transform(ST_TileEnvelope(:z, :x, :y), 4490) AS env, "
                "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.02), 4490) AS wide) "
                "SELECT code, ST_Area(ST_Intersection(geom, t.env)) / ST_Area(t.env) AS share, "
                "ST_Intersects(geom, t.wide) AS near FROM grid_units, t "
                "WHERE generation_id = 1 AND level = :level AND geom && t.wide"
            ),
            {"z": z, "x": x, "y": y, "level": level},
        ).all()
    return {r.code for r in rows if r.share > 1e-3}, {r.code for r in rows if r.near}


def test_tile_has_layers_per_level_with_codes(tile_server: str, city_engine: Engine) -> None:
    z = 14
    x, y = tile_of(*CENTRE, z)
    with httpx.Client(base_url=tile_server) as http:
        response = http.get(f"/tiles/{z}/{x}/{y}.mvt")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == MVT
        assert response.headers["etag"].startswith('W/"g1-')
        tile = mapbox_vector_tile.decode(response.content)
        assert set(tile) == {"districts", "streets", "communities", "grids", "microgrids"}
        for layer, level in (("microgrids", "microgrid"), ("grids", "grid")):
            got = {f["properties"]["code"] for f in tile[layer]["features"]}
            inside, near = codes_near_tile(city_engine, level, z, x, y)
            assert inside and inside <= got <= near, layer
            props = tile[layer]["features"][0]["properties"]
            assert props["level"] == level and props["kind"] in ("base", "special")
            assert set(props) == {"code", "name", "level", "kind"}
        assert [f["properties"]["code"] for f in tile["districts"]["features"]] == ["330109"]
        # coarse zooms carry only the coarse layers
        x8, y8 = tile_of(*CENTRE, 8)
        coarse = mapbox_vector_tile.decode(http.get(f"/tiles/8/{x8}/{y8}.mvt").content)
        assert set(coarse) == {"districts", "streets"}
        # revalidation
        again = http.get(
            f"/tiles/{z}/{x}/{y}.mvt", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304


def test_empty_and_invalid_tiles(tile_server: str) -> None:
    with httpx.Client(base_url=tile_server) as http:
        x, y = tile_of(0.0, 0.0, 10)  # the Gulf of Guinea
        empty = http.get(f"/tiles/10/{x}/{y}.mvt")
        assert empty.status_code == 204 and empty.content == b""
        assert http.get("/tiles/2/4/0.mvt").status_code == 404
        assert http.get("/tiles/2/0/4.mvt").status_code == 404
        for bad in ("/tiles/23/0/0.mvt", "/tiles/-1/0/0.mvt", "/tiles/a/0/0.mvt"):
            assert http.get(bad).status_code == 422, bad
        meta = http.get("/tiles.json").json()
        assert meta["tiles"] == [f"{tile_server}/tiles/{{z}}/{{x}}/{{y}}.mvt"]
        assert [layer["id"] for layer in meta["vector_layers"]][-1] == "microgrids"
        west, south, east, north = meta["bounds"]
        assert 120 < west < east < 121 and 29.8 < south < north < 30.4


def test_tile_cache_follows_publish(fresh_city_url: str) -> None:
    z = 13
    x, y = tile_of(*CENTRE, z)
    app = create_app(Settings(database_url=fresh_city_url, index_refresh_seconds=3600))
    with TestClient(app) as client:
        first = client.get(f"/tiles/{z}/{x}/{y}.mvt")
        names = {
            f["properties"]["name"]
            for f in mapbox_vector_tile.decode(first.content)["grids"]["features"]
        }
        assert names and client.get(f"/tiles/{z}/{x}/{y}.mvt").content == first.content
        assert app.state.tile_cache.hits == 1 and len(app.state.tile_cache) == 1
        # publish a copy of generation 1 with renamed grids
        engine = create_engine(fresh_city_url)
        with Session(engine) as session, session.begin():
            generation = create_generation(session, "renamed")
            session.execute(
                text(
                    "INSERT INTO grid_units (generation_id, code, parent_code, level, kind, name, "
                    "population, households, full_time_workers, part_time_workers, geom) "
                    "SELECT :g, code, parent_code, level, kind, name || ' (new)', population, "
                    "households, full_time_workers, part_time_workers, geom FROM grid_units "
                    "WHERE generation_id = 1"
                ),
                {"g": generation.id},
            )
            publish(session, generation)
            new_id = generation.id
        engine.dispose()
        second = client.get(f"/tiles/{z}/{x}/{y}.mvt")
        assert second.headers["etag"] != first.headers["etag"]
        assert second.headers["etag"].startswith(f'W/"g{new_id}-')
        renamed = {
            f["properties"]["name"]
            for f in mapbox_vector_tile.decode(second.content)["grids"]["features"]
        }
        assert renamed == {f"{name} (new)" for name in names}
        stale = client.get(
            f"/tiles/{z}/{x}/{y}.mvt", headers={"If-None-Match": first.headers["etag"]}
        )
        assert stale.status_code == 200
