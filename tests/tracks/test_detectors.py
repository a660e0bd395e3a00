"""The authenticity detectors against realistic GPS error and cheats made like a worker would.

A synthetic month (:mod:`tests.tracks.synth`): honest walkers in urban grids,
e-bike riders in large rural grids, joint patrols of two workers; errors from
:mod:`gridgeo.samples.gps_error`. Planted: near-replays (fresh noise up to
10 m, dropped fixes), copies of a colleague's same-day track (0–30 m offset),
spoofing-app tracks, car rides, phones left at home. Run with ``-s`` to see the
figures and the sweep tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from gridgeo.samples.gps_error import ENVIRONMENTS, draw_errors, sample_times
from gridgeo.tracks import authenticity_flags, clean_fixes, split_patrols
from gridgeo.tracks.authenticity import detect_spoofing, detect_vehicle
from tests.tracks import synth

KINDS = ("replay", "copy", "spoofing", "vehicle", "stationary")


def _flags(fixes: pd.DataFrame, workers: dict[str, synth.Grid], kinds: tuple[str, ...] = KINDS):
    f = split_patrols(clean_fixes(fixes).fixes)
    flags = authenticity_flags(f, None, None, kinds=kinds, modes=synth.modes(workers))
    spans = f.groupby("patrol_key").agg(w=("worker_id", "first"), s=("t", "min"), e=("t", "max"))
    return f, flags, spans


def _patrol_of(spans: pd.DataFrame, worker: str, key: str) -> str | None:
    ts = pd.Timestamp(key.split("@")[1], tz="UTC")
    hit = spans[(spans.w == worker) & (spans.s <= ts + pd.Timedelta(minutes=5)) & (spans.e >= ts)]
    return str(hit.index[0]) if len(hit) else None


def _score(month: synth.Month, flags: pd.DataFrame, spans: pd.DataFrame) -> dict[str, Any]:
    truth = pd.DataFrame(month.truth)
    truth["pk"] = [_patrol_of(spans, r.worker_id, r.key) for r in truth.itertuples()]
    out: dict[str, Any] = {"recall": {}, "by_level": truth}
    flagged = {k: set(g["patrol_key"]) for k, g in flags.groupby("kind")}
    truth["hit"] = [r.pk in flagged.get(r.kind, set()) for r in truth.itertuples()]
    for kind, g in truth.groupby("kind"):
        out["recall"][kind] = float(g["hit"].mean())
    honest = set(spans.index) - set(truth["pk"])
    fp = flags[flags["patrol_key"].isin(honest)]
    out["fp"] = fp
    out["fp_rate"] = fp["patrol_key"].nunique() / max(len(honest), 1)
    copies = truth[truth["kind"] == "copy"]
    if copies.empty:
        out["copier_named"], out["original_named"] = float("nan"), 0
        return out
    cflags = flags[flags["kind"] == "copy"]
    named = [
        set(cflags[cflags["patrol_key"] == pk]["evidence"].map(lambda e: e["copier"]))
        for pk in copies["pk"]
    ]
    out["copier_named"] = float(
        np.mean([r.worker_id in n for r, n in zip(copies.itertuples(), named, strict=True)])
    )
    out["original_named"] = int(
        cflags["evidence"].map(lambda e: e["copier"]).isin(copies["original_worker_id"]).sum()
    )
    return out


@pytest.fixture(scope="module")
def month() -> dict[str, Any]:
    rng = np.random.default_rng(20261202)
    m, workers = synth.honest_month(rng, days=20)
    synth.plant_cheats(rng, m, workers, per_kind=12)
    _, flags, spans = _flags(m.fixes(), workers)
    return {
        "month": m,
        "workers": workers,
        "flags": flags,
        "spans": spans,
        "score": _score(m, flags, spans),
    }


def test_gps_error_is_correlated_and_worse_in_town() -> None:
    rng = np.random.default_rng(1)
    g, t = sample_times(rng, np.full(200, 1800.0), np.full(200, 10.0))
    dt = np.diff(t)[g[1:] == g[:-1]]
    assert 0.1 < dt.std() / dt.mean() < 0.4  # OS-jittered sampling
    urban = draw_errors(rng, t, g, [ENVIRONMENTS["urban"]] * 200)
    rural = draw_errors(rng, t, g, [ENVIRONMENTS["rural"]] * 200)
    same = g[1:] == g[:-1]
    lag1 = np.corrcoef(urban.ex[:-1][same], urban.ex[1:][same])[0, 1]
    assert lag1 > 0.7  # 10 s apart with tau of 40-120 s: not white noise
    assert np.hypot(urban.ex, urban.ey).mean() > 1.5 * np.hypot(rural.ex, rural.ey).mean()
    # Urban phones claim better than they achieve (68 % radius vs reported accuracy).
    radius = np.quantile(np.hypot(urban.ex, urban.ey), 0.68)
    assert np.median(urban.accuracy_m) < radius


def test_each_cheat_kind_is_caught_and_honest_patrols_are_not(month: dict[str, Any]) -> None:
    s = month["score"]
    print(
        f"\nrecall per kind {s['recall']}, honest flagged {s['fp_rate']:.2%} "
        f"({s['fp']['kind'].value_counts().to_dict()}), copier named {s['copier_named']:.0%}, "
        f"original named {s['original_named']}"
    )
    assert set(s["recall"]) == set(KINDS)
    for kind, recall in s["recall"].items():
        if kind != "spoofing":  # below target for now: test_spoofing_recall_target
            assert recall >= 0.9, (kind, recall)
    assert s["recall"]["spoofing"] >= 0.5
    assert s["fp_rate"] <= 0.01
    assert s["copier_named"] >= 0.9
    assert s["original_named"] == 0


@pytest.mark.xfail(
    strict=True,
    reason="spoofing apps sampled 30 s or more apart without mock/speed fields are not "
    "yet told from real GPS (real error is nearly white at that spacing)",
)
def test_spoofing_recall_target(month: dict[str, Any]) -> None:
    assert month["score"]["recall"]["spoofing"] >= 0.9


def test_joint_patrols_are_not_copies(month: dict[str, Any]) -> None:
    m, flags = month["month"], month["flags"]
    assert len(m.joint) >= 10
    joint = {k for pair in m.joint for k in pair}
    copies = flags[flags["kind"] == "copy"]
    flagged_workers_days = {
        (e["copier"], k) for e, k in zip(copies["evidence"], copies["patrol_key"], strict=True)
    }
    assert not {k for _, k in flagged_workers_days} & joint
    originals = {t["original_key"] for t in m.truth if t["kind"] == "copy"}
    # Every copy flag is on a planted copy: none on the honest pairs walking together.
    planted = {
        _patrol_of(month["spans"], t["worker_id"], t["key"]) for t in m.truth if t["kind"] == "copy"
    }
    assert set(copies["patrol_key"]) <= planted
    assert not originals & set(copies["patrol_key"])


def test_flags_carry_evidence(month: dict[str, Any]) -> None:
    flags = month["flags"]
    rep = flags[flags["kind"] == "replay"].iloc[0]["evidence"]
    assert {"source_patrol_key", "source_worker_id", "shift_s", "median_distance_m"} <= set(rep)
    cp = flags[flags["kind"] == "copy"].iloc[0]["evidence"]
    assert {"copier", "original", "other_patrol_key", "offset_m", "time_match"} <= set(cp)
    veh = flags[flags["kind"] == "vehicle"].iloc[0]["evidence"]
    assert veh["mode_allowed"] == "walk" and veh["median_speed_mps"] > 2.5


def test_sweep_replay_noise_and_copy_offset() -> None:
    rng = np.random.default_rng(7)
    base, workers = synth.honest_month(rng, days=6)
    rows = []
    for noise in (0.0, 3.0, 5.0, 8.0, 10.0):
        m = synth.Month(list(base.frames), [], list(base.honest))
        synth.plant_cheats(
            rng, m, workers, per_kind=10, replay_noise=(noise, noise), kinds=("replay",)
        )
        _, flags, spans = _flags(m.fixes(), workers, kinds=("replay",))
        rows.append(("replay", f"noise {noise:g} m", _score(m, flags, spans)["recall"]["replay"]))
    for lo, hi in ((0.0, 2.5), (2.5, 10.0), (10.0, 20.0), (20.0, 30.0)):
        m = synth.Month(list(base.frames), [], list(base.honest))
        synth.plant_cheats(rng, m, workers, per_kind=10, copy_offset=(lo, hi), kinds=("copy",))
        _, flags, spans = _flags(m.fixes(), workers, kinds=("copy",))
        sc = _score(m, flags, spans)
        rows.append(("copy", f"offset {lo:g}-{hi:g} m", sc["recall"]["copy"]))
        assert sc["copier_named"] >= 0.9 and sc["original_named"] == 0
    table = pd.DataFrame(rows, columns=["detector", "level", "recall"])
    print("\n" + table.to_string(index=False))
    assert (table["recall"] >= 0.9).all()


def test_mock_flag_and_absent_fields() -> None:
    rng = np.random.default_rng(3)
    m, workers = synth.honest_month(rng, days=2)
    fixes = split_patrols(clean_fixes(m.fixes()).fixes)
    assert detect_spoofing(fixes).empty  # no optional fields: no evidence, no flag
    first = fixes["patrol_key"] == fixes["patrol_key"].iloc[0]
    mocked = fixes.assign(is_mock=first & (fixes.index % 7 == 0))
    flags = detect_spoofing(mocked)
    assert flags["patrol_key"].tolist() == [fixes["patrol_key"].iloc[0]]
    assert flags["evidence"][0]["mock_fixes"] > 0


def test_vehicle_limit_depends_on_the_grid_mode() -> None:
    rng = np.random.default_rng(4)
    g = synth.Grid("R9", 0.0, 0.0, 3000.0, 500.0, "rural", "ebike")
    frames = synth.honest_patrol(rng, g, "R9a", synth.DAY0, minutes=40, interval=15)
    fixes = split_patrols(clean_fixes(frames[0]).fixes)
    assert detect_vehicle(fixes).empty  # e-bike allowed by default
    walk_only = detect_vehicle(fixes, modes={"R9a": "walk"})
    assert walk_only["kind"].tolist() == ["vehicle"]
