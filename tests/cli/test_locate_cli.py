"""``gridgeo locate`` for one point and for a CSV file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIDGEO_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", "locate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_one_point_in_gcj02(city_url: str) -> None:
    result = run(city_url, "--lon", "120.2755", "--lat", "30.1672", "--crs", "gcj02")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["point"]["crs"] == "gcj02"
    assert body["chain"][0]["code"] == "330109"
    assert body["owner"]["code"].startswith("330109")


def test_csv_file_keeps_rows_and_reports_bad_ones(city_url: str, tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("id,lon,lat\np1,120.27,30.17\np2,100.0,20.0\np3,120.30,30.18\n")
    out = tmp_path / "owners.csv"
    result = run(city_url, str(source), "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, dtype=str)
    assert table["id"].tolist() == ["p1", "p2", "p3"]
    assert table["owner"].isna().tolist() == [False, True, False]
    assert table.loc[0, "chain"].startswith("330109|")
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat\n120.27,30.17\n120.27,95\n")
    result = run(city_url, str(bad))
    assert result.returncode == 1 and "row 1" in result.stderr
