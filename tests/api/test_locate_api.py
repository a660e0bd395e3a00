"""``/v1/locate`` on the sample city against an independent PostGIS oracle."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.crs import from_wgs84
from gridgeo.store.units import read_units

LEVEL_RANK = (
    "CASE level WHEN 'microgrid' THEN 5 WHEN 'grid' THEN 4 WHEN 'community' THEN 3 "
    "WHEN 'street' THEN 2 ELSE 1 END"
)


def postgis_owners(session: Session, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """Owner by ST_Covers plus DESIGN's rules, computed entirely in SQL.

    A unit within the locate tolerance (1 mm) of a point covers it too
    (DESIGN section 4: "on" means within the tolerance), distances measured
    as gridgeo documents them: longitudes scaled by the cosine of the
    district's mid-latitude, 111,320 m a degree (an affine metric: a straight
    lon/lat edge stays straight, unlike in a projection).
    """
    bounds = session.execute(
        text(
            "SELECT ST_YMin(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM grid_units "
            "WHERE generation_id = (SELECT id FROM generations WHERE status = 'published')) b"
        )
    ).one()
    cos = float(np.cos(np.radians(0.5 * (bounds[0] + bounds[1]))))
    rows = session.execute(
        text(
            f"""
            WITH pts AS (
                SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4490) AS geom
                FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[]))
                    WITH ORDINALITY AS p(x, y, i)
            ), ranked AS (
                SELECT p.i, u.code, row_number() OVER (
                    PARTITION BY p.i
                    ORDER BY (u.kind = 'special') DESC, {LEVEL_RANK} DESC, u.code
                ) AS r
                FROM pts p JOIN grid_units u
                  ON u.generation_id = (SELECT id FROM generations WHERE status = 'published')
                 AND ST_DWithin(u.geom, p.geom, 3e-8)
                 AND (ST_Covers(u.geom, p.geom)
                      OR 111320 * ST_Distance(ST_Scale(u.geom, :cos, 1),
                                              ST_Scale(p.geom, :cos, 1)) <= 0.001)
            )
            SELECT p.i, r.code FROM pts p LEFT JOIN ranked r ON r.i = p.i AND r.r = 1
            ORDER BY p.i
            """
        ),
        {"xs": lon.tolist(), "ys": lat.tolist(), "cos": cos},
    ).all()
    return [row[1] for row in rows]


@pytest.fixture(scope="module")
def city_points(city_engine) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Random points over the district plus points exactly on vertices and edges."""
    with Session(city_engine) as session:
        units = read_units(session, 1)
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = units.total_bounds
    n = 100_000
    lon = rng.uniform(minx - 0.02, maxx + 0.02, n)
    lat = rng.uniform(miny - 0.02, maxy + 0.02, n)
    grids = units[units["level"].isin(["grid", "microgrid"])]
    coords = shapely.get_coordinates(grids.geometry.values)
    vertices = coords[rng.choice(len(coords), 3000, replace=False)]
    a = coords[rng.choice(len(coords) - 1, 3000, replace=False)]
    midpoints = (a + coords[np.minimum(np.searchsorted(np.arange(len(coords)), 0) + 1, 1)]) / 2
    del midpoints  # edges: use exact rings below
    rings = shapely.get_exterior_ring(shapely.get_parts(grids.geometry.values[:3000]))
    on_edges = shapely.get_coordinates(
        shapely.line_interpolate_point(rings, rng.uniform(0, 1, len(rings)), normalized=True)
    )
    lon = np.concatenate([lon, vertices[:, 0], on_edges[:, 0], [121.5, 119.0]])
    lat = np.concatenate([lat, vertices[:, 1], on_edges[:, 1], [31.0, 29.0]])
    return lon, lat


def test_batch_matches_postgis_oracle(
    city_client: TestClient, city_db: Session, city_points: tuple[np.ndarray, np.ndarray]
) -> None:
    lon, lat = city_points
    expected = postgis_owners(city_db, lon, lat)
    got: list[str | None] = []
    for start in range(0, len(lon), 50_000):
        chunk = np.column_stack([lon[start : start + 50_000], lat[start : start + 50_000]])
        response = city_client.post("/v1/locate", json={"points": chunk.tolist()})
        assert response.status_code == 200, response.text[:300]
        got.extend(item["owner"] for item in response.json()["results"])
    mismatches = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert not mismatches, f"{len(mismatches)} mismatches, first {mismatches[:5]}"
    assert sum(code is None for code in expected) > 100  # outside points were tested
    assert len({code for code in expected if code}) > 1000


def test_get_locate_contract(city_client: TestClient, city_db: Session) -> None:
    units = read_units(city_db, 1, level="microgrid")
    point = shapely.point_on_surface(units.geometry.values[10])
    response = city_client.get("/v1/locate", params={"lon": point.x, "lat": point.y})
    assert response.status_code == 200
    body = response.json()
    assert body["generation"] == "1"
    assert body["point"] == {"lon": point.x, "lat": point.y, "crs": "wgs84"}
    codes = [item["code"] for item in body["chain"]]
    assert codes[0] == "330109" and [len(c) for c in codes] == [6, 9, 12, 15, 18]
    assert body["owner"]["code"] == codes[-1] and body["owner"]["level"] == "microgrid"
    assert body["owner"]["kind"] == "base" and body["on_boundary"] is False
    assert "nearest" not in body


def test_gcj02_and_bd09_resolve_like_wgs84(city_client: TestClient, city_db: Session) -> None:
    grids = read_units(city_db, 1, level="grid")
    grids = grids[grids["kind"] == "base"].iloc[::40]
    inner = shapely.buffer(grids.to_crs(4549).geometry.values, -5.0)
    points = shapely.point_on_surface(shapely.get_parts(shapely.from_wkb(shapely.to_wkb(inner))))
    pts = shapely.points(shapely.get_coordinates(shapely.transform(points, lambda c: c)))
    wgs = shapely.get_coordinates(
        __import__("geopandas").GeoSeries(pts, crs=4549).to_crs(4326).values
    )
    results = {}
    for crs in ("wgs84", "gcj02", "bd09"):
        x, y = from_wgs84(wgs[:, 0], wgs[:, 1], crs)
        response = city_client.post(
            "/v1/locate", json={"crs": crs, "points": np.column_stack([x, y]).tolist()}
        )
        assert response.status_code == 200
        results[crs] = [item["owner"] for item in response.json()["results"]]
    assert results["wgs84"] == results["gcj02"] == results["bd09"]
    assert all(results["wgs84"])


def test_csv_batch_keeps_order_and_ids(city_client: TestClient) -> None:
    body = "id,lon,lat\na,120.27,30.17\nb,121.9,31.9\nc,120.26,30.16\n"
    response = city_client.post("/v1/locate", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert results[1]["owner"] is None and results[1]["chain"] == []
    assert results[0]["owner"] and results[0]["chain"][0] == "330109"


def test_bad_rows_are_422_naming_the_row(city_client: TestClient) -> None:
    response = city_client.post("/v1/locate", json={"points": [[120.2, 30.1], [200, 30.1]]})
    assert response.status_code == 422
    assert "row 1" in response.json()["detail"]
    response = city_client.post(
        "/v1/locate", content="lon,lat\n120.2,30.1\nabc,30\n", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422 and "row 1" in response.json()["detail"]
    response = city_client.get("/v1/locate", params={"lon": "nan", "lat": 30})
    assert response.status_code == 422
    response = city_client.get("/v1/locate", params={"lon": 120, "lat": 95})
    assert response.status_code == 422 and "lat" in response.json()["detail"]
    response = city_client.get("/v1/locate", params={"lon": 120, "lat": 30, "crs": "venus"})
    assert response.status_code == 422


def test_batch_limit_is_413(city_client: TestClient) -> None:
    points = [[120.2, 30.1]] * 50_001
    response = city_client.post("/v1/locate", json={"points": points})
    assert response.status_code == 413
    assert "50000" in response.json()["detail"]


def test_within_returns_nearest(city_client: TestClient) -> None:
    far = city_client.get("/v1/locate", params={"lon": 119.0, "lat": 29.0, "within": 500})
    assert far.status_code == 200 and far.json()["owner"] is None
    assert "nearest" not in far.json()
    district = city_client.get("/v1/grids/330109").json()
    minx = min(c[0] for ring in district["geometry"]["coordinates"] for c in ring[0])
    ys = [c[1] for ring in district["geometry"]["coordinates"] for c in ring[0] if c[0] == minx]
    response = city_client.get(
        "/v1/locate", params={"lon": minx - 0.002, "lat": ys[0], "within": 1000}
    )
    body = response.json()
    assert body["owner"] is None
    assert 150 < body["nearest"]["distance_m"] < 250


def test_healthz_reports_the_locate_index(city_client: TestClient) -> None:
    city_client.get("/v1/locate", params={"lon": 120.27, "lat": 30.17})
    index = city_client.get("/healthz").json()["locate_index"]
    assert index["generation"] == "1" and index["units"] > 8000
    assert 5 < index["memory_mb"] < 1000
