"""Parsing, formatting and validating codes; bad codes are refused naming the rule."""

from __future__ import annotations

import pandas as pd
import pytest

from gridgeo.coding import (
    LEVEL_LENGTHS,
    CodeParts,
    format_code,
    level_of,
    parse_code,
    problems_frame,
    validate_code,
    validate_codes,
)
from gridgeo.errors import InvalidCode, InvalidInput

COMMUNITY = "330109001001"  # 陈公桥社区, 城厢街道, Xiaoshan: in the official list


@pytest.mark.parametrize(
    ("code", "level", "parent", "sequence", "kind"),
    [
        ("330109", "district", None, None, None),
        ("330109001", "street", "330109", 1, None),
        ("330109001001", "community", "330109001", 1, None),
        ("330109001001001", "grid", "330109001001", 1, "base"),
        ("330109001001799", "grid", "330109001001", 799, "base"),
        ("330109001001801", "grid", "330109001001", 801, "special"),
        ("330109001001999", "grid", "330109001001", 999, "special"),
        ("330109001001801001", "microgrid", "330109001001801", 1, "base"),
        ("330109001001001850", "microgrid", "330109001001001", 850, "special"),
    ],
)
def test_parse_code(code, level, parent, sequence, kind):
    assert parse_code(code) == CodeParts(code, level, parent, sequence, kind)
    assert level_of(code) == level
    assert len(code) == LEVEL_LENGTHS[level]
    assert validate_code(code, level=level, parent=parent, kind=kind).code == code
    if parent is not None:
        assert format_code(parent, sequence, kind) == code


@pytest.mark.parametrize(
    ("code", "kwargs", "rule", "words"),
    [
        ("33010900100100", {}, "length", "length 14"),
        ("3301090010010011", {}, "length", "length 16"),
        ("330109001001", {"level": "grid"}, "length", "a grid code has 15 digits, got 12"),
        ("", {}, "digits", "only the digits"),
        ("33010900100100A", {}, "digits", "only the digits"),
        ("33010900100100１", {}, "digits", "only the digits"),  # full-width digit
        (" 330109001001001", {}, "digits", "only the digits"),
        (330109001001001, {}, "type", "strings, got int"),
        ("330109001001000", {}, "sequence", "sequence 000 is outside 001–799"),
        ("330109001001800", {}, "sequence", "sequence 800"),
        ("330109001001001000", {}, "sequence", "microgrid sequence 000"),
        ("330109001002001", {"parent": COMMUNITY}, "prefix", "start with its parent's code"),
        ("330109001001001", {"parent": "330109001"}, "prefix", "parent of a grid is a community"),
        ("330109", {"parent": "33"}, "prefix", "a district has no parent"),
        ("330109001001850", {"kind": "base"}, "kind", "special range 801–999"),
        ("330109001001005", {"kind": "special"}, "kind", "not in the special range"),
        ("330109001", {"kind": "base"}, "kind", "a street has no kind"),
        ("330109001999001", {}, "official", "community 330109001999 is not in the official"),
        ("330109001999", {}, "official", "community 330109001999"),
        ("330109999", {}, "official", "street 330109999"),
        ("339999", {}, "official", "district 339999"),
    ],
)
def test_bad_codes_are_rejected_naming_the_rule(code, kwargs, rule, words):
    with pytest.raises(InvalidCode) as err:
        validate_code(code, **kwargs)
    assert f"rule {rule!r} broken" in err.value.message
    assert words in err.value.message
    assert repr(code) in err.value.message
    assert err.value.details == {"code": code, "rule": rule}


def test_unknown_community_passes_when_the_official_check_is_off():
    assert validate_code("330109001999001", check_official=False).sequence == 1


def test_unknown_level_or_kind_argument():
    with pytest.raises(InvalidInput, match="unknown level 'village'"):
        validate_code("330109001001", level="village")
    with pytest.raises(InvalidInput, match="unknown kind"):
        validate_code("330109001001001", kind="vip")


def test_format_code_refuses_what_parse_code_would():
    assert format_code("330109", 1) == "330109001"
    assert format_code("330109001", 0) == "330109001000"  # official numbers may be 000
    with pytest.raises(InvalidCode, match="'sequence'"):
        format_code(COMMUNITY, 800)
    with pytest.raises(InvalidCode, match="'sequence'"):
        format_code(COMMUNITY, 1000)
    with pytest.raises(InvalidCode, match="'kind'"):
        format_code(COMMUNITY, 5, "special")
    with pytest.raises(InvalidCode, match="'kind'"):
        format_code("330109", 5, "base")
    with pytest.raises(InvalidCode, match="micro-grid has no children"):
        format_code("330109001001001001", 1)
    with pytest.raises(InvalidCode, match="'length'"):
        format_code("3301090", 1)
    with pytest.raises(InvalidInput, match="integer"):
        format_code(COMMUNITY, 1.0)


def test_validate_codes_reports_every_broken_rule_by_row():
    df = pd.DataFrame(
        {
            "code": [
                "330109001001001",  # fine
                "330109001001001",  # duplicate
                "33010900100100",  # wrong length
                "33010900100100X",  # letters
                "330109001014002",  # wrong prefix
                "330109001001800",  # sequence out of range
                "330109001001005",  # kind mismatch (declared special)
                "330109001999001",  # unknown community: warning only
                None,  # missing
                "330109001",  # street with a wrong level
            ],
            "parent_code": [COMMUNITY] * 9 + ["330109"],
            "kind": ["base"] * 6 + ["special", "base", "base", None],
            "level": ["grid"] * 9 + ["community"],
        },
        index=[f"r{i}" for i in range(10)],
    )
    df.loc["r7", "parent_code"] = "330109001999"
    problems = validate_codes(df)
    got = [(p.row, p.rule, p.severity) for p in problems]
    assert got == [
        ("r0", "unique", "error"),
        ("r1", "unique", "error"),
        ("r2", "length", "error"),
        ("r3", "digits", "error"),
        ("r4", "prefix", "error"),
        ("r5", "sequence", "error"),
        ("r6", "kind", "error"),
        ("r7", "official", "warning"),
        ("r8", "type", "error"),
        ("r9", "length", "error"),
    ]
    messages = {p.row: p.message for p in problems}
    assert "'330109001014002'" in messages["r4"] and COMMUNITY in messages["r4"]
    assert "sequence 800" in messages["r5"]
    assert "sequence 005 is in the base range 001–799, not in the special range" in messages["r6"]
    assert "its community 330109001999 is not in the official" in messages["r7"]
    assert "a community code has 12 digits, got 9" in messages["r9"]
    frame = problems_frame(problems)
    assert frame.columns.tolist() == ["row", "code", "rule", "severity", "message"]
    assert len(frame) == 10


def test_validate_codes_accepts_plain_sequences_and_a_clean_table():
    assert validate_codes(["330109", "330109001", COMMUNITY, COMMUNITY + "801"]) == []
    problems = validate_codes(pd.Series(["330109001999", "12"], index=["a", "b"]))
    assert [(p.row, p.rule) for p in problems] == [("a", "official"), ("b", "length")]
    assert validate_codes(["330109001999"], check_official=False) == []
    with pytest.raises(InvalidInput, match="no 'code' column"):
        validate_codes(pd.DataFrame({"x": []}))
