"""clean_fixes: duplicate times, poor accuracy, single-fix speed spikes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridgeo.crs import wgs84_to_gcj02
from gridgeo.errors import InvalidInput
from gridgeo.tracks import clean_fixes

from .conftest import fixes_frame


def test_duplicate_times_keep_the_most_accurate() -> None:
    f = fixes_frame([0, 10, 11, 40], [0, 0, 0, 0], [0, 30, 30, 60])
    f["accuracy_m"] = [5.0, 9.0, 4.0, 5.0]
    dup = f.iloc[[2]].copy()  # an exact re-upload as well
    f = pd.concat([f, dup])
    f.index = [0, 1, 2, 3, 4]
    res = clean_fixes(f)
    assert res.fixes.index.tolist() == [0, 2, 3]
    assert res.dropped[["index", "reason"]].values.tolist() == [
        [1, "duplicate_time"],
        [4, "duplicate_time"],
    ]
    assert res.counts() == {"duplicate_time": 2, "poor_accuracy": 0, "speed_spike": 0}


def test_unknown_accuracy_ranks_last_and_is_kept() -> None:
    f = fixes_frame([0, 1], [0, 0], [0, 0])
    f["accuracy_m"] = [np.nan, 30.0]
    res = clean_fixes(f)
    assert res.fixes.index.tolist() == [1]
    f2 = fixes_frame([0, 10], [0, 0], [0, 30])
    f2["accuracy_m"] = np.nan
    assert len(clean_fixes(f2).fixes) == 2


def test_poor_accuracy_is_dropped() -> None:
    f = fixes_frame([0, 10, 20], [0, 0, 0], [0, 30, 60])
    f["accuracy_m"] = [5.0, 120.0, 50.0]
    res = clean_fixes(f, max_accuracy_m=50)
    assert res.fixes.index.tolist() == [0, 2]
    assert res.dropped["reason"].tolist() == ["poor_accuracy"]


def test_a_lone_spike_is_dropped_but_a_two_fix_excursion_is_kept() -> None:
    x = [0, 30, 3000, 60, 90, 120]  # fix 2 is 3 km away, back at the next fix
    f = fixes_frame(x, [0] * 6, [0, 30, 60, 90, 120, 150])
    res = clean_fixes(f)
    assert res.dropped["index"].tolist() == [2]
    assert res.dropped["reason"].tolist() == ["speed_spike"]
    assert res.dropped["lon"].iloc[0] == pytest.approx(f["lon"].iloc[2])
    x2 = [0, 30, 3000, 3030, 60, 90]  # two fixes away: movement, not a glitch
    assert clean_fixes(fixes_frame(x2, [0] * 6, [0, 30, 60, 90, 120, 150])).dropped.empty


def test_fast_but_possible_movement_is_kept() -> None:
    # 30 m/s (108 km/h) throughout: fast, but not a lone spike.
    x = np.arange(6) * 30.0 * 30
    res = clean_fixes(fixes_frame(x, np.zeros(6), np.arange(6) * 30))
    assert res.dropped.empty


def test_workers_are_cleaned_separately_and_output_sorted() -> None:
    a = fixes_frame([0, 10], [0, 0], [30, 0], worker="W2")
    b = fixes_frame([0, 10], [0, 0], [0, 0], worker="W1")  # same time, different worker
    f = pd.concat([a, b], ignore_index=True)
    res = clean_fixes(f)
    assert res.fixes["worker_id"].tolist() == ["W1", "W2", "W2"]
    assert res.dropped["reason"].tolist() == ["duplicate_time"]
    assert res.fixes.index.tolist() == [2, 1, 0]


def test_coordinates_come_out_in_wgs84_and_input_is_untouched() -> None:
    f = fixes_frame([0, 10], [0, 0], [0, 30])
    glon, glat = wgs84_to_gcj02(f["lon"].to_numpy(), f["lat"].to_numpy())
    g = f.assign(lon=glon, lat=glat, crs="gcj02")
    before = g.copy()
    res = clean_fixes(g)
    assert np.allclose(res.fixes["lon"], f["lon"], atol=1e-9)
    assert res.fixes["crs"].unique().tolist() == ["wgs84"]
    assert res.fixes["device_crs"].unique().tolist() == ["gcj02"]
    pd.testing.assert_frame_equal(g, before)


def test_unvalidated_input_is_refused() -> None:
    f = fixes_frame([0, 10], [0, 0], [0, 30])
    f.loc[1, "t"] = pd.NaT
    with pytest.raises(InvalidInput, match="validate_fixes"):
        clean_fixes(f)
    with pytest.raises(InvalidInput, match="max_speed_mps"):
        clean_fixes(fixes_frame([0], [0], [0]), max_speed_mps=0)
