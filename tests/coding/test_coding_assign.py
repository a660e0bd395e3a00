"""Reading order and code assignment: properties (hypothesis) and worked examples."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from gridgeo.coding import assign_codes, parse_code, reading_order, validate_codes
from gridgeo.errors import Conflict, CRSMismatch, InvalidCode, InvalidInput
from tests.coding.coding_strategies import (
    COMMUNITY,
    OTHER_COMMUNITY,
    frame,
    jitter,
    rect_coverages,
    to_lonlat,
    voronoi_coverages,
)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

lattice_coverages = st.one_of(rect_coverages(), voronoi_coverages(lattice=True))
any_coverages = st.one_of(lattice_coverages, voronoi_coverages(lattice=False))


def _labelled(draw, cells):
    """Random parents (two communities) and kinds for a coverage."""
    n = len(cells)
    parents = draw(st.lists(st.sampled_from([COMMUNITY, OTHER_COMMUNITY]), min_size=n, max_size=n))
    kinds = draw(st.lists(st.sampled_from(["base", "base", "special"]), min_size=n, max_size=n))
    return frame(to_lonlat(cells), parents, kinds)


@st.composite
def labelled_coverages(draw, coverages=any_coverages):
    return _labelled(draw, draw(coverages))


@PROPERTY
@given(data=st.data(), gdf=labelled_coverages())
def test_any_row_permutation_gives_the_same_codes(data, gdf):
    codes = assign_codes(gdf)
    perm = data.draw(st.permutations(range(len(gdf))))
    shuffled = assign_codes(gdf.iloc[list(perm)])
    pd.testing.assert_series_equal(shuffled.loc[gdf.index], codes)


@PROPERTY
@given(
    data=st.data(),
    gdf=labelled_coverages(lattice_coverages),
    amplitude=st.floats(1e-9, 9.9e-8),
    seed=st.integers(0, 2**32 - 1),
    independent=st.booleans(),
)
def test_jitter_below_1e_7_degrees_gives_the_same_codes(data, gdf, amplitude, seed, independent):
    codes = assign_codes(gdf)
    moved = gdf.copy()
    moved.geometry = jitter(gdf.geometry.values, amplitude, seed, independent)
    shift = np.abs(
        shapely.get_coordinates(moved.geometry.values)
        - shapely.get_coordinates(gdf.geometry.values)
    )
    assert shift.max() < 1e-7 and shift.max() > 0
    perm = data.draw(st.permutations(range(len(gdf))))
    pd.testing.assert_series_equal(assign_codes(moved).loc[gdf.index], codes)
    pd.testing.assert_series_equal(assign_codes(moved.iloc[list(perm)]).loc[gdf.index], codes)


@PROPERTY
@given(gdf=labelled_coverages(), reserved_seqs=st.sets(st.integers(1, 999), max_size=30))
def test_codes_are_unique_prefixed_by_parent_and_in_the_kind_range(gdf, reserved_seqs):
    reserved = {f"{COMMUNITY}{s:03d}" for s in reserved_seqs}
    codes = assign_codes(gdf, reserved=reserved)
    assert codes.is_unique
    assert not set(codes) & reserved
    for label, code in codes.items():
        parts = parse_code(code)
        assert parts.parent == gdf.at[label, "parent_code"]
        assert code.startswith(gdf.at[label, "parent_code"])
        lo, hi = (1, 799) if gdf.at[label, "kind"] == "base" else (801, 999)
        assert lo <= parts.sequence <= hi
        assert parts.kind == gdf.at[label, "kind"]
    # Each (parent, kind) uses the first free sequences, without gaps.
    for (parent, kind), group in gdf.groupby(["parent_code", "kind"]):
        taken = reserved_seqs if parent == COMMUNITY else set()
        lo, hi = (1, 799) if kind == "base" else (801, 999)
        free = [s for s in range(lo, hi + 1) if s not in taken][: len(group)]
        assert sorted(int(c[-3:]) for c in codes[group.index]) == free
    assert validate_codes(gdf.assign(code=codes)) == []


@PROPERTY
@given(cells=any_coverages)
def test_reading_order_opens_with_the_westernmost_grid_of_the_northern_band(cells):
    geoms = to_lonlat(cells)
    order = reading_order(geoms)
    assert sorted(order.tolist()) == list(range(len(geoms)))
    bounds = np.array([g.bounds for g in geoms])
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    leaders = cy >= cy.max() - 1e-6
    first_row = leaders | (cy > bounds[leaders, 1].min() + 1e-6)
    first = order[0]
    assert first_row[first]
    assert cx[first] <= cx[first_row].min() + 1e-6
    # The first row comes first, as a block.
    assert set(order[: first_row.sum()].tolist()) == set(np.flatnonzero(first_row).tolist())


def test_regular_lattice_is_numbered_row_by_row_north_first_west_to_east():
    rows, cols = 3, 4
    cells = [
        box(c * 100, r * 80, (c + 1) * 100, (r + 1) * 80) for r in range(rows) for c in range(cols)
    ]
    gdf = frame(to_lonlat(cells))
    codes = assign_codes(gdf)
    # cell index r*cols + c; north row is r = rows-1.
    expected = {}
    seq = 1
    for r in reversed(range(rows)):
        for c in range(cols):
            expected[f"row{r * cols + c}"] = f"{COMMUNITY}{seq:03d}"
            seq += 1
    assert codes.to_dict() == expected


def test_rows_follow_the_leading_grid_and_ties_go_north_then_west():
    # A tall grid on the west spanning two rows of small grids: its centre lies
    # on the bottom edge of the first row, so it opens the second row.
    tall = box(0, 0, 100, 200)
    small = [box(100, 100, 200, 200), box(200, 100, 300, 200), box(100, 0, 200, 100)]
    order = reading_order(to_lonlat([tall, *small]))
    assert order.tolist() == [1, 2, 0, 3]
    # A square cut along its diagonal: same bounding box; the north-west half first.
    south_east = Polygon([(0, 0), (100, 0), (100, 100)])
    north_west = Polygon([(0, 0), (100, 100), (0, 100)])
    assert reading_order(to_lonlat([south_east, north_west])).tolist() == [1, 0]


def test_ring_and_the_grid_in_its_hole_are_ordered_deterministically():
    outer = box(0, 0, 300, 300).difference(box(100, 100, 200, 200))
    inner = box(100, 100, 200, 200)
    a = reading_order(to_lonlat([outer, inner])).tolist()
    b = reading_order(to_lonlat([inner, outer])).tolist()
    assert a == [0, 1] and b == [1, 0]  # the ring (taller bounding box) first


def test_special_grids_are_numbered_separately_from_801():
    cells = [box(i * 100, 0, (i + 1) * 100, 100) for i in range(4)]
    gdf = frame(to_lonlat(cells), kinds=["special", "base", "special", "base"])
    assert assign_codes(gdf).tolist() == [
        f"{COMMUNITY}801",
        f"{COMMUNITY}001",
        f"{COMMUNITY}802",
        f"{COMMUNITY}002",
    ]


def test_microgrids_are_numbered_under_their_grid_and_other_levels_get_no_code():
    grid = f"{COMMUNITY}801"
    cells = to_lonlat([box(0, 0, 50, 50), box(50, 0, 100, 50), box(0, 0, 100, 50)])
    gdf = gpd.GeoDataFrame(
        {
            "parent_code": [grid, grid, "330109001"],
            "level": ["microgrid", "microgrid", "community"],
        },
        geometry=list(cells),
        crs=4326,
    )
    codes = assign_codes(gdf)
    assert codes.iloc[:2].tolist() == [f"{grid}001", f"{grid}002"]
    assert codes.isna().tolist() == [False, False, True]
    # Without a level column the level follows from the parent code's length.
    inferred = assign_codes(gdf.iloc[:2].drop(columns="level"))
    assert inferred.tolist() == [f"{grid}001", f"{grid}002"]


def test_a_discarded_draft_consumes_no_code():
    cells = [box(i * 100, 0, (i + 1) * 100, 100) for i in range(3)]
    gdf = frame(to_lonlat(cells))
    draft = assign_codes(gdf, reserved={f"{COMMUNITY}001"})
    again = assign_codes(gdf, reserved={f"{COMMUNITY}001"})
    assert draft.tolist() == again.tolist() == [f"{COMMUNITY}{s:03d}" for s in (2, 3, 4)]
    # Only codes the caller reserves are skipped.
    after = assign_codes(gdf, reserved={f"{COMMUNITY}001", *draft})
    assert after.tolist() == [f"{COMMUNITY}{s:03d}" for s in (5, 6, 7)]


def test_input_is_not_modified():
    gdf = frame(to_lonlat([box(0, 0, 10, 10), box(10, 0, 20, 10)]))
    before = gdf.copy()
    assign_codes(gdf)
    pd.testing.assert_frame_equal(gdf, before)


def test_projected_crs_is_refused():
    gdf = frame(to_lonlat([box(0, 0, 10, 10)])).to_crs(4549)
    with pytest.raises(CRSMismatch, match="EPSG:4549"):
        assign_codes(gdf)
    unknown = gdf.set_crs(None, allow_override=True)
    with pytest.raises(CRSMismatch, match="lon/lat"):
        assign_codes(unknown)


def test_bad_inputs_are_refused_with_the_reason():
    gdf = frame(to_lonlat([box(0, 0, 10, 10), box(10, 0, 20, 10)]))
    with pytest.raises(InvalidInput, match="parent_code"):
        assign_codes(gdf.drop(columns="parent_code"))
    with pytest.raises(InvalidCode, match="community"):
        assign_codes(gdf.assign(parent_code="330109001"))
    with pytest.raises(InvalidInput, match="unknown kind"):
        assign_codes(gdf.assign(kind="vip"))
    with pytest.raises(InvalidInput, match="identical geometries"):
        assign_codes(gdf.assign(geometry=[gdf.geometry.iloc[0]] * 2))
    with pytest.raises(InvalidInput, match="non-empty polygons"):
        assign_codes(gdf.assign(geometry=[gdf.geometry.iloc[0], None]))
    full = {f"{COMMUNITY}{s:03d}" for s in range(1, 799)}
    with pytest.raises(Conflict, match="only 1 of 001–799"):
        assign_codes(gdf, reserved=full)
    with pytest.raises(InvalidInput, match="collection of codes"):
        assign_codes(gdf, reserved=f"{COMMUNITY}001")
