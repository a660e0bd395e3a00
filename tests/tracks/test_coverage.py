"""grid_coverage, worker_coverage, unvisited_grids on the tiny city."""

from __future__ import annotations

import h3
import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.errors import InvalidInput
from gridgeo.tracks import (
    grid_coverage,
    join_to_grids,
    split_patrols,
    unit_cells,
    unvisited_grids,
    worker_coverage,
)

from .conftest import A2, A, B, S, fixes_frame

WINDOW = ("2026-10-01", "2026-10-11")  # ten days, UTC


def joined(frames: list[pd.DataFrame], index, base_index) -> pd.DataFrame:
    f = split_patrols(pd.concat(frames, ignore_index=True))
    return join_to_grids(f, index, base_index=base_index).fixes


def test_unit_cells_are_the_cells_whose_centre_is_inside(units) -> None:
    cells = unit_cells(units[units["code"] == A], h3_res=10)
    poly = units.loc[units["code"] == A, "geometry"].iloc[0]
    centre = h3.latlng_to_cell(30.005, 120.005, 10)
    disk = h3.grid_disk(centre, 15)
    expected = set()
    for c in disk:
        lat, lng = h3.cell_to_latlng(c)
        if shapely.contains_xy(poly, lng, lat):
            expected.add(h3.str_to_int(c))
    assert set(cells["cell"].tolist()) == expected
    # A unit too small for a cell centre still gets the cell of its inner point.
    tiny = units[units["code"] == S].copy()
    tiny["geometry"] = shapely.box(120.0011, 30.0011, 120.0012, 30.0012)
    got = unit_cells(tiny, h3_res=10)
    assert got["cell"].tolist() == [h3i.latlng_to_cell(30.00115, 120.00115, 10)]


def test_visits_revisits_and_gaps(units, index, base_index) -> None:
    day = 86400
    frames = [
        # Two patrols in A (days 1 and 3), one crossing into B on day 5.
        fixes_frame([100, 150, 200], [100, 100, 100], [0, 60, 120], start="2026-10-02 02:00"),
        fixes_frame([100, 100, 100], [600, 600, 600], [0, 60, 120], start="2026-10-04 02:00"),
        fixes_frame([900, 1100, 1200], [500, 500, 500], [0, 60, 120], start="2026-10-06 02:00"),
    ]
    fx = joined(frames, index, base_index)
    cov = grid_coverage(fx, units, window=WINDOW).set_index("code")
    assert set(cov.index) == {A, B, S}
    assert cov.loc[A, "visits"] == 3 and cov.loc[B, "visits"] == 1 and cov.loc[S, "visits"] == 0
    assert cov.loc[A, "revisit_interval_h"] == pytest.approx(48.0)
    assert np.isnan(cov.loc[B, "revisit_interval_h"])
    # A: from its last fix (day 5 02:00) to the end of the window (day 10 24:00).
    assert cov.loc[A, "longest_unvisited_h"] == pytest.approx((5 * day - 2 * 3600) / 3600)
    assert cov.loc[S, "longest_unvisited_h"] == pytest.approx(240.0)
    assert cov.loc[A, "last_visit"] == pd.Timestamp("2026-10-06 02:00", tz="UTC")
    assert pd.isna(cov.loc[S, "last_visit"])
    assert cov.loc[A, "patrol_time_h"] == pytest.approx((120 + 120 + 60) / 3600)
    # Cells visited are counted per cell, not per fix.
    assert 1 <= cov.loc[A, "cells_visited"] <= 7
    assert cov.loc[A, "coverage_share"] == pytest.approx(
        cov.loc[A, "cells_visited"] / cov.loc[A, "cells_total"]
    )
    assert unvisited_grids(cov.reset_index(), days=30) == [S]
    assert unvisited_grids(cov.reset_index(), days=4) == [A, B, S]


def test_window_and_now_cut_the_fixes(units, index, base_index) -> None:
    frames = [
        fixes_frame([100], [100], [0], start="2026-10-02 02:00"),
        fixes_frame([1200], [100], [0], start="2026-10-09 02:00"),
    ]
    fx = joined(frames, index, base_index)
    cov = grid_coverage(fx, units, window=WINDOW, now="2026-10-05").set_index("code")
    assert cov.loc[A, "visits"] == 1 and cov.loc[B, "visits"] == 0
    assert cov.loc[A, "days_since_visit"] == pytest.approx(3 - 2 / 24)
    assert cov.loc[B, "longest_unvisited_h"] == pytest.approx(96.0)
    with pytest.raises(InvalidInput, match="after its start"):
        grid_coverage(fx, units, window=("2026-10-05", "2026-10-01"))


def test_a_fix_in_a_school_visits_the_school_and_its_base_grid(units, index, base_index) -> None:
    fx = joined([fixes_frame([200], [200], [0], start="2026-10-02 02:00")], index, base_index)
    cov = grid_coverage(fx, units, window=WINDOW).set_index("code")
    assert cov.loc[S, "visits"] == 1 and cov.loc[A, "visits"] == 1 and cov.loc[B, "visits"] == 0


def test_worker_coverage(units, index, base_index) -> None:
    roster = pd.DataFrame({"worker_id": ["W1", "W2", "W3"], "grid_code": [A, A2, B]})
    frames = [
        fixes_frame(
            [100, 200, 1300], [100, 100, 100], [0, 60, 120], worker="W1", start="2026-10-02 02:00"
        ),
        fixes_frame([700, 800], [500, 500], [0, 60], worker="W2", start="2026-10-03 02:00"),
    ]
    fx = joined(frames, index, base_index)
    wc = worker_coverage(fx, roster, units, window=WINDOW).set_index("worker_id")
    assert wc.loc["W1", "patrols"] == 1 and wc.loc["W3", "patrols"] == 0
    assert wc.loc["W1", "inside_share"] == pytest.approx(1.0)  # the last fix has no time
    assert wc.loc["W2", "area_code"] == A  # micro-grid worker: the parent grid
    a_cells = len(unit_cells(units[units["code"] == A]))
    assert wc.loc["W1", "cells_total"] == wc.loc["W2", "cells_total"] == a_cells
    assert 1 <= wc.loc["W2", "cells_visited"] <= 2
    assert np.isnan(wc.loc["W3", "inside_share"]) and wc.loc["W3", "cells_visited"] == 0
