"""read_boundaries: every format, encodings, CRSs and bad inputs."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import box

from gridgeo.boundaries import UNIT_COLUMNS, read_boundaries
from gridgeo.crs import transform_geometries
from gridgeo.errors import CRSMismatch, InvalidInput
from tests.boundaries.layouts import C1, C2, GK, hausdorff_m, units_from

CODES = [C1 + "001", C1 + "002", C2 + "801"]
NAMES = ["北干一苑", "北干二苑", "萧山医院"]


@pytest.fixture
def source() -> gpd.GeoDataFrame:
    """Three grids with Chinese attribute names, in EPSG:4490 (one with a hole)."""
    geoms = [
        box(0, 0, 800, 600).difference(box(100, 100, 200, 200)),
        box(800, 0, 1600, 600),
        box(1600, 0, 2000, 400),
    ]
    frame = units_from([{"geometry": g} for g in geoms])
    frame["网格编码"] = CODES
    frame["网格名称"] = NAMES
    frame["户数"] = [320, 410, 0]
    frame["人口"] = [900, 1100, 50]
    return frame[["网格编码", "网格名称", "户数", "人口", "geometry"]]


def check_units(units: gpd.GeoDataFrame, source: gpd.GeoDataFrame, tol_deg: float = 1e-9):
    assert list(units.columns) == [*UNIT_COLUMNS, "geometry"]
    assert units.crs.to_epsg() == 4490
    assert units["code"].tolist() == CODES
    assert units["name"].tolist() == NAMES
    assert units["households"].tolist() == [320, 410, 0]
    assert units["population"].tolist() == [900, 1100, 50]
    assert units["level"].tolist() == ["grid"] * 3
    assert units["kind"].tolist() == ["base", "base", "special"]
    assert units["parent_code"].tolist() == [C1, C1, C2]
    assert units["full_time_workers"].tolist() == [0, 0, 0]
    assert (units.geom_type == "MultiPolygon").all()
    src = np.asarray(source.geometry.values, dtype=object)
    expected = shapely.multipolygons(src, indices=np.arange(len(src)))
    got = np.asarray(units.geometry.values, dtype=object)
    same = shapely.equals_exact(shapely.normalize(got), shapely.normalize(expected), tol_deg)
    assert same.all()


def write_shapefile_zip(frame, tmp_path: Path, *, encoding: str, cpg: bool, folder: str = ""):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL reports cut field names
        pyogrio.write_dataframe(frame, shp_dir / "grids.shp", encoding=encoding)
    out = tmp_path / "grids.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in shp_dir.iterdir():
            if f.suffix == ".cpg" and not cpg:
                continue
            zf.write(f, folder + f.name)
        zf.writestr("__MACOSX/" + folder + "._grids.shp", b"junk")
    return out


def test_geojson(source, tmp_path):
    path = tmp_path / "grids.geojson"
    source.to_file(path, driver="GeoJSON")
    units = read_boundaries(path)
    check_units(units, source)
    assert units.attrs["import"]["format"] == "geojson"
    assert units.attrs["import"]["columns"]["code"] == "网格编码"


def test_geopackage_with_layers(source, tmp_path):
    path = tmp_path / "grids.gpkg"
    source.to_file(path, layer="grids", driver="GPKG")
    check_units(read_boundaries(path), source)
    gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(120.3, 30.2)], crs=4490).to_file(
        path, layer="poi", driver="GPKG"
    )
    units = read_boundaries(path)  # the only polygon layer is chosen
    assert units.attrs["import"]["layer"] == "grids"
    source.to_file(path, layer="grids_old", driver="GPKG")
    with pytest.raises(InvalidInput, match="pass layer="):
        read_boundaries(path)
    check_units(read_boundaries(path, layer="grids_old"), source)
    with pytest.raises(InvalidInput, match="no layer 'nope'"):
        read_boundaries(path, layer="nope")


def test_zipped_shapefile_gbk_with_cpg_in_subfolder(source, tmp_path):
    path = write_shapefile_zip(source, tmp_path, encoding="GBK", cpg=True, folder="导出/")
    units = read_boundaries(path)
    check_units(units, source)
    info = units.attrs["import"]
    assert info["encoding"] == "GBK" and info["format"] == "zip"
    assert any(".cpg" in n for n in info["notes"])


def test_zipped_shapefile_gbk_without_cpg_is_detected(source, tmp_path):
    path = write_shapefile_zip(source, tmp_path, encoding="GBK", cpg=False, folder="data/")
    units = read_boundaries(path)
    check_units(units, source)
    assert units.attrs["import"]["encoding"] == "GBK"
    assert "no .cpg file: attributes read as GBK" in units.attrs["import"]["notes"]
    forced = read_boundaries(path, encoding="GBK")
    assert forced["name"].tolist() == NAMES


def test_zipped_shapefile_utf8_without_cpg_and_truncated_names(source, tmp_path):
    # UTF-8 网格编码 is 12 bytes: the shapefile keeps 10, cutting a character.
    path = write_shapefile_zip(source, tmp_path, encoding="UTF-8", cpg=False)
    units = read_boundaries(path)
    check_units(units, source)
    info = units.attrs["import"]
    assert info["encoding"] == "UTF-8"
    assert info["columns"]["code"] == "网格编" and info["columns"]["name"] == "网格名"


def test_shapefile_on_disk(source, tmp_path):
    pyogrio.write_dataframe(source, tmp_path / "grids.shp", encoding="GBK")
    check_units(read_boundaries(tmp_path / "grids.shp"), source)


def test_geoparquet(source, tmp_path):
    path = tmp_path / "grids.parquet"
    source.to_parquet(path)
    units = read_boundaries(path)
    check_units(units, source)
    assert units.attrs["import"]["format"] == "geoparquet"
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"code": CODES}).to_parquet(plain)
    with pytest.raises(InvalidInput, match="not a GeoParquet"):
        read_boundaries(plain)


def test_bytes_with_and_without_filename(source, tmp_path):
    path = write_shapefile_zip(source, tmp_path, encoding="GBK", cpg=True)
    data = path.read_bytes()
    check_units(read_boundaries(data, filename="upload.zip"), source)
    check_units(read_boundaries(data), source)  # sniffed: zip
    gj = source.to_json().encode()
    units = read_boundaries(gj)  # sniffed: GeoJSON (WGS84 by RFC 7946)
    assert units["code"].tolist() == CODES
    with open(path, "rb") as fh:
        assert read_boundaries(fh, filename="grids.zip")["code"].tolist() == CODES


def test_codes_stay_strings(tmp_path):
    geom = units_from([{"geometry": box(0, 0, 100, 100)}]).geometry[0]
    numeric = gpd.GeoDataFrame({"WGBM": [int(C1 + "001")]}, geometry=[geom], crs=4490)
    path = tmp_path / "numeric.gpkg"
    numeric.to_file(path)
    assert read_boundaries(path)["code"].tolist() == [C1 + "001"]
    lead = gpd.GeoDataFrame({"code": ["012345678901001"]}, geometry=[geom], crs=4490)
    lead.to_file(tmp_path / "lead.geojson")
    units = read_boundaries(tmp_path / "lead.geojson")
    assert units["code"].tolist() == ["012345678901001"]
    assert units["parent_code"].tolist() == ["012345678901"]
    micro = gpd.GeoDataFrame({"code": [float(C1 + "001001")]}, geometry=[geom], crs=4490)
    micro.to_file(tmp_path / "micro.gpkg")
    with pytest.raises(InvalidInput, match="floating-point"):
        read_boundaries(tmp_path / "micro.gpkg")


def test_explicit_mapping(source, tmp_path):
    renamed = source.rename(columns={"网格编码": "ID_A", "网格名称": "TITLE", "户数": "N1"})
    path = tmp_path / "renamed.gpkg"
    renamed.to_file(path)
    with pytest.raises(InvalidInput, match="no code column"):
        read_boundaries(path)
    units = read_boundaries(path, mapping={"code": "ID_A", "name": "TITLE", "households": "N1"})
    check_units(units, source)
    with pytest.raises(InvalidInput, match="no column 'WGBM'"):
        read_boundaries(path, mapping={"code": "WGBM"})
    with pytest.raises(InvalidInput, match="unknown target"):
        read_boundaries(path, mapping={"codes": "ID_A"})


def test_same_boundaries_in_4490_4549_4528_gcj02_bd09_agree_within_1m(source, tmp_path):
    reference = read_boundaries(source.to_json().encode(), filename="a.geojson", crs="cgcs2000")
    variants = {}
    gk = source.to_crs(GK)
    gk.to_file(tmp_path / "gk.gpkg")
    variants["EPSG:4549"] = read_boundaries(tmp_path / "gk.gpkg")
    source.to_crs(4528).to_file(tmp_path / "zone40.geojson")
    variants["EPSG:4528"] = read_boundaries(tmp_path / "zone40.geojson")
    for system in ("gcj02", "bd09"):
        shifted = transform_geometries(source.geometry, "cgcs2000", system)
        frame = source.set_geometry(shifted.values).set_crs(None, allow_override=True)
        frame.to_parquet(tmp_path / f"{system}.parquet")
        with pytest.raises(CRSMismatch, match="has no CRS; pass crs="):
            read_boundaries(tmp_path / f"{system}.parquet")
        variants[system] = read_boundaries(tmp_path / f"{system}.parquet", crs=system)
        # The offset is real: read without declaring it, the shift is hundreds of metres.
        wrong = read_boundaries(tmp_path / f"{system}.parquet", crs="wgs84")
        assert hausdorff_m(wrong.geometry, reference.geometry).min() > 100
    for label, units in variants.items():
        assert units["code"].tolist() == CODES, label
        distance = hausdorff_m(units.geometry, reference.geometry)
        assert distance.max() < 1.0, (label, distance)


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_crs_problems_are_reported(source, tmp_path):
    gk = source.to_crs(GK)
    # Metres labelled as CGCS2000 degrees.
    gk.set_crs(4490, allow_override=True).to_file(tmp_path / "lying.gpkg")
    with pytest.raises(CRSMismatch, match="not degrees.*EPSG:4534"):
        read_boundaries(tmp_path / "lying.gpkg")
    assert read_boundaries(tmp_path / "lying.gpkg", crs="EPSG:4549")["code"].tolist() == CODES
    # Degrees labelled as a projected CRS.
    source.set_crs(GK, allow_override=True).to_file(tmp_path / "deg.gpkg")
    with pytest.raises(CRSMismatch, match="look like longitude/latitude"):
        read_boundaries(tmp_path / "deg.gpkg")
    # Gauss–Krüger eastings with zone prefix declared as the CM variant.
    zoned = source.to_crs(4528).set_crs(None, allow_override=True)
    zoned.to_file(tmp_path / "zoned.gpkg")
    with pytest.raises(CRSMismatch, match="EPSG:4528"):
        read_boundaries(tmp_path / "zoned.gpkg", crs="EPSG:4549")
    with pytest.raises(CRSMismatch, match="unknown CRS"):
        read_boundaries(tmp_path / "zoned.gpkg", crs="not-a-crs")
    # GCJ-02 is longitude/latitude: it cannot be declared over a projected file.
    gk.to_file(tmp_path / "projected.gpkg")
    with pytest.raises(CRSMismatch, match="projected"):
        read_boundaries(tmp_path / "projected.gpkg", crs="gcj02")


def test_bad_inputs(source, tmp_path):
    with pytest.raises(InvalidInput, match="file not found"):
        read_boundaries(tmp_path / "missing.gpkg")
    (tmp_path / "a.kml").write_text("<kml/>")
    with pytest.raises(InvalidInput, match="unsupported file type .kml"):
        read_boundaries(tmp_path / "a.kml")
    with pytest.raises(InvalidInput, match="empty"):
        read_boundaries(b"", filename="x")
    with pytest.raises(InvalidInput, match="upload them zipped"):
        read_boundaries(b"\x00\x00\x27\x0a", filename="grids.shp")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InvalidInput, match="not a valid zip"):
        read_boundaries(tmp_path / "bad.zip")
    with zipfile.ZipFile(tmp_path / "nothing.zip", "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(InvalidInput, match="no shapefile"):
        read_boundaries(tmp_path / "nothing.zip")
    (tmp_path / "broken.geojson").write_text("{not json")
    with pytest.raises(InvalidInput, match="broken.geojson: cannot read"):
        read_boundaries(tmp_path / "broken.geojson")
    empty = {"type": "FeatureCollection", "features": []}
    with pytest.raises(InvalidInput, match="no features"):
        read_boundaries(json.dumps(empty).encode(), filename="e.geojson")
    points = gpd.GeoDataFrame(
        {"code": [C1 + "001"]}, geometry=[shapely.Point(120.3, 30.2)], crs=4490
    )
    with pytest.raises(InvalidInput, match="must be polygons.*Point.*row 0"):
        read_boundaries(points.to_json().encode(), filename="p.geojson")
    nameless = source.drop(columns="网格编码")
    with pytest.raises(InvalidInput, match="no code column"):
        read_boundaries(nameless.to_json().encode(), filename="n.geojson")
    bad_numbers = source.assign(户数=["many", "1", "2"])
    with pytest.raises(InvalidInput, match="'户数' must hold non-negative whole numbers"):
        read_boundaries(bad_numbers.to_json().encode(), filename="b.geojson")


def test_invalid_geometries_are_kept_for_the_validator(tmp_path):
    bowtie = shapely.Polygon([(120.30, 30.20), (120.31, 30.21), (120.31, 30.20), (120.30, 30.21)])
    frame = gpd.GeoDataFrame({"code": [C1 + "001"]}, geometry=[bowtie], crs=4490)
    units = read_boundaries(frame.to_json().encode(), filename="b.geojson")
    assert not units.geometry[0].is_valid
    assert units.geometry[0].geom_type == "MultiPolygon"
