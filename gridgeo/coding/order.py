"""Reading order of sibling polygons: north to south, then west to east.

Grid and micro-grid sequences are handed out in reading order (the order the
local standards DB11/T 2157-2023 and DB6101/T 3185-2024 prescribe). This
module states that order as an exact rule, so that the same polygons get the
same order whatever the input row order, on any machine, and so that jitter
far below survey precision does not reorder them.

The rule
--------
All quantities are in degrees of lon/lat (EPSG:4490; x = longitude,
y = latitude). ``τ`` is :data:`TIE_TOLERANCE` = 1e-6 degrees (about 0.1 m),
ten times the largest jitter the rule is designed to ignore (1e-7 degrees)
and far below survey precision.

1. **Reference point.** Each polygon is represented by the centre of its
   bounding box, ``cx = (minx + maxx) / 2`` and ``cy = (miny + maxy) / 2``.
   (Not the centroid, nor ``point_on_surface``: the bounding box centre moves
   by at most as much as the vertices move, whereas the centroid of a thin
   sliver can move hundreds of times further and ``point_on_surface`` can
   jump. That bound is what makes the jitter guarantee below provable.)
2. **Rows (banding).** Rows are peeled off from the north, one at a time,
   among the polygons not yet placed:

   a. ``t`` = the largest ``cy``; the row's *leaders* are the polygons with
      ``cy >= t - τ`` (the northernmost ones, ties within ``τ`` included);
   b. ``b`` = the smallest ``miny`` among the leaders (the bottom edge of the
      leaders' band);
   c. the row holds the leaders and every polygon whose ``cy > b + τ``, i.e.
      whose centre lies strictly inside the latitude band spanned by the
      leaders.

   The band height therefore comes from the data (a row is as tall as the
   grids that open it) and has no tuning parameter: in a regular lattice of
   cells every row is exactly one row of cells, with a margin of half a cell
   on either side.
3. **Within a row**, polygons are sorted by these keys, the first that
   differs decides:

   a. ``cx`` ascending (west first);
   b. ``cy`` descending (north first);
   c. ``maxy`` descending, then ``minx`` ascending (bounding box edges);
   d. the area centroid: its ``y`` descending, then its ``x`` ascending;
   e. the normalised geometry (:func:`shapely.normalize` after rounding
      every coordinate to 1e-6 degrees), compared as little-endian WKB bytes;
   f. the input position (only identical geometries reach this key; they
      make codes depend on row order, so :func:`gridgeo.coding.assign_codes`
      refuses them).

   Keys a–d compare *tolerantly*: within the row, the values of a key are
   sorted and split into groups wherever two consecutive values differ by
   more than ``τ``; polygons in the same group tie on that key.

Guarantees
----------
* The order depends only on the geometries, never on the input order
  (key f aside).
* Moving every vertex by at most ``δ`` moves every bounding-box value above
  by at most ``δ`` and every difference between two of them by at most
  ``2δ``. So the order is unchanged unless two such values that the rule
  compares differ, before the move, by an amount within ``2δ`` of ``τ``
  (for keys d and e: unless two polygons tie on keys a–c and their centroids
  or rounded coordinates are that close to a threshold).
* In particular, if all vertices lie on a lattice of spacing ``s`` (data
  digitised or snapped to ``s``), every value compared is a multiple of
  ``s / 2``, so the order is *provably* unchanged by any jitter
  ``δ < τ / 2`` whenever ``s / 2 > τ + 2δ`` (``s`` ≥ 3e-6 degrees, about
  0.3 m, for jitter below 1e-7 degrees), as far as keys a–c decide. Key e is
  unchanged when the lattice is a multiple of 1e-6 degrees.
* For arbitrary real coordinates no rule can be jitter-proof everywhere (some
  configuration always sits on the edge between two orders); here the edge
  is "two representative latitudes or longitudes almost exactly ``τ``
  apart", a one-in-millions coincidence for survey data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridgeo.errors import CRSMismatch, InvalidInput

__all__ = ["TIE_TOLERANCE", "geometry_keys", "lonlat_array", "reading_order"]

TIE_TOLERANCE = 1e-6
"""Tolerance ``τ`` in degrees below which reading-order keys tie (about 0.1 m)."""

HASH_DECIMALS = 6
"""Decimals of the coordinates in the final geometry tie-break (1e-6 degrees)."""

_LONLAT_EPSG = (4490, 4326)


def lonlat_array(geoms: gpd.GeoSeries | np.ndarray | Sequence[Any]) -> np.ndarray:
    """The geometries as an object array, checked to be lon/lat.

    Parameters
    ----------
    geoms : GeoSeries or array-like of shapely geometries
        A GeoSeries with a CRS must be EPSG:4490 or EPSG:4326; coordinates
        must lie within the lon/lat range.

    Returns
    -------
    numpy.ndarray
        Object array of the geometries (a new array; the geometries are
        shared, shapely geometries being immutable).

    Raises
    ------
    CRSMismatch
        If the CRS is another one, or coordinates are outside lon/lat range.

    Examples
    --------
    >>> from shapely import box
    >>> lonlat_array([box(120.26, 30.18, 120.27, 30.19)]).shape
    (1,)
    """
    if isinstance(geoms, gpd.GeoSeries | gpd.GeoDataFrame):
        crs = geoms.crs
        if crs is not None and crs.to_epsg() not in _LONLAT_EPSG:
            raise CRSMismatch(
                f"geometries are in {crs.name} (EPSG:{crs.to_epsg()}); codes are assigned in "
                "lon/lat EPSG:4490 (or EPSG:4326): reproject first with to_crs(4490)"
            )
        values = geoms.geometry.values if isinstance(geoms, gpd.GeoDataFrame) else geoms.values
        arr = np.asarray(values, dtype=object)
    else:
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = list(geoms)
    arr = arr.copy()
    present = arr[~shapely.is_missing(arr)]
    if present.size:
        xmin, ymin, xmax, ymax = shapely.total_bounds(present)
        if np.isfinite(xmin) and (
            max(abs(xmin), abs(xmax)) > 180 or max(abs(ymin), abs(ymax)) > 90
        ):
            raise CRSMismatch(
                "coordinates are outside the lon/lat range "
                f"(x {xmin:.0f}..{xmax:.0f}, y {ymin:.0f}..{ymax:.0f}): the geometries look "
                "projected; codes are assigned in lon/lat EPSG:4490"
            )
    return arr


def _check_polygons(arr: np.ndarray) -> None:
    bad = shapely.is_missing(arr) | shapely.is_empty(arr)
    bad |= ~np.isin(shapely.get_type_id(arr), [3, 6])  # Polygon, MultiPolygon
    if bad.any():
        pos = np.flatnonzero(bad)
        raise InvalidInput(
            "reading order needs non-empty polygons; "
            f"positions {pos[:10].tolist()} are missing, empty or not polygons",
            {"positions": pos.tolist()},
        )


def _tolerant_ranks(values: np.ndarray, tol: float) -> np.ndarray:
    """Rank of each value's group, groups split where sorted neighbours differ by more than tol."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    breaks = np.diff(values[order]) > tol
    groups = np.concatenate([[0], np.cumsum(breaks)])
    ranks = np.empty(values.size, dtype=np.int64)
    ranks[order] = groups
    return ranks


def geometry_keys(geoms: np.ndarray) -> np.ndarray:
    """Rank of each geometry's normalised, rounded WKB (key e of the rule).

    Equal ranks mean the geometries are identical after rounding to
    :data:`HASH_DECIMALS` decimals and normalising.

    Examples
    --------
    >>> from shapely import box, Polygon
    >>> a = box(0, 0, 1, 1)
    >>> b = Polygon([(1, 1), (0, 1), (0, 0), (1, 0)])  # same square, other start and direction
    >>> keys = geometry_keys(np.array([a, b, box(0, 0, 2, 1)], dtype=object))
    >>> bool(keys[0] == keys[1]), bool(keys[0] == keys[2])
    (True, False)
    """
    rounded = shapely.transform(geoms, lambda c: np.round(c, HASH_DECIMALS))
    wkb = shapely.to_wkb(shapely.normalize(rounded), output_dimension=2, byte_order=1)
    _, inverse = np.unique(np.asarray(wkb, dtype=object), return_inverse=True)
    return np.asarray(inverse, dtype=np.int64).reshape(-1)


def _rows(miny: np.ndarray, cy: np.ndarray, tol: float) -> np.ndarray:
    row = np.full(cy.size, -1, dtype=np.int64)
    remaining = np.arange(cy.size)
    k = 0
    while remaining.size:
        cy_r = cy[remaining]
        leaders = cy_r >= cy_r.max() - tol
        bottom = miny[remaining][leaders].min()
        members = leaders | (cy_r > bottom + tol)
        row[remaining[members]] = k
        remaining = remaining[~members]
        k += 1
    return row


def reading_order(
    geoms: gpd.GeoSeries | np.ndarray | Sequence[Any], *, tolerance: float = TIE_TOLERANCE
) -> np.ndarray:
    """Positions of the polygons in reading order (north to south, then west to east).

    The exact rule and its guarantees are in the module docstring
    (:mod:`gridgeo.coding.order`).

    Parameters
    ----------
    geoms : GeoSeries or array-like of shapely (Multi)Polygons
        Sibling polygons in lon/lat (EPSG:4490 or 4326).
    tolerance : float, default :data:`TIE_TOLERANCE`
        ``τ`` in degrees.

    Returns
    -------
    numpy.ndarray of int
        A permutation: ``geoms[order[0]]`` comes first.

    Raises
    ------
    InvalidInput
        If a geometry is missing, empty or not a polygon.
    CRSMismatch
        If the geometries are not lon/lat.

    Examples
    --------
    Two rows of two cells; the north row first, each row west to east:

    >>> from shapely import box
    >>> cells = [box(0.01, 0, 0.02, 0.01), box(0, 0.01, 0.01, 0.02),
    ...          box(0, 0, 0.01, 0.01), box(0.01, 0.01, 0.02, 0.02)]
    >>> reading_order(cells).tolist()
    [1, 3, 2, 0]
    """
    arr = lonlat_array(geoms)
    _check_polygons(arr)
    n = arr.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    minx, miny, maxx, maxy = shapely.bounds(arr).T
    cx = (minx + maxx) / 2
    cy = (miny + maxy) / 2
    row = _rows(miny, cy, tolerance)
    centroid = shapely.centroid(arr)
    gx, gy = shapely.get_x(centroid), shapely.get_y(centroid)

    # Tolerant ranks of keys a-d, computed within each row.
    values = [cx, -cy, -maxy, minx, -gy, gx]
    ranks = np.zeros((len(values), n), dtype=np.int64)
    for r in np.unique(row):
        members = np.flatnonzero(row == r)
        for j, v in enumerate(values):
            ranks[j, members] = _tolerant_ranks(v[members], tolerance)
    position = np.arange(n)
    primary = [row, *ranks]
    keys = np.vstack(primary)
    _, counts = np.unique(keys.T, axis=0, return_counts=True)
    # Key e only matters (and is only computed) when keys a-d leave a tie.
    hashed = geometry_keys(arr) if (counts > 1).any() else np.zeros(n, dtype=np.int64)
    # np.lexsort sorts by the last key first.
    return np.lexsort([position, hashed, *primary[::-1]]).astype(np.int64)
