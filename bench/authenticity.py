"""Benchmark the authenticity flags on the sample-city month; the replay index against brute force.

Usage::

    python bench/authenticity.py [--days 31] [--brute-sample 400] [--samples data/samples]

Cleans and splits the sample tracks (``--days`` first days), then times each
detector group of :func:`gridgeo.tracks.authenticity.authenticity_flags`
(replay and copy, spoofing, vehicle, stationary). The replay/copy check finds
its candidate pairs through an index (MinHash of H3 cell shingles, plus
time-overlap for same-day pairs); the named baseline is the brute-force
pairwise comparison of every pair of moving patrols with the same
time-aligned comparison (:func:`gridgeo.tracks.detectors.replay.compare_pair`).
Brute force over the whole month is far too slow to run, so it is timed on
``--brute-sample`` random pairs and extrapolated to all pairs; the printed
ratio is extrapolated brute force over the indexed detector. The brute force
is also run exhaustively on a random subset of patrols with every planted
replay source added, to check the index misses no replay that brute force
finds there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridgeo.tracks import clean_fixes, split_patrols  # noqa: E402
from gridgeo.tracks.authenticity import (  # noqa: E402
    Thresholds,
    _replays_and_copies,
    _sorted,
    detect_spoofing,
    detect_stationary,
    detect_vehicle,
)
from gridgeo.tracks.detectors._patrols import PatrolArrays  # noqa: E402
from gridgeo.tracks.detectors.replay import candidate_pairs, compare_pair  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--brute-sample", type=int, default=400)
    ap.add_argument("--samples", type=Path, default=ROOT / "data" / "samples")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    raw = pd.read_parquet(args.samples / "tracks.parquet")
    t0 = raw["t"].min().normalize()
    raw = raw[raw["t"] < t0 + pd.Timedelta(days=args.days)]
    fixes = _sorted(split_patrols(clean_fixes(raw).fixes))
    th = Thresholds()
    print(f"{len(fixes):,} fixes, {fixes['patrol_key'].nunique():,} patrols, {args.days} days")

    times = {}
    t = time.perf_counter()
    rep, cop = _replays_and_copies(fixes, th)
    times["replay+copy (indexed)"] = time.perf_counter() - t
    for name, fn in (
        ("spoofing", detect_spoofing),
        ("vehicle", detect_vehicle),
        ("stationary", detect_stationary),
    ):
        t = time.perf_counter()
        fn(fixes, thresholds=th)
        times[name] = time.perf_counter() - t
    for name, sec in times.items():
        print(f"  {name:24s} {sec:8.1f} s")
    print(f"  flags: replay {len(rep)}, copy {len(cop)}")

    # The baseline: every pair of moving patrols compared.
    pa = PatrolArrays.build(fixes)
    size = pa.last - pa.first + 1
    moving = np.flatnonzero(size >= 8)
    n = moving.size
    all_pairs = n * (n - 1) // 2
    t = time.perf_counter()
    cands = candidate_pairs(pa, moving, th.replay_h3_res)
    t_index = time.perf_counter() - t
    rng = np.random.default_rng(args.seed)
    a = rng.choice(moving, args.brute_sample)
    b = rng.choice(moving, args.brute_sample)
    t = time.perf_counter()
    for p, q in zip(a.tolist(), b.tolist(), strict=True):
        ra, rb = pa.rows(p), pa.rows(q)
        compare_pair(
            pa.t[ra], pa.x[ra], pa.y[ra], pa.t[rb], pa.x[rb], pa.y[rb],
            search_s=th.replay_search_s, min_coverage=th.replay_min_coverage,
        )  # fmt: skip
    per_pair = (time.perf_counter() - t) / args.brute_sample
    brute = per_pair * all_pairs
    indexed = times["replay+copy (indexed)"]
    print(
        f"moving patrols {n:,}: all pairs {all_pairs:,}, index candidates {len(cands):,} "
        f"({len(cands) / max(all_pairs, 1):.2%}; index built in {t_index:.1f} s)"
    )
    print(
        f"brute force (extrapolated from {args.brute_sample} pairs at {per_pair * 1e3:.2f} ms): "
        f"{brute:,.0f} s; indexed replay+copy: {indexed:.1f} s; ratio {brute / indexed:,.0f}x"
    )

    # Exhaustive check on a subset: the index misses no replay brute force finds.
    flagged = {str(k) for k in rep["patrol_key"]}
    keys = pa.key[pa.first]
    src = {str(e["source_patrol_key"]) for e in rep["evidence"]}
    pick = set(rng.choice(moving, min(120, n), replace=False).tolist())
    pick |= {int(i) for i in np.flatnonzero(np.isin(keys, list(flagged | src)))}
    sub = np.array(sorted(pick))
    found = 0
    for i, p in enumerate(sub.tolist()):
        for q in sub[i + 1 :].tolist():
            x, y = (p, q) if pa.t[pa.first[p]] <= pa.t[pa.first[q]] else (q, p)
            if pa.t[pa.first[y]] <= pa.t[pa.last[x]]:
                continue  # overlapping: the copy check's business
            ra, rb = pa.rows(x), pa.rows(y)
            al = compare_pair(
                pa.t[ra], pa.x[ra], pa.y[ra], pa.t[rb], pa.x[rb], pa.y[rb],
                search_s=th.replay_search_s, min_coverage=th.replay_min_coverage,
            )  # fmt: skip
            if al is not None and al["median_m"] <= th.replay_max_median_m:
                found += 1
                if str(keys[y]) not in flagged:
                    print(f"  index missed a replay: {keys[y]} of {keys[x]}")
    print(f"brute force on {sub.size} patrols found {found} replays; all flagged by the index")


if __name__ == "__main__":
    main()
