"""Mapbox vector tiles of a generation's units, made by PostGIS (``ST_AsMVT``).

One layer per level (``districts`` … ``microgrids``), each shown from its
minimum zoom on; features carry ``code``, ``name``, ``level`` and ``kind``.
Tiles are in the Web Mercator XYZ scheme (EPSG:3857, y from the north).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

#: (layer name, level, minimum zoom): coarse levels everywhere, fine ones when zoomed in.
TILE_LAYERS: tuple[tuple[str, str, int], ...] = (
    ("districts", "district", 0),
    ("streets", "street", 6),
    ("communities", "community", 9),
    ("grids", "grid", 11),
    ("microgrids", "microgrid", 13),
)
MAX_ZOOM = 22
EXTENT = 4096
BUFFER = 64


def tile_layers_at(z: int) -> list[tuple[str, str, int]]:
    """Return the layers drawn at zoom ``z``.

    Examples
    --------
    >>> [name for name, _, _ in tile_layers_at(10)]
    ['districts', 'streets', 'communities']
    """
    return [layer for layer in TILE_LAYERS if z >= layer[2]]


def mvt_tile(session: Session, generation_id: int, z: int, x: int, y: int) -> bytes:
    """Render tile ``z/x/y`` of a generation as Mapbox Vector Tile bytes.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    generation_id : int
    z, x, y : int
        XYZ tile address; the caller checks ``0 <= x, y < 2**z``.

    Returns
    -------
    bytes
        The tile; empty when no unit touches it.
    """
    layers = tile_layers_at(z)
    parts = []
    params: dict[str, object] = {"g": generation_id, "z": z, "x": x, "y": y}
    for i, (name, level, _) in enumerate(layers):
        params[f"level{i}"] = level
        params[f"name{i}"] = name
        parts.append(
            f"(SELECT coalesce(ST_AsMVT(q, :name{i}, {EXTENT}, 'geom'), ''::bytea) FROM ("
            "  SELECT u.code, u.name, u.level, u.kind, "
            f"  ST_AsMVTGeom(ST_Transform(u.geom, 3857), b.env, {EXTENT}, {BUFFER}, true) AS geom"
            "  FROM grid_units u, bounds b "
            f"  WHERE u.generation_id = :g AND u.level = :level{i} AND u.geom && b.env4490"
            ") q WHERE q.geom IS NOT NULL)"
        )
    if not parts:
        return b""
    sql = (
        "WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env, "
        f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4490) AS env4490) "
        "SELECT " + " || ".join(parts)
    )
    tile = session.execute(text(sql), params).scalar_one()
    return bytes(tile or b"")
