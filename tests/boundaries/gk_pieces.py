"""A district stored in Gauss–Krüger CM 105E (EPSG:4544), every level built from one set of pieces.

The pieces are the faces of a Voronoi diagram clipped to an outline and
noded on a 1 mm grid, so every level is a valid coverage (edges shared vertex
for vertex) in EPSG:4544 and, after reprojection, in EPSG:4490.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

GK105 = 4544
DISTRICT = "510104"


def gk_district(seed: int = 0, n_points: int = 300, size_m: float = 20_000.0) -> gpd.GeoDataFrame:
    """Units (district → micro-grid) of a district in EPSG:4544 built from shared pieces."""
    rng = np.random.default_rng(seed)
    x0, y0 = 411_000.0, 3_392_000.0
    pts = rng.uniform([x0, y0], [x0 + size_m, y0 + size_m], size=(n_points, 2))
    outline = shapely.Polygon(
        [
            (x0, y0),
            (x0 + size_m, y0 + 0.04 * size_m),
            (x0 + 0.98 * size_m, y0 + size_m),
            (x0 + 0.01 * size_m, y0 + 0.99 * size_m),
        ]
    )
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline.buffer(size_m))
    )
    cells = shapely.intersection(cells, outline)
    lines = shapely.union_all(shapely.boundary(cells), grid_size=0.001)
    pieces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    pieces = pieces[shapely.area(pieces) > 1]
    centre = shapely.centroid(pieces)
    u = (shapely.get_x(centre) - x0) / size_m
    v = (shapely.get_y(centre) - y0) / size_m
    street = np.minimum((u * 2).astype(int), 1)
    community = np.minimum((v * 2).astype(int), 1)
    grid = np.minimum((u * 4).astype(int) % 2, 1) * 3 + np.minimum((v * 6).astype(int) % 3, 2)
    micro = np.arange(len(pieces)) % 2
    rows: list[dict[str, object]] = []

    def add(code: str, level: str, mask: np.ndarray) -> None:
        geom = shapely.coverage_union_all(pieces[mask])
        rows.append({"code": code, "level": level, "name": f"单元{code}", "geometry": geom})

    add(DISTRICT, "district", np.ones(len(pieces), dtype=bool))
    for s in range(2):
        street_code = f"{DISTRICT}{s + 1:03d}"
        in_street = street == s
        add(street_code, "street", in_street)
        for k in range(2):
            community_code = f"{street_code}{k + 1:03d}"
            in_community = in_street & (community == k)
            add(community_code, "community", in_community)
            for j in np.unique(grid[in_community]).tolist():
                grid_code = f"{community_code}{j + 1:03d}"
                in_grid = in_community & (grid == j)
                add(grid_code, "grid", in_grid)
                for q in range(2):
                    in_micro = in_grid & (micro == q)
                    if in_micro.any():
                        add(f"{grid_code}{q + 1:03d}", "microgrid", in_micro)
    units = gpd.GeoDataFrame(rows, geometry="geometry", crs=GK105)
    units["households"] = 400
    units["full_time_workers"] = 1
    return units
