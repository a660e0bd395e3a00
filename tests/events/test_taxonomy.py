"""The category taxonomy: shape, limits, lookups, and agreement with the sample city."""

from __future__ import annotations

import importlib.util

import pytest

from gridgeo.errors import InvalidInput, NotFound
from gridgeo.events.taxonomy import (
    CATEGORIES,
    TIME_LIMIT_HOURS,
    Category,
    categories_frame,
    get_category,
    stage_limit_hours,
    time_limits,
)


def test_taxonomy_shape() -> None:
    codes = [c.code for c in CATEGORIES]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    assert {c.type for c in CATEGORIES} == {"部件", "事件"}
    assert {c.time_limit_hours for c in CATEGORIES} <= set(TIME_LIMIT_HOURS)
    groups = {c.l1_name for c in CATEGORIES}
    assert {
        "市容环境",
        "道路交通",
        "公用设施",
        "园林绿化",
        "街面秩序",
        "施工管理",
        "突发事件",
    } <= groups
    # one level-1 name per level-1 code
    by_l1: dict[str, set[str]] = {}
    for c in CATEGORIES:
        by_l1.setdefault(c.l1_code, set()).add(c.l1_name)
    assert all(len(names) == 1 for names in by_l1.values())
    frame = categories_frame()
    assert list(frame.columns[:7]) == [
        "code", "type", "l1_code", "l1_name", "l2_name", "time_limit_hours", "department",
    ]  # fmt: skip
    assert len(frame) == len(CATEGORIES)


def test_lookups() -> None:
    assert get_category("S0402").l2_name == "路面塌陷"
    with pytest.raises(NotFound, match="S9999"):
        get_category("S9999")
    assert time_limits(["S0402", "B0401", "S0501"]).tolist() == [2.0, 72.0, 4.0]
    with pytest.raises(InvalidInput, match="unknown event category code.*B9999, Z1") as info:
        time_limits(["S0101", "Z1", "B9999"])
    assert info.value.details == {"unknown_codes": ["B9999", "Z1"]}
    # emergencies have tighter stage limits than the defaults
    assert stage_limit_hours("S0402", "dispatch") < stage_limit_hours("S0101", "dispatch")
    assert stage_limit_hours("S0101", "handle") is None


def test_categories_are_validated() -> None:
    with pytest.raises(InvalidInput, match="B or S followed by four digits"):
        Category("S01", "x", "y", 4, "d")
    with pytest.raises(InvalidInput, match="positive"):
        Category("S0101", "x", "y", 0, "d")


@pytest.mark.skipif(
    importlib.util.find_spec("gridgeo.samples.taxonomy") is None, reason="no sample taxonomy"
)
def test_sample_city_categories_resolve_here() -> None:
    # The sample city takes its categories from here and adds only weights and phrases.
    from gridgeo.samples.taxonomy import PROFILES

    assert sorted(PROFILES) == [c.code for c in CATEGORIES]
    for code in PROFILES:
        assert get_category(code).code == code
