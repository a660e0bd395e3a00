"""Attribute mapping into the units table."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from gridgeo.boundaries.mapping import (
    derive_kind,
    derive_level,
    derive_parent_code,
    find_columns,
    map_attributes,
    normalize_codes,
)
from gridgeo.errors import InvalidInput


def frame(**columns):
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=[box(i, 0, i + 1, 1) for i in range(n)], crs=4490)


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["WGBM", "WGMC", "HS"], {"code": "WGBM", "name": "WGMC", "households": "HS"}),
        (
            ["编码", "名称", "人口", "户数"],
            {"code": "编码", "name": "名称", "population": "人口", "households": "户数"},
        ),
        (
            ["Grid_Code", "Grid Name", "POP"],
            {"code": "Grid_Code", "name": "Grid Name", "population": "POP"},
        ),
        (["网格编", "网格名"], {"code": "网格编", "name": "网格名"}),  # truncated shapefile names
        (
            ["网格编码", "所属社区编码", "专职网格员"],
            {"code": "网格编码", "parent_code": "所属社区编码", "full_time_workers": "专职网格员"},
        ),
    ],
)
def test_columns_are_detected(columns, expected):
    assert find_columns(columns)[0] == expected


def test_explicit_mapping_wins_and_a_column_is_used_once():
    chosen, _ = find_columns(["code", "BM2", "name"], {"code": "BM2"})
    assert chosen == {"code": "BM2", "name": "name"}


def test_codes_levels_parents_kinds_are_derived():
    codes = pd.Series(
        ["330109", "330109001", "330109001001", "330109001001801", "330109001001001002", "33010"]
    )
    level = derive_level(codes)
    assert level.tolist() == ["district", "street", "community", "grid", "microgrid", None]
    assert derive_parent_code(codes, level).tolist() == [
        None,
        "330109",
        "330109001",
        "330109001001",
        "330109001001001",
        None,
    ]
    assert derive_kind(codes, level).tolist() == ["base"] * 3 + ["special", "base", "base"]


def test_level_and_kind_words_in_chinese():
    units, _ = map_attributes(
        frame(
            网格编码=["330109001001", "330109001001801"],
            层级=["社区", "网格"],
            网格类型=["基础网格", "专属网格"],
        )
    )
    assert units["level"].tolist() == ["community", "grid"]
    assert units["kind"].tolist() == ["base", "special"]
    with pytest.raises(InvalidInput, match="unknown value.*县城"):
        map_attributes(frame(code=["330109001001"], level=["县城"]))


def test_numbers_are_cleaned_or_rejected():
    units, _ = map_attributes(
        frame(
            code=["330109001001001"] * 3,
            households=["1,200", " 300", ""],
            full_time_workers=[1, None, 2],
        )
    )
    assert units["households"].tolist()[:2] == [1200, 300]
    assert pd.isna(units["households"].iloc[2])
    assert units["full_time_workers"].tolist() == [1, 0, 2]
    with pytest.raises(InvalidInput, match="households.*row 1"):
        map_attributes(frame(code=["a", "b"], households=[3, -1]))
    with pytest.raises(InvalidInput, match="population.*2.5"):
        map_attributes(frame(code=["a"], population=[2.5]))


def test_codes_are_text():
    values = pd.Series([330109001001001, 330109001001002.0, " 330109001001003 ", None, "12.0"])
    assert normalize_codes(values).tolist() == [
        "330109001001001",
        "330109001001002",
        "330109001001003",
        None,
        "12",
    ]
    with pytest.raises(InvalidInput, match="floating-point"):
        normalize_codes(pd.Series([330109001001001002.0]))


def test_map_attributes_does_not_modify_input():
    raw = frame(WGBM=["330109001001001"], extra=["x"])
    before = raw.copy()
    units, notes = map_attributes(raw)
    assert raw.equals(before)
    assert "extra" not in units.columns
    assert "column 'WGBM' read as code" in notes
