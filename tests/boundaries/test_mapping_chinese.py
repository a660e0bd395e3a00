"""Usual Chinese headers are recognised and unused source columns are listed (issue 13)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely import box

from gridgeo.boundaries import read_boundaries
from gridgeo.boundaries.mapping import map_attributes

GRID = "330109001001001"


def frame(columns: dict[str, list[object]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[box(120.26, 30.18, 120.27, 30.19)], crs=4490)


def test_type_column_is_read_as_kind_without_a_mapping() -> None:
    for header in ("类型", "网格类型", "类别"):
        units, notes = map_attributes(frame({"网格编码": [GRID], header: ["专属网格"]}))
        assert units.loc[0, "kind"] == "special", header
        assert units.attrs["columns"]["kind"] == header
        assert units.attrs["unused_columns"] == []


def test_usual_headers_map_to_every_target() -> None:
    raw = frame(
        {
            "编码": [GRID],
            "名称": ["一网格"],
            "所属社区": ["330109001001"],
            "户数": ["420"],
            "人口": [1100],
            "专职网格员": [1],
            "兼职网格员": [3],
            "类型": ["基础网格"],
            "备注": ["x"],
            "负责人": ["张三"],
        }
    )
    units, _ = map_attributes(raw)
    row = units.iloc[0]
    assert row["code"] == GRID and row["name"] == "一网格"
    assert row["parent_code"] == "330109001001" and row["kind"] == "base"
    assert (int(row["households"]), int(row["population"])) == (420, 1100)
    assert (int(row["full_time_workers"]), int(row["part_time_workers"])) == (1, 3)
    assert units.attrs["unused_columns"] == ["备注", "负责人"]


def test_parent_column_holding_names_is_not_used() -> None:
    units, notes = map_attributes(frame({"网格编码": [GRID], "所属社区": ["闻堰社区"]}))
    assert units.loc[0, "parent_code"] == "330109001001"  # from the code prefix
    assert units.attrs["unused_columns"] == ["所属社区"]
    assert any("所属社区" in n and "names" in n for n in notes)


def test_type_column_holding_levels_is_read_as_level() -> None:
    units, notes = map_attributes(frame({"编码": ["330109001001"], "类型": ["社区"]}))
    assert units.loc[0, "level"] == "community" and units.loc[0, "kind"] == "base"
    assert units.attrs["unused_columns"] == []


def test_read_boundaries_lists_unused_columns(tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    frame({"网格编码": [GRID], "类型": ["专属网格"], "备注": ["临时"]}).to_file(path)
    units = read_boundaries(path)
    info = units.attrs["import"]
    assert info["columns"]["kind"] == "类型" and units.loc[0, "kind"] == "special"
    assert info["unused_columns"] == ["备注"]
    assert any("备注" in n for n in info["notes"])
