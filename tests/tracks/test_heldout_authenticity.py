"""Issue 15 acceptance on a held-out set made by an independent generator.

The generator (:mod:`tests.tracks.heldout`) has its own smartphone GPS error
model, seed and parameters; it was written without reading the product's
detectors or its sample-track generator. The product's public flag function
(:func:`gridgeo.tracks.authenticity_flags`, after validate, clean, split and
join) runs on a held-out September and is scored by the rule in
:mod:`tests.tracks.heldout.evaluate` (a flag matches a patrol by the accused
worker and overlapping time; flag kinds per cheat kind in ``CAUGHT_BY``).

Acceptance (issue 15): recall >= 90 % for each cheat kind, false positives
<= 1 % of honest patrols (joint patrols and e-bike rounds included), the
copier named in >= 90 % of copied pairs and the original in none; sweeps of
the replay detector over fresh noise 0–10 m (>= 90 % up to 8 m) and of the
copy detector over offsets 0–30 m (>= 90 % everywhere, original never
named). Run with ``-s`` to see the tables.

``GRIDGEO_HELDOUT_SEED=<int>`` builds the month from another seed: once the
generator's code is visible to the detectors' authors, a seed they have not
seen keeps the month held out.
"""

from __future__ import annotations

import hashlib
import math
import os

import numpy as np
import pandas as pd
import pytest

from tests.tracks.heldout import gps, scenario
from tests.tracks.heldout.evaluate import CAUGHT_BY, Score, run_product, score
from tests.tracks.heldout.scenario import CHEAT_KINDS, Heldout

OPTIONAL = ["provider", "speed_mps", "is_mock", "uploaded_at"]
REPLAY_NOISE_M = (0.0, 3.0, 5.0, 8.0, 10.0)
COPY_OFFSETS_M = (0.0, 2.5, 5.0, 10.0, 20.0, 30.0)


SEED = int(os.environ.get("GRIDGEO_HELDOUT_SEED", scenario.SEED))


@pytest.fixture(scope="module")
def heldout() -> Heldout:
    return scenario.build(SEED)


@pytest.fixture(scope="module")
def result(heldout: Heldout) -> Score:
    s = score(heldout, run_product(heldout))
    print(f"\nheld-out month (seed {SEED}), product flags:\n" + s.table.to_string())
    print(f"false positives: {s.fp_rate:.2%} of {int(s.cases['honest'].sum())} honest patrols")
    return s


# --- the generator itself is what it claims to be -------------------------------------


def test_scenario_has_the_promised_mix_and_is_seeded(heldout: Heldout) -> None:
    counts = heldout.truth["kind"].value_counts()
    for kind in CHEAT_KINDS:
        assert counts.get(kind, 0) >= 20, kind
    honest = int(heldout.truth["honest"].sum())
    assert 100 <= honest <= 300
    assert counts["joint"] >= 20 and counts["ebike"] >= 20
    small = scenario.build(n_walk=12, n_joint=2, n_ebike=2, n_cheat=2)
    again = scenario.build(n_walk=12, n_joint=2, n_ebike=2, n_cheat=2)
    digest = [
        hashlib.sha256(pd.util.hash_pandas_object(x.fixes, index=False).to_numpy()).hexdigest()
        for x in (small, again)
    ]
    assert digest[0] == digest[1]


def test_no_two_cases_of_one_worker_overlap(heldout: Heldout) -> None:
    t = heldout.truth.sort_values(["worker_id", "start"])
    same = t["worker_id"].to_numpy()[1:] == t["worker_id"].to_numpy()[:-1]
    overlap = t["start"].to_numpy()[1:] <= t["end"].to_numpy()[:-1]
    assert not (same & overlap).any()


def test_gps_model_matches_published_smartphone_figures() -> None:
    rng = np.random.default_rng(5)
    n = 4000.0
    t_true = np.arange(0.0, n + 1)
    still = np.zeros(t_true.size)
    radius: dict[int, np.ndarray] = {}
    ratio: dict[int, float] = {}
    lag1 = []
    for env in (gps.OPEN, gps.CANYON):
        errs, accs = [], []
        for _ in range(12):
            phone = gps.random_phone(rng, interval_s=5.0)
            obs = gps.observe(t_true, still, still, np.full(t_true.size, env), phone, rng)
            e = np.hypot(obs.x, obs.y)
            errs.append(e)
            accs.append(obs.accuracy_m)
            if env == gps.OPEN:
                lag1.append(np.corrcoef(obs.x[:-1], obs.x[1:])[0, 1])
        radius[env] = np.concatenate(errs)
        ratio[env] = float(np.median(np.concatenate(accs)) / np.percentile(radius[env], 68))
    r95_open = float(np.percentile(radius[gps.OPEN], 95))
    # van Diggelen & Enge 2015: 4.9 m 95 % for good phones; a phone population is worse.
    assert 5.0 <= r95_open <= 14.0
    # Merry & Bettinger 2019: 7-13 m mean error in town, more near buildings.
    assert 7.0 <= float(np.mean(radius[gps.CANYON])) <= 25.0
    # Correlated, not white: consecutive 5 s errors are strongly correlated.
    assert float(np.median(lag1)) > 0.8
    # Accuracy is about right in the open and under-reports in canyons.
    assert 0.7 <= ratio[gps.OPEN] <= 1.4
    assert ratio[gps.CANYON] < 0.75


def test_honest_walks_and_rides_move_at_their_speeds(heldout: Heldout) -> None:
    f = heldout.fixes
    truth = heldout.truth
    for kind, lo, hi in (("walk", 0.5, 1.6), ("ebike", 2.5, 7.5), ("vehicle", 6.0, 14.0)):
        speeds = []
        for row in truth[truth["kind"] == kind].head(15).itertuples():
            g = f[(f["worker_id"] == row.worker_id) & f["t"].between(row.start, row.end)]
            x, y = g["lon"].to_numpy() * 96_000.0, g["lat"].to_numpy() * 110_600.0
            span = (g["t"].iloc[-1] - g["t"].iloc[0]).total_seconds()
            dt = np.diff(g["t"].to_numpy()).astype("timedelta64[ms]").astype(float) / 1e3
            d = np.hypot(np.diff(x), np.diff(y))
            moving = d / np.maximum(dt, 1.0) > 0.5 * lo
            speeds.append(float(d[moving].sum() / max(dt[moving].sum(), 1.0)))
            assert span > 0
        med = float(np.median(speeds))
        assert lo <= med <= hi, (kind, med)


# --- acceptance -------------------------------------------------------------------------


SPOOFING_GAP = (
    "issue 15 open: spoofing apps that send neither the mock-location flag nor a speed "
    "field, sampled 30 s or more apart, are not yet told from real GPS (recall 75 %)"
)


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=SPOOFING_GAP))
        if k == "spoofing"
        else k
        for k in CHEAT_KINDS
    ],
)
def test_each_cheat_kind_recall_at_least_90_percent(result: Score, kind: str) -> None:
    row = result.table.loc[kind]
    missed = result.cases[(result.cases["kind"] == kind) & ~result.cases["caught"]]
    assert row["recall"] >= 0.9, (
        f"{kind}: {int(row['caught'])} of {int(row['n'])} caught by {sorted(CAUGHT_BY[kind])}; "
        f"missed variants {missed['variant'].tolist()}"
    )


def test_false_positives_at_most_1_percent_of_honest_patrols(result: Score) -> None:
    honest = result.cases[result.cases["honest"]]
    flagged = honest[honest["flagged"]]
    assert len(flagged) <= math.floor(0.01 * len(honest)), flagged[
        ["kind", "worker_id", "grid_code", "start"]
    ].to_string()


@pytest.mark.parametrize("kind", ["joint", "ebike"])
def test_joint_patrols_and_ebike_rounds_are_not_cheats(result: Score, kind: str) -> None:
    sub = result.cases[result.cases["kind"] == kind]
    assert int(sub["flagged"].sum()) <= max(1, math.floor(0.01 * len(sub)))


def test_copier_named_in_90_percent_and_original_never(result: Score) -> None:
    copies = result.cases[result.cases["kind"] == "copy"]
    assert copies["caught"].mean() >= 0.9
    assert not copies["original_named"].any(), copies[copies["original_named"]][
        ["worker_id", "other_worker", "param"]
    ].to_string()


def test_replay_evidence_names_the_replayed_patrol(result: Score) -> None:
    rep = result.cases[result.cases["kind"] == "replay"]
    caught = rep[rep["caught"]]
    assert len(caught) > 0
    assert caught["source_named"].mean() >= 0.9


@pytest.fixture(scope="module")
def bare_result(heldout: Heldout) -> Score:
    """The held-out month scored without the optional phone fields."""
    bare = Heldout(
        heldout.fixes.drop(columns=OPTIONAL),
        heldout.truth,
        heldout.roster,
        heldout.units,
        heldout.ebike_grids,
        heldout.seed,
        heldout.modes,
    )
    s = score(bare, run_product(bare))
    print("\nwithout provider / speed_mps / is_mock / uploaded_at:\n" + s.table.to_string())
    return s


def test_without_optional_phone_fields(bare_result: Score) -> None:
    """Absent optional fields never flag on their own: no false positives, and the
    original of a copy is never named (without an upload time a symmetric copy
    may stay unattributed)."""
    s = bare_result
    honest = s.cases[s.cases["honest"]]
    assert int(honest["flagged"].sum()) <= math.floor(0.01 * len(honest))
    assert not s.cases["original_named"].any()


@pytest.mark.xfail(strict=True, reason=SPOOFING_GAP)
def test_without_optional_phone_fields_spoofing_is_still_caught(bare_result: Score) -> None:
    assert bare_result.recall("spoofing") >= 0.9


# --- sweeps -----------------------------------------------------------------------------


@pytest.mark.parametrize("noise_m", REPLAY_NOISE_M)
def test_replay_sweep(noise_m: float) -> None:
    h = scenario.replay_sweep(noise_m, seed=SEED + 1)
    s = score(h, run_product(h))
    rep = s.cases[s.cases["kind"] == "replay"]
    sources = s.cases[s.cases["honest"]]
    print(
        f"\nreplay sweep, fresh noise {noise_m:4.1f} m: {int(rep['caught'].sum())}/{len(rep)} "
        f"caught ({rep['caught'].mean():.0%}); honest sources flagged "
        f"{int(sources['flagged'].sum())}/{len(sources)}"
    )
    assert len(rep) >= 20
    assert int(sources["flagged"].sum()) <= math.floor(0.01 * len(sources))
    if noise_m <= 8.0:
        assert rep["caught"].mean() >= 0.9


@pytest.mark.parametrize("offset_m", COPY_OFFSETS_M)
def test_copy_sweep(offset_m: float) -> None:
    h = scenario.copy_sweep(offset_m, seed=SEED + 2)
    s = score(h, run_product(h))
    cp = s.cases[s.cases["kind"] == "copy"]
    honest = s.cases[s.cases["honest"]]
    print(
        f"\ncopy sweep, offset {offset_m:4.1f} m: copier named {int(cp['caught'].sum())}/{len(cp)}"
        f" ({cp['caught'].mean():.0%}); original named {int(cp['original_named'].sum())}; "
        f"honest flagged {int(honest['flagged'].sum())}/{len(honest)}"
    )
    assert len(cp) >= 20
    assert cp["caught"].mean() >= 0.9
    assert not cp["original_named"].any()


# --- the matching rule itself -----------------------------------------------------------


def test_matching_rule_names_the_accused_worker_by_time_overlap() -> None:
    t0 = pd.Timestamp("2026-11-03 01:00", tz="UTC")
    hour = pd.Timedelta(hours=1)
    truth = pd.DataFrame(
        {
            "case_id": [0, 1, 2, 3],
            "kind": ["walk", "copy", "walk", "vehicle"],
            "honest": [True, False, True, False],
            "worker_id": ["O", "C", "J", "V"],
            "start": [t0, t0, t0, t0],
            "end": [t0 + hour] * 4,
            "grid_code": "g",
            "other_worker": [None, "O", None, None],
            "source_case": [None, 0, None, None],
            "variant": "",
            "param": np.nan,
        }
    )
    h = Heldout(truth.iloc[:0], truth, truth.iloc[:0], None, frozenset(), 0)

    def flags(*rows: tuple[str, str, object, pd.Timestamp]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "worker_id": w,
                    "patrol_key": "",
                    "kind": k,
                    "reason": "",
                    "evidence": e,
                    "start": s,
                    "end": s + pd.Timedelta(minutes=10),
                }
                for w, k, e, s in rows
            ]
        )

    pair = {"copier": "C", "original": "O"}
    s = score(h, flags(("O", "copy", pair, t0), ("C", "copy", pair, t0)))
    assert s.cases["caught"].tolist() == [False, True, False, False]
    assert not s.cases["flagged"][s.cases["honest"]].any()  # the original is not accused
    assert not s.cases["original_named"].any()
    s = score(h, flags(("C", "copy", {"copier": "O", "original": "C"}, t0)))
    assert s.cases["original_named"].tolist() == [False, True, False, False]
    assert s.cases["flagged"].tolist() == [True, False, False, False]
    s = score(h, flags(("O", "replay", "{}", t0), ("V", "vehicle", {}, t0 + 2 * hour)))
    assert s.cases["original_named"].tolist() == [False, True, False, False]  # by replay
    assert s.cases["caught"].tolist() == [False, False, False, False]  # vehicle flag too late
    s = score(h, flags(("V", "teleport", None, t0 + hour), ("J", "copy", {}, t0)))
    assert s.cases["caught"].tolist() == [False, False, False, True]  # closed intervals
    assert s.cases["flagged"].tolist() == [False, False, True, True]
    # A neutral pair flag (no copier named) on a real copy: neither caught nor a false
    # positive on the original; on an honest patrol that was not copied, a false positive.
    neutral = {"workers": ["O", "C"]}
    s = score(h, flags(("O", "copy", neutral, t0), ("C", "copy", neutral, t0)))
    assert s.cases["caught"].tolist() == [False, False, False, False]
    assert s.cases["flagged"].tolist() == [False, True, False, False]
    assert not s.cases["original_named"].any()
