"""Code stability across redraws: matching generations, lineage, never reusing codes."""

from __future__ import annotations

import random

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, box
from shapely.ops import split

from gridgeo.coding import (
    LINEAGE_RELATIONS,
    assign_codes,
    match_generations,
    parse_code,
    recode_generation,
    validate_codes,
)
from gridgeo.errors import CRSMismatch, InvalidCode, InvalidInput
from tests.coding.coding_strategies import COMMUNITY, OTHER_COMMUNITY, frame, jitter, to_lonlat


def lattice(rows: int = 3, cols: int = 3, size: int = 100) -> list:
    """Cells in lattice units, listed row by row from the south-west corner."""
    return [
        box(c * size, r * size, (c + 1) * size, (r + 1) * size)
        for r in range(rows)
        for c in range(cols)
    ]


def generation(cells, parents=None, kinds=None, prefix="g") -> gpd.GeoDataFrame:
    gdf = frame(to_lonlat(cells), parents, kinds)
    gdf.index = [f"{prefix}{i}" for i in range(len(gdf))]
    return gdf


def published(cells) -> gpd.GeoDataFrame:
    """A first generation with its codes assigned."""
    gdf = generation(cells, prefix="old")
    return gdf.assign(code=assign_codes(gdf))


def code(seq: int, parent: str = COMMUNITY) -> str:
    return f"{parent}{seq:03d}"


def test_unchanged_grids_keep_their_codes_whatever_the_row_order_and_jitter():
    old = published(lattice(3, 3))
    new = generation(lattice(3, 3), prefix="new")
    new.geometry = jitter(new.geometry.values, 5e-8, seed=7)
    new = new.iloc[::-1]
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    assert lineage.empty
    expected = dict(zip([f"new{i}" for i in range(9)], old["code"], strict=True))
    assert codes.to_dict() == expected
    result = match_generations(old, new)
    assert set(result.matches["status"]) == {"kept"}
    assert result.retired == frozenset()
    assert (result.matches["iou"] > 0.999).all()


def test_a_split_yields_two_new_codes_with_split_from_lineage():
    cells = lattice(3, 3)
    old = published(cells)
    centre = old["code"].iloc[4]  # row 1, column 1
    west, east = box(100, 100, 160, 200), box(160, 100, 200, 200)  # 60/40: no piece keeps it
    new = generation(cells[:4] + [east, west] + cells[5:])
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    # The eight untouched grids keep their codes.
    untouched = [f"g{i}" for i in (0, 1, 2, 3, 6, 7, 8, 9)]
    assert codes[untouched].tolist() == old["code"].iloc[[0, 1, 2, 3, 5, 6, 7, 8]].tolist()
    # The pieces get the first free sequences in reading order (west first).
    assert codes["g5"] == code(10) and codes["g4"] == code(11)
    assert not {codes["g4"], codes["g5"]} & set(old.code)
    assert lineage.values.tolist() == [
        [code(10), centre, "split_from"],
        [code(11), centre, "split_from"],
    ]
    result = match_generations(old, new)
    assert result.matches.loc[["g4", "g5"], "status"].tolist() == ["split", "split"]
    assert result.old.loc[centre, "status"] == "split"
    assert result.retired == frozenset({centre})


def test_a_merge_yields_one_new_code_with_merged_into_lineage():
    cells = lattice(3, 3)
    old = published(cells)
    # Cells 0 and 1 (south row, west and middle) become one grid.
    merged = shapely.union(cells[0], cells[1])
    new = generation([merged, *cells[2:]])
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    a, b = old["code"].iloc[0], old["code"].iloc[1]
    assert codes["g0"] == code(10)
    assert codes.iloc[1:].tolist() == old["code"].iloc[2:].tolist()
    assert lineage.values.tolist() == [[a, code(10), "merged_into"], [b, code(10), "merged_into"]]
    result = match_generations(old, new)
    assert result.matches.at["g0", "status"] == "merged"
    assert result.old.loc[[a, b], "status"].tolist() == ["merged", "merged"]
    assert result.retired == frozenset({a, b})


def test_a_moved_boundary_keeps_both_codes():
    cells = lattice(1, 2)
    old = published(cells)
    new = generation([box(0, 0, 130, 100), box(130, 0, 200, 100)])  # 30 % moved east
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    assert codes.tolist() == old["code"].tolist()
    assert lineage.empty


def test_a_grid_that_changes_community_or_kind_is_replaced():
    cells = lattice(1, 3)
    old = published(cells)
    new = generation(
        cells,
        parents=[COMMUNITY, OTHER_COMMUNITY, COMMUNITY],
        kinds=["base", "base", "special"],
    )
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    assert codes.tolist() == [old["code"].iloc[0], code(1, OTHER_COMMUNITY), code(801)]
    assert lineage.values.tolist() == [
        [old["code"].iloc[1], code(1, OTHER_COMMUNITY), "replaced_by"],
        [old["code"].iloc[2], code(801), "replaced_by"],
    ]
    assert match_generations(old, new).matches["status"].tolist() == [
        "kept",
        "replaced",
        "replaced",
    ]


def test_iou_threshold_decides_between_kept_and_replaced():
    old = published([box(0, 0, 100, 100)])
    new = generation([box(0, 0, 100, 160)])  # IoU 0.625, old lies entirely inside
    assert match_generations(old, new).matches.at["g0", "status"] == "kept"
    strict = match_generations(old, new, iou_threshold=0.7)
    assert strict.matches.at["g0", "status"] == "replaced"
    assert strict.links.values.tolist() == [[old["code"].iloc[0], "g0", "replaced_by"]]
    assert strict.pairs["iou"].round(3).tolist() == [0.625]


def test_new_and_removed_grids():
    old = published(lattice(1, 2))
    new = generation([box(0, 0, 100, 100), box(500, 500, 600, 600)])
    result = match_generations(old, new)
    assert result.matches["status"].tolist() == ["kept", "new"]
    assert result.old["status"].tolist() == ["kept", "removed"]
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    assert codes.tolist() == [old["code"].iloc[0], code(3)]
    assert lineage.empty


def _random_redraw(cells: list, rng: random.Random) -> list:
    cells = list(cells)
    if rng.random() < 0.5 or len(cells) < 3:
        i = rng.randrange(len(cells))
        minx, miny, maxx, maxy = (int(round(v)) for v in cells[i].bounds)
        if rng.random() < 0.5 and maxx - minx >= 20:
            x = rng.randrange(minx + 5, maxx - 5)
            line = LineString([(x, miny - 1), (x, maxy + 1)])
        elif maxy - miny >= 20:
            y = rng.randrange(miny + 5, maxy - 5)
            line = LineString([(minx - 1, y), (maxx + 1, y)])
        else:
            return cells
        parts = [p for p in shapely.get_parts(split(cells[i], line)) if p.area > 0]
        return cells[:i] + cells[i + 1 :] + parts
    i = rng.randrange(len(cells))
    neighbours = [k for k, c in enumerate(cells) if k != i and cells[i].intersection(c).length > 0]
    k = rng.choice(neighbours)
    merged = shapely.union(cells[i], cells[k])
    if merged.geom_type != "Polygon":
        return cells
    return [c for m, c in enumerate(cells) if m not in (i, k)] + [merged]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_many_generations_no_retired_code_is_reissued(seed):
    rng = random.Random(seed)
    cells = lattice(4, 4)
    current = published(cells)
    issued = set(current["code"])
    retired: set[str] = set()
    relations_seen: set[str] = set()
    for gen in range(30):
        cells = _random_redraw(cells, rng)
        new = generation(cells, prefix=f"gen{gen}-")
        codes, lineage = recode_generation(current, new, reserved=issued)
        assert codes.is_unique and codes.notna().all()
        assert not set(codes) & retired, "a retired code came back"
        old_by_shape = {
            shapely.normalize(g).wkb: c for g, c in zip(current.geometry, current.code, strict=True)
        }
        for geom, c in zip(new.geometry, codes, strict=True):
            previous = old_by_shape.get(shapely.normalize(geom).wkb)
            if previous is not None:
                assert c == previous, "an unchanged grid lost its code"
            elif c in set(current.code):
                pass  # a redrawn grid that still matches its old one keeps the code
            else:
                assert c not in issued, "a fresh code was issued before"
        new_codes = set(codes)
        retired |= set(current.code) - new_codes
        # Every lineage record links a retired old code with a fresh new code.
        for rel_code, related, relation in lineage.itertuples(index=False):
            old_side, new_side = (
                (related, rel_code) if relation == "split_from" else (rel_code, related)
            )
            assert old_side in retired and new_side in new_codes and new_side not in issued
            relations_seen.add(relation)
        issued |= new_codes
        current = new.assign(code=codes)
        assert validate_codes(current, check_official=False) == []
    assert relations_seen >= {"split_from", "merged_into"}
    assert relations_seen <= set(LINEAGE_RELATIONS)


def test_without_the_registry_only_the_previous_generation_is_avoided():
    old = published(lattice(1, 2))
    new = generation([box(0, 0, 200, 100)])
    codes, _ = recode_generation(old, new)
    assert codes.tolist() == [code(3)]  # 001 and 002 are old codes, hence skipped
    codes, _ = recode_generation(old, new, reserved={code(3), code(4)})
    assert codes.tolist() == [code(5)]


def test_codes_carried_over_have_the_parent_prefix_and_microgrids_work_too():
    grid = code(1)
    old = gpd.GeoDataFrame(
        {"code": [f"{grid}001", f"{grid}002"]},
        geometry=list(to_lonlat([box(0, 0, 50, 50), box(50, 0, 100, 50)])),
        crs=4490,
    )
    new = gpd.GeoDataFrame(
        {"parent_code": [grid, grid], "level": ["microgrid"] * 2},
        geometry=list(to_lonlat([box(0, 0, 50, 50), box(50, 0, 100, 50)]))[::-1],
        crs=4490,
    )
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    assert codes.tolist() == [f"{grid}002", f"{grid}001"]
    assert all(parse_code(c).parent == grid for c in codes)


def test_inputs_are_checked_and_not_modified():
    old = published(lattice(1, 2))
    new = generation(lattice(1, 2))
    before_old, before_new = old.copy(), new.copy()
    recode_generation(old, new, reserved=set(old.code))
    pd.testing.assert_frame_equal(old, before_old)
    pd.testing.assert_frame_equal(new, before_new)
    with pytest.raises(InvalidInput, match="iou_threshold"):
        match_generations(old, new, iou_threshold=0)
    with pytest.raises(InvalidCode, match="old row 'old0'.*'digits'"):
        match_generations(old.assign(code=["33010900100100A", code(2)]), new)
    with pytest.raises(InvalidInput, match="duplicate codes"):
        match_generations(old.assign(code=[code(1), code(1)]), new)
    with pytest.raises(InvalidInput, match="parent_code"):
        recode_generation(old, new.drop(columns="parent_code"))
    with pytest.raises(CRSMismatch):
        match_generations(old.to_crs(32651), new)
    with pytest.raises(InvalidInput, match="no new code given"):
        match_generations(old, generation([box(0, 0, 60, 100), box(60, 0, 100, 100)])).lineage({})


def test_pairs_measure_areas_in_metres():
    old = published([box(0, 0, 100, 100)])
    new = generation([box(0, 0, 100, 100)])
    pairs = match_generations(old, new).pairs
    # 100 x 100 lattice units of 1e-5 degrees near lat 30.18: about 111 m x 96 m.
    assert pairs["intersection_m2"].iloc[0] == pytest.approx(111.0 * 96.2, rel=0.01)
    assert pairs[["iou", "share_of_old", "share_of_new"]].iloc[0].tolist() == pytest.approx(
        [1, 1, 1]
    )
    assert np.isfinite(pairs["iou"]).all()


def test_official_levels_are_not_matched_nor_recoded():
    community = box(0, 0, 200, 100)
    old = published(lattice(1, 2))
    old = pd.concat(
        [
            old,
            gpd.GeoDataFrame(
                {"code": [COMMUNITY], "level": ["community"], "parent_code": ["330109001"]},
                geometry=list(to_lonlat([community])),
                index=["c"],
                crs=4490,
            ),
        ]
    )
    new = generation([*lattice(1, 2), box(0, 0, 200, 120)])
    new.loc["g2", ["level", "parent_code"]] = ["community", "330109001"]
    result = match_generations(old, new)
    assert result.matches["status"].tolist()[:2] == ["kept", "kept"]
    assert pd.isna(result.matches.at["g2", "status"])
    assert COMMUNITY not in result.old.index and result.retired == frozenset()
    codes, lineage = recode_generation(old, new, reserved=set(old.code))
    assert codes.iloc[:2].tolist() == old["code"].iloc[:2].tolist()
    assert pd.isna(codes["g2"]) and lineage.empty
