"""Codes of the generated grids and micro-grids (via :func:`gridgeo.coding.assign_codes`).

Grids (base and special) are coded first, per community in reading order;
micro-grids then get their grid's code as parent and are coded per grid.
Streets and communities keep their official codes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo import STORAGE_EPSG
from gridgeo.coding import assign_codes


def assign_unit_codes(units: pd.DataFrame) -> pd.DataFrame:
    """Fill ``code`` of grid and micro-grid rows (and micro-grids' ``parent_code``).

    Parameters
    ----------
    units : pandas.DataFrame
        Rows of every level with ``level``, ``kind``, ``parent_code`` (set for
        grids), ``geometry`` (EPSG:4490) and ``_grid``: for base grids their
        id, for micro-grids the id of their grid.

    Returns
    -------
    pandas.DataFrame
        A copy with codes filled in.
    """
    out = units.copy()
    grids = (out["level"] == "grid").to_numpy()
    frame = gpd.GeoDataFrame(out.loc[grids], geometry="geometry", crs=STORAGE_EPSG)
    out.loc[grids, "code"] = assign_codes(frame).to_numpy()
    base_grids = out.loc[grids & (out["kind"] == "base").to_numpy()]
    grid_code = pd.Series(base_grids["code"].to_numpy(), index=base_grids["_grid"].astype(np.int64))
    micro = (out["level"] == "microgrid").to_numpy()
    out.loc[micro, "parent_code"] = grid_code.loc[
        out.loc[micro, "_grid"].astype(np.int64)
    ].to_numpy()
    frame = gpd.GeoDataFrame(out.loc[micro], geometry="geometry", crs=STORAGE_EPSG)
    out.loc[micro, "code"] = assign_codes(frame).to_numpy()
    return out
