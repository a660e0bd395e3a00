"""Benchmark: import, code and validate the full sample city at all levels.

Usage::

    python bench/boundaries.py [--format gpkg|geojson|shapefile|parquet]

Writes the sample city's units to a file with every grid and micro-grid code
removed, then times ``read_boundaries`` → ``assign_codes`` (grids, then
micro-grids) → ``validate_units`` (target: under 30 s in all). As a named
baseline for the overlap part of validation it times the textbook approach,
``geopandas.overlay(how="intersection")`` of each level with itself, and
prints the ratio. The codes assigned must equal the committed ones.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo.boundaries import read_boundaries, validate_units
from gridgeo.coding import assign_codes

ROOT = Path(__file__).resolve().parents[1]


def write(units: gpd.GeoDataFrame, folder: Path, fmt: str) -> Path:
    if fmt == "parquet":
        path = folder / "units.parquet"
        units.to_parquet(path)
    elif fmt == "shapefile":
        import shutil

        shp = folder / "shp" / "units.shp"
        shp.parent.mkdir()
        units.to_file(shp, engine="pyogrio", encoding="UTF-8")
        path = Path(shutil.make_archive(str(folder / "units"), "zip", shp.parent))
    else:
        path = folder / f"units.{fmt}"
        units.to_file(path, engine="pyogrio")
    return path


def code_all(units: gpd.GeoDataFrame) -> pd.Series:
    units = units.copy()
    grids = units["level"] == "grid"
    units.loc[grids, "code"] = assign_codes(units.loc[grids])
    micro = units["level"] == "microgrid"
    units.loc[micro, "code"] = assign_codes(units.loc[micro])
    return units["code"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--format", default="gpkg",
                        choices=["gpkg", "geojson", "shapefile", "parquet"])
    args = parser.parse_args()
    truth = gpd.read_parquet(ROOT / "data" / "samples" / "units.parquet")
    anonymous = truth.copy()
    coded = anonymous["level"].isin(["grid", "microgrid"])
    # Micro-grids keep their (true) parent grid code so the hierarchy is known.
    anonymous.loc[coded & (anonymous["level"] == "grid"), "code"] = None
    anonymous.loc[coded & (anonymous["level"] == "microgrid"), "code"] = None
    with tempfile.TemporaryDirectory() as tmp:
        path = write(anonymous, Path(tmp), args.format)
        t0 = time.perf_counter()
        units = read_boundaries(path, filename=path.name)
        t1 = time.perf_counter()
        codes = code_all(units)
        t2 = time.perf_counter()
        units["code"] = codes.to_numpy()
        report = validate_units(units)
        t3 = time.perf_counter()
    total = t3 - t0
    same = (codes.to_numpy() == truth["code"].to_numpy()).all()
    start = time.perf_counter()
    for level in ("street", "community", "grid", "microgrid"):
        layer = truth[(truth["level"] == level) & (truth["kind"] == "base")][["code", "geometry"]]
        gpd.overlay(layer, layer, how="intersection", keep_geom_type=True)
    baseline = time.perf_counter() - start
    print(f"full sample city: {len(units):,} units, format {args.format}")
    print(f"  read_boundaries   {t1 - t0:6.2f} s")
    print(f"  assign codes      {t2 - t1:6.2f} s  (equal to the committed codes: {same})")
    print(f"  validate_units    {t3 - t2:6.2f} s  ({len(report.errors)} errors, "
          f"{len(report.warnings)} warnings)")
    print(f"  total             {total:6.2f} s  (target < 30 s)")
    print(f"  baseline: geopandas.overlay self-intersection per level {baseline:6.2f} s; "
          f"whole validation is {baseline / (t3 - t2):.1f}x that baseline's speed")


if __name__ == "__main__":
    main()
