"""Redraw operations: split, merge, move, replace on a small synthetic hierarchy.

The hierarchy (drawn in local metres, stored in EPSG:4490, see layouts.py):
community C1 = 1000 m x 1000 m with four 500 m grids (G1 south-west, G2
south-east, G3 north-west, G4 north-east), each cut into four 250 m
micro-grids, a special grid (school) over G4, and a neighbouring community C2
with one grid.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, box

from gridgeo.boundaries import area_m2, validate_units
from gridgeo.boundaries.redraw import (
    RedrawResult,
    merge_units,
    move_units,
    replace_geometry,
    split_unit,
)
from gridgeo.errors import Conflict, InvalidInput, NotFound
from tests.boundaries.layouts import C1, C2, GK, STREET, at, to_local, units_from

G1, G2, G3, G4 = (C1 + s for s in ("001", "002", "003", "004"))
G5 = C2 + "001"
SCHOOL = C1 + "801"
GRIDS = {G1: (0, 0), G2: (500, 0), G3: (0, 500), G4: (500, 500)}
# micro-grids of each grid: 001 SW, 002 SE, 003 NW, 004 NE; households differ
MICRO_HH = {"001": 40, "002": 160, "003": 40, "004": 160}


def _hierarchy() -> gpd.GeoDataFrame:
    rows: list[dict[str, object]] = [
        {"code": STREET, "level": "street", "name": "城厢街道", "geometry": box(0, 0, 2000, 1000)},
        {"code": C1, "level": "community", "name": "一社区", "geometry": box(0, 0, 1000, 1000)},
        {"code": C2, "level": "community", "name": "二社区", "geometry": box(1000, 0, 2000, 1000)},
    ]
    for i, (grid, (x, y)) in enumerate(GRIDS.items()):
        rows.append(
            {
                "code": grid,
                "name": f"G{i + 1}",
                "households": 400,
                "population": 1000,
                "full_time_workers": 1,
                "part_time_workers": 4,
                "geometry": box(x, y, x + 500, y + 500),
            }
        )
        for seq, (dx, dy) in zip(MICRO_HH, [(0, 0), (250, 0), (0, 250), (250, 250)], strict=True):
            rows.append(
                {
                    "code": grid + seq,
                    "name": f"G{i + 1}M{seq[-1]}",
                    "households": MICRO_HH[seq],
                    "population": MICRO_HH[seq] * 5 // 2,
                    "full_time_workers": 0,
                    "part_time_workers": 1,
                    "geometry": box(x + dx, y + dy, x + dx + 250, y + dy + 250),
                }
            )
    rows.append(
        {"code": SCHOOL, "name": "学校", "households": 0, "geometry": box(600, 600, 900, 900)}
    )
    rows.append({"code": G5, "name": "G5", "households": 400, "geometry": box(1000, 0, 2000, 1000)})
    frame = units_from(rows)
    frame["geometry"] = [shapely.MultiPolygon([g]) for g in frame.geometry]
    frame = frame.set_geometry("geometry")
    for col in ("households", "population", "full_time_workers", "part_time_workers"):
        frame[col] = frame[col].astype("Int64")
    frame["level"] = frame["level"].where(frame["level"].notna(), None)
    return frame


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    return _hierarchy()


def ll(geom: shapely.Geometry) -> shapely.Geometry:
    """Local metres → EPSG:4490."""
    return gpd.GeoSeries([at(geom)], crs=GK).to_crs(4490).iloc[0]


def row(frame: gpd.GeoDataFrame, code: str) -> pd.Series:
    hits = frame[frame["code"] == code]
    assert len(hits) == 1, code
    return hits.iloc[0]


def area(frame: gpd.GeoDataFrame, code: str) -> float:
    return float(area_m2([row(frame, code).geometry])[0])


def children(frame: gpd.GeoDataFrame, code: str) -> gpd.GeoDataFrame:
    return frame[(frame["parent_code"] == code) & (frame["level"] == "microgrid")]


def assert_valid(result: RedrawResult) -> None:
    """No validation errors, and every base sibling set is a vertex-exact coverage."""
    report = validate_units(result.units, official=False)
    assert report.errors == [], [i.message for i in report.errors]
    frame = result.units
    base = frame[(frame["kind"] == "base") & frame["level"].isin(["grid", "microgrid"])]
    for parent, group in base.groupby("parent_code"):
        edges = shapely.coverage_invalid_edges(np.asarray(group.geometry.values, dtype=object))
        assert all(e is None or e.is_empty for e in edges), parent
    assert frame["code"].is_unique
    assert set(frame.geom_type) == {"MultiPolygon"}


def assert_unchanged(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(
        pd.DataFrame(before.drop(columns="geometry")), pd.DataFrame(after.drop(columns="geometry"))
    )
    assert all(a.equals_exact(b, 0) for a, b in zip(before.geometry, after.geometry, strict=True))


def grids(codes: list[str]) -> list[str]:
    return [c for c in codes if len(c) == 15]


def lineage(result: RedrawResult) -> set[tuple[str, str, str]]:
    return {(r["code"], r["relation"], r["related_code"]) for r in result.lineage}


def test_fixture_is_a_valid_coverage(units: gpd.GeoDataFrame) -> None:
    assert validate_units(units, official=False).errors == []


# ---------------------------------------------------------------------------- split


def test_split_grid_by_a_line(units: gpd.GeoDataFrame) -> None:
    before = units.copy()
    # x = 200 m: cuts G1 (0..500) into 200 m + 300 m, and its west micro-grids too;
    # the line runs 50 m on into G3 and 50 m below the community, which is ignored
    result = split_unit(units, G1, ll(LineString([(200, -50), (200, 550)])))
    assert_unchanged(before, units)
    out = result.units

    west, east = C1 + "005", C1 + "006"  # reading order: west first; 001-004 and 801 taken
    assert grids(result.created) == [west, east]
    assert G1 in result.retired and G1 not in set(out["code"])
    assert row(out, west)["name"] == "G1-1" and row(out, east)["name"] == "G1-2"
    assert area(out, west) == pytest.approx(200 * 500, rel=1e-3)
    assert area(out, east) == pytest.approx(300 * 500, rel=1e-3)
    assert {(west, "split_from", G1), (east, "split_from", G1)} <= lineage(result)

    # households follow the micro-grids: west gets 200/250 of the two 40-household
    # micro-grids (64), not the area share (160); totals are kept
    assert row(out, west)["households"] == 64
    assert row(out, east)["households"] == 336
    assert row(out, west)["population"] + row(out, east)["population"] == 1000
    # workers go to the larger part
    assert row(out, east)["full_time_workers"] == 1 and row(out, west)["full_time_workers"] == 0

    # micro-grids: the two west ones are split, the east ones re-parented whole
    assert len(children(out, west)) == 2
    assert len(children(out, east)) == 4
    kids = lineage(result)
    assert sum(1 for c, rel, old in kids if rel == "split_from" and old == G1 + "001") == 2
    assert sum(1 for c, rel, old in kids if rel == "split_from" and old == G1 + "003") == 2
    assert {(G1 + "002", "replaced_by"), (G1 + "004", "replaced_by")} <= {
        (c, rel) for c, rel, _ in kids
    }
    assert children(out, west)["households"].sum() == 64
    assert children(out, east)["households"].sum() == 336
    for old in ("001", "002", "003", "004"):
        assert G1 + old in result.retired

    # G3 (the line runs into it) and G2 keep their codes and shapes
    assert {G2, G3}.isdisjoint(result.retired)
    assert result.changed == []
    assert area(out, G3) == pytest.approx(area(units, G3), rel=1e-5)
    assert_valid(result)


def test_split_along_micro_grid_edges_cuts_no_micro_grid(units: gpd.GeoDataFrame) -> None:
    # the line follows the x = 250 m micro-grid edges (snapped onto them)
    result = split_unit(units, G1, ll(LineString([(250.2, -50), (249.9, 550)])))
    west, east = C1 + "005", C1 + "006"
    assert len(children(result.units, west)) == 2 and len(children(result.units, east)) == 2
    assert {r["relation"] for r in result.lineage if r["related_code"] != G1} == {"replaced_by"}
    # households by the micro-grids: 40 + 40 west, 160 + 160 east
    assert row(result.units, west)["households"] == 80
    assert row(result.units, east)["households"] == 320
    assert_valid(result)


def test_result_keeps_row_order_and_dtypes(units: gpd.GeoDataFrame) -> None:
    result = split_unit(units, G1, ll(LineString([(200, -50), (200, 550)])))
    codes = result.units["code"].tolist()
    # the pieces take the place of G1 (right after the communities), G2 follows them
    assert codes.index(C1 + "005") == list(units["code"]).index(G1)
    assert codes.index(C1 + "006") < codes.index(G2)
    assert result.units["households"].dtype == units["households"].dtype
    assert result.units.crs == units.crs
    assert list(result.units.columns) == [*units.columns, "parent_code", "kind"]  # derived


def test_split_inserts_the_split_point_into_the_neighbour(units: gpd.GeoDataFrame) -> None:
    result = split_unit(units, G1, ll(LineString([(200, -50), (200, 550)])))
    split_point = ll(shapely.Point(200, 500))
    g3 = row(result.units, G3).geometry
    vertices = shapely.points(shapely.get_coordinates(g3))
    assert float(shapely.distance(vertices, split_point).min()) < 1e-7  # in the ring (~1 cm)
    assert len(shapely.get_coordinates(g3)) == 6  # 4 corners + split point + closing


def test_split_never_reuses_reserved_or_existing_codes(units: gpd.GeoDataFrame) -> None:
    result = split_unit(
        units, G1, ll(LineString([(200, -50), (200, 550)])), reserved={C1 + "005", C1 + "007"}
    )
    assert grids(result.created) == [C1 + "006", C1 + "008"]
    assert set(result.created).isdisjoint(set(units["code"]))


def test_split_micro_grid_by_a_line_along_existing_vertices(units: gpd.GeoDataFrame) -> None:
    result = split_unit(units, G1 + "001", ll(LineString([(-10, 125), (260, 125)])))
    out = result.units
    north, south = G1 + "005", G1 + "006"
    assert result.created == [north, south]
    assert row(out, north)["parent_code"] == G1
    assert row(out, north)["households"] + row(out, south)["households"] == 40
    assert row(out, north)["households"] == 20
    assert [row(out, c)["part_time_workers"] for c in (north, south)] in ([1, 0], [0, 1])
    assert_valid(result)


def test_split_with_given_workers(units: gpd.GeoDataFrame) -> None:
    result = split_unit(
        units, G1, ll(LineString([(200, -50), (200, 550)])), full_time_workers=[1, 2]
    )
    assert [row(result.units, C1 + s)["full_time_workers"] for s in ("005", "006")] == [1, 2]
    with pytest.raises(InvalidInput, match="one non-negative whole number per piece"):
        split_unit(units, G1, ll(LineString([(200, -50), (200, 550)])), full_time_workers=[1])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (LineString([(700, -50), (700, 550)]), "does not touch"),  # crosses G2, not G1
        (LineString([(200, -50), (200, 300)]), "does not cross .* fully"),  # ends inside
        (LineString([(0, -50), (0, 550)]), "does not cross .* fully"),  # along the edge
    ],
)
def test_split_rejects_lines_that_do_not_cross(
    units: gpd.GeoDataFrame, line: LineString, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        split_unit(units, G1, ll(line))


def test_split_rejects_other_inputs(units: gpd.GeoDataFrame) -> None:
    line = ll(LineString([(200, -50), (200, 550)]))
    with pytest.raises(NotFound, match="330109001001009"):
        split_unit(units, C1 + "009", line)
    with pytest.raises(InvalidInput, match="community"):
        split_unit(units, C1, line)
    with pytest.raises(InvalidInput, match="LineString"):
        split_unit(units, G1, ll(box(0, 0, 10, 10)))
    with pytest.raises(InvalidInput, match="at least 1.0 m²"):  # a 0.5 m sliver at the corner
        split_unit(units, G1, ll(LineString([(-1, 2), (2, -1)])), snap_m=0)


# ---------------------------------------------------------------------------- merge


def test_merge_siblings(units: gpd.GeoDataFrame) -> None:
    before = units.copy()
    result = merge_units(units, [G1, G2])
    assert_unchanged(before, units)
    out = result.units
    new = C1 + "005"
    assert grids(result.created) == [new]
    assert {(G1, "merged_into", new), (G2, "merged_into", new)} <= lineage(result)
    merged = row(out, new)
    assert merged["name"] == "G1、G2"
    assert merged["households"] == 800 and merged["population"] == 2000
    assert merged["full_time_workers"] == 2 and merged["part_time_workers"] == 8
    assert area(out, new) == pytest.approx(area(units, G1) + area(units, G2), rel=1e-5)
    assert len(shapely.get_parts(merged.geometry)) == 1
    # the eight micro-grids are re-parented and recoded 001-008 in reading order
    kids = children(out, new)
    assert sorted(kids["code"]) == [new + f"{i:03d}" for i in range(1, 9)]
    # reading order: north row first (G1M3, G1M4, G2M3, G2M4), then the south row
    assert kids.set_index("code").loc[new + "001", "name"] == "G1M3"
    assert kids.set_index("code").loc[new + "008", "name"] == "G2M2"
    assert sum(1 for r in result.lineage if r["relation"] == "replaced_by") == 8
    assert sorted(result.retired) == sorted([G1, G2] + [g + s for g in (G1, G2) for s in MICRO_HH])
    assert_valid(result)


def test_merge_with_name_and_reserved(units: gpd.GeoDataFrame) -> None:
    result = merge_units(units, [G3, G1], reserved={C1 + "005"}, name="西片")
    assert row(result.units, C1 + "006")["name"] == "西片"
    assert_valid(result)


@pytest.mark.parametrize(
    ("codes", "error", "message"),
    [
        ([G1, G5], InvalidInput, r"not siblings: 330109001014001 \(parent"),
        ([G4, SCHOOL], InvalidInput, r"not siblings: 330109001001801 \(kind special"),
        ([G1, G1 + "001"], InvalidInput, r"not siblings: 330109001001001001 \(level"),
        ([G1, G4], InvalidInput, "not contiguous"),  # touch at one corner only
        ([G1], InvalidInput, "at least two"),
        ([G1, C1 + "077"], NotFound, "330109001001077"),
    ],
)
def test_merge_rejects(
    units: gpd.GeoDataFrame, codes: list[str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        merge_units(units, codes)


# ----------------------------------------------------------------------------- move


def test_move_micro_grid_to_neighbouring_grid(units: gpd.GeoDataFrame) -> None:
    before = units.copy()
    moved = G1 + "002"  # south-east micro-grid of G1, borders G2
    result = move_units(units, [moved], G2)
    assert_unchanged(before, units)
    out = result.units
    new = G2 + "005"
    assert result.created == [new]
    assert result.retired == [moved]
    assert lineage(result) == {(moved, "replaced_by", new)}
    assert row(out, new)["parent_code"] == G2
    assert row(out, new)["households"] == 160
    assert set(result.changed) == {G1, G2}
    # grids: G1 loses the 250 m x 250 m, G2 gains it; households follow
    assert area(out, G1) == pytest.approx(area(units, G1) - 62_500, rel=1e-4)
    assert area(out, G2) == pytest.approx(area(units, G2) + 62_500, rel=1e-4)
    assert row(out, G1)["households"] == 240 and row(out, G2)["households"] == 560
    assert row(out, G1)["population"] == 600 and row(out, G2)["population"] == 1400
    # untouched micro-grids keep their codes
    assert {G1 + "001", G1 + "003", G1 + "004", G2 + "001"} <= set(out["code"])
    assert_valid(result)


def test_move_two_micro_grids_connected_through_each_other(units: gpd.GeoDataFrame) -> None:
    # G3's south micro-grids: 002 borders G4? no - G3 001 (SW) and 002 (SE) border G1
    result = move_units(units, [G3 + "001", G3 + "002"], G1)
    assert sorted(result.created) == [G1 + "005", G1 + "006"]
    assert row(result.units, G1)["households"] == 600
    assert_valid(result)


def test_move_rejects(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(InvalidInput, match="share no edge with grid 330109001001002"):
        move_units(units, [G1 + "001"], G2)  # south-west corner micro-grid: not adjacent
    with pytest.raises(InvalidInput, match="one community and kind"):
        move_units(units, [G2 + "002"], G5)
    with pytest.raises(InvalidInput, match="already belong"):
        move_units(units, [G1 + "002"], G1)
    with pytest.raises(InvalidInput, match="only micro-grids"):
        move_units(units, [G1], G2)
    with pytest.raises(Conflict, match="empty"):
        move_units(units, [G1 + s for s in MICRO_HH], G2)


# -------------------------------------------------------------------------- replace


def test_replace_takes_area_from_the_neighbour(units: gpd.GeoDataFrame) -> None:
    before = units.copy()
    # G1 reaches 100 m east into G2
    result = replace_geometry(units, G1, ll(box(0, 0, 600, 500)))
    assert_unchanged(before, units)
    out = result.units
    assert {G1, G2} <= set(out["code"])  # codes stay
    assert set(result.changed) >= {G1, G2}
    assert area(out, G1) == pytest.approx(300_000, rel=1e-3)
    assert area(out, G2) == pytest.approx(200_000, rel=1e-3)
    # G2's west micro-grids are cut at 600 m: pieces under G1 and G2
    g1_kids, g2_kids = children(out, G1), children(out, G2)
    assert len(g1_kids) == 6 and len(g2_kids) == 4
    split = [r for r in result.lineage if r["relation"] == "split_from"]
    assert {r["related_code"] for r in split} == {G2 + "001", G2 + "003"}
    # households move with the micro-grid pieces (40 * 100/250 = 16 each)
    assert row(out, G1)["households"] == 432 and row(out, G2)["households"] == 368
    assert_valid(result)


def test_replace_gives_freed_area_to_the_longest_neighbour(units: gpd.GeoDataFrame) -> None:
    # G1 shrinks to 400 m wide: the 100 m strip borders G2 (500 m) and G3 (100 m)
    result = replace_geometry(units, G1, ll(box(0, 0, 400, 500)))
    out = result.units
    assert area(out, G2) == pytest.approx(300_000, rel=1e-3)
    assert area(out, G3) == pytest.approx(area(units, G3), rel=1e-5)
    assert G3 not in result.changed
    assert_valid(result)


def test_replace_within_tolerance_of_the_parent(units: gpd.GeoDataFrame) -> None:
    result = replace_geometry(units, G1, ll(box(-0.5, 0, 500, 400)))
    assert area(result.units, G3) == pytest.approx(area(units, G3) + 50_000, rel=1e-3)
    assert_valid(result)


def test_replace_micro_grid_within_its_grid(units: gpd.GeoDataFrame) -> None:
    result = replace_geometry(units, G1 + "001", ll(box(0, 0, 300, 250)))
    assert area(result.units, G1 + "002") == pytest.approx(200 * 250, rel=1e-3)
    assert result.created == [] and result.retired == []
    assert_valid(result)


def test_replace_without_adjusting_reports_overlaps(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(Conflict, match="overlaps its siblings 330109001001002") as err:
        replace_geometry(units, G1, ll(box(0, 0, 600, 500)), adjust_neighbours=False)
    (overlap,) = err.value.details["overlaps"]
    assert overlap["code"] == G2
    assert overlap["area_m2"] == pytest.approx(50_000, rel=1e-3)


def test_replace_without_adjusting_may_leave_a_gap(units: gpd.GeoDataFrame) -> None:
    m1 = G1 + "001"
    result = replace_geometry(units, m1, ll(box(0, 0, 200, 250)), adjust_neighbours=False)
    assert result.changed == [m1]
    errors = validate_units(result.units, official=False).errors
    assert [(i.rule, i.area_m2) for i in errors] == [("gap", pytest.approx(50 * 250, rel=1e-3))]


def test_replace_without_adjusting_keeps_micro_grids_inside(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(Conflict, match="outside every grid") as err:
        replace_geometry(units, G1, ll(box(0, 0, 250, 500)), adjust_neighbours=False)
    (outside,) = err.value.details["outside"]
    assert outside["codes"] == [G1 + "002", G1 + "004"]


@pytest.mark.parametrize(
    ("geom", "message", "reason"),
    [
        (box(-50, 0, 500, 500), "beyond its parent 330109001001", None),
        (box(0, 0, 1000, 500), "swallow its neighbour 330109001001002", "vanish"),
        (
            shapely.union(box(0, 0, 500, 500), box(500, 200, 1000, 300)),
            "cut its neighbour 330109001001002 into 2",
            "split",
        ),
        (shapely.Polygon([(0, 50), (50, 0), (500, 0), (500, 500), (0, 500)]), "gap", "gap"),
    ],
)
def test_replace_conflicts(
    units: gpd.GeoDataFrame, geom: shapely.Geometry, message: str, reason: str | None
) -> None:
    with pytest.raises(Conflict, match=message) as err:
        replace_geometry(units, G1, ll(geom))
    if reason:
        assert err.value.details["reason"] == reason
    else:
        assert err.value.details["outside_m2"] == pytest.approx(50 * 500, rel=1e-3)


def test_replace_rejects_invalid_geometry(units: gpd.GeoDataFrame) -> None:
    bowtie = shapely.Polygon([(0, 0), (500, 500), (500, 0), (0, 500)])
    with pytest.raises(InvalidInput, match="invalid"):
        replace_geometry(units, G1, ll(bowtie))


def test_summary_names_what_happened(units: gpd.GeoDataFrame) -> None:
    text = merge_units(units, [G1, G2]).summary()
    assert text.splitlines()[0].startswith("merge 330109001001001, 330109001001002 into")
    assert f"{G1} merged into {C1}005" in text


def test_local_helpers_round_trip() -> None:
    x, y = to_local(*ll(shapely.Point(200, 500)).coords[0])
    assert (x, y) == pytest.approx((200, 500), abs=1e-6)
