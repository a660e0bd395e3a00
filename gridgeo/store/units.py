"""Grid units (the polygons of one generation): bulk insert, read, GeoJSON."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.boundaries.mapping import UNIT_COLUMNS as ATTRIBUTE_COLUMNS
from gridgeo.errors import InvalidInput, NotFound

UNIT_COLUMNS = ATTRIBUTE_COLUMNS
PROPERTY_SQL = (
    "code, parent_code, level, kind, name, population, households, "
    "full_time_workers, part_time_workers"
)


def _none_if_missing(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def insert_units(session: Session, generation_id: int, units: gpd.GeoDataFrame) -> int:
    """Insert a GeoDataFrame of units (EPSG:4490) into a generation.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    generation_id : int
    units : geopandas.GeoDataFrame
        Columns :data:`UNIT_COLUMNS` (missing optional ones default to null/0)
        and Polygon or MultiPolygon geometries in EPSG:4490.

    Returns
    -------
    int
        Rows inserted.

    Raises
    ------
    InvalidInput
        Wrong CRS or missing code/level columns.
    """
    if units.crs is None or units.crs.to_epsg() != 4490:
        raise InvalidInput(f"units must be in EPSG:4490, got {units.crs}")
    for column in ("code", "level"):
        if column not in units.columns:
            raise InvalidInput(f"units lack the {column!r} column")
    geoms = shapely.force_2d(units.geometry.values)
    multi = shapely.get_type_id(geoms) == 3  # Polygon → MultiPolygon
    geoms[multi] = shapely.multipolygons(geoms[multi, None])
    wkb = shapely.to_wkb(geoms, hex=True)
    rows = []
    for i, record in enumerate(units.drop(columns=units.geometry.name).to_dict("records")):
        row = {column: _none_if_missing(record.get(column)) for column in UNIT_COLUMNS}
        row["kind"] = row["kind"] or "base"
        row["name"] = row["name"] or ""
        row["full_time_workers"] = int(row["full_time_workers"] or 0)
        row["part_time_workers"] = int(row["part_time_workers"] or 0)
        for column in ("population", "households"):
            if row[column] is not None:
                row[column] = int(row[column])
        row["wkb"] = wkb[i]
        row["g"] = generation_id
        rows.append(row)
    if rows:
        session.execute(
            text(
                f"INSERT INTO grid_units (generation_id, {PROPERTY_SQL}, geom) VALUES "
                "(:g, :code, :parent_code, :level, :kind, :name, :population, :households, "
                ":full_time_workers, :part_time_workers, ST_GeomFromWKB(decode(:wkb, 'hex'), 4490))"
            ),
            rows,
        )
    return len(rows)


def read_units(
    session: Session, generation_id: int, *, level: str | None = None
) -> gpd.GeoDataFrame:
    """Read a generation's units as a GeoDataFrame (EPSG:4490).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    generation_id : int
    level : str, optional
        Only this level.

    Returns
    -------
    geopandas.GeoDataFrame
        Ordered by code.
    """
    sql = (
        f"SELECT {PROPERTY_SQL}, ST_AsBinary(geom) AS wkb FROM grid_units "
        "WHERE generation_id = :g" + (" AND level = :level" if level else "") + " ORDER BY code"
    )
    frame = pd.DataFrame(
        session.execute(text(sql), {"g": generation_id, "level": level}).mappings().all(),
        columns=[*UNIT_COLUMNS, "wkb"],
    )
    geometry = shapely.from_wkb(frame.pop("wkb").map(bytes).to_numpy()) if len(frame) else []
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4490)


def units_feature_collection(
    session: Session,
    generation_id: int,
    *,
    level: str | None = None,
    parent: str | None = None,
    code: str | None = None,
    simplify_m: float | None = None,
) -> dict[str, Any]:
    """Return units as a GeoJSON FeatureCollection (RFC 7946 lon/lat).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    generation_id : int
    level, parent, code : str, optional
        Filters.
    simplify_m : float, optional
        Topology-preserving simplification tolerance in metres (approximate).

    Returns
    -------
    dict
    """
    where = ["generation_id = :g"]
    params: dict[str, Any] = {"g": generation_id}
    for column, value in (("level", level), ("parent_code", parent), ("code", code)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    geom = "geom"
    if simplify_m:
        geom = "ST_SimplifyPreserveTopology(geom, :tol)"
        params["tol"] = simplify_m / 111_000
    sql = (
        f"SELECT {PROPERTY_SQL}, ST_AsGeoJSON({geom}, 7) AS geojson FROM grid_units "
        f"WHERE {' AND '.join(where)} ORDER BY code"
    )
    features = []
    for row in session.execute(text(sql), params).mappings():
        properties = {column: row[column] for column in UNIT_COLUMNS}
        features.append(
            {
                "type": "Feature",
                "id": row["code"],
                "properties": properties,
                "geometry": json.loads(row["geojson"]),
            }
        )
    return {"type": "FeatureCollection", "generation": str(generation_id), "features": features}


def get_unit_feature(session: Session, generation_id: int, code: str) -> dict[str, Any]:
    """Return one unit as a GeoJSON Feature.

    Raises
    ------
    NotFound
        No unit with that code in the generation.
    """
    collection = units_feature_collection(session, generation_id, code=code)
    if not collection["features"]:
        raise NotFound(f"grid {code} does not exist in generation {generation_id}")
    feature: dict[str, Any] = collection["features"][0]
    feature["generation"] = str(generation_id)
    return feature
