"""OGC API – Features, /v1/grids paging and web conventions over a real HTTP server.

GDAL's OAPIF driver (the one QGIS uses) must list the collections and copy
a collection to a GeoPackage following every ``next`` link.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gridgeo.ogc import CRS84, EPSG4490
from gridgeo.settings import Settings
from gridgeo.store.generations import create_generation
from tests.api.test_foundation import _free_port

PAGE_MAX = 500


@pytest.fixture
def gdal() -> None:
    """GDAL's command-line tools (``scripts/setup-system.sh`` installs them)."""
    if shutil.which("ogrinfo") is None or shutil.which("ogr2ogr") is None:
        pytest.fail("ogrinfo/ogr2ogr not found: install gdal-bin (scripts/setup-system.sh)")


def serve(settings: Settings) -> Iterator[str]:
    """Serve the app with uvicorn on a loopback port in a thread; yield its URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def city_server(city_url: str) -> Iterator[str]:
    """The API on the sample city, with pages of at most PAGE_MAX features."""
    yield from serve(Settings(database_url=city_url, page_max=PAGE_MAX, index_refresh_seconds=3600))


@pytest.fixture(scope="module")
def http(city_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=city_server, timeout=60) as client:
        yield client


def count(engine: Engine, where: str) -> int:
    with engine.connect() as conn:
        sql = f"SELECT count(*) FROM grid_units WHERE generation_id = 1 AND {where}"
        return int(conn.execute(text(sql)).scalar_one())


def test_landing_conformance_and_collections(http: httpx.Client, city_server: str) -> None:
    landing = http.get("/")
    assert landing.status_code == 200
    rels = {link["rel"]: link["href"] for link in landing.json()["links"]}
    assert rels["data"] == f"{city_server}/collections"
    assert rels["conformance"] == f"{city_server}/conformance"
    # QGIS needs a service-desc of exactly this type, and reads limit's default/maximum
    desc = next(x for x in landing.json()["links"] if x["rel"] == "service-desc")
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    api = http.get(desc["href"])
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert api.json()["openapi"].startswith("3.0.")
    limit = api.json()["components"]["parameters"]["limit"]
    assert limit["schema"]["maximum"] == PAGE_MAX and limit["schema"]["default"] == 100
    assert limit["style"] == "form" and limit["explode"] is False
    classes = http.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    body = http.get("/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == ["districts", "streets", "communities", "grids", "microgrids", "special-grids"]
    grids = http.get("/collections/grids").json()
    assert grids["storageCrs"] == EPSG4490 and CRS84 in grids["crs"]
    x0, y0, x1, y1 = grids["extent"]["spatial"]["bbox"][0]
    assert 120 < x0 < x1 < 121 and 29.8 < y0 < y1 < 30.4
    assert grids["extent"]["temporal"]["interval"][0][1] is None  # still valid
    assert http.get("/collections/planets").status_code == 404


def test_api_definition_is_valid_openapi_30(http: httpx.Client) -> None:
    definitions = pytest.importorskip("schemathesis.specs.openapi.definitions")
    jsonschema = pytest.importorskip("jsonschema")
    errors = list(
        jsonschema.Draft4Validator(definitions.OPENAPI_30).iter_errors(http.get("/api").json())
    )
    assert not errors, [e.message for e in errors]


def test_items_follow_next_links_to_every_feature(http: httpx.Client, city_engine: Engine) -> None:
    expected = count(city_engine, "level = 'microgrid'")
    assert expected > 2 * PAGE_MAX
    url: str | None = "/collections/microgrids/items?limit=100000"
    codes: list[str] = []
    pages = 0
    while url:
        response = http.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/geo+json"
        assert response.headers["content-crs"] == f"<{CRS84}>"
        page = response.json()
        assert page["numberMatched"] == expected
        assert page["numberReturned"] == len(page["features"]) <= PAGE_MAX
        assert page["timeStamp"].endswith("Z")
        codes += [f["id"] for f in page["features"]]
        url = next((x["href"] for x in page["links"] if x["rel"] == "next"), None)
        pages += 1
    assert len(codes) == len(set(codes)) == expected
    assert pages == -(-expected // PAGE_MAX)
    default = http.get("/collections/microgrids/items").json()
    assert default["numberReturned"] == 100
    second = http.get("/collections/microgrids/items?offset=100&limit=100").json()
    assert [x["rel"] for x in second["links"]][:3] == ["self", "next", "prev"]


def test_special_grids_and_single_items(http: httpx.Client, city_engine: Engine) -> None:
    page = http.get("/collections/special-grids/items", params={"limit": 1000}).json()
    assert page["numberMatched"] == count(city_engine, "kind = 'special'") > 0
    assert {f["properties"]["kind"] for f in page["features"]} == {"special"}
    code = page["features"][0]["id"]
    one = http.get(f"/collections/special-grids/items/{code}")
    assert one.status_code == 200 and one.json()["id"] == code
    assert one.headers["content-type"] == "application/geo+json"
    assert {x["rel"] for x in one.json()["links"]} == {"self", "collection"}
    assert http.get(f"/collections/microgrids/items/{code}").status_code == 404
    assert http.get("/collections/grids/items/abc").status_code == 404


def test_bbox_and_crs(http: httpx.Client, city_engine: Engine) -> None:
    box = (120.25, 30.10, 120.30, 30.15)
    with city_engine.connect() as conn:
        expected = conn.execute(
            text(
                "SELECT count(*) FROM grid_units WHERE generation_id = 1 AND level = 'grid' "
                "AND ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4490))"
            ),
            dict(zip("abcd", box, strict=True)),
        ).scalar_one()
    assert 0 < expected < count(city_engine, "level = 'grid'")
    lonlat = http.get(
        "/collections/grids/items", params={"bbox": ",".join(map(str, box)), "limit": 1000}
    ).json()
    assert lonlat["numberMatched"] == expected
    # the same box in EPSG:4490 axis order (latitude first), answered in EPSG:4490
    latlon = http.get(
        "/collections/grids/items",
        params={
            "bbox": "30.10,120.25,30.15,120.30",
            "bbox-crs": EPSG4490,
            "crs": EPSG4490,
            "limit": 1000,
        },
    )
    assert latlon.headers["content-crs"] == f"<{EPSG4490}>"
    assert latlon.json()["numberMatched"] == expected
    first = lonlat["features"][0]["geometry"]["coordinates"][0][0][0]
    flipped = latlon.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 120 < first[0] < 121 and flipped == [first[1], first[0]]
    for bad in (
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "120.3,30,120.2,30.1"},
        {"bbox": "nan,30,120.2,30.1"},
        {"crs": "EPSG:3857"},
        {"bbox": "1,2,3,4", "bbox-crs": "EPSG:9999"},
        {"datetime": "2026-13-01T00:00:00Z"},
        {"datetime": "2026-01-01T00:00:00"},
    ):
        response = http.get("/collections/grids/items", params=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"] == "invalid_parameter"


def test_datetime_is_generation_validity(http: httpx.Client) -> None:
    valid_from = http.get("/collections/grids").json()["extent"]["temporal"]["interval"][0][0]
    assert valid_from
    before = http.get("/collections/grids/items", params={"datetime": "../2000-01-01T00:00:00Z"})
    assert before.status_code == 200 and before.json()["numberMatched"] == 0
    now = http.get("/collections/grids/items", params={"datetime": valid_from + "/.."}).json()
    assert now["numberMatched"] > 0
    assert (
        http.get("/collections/grids/items", params={"datetime": "2999-01-01"}).json()[
            "numberMatched"
        ]
        == now["numberMatched"]
    )


def test_v1_grids_is_paged_with_next_links(http: httpx.Client, city_engine: Engine) -> None:
    expected = count(city_engine, "level = 'grid'")
    page = http.get("/v1/grids", params={"level": "grid", "limit": 10**6})
    assert page.headers["content-type"] == "application/geo+json"
    body = page.json()
    assert body["numberMatched"] == expected and body["numberReturned"] == PAGE_MAX
    codes = [f["id"] for f in body["features"]]
    url = next(x["href"] for x in body["links"] if x["rel"] == "next")
    while url:
        body = http.get(url).json()
        codes += [f["id"] for f in body["features"]]
        url = next((x["href"] for x in body["links"] if x["rel"] == "next"), None)
    assert codes == sorted(codes) and len(set(codes)) == expected
    streets = http.get("/v1/grids", params={"level": "street"}).json()
    assert streets["numberReturned"] == streets["numberMatched"] == 27
    assert [x["rel"] for x in streets["links"]] == ["self"]
    one = http.get("/v1/grids/330109")
    assert one.headers["content-type"] == "application/geo+json" and one.json()["id"] == "330109"


def test_head_gzip_etag_and_cors(http: httpx.Client) -> None:
    get = http.get("/v1/grids", params={"level": "street"}, headers={"Accept-Encoding": "gzip"})
    head = http.head("/v1/grids", params={"level": "street"}, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/geo+json"
    assert head.headers["content-length"] == get.headers["content-length"]
    assert get.headers["content-encoding"] == "gzip"
    assert int(get.headers["content-length"]) < len(get.content) / 3  # httpx decoded it
    for path in ("/", "/collections", "/healthz", "/collections/grids/items", "/tiles.json"):
        assert http.head(path).status_code == 200, path
    assert http.head("/v1/no-such-thing").status_code == 404
    # small bodies are not compressed
    small = http.get("/conformance", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    # ETag keyed by generation: a revalidation answers 304 without a body
    etag = get.headers["etag"]
    assert etag.startswith('W/"g1-') and "max-age" in get.headers["cache-control"]
    again = http.get("/v1/grids", params={"level": "street"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = http.get("/v1/grids", params={"level": "district"}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    items = http.get("/collections/grids/items")
    assert (
        http.get(
            "/collections/grids/items", headers={"If-None-Match": items.headers["etag"]}
        ).status_code
        == 304
    )
    # CORS: any origin by default, preflight answered
    cors = http.get("/v1/grids/330109", headers={"Origin": "https://map.example"})
    assert cors.headers["access-control-allow-origin"] == "*"
    preflight = http.options(
        "/v1/locate",
        headers={
            "Origin": "https://map.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


def test_gzip_keeps_csv_and_streams_intact(http: httpx.Client) -> None:
    rows = "\n".join(f"{120.2 + i / 10000},{30.1},p{i}" for i in range(300))
    plain = http.post(
        "/v1/locate", content="lon,lat,id\n" + rows, headers={"Content-Type": "text/csv"}
    )
    raw = httpx.post(
        str(http.base_url) + "/v1/locate",
        content="lon,lat,id\n" + rows,
        headers={"Content-Type": "text/csv", "Accept-Encoding": "gzip"},
    )
    assert raw.status_code == plain.status_code == 200
    assert raw.headers.get("content-encoding") == "gzip"
    assert raw.text == plain.text  # decoded transparently, byte for byte equal
    assert len(gzip.compress(plain.content)) < len(plain.content)


def test_cors_can_be_restricted_or_disabled(city_url: str) -> None:
    for origins, expected in (("https://a.example", "https://a.example"), ("", None)):
        settings = Settings(database_url=city_url, cors_origins=origins)
        with TestClient(create_app(settings)) as client:
            response = client.get("/conformance", headers={"Origin": "https://a.example"})
            assert response.headers.get("access-control-allow-origin") == expected
            other = client.get("/conformance", headers={"Origin": "https://b.example"})
            assert "access-control-allow-origin" not in other.headers


@pytest.mark.usefixtures("gdal")
def test_ogrinfo_lists_the_collections(city_server: str) -> None:
    result = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{city_server}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for collection in ("districts", "streets", "communities", "grids", "microgrids"):
        assert f": {collection} " in result.stdout or f": {collection}\n" in result.stdout
    assert "special-grids" in result.stdout


@pytest.mark.usefixtures("gdal")
def test_ogr2ogr_copies_every_feature(
    city_server: str, city_engine: Engine, tmp_path: Path
) -> None:
    expected = count(city_engine, "level = 'grid'")
    assert expected > 3 * PAGE_MAX  # so the copy must follow several next links
    out = tmp_path / "grids.gpkg"
    result = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{city_server}", "grids"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    info = subprocess.run(
        ["ogrinfo", "-so", "-ro", str(out), "grids"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Feature Count: {expected}\n" in info
    codes = subprocess.run(
        ["ogrinfo", "-ro", "-q", "-sql", "SELECT COUNT(DISTINCT code) AS n FROM grids", str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"n (Integer) = {expected}" in codes or f"n (Integer64) = {expected}" in codes


@pytest.mark.usefixtures("gdal")
def test_ogrinfo_opens_v1_grids_url(city_server: str) -> None:
    result = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", f"{city_server}/v1/grids?level=street"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Feature Count: 27" in result.stdout


def test_byte_ranges_of_uncompressed_bodies(http: httpx.Client) -> None:
    full = http.get("/v1/grids", params={"level": "street"}).content
    part = http.get(
        "/v1/grids",
        params={"level": "street"},
        headers={"Range": "bytes=10-99", "Accept-Encoding": "gzip"},
    )
    assert "content-encoding" not in part.headers  # ranges of the identity body
    assert part.status_code == 206 and part.content == full[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(full)}"
    tail = http.get("/v1/grids", params={"level": "street"}, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == full[-50:]
    beyond = http.get("/v1/grids", params={"level": "street"}, headers={"Range": "bytes=10000000-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(full)}"
    # multi-range requests get the whole body
    multi = http.get("/v1/grids", params={"level": "street"}, headers={"Range": "bytes=0-1,5-6"})
    assert multi.status_code == 200 and multi.content == full


@pytest.mark.usefixtures("gdal")
def test_vsicurl_reads_v1_grids_in_ranges(city_server: str) -> None:
    # QGIS's "Protocol: HTTP(S)" source: HEAD for the size, then byte ranges
    url = f"/vsicurl/{city_server}/v1/grids?level=grid&limit={PAGE_MAX}"
    result = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", url], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"Feature Count: {PAGE_MAX}" in result.stdout


def test_drafts_get_no_etag(city_client: TestClient, city_db: Session) -> None:
    # a draft can be repaired in place, so its content is not keyed by its id
    draft = create_generation(city_db, "draft-for-etag")
    city_db.execute(
        text(
            "INSERT INTO grid_units (generation_id, code, parent_code, level, kind, name, geom) "
            "SELECT :g, code, parent_code, level, kind, name, geom FROM grid_units "
            "WHERE generation_id = 1 AND level = 'street'"
        ),
        {"g": draft.id},
    )
    response = city_client.get("/v1/grids", params={"generation": "draft-for-etag"})
    assert response.status_code == 200 and response.json()["numberMatched"] == 27
    assert "etag" not in response.headers and response.headers["cache-control"] == "no-cache"
    again = city_client.get(
        "/v1/grids", params={"generation": "draft-for-etag"}, headers={"If-None-Match": "*"}
    )
    assert again.status_code == 200
    published = city_client.get("/v1/grids", params={"generation": "1", "level": "street"})
    assert published.headers["etag"].startswith('W/"g1-')


def test_head_is_answered_on_every_get_route(city_client: TestClient) -> None:
    spec = city_client.get("/openapi.json").json()
    gets = [path for path, ops in spec["paths"].items() if "get" in ops]
    assert len(gets) > 20
    values = {"collectionId": "grids", "featureId": "330109", "code": "330109"}
    for path in gets:
        url = re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "0"), path)
        head, get = city_client.head(url), city_client.get(url)
        assert head.status_code == get.status_code != 405, (path, head.status_code)
        assert head.content == b""


def test_gzip_and_ranges_keep_file_downloads_intact(city_server: str) -> None:
    url = f"{city_server}/v1/generations/1/export?format=geojson"
    with httpx.Client(timeout=120) as raw:
        plain = raw.get(url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        with raw.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as packed:
            assert packed.headers["content-encoding"] == "gzip"
            wire = b"".join(packed.iter_raw())
        assert gzip.decompress(wire) == plain.content
        assert len(wire) < len(plain.content) / 3
        part = raw.get(url, headers={"Range": "bytes=100-199", "Accept-Encoding": "gzip"})
        assert part.status_code == 206 and part.content == plain.content[100:200]
