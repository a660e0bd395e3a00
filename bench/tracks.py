"""Benchmark the patrol-track pipeline on the sample city, against a named baseline.

Usage::

    python bench/tracks.py [--fixes 1000000] [--samples data/samples] [--no-flags]

Takes the first ``--fixes`` fixes in time of the sample tracks
(``data/samples/tracks.parquet``: every worker's patrols from the start of the
month; when more are asked for than the sample holds, further copies with
times shifted by 35 days are appended), sorted by worker and time,
writes them as a CSV upload and times, in one process:

1. parse (``read_fixes`` on the CSV bytes), 2. validate (against the
roster), 3. clean, 4. split into patrols, 5. join to grids (``LocateIndex``),
6. coverage of every grid (H3 cells at resolution 10, all 1,602 grid-level
units, the cells computed in the step), and, reported separately,
7. authenticity flags (all six checks).

The target is steps 1–6 under 60 s for a million fixes. The join step is
compared with the baseline ``geopandas.sjoin(predicate="intersects")`` over
the same units plus the same owner rule in pandas
(``bench/locate_batch.py::sjoin_owners``); both must name the same owner for
every fix, and the ratio of their times is printed. Building the locate
indexes is a one-off per boundary generation and is reported on its own.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from locate_batch import sjoin_owners  # noqa: E402

from gridgeo.tracks import (  # noqa: E402
    authenticity_flags,
    build_indexes,
    clean_fixes,
    grid_coverage,
    join_to_grids,
    read_fixes,
    split_patrols,
    validate_fixes,
)
from gridgeo.tracks._geo import wgs84_lonlat  # noqa: E402

SHIFT = pd.Timedelta(days=35)


def sample_fixes(tracks: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` fixes in time, replicating the sample with shifted times if needed."""
    base = tracks.sort_values("t", kind="stable")
    parts = []
    copies = -(-n // len(base))
    for k in range(copies):
        parts.append(base.assign(t=base["t"] + k * SHIFT) if k else base)
    out = pd.concat(parts, ignore_index=True).head(n)
    out = out.sort_values(["worker_id", "t"], kind="stable")
    return out[["worker_id", "t", "lon", "lat", "crs", "accuracy_m"]].reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    out = frame.assign(t=frame["t"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.to_csv(buf, index=False, float_format="%.6f")
    return buf.getvalue().encode("utf-8")


class Timer:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []

    def run(self, name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        dt = time.perf_counter() - t0
        self.rows.append((name, dt))
        print(f"  {name:<28} {dt:8.2f} s", flush=True)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixes", type=int, default=1_000_000)
    parser.add_argument("--samples", type=Path, default=ROOT / "data" / "samples")
    parser.add_argument("--no-flags", action="store_true", help="skip the authenticity step")
    args = parser.parse_args()

    units = gpd.read_parquet(args.samples / "units.parquet")
    roster = pd.read_csv(args.samples / "workers.csv", dtype=str)
    tracks = pd.read_parquet(args.samples / "tracks.parquet")
    fixes = sample_fixes(tracks, args.fixes)
    data = csv_bytes(fixes)
    print(
        f"{len(fixes):,} fixes of {fixes['worker_id'].nunique():,} workers "
        f"({len(data) / 2**20:.0f} MiB CSV); {len(units):,} units, "
        f"{int((units['level'] == 'grid').sum()):,} grids; {os.cpu_count()} CPUs"
    )

    timer = Timer()
    print("one-off:")
    index, base_index = timer.run("build locate indexes", build_indexes, units)
    setup = len(timer.rows)
    print("pipeline:")
    raw = timer.run("1 parse CSV", read_fixes, data, filename="upload.csv")
    good, rejects = timer.run("2 validate", validate_fixes, raw, roster["worker_id"])
    cleaned = timer.run("3 clean", clean_fixes, good)
    split = timer.run("4 split patrols", split_patrols, cleaned.fixes)
    joined = timer.run("5 join to grids", join_to_grids, split, index, base_index=base_index)
    coverage = timer.run("6 coverage of all grids", grid_coverage, joined.fixes, units)
    total = sum(dt for _, dt in timer.rows[setup:])
    print(
        f"  {'total (steps 1-6)':<28} {total:8.2f} s   target < 60 s: "
        f"{'met' if total < 60 else 'MISSED'}"
    )
    if not args.no_flags:
        flags = timer.run(
            "7 authenticity flags",
            authenticity_flags,
            joined.fixes,
            roster,
            index,
            base_index=base_index,
            dropped=cleaned.dropped,
        )
        print(f"     flags: {flags['kind'].value_counts().to_dict()}")
    print(
        f"  rejected {len(rejects):,}, dropped {cleaned.counts()}, "
        f"patrols {split['patrol_key'].nunique():,}, grids visited "
        f"{int((coverage['visits'] > 0).sum()):,}/{len(coverage):,}, median coverage "
        f"{coverage['coverage_share'].median():.2f}"
    )

    print("join baseline (same fixes, same owner rule):")
    lon, lat = wgs84_lonlat(split)
    t0 = time.perf_counter()
    ours = index.locate(lon, lat).owner
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = sjoin_owners(units, lon, lat)
    t_base = time.perf_counter() - t0
    agree = np.array_equal(
        pd.Series(ours, dtype=object).fillna("").to_numpy(),
        pd.Series(theirs, dtype=object).fillna("").to_numpy(),
    )
    print(f"  LocateIndex.locate           {t_ours:8.2f} s ({len(lon) / t_ours / 1e6:.1f} M/s)")
    print(f"  geopandas.sjoin + owner rule {t_base:8.2f} s ({len(lon) / t_base / 1e6:.2f} M/s)")
    print(f"  ratio baseline/ours {t_base / t_ours:.1f}x; owners agree: {agree}")
    if not agree:
        raise SystemExit("the join and the baseline disagree")


if __name__ == "__main__":
    main()
