"""Benchmark batch point-in-grid lookups: gridgeo's LocateIndex against geopandas.sjoin.

Usage::

    python bench/locate_batch.py [--points 1000000] [--units PATH] [--seed 7]

Builds the locate index from the sample city's units (``data/samples/units.parquet``
by default; a synthetic city of about the same size if that file is missing),
draws points with a fixed seed (uniformly in the district's bounding box, and
two more scenarios: uniformly inside the district, and next to boundaries),
and times

* gridgeo: ``LocateIndex.locate(lon, lat)``;
* baseline: ``geopandas.sjoin(points, units, predicate="intersects")`` followed
  by the same owner rule (special before base, most specific level, lowest
  code) written plainly with pandas; the time includes building the point
  GeoDataFrame from the coordinate arrays, which the baseline needs and
  gridgeo does not.

It asserts that both give identical owners and prints throughputs and the
ratio, plus the single-point latency of ``locate``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gridgeo.locate import LocateIndex

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_UNITS = ROOT / "data" / "samples" / "units.parquet"
LEVEL_DEPTH = {"district": 0, "street": 1, "community": 2, "grid": 3, "microgrid": 4}


# --------------------------------------------------------------------------- synthetic city


def _axis(n_cells: int, fine_m: float, coarse_m: float, deg_per_m: float) -> np.ndarray:
    """Lattice coordinates: small cells in the middle, large ones at the edges."""
    centre = (n_cells - 1) / 2
    t = np.abs(np.arange(n_cells) - centre) / centre
    steps = fine_m + (coarse_m - fine_m) * t**3
    return np.concatenate([[0.0], np.cumsum(steps)]) * deg_per_m


def synthetic_city(seed: int = 1, n: int = 96) -> gpd.GeoDataFrame:
    """A district of about 1,500 grids and 4,600 micro-grids, 600 communities, 50 specials.

    The district is an ``n x n`` lattice of jittered points (cells of about
    60 m in the centre and 1 km at the edges). Streets are 16 x 24 lattice
    cells, communities 4 x 4; a community is one grid (no micro-grids), two
    grids (2 x 4 cells, 4 micro-grids each) or four (2 x 2, 4 micro-grids
    each). Every polygon's ring runs through all lattice points on its edges,
    so neighbours share edges vertex for vertex.
    """
    rng = np.random.default_rng(seed)
    lon0, lat0 = 120.2, 30.0
    deg_lat = 1 / 111_320
    deg_lon = deg_lat / np.cos(np.radians(lat0))
    xs = lon0 + _axis(n, 60, 1000, deg_lon)
    ys = lat0 + _axis(n, 60, 1000, deg_lat)
    px, py = np.meshgrid(xs, ys, indexing="ij")
    step_x = np.gradient(xs)[:, None] * np.ones((1, n + 1))
    step_y = np.ones((n + 1, 1)) * np.gradient(ys)[None, :]
    inner = np.zeros((n + 1, n + 1), dtype=bool)
    inner[1:-1, 1:-1] = True
    px = px + inner * rng.uniform(-0.2, 0.2, px.shape) * step_x
    py = py + inner * rng.uniform(-0.2, 0.2, py.shape) * step_y

    def rect(i0: int, j0: int, i1: int, j1: int) -> shapely.Polygon:
        ring = (
            [(i, j0) for i in range(i0, i1)]
            + [(i1, j) for j in range(j0, j1)]
            + [(i, j1) for i in range(i1, i0, -1)]
            + [(i0, j) for j in range(j1, j0, -1)]
        )
        return shapely.Polygon([(px[i, j], py[i, j]) for i, j in ring])

    rows: list[dict[str, object]] = []

    def add(code: str, parent: str | None, level: str, kind: str, geom: object) -> None:
        rows.append(
            {
                "code": code,
                "parent_code": parent,
                "level": level,
                "kind": kind,
                "name": f"{level} {code}",
                "geometry": geom,
            }
        )

    district = "330109"
    add(district, None, "district", "base", rect(0, 0, n, n))
    street_no = 0
    communities: list[tuple[str, int, int]] = []
    for si in range(0, n, 16):
        for sj in range(0, n, 24):
            street_no += 1
            street = f"{district}{street_no:03d}"
            add(street, district, "street", "base", rect(si, sj, si + 16, sj + 24))
            c_no = 0
            for ci in range(si, si + 16, 4):
                for cj in range(sj, sj + 24, 4):
                    c_no += 1
                    community = f"{street}{c_no:03d}"
                    communities.append((community, ci, cj))
                    add(community, street, "community", "base", rect(ci, cj, ci + 4, cj + 4))
                    centre = abs(ci + 2 - n / 2) + abs(cj + 2 - n / 2)
                    split = 1 if centre > 0.6 * n else int(rng.choice([2, 4]))
                    if split == 1:
                        add(
                            f"{community}001",
                            community,
                            "grid",
                            "base",
                            rect(ci, cj, ci + 4, cj + 4),
                        )
                        continue
                    w = 2 if split == 4 else 4
                    boxes = [(ci + a, cj + b) for a in range(0, 4, 2) for b in range(0, 4, w)]
                    for g_no, (gi, gj) in enumerate(boxes, start=1):
                        grid = f"{community}{g_no:03d}"
                        add(grid, community, "grid", "base", rect(gi, gj, gi + 2, gj + w))
                        hw = w // 2
                        micro = [(gi + a, gj + b) for a in range(2) for b in range(0, w, hw)]
                        for m_no, (mi, mj) in enumerate(micro, start=1):
                            add(
                                f"{grid}{m_no:03d}",
                                grid,
                                "microgrid",
                                "base",
                                rect(mi, mj, mi + 1, mj + hw),
                            )
    # Special grids: rotated rectangles near the centre, not aligned with the lattice.
    placed: list[shapely.Polygon] = []
    special_no: dict[str, int] = {}
    attempts = 0
    while len(placed) < 50 and attempts < 2000:
        attempts += 1
        i, j = rng.integers(n // 4, 3 * n // 4, size=2)
        cx, cy = px[i, j], py[i, j]
        size = rng.uniform(80, 300)
        shape = shapely.box(-size, -size * 0.6, size, size * 0.6)
        shape = shapely.affinity.rotate(shape, rng.uniform(0, 90), origin=(0, 0))
        shape = shapely.affinity.scale(shape, deg_lon, deg_lat, origin=(0, 0))
        shape = shapely.affinity.translate(shape, cx, cy)
        if any(shape.intersects(p) for p in placed):
            continue
        placed.append(shape)
        holder = next(c for c, ci, cj in communities if ci <= i < ci + 4 and cj <= j < cj + 4)
        special_no[holder] = special_no.get(holder, 800) + 1
        add(f"{holder}{special_no[holder]:03d}", holder, "grid", "special", shape)
    units = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4490")
    # Clip specials to the district outline (they are inside by construction).
    return units


# --------------------------------------------------------------------------- baseline


def sjoin_owners(units: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Owner codes by geopandas.sjoin(intersects) plus the owner rule in pandas."""
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=units.crs)
    right = units[["code", "level", "kind", "geometry"]]
    joined = gpd.sjoin(points, right, how="inner", predicate="intersects")
    joined = joined.assign(
        is_base=(joined["kind"] == "base").astype(int),
        depth=joined["level"].map(LEVEL_DEPTH),
    )
    best = (
        joined.reset_index(names="point")
        .sort_values(["point", "is_base", "depth", "code"], ascending=[True, True, False, True])
        .drop_duplicates("point")
        .set_index("point")["code"]
    )
    owners = np.full(len(lon), None, dtype=object)
    owners[best.index.to_numpy()] = best.to_numpy(dtype=object)
    return owners


# --------------------------------------------------------------------------- main


def load_units(path: Path | None) -> tuple[gpd.GeoDataFrame, str]:
    path = path or DEFAULT_UNITS
    if path.exists():
        if path.suffix == ".parquet":
            return gpd.read_parquet(path), str(path)
        return gpd.read_file(path), str(path)
    return synthetic_city(), "synthetic city (sample units not found)"


def scenario_points(
    units: gpd.GeoDataFrame, name: str, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points for one scenario.

    ``bbox``: uniform in the district's bounding box (the headline figure);
    ``district``: uniform inside the district outline (every point covered);
    ``boundary``: polygon vertices moved by 5 m (sd) of noise, the worst case
    for the cell cache since most points fall next to a boundary.
    """
    district = units[units["level"] == "district"]
    outline = shapely.union_all(np.asarray((district if len(district) else units).geometry))
    minx, miny, maxx, maxy = outline.bounds
    if name == "bbox":
        return rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    if name == "district":
        shapely.prepare(outline)
        lon_parts, lat_parts, have = [], [], 0
        while have < n:
            lon = rng.uniform(minx, maxx, 2 * n)
            lat = rng.uniform(miny, maxy, 2 * n)
            inside = shapely.contains_xy(outline, lon, lat)
            lon_parts.append(lon[inside])
            lat_parts.append(lat[inside])
            have += int(inside.sum())
        return np.concatenate(lon_parts)[:n], np.concatenate(lat_parts)[:n]
    coords = shapely.get_coordinates(np.asarray(units.geometry))
    pick = coords[rng.integers(0, len(coords), n)]
    deg = 5.0 / 111_320
    lon = pick[:, 0] + rng.normal(0, deg / np.cos(np.radians(pick[:, 1])), n)
    return lon, pick[:, 1] + rng.normal(0, deg, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--units", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cell-size-m", type=float, default=None)
    parser.add_argument(
        "--scenarios", default="bbox,district,boundary", help="comma-separated subset"
    )
    args = parser.parse_args()

    units, source = load_units(args.units)
    counts = units.groupby(["kind", "level"]).size().to_dict()
    print(f"units: {source}: {len(units)} polygons {counts}")

    t0 = time.perf_counter()
    kwargs = {} if args.cell_size_m is None else {"cell_size_m": args.cell_size_m}
    index = LocateIndex.build(units, generation="bench", **kwargs)
    build_s = time.perf_counter() - t0
    stats = index.stats()
    print(f"build: {build_s:.2f} s; memory ~ {index.memory_bytes() / 2**20:.1f} MiB; {stats}")

    rng = np.random.default_rng(args.seed)
    for name in args.scenarios.split(","):
        lon, lat = scenario_points(units, name, args.points, rng)
        index.locate(lon[:1000], lat[:1000])  # warm up
        t0 = time.perf_counter()
        result = index.locate(lon, lat)
        ours_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        expected = sjoin_owners(units, lon, lat)
        theirs_s = time.perf_counter() - t0

        mismatch = np.flatnonzero(result.owner != expected)
        assert len(mismatch) == 0, f"{len(mismatch)} owners differ, e.g. row {mismatch[:5]}"
        covered = float(np.mean(result.owner_index >= 0))
        on_boundary = float(np.mean(result.on_boundary))
        print(
            f"\n[{name}] {args.points:,} points, {covered:.1%} covered, "
            f"{on_boundary:.2%} on a boundary; owners identical to the baseline"
        )
        print(f"  gridgeo LocateIndex.locate : {ours_s:7.3f} s {args.points / ours_s:12,.0f} pts/s")
        print(
            f"  geopandas sjoin + rule     : {theirs_s:7.3f} s "
            f"{args.points / theirs_s:12,.0f} pts/s"
        )
        print(f"  speed-up: {theirs_s / ours_s:.1f}x")

        # Single-point latency, as the GET endpoint calls it.
        n_single = min(5000, args.points)
        t0 = time.perf_counter()
        for k in range(n_single):
            index.locate(float(lon[k]), float(lat[k]))
        single_us = (time.perf_counter() - t0) / n_single * 1e6
        print(f"  single-point locate: {single_us:.1f} us per call (mean of {n_single})")


if __name__ == "__main__":
    main()
