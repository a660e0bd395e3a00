"""Ownership semantics of LocateIndex on the hand-made hierarchy (see locate_synthetic)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod

from gridgeo.errors import CRSMismatch, InvalidInput, NotFound
from gridgeo.locate import LocateIndex
from tests.locate.locate_synthetic import (
    C11,
    C12,
    C21,
    C22,
    S1,
    S2,
    SP1,
    SP1_MICRO,
    SP2,
    SP3,
    STEP,
    D,
    lattice_point,
    oracle_points,
)


@pytest.fixture(scope="module", params=[4.0, None], ids=["cached", "exact"])
def index(request, units) -> LocateIndex:
    return LocateIndex.build(units, generation="g-test", cell_size_m=request.param)


def locate_at(index: LocateIndex, *ij: tuple[float, float], **kw):
    lon, lat = zip(*(lattice_point(i, j) for i, j in ij), strict=True)
    return index.locate(np.array(lon), np.array(lat), **kw)


# (lattice position, owner, on_boundary)
CASES = [
    pytest.param((4.5, 0.5), C11 + "001002", False, id="microgrid interior"),
    pytest.param((1.0, 2.0), C11 + "003", False, id="grid without microgrids"),
    pytest.param((10.5, 1.0), C22 + "001", False, id="multipolygon part 1"),
    pytest.param((10.5, 7.0), C22 + "001", False, id="multipolygon part 2"),
    pytest.param((2.0, 0.5), C11 + "002", True, id="shared grid edge: lowest code"),
    pytest.param((5.0, 0.5), C11 + "001001", True, id="shared microgrid edge"),
    pytest.param((4.0, 0.5), C11 + "001002", True, id="grid|microgrid edge: most specific"),
    pytest.param((10.5, 3.0), C22 + "001", True, id="edge between grids of a community"),
    pytest.param((4.0, 4.0), C11 + "001004", True, id="vertex of 4 polygons"),
    pytest.param((9.0, 3.0), C21 + "001", True, id="vertex of 3 grids"),
    pytest.param((6.0, 7.0), C12 + "001", True, id="street boundary"),
    pytest.param((6.0, 5.0), C12 + "002003", True, id="street boundary vs microgrid"),
    pytest.param((9.0, 4.0), C21 + "001", True, id="community boundary"),
    pytest.param((0.0, 0.5), C11 + "003", True, id="outer boundary west"),
    pytest.param((12.0, 4.0), C22 + "002", True, id="outer boundary east"),
    pytest.param((0.0, 0.0), C11 + "003", True, id="outer corner"),
    pytest.param((5.0, 0.0), C11 + "001001", True, id="outer boundary vertex"),
    pytest.param((3.5, 2.5), SP1, False, id="special grid interior"),
    pytest.param((2.5, 2.0), SP1_MICRO, False, id="special microgrid interior"),
    pytest.param((3.0, 2.0), SP1_MICRO, True, id="special microgrid edge"),
    pytest.param((5.0, 2.0), SP1, True, id="edge shared by two special grids"),
    pytest.param((3.5, 1.0), SP1, True, id="special edge inside a base grid"),
    pytest.param((8.0, 2.0), SP2, True, id="special edge on a base grid"),
    pytest.param((10.5, 5.2), SP3, False, id="rotated special grid"),
    pytest.param((-1.0, 2.0), None, False, id="outside"),
]


@pytest.mark.parametrize(("ij", "owner", "on_boundary"), CASES)
def test_owner_and_boundary(index, ij, owner, on_boundary):
    result = locate_at(index, ij)
    assert result.owner[0] == owner
    assert bool(result.on_boundary[0]) is on_boundary
    if owner is None:
        assert result.chain_of(0) == []
        assert result.owner_index[0] == -1
    else:
        assert result.chain_of(0) == index.chain(owner)
        assert result.chain_of(0)[-1] == owner


def test_chains_follow_parent_links(index):
    result = locate_at(index, (4.0, 4.0), (6.0, 7.0), (5.5, 2.0), (2.5, 2.0))
    assert result.chain_of(0) == [D, S1, C11, C11 + "001", C11 + "001004"]
    assert result.chain_of(1) == [D, S1, C12, C12 + "001"]
    # A special grid's chain runs through the community it belongs to, even
    # where the point lies in another street.
    assert result.chain_of(2) == [D, S2, C21, SP2]
    assert result.chain_of(3) == [D, S1, C11, SP1, SP1_MICRO]


def test_special_grids_lists_every_covering_special(index):
    result = locate_at(index, (3.5, 2.5), (2.5, 2.0), (5.0, 2.0), (1.0, 2.0), (10.5, 5.2))
    assert [tuple(s) for s in result.special_grids] == [
        (SP1,),
        (SP1, SP1_MICRO),
        (SP1, SP2),
        (),
        (SP3,),
    ]


def test_input_order_is_preserved(index):
    ij = [c.values[0] for c in CASES]
    expected = [c.values[1] for c in CASES]
    order = np.random.default_rng(1).permutation(len(ij))
    result = locate_at(index, *[ij[k] for k in order])
    assert result.owner.tolist() == [expected[k] for k in order]


def test_many_points_mix_cache_and_exact_path(index):
    # The same boundary point repeated between interior points keeps its answer.
    pts = [(4.5, 0.5), (2.0, 0.5), (1.0, 2.0)] * 1000
    result = locate_at(index, *pts)
    assert result.owner.tolist() == [C11 + "001002", C11 + "002", C11 + "003"] * 1000
    assert result.on_boundary.tolist() == [False, True, False] * 1000


def test_scalar_and_empty_input(index):
    lon, lat = lattice_point(4.5, 0.5)
    assert index.locate(lon, lat).owner.tolist() == [C11 + "001002"]
    empty = index.locate([], [])
    assert len(empty) == 0 and empty.owner.shape == (0,)


# --------------------------------------------------------------------------- nearest


def geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(Geod(ellps="GRS80").inv(lon1, lat1, lon2, lat2)[2])


def test_nearest_grid_within_distance(index):
    lon, lat = lattice_point(-1.0, 2.0)
    result = index.locate([lon], [lat], within_m=200)
    assert result.owner[0] is None
    assert result.nearest_code[0] == C11 + "003"
    expected = geodesic_m(lon, lat, *lattice_point(0.0, 2.0))
    assert result.nearest_distance_m[0] == pytest.approx(expected, rel=0.01)

    lon, lat = lattice_point(13.0, 4.0)
    result = index.locate([lon], [lat], within_m=500)
    assert result.nearest_code[0] == C22 + "002"
    expected = geodesic_m(lon, lat, *lattice_point(12.0, 4.0))
    assert result.nearest_distance_m[0] == pytest.approx(expected, rel=0.01)


def test_nearest_to_a_corner_uses_metres_not_degrees(index):
    # 0.5 lattice steps south-west of the corner: in degrees the offsets are
    # equal, in metres the longitude offset is shorter (cos 30 deg).
    lon, lat = lattice_point(-0.5, -0.5)
    result = index.locate([lon], [lat], within_m=1000)
    assert result.nearest_code[0] == C11 + "003"
    expected = geodesic_m(lon, lat, *lattice_point(0.0, 0.0))
    assert result.nearest_distance_m[0] == pytest.approx(expected, rel=0.01)


def test_nearest_only_within_reach_and_only_for_uncovered(index):
    lon, lat = lattice_point(-1.0, 2.0)  # about 96 m west of the district
    far = index.locate([lon], [lat], within_m=50)
    assert far.nearest_code[0] is None and np.isnan(far.nearest_distance_m[0])
    none = index.locate([lon], [lat])
    assert none.nearest_code[0] is None and np.isnan(none.nearest_distance_m[0])
    inside = locate_at(index, (1.0, 2.0), within_m=1000)
    assert inside.nearest_code[0] is None
    zero = index.locate([lon], [lat], within_m=0)
    assert zero.nearest_code[0] is None


def test_nearest_is_a_leaf_base_unit(index, units):
    # Points all around the district: the nearest unit is always a grid
    # without micro-grids or a micro-grid, never a special grid or a parent.
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    ci, cj = 6.0, 4.0
    ij = [(ci + 8 * np.cos(a), cj + 6 * np.sin(a)) for a in angles]
    result = locate_at(index, *ij, within_m=5000)
    assert all(code is not None for code in result.nearest_code)
    base = units[units["kind"] == "base"]
    parents = set(base["parent_code"].dropna())
    leaves = set(base["code"]) - parents
    assert set(result.nearest_code) <= leaves
    assert np.all(result.nearest_distance_m > 0)


# --------------------------------------------------------------------------- bad input


def test_bad_coordinates_name_the_row(index):
    lon = [120.3, float("nan"), 120.3, 200.0]
    lat = [30.15, 30.15, 30.15, 30.15]
    with pytest.raises(InvalidInput, match="row 1") as err:
        index.locate(lon, lat)
    assert err.value.details["rows"] == [1, 3]
    with pytest.raises(InvalidInput, match="row 0"):
        index.locate([120.3], [float("inf")])
    with pytest.raises(InvalidInput, match="row 2"):
        index.locate([120.3, 120.3, 120.3], [30.15, 30.15, -91.0])
    with pytest.raises(InvalidInput):
        index.locate([120.3, 120.3], [30.15, 30.15, 30.15])
    with pytest.raises(InvalidInput, match="within_m"):
        index.locate([120.3], [30.15], within_m=-1)


def test_build_rejects_wrong_crs(units):
    with pytest.raises(CRSMismatch, match="EPSG:3857"):
        LocateIndex.build(units.to_crs(3857))
    with pytest.raises(CRSMismatch, match="no CRS"):
        LocateIndex.build(units.set_crs(None, allow_override=True))
    # EPSG:4326 is accepted as identical to EPSG:4490.
    for crs in ("EPSG:4326", "OGC:CRS84"):
        wgs = LocateIndex.build(units.set_crs(crs, allow_override=True))
        assert locate_at(wgs, (4.5, 0.5)).owner[0] == C11 + "001002"


def test_build_rejects_bad_tables(units):
    with pytest.raises(InvalidInput, match="kind"):
        LocateIndex.build(units.drop(columns="kind"))
    with pytest.raises(InvalidInput, match="GeoDataFrame"):
        LocateIndex.build(units.drop(columns="geometry").to_dict())
    bowtie = shapely.Polygon([(120.0, 30.0), (120.1, 30.1), (120.1, 30.0), (120.0, 30.1)])
    broken = units.copy()
    broken.loc[5, "geometry"] = bowtie
    with pytest.raises(InvalidInput, match=units.loc[5, "code"]):
        LocateIndex.build(broken)
    line = units.copy()
    line.loc[2, "geometry"] = shapely.LineString([(120.0, 30.0), (120.1, 30.1)])
    with pytest.raises(InvalidInput, match="Polygon"):
        LocateIndex.build(line)
    dup = units.copy()
    dup.loc[3, "code"] = dup.loc[4, "code"]
    with pytest.raises(InvalidInput, match=dup.loc[4, "code"]):
        LocateIndex.build(dup)
    level = units.copy()
    level.loc[3, "level"] = "village"
    with pytest.raises(InvalidInput, match="level"):
        LocateIndex.build(level)
    orphan = units.copy()
    orphan.loc[3, "parent_code"] = "999999"
    with pytest.raises(InvalidInput, match="999999"):
        LocateIndex.build(orphan)
    numeric = units.copy()
    numeric["code"] = numeric["code"].astype(object)
    numeric.loc[0, "code"] = 330109
    with pytest.raises(InvalidInput, match="code"):
        LocateIndex.build(numeric)


def test_build_does_not_touch_the_input(units):
    before = units.copy()
    LocateIndex.build(units)
    assert_geodataframe_equal(units, before)
    assert not shapely.is_prepared(np.asarray(units.geometry.array)).any()


# --------------------------------------------------------------------------- units and rendering


def test_unit_and_chain_lookups(index):
    assert index.unit(SP2) == {
        "code": SP2,
        "name": f"grid {SP2}",
        "level": "grid",
        "kind": "special",
        "parent_code": C21,
    }
    assert index.unit(D)["parent_code"] is None
    assert index.chain(C12 + "002003") == [D, S1, C12, C12 + "002", C12 + "002003"]
    assert index.chain(D) == [D]
    with pytest.raises(NotFound, match="123"):
        index.unit("123")
    with pytest.raises(NotFound):
        index.chain("330109999")
    assert len(index) == 26 and SP3 in index and "x" not in index


def test_point_json_follows_the_http_contract(index):
    result = locate_at(index, (5.0, 2.0), (-1.0, 2.0), within_m=200)
    body = index.point_json(result, 0, point={"lon": 1.0, "lat": 2.0, "crs": "gcj02"})
    assert body["generation"] == "g-test"
    assert body["point"] == {"lon": 1.0, "lat": 2.0, "crs": "gcj02"}
    assert body["owner"] == {"code": SP1, "name": f"grid {SP1}", "level": "grid", "kind": "special"}
    assert [u["code"] for u in body["chain"]] == [D, S1, C11, SP1]
    assert body["chain"][0]["level"] == "district" and body["chain"][-1] == body["owner"]
    assert [u["code"] for u in body["special_grids"]] == [SP1, SP2]
    assert body["on_boundary"] is True
    assert "nearest" not in body

    outside = index.point_json(result, 1)
    assert outside["owner"] is None and outside["chain"] == [] and "point" not in outside
    assert outside["nearest"]["code"] == C11 + "003"
    assert 90 < outside["nearest"]["distance_m"] < 100


def test_batch_items(index):
    result = locate_at(index, (2.0, 0.5), (-1.0, 2.0))
    assert result.batch_json() == {
        "generation": "g-test",
        "results": [
            {"owner": C11 + "002", "chain": [D, S1, C11, C11 + "002"], "on_boundary": True},
            {"owner": None, "chain": [], "on_boundary": False},
        ],
    }
    assert result.batch_item(0) == result.batch_items()[0]


def test_memory_is_reported_and_grows_with_finer_cells(units):
    exact = LocateIndex.build(units, cell_size_m=None)
    coarse = LocateIndex.build(units, cell_size_m=20.0)
    fine = LocateIndex.build(units, cell_size_m=1.0)
    assert 0 < exact.memory_bytes() < coarse.memory_bytes() < fine.memory_bytes()
    assert fine.memory_bytes() - exact.memory_bytes() >= fine.stats()["cache_bytes"]


def test_a_district_without_children_owns_its_area():
    district = gpd.GeoDataFrame(
        {
            "code": ["330109"],
            "parent_code": [None],
            "level": ["district"],
            "kind": ["base"],
            "name": ["d"],
        },
        geometry=[shapely.box(120.0, 30.0, 120.0 + 20 * STEP, 30.0 + 20 * STEP)],
        crs="EPSG:4490",
    )
    index = LocateIndex.build(district)
    result = index.locate([120.005, 120.0, 119.99], [30.005, 30.005, 30.005], within_m=2000)
    assert result.owner.tolist() == ["330109", "330109", None]
    assert result.on_boundary.tolist() == [False, True, False]
    assert result.nearest_code[2] == "330109"


def test_concurrent_lookups_agree_with_sequential_ones(jittered_units):
    index = LocateIndex.build(jittered_units)
    lon, lat = oracle_points(jittered_units, 4000, seed=21)
    expected = index.locate(lon, lat, within_m=150)

    def run(k: int) -> bool:
        sl = slice(k * 500, (k + 1) * 500)
        got = index.locate(lon[sl], lat[sl], within_m=150)
        singles = [
            index.locate(float(x), float(y)).owner[0]
            for x, y in zip(lon[sl][:50], lat[sl][:50], strict=True)
        ]
        return (
            got.owner.tolist() == expected.owner[sl].tolist()
            and got.on_boundary.tolist() == expected.on_boundary[sl].tolist()
            and got.nearest_code.tolist() == expected.nearest_code[sl].tolist()
            and singles == expected.owner[sl][:50].tolist()
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(run, range(8)))
