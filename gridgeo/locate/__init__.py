"""Which grid owns this coordinate: the in-memory locate index (DESIGN section 4).

Build a :class:`LocateIndex` from one generation's units (EPSG:4490) and call
:meth:`LocateIndex.locate` with longitude/latitude arrays; the answer is a
:class:`LocateResult` of numpy arrays in input order. The rules are in
:mod:`gridgeo.locate.rules`, the cell cache in :mod:`gridgeo.locate.cells`
and nearest-grid answers in :mod:`gridgeo.locate.nearest`.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> units = gpd.GeoDataFrame(
...     {"code": ["330109"], "parent_code": [None], "level": ["district"],
...      "kind": ["base"], "name": ["Xiaoshan"]},
...     geometry=[box(120.0, 30.0, 120.1, 30.1)], crs="EPSG:4490")
>>> LocateIndex.build(units).locate(120.05, 30.05).owner.tolist()
['330109']
"""

from gridgeo.locate.index import (
    DEFAULT_CELL_SIZE_M,
    DEFAULT_TOLERANCE_M,
    LocateIndex,
    default_tolerance_m,
)
from gridgeo.locate.result import LocateResult
from gridgeo.locate.rules import KINDS, LEVELS, pick_owners, unit_chains, unit_ranks

__all__ = [
    "DEFAULT_CELL_SIZE_M",
    "DEFAULT_TOLERANCE_M",
    "KINDS",
    "LEVELS",
    "LocateIndex",
    "LocateResult",
    "default_tolerance_m",
    "pick_owners",
    "unit_chains",
    "unit_ranks",
]
