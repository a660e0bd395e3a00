"""Planner workflow, pure parts: read boundary files, validate, diff generations.

* :func:`read_boundaries` reads GeoJSON, GeoPackage, zipped Shapefile and
  GeoParquet in any CRS PROJ knows (or declared GCJ-02/BD-09) into the units
  table (EPSG:4490, MultiPolygons, columns of :data:`UNIT_COLUMNS`).
* :func:`validate_units` checks geometry, coverage, special grids, codes,
  sizes and compactness and returns a :class:`ValidationReport` of
  :class:`Issue` objects (JSON via ``to_dict``, text via ``to_text``).
* :func:`diff_generations` compares two generations (:class:`GenerationDiff`).

Persistence (generations, publishing) lives in :mod:`gridgeo.store`.

Examples
--------
>>> from shapely import box
>>> import geopandas as gpd
>>> units = gpd.GeoDataFrame({"code": ["330109001001001"], "name": ["一"]},
...                          geometry=[box(120.26, 30.18, 120.27, 30.19)], crs=4490)
>>> validate_units(units, official=False).ok
True
"""

from gridgeo.boundaries.diff import GenerationDiff, diff_generations
from gridgeo.boundaries.io import FORMATS, read_boundaries, to_multipolygons
from gridgeo.boundaries.mapping import ALIASES, LEVELS, UNIT_COLUMNS, map_attributes
from gridgeo.boundaries.report import RULES, Issue, ValidationReport
from gridgeo.boundaries.validate import DEFAULT_COMPACTNESS_MIN, validate_units
from gridgeo.measure import area_m2, compactness, length_m

__all__ = [
    "ALIASES",
    "DEFAULT_COMPACTNESS_MIN",
    "FORMATS",
    "LEVELS",
    "RULES",
    "UNIT_COLUMNS",
    "GenerationDiff",
    "Issue",
    "ValidationReport",
    "area_m2",
    "compactness",
    "diff_generations",
    "length_m",
    "map_attributes",
    "read_boundaries",
    "to_multipolygons",
    "validate_units",
]
