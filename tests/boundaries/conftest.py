"""Fixtures for the boundary tests (layouts in :mod:`tests.boundaries.layouts`)."""

from __future__ import annotations

import geopandas as gpd
import pytest

from tests.boundaries import layouts


@pytest.fixture
def planted() -> gpd.GeoDataFrame:
    """One of every planted problem."""
    return layouts.planted()


@pytest.fixture
def clean() -> gpd.GeoDataFrame:
    """A valid coverage."""
    return layouts.clean()
