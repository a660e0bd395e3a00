"""Build the sample city: boundaries, roster, events, patrol tracks and ground truth.

:func:`build_sample_city` is what ``gridgeo samples build`` runs; for a quick
run without the CLI::

    python -m gridgeo.samples.build --out /tmp/city [--seed 20261124] [--scale 1]

Randomness
----------
One :class:`numpy.random.SeedSequence` of ``seed`` is spawned into four
independent children, one per part (units, roster, events, tracks), so every
part is deterministic on its own: the same seed gives identical content on
any machine, and changing one generator does not disturb the others.

Scale
-----
``scale`` multiplies the volumes of events (``240,000 × scale`` over the
twelve months November 2025 – October 2026) and patrol tracks (``31 × scale``
days, rounded, at least a week so that every planted fake fits, ending on
31 October 2026, so the default is October 2026). Boundaries and roster are the same at any scale.

Outputs (in ``out_dir``)
------------------------
``units.parquet`` (GeoParquet, zstd), ``workers.csv``, ``events.parquet``,
``tracks.parquet`` (Parquet, zstd level 9, the time and patrol columns
delta-encoded), ``ground_truth.json`` (``seed``, ``scale``,
``hotspots`` from the events generator, ``unvisited_grids``,
``unvisited_reasons`` and ``fake_tracks`` from the tracks generator) and
``manifest.json``
(seed, scale, periods, row counts and :mod:`content hashes
<gridgeo.samples.hashing>` of every other file).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import gridgeo
from gridgeo.errors import InvalidInput
from gridgeo.samples.city import generate_units
from gridgeo.samples.events import generate_events
from gridgeo.samples.hashing import directory_content_hashes
from gridgeo.samples.reference import load_reference
from gridgeo.samples.roster import generate_roster, with_worker_counts
from gridgeo.samples.tracks import generate_tracks

DEFAULT_SEED = 20261124
"""Seed of the committed sample city in ``data/samples``."""

EVENTS_PER_SCALE = 240_000
"""Events at scale 1."""

EVENTS_START = pd.Timestamp("2025-11-01", tz="Asia/Shanghai")
EVENTS_END = pd.Timestamp("2026-11-01", tz="Asia/Shanghai")
"""Event period (end exclusive): twelve months ending 31 October 2026."""

TRACKS_END = pd.Timestamp("2026-11-01", tz="Asia/Shanghai")
TRACK_DAYS = 31
"""Patrol tracks at scale 1: the 31 days before :data:`TRACKS_END` (October 2026)."""

MIN_TRACK_DAYS = 7
"""Shortest track period (small scales): a week holds every planted fake."""

FILES = {
    "units": "units.parquet",
    "workers": "workers.csv",
    "events": "events.parquet",
    "tracks": "tracks.parquet",
    "ground_truth": "ground_truth.json",
    "manifest": "manifest.json",
}
"""Output file of each part."""


@dataclass(frozen=True)
class BuildSummary:
    """What :func:`build_sample_city` produced.

    Attributes
    ----------
    out_dir : pathlib.Path
    seed : int
    scale : float
    counts : dict
        Row counts (units per level and kind, workers, events, fixes, truth).
    files : dict
        Path of each output (keys of :data:`FILES`).
    hashes : dict
        Content hash of each data file, by file name (as in the manifest).
    seconds : dict
        Wall-clock time of each step (not part of the manifest).
    """

    out_dir: Path
    seed: int
    scale: float
    counts: dict[str, int]
    files: dict[str, Path]
    hashes: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)


def build_sample_city(
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    reference_dir: Path | None = None,
) -> BuildSummary:
    """Generate the sample city and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : pathlib.Path
        Output directory (created if missing; files of :data:`FILES` are
        overwritten, nothing else is touched).
    seed : int, default :data:`DEFAULT_SEED`
        Non-negative seed of all randomness.
    scale : float, default 1.0
        Volume factor of events and tracks (> 0); boundaries do not change.
    reference_dir : pathlib.Path, optional
        Reference extracts (default ``data/samples/reference``).

    Returns
    -------
    BuildSummary

    Raises
    ------
    InvalidInput
        Negative seed or non-positive scale.
    NotFound
        Missing reference files.

    Examples
    --------
    >>> summary = build_sample_city(Path("/tmp/city"), scale=0.01)  # doctest: +SKIP
    >>> summary.counts["grids"]  # doctest: +SKIP
    1500
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidInput(f"seed must be a non-negative integer, got {seed!r}")
    if not np.isfinite(scale) or scale <= 0:
        raise InvalidInput(f"scale must be a positive number, got {scale!r}")
    seed, scale = int(seed), float(scale)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    units_ss, roster_ss, events_ss, tracks_ss = np.random.SeedSequence(seed).spawn(4)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = round(now - clock, 3)
        clock = now

    reference = load_reference(reference_dir)
    units = generate_units(reference, np.random.default_rng(units_ss))
    lap("units")
    roster = generate_roster(units, np.random.default_rng(roster_ss))
    units = with_worker_counts(units, roster)
    lap("roster")
    n_events = max(1, int(EVENTS_PER_SCALE * scale))
    events, hotspots = generate_events(
        units,
        np.random.default_rng(events_ss),
        n_events=n_events,
        start=EVENTS_START,
        end=EVENTS_END,
    )
    lap("events")
    days = max(MIN_TRACK_DAYS, round(TRACK_DAYS * scale))
    tracks_start = TRACKS_END - pd.Timedelta(days=days)
    fixes, track_truth = generate_tracks(
        units, roster, np.random.default_rng(tracks_ss), start=tracks_start, days=days
    )
    lap("tracks")

    paths = {key: out / name for key, name in FILES.items()}
    units.to_parquet(paths["units"], compression="zstd", index=False)
    roster.to_csv(paths["workers"], index=False, encoding="utf-8")
    _write_parquet(events, paths["events"], delta=("reported_at",))
    _write_parquet(fixes, paths["tracks"], delta=("patrol_id", "t"))
    truth = {"seed": seed, "scale": scale, "hotspots": hotspots, **track_truth}
    _write_json(paths["ground_truth"], truth)
    lap("write")

    counts = _counts(units, roster, events, fixes, truth)
    hashes = directory_content_hashes(out, exclude=(FILES["manifest"],))
    hashes = {name: hashes[name] for name in sorted(FILES.values()) if name in hashes}
    manifest = {
        "generator": f"gridgeo {gridgeo.__version__} (gridgeo.samples.build)",
        "seed": seed,
        "scale": scale,
        "district": reference.district_code,
        "events_period": [EVENTS_START.isoformat(), EVENTS_END.isoformat()],
        "tracks_period": [tracks_start.isoformat(), TRACKS_END.isoformat()],
        "counts": counts,
        "content_hashes": hashes,
    }
    _write_json(paths["manifest"], manifest)
    lap("hash")
    return BuildSummary(out, seed, scale, counts, paths, hashes, seconds)


def _write_parquet(frame: pd.DataFrame, path: Path, *, delta: tuple[str, ...] = ()) -> None:
    """Write a table as Parquet (zstd level 9), delta-encoding the mostly sorted columns."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    delta = tuple(
        name
        for name in delta
        if name in table.column_names
        and (
            pa.types.is_integer(table.schema.field(name).type)
            or pa.types.is_timestamp(table.schema.field(name).type)
        )
    )
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=9,
        use_dictionary=[name for name in table.column_names if name not in delta],
        column_encoding=dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
    )


def _counts(
    units: pd.DataFrame,
    roster: pd.DataFrame,
    events: pd.DataFrame,
    fixes: pd.DataFrame,
    truth: dict[str, Any],
) -> dict[str, int]:
    level = units["level"]
    special = units["kind"] == "special"
    return {
        "districts": int((level == "district").sum()),
        "streets": int((level == "street").sum()),
        "communities": int((level == "community").sum()),
        "grids": int(((level == "grid") & ~special).sum()),
        "special_grids": int(((level == "grid") & special).sum()),
        "microgrids": int((level == "microgrid").sum()),
        "population": int(units.loc[level == "district", "population"].sum()),
        "households": int(units.loc[level == "district", "households"].sum()),
        "workers": len(roster),
        "full_time_workers": int((roster["employment"] == "full_time").sum()),
        "part_time_workers": int((roster["employment"] == "part_time").sum()),
        "events": len(events),
        "track_fixes": len(fixes),
        "hotspots": len(truth["hotspots"]),
        "unvisited_grids": len(truth["unvisited_grids"]),
        "fake_tracks": len(truth["fake_tracks"]),
    }


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default)
    path.write_text(text + "\n", encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m gridgeo.samples.build``."""
    parser = argparse.ArgumentParser(description="Build the gridgeo sample city.")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reference", type=Path, default=None, help="reference directory")
    args = parser.parse_args(argv)
    summary = build_sample_city(
        args.out, seed=args.seed, scale=args.scale, reference_dir=args.reference
    )
    for key, path in summary.files.items():
        size = path.stat().st_size / 1e6 if path.exists() else 0.0
        print(f"{key:>13}: {path} ({size:.2f} MB)")
    print("counts:", json.dumps(summary.counts, ensure_ascii=False))
    print("seconds:", json.dumps(summary.seconds))


if __name__ == "__main__":
    main()
