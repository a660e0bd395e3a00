"""Map pages from the active generation and stored activity (shared by API and CLI)."""

from __future__ import annotations

from typing import Any

import folium
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgeo.heatmaps import grid_map
from gridgeo.store.generations import active_generation
from gridgeo.store.units import read_units


def grids_map(engine: Engine, *, levels: list[str], **options: Any) -> folium.Map:
    """Boundaries of the active generation, one layer per level."""
    with Session(engine) as session:
        generation = active_generation(session)
        units = read_units(session, generation.id)
    units = units[units["level"].isin(levels) | (units["kind"] == "special")]
    return grid_map(units, levels=None, title=f"Grids · 网格 (generation {generation.id})",
                    **options)
