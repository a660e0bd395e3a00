"""The examples in gridgeo.events' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gridgeo.events.calendar",
    "gridgeo.events.taxonomy",
    "gridgeo.events.workflow",
    "gridgeo.events.deadlines",
    "gridgeo.events.indicators",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
