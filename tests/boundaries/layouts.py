"""Layouts for the boundary tests: drawn in metres, stored in EPSG:4490.

Layouts are drawn in local metres and shifted into CGCS2000 / 3-degree
Gauss–Krüger CM 120E (EPSG:4549) near Xiaoshan, then reprojected to
EPSG:4490, so expected areas and locations are known in metres.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely import Polygon, box
from shapely.affinity import translate

GK = 4549
X0, Y0 = 525_000.0, 3_340_000.0

STREET = "330109001"
C1, C2, C3 = "330109001001", "330109001014", "330109001015"  # official communities


def at(geom: shapely.Geometry) -> shapely.Geometry:
    """Local metres → EPSG:4549 metres."""
    return translate(geom, X0, Y0)


def to_local(lon: float, lat: float) -> tuple[float, float]:
    """EPSG:4490 lon/lat → local metres of the layouts."""
    tr = pyproj.Transformer.from_crs(4490, GK, always_xy=True)
    x, y = tr.transform(lon, lat)
    return float(x - X0), float(y - Y0)


def units_from(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Units table (EPSG:4490) from rows with local-metre geometries."""
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "geometry"} for r in rows],
        geometry=[at(r["geometry"]) for r in rows],  # type: ignore[arg-type]
        crs=GK,
    )
    return frame.to_crs(4490)


def _row(code: str, name: str | None, geom: shapely.Geometry, hh: int | None = 400) -> dict:
    return {"code": code, "name": name, "households": hh, "full_time_workers": 1, "geometry": geom}


def planted() -> gpd.GeoDataFrame:
    """One of every planted problem (see test_validate_boundaries for the list)."""
    rows = [
        _row(C1, "一社区", box(0, 0, 1000, 1000), None),
        _row(C2, "二社区", box(1000, 0, 2000, 1000), None),
        _row(C3, "三社区", box(0, -1000, 1000, 0), None),
        # gap: a 100 m x 100 m hole in G1 that no grid covers
        _row(C1 + "001", "G1", box(0, 0, 500, 500).difference(box(200, 200, 300, 300))),
        # sliver: G2 starts 0.5 m right of G1 -> 0.5 m x 500 m gap
        _row(C1 + "002", "G2", box(500.5, 0, 1000, 500)),
        # overlap: G3 reaches 20 m into G4 -> 20 m x 500 m
        _row(C1 + "003", "G3", box(0, 500, 520, 1000)),
        _row(C1 + "004", "G4", box(500, 500, 1000, 1000)),
        # special grid of C1 reaching 100 m into C2 -> 100 m x 200 m
        _row(C1 + "801", "S1", box(900, 100, 1100, 300)),
        # outside parent: G5 is 50 m taller than C2 -> 500 m x 50 m
        _row(C2 + "001", "G5", box(1000, 0, 1500, 1050)),
        # bow-tie: two vertices swapped, self-intersection at (1750, 500)
        _row(C2 + "002", "G6", Polygon([(1500, 0), (2000, 0), (1500, 1000), (2000, 1000)])),
        # duplicate code, and a missing name
        _row(C3 + "001", "G7", box(0, -1000, 500, 0)),
        _row(C3 + "001", None, box(500, -1000, 1000, 0)),
    ]
    return units_from(rows)


def clean() -> gpd.GeoDataFrame:
    """A valid coverage: street → 2 communities → grids (+1 special) → micro-grids."""
    rows = [
        {"code": STREET, "name": "城厢街道", "geometry": box(0, 0, 2000, 1000)},
        {"code": C1, "name": "一社区", "geometry": box(0, 0, 1000, 1000)},
        {"code": C2, "name": "二社区", "geometry": box(1000, 0, 2000, 1000)},
        _row(C1 + "001", "G1", box(0, 0, 500, 500)),
        _row(C1 + "002", "G2", box(500, 0, 1000, 500)),
        _row(C1 + "003", "G3", box(0, 500, 500, 1000)),
        _row(C1 + "004", "G4", box(500, 500, 1000, 1000)),
        _row(C1 + "801", "学校", box(600, 600, 900, 900)),
        _row(C2 + "001", "G5", box(1000, 0, 1500, 1000)),
        _row(C2 + "002", "G6", box(1500, 0, 2000, 1000)),
        {"code": C2 + "001001", "name": "M1", "geometry": box(1000, 0, 1500, 500)},
        {"code": C2 + "001002", "name": "M2", "geometry": box(1000, 500, 1500, 1000)},
    ]
    return units_from(rows)


def inside(
    lonlat: tuple[float, float] | None, local_box: shapely.Geometry, tol: float = 0.01
) -> bool:
    """Whether a reported (lon, lat) lies in a local-metre geometry (with tol metres slack)."""
    assert lonlat is not None
    x, y = to_local(*lonlat)
    return bool(local_box.buffer(tol).contains(shapely.Point(x, y)))


def hausdorff_m(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Hausdorff distance in metres between two aligned GeoSeries (measured in EPSG:4549)."""
    pa = np.asarray(a.to_crs(GK).values, dtype=object)
    pb = np.asarray(b.to_crs(GK).values, dtype=object)
    return shapely.hausdorff_distance(pa, pb, densify=0.1)
