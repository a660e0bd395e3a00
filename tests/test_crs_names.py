"""Issue 12: one ``crs=`` parser for CLI and API, including projected EPSG codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyproj
import pytest

from gridgeo.crs import CRSSpec, parse_crs, point_to_wgs84
from gridgeo.errors import CRSMismatch, InvalidInput


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("wgs84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("gcj02", "gcj02"),
        ("gcj-02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("bd09", "bd09"),
        ("bd-09", "bd09"),
        ("cgcs2000", "cgcs2000"),
        ("EPSG:4490", "cgcs2000"),
        ("EPSG:4549", "EPSG:4549"),
        ("4549", "EPSG:4549"),
        ("epsg:4528", "EPSG:4528"),
    ],
)
def test_names(name: str, canonical: str) -> None:
    assert parse_crs(name).name == canonical


def test_projected_codes_are_metres() -> None:
    assert parse_crs("EPSG:4549") == CRSSpec("EPSG:4549", 4549, projected=True)
    assert not parse_crs("gcj-02").projected


@pytest.mark.parametrize("bad", ["EPSG:999999", "venus", "", "+proj=longlat", "x" * 10_000])
def test_unknown_names_are_refused_with_a_short_message(bad: str) -> None:
    with pytest.raises(CRSMismatch) as caught:
        parse_crs(bad)
    assert "EPSG:4549" in caught.value.message and len(caught.value.message) < 400


def test_gauss_kruger_round_trip() -> None:
    lon, lat = np.array([120.25, 120.3]), np.array([30.15, 30.2])
    to_gk = pyproj.Transformer.from_crs(4490, 4549, always_xy=True)
    x, y = to_gk.transform(lon, lat)
    back_lon, back_lat = point_to_wgs84(x, y, "EPSG:4549")
    assert np.allclose(back_lon, lon, atol=1e-9) and np.allclose(back_lat, lat, atol=1e-9)
    zone = pyproj.Transformer.from_crs(4490, 4528, always_xy=True)  # 3-degree zone 40
    x, y = zone.transform(lon, lat)
    back_lon, _ = point_to_wgs84(x, y, "4528")
    assert np.allclose(back_lon, lon, atol=1e-9)


def test_non_finite_projected_coordinates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="row 1"):
        point_to_wgs84([500000.0, float("nan")], [3320000.0, 3320000.0], "EPSG:4549")


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIDGEO_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", "locate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_accepts_the_api_names(city_url: str, tmp_path: Path) -> None:
    x, y = pyproj.Transformer.from_crs(4490, 4549, always_xy=True).transform(120.2755, 30.1672)
    owners = set()
    for crs, lon, lat in (("EPSG:4326", 120.2755, 30.1672), ("EPSG:4549", x, y)):
        result = _cli(city_url, "--lon", str(lon), "--lat", str(lat), "--crs", crs)
        assert result.returncode == 0, result.stderr
        owners.add(json.loads(result.stdout)["owner"]["code"])
    assert len(owners) == 1
    source = tmp_path / "points.csv"
    source.write_text(f"id,lon,lat\np1,{x},{y}\n")
    result = _cli(city_url, str(source), "--crs", "EPSG:4549", "--out", str(tmp_path / "o.csv"))
    assert result.returncode == 0, result.stderr
    assert f",{owners.pop()}," in (tmp_path / "o.csv").read_text()
    result = _cli(city_url, "--lon", "1", "--lat", "1", "--crs", "EPSG:999999")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "unknown CRS" in result.stderr
