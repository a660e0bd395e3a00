"""diff_generations: split, merge, boundary move, attribute change, unchanged."""

from __future__ import annotations

import json

import pytest
from shapely import box

from gridgeo.boundaries import diff_generations
from gridgeo.errors import InvalidInput
from tests.boundaries.layouts import C1, C2, units_from


def grid(code, x0, y0, x1, y1, hh=None, workers=1, name=None):
    return {
        "code": code,
        "name": name or code[-3:],
        "households": hh,
        "full_time_workers": workers,
        "geometry": box(x0, y0, x1, y1),
    }


@pytest.fixture
def generations():
    old = units_from(
        [
            grid(C1 + "001", 0, 0, 250, 1000, hh=300),
            grid(C1 + "002", 250, 0, 500, 1000, hh=400),
            grid(C1 + "003", 500, 0, 750, 1000, hh=200),
            grid(C1 + "004", 750, 0, 1000, 1000, hh=200),
            grid(C2 + "001", 1000, 0, 1500, 1000, hh=350),
            grid(C2 + "002", 1500, 0, 2000, 1000, hh=450, name="old name"),
        ]
    )
    new = units_from(
        [
            grid(C1 + "001", 0, 0, 260, 1000, hh=300),  # boundary moved 10 m east
            grid(C1 + "005", 260, 0, 500, 600),  # split of 002
            grid(C1 + "006", 260, 600, 500, 1000),
            grid(C1 + "007", 500, 0, 1000, 1000),  # merge of 003 + 004
            grid(C2 + "001", 1000, 0, 1500, 1000, hh=350),  # unchanged
            grid(C2 + "002", 1500, 0, 2000, 1000, hh=450, name="new name"),  # renamed
        ]
    )
    return old, new


def moved(diff, a, b):
    rows = diff.area_moved
    from_ok = rows.from_code.isna() if a is None else rows.from_code == a
    to_ok = rows.to_code.isna() if b is None else rows.to_code == b
    hit = rows[from_ok & to_ok]
    assert len(hit) == 1, (a, b, rows)
    return float(hit.area_m2.iloc[0])


def test_added_removed_changed_unchanged(generations):
    old, new = generations
    diff = diff_generations(old, new)
    assert diff.added == [C1 + "005", C1 + "006", C1 + "007"]
    assert diff.removed == [C1 + "002", C1 + "003", C1 + "004"]
    assert diff.changed_codes == [C1 + "001", C2 + "002"]
    assert diff.unchanged == 1
    moved_row = diff.changed.set_index("code").loc[C1 + "001"]
    assert moved_row.geometry_changed and moved_row.attributes_changed == []
    assert moved_row.area_delta_m2 == pytest.approx(10 * 1000, rel=0.01)
    renamed = diff.changed.set_index("code").loc[C2 + "002"]
    assert not renamed.geometry_changed and renamed.attributes_changed == ["name"]
    assert renamed.area_delta_m2 == pytest.approx(0, abs=0.01)


def test_area_moved_between_codes(generations):
    diff = diff_generations(*generations)
    assert moved(diff, C1 + "002", C1 + "001") == pytest.approx(10 * 1000, rel=0.01)
    assert moved(diff, C1 + "002", C1 + "005") == pytest.approx(240 * 600, rel=0.01)
    assert moved(diff, C1 + "002", C1 + "006") == pytest.approx(240 * 400, rel=0.01)
    assert moved(diff, C1 + "003", C1 + "007") == pytest.approx(250 * 1000, rel=0.01)
    assert moved(diff, C1 + "004", C1 + "007") == pytest.approx(250 * 1000, rel=0.01)
    assert len(diff.area_moved) == 5  # nothing else moves, nothing is left uncovered
    assert diff.totals()["grid"]["area_moved_m2"] == pytest.approx(750_000, rel=0.01)


def test_households_and_workers_reattributed(generations):
    diff = diff_generations(*generations)
    re = diff.reattributed.set_index(["from_code", "to_code"])
    assert re.loc[(C1 + "002", C1 + "001"), "households"] == pytest.approx(400 * 10 / 250, rel=0.01)
    assert re.loc[(C1 + "002", C1 + "005"), "households"] == pytest.approx(400 * 0.576, rel=0.01)
    assert re.loc[(C1 + "002", C1 + "006"), "households"] == pytest.approx(400 * 0.384, rel=0.01)
    # Workers follow the largest share of their old grid.
    assert re.loc[(C1 + "002", C1 + "005"), "full_time_workers"] == 1
    assert re.loc[(C1 + "002", C1 + "006"), "full_time_workers"] == 0
    assert re.loc[(C1 + "003", C1 + "007"), "full_time_workers"] == 1
    est = diff.estimated.set_index("code")
    assert est.loc[C1 + "007", "households_estimated"] == pytest.approx(400, rel=0.01)
    assert est.loc[C1 + "001", "households_estimated"] == pytest.approx(316, rel=0.01)
    totals = diff.totals()["grid"]
    assert totals["households_reattributed"] == pytest.approx(800, rel=0.01)
    assert totals["full_time_workers_reattributed"] == 3


def test_uncovered_and_newly_covered_area():
    old = units_from([grid(C1 + "001", 0, 0, 100, 100), grid(C1 + "002", 100, 0, 200, 100)])
    new = units_from([grid(C1 + "001", 0, 0, 100, 100), grid(C1 + "002", 100, 0, 150, 120)])
    diff = diff_generations(old, new)
    assert moved(diff, C1 + "002", None) == pytest.approx(50 * 100, rel=0.01)
    assert moved(diff, None, C1 + "002") == pytest.approx(50 * 20, rel=0.01)
    assert diff.changed_codes == [C1 + "002"]


def test_to_dict_is_json_ready(generations):
    data = json.loads(json.dumps(diff_generations(*generations).to_dict()))
    assert data["added"] == [C1 + "005", C1 + "006", C1 + "007"]
    assert {r["from_code"] for r in data["area_moved"]} == {C1 + "002", C1 + "003", C1 + "004"}
    assert data["changed"][0]["attributes_changed"] == []
    assert data["totals"]["grid"]["unchanged"] == 1


def test_diff_rejects_duplicate_codes_and_leaves_inputs_alone(generations):
    old, new = generations
    before = old.copy()
    diff_generations(old, new)
    assert old.equals(before)
    with pytest.raises(InvalidInput, match="duplicate"):
        diff_generations(old, new.assign(code=C1 + "001"))
