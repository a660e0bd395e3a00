"""Small synthetic study areas on H3 for the heatmaps tests."""

from __future__ import annotations

import h3
import numpy as np
import pytest

CENTRE = (30.17, 120.27)  # lat, lng in Xiaoshan


def disk(lat: float, lng: float, res: int, k: int) -> list[str]:
    return sorted(h3.grid_disk(h3.latlng_to_cell(lat, lng, res), k))


@pytest.fixture(scope="session")
def hex_area() -> list[str]:
    """About 600 res-8 cells (a disk of 14 rings) around the sample district's core."""
    return disk(*CENTRE, 8, 14)


def offset_cell(cells: list[str], di: int, dj: int) -> str:
    """The cell ``di``, ``dj`` local-ij steps from the centre of ``cells``' disk."""
    centre = h3.latlng_to_cell(*CENTRE, h3.get_resolution(cells[0]))
    i, j = h3.cell_to_local_ij(centre, centre)
    return h3.local_ij_to_cell(centre, i + di, j + dj)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20251124)
