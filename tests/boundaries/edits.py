"""Planner-style edits of a units table, as a planner would make them in QGIS.

Edits are made in CGCS2000 / 3-degree Gauss–Krüger CM 120E (EPSG:4549, the
projected CRS a Hangzhou planning department draws in) and the result is
brought back to EPSG:4490; any polygon that the edit left invalid in
EPSG:4490 is cleaned there (as QGIS's "fix geometries" would), so every
geometry of the result is valid in the storage CRS.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

GK = 4549


def shared_pairs(
    units: gpd.GeoDataFrame, community: str, min_length_m: float = 50.0
) -> list[tuple[str, str]]:
    """Pairs of base grids of ``community`` sharing more than ``min_length_m`` of boundary."""
    metric = units.to_crs(GK)
    grids = metric[
        (metric["level"] == "grid")
        & (metric["kind"] == "base")
        & (metric["parent_code"] == community)
    ]
    pairs = []
    for a in grids.index:
        for b in grids.index:
            if a < b:
                shared = shapely.intersection(
                    grids.geometry[a].boundary, grids.geometry[b].boundary
                )
                if shapely.length(shared) > min_length_m:
                    pairs.append((grids.loc[a, "code"], grids.loc[b, "code"]))
    return pairs


def move_shared_boundary(
    units: gpd.GeoDataFrame, code_a: str, code_b: str, distance_m: float
) -> gpd.GeoDataFrame:
    """Move the boundary shared by grids ``code_a`` and ``code_b`` ``distance_m`` into B.

    Both polygons are adjusted (A gains the strip B loses) and so are their
    micro-grids (B's lose the strip; the micro-grid of A sharing most of the
    strip's edge gains it). Not modified: ``units``.
    """
    metric = units.to_crs(GK)
    row = {c: i for i, c in zip(metric.index, metric["code"], strict=True)}
    a, b = row[code_a], row[code_b]
    geom_a, geom_b = metric.geometry[a], metric.geometry[b]
    shared = shapely.intersection(geom_a.boundary, geom_b.boundary)
    strip = shapely.intersection(geom_b, shapely.buffer(shared, distance_m))
    out = metric.copy()
    changed = [a, b]
    out.loc[a, "geometry"] = shapely.union(geom_a, strip)
    out.loc[b, "geometry"] = shapely.difference(geom_b, strip)
    micro_b = metric.index[metric["parent_code"] == code_b]
    for i in micro_b:
        out.loc[i, "geometry"] = shapely.difference(metric.geometry[i], strip)
        changed.append(i)
    micro_a = metric.index[metric["parent_code"] == code_a]
    if len(micro_a):
        edge = shapely.buffer(strip, 0.01)
        best = max(
            micro_a,
            key=lambda i: shapely.length(shapely.intersection(metric.geometry[i].boundary, edge)),
        )
        out.loc[best, "geometry"] = shapely.union(metric.geometry[best], strip)
        changed.append(best)
    back = out.to_crs(units.crs)
    geoms = np.asarray(back.geometry.values, dtype=object)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    back["geometry"] = [
        shapely.MultiPolygon(
            [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and not p.is_empty]
        )
        if g.geom_type != "Polygon"
        else shapely.MultiPolygon([g])
        for g in geoms
    ]
    back = back.set_geometry("geometry")
    return back
