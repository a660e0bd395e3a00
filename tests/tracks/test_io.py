"""Reading fix files: CSV, GPX, GeoJSON, Parquet into the normalised table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridgeo.errors import InvalidInput
from gridgeo.tracks import FIX_COLUMNS, read_fixes

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="app" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>patrol</name><trkseg>
    <trkpt lat="30.1700" lon="120.2700"><time>2026-10-01T00:00:00Z</time>
      <extensions><accuracy>6</accuracy></extensions></trkpt>
    <trkpt lat="30.1701" lon="120.2702"><time>2026-10-01T00:00:30Z</time></trkpt>
    <trkpt lat="30.1702" lon="120.2704"><time>not a time</time></trkpt>
  </trkseg></trk>
</gpx>
"""


def test_csv_aliases_offsets_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "fixes.csv"
    path.write_text(
        "\ufeffworker,timestamp,lng,latitude,coord_type,accuracy,patrol_id\n"
        "W1,2026-10-01T08:00:00+08:00,120.27,30.17,GCJ-02,5,7\n"
        "W2,2026-10-01 08:00:00,120.28,30.18,,,8\n",
        encoding="utf-8",
    )
    got = read_fixes(path, crs="wgs84", naive_tz="Asia/Shanghai")
    assert list(got.columns[:6]) == list(FIX_COLUMNS)
    assert got["worker_id"].tolist() == ["W1", "W2"]
    # Both rows mean 00:00 UTC: one by its offset, one through naive_tz.
    assert (got["t"] == pd.Timestamp("2026-10-01 00:00", tz="UTC")).all()
    assert got["crs"].tolist() == ["gcj02", "wgs84"]
    assert got["accuracy_m"].iloc[0] == 5.0 and np.isnan(got["accuracy_m"].iloc[1])
    assert got["patrol_id"].tolist() == ["7", "8"]


def test_csv_bad_values_become_missing_not_errors() -> None:
    data = (
        b"worker_id,t,lon,lat\n"
        b"W1,yesterday,abc,30.17\n"
        b",1790812800,120.27,30.17\n"
        b"W3,1790812800000,120.27,30.17\n"
    )
    got = read_fixes(data, filename="x.csv")
    assert got["t"].isna().tolist() == [True, False, False]
    assert np.isnan(got["lon"].iloc[0])
    assert pd.isna(got["worker_id"].iloc[1])
    # Epoch seconds and milliseconds give the same instant.
    assert got["t"].iloc[1] == got["t"].iloc[2] == pd.Timestamp("2026-10-01", tz="UTC")


def test_csv_worker_argument_fills_blanks_only() -> None:
    data = (
        b"worker_id,t,lon,lat\nW1,2026-10-01T00:00Z,120.27,30.17\n,2026-10-01T00:00Z,120.27,30.17\n"
    )
    got = read_fixes(data, filename="x.csv", worker_id="W9")
    assert got["worker_id"].tolist() == ["W1", "W9"]


def test_gpx_track_points(tmp_path: Path) -> None:
    path = tmp_path / "walk.gpx"
    path.write_text(GPX, encoding="utf-8")
    got = read_fixes(path, worker_id="W7")
    assert len(got) == 3
    assert got["worker_id"].tolist() == ["W7"] * 3
    assert got["lon"].tolist() == [120.27, 120.2702, 120.2704]
    assert got["crs"].unique().tolist() == ["wgs84"]
    assert got["accuracy_m"].iloc[0] == 6.0 and got["accuracy_m"].iloc[1:].isna().all()
    assert got["t"].iloc[1] == pd.Timestamp("2026-10-01 00:00:30", tz="UTC")
    assert pd.isna(got["t"].iloc[2])


def test_gpx_needs_a_worker_and_must_be_gpx() -> None:
    with pytest.raises(InvalidInput, match="worker_id"):
        read_fixes(GPX.encode(), filename="walk.gpx")
    with pytest.raises(InvalidInput, match="well-formed"):
        read_fixes(b"<gpx><trk>", filename="walk.gpx", worker_id="W1")
    with pytest.raises(InvalidInput, match="not <gpx>"):
        read_fixes(b"<kml/>", filename="walk.gpx", worker_id="W1")


def test_geojson_points(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [120.27, 30.17]},
                "properties": {"worker_id": "W1", "t": "2026-10-01T00:00:00Z", "accuracy_m": 4},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[120.0, 30.0], [120.1, 30.1]]},
                "properties": {"worker_id": "W1", "t": "2026-10-01T00:01:00Z"},
            },
        ],
    }
    path = tmp_path / "fixes.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    got = read_fixes(path)
    assert got["lon"].iloc[0] == 120.27 and got["accuracy_m"].iloc[0] == 4.0
    assert np.isnan(got["lon"].iloc[1])  # not a point: left for validation to report
    assert got["crs"].tolist() == ["wgs84", "wgs84"]


def test_parquet_with_datetime_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "worker_id": ["W1"],
            "t": pd.to_datetime(["2026-10-01 08:00"]).tz_localize("Asia/Shanghai"),
            "lon": [120.27],
            "lat": [30.17],
            "crs": ["gcj02"],
            "accuracy_m": [5.0],
        }
    )
    path = tmp_path / "fixes.parquet"
    frame.to_parquet(path)
    got = read_fixes(path)
    assert got["t"].iloc[0] == pd.Timestamp("2026-10-01 00:00", tz="UTC")
    assert str(got["t"].dtype) == "datetime64[ns, UTC]"


def test_unsupported_or_unnamed_input() -> None:
    with pytest.raises(InvalidInput, match="unsupported"):
        read_fixes(b"x", filename="fixes.kml")
    with pytest.raises(InvalidInput, match="filename is required"):
        read_fixes(b"x")
    with pytest.raises(InvalidInput, match="missing columns"):
        read_fixes(b"worker_id,lon,lat\nW1,120,30\n", filename="x.csv")
