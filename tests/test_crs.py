"""Tests of gridgeo.crs: WGS84 / CGCS2000 / GCJ-02 / BD-09 conversions."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely import LineString, Point, Polygon

from gridgeo import crs
from gridgeo.crs import (
    CRS_NAMES,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_lonlat,
    convert,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalize_crs_name,
    out_of_china,
    to_wgs84,
    transform_geometries,
    validate_lonlat,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridgeo.errors import CRSMismatch, InvalidInput

GEOD = Geod(ellps="WGS84")
CM = 0.01  # metres

# Published WGS84 -> GCJ-02 vectors, as (lon, lat).
GCJ_VECTORS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]
# Published BD-09 -> GCJ-02 vector, as (lon, lat).
BD_VECTOR = ((123.0, 45.0), (122.99363304, 44.99365430))

OUTSIDE = np.array(
    [
        (2.3522, 48.8566),  # Paris
        (-74.006, 40.7128),  # New York
        (151.2093, -33.8688),  # Sydney
        (139.6917, 35.6895),  # Tokyo, east of the box
        (103.8198, 0.3521),  # south of the box
        (37.6173, 55.7558),  # Moscow, west of the box
        (120.0, 60.0),  # north of the box
        (-179.9, -89.9),
        (0.0, 89.99),
    ]
)


def random_china(n: int, seed: int, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Random points over the out-of-China box shrunk by ``margin`` degrees."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(crs.CHINA_LON_MIN + margin, crs.CHINA_LON_MAX - margin, n)
    lat = rng.uniform(crs.CHINA_LAT_MIN + margin, crs.CHINA_LAT_MAX - margin, n)
    return lon, lat


def distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(lon1, lat1, lon2, lat2)
    _, _, dist = GEOD.inv(lon1.ravel(), lat1.ravel(), lon2.ravel(), lat2.ravel())
    return np.asarray(dist)


# --------------------------------------------------------------------------- published vectors


@pytest.mark.parametrize(("wgs", "gcj"), GCJ_VECTORS)
def test_wgs84_to_gcj02_matches_published_vectors(wgs, gcj):
    lon, lat = wgs84_to_gcj02(*wgs)
    assert float(lon) == pytest.approx(gcj[0], abs=1e-9)
    assert float(lat) == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), GCJ_VECTORS)
def test_gcj02_to_wgs84_inverts_published_vectors(wgs, gcj):
    lon, lat = gcj02_to_wgs84(*gcj)
    assert float(lon) == pytest.approx(wgs[0], abs=1e-9)
    assert float(lat) == pytest.approx(wgs[1], abs=1e-9)


def test_published_vectors_as_one_array():
    wgs = np.array([v[0] for v in GCJ_VECTORS])
    gcj = np.array([v[1] for v in GCJ_VECTORS])
    lon, lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    np.testing.assert_allclose(np.c_[lon, lat], gcj, atol=1e-9, rtol=0)


def test_bd09_to_gcj02_matches_published_vector():
    (blon, blat), (glon, glat) = BD_VECTOR
    lon, lat = bd09_to_gcj02(blon, blat)
    assert float(lon) == pytest.approx(glon, abs=1e-6)
    assert float(lat) == pytest.approx(glat, abs=1e-6)


def test_bd09_inverse_is_exact_unlike_closed_form():
    (blon, blat), _ = BD_VECTOR
    back = gcj02_to_bd09(*bd09_to_gcj02(blon, blat))
    assert distance_m(blon, blat, *back).max() < 1e-6
    # The published vector (the closed-form inverse) misses by centimetres.
    closed_form = gcj02_to_bd09(*BD_VECTOR[1])
    assert distance_m(blon, blat, *closed_form).max() > 1e-3


def test_gcj02_to_bd09_known_point():
    lon, lat = gcj02_to_bd09(116.38404722455657, 39.91334545536069)
    assert float(lon) == pytest.approx(116.390455, abs=1e-6)
    assert float(lat) == pytest.approx(39.919576, abs=1e-6)


# --------------------------------------------------------------------------- round trips


def test_gcj02_round_trip_within_one_centimetre():
    lon, lat = random_china(200_000, seed=1)
    glon, glat = wgs84_to_gcj02(lon, lat)
    # The forward transform really moves points (tens to hundreds of metres).
    assert np.median(distance_m(lon, lat, glon, glat)) > 50
    back = gcj02_to_wgs84(glon, glat)
    assert distance_m(lon, lat, *back).max() <= CM
    # And the inverse is exact in the other direction too.
    fwd = wgs84_to_gcj02(*gcj02_to_wgs84(glon, glat))
    assert distance_m(glon, glat, *fwd).max() <= CM


def test_gcj02_points_without_preimage_near_box_edge_are_unchanged():
    # GCJ-02 points just inside the western edge have no WGS84 preimage: every
    # in-China point is shifted east past them, out-of-China points stay put.
    lon, lat = gcj02_to_wgs84(crs.CHINA_LON_MIN + 0.001, 30.0)
    assert (float(lon), float(lat)) == (crs.CHINA_LON_MIN + 0.001, 30.0)
    # Away from the edges every GCJ-02 point has an exact preimage.
    glon, glat = random_china(20_000, seed=9, margin=0.02)
    fwd = wgs84_to_gcj02(*gcj02_to_wgs84(glon, glat))
    assert distance_m(glon, glat, *fwd).max() <= CM


def test_bd09_round_trip_within_one_centimetre():
    lon, lat = random_china(200_000, seed=2)
    blon, blat = gcj02_to_bd09(lon, lat)
    back = bd09_to_gcj02(blon, blat)
    assert distance_m(lon, lat, *back).max() <= CM
    fwd = gcj02_to_bd09(*bd09_to_gcj02(lon, lat))
    assert distance_m(lon, lat, *fwd).max() <= CM


def test_wgs84_bd09_round_trip_within_one_centimetre():
    lon, lat = random_china(100_000, seed=3)
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert distance_m(lon, lat, *back).max() <= CM


def test_round_trip_converges_at_the_sqrt_kink_of_lon_105():
    rng = np.random.default_rng(4)
    lon = 105.0 + np.r_[0.0, rng.normal(0.0, 1e-9, 999)]
    lat = rng.uniform(20.0, 50.0, 1000)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert distance_m(lon, lat, *back).max() <= CM


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (crs.CHINA_LON_MIN, 30.0),
        (crs.CHINA_LON_MAX, 45.0),
        (100.0, crs.CHINA_LAT_MIN),
        (100.0, crs.CHINA_LAT_MAX),
    ],
)
def test_points_on_box_edges_are_in_china_and_round_trip(lon, lat):
    assert not out_of_china(lon, lat)
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert distance_m(lon, lat, glon, glat)[0] > 1.0
    back = gcj02_to_wgs84(glon, glat)
    assert distance_m(lon, lat, *back)[0] <= CM


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(crs.CHINA_LON_MIN, crs.CHINA_LON_MAX),
    lat=st.floats(crs.CHINA_LAT_MIN, crs.CHINA_LAT_MAX),
)
def test_round_trip_property(lon, lat):
    assert distance_m(lon, lat, *gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)))[0] <= CM
    assert distance_m(lon, lat, *bd09_to_gcj02(*gcj02_to_bd09(lon, lat)))[0] <= CM
    assert distance_m(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat)))[0] <= CM


@pytest.mark.parametrize(("src", "dst"), list(itertools.permutations(CRS_NAMES, 2)))
def test_convert_round_trips_between_every_pair(src, dst):
    # Away from the box edges, where GCJ-02 input always has a preimage.
    lon, lat = random_china(2_000, seed=5, margin=0.02)
    there = convert(lon, lat, src, dst)
    back = convert(*there, dst, src)
    assert distance_m(lon, lat, *back).max() <= CM


# --------------------------------------------------------------------------- out of China


def test_out_of_china_flags():
    flags = out_of_china(OUTSIDE[:, 0], OUTSIDE[:, 1])
    assert flags.dtype == bool
    assert flags.all()
    inside = out_of_china([116.39, 120.26, 87.62, 126.63], [39.91, 30.18, 43.83, 45.75])
    assert not inside.any()


@pytest.mark.parametrize("func", [wgs84_to_gcj02, gcj02_to_wgs84])
def test_out_of_china_points_are_unchanged(func):
    lon, lat = func(OUTSIDE[:, 0], OUTSIDE[:, 1])
    np.testing.assert_array_equal(lon, OUTSIDE[:, 0])
    np.testing.assert_array_equal(lat, OUTSIDE[:, 1])


def test_mixed_inside_and_outside_points():
    lon = np.array([2.3522, 116.377817, -74.006])
    lat = np.array([48.8566, 39.911954, 40.7128])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert (glon[[0, 2]] == lon[[0, 2]]).all()
    assert glon[1] == pytest.approx(116.38404722455657, abs=1e-9)
    back = gcj02_to_wgs84(glon, glat)
    np.testing.assert_allclose(back[0], lon, atol=1e-9, rtol=0)
    np.testing.assert_allclose(back[1], lat, atol=1e-9, rtol=0)


def test_cgcs2000_is_identical_to_wgs84():
    lon, lat = random_china(100, seed=6)
    for name in ("cgcs2000", "wgs84", "EPSG:4490"):
        out = to_wgs84(lon, lat, name)
        np.testing.assert_array_equal(out[0], lon)
        np.testing.assert_array_equal(out[1], lat)
        assert out[0] is not lon  # a new array, never the input
    np.testing.assert_array_equal(convert(lon, lat, "wgs84", "cgcs2000")[1], lat)


def test_to_and_from_wgs84_dispatch():
    (wlon, wlat), (glon, glat) = GCJ_VECTORS[0]
    assert float(from_wgs84(wlon, wlat, "GCJ-02")[0]) == pytest.approx(glon, abs=1e-9)
    assert float(to_wgs84(glon, glat, "gcj")[1]) == pytest.approx(wlat, abs=1e-9)
    blon, blat = from_wgs84(wlon, wlat, "bd09ll")
    np.testing.assert_allclose(
        np.r_[blon, blat], np.r_[gcj02_to_bd09(glon, glat)], atol=1e-12, rtol=0
    )
    np.testing.assert_allclose(np.r_[to_wgs84(blon, blat, "baidu")], [wlon, wlat], atol=1e-9)


def test_convert_gcj_bd_direct_matches_composition():
    lon, lat = random_china(1_000, seed=7)
    direct = convert(lon, lat, "gcj02", "bd09")
    via = wgs84_to_bd09(*gcj02_to_wgs84(lon, lat))
    np.testing.assert_allclose(np.c_[direct], np.c_[via], atol=1e-9, rtol=0)


# --------------------------------------------------------------------------- shapes and inputs


@pytest.mark.parametrize(
    "func",
    [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84],
)
def test_shapes_dtypes_and_no_mutation(func):
    lon, lat = random_china(12, seed=8)
    lon2, lat2 = lon.reshape(3, 4).copy(), lat.reshape(3, 4).copy()
    keep = lon2.copy(), lat2.copy()
    out_lon, out_lat = func(lon2, lat2)
    assert out_lon.shape == out_lat.shape == (3, 4)
    assert out_lon.dtype == out_lat.dtype == np.float64
    np.testing.assert_array_equal(lon2, keep[0])
    np.testing.assert_array_equal(lat2, keep[1])
    # Element-wise: the flattened result equals the result of the flattened input.
    flat = func(lon2.ravel(), lat2.ravel())
    np.testing.assert_array_equal(out_lon.ravel(), flat[0])

    scalar = func(120.0, 30.0)
    assert all(isinstance(v, np.ndarray) and v.shape == () for v in scalar)
    assert float(scalar[0]) == pytest.approx(float(func([120.0], [30.0])[0][0]), abs=0)

    broadcast = func(lon2[0], 30.0)
    assert broadcast[0].shape == broadcast[1].shape == (4,)

    empty = func(np.empty(0), np.empty(0))
    assert empty[0].shape == (0,)

    as_list = func([120, 121], [30, 31])  # ints and lists are accepted
    assert as_list[0].dtype == np.float64


def test_float32_input_is_computed_in_float64():
    lon, lat = wgs84_to_gcj02(np.float32(121.5), np.float32(31.2))
    assert lon.dtype == np.float64
    expected = wgs84_to_gcj02(float(np.float32(121.5)), float(np.float32(31.2)))
    assert float(lon) == float(expected[0])


def test_nan_propagates_without_error():
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, bd09_to_gcj02, bd09_to_wgs84):
        lon, lat = func([np.nan, 120.0], [30.0, 30.0])
        assert np.isnan(lon[0]) and np.isfinite(lon[1])


def test_incompatible_shapes_raise_invalid_input():
    with pytest.raises(InvalidInput, match="incompatible shapes"):
        wgs84_to_gcj02([1.0, 2.0, 3.0], [1.0, 2.0])


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS84", "wgs84"),
        ("WGS 84", "wgs84"),
        ("wgs-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("4326", "wgs84"),
        ("OGC:CRS84", "wgs84"),
        ("cgcs2000", "cgcs2000"),
        ("CGCS 2000", "cgcs2000"),
        ("EPSG:4490", "cgcs2000"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj_02", "gcj02"),
        (" gcj ", "gcj02"),
        ("mars", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("bd09ll", "bd09"),
        ("BD09LL", "bd09"),
        ("baidu", "bd09"),
    ],
)
def test_normalize_crs_name_aliases(alias, expected):
    assert normalize_crs_name(alias) == expected


def test_canonical_names_normalise_to_themselves():
    assert tuple(normalize_crs_name(n) for n in CRS_NAMES) == CRS_NAMES


@pytest.mark.parametrize("bad", ["EPSG:3857", "utm", "", "gcj03", 4326, None])
def test_unknown_crs_names_raise_naming_the_allowed_ones(bad):
    with pytest.raises(CRSMismatch) as info:
        normalize_crs_name(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "wgs84, cgcs2000, gcj02, bd09" in message
    assert info.value.details["allowed"] == list(CRS_NAMES)
    assert info.value.status_code == 422


def test_baidu_mercator_gets_a_hint():
    with pytest.raises(CRSMismatch, match="Mercator"):
        normalize_crs_name("bd09mc")


def test_conversions_reject_unknown_names():
    with pytest.raises(CRSMismatch, match="'webmercator'"):
        convert(120.0, 30.0, "wgs84", "webmercator")
    with pytest.raises(CRSMismatch):
        to_wgs84(120.0, 30.0, "gcj-03")


# --------------------------------------------------------------------------- validation


def test_validate_lonlat_mask():
    lon = [120.0, np.nan, 181.0, -180.0, np.inf, 100.0]
    lat = [30.0, 30.0, 30.0, -90.0, 30.0, 90.5]
    assert validate_lonlat(lon, lat).tolist() == [True, False, False, True, False, False]


def test_check_lonlat_returns_float_arrays_for_good_input():
    lon, lat = check_lonlat([120, 121.5], (30, 31.25))
    assert lon.dtype == lat.dtype == np.float64
    assert lon.tolist() == [120.0, 121.5] and lat.tolist() == [30.0, 31.25]


def test_check_lonlat_names_the_first_bad_row_and_lists_all():
    lon = [120.0, 121.0, 190.0, 120.0, np.nan]
    lat = [30.0, 95.0, 30.0, 30.0, 30.0]
    with pytest.raises(InvalidInput) as info:
        check_lonlat(lon, lat)
    error = info.value
    assert str(error).startswith("row 1: lat 95.0 is outside [-90, 90]")
    assert "2 more bad rows: 2, 4" in str(error)
    assert error.details["rows"] == [1, 2, 4]
    assert error.details["count"] == 3
    first = error.details["errors"][0]
    assert first == {"row": 1, "lon": 121.0, "lat": 95.0, "problem": first["problem"]}
    assert "lon 190.0" in error.details["errors"][1]["problem"]
    assert error.details["errors"][2]["lon"] is None  # NaN is reported as null (JSON-safe)
    assert "lon is nan" in error.details["errors"][2]["problem"]


def test_check_lonlat_reports_both_problems_of_one_row():
    with pytest.raises(InvalidInput, match=r"^row 0: lon is -inf; lat -91.0"):
        check_lonlat([-np.inf], [-91.0])
    with pytest.raises(InvalidInput) as info:
        check_lonlat([-np.inf], [-91.0])
    assert info.value.details["errors"][0]["problem"] == (
        "lon is -inf; lat -91.0 is outside [-90, 90]"
    )


def test_check_lonlat_rejects_non_numbers():
    with pytest.raises(InvalidInput, match="must be numbers"):
        check_lonlat(["120", "east"], [30.0, 31.0])


# --------------------------------------------------------------------------- geometries


SQUARE = Polygon([(120.0, 30.0), (120.01, 30.0), (120.01, 30.01), (120.0, 30.01)])


def test_transform_geometries_moves_every_vertex_like_convert():
    out = transform_geometries(SQUARE, "gcj02", "wgs84")
    assert isinstance(out, Polygon) and out.is_valid
    src = shapely.get_coordinates(SQUARE)
    expected = np.c_[gcj02_to_wgs84(src[:, 0], src[:, 1])]
    np.testing.assert_allclose(shapely.get_coordinates(out), expected, atol=0, rtol=0)
    # Moved by hundreds of metres; the area changes by well under 1 %.
    assert distance_m(120.0, 30.0, *shapely.get_coordinates(out)[0])[0] > 100
    area_in, area_out = (
        abs(GEOD.geometry_area_perimeter(SQUARE)[0]),
        abs(GEOD.geometry_area_perimeter(out)[0]),
    )
    assert area_out == pytest.approx(area_in, rel=1e-2)
    assert area_out != pytest.approx(area_in, rel=1e-6)
    # The input is unchanged and the round trip restores it.
    assert SQUARE.bounds == (120.0, 30.0, 120.01, 30.01)
    back = transform_geometries(out, "wgs84", "gcj02")
    np.testing.assert_allclose(shapely.get_coordinates(back), src, atol=1e-9, rtol=0)


def test_transform_geometries_array_keeps_none_and_z():
    geoms = np.array([SQUARE, None, Point(121.0, 31.0, 7.5), LineString([(116, 39), (117, 40)])])
    out = transform_geometries(geoms, "bd09", "cgcs2000")
    assert isinstance(out, np.ndarray) and out.shape == (4,)
    assert out[1] is None
    assert out[2].has_z and out[2].z == 7.5
    expected = bd09_to_wgs84(121.0, 31.0)
    assert (out[2].x, out[2].y) == (float(expected[0]), float(expected[1]))
    assert geoms[2].x == 121.0  # input untouched


def test_transform_geometries_geoseries_keeps_index_and_sets_crs():
    series = gpd.GeoSeries([SQUARE, Point(121.0, 31.0)], index=[7, 9], crs=4326, name="shape")
    out = transform_geometries(series, "gcj02", "cgcs2000")
    assert isinstance(out, gpd.GeoSeries)
    assert out.index.tolist() == [7, 9] and out.name == "shape"
    assert out.crs.to_epsg() == 4490
    assert out.iloc[1].x == pytest.approx(float(gcj02_to_wgs84(121.0, 31.0)[0]), abs=1e-12)
    assert series.iloc[1].x == 121.0 and series.crs.to_epsg() == 4326
    # Into an offset system the input's label is kept.
    assert transform_geometries(series, "wgs84", "bd09").crs.to_epsg() == 4326


def test_transform_geometries_geodataframe():
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[SQUARE, Point(121, 31)], crs=4326)
    out = transform_geometries(frame, "gcj02", "cgcs2000")
    assert isinstance(out, gpd.GeoDataFrame)
    assert out["name"].tolist() == ["a", "b"]
    assert out.crs.to_epsg() == 4490
    assert out.geometry.iloc[1].x != 121.0
    assert frame.geometry.iloc[1].x == 121.0 and frame.crs.to_epsg() == 4326


def test_transform_geometries_rejects_projected_input():
    series = gpd.GeoSeries([SQUARE], crs=4326).to_crs(4549)  # CGCS2000 3-degree GK CM 120E
    with pytest.raises(CRSMismatch, match="projected CRS EPSG:4549"):
        transform_geometries(series, "gcj02", "wgs84")
    with pytest.raises(CRSMismatch, match=r"vertex \(500000.0, 3300000.0\)"):
        transform_geometries([Point(500000.0, 3300000.0)], "gcj02", "wgs84")


def test_transform_geometries_unknown_crs():
    with pytest.raises(CRSMismatch, match="bd09mc"):
        transform_geometries(SQUARE, "bd09mc", "wgs84")
