"""The sample city: every planted fake track and unvisited grid is found, few honest ones.

Runs the whole pipeline on ``data/samples`` (about two million fixes in October
2026) once per module and compares with ``ground_truth.json``. The figures
(precision and recall) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

from gridgeo.tracks import (
    authenticity_flags,
    build_indexes,
    clean_fixes,
    grid_coverage,
    join_to_grids,
    read_fixes,
    split_patrols,
    unvisited_grids,
    validate_fixes,
)

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
pytestmark = pytest.mark.skipif(
    not (SAMPLES / "tracks.parquet").exists(), reason="sample data not built"
)


@pytest.fixture(scope="module")
def city() -> dict[str, Any]:
    units = gpd.read_parquet(SAMPLES / "units.parquet")
    roster = pd.read_csv(SAMPLES / "workers.csv", dtype=str)
    truth = json.loads((SAMPLES / "ground_truth.json").read_text(encoding="utf-8"))
    index, base_index = build_indexes(units)
    raw = read_fixes(SAMPLES / "tracks.parquet")
    good, rejects = validate_fixes(raw, roster["worker_id"])
    cleaned = clean_fixes(good)
    fixes = split_patrols(cleaned.fixes)
    fixes = join_to_grids(fixes, index, base_index=base_index).fixes
    period = ("2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00")
    coverage = grid_coverage(fixes, units, window=period)
    flags = authenticity_flags(fixes, roster, index, base_index=base_index, dropped=cleaned.dropped)
    # The app's patrol_id travels with the fixes: name each of our patrols by it.
    key_to_id = fixes.groupby("patrol_key")["patrol_id"].agg(lambda s: s.mode().iloc[0])
    flags["patrol_id"] = flags["patrol_key"].map(key_to_id)
    fakes = pd.DataFrame(truth["fake_tracks"])
    fakes["start"] = pd.to_datetime(fakes["start"], utc=True)
    fakes["end"] = pd.to_datetime(fakes["end"], utc=True)
    return {
        "raw": raw,
        "rejects": rejects,
        "cleaned": cleaned,
        "fixes": fixes,
        "coverage": coverage,
        "flags": flags,
        "fakes": fakes,
        "truth": truth,
    }


def test_no_rows_rejected_and_duplicates_cleaned(city: dict[str, Any]) -> None:
    assert city["rejects"].empty
    raw = city["raw"]
    exact = int(raw.duplicated(["worker_id", "t", "lon", "lat"]).sum())
    counts = city["cleaned"].counts()
    assert counts["duplicate_time"] == exact > 0
    assert counts["poor_accuracy"] == int((raw["accuracy_m"] > 50).sum()) - int(
        (raw.duplicated(["worker_id", "t"]) & (raw["accuracy_m"] > 50)).sum()
    )


def test_every_planted_fake_is_flagged_with_its_kind(city: dict[str, Any]) -> None:
    flags, fakes = city["flags"], city["fakes"]
    missed = []
    for fake in fakes.itertuples():
        hit = flags[
            (flags["worker_id"] == fake.worker_id)
            & (flags["kind"] == fake.kind)
            & (flags["start"] <= fake.end)
            & (flags["end"] >= fake.start)
        ]
        if hit.empty:
            missed.append((fake.kind, fake.worker_id, fake.patrol_id))
    assert missed == []


def test_every_unvisited_grid_is_reported(city: dict[str, Any]) -> None:
    reported = set(unvisited_grids(city["coverage"], days=31))
    planted = set(city["truth"]["unvisited_grids"])
    assert planted <= reported
    recall = len(planted & reported) / len(planted)
    precision = len(planted & reported) / len(reported)
    print(f"\nunvisited grids: precision {precision:.3f}, recall {recall:.3f}")
    cov = city["coverage"].set_index("code")
    assert (cov.loc[sorted(planted), "visits"] == 0).all()
    assert (cov.loc[sorted(planted), "cells_visited"] == 0).all()


def test_few_honest_patrols_are_flagged(city: dict[str, Any]) -> None:
    flags, fakes, fixes = city["flags"], city["fakes"], city["fixes"]
    fake_ids = set(fakes["patrol_id"])
    all_ids = set(fixes["patrol_id"].unique())
    honest = all_ids - fake_ids
    flagged = set(flags["patrol_id"])
    false_pos = flagged - fake_ids
    fp_rate = len(false_pos) / len(honest)
    precision = len(flagged & fake_ids) / len(flagged)
    recall = len(flagged & fake_ids) / len(fake_ids)
    by_kind = flags.assign(fake=flags["patrol_id"].isin(fake_ids)).groupby("kind")["fake"]
    print(
        f"\nfake tracks: precision {precision:.3f}, recall {recall:.3f}, "
        f"honest patrols flagged {len(false_pos)}/{len(honest)} ({fp_rate:.2%}); "
        f"flags per kind (total, on planted fakes): "
        f"{ {k: (int(v.size), int(v.sum())) for k, v in by_kind} }"
    )
    assert fp_rate < 0.05
    assert recall == 1.0
