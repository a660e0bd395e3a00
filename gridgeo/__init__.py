"""gridgeo: geospatial grid mapping and analytics for grid-based community management.

The pure, vectorised computation lives in the subpackages (``coding``,
``boundaries``, ``crs``, ``locate``, ``heatmaps``, ``samples``); persistence
lives only in :mod:`gridgeo.store`; the command line in :mod:`gridgeo.cli`.
"""

__version__ = "0.1.0"

STORAGE_EPSG = 4490
"""Boundaries and points are stored in CGCS2000 (EPSG:4490)."""
