"""The docstring examples of gridgeo.locate run and give the documented results."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gridgeo.locate",
    "gridgeo.locate.cells",
    "gridgeo.locate.index",
    "gridgeo.locate.nearest",
    "gridgeo.locate.result",
    "gridgeo.locate.rules",
    "gridgeo.locate.table",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
