"""The examples in gridgeo.tracks' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gridgeo.tracks._geo",
    "gridgeo.tracks.io",
    "gridgeo.tracks.validate",
    "gridgeo.tracks.clean",
    "gridgeo.tracks.patrols",
    "gridgeo.tracks.join",
    "gridgeo.tracks.coverage",
    "gridgeo.tracks.authenticity",
    "gridgeo.tracks.pipeline",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags)
    assert result.attempted > 0
    assert result.failed == 0
