"""``gridgeo codes assign`` and ``gridgeo codes check`` on files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", "codes", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_community() -> gpd.GeoDataFrame:
    units = gpd.read_parquet(SAMPLES / "units.parquet")
    community = units.loc[units["level"] == "grid", "parent_code"].value_counts().index[0]
    grids = units[(units["parent_code"] == community) & (units["level"] == "grid")]
    return grids.reset_index(drop=True)


def test_assign_reproduces_reading_order_codes(tmp_path: Path) -> None:
    grids = one_community()
    blank = grids.assign(code=None).sample(frac=1, random_state=3)  # any row order
    source = tmp_path / "grids.geojson"
    blank.to_file(source, engine="pyogrio")
    out = tmp_path / "coded.geojson"
    result = run("assign", str(source), "--out", str(out))
    assert result.returncode == 0, result.stderr
    coded = gpd.read_file(out).sort_values("code")
    expected = grids.sort_values("code")
    assert coded["code"].tolist() == expected["code"].tolist()
    import shapely

    assert shapely.equals_exact(
        shapely.normalize(coded.geometry.to_numpy()),
        shapely.normalize(expected.geometry.to_numpy()),
        1e-7,
    ).all()


def test_check_names_the_broken_rule(tmp_path: Path) -> None:
    grids = one_community()
    grids.loc[0, "code"] = grids.loc[0, "code"][:-3] + "9A9"
    grids.loc[1, "code"] = "330109999999001"  # unknown community, wrong prefix
    source = tmp_path / "bad.geojson"
    grids.to_file(source, engine="pyogrio")
    result = run("check", str(source))
    assert result.returncode == 1
    assert "digits" in result.stdout and "prefix" in result.stdout
    good = tmp_path / "good.geojson"
    one_community().to_file(good, engine="pyogrio")
    result = run("check", str(good))
    assert result.returncode == 0, result.stdout
