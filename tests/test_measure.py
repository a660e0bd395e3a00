"""gridgeo.measure: areas and lengths in metres, compactness."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely import LineString, Point, box

from gridgeo.errors import CRSMismatch
from gridgeo.measure import (
    area_m2,
    compactness,
    from_local_metric,
    length_m,
    local_metric_crs,
    to_local_metric,
)

GEOD = pyproj.Geod(ellps="GRS80")


def test_area_matches_the_ellipsoid():
    polys = [
        box(120.26, 30.18, 120.27, 30.19),
        box(87.6, 43.8, 87.62, 43.81),
        box(120.2, 30.1, 120.21, 30.11).difference(box(120.202, 30.102, 120.204, 30.104)),
    ]
    expected = [abs(GEOD.geometry_area_perimeter(p)[0]) for p in polys]
    assert area_m2(polys) == pytest.approx(expected, rel=1e-6)


def test_area_honours_the_geoseries_crs():
    square = gpd.GeoSeries([box(525_000, 3_340_000, 526_000, 3_341_000)], crs=4549)
    # Gauss–Krüger scale near 25 km from the central meridian is 1 + 8e-6.
    assert area_m2(square)[0] == pytest.approx(1e6, rel=5e-5)
    assert area_m2([None, shapely.Polygon()]).tolist() == [0.0, 0.0]
    with pytest.raises(CRSMismatch, match="not in lon/lat"):
        area_m2([box(525_000, 3_340_000, 526_000, 3_341_000)])


def test_length_is_geodesic():
    line = LineString([(120, 30), (120.5, 30.2), (121, 30.1)])
    square = box(120.26, 30.18, 120.27, 30.19)
    got = length_m([line, square, Point(120, 30)])
    assert got[0] == pytest.approx(GEOD.geometry_length(line), rel=1e-9)
    assert got[1] == pytest.approx(GEOD.geometry_length(square.exterior), rel=1e-9)
    assert got[2] == 0.0


def test_compactness_of_disc_square_and_strip():
    disc, _ = to_local_metric([Point(120.3, 30.2)])
    crs = local_metric_crs([Point(120.3, 30.2)])
    shapes = from_local_metric(
        [disc[0].buffer(500, quad_segs=64), box(-500, -500, 500, 500), box(-1000, -10, 1000, 10)],
        crs,
    )
    scores = compactness(gpd.GeoSeries(shapes, crs=4490, index=[7, 8, 9]))
    assert list(scores.index) == [7, 8, 9]
    assert scores.loc[7].tolist() == pytest.approx([1.0, 1.0], abs=0.01)
    assert scores.loc[8].tolist() == pytest.approx([np.pi / 4, 2 / np.pi], abs=0.01)
    assert scores.loc[9, "polsby_popper"] < 0.05 and scores.loc[9, "reock"] < 0.02


def test_local_metric_round_trip():
    geom = box(120.26, 30.18, 120.27, 30.19)
    planar, crs = to_local_metric([geom])
    back = from_local_metric(planar, crs)[0]
    assert shapely.hausdorff_distance(back, geom) < 3e-8  # degrees: about 3 mm
