"""Each authenticity check on small synthetic tracks: what it flags and what it leaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridgeo.errors import InvalidInput
from gridgeo.tracks import (
    FLAG_COLUMNS,
    Thresholds,
    authenticity_flags,
    clean_fixes,
    detect_no_noise,
    detect_outside,
    detect_replays,
    detect_stationary,
    detect_teleports,
    detect_too_regular,
    split_patrols,
)

from .conftest import A2, A, B, S, fixes_frame, route, walk

LEGS = [(100, 100), (800, 150), (750, 900), (200, 1000), (150, 300), (600, 500)]
LEGS_B = [(x + 1000, y) for x, y in LEGS]


def patrol(frame: pd.DataFrame) -> pd.DataFrame:
    return split_patrols(frame)


# --------------------------------------------------------------------------- teleport


def test_teleport_excursion_is_one_flag(rng) -> None:
    f = walk(rng, minutes=20)
    jump = f.index[10]
    f.loc[jump, "lon"] += 0.1  # about 9.6 km east for one fix
    flags = detect_teleports(patrol(f))
    assert len(flags) == 1
    row = flags.iloc[0]
    assert row["kind"] == "teleport" and row["evidence"]["returned"] is True
    assert row["start"] == f.loc[jump, "t"] and row["end"] == f.loc[jump + 1, "t"]
    assert row["evidence"]["jump_m"] == pytest.approx(9600, rel=0.01)


def test_one_way_impossible_move_is_flagged_without_return(rng) -> None:
    f = walk(rng, minutes=20)
    f.loc[f.index[10:], "lon"] += 0.05  # 4.8 km in one interval, never back
    flags = detect_teleports(patrol(f))
    assert len(flags) == 1 and flags["evidence"][0]["returned"] is False
    assert "m/s" in flags["reason"][0]


def test_honest_fast_riding_and_noisy_fixes_are_not_teleports(rng) -> None:
    assert detect_teleports(patrol(walk(rng, speed=8.0, minutes=30))).empty
    f = walk(rng, minutes=20)
    # A poor fix 400 m off that says it may be 200 m off: explained by its accuracy.
    f.loc[f.index[5], "lon"] += 400 / 96000
    f.loc[f.index[5], "accuracy_m"] = 200.0
    assert detect_teleports(patrol(f)).empty


def test_teleport_sees_fixes_that_cleaning_dropped(rng) -> None:
    f = walk(rng, minutes=20)
    f.loc[f.index[10], "lat"] += 0.09  # a 10 km lone spike: cleaning drops it
    cleaned = clean_fixes(f)
    assert cleaned.dropped["reason"].tolist() == ["speed_spike"]
    kept = patrol(cleaned.fixes)
    assert detect_teleports(kept).empty
    flags = detect_teleports(kept, dropped=cleaned.dropped)
    assert len(flags) == 1 and flags["evidence"][0]["returned"] is True
    assert flags["patrol_key"][0] == kept["patrol_key"].iloc[0]


# --------------------------------------------------------------------------- sampling


def test_too_regular_sampling(rng) -> None:
    f = walk(rng, minutes=40, interval_s=30, jitter=0.0)  # exactly every 30 s: 81 fixes
    flags = detect_too_regular(patrol(f))
    assert flags["kind"].tolist() == ["too_regular"]
    assert flags["evidence"][0]["cv"] == 0.0
    assert detect_too_regular(patrol(walk(rng, minutes=40, jitter=0.2))).empty
    # Too few fixes to judge.
    assert detect_too_regular(patrol(walk(rng, minutes=20, jitter=0.0))).empty


def test_no_noise(rng) -> None:
    f = route(rng, LEGS)  # drawn along a route: straight legs, constant speed, no noise
    flags = detect_no_noise(patrol(f))
    assert flags["kind"].tolist() == ["no_noise"]
    assert flags["evidence"][0]["median_residual_m"] < 0.5
    assert detect_no_noise(patrol(route(rng, LEGS, noise_m=3.0))).empty
    assert detect_no_noise(patrol(walk(rng, minutes=30, noise_m=3.0))).empty
    # Rounding to 1e-6 degrees (0.1 m) is not noise.
    f["lon"], f["lat"] = f["lon"].round(6), f["lat"].round(6)
    assert len(detect_no_noise(patrol(f))) == 1


# --------------------------------------------------------------------------- replay


def test_replay_of_an_earlier_patrol_is_flagged(rng) -> None:
    src = walk(rng, minutes=35, start="2026-10-05 01:00:00")
    copy = src.copy()
    copy["t"] = copy["t"] + pd.Timedelta(days=2)
    copy["lon"] += 0.5 / 96000  # half a metre east
    other = walk(rng, minutes=35, start="2026-10-06 01:00:00", worker="W2")
    f = patrol(pd.concat([src, copy, other], ignore_index=True))
    flags = detect_replays(f)
    assert len(flags) == 1
    row = flags.iloc[0]
    assert row["start"] == copy["t"].iloc[0]
    assert row["evidence"]["source_patrol_key"] == "W1@20261005T010000Z"
    assert row["evidence"]["median_distance_m"] == pytest.approx(0.5, abs=0.05)
    assert row["evidence"]["order_correlation"] > 0.99


def test_replay_by_another_worker_and_backwards(rng) -> None:
    src = walk(rng, minutes=35)
    copy = src.iloc[::-1].copy()
    copy["t"] = src["t"].to_numpy() + pd.Timedelta(hours=5)
    copy["worker_id"] = "W7"
    flags = detect_replays(patrol(pd.concat([src, copy], ignore_index=True)))
    assert flags["worker_id"].tolist() == ["W7"]
    assert flags["evidence"][0]["order_correlation"] < -0.99


def test_dense_honest_patrols_of_a_small_grid_are_not_replays(rng) -> None:
    # Ten patrols pacing a 60 m by 60 m courtyard: fixes lie close everywhere,
    # but each is somewhere else at the same elapsed time.
    frames = [
        walk(
            rng,
            minutes=40,
            box=(300, 300, 360, 360),
            start_xy=(330, 330),
            speed=0.8,
            start=f"2026-10-{d:02d} 01:00:00",
        )
        for d in range(1, 11)
    ]
    f = patrol(pd.concat(frames, ignore_index=True))
    assert detect_replays(f).empty
    # Only the distance at equal elapsed time tells them apart: with a loose
    # limit these would be called replays.
    loose = Thresholds(replay_max_median_m=200.0)
    assert len(detect_replays(f, thresholds=loose)) > 0


# --------------------------------------------------------------------------- stationary


def test_stationary_device_during_a_patrol(rng) -> None:
    moving = walk(rng, minutes=10, start="2026-10-05 01:00:00")
    n = 90  # 45 minutes every 30 s, GPS noise around one spot
    still = fixes_frame(
        400 + rng.normal(0, 3.5, n), 400 + rng.normal(0, 3.5, n), 630 + 30 * np.arange(n)
    )
    flags = detect_stationary(patrol(pd.concat([moving, still], ignore_index=True)))
    assert len(flags) == 1
    ev = flags["evidence"][0]
    assert 40 <= ev["minutes"] <= 45 and ev["max_distance_m"] <= 30
    assert flags["start"][0] >= still["t"].iloc[0] - pd.Timedelta(seconds=60)


def test_short_stops_and_pacing_are_not_stationary(rng) -> None:
    n = 40  # 20 minutes still
    still = fixes_frame(400 + rng.normal(0, 3.5, n), 400 + rng.normal(0, 3.5, n), 30 * np.arange(n))
    assert detect_stationary(patrol(still)).empty
    # Walking to and fro for 40 minutes inside a 30 m circle is not lying still.
    pace = walk(
        rng, minutes=40, box=(385, 385, 425, 425), start_xy=(405, 405), speed=1.0, noise_m=3.0
    )
    assert detect_stationary(patrol(pace)).empty
    # A stray fix does not end a stay; a real departure does.
    m = 80
    x = 400 + rng.normal(0, 3.0, m)
    x[30] += 200
    stay = fixes_frame(x, 400 + rng.normal(0, 3.0, m), 30 * np.arange(m))
    assert detect_stationary(patrol(stay))["evidence"][0]["n_fixes"] == m


# --------------------------------------------------------------------------- outside


def test_outside_the_assigned_grid(rng, index, base_index) -> None:
    roster = pd.DataFrame({"worker_id": ["W1", "W2", "W3"], "grid_code": [A, A2, S]})
    in_b = walk(rng, minutes=30, box=(1000, 50, 1900, 1050), start_xy=(1400, 500))
    in_a = walk(rng, minutes=30, start_xy=(300, 700), box=(20, 400, 940, 1090), worker="W2")
    in_s = walk(
        rng,
        minutes=30,
        box=(110, 125, 280, 320),
        start_xy=(200, 200),
        worker="W3",
        speed=0.5,
        noise_m=2.0,
    )
    f = patrol(pd.concat([in_b, in_a, in_s], ignore_index=True))
    flags = detect_outside(f, roster, index, base_index=base_index)
    assert flags["worker_id"].tolist() == ["W1"]
    ev = flags["evidence"][0]
    assert ev["share_outside"] == 1.0 and ev["main_outside_grid"] == B
    assert ev["area_code"] == A


def test_half_and_half_is_not_flagged(rng, index) -> None:
    roster = pd.DataFrame({"worker_id": ["W1"], "grid_code": [A]})
    x = np.r_[np.linspace(100, 900, 30), np.linspace(1100, 1500, 20)]
    f = patrol(fixes_frame(x, np.full(50, 500.0), 30 * np.arange(50)))
    assert detect_outside(f, roster, index).empty
    strict = Thresholds(outside_max_share=0.3)
    assert len(detect_outside(f, roster, index, thresholds=strict)) == 1


# --------------------------------------------------------------------------- all together


def test_authenticity_flags_combines_and_sorts(rng, index, base_index) -> None:
    roster = pd.DataFrame({"worker_id": ["W1", "W2"], "grid_code": [A, A]})
    honest = walk(rng, minutes=30, worker="W2")
    fake = route(rng, LEGS_B, interval_s=30, jitter=0.0)
    f = patrol(pd.concat([fake, honest], ignore_index=True))
    flags = authenticity_flags(f, roster, index, base_index=base_index)
    assert list(flags.columns) == list(FLAG_COLUMNS)
    assert flags["worker_id"].unique().tolist() == ["W1"]
    assert flags["kind"].tolist() == ["too_regular", "no_noise", "outside"]
    assert flags["start"].is_monotonic_increasing
    only = authenticity_flags(f, None, None, kinds=("no_noise",))
    assert only["kind"].tolist() == ["no_noise"]
    with pytest.raises(InvalidInput, match="roster"):
        authenticity_flags(f, None, None)
    with pytest.raises(InvalidInput, match="unknown flag kinds"):
        authenticity_flags(f, roster, index, kinds=("psychic",))
