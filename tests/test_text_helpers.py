"""Doctests and edge cases of the input helpers (:mod:`gridgeo.text`, :mod:`api.validation`)."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

import api.validation
import gridgeo.tempdirs
import gridgeo.text
from gridgeo.errors import InvalidInput
from gridgeo.text import check_frame_text, control_character, excerpt, is_ascii_digits


@pytest.mark.parametrize("module", [gridgeo.text, gridgeo.tempdirs, api.validation])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0


def test_unicode_digits_are_not_ascii_digits() -> None:
    for text in ("²", "３", "١٢٣", "12²", " 12", "12\n"):
        assert not is_ascii_digits(text), text
    assert is_ascii_digits("330109001")


def test_control_characters() -> None:
    assert control_character("a\x7fb") is not None
    assert control_character("a\x85b") is not None  # C1 next line
    assert control_character("a\ud800b") is not None  # lone surrogate
    assert control_character("a\tb") is not None
    assert control_character("a\tb", allow_whitespace=True) is None
    assert control_character("网格 grid") is None


def test_excerpt_is_bounded() -> None:
    assert len(excerpt("x" * 1_000_000)) < 120


def test_frame_check_names_column_and_rows() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b\x00", "c\x01"]})
    with pytest.raises(InvalidInput) as caught:
        check_frame_text(frame, "f.csv")
    assert "'name'" in caught.value.message and caught.value.details["rows"] == [1, 2]


@pytest.mark.parametrize("level", ["h3:²", "h3:٩", "h3:" + "9" * 5000])
def test_h3_level_with_unicode_or_huge_digits_is_invalid(level: str) -> None:
    from gridgeo.heatmaps.layers import parse_level

    with pytest.raises(InvalidInput) as caught:
        parse_level(level)
    assert len(caught.value.message) < 200
