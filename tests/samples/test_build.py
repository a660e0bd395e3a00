"""Building the sample city: determinism, manifest, scale and ground truth.

The committed ``data/samples/manifest.json`` records content hashes of every
committed file. Rebuilding with the default seed must reproduce them exactly
(on any machine: the hashes are of content, not of file bytes); another seed
must not.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridgeo.errors import InvalidInput
from gridgeo.samples.build import (
    DEFAULT_SEED,
    EVENTS_PER_SCALE,
    FILES,
    BuildSummary,
    build_sample_city,
)
from gridgeo.samples.hashing import directory_content_hashes
from gridgeo.samples.reference import SAMPLES_DIR

SMALL = 0.02


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((SAMPLES_DIR / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rebuild(tmp_path_factory) -> BuildSummary:
    """The full default build, once per session (about 20 s)."""
    return build_sample_city(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def small_default(tmp_path_factory) -> BuildSummary:
    return build_sample_city(tmp_path_factory.mktemp("small"), scale=SMALL)


@pytest.fixture(scope="module")
def small_other_seed(tmp_path_factory) -> BuildSummary:
    return build_sample_city(tmp_path_factory.mktemp("other"), seed=1, scale=SMALL)


def test_committed_files_match_their_manifest(manifest):
    assert manifest["seed"] == DEFAULT_SEED and manifest["scale"] == 1.0
    assert directory_content_hashes(SAMPLES_DIR) == manifest["content_hashes"]
    assert set(manifest["content_hashes"]) == set(FILES.values()) - {"manifest.json"}


def test_committed_sizes_stay_small():
    total = sum((SAMPLES_DIR / name).stat().st_size for name in FILES.values())
    assert total < 50e6
    assert (SAMPLES_DIR / "units.parquet").stat().st_size < 5e6


@pytest.mark.slow
def test_default_rebuild_reproduces_the_committed_hashes(rebuild, manifest):
    assert rebuild.hashes == manifest["content_hashes"]
    written = json.loads(rebuild.files["manifest"].read_text(encoding="utf-8"))
    assert written == manifest
    assert rebuild.counts == manifest["counts"]


def test_boundaries_and_roster_do_not_depend_on_scale(small_default, manifest):
    for name in ("units.parquet", "workers.csv"):
        assert small_default.hashes[name] == manifest["content_hashes"][name]
    for name in ("events.parquet", "tracks.parquet"):
        assert small_default.hashes[name] != manifest["content_hashes"][name]
    assert small_default.counts["events"] == int(EVENTS_PER_SCALE * SMALL)
    # A week of tracks (the shortest period) instead of a month.
    assert small_default.counts["track_fixes"] < manifest["counts"]["track_fixes"] / 3
    assert small_default.counts["fake_tracks"] > 0


def test_another_seed_gives_different_data(small_other_seed, small_default):
    for name in FILES.values():
        if name != "manifest.json":
            assert small_other_seed.hashes[name] != small_default.hashes[name], name
    assert small_other_seed.counts["streets"] == 27
    assert small_other_seed.counts["communities"] == 585


def test_manifest_counts_match_the_files(small_default):
    files = small_default.files
    units = gpd.read_parquet(files["units"])
    workers = pd.read_csv(files["workers"], dtype=str)
    counts = small_default.counts
    assert counts["grids"] == int(((units["level"] == "grid") & (units["kind"] == "base")).sum())
    assert counts["special_grids"] == int((units["kind"] == "special").sum())
    assert counts["microgrids"] == int((units["level"] == "microgrid").sum())
    assert counts["workers"] == len(workers)
    assert counts["events"] == len(pd.read_parquet(files["events"]))
    assert counts["track_fixes"] == len(pd.read_parquet(files["tracks"]))
    assert counts["population"] == int(
        units.loc[units["level"] == "district", "population"].iloc[0]
    )


def test_ground_truth_agrees_with_the_data():
    truth = json.loads((SAMPLES_DIR / "ground_truth.json").read_text(encoding="utf-8"))
    units = gpd.read_parquet(SAMPLES_DIR / "units.parquet")
    workers = pd.read_csv(SAMPLES_DIR / "workers.csv", dtype=str)
    tracks = pd.read_parquet(SAMPLES_DIR / "tracks.parquet")
    assert truth["seed"] == DEFAULT_SEED
    assert truth["hotspots"], "no planted hotspots"
    codes = units.set_index("code")
    for spot in truth["hotspots"]:
        grid = codes.loc[spot["grid_code"]]
        assert grid["level"] == "grid" and grid["kind"] == "base"
        # The planted centre lies in (or on the edge of) the grid it names.
        assert shapely.intersects(grid.geometry, shapely.Point(spot["lon"], spot["lat"]))
    unvisited = set(truth["unvisited_grids"])
    assert unvisited and unvisited <= set(codes.index[codes["level"] == "grid"])
    # No fix of the period falls in a planted unvisited grid (WGS84 fixes; CGCS2000 ≈ WGS84).
    planted = [c for c, why in truth["unvisited_reasons"].items() if why.startswith("planted")]
    wgs = tracks[tracks["crs"] == "wgs84"]
    inside = shapely.STRtree(codes.loc[planted].geometry.to_numpy()).query(
        shapely.points(wgs[["lon", "lat"]].to_numpy()), predicate="within"
    )
    assert inside.shape[1] == 0
    fake_workers = {fake["worker_id"] for fake in truth["fake_tracks"]}
    assert fake_workers <= set(workers["worker_id"])
    assert fake_workers <= set(tracks["worker_id"])
    patrols = set(tracks["patrol_id"].unique().tolist())
    assert all(fake["patrol_id"] in patrols for fake in truth["fake_tracks"])


@pytest.mark.parametrize(("seed", "scale"), [(-1, 1.0), (1, 0.0), (1, float("nan")), (True, 1.0)])
def test_bad_arguments_are_refused(tmp_path: Path, seed, scale):
    with pytest.raises(InvalidInput):
        build_sample_city(tmp_path, seed=seed, scale=scale)
    assert not any(tmp_path.iterdir())
