"""Paged, bbox-filtered reads of grid units as GeoJSON features (OGC API, ``/v1/grids``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.store.units import PROPERTY_SQL, UNIT_COLUMNS

BBox = tuple[float, float, float, float]


def _where(
    generation_id: int,
    *,
    level: str | None,
    kind: str | None,
    parent: str | None,
    code: str | None,
    bbox: BBox | None,
) -> tuple[str, dict[str, Any]]:
    where = ["generation_id = :g"]
    params: dict[str, Any] = {"g": generation_id}
    for column, value in (
        ("level", level),
        ("kind", kind),
        ("parent_code", parent),
        ("code", code),
    ):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    if bbox is not None:
        where.append(
            "geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490) "
            "AND ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490))"
        )
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    return " AND ".join(where), params


def count_features(
    session: Session,
    generation_id: int,
    *,
    level: str | None = None,
    kind: str | None = None,
    parent: str | None = None,
    bbox: BBox | None = None,
) -> int:
    """Count the units matching the filters (the ``numberMatched`` of a page).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    generation_id : int
    level, kind, parent : str, optional
        Filters on the unit's level, kind and parent code.
    bbox : tuple of float, optional
        Lon/lat ``(xmin, ymin, xmax, ymax)``; units intersecting it.

    Returns
    -------
    int
    """
    where, params = _where(
        generation_id, level=level, kind=kind, parent=parent, code=None, bbox=bbox
    )
    return int(
        session.execute(text(f"SELECT count(*) FROM grid_units WHERE {where}"), params).scalar_one()
    )


def feature_page(
    session: Session,
    generation_id: int,
    *,
    level: str | None = None,
    kind: str | None = None,
    parent: str | None = None,
    code: str | None = None,
    bbox: BBox | None = None,
    limit: int | None = None,
    offset: int = 0,
    lat_lon: bool = False,
    simplify_m: float | None = None,
) -> list[dict[str, Any]]:
    """Return one page of units as GeoJSON features, ordered by code.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    generation_id : int
    level, kind, parent, code : str, optional
        Filters.
    bbox : tuple of float, optional
        Lon/lat bounds; only units intersecting them.
    limit : int, optional
        Page size; ``None`` returns every match.
    offset : int
        Matches to skip.
    lat_lon : bool
        Write coordinates latitude first (EPSG:4490/4326 axis order) instead
        of GeoJSON's longitude first.
    simplify_m : float, optional
        Topology-preserving simplification tolerance in metres (approximate).

    Returns
    -------
    list of dict
        Features with ``id`` = code and the unit's attributes as properties.
    """
    where, params = _where(
        generation_id, level=level, kind=kind, parent=parent, code=code, bbox=bbox
    )
    geom = "geom"
    if simplify_m:
        geom = "ST_SimplifyPreserveTopology(geom, :tol)"
        params["tol"] = simplify_m / 111_000
    if lat_lon:
        geom = f"ST_FlipCoordinates({geom})"
    page = " OFFSET :offset"
    params["offset"] = offset
    if limit is not None:
        page += " LIMIT :limit"
        params["limit"] = limit
    sql = (
        f"SELECT {PROPERTY_SQL}, ST_AsGeoJSON({geom}, 7) AS geojson FROM grid_units "
        f"WHERE {where} ORDER BY code{page}"
    )
    return [
        {
            "type": "Feature",
            "id": row["code"],
            "properties": {column: row[column] for column in UNIT_COLUMNS},
            "geometry": json.loads(row["geojson"]),
        }
        for row in session.execute(text(sql), params).mappings()
    ]


def extents_by_level(
    session: Session, generation_id: int
) -> dict[tuple[str, str], tuple[int, BBox]]:
    """Count and lon/lat extent of a generation's units per (level, kind).

    Returns
    -------
    dict
        ``{(level, kind): (count, (xmin, ymin, xmax, ymax))}``.
    """
    rows = session.execute(
        text(
            "SELECT level, kind, n, ST_XMin(e) AS x0, ST_YMin(e) AS y0, "
            "ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM (SELECT level, kind, count(*) AS n, "
            "ST_Extent(geom) AS e FROM grid_units WHERE generation_id = :g "
            "GROUP BY level, kind) s"
        ),
        {"g": generation_id},
    ).mappings()
    return {
        (row["level"], row["kind"]): (
            int(row["n"]),
            (float(row["x0"]), float(row["y0"]), float(row["x1"]), float(row["y1"])),
        )
        for row in rows
    }
