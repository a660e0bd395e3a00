"""The real inputs of the sample city, shipped in ``data/samples/reference``.

``scripts/extract_reference.py`` copies them from the project's reference
data (with attribution in ``data/samples/README.md``); the generator reads
only these files, never anything outside the repository.

Examples
--------
>>> ref = load_reference()
>>> ref.district_code, len(ref.streets), len(ref.communities)
('330109', 27, 585)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyogrio
import shapely

import gridgeo
from gridgeo.errors import InvalidInput, NotFound

SAMPLES_DIR = Path(gridgeo.__file__).resolve().parents[1] / "data" / "samples"
"""``data/samples`` of the repository (the committed sample city)."""

REFERENCE_DIR = SAMPLES_DIR / "reference"
"""Where the reference extracts live."""


@dataclass(frozen=True)
class Reference:
    """Official inputs of the sample district.

    Attributes
    ----------
    district_code, district_name : str
        6-digit division code and name.
    outline : shapely.MultiPolygon
        District outline, EPSG:4490.
    streets : pandas.DataFrame
        ``code`` (9 digits), ``name``, ``parent`` (the district code), sorted by code.
    communities : pandas.DataFrame
        ``code`` (12 digits), ``name``, ``parent`` (a street code), sorted by code.
    """

    district_code: str
    district_name: str
    outline: shapely.MultiPolygon
    streets: pd.DataFrame
    communities: pd.DataFrame


def load_reference(reference_dir: Path | None = None) -> Reference:
    """Read the outline and official street and community lists.

    Parameters
    ----------
    reference_dir : pathlib.Path, optional
        Directory holding ``xiaoshan_outline.geojson``, ``streets.csv`` and
        ``communities.csv``; default :data:`REFERENCE_DIR`.

    Returns
    -------
    Reference

    Raises
    ------
    NotFound
        A file is missing.
    InvalidInput
        The files disagree (codes of the wrong length or parent).
    """
    folder = Path(reference_dir) if reference_dir is not None else REFERENCE_DIR
    paths = {
        name: folder / name
        for name in ("xiaoshan_outline.geojson", "streets.csv", "communities.csv")
    }
    for path in paths.values():
        if not path.is_file():
            raise NotFound(f"reference file {path} is missing; run scripts/extract_reference.py")
    frame = pyogrio.read_dataframe(paths["xiaoshan_outline.geojson"])
    if len(frame) != 1 or frame.crs is None or frame.crs.to_epsg() != 4490:
        raise InvalidInput("the outline file must hold one feature in EPSG:4490")
    outline = frame.geometry.iloc[0]
    if outline.geom_type == "Polygon":
        outline = shapely.MultiPolygon([outline])
    district = str(frame["code"].iloc[0])
    streets = pd.read_csv(paths["streets.csv"], dtype=str).sort_values("code")
    communities = pd.read_csv(paths["communities.csv"], dtype=str).sort_values("code")
    _check_children(streets, district, 9)
    for street in streets["code"]:
        _check_children(communities[communities["parent"] == street], street, 12)
    if not communities["parent"].isin(set(streets["code"])).all():
        raise InvalidInput("communities.csv has rows whose parent is not a listed street")
    return Reference(
        district_code=district,
        district_name=str(frame["name"].iloc[0]),
        outline=outline,
        streets=streets.reset_index(drop=True),
        communities=communities.reset_index(drop=True),
    )


def _check_children(children: pd.DataFrame, parent: str, length: int) -> None:
    codes = children["code"]
    bad = codes[
        (codes.str.len() != length)
        | ~codes.str.fullmatch(r"\d+")
        | ~codes.str.startswith(parent)
        | (children["parent"] != parent)
    ]
    if len(bad):
        raise InvalidInput(
            f"reference codes {bad.tolist()[:5]} are not {length}-digit children of {parent}"
        )
