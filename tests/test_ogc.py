"""OGC API parameters (pure): bbox, CRS, datetime, validity and page links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridgeo.errors import InvalidParameter
from gridgeo.ogc import (
    CRS84,
    EPSG4326,
    EPSG4490,
    page_links,
    parse_bbox,
    parse_crs,
    parse_datetime,
    validity_intersects,
)

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_crs_spellings() -> None:
    assert parse_crs(None).uri == parse_crs("CRS84").uri == CRS84
    assert not parse_crs(CRS84).lat_lon
    for spelling in (EPSG4490, "EPSG:4490", "[EPSG:4490]"):
        assert parse_crs(spelling) == parse_crs(EPSG4490)
    assert parse_crs("EPSG:4326").uri == EPSG4326 and parse_crs(EPSG4326).lat_lon
    with pytest.raises(InvalidParameter, match="bbox-crs"):
        parse_crs("EPSG:3857", "bbox-crs")


def test_bbox_axis_order_and_heights() -> None:
    assert parse_bbox("120,30,121,31") == (120, 30, 121, 31)
    assert parse_bbox("120,30,0,121,31,100") == (120, 30, 121, 31)
    assert parse_bbox("30,120,31,121", parse_crs("EPSG:4490")) == (120, 30, 121, 31)
    # a lon/lat box given as EPSG:4490 has "latitudes" of 120: refused, naming the axis order
    with pytest.raises(InvalidParameter, match="axis order"):
        parse_bbox("120,30,121,31", parse_crs("EPSG:4490"))
    for bad in ("1,2,3", "1,2,3,4,5", "a,2,3,4", "inf,2,3,4", "3,2,1,4", "1,4,3,2", "-181,0,0,1"):
        with pytest.raises(InvalidParameter, match="bbox"):
            parse_bbox(bad)


def test_datetime_forms() -> None:
    assert parse_datetime("2026-01-01T00:00:00Z") == (T, T)
    assert parse_datetime("2026-01-01T08:00:00+08:00") == (T, T)
    assert parse_datetime("2026-01-01") == (T, T + timedelta(days=1))
    assert parse_datetime("2026-01-01T00:00:00Z/..") == (T, None)
    assert parse_datetime("../2026-01-01T00:00:00Z") == (None, T)
    assert parse_datetime("/2026-01-01") == (None, T + timedelta(days=1))
    for bad in ("", "../..", "2026-01-01T00:00:00", "yesterday", "2026-02-01/2026-01-01", "\x00"):
        with pytest.raises(InvalidParameter, match="datetime"):
            parse_datetime(bad)


def test_validity_intersects() -> None:
    day = timedelta(days=1)
    assert validity_intersects(T, None, T, T)
    assert validity_intersects(T, None, None, None)
    assert not validity_intersects(T, None, None, T - day)
    assert validity_intersects(T, T + day, T + day / 2, None)
    assert not validity_intersects(T, T + day, T + day, None)  # valid_to is exclusive
    assert not validity_intersects(None, None, None, None)  # never published


def test_page_links_keep_filters() -> None:
    links = page_links(
        "http://h/items", {"bbox": "1,2,3,4", "offset": "5"}, offset=5, limit=5, matched=12
    )
    assert [x["rel"] for x in links] == ["self", "next", "prev"]
    assert links[1]["href"] == "http://h/items?bbox=1%2C2%2C3%2C4&limit=5&offset=10"
    assert links[2]["href"].endswith("limit=5&offset=0")
    last = page_links("http://h/items", {}, offset=10, limit=5, matched=12)
    assert [x["rel"] for x in last] == ["self", "prev"]
