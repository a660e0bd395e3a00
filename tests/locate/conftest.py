"""Fixtures for the locate tests; the hierarchy is described in :mod:`locate_synthetic`."""

from __future__ import annotations

import geopandas as gpd
import pytest

from tests.locate.locate_synthetic import make_units


@pytest.fixture(scope="session")
def units() -> gpd.GeoDataFrame:
    """The hierarchy on the exact (un-jittered) lattice."""
    return make_units()


@pytest.fixture(scope="session")
def jittered_units() -> gpd.GeoDataFrame:
    """The hierarchy on a jittered lattice (slanted shared edges)."""
    return make_units(jitter=0.25, seed=3)
