"""split_patrols, patrol_summary, join_to_grids, assignment areas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridgeo.errors import InvalidInput
from gridgeo.tracks import (
    assignment_areas,
    inside_assigned,
    join_to_grids,
    patrol_summary,
    split_patrols,
)
from gridgeo.tracks.join import grid_memberships

from .conftest import A1, A2, A, B, S, fixes_frame


def test_gaps_start_new_patrols_per_worker() -> None:
    a = fixes_frame([0, 10, 20, 30], [0] * 4, [0, 60, 60 + 16 * 60, 60 + 17 * 60])
    b = fixes_frame([0, 10], [0, 0], [30, 90], worker="W0")
    out = split_patrols(pd.concat([a, b], ignore_index=True), gap_minutes=15)
    assert out["patrol_key"].tolist() == [
        "W0@20261005T010030Z",
        "W0@20261005T010030Z",
        "W1@20261005T010000Z",
        "W1@20261005T010000Z",
        "W1@20261005T011700Z",
        "W1@20261005T011700Z",
    ]
    assert out.index.tolist() == [4, 5, 0, 1, 2, 3]
    # A longer gap threshold keeps W1's fixes together.
    assert split_patrols(a, gap_minutes=20)["patrol_key"].nunique() == 1


def test_session_column_also_splits() -> None:
    f = fixes_frame([0, 10, 20], [0] * 3, [0, 60, 120]).assign(patrol_id=[1, 1, 2])
    assert split_patrols(f, session="patrol_id")["patrol_key"].nunique() == 2
    with pytest.raises(InvalidInput, match="gap_minutes"):
        split_patrols(f, gap_minutes=0)


def test_patrol_summary_distance_and_duration() -> None:
    f = split_patrols(fixes_frame([0, 300, 300], [0, 0, 400], [0, 300, 600]))
    s = patrol_summary(f)
    assert s[["n_fixes", "duration_s"]].values.tolist() == [[3, 600.0]]
    assert s["distance_m"].iloc[0] == pytest.approx(700.0, rel=2e-3)


def test_join_codes_and_time_per_grid(index, base_index) -> None:
    # A1 (west half of A), inside school S, A2, then B; one fix every 60 s.
    x = [100, 200, 700, 1200, 1300]
    y = [800, 200, 500, 500, 500]
    f = split_patrols(fixes_frame(x, y, [0, 60, 120, 180, 240]))
    res = join_to_grids(f, index, base_index=base_index)
    fx = res.fixes
    assert fx["unit_code"].tolist() == [A1, S, A2, B, B]
    assert fx["grid_code"].tolist() == [A, S, A, B, B]
    assert fx["base_grid_code"].tolist() == [A, A, A, B, B]
    assert [tuple(s) for s in fx["special_grids"]] == [(), (S,), (), (), ()]
    gt = res.grid_time.set_index("grid_code")
    assert gt.loc[A, "time_s"] == 120.0 and gt.loc[A, "n_fixes"] == 2
    assert gt.loc[S, "time_s"] == 60.0
    assert gt.loc[B, "time_s"] == 60.0  # the last fix carries no time
    total = res.grid_time["distance_m"].sum()
    legs = np.hypot(np.diff(x), np.diff(y)).sum()
    assert total == pytest.approx(legs, rel=2e-3)
    # Without the base index the base grid under a special grid is unknown.
    assert pd.isna(join_to_grids(f, index).fixes["base_grid_code"].iloc[1])


def test_join_caps_long_intervals_and_keeps_outside_fixes(index) -> None:
    f = fixes_frame([100, 100, -500], [100, 100, 100], [0, 3600, 3660])
    f["patrol_key"] = "p"  # one session across an hour-long pause
    res = join_to_grids(f, index, gap_minutes=15)
    assert pd.isna(res.fixes["grid_code"].iloc[2]) and pd.isna(res.fixes["unit_code"].iloc[2])
    row = res.grid_time[res.grid_time["grid_code"] == A].iloc[0]
    assert row["time_s"] == 15 * 60 + 60
    assert res.grid_time["grid_code"].isna().sum() == 1


def test_join_needs_patrols(index) -> None:
    with pytest.raises(InvalidInput, match="patrol_key"):
        join_to_grids(fixes_frame([0], [0], [0]), index)


def test_assignment_areas_and_inside(index, base_index, units) -> None:
    roster = pd.DataFrame(
        {"worker_id": ["WA", "WM", "WS", "WX"], "grid_code": [A, A2, S, "330109999999999"]}
    )
    areas = assignment_areas(roster, index)
    assert areas["area_code"].tolist()[:3] == [A, A, S] and pd.isna(areas["area_code"].iloc[3])
    assert areas["area_kind"].tolist()[:3] == ["base", "base", "special"]
    assert areas.equals(assignment_areas(roster, units))
    # Fixes in A1, in S (inside A1) and in B for every worker.
    parts = [
        fixes_frame([100, 200, 1300], [800, 200, 500], [0, 60, 120], worker=w)
        for w in roster["worker_id"]
    ]
    f = split_patrols(pd.concat(parts, ignore_index=True))
    fx = join_to_grids(f, index, base_index=base_index).fixes
    inside, known = inside_assigned(fx, areas)
    got = {w: inside[(fx["worker_id"] == w).to_numpy()].tolist() for w in roster["worker_id"]}
    # The micro-grid worker of A2 counts as inside anywhere in grid A.
    assert got == {
        "WA": [True, True, False],
        "WM": [True, True, False],
        "WS": [False, True, False],
        "WX": [False, False, False],
    }
    assert known.tolist() == [True] * 9 + [False] * 3


def test_grid_memberships_include_base_and_special(index, base_index) -> None:
    f = split_patrols(fixes_frame([200, 1300], [200, 500], [0, 60]))
    fx = join_to_grids(f, index, base_index=base_index).fixes
    m = grid_memberships(fx).sort_values(["pos", "code"])
    assert m.values.tolist() == [[0, A], [0, S], [1, B]]
