"""Benchmark the hot spot analysis: 1M events, H3 resolution 9, Gi* with 999 permutations.

Usage::

    python bench/hotspots.py [--events 1000000] [--res 9] [--permutations 999] [--seed 7]
                             [--units PATH] [--no-baseline]

The study area is the sample district's outline (``data/samples/units.parquet``,
level ``district``) or, when that file is missing, a 38 × 37 km rectangle
around Xiaoshan (about the same 1,400 km²). Events are drawn with a fixed seed:
60 % uniform over the area and 40 % in 40 Gaussian clusters (σ 150–800 m), half
reported in GCJ-02 and half in WGS84 as phones do.

Timed steps (gridgeo): study-area cells (``study_cells``), H3 indexing and
counting of the events (``count_by_h3``, GCJ-02 points converted first),
neighbours (``h3_neighbours``), and ``hotspots`` (Gi* z, normal p, 999
conditional permutations, FDR bins). The total is what the target (< 20 s)
refers to.

Baseline, on the same counts and neighbours: ``esda.G_Local(y, w,
transform="B", star=True, permutations=999, seed=...)`` with esda's default
``n_jobs=-1`` (the conversion of the neighbours to a libpysal ``W`` is timed
separately and not counted). The script checks that the z-scores agree to
1e-9 and, when numba is absent (esda then runs the same random stream as
gridgeo), that the pseudo p-values are identical, and prints the ratio of
the Gi* step times.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gridgeo.crs import from_wgs84
from gridgeo.heatmaps import count_by_h3, h3_neighbours, hotspots, study_cells

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_UNITS = ROOT / "data" / "samples" / "units.parquet"


def study_area(units_path: Path) -> shapely.Geometry:
    """The sample district outline, or a rectangle of about the same size."""
    if units_path.is_file():
        units = gpd.read_parquet(units_path)
        district = units[units["level"] == "district"]
        if len(district):
            return shapely.union_all(np.asarray(district.geometry))
    return shapely.box(120.10, 29.88, 120.49, 30.21)


def synthetic_events(
    area: shapely.Geometry, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clustered events inside ``area``: lon, lat (as reported) and the crs of each."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = area.bounds
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * np.cos(np.radians((miny + maxy) / 2))
    centres_x = rng.uniform(minx, maxx, 40)
    centres_y = rng.uniform(miny, maxy, 40)
    sigma_m = rng.uniform(150.0, 800.0, 40)
    lon = np.empty(0)
    lat = np.empty(0)
    shapely.prepare(area)
    while lon.size < n:
        k = 2 * (n - lon.size) + 1000
        clustered = rng.random(k) < 0.4
        which = rng.integers(0, 40, k)
        x = np.where(
            clustered,
            centres_x[which] + rng.normal(0, 1, k) * sigma_m[which] / m_per_deg_lon,
            rng.uniform(minx, maxx, k),
        )
        y = np.where(
            clustered,
            centres_y[which] + rng.normal(0, 1, k) * sigma_m[which] / m_per_deg_lat,
            rng.uniform(miny, maxy, k),
        )
        inside = shapely.contains_xy(area, x, y)
        lon = np.concatenate([lon, x[inside]])
        lat = np.concatenate([lat, y[inside]])
    lon, lat = lon[:n], lat[:n]
    crs = np.where(rng.random(n) < 0.5, "gcj02", "wgs84").astype(object)
    gcj = crs == "gcj02"
    lon[gcj], lat[gcj] = from_wgs84(lon[gcj], lat[gcj], "gcj02")
    return lon, lat, crs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--res", type=int, default=9)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--units", type=Path, default=DEFAULT_UNITS)
    parser.add_argument("--no-baseline", action="store_true", help="skip the esda run")
    args = parser.parse_args()

    area = study_area(args.units)
    lon, lat, crs = synthetic_events(area, args.events, args.seed)
    print(f"events: {args.events:,} ({int((crs == 'gcj02').sum()):,} in GCJ-02), H3 res {args.res}")

    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    cells = study_cells(area, args.res)
    steps["study cells"] = time.perf_counter() - t0
    t = time.perf_counter()
    counts = count_by_h3(lon, lat, args.res, crs=crs, cells=cells)
    steps["index + count events"] = time.perf_counter() - t
    t = time.perf_counter()
    nb = h3_neighbours(cells)
    steps["neighbours"] = time.perf_counter() - t
    t = time.perf_counter()
    result = hotspots(counts, nb, permutations=args.permutations, seed=args.seed)
    steps["Gi* + permutations + FDR"] = time.perf_counter() - t
    total = time.perf_counter() - t0

    print(f"cells: {nb.n:,} ({int(counts.sum()):,} events inside)")
    for name, sec in steps.items():
        print(f"  {name:<28} {sec:7.2f} s")
    print(f"gridgeo total                  {total:7.2f} s  (target < 20 s)")
    bins = result.to_frame()["gi_bin"].value_counts().sort_index()
    print("gi_bin counts:", {int(k): int(v) for k, v in bins.items()})

    if args.no_baseline:
        return
    from esda import G_Local

    try:
        import numba  # noqa: F401

        has_numba = True
    except ImportError:
        has_numba = False
    t = time.perf_counter()
    w = nb.to_libpysal()
    w_sec = time.perf_counter() - t
    y = counts.to_numpy(dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        g = G_Local(y, w, transform="B", star=True, permutations=args.permutations, seed=args.seed)
        esda_sec = time.perf_counter() - t
    ours = steps["Gi* + permutations + FDR"]
    z_diff = float(np.max(np.abs(g.Zs - result.gi_z)))
    print(f"baseline esda.G_Local (numba: {has_numba}, n_jobs=-1): {esda_sec:.2f} s")
    print(f"  (building the libpysal W, not counted: {w_sec:.2f} s)")
    print(f"  max |z_esda - z_gridgeo| = {z_diff:.2e}")
    if not has_numba:
        same = np.array_equal(
            np.asarray(g.p_sim, dtype=np.float32), result.gi_p_sim.astype(np.float32)
        )
        print(f"  identical pseudo p-values: {same}")
    print(f"ratio esda / gridgeo (Gi* step): {esda_sec / ours:.1f}x")


if __name__ == "__main__":
    main()
