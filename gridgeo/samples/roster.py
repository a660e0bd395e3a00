"""The grid-worker roster (网格员) of the sample city.

Staffing rules (DESIGN section 2):

- an urban base grid has 1–2 full-time workers (2 with probability
  :data:`TWO_WORKER_SHARE`);
- a village grid (village committee, village digits 200–399) has one
  part-time worker;
- every micro-grid has one part-time worker (its resident-group leader);
- every special grid has one part-time worker from the institution itself.

Worker ids are ``W`` + 5 digits, numbered in the order of the grid codes
(full-time before part-time within one unit). In the units table,
``full_time_workers`` and ``part_time_workers`` count the workers assigned to
the unit *or any unit inside it* (an urban grid's part-time count is its
micro-grids'; a community's counts include its special grids), so the
district row holds the size of the roster.

Examples
--------
>>> import geopandas as gpd, numpy as np
>>> from shapely import box
>>> units = gpd.GeoDataFrame(
...     {"code": ["330109001001", "330109001001001", "330109001001001001"],
...      "parent_code": ["330109001", "330109001001", "330109001001001"],
...      "level": ["community", "grid", "microgrid"], "kind": "base",
...      "full_time_workers": 0, "part_time_workers": 0},
...     geometry=[box(0, 0, 1, 1)] * 3, crs=4490)
>>> roster = generate_roster(units, np.random.default_rng(0))
>>> roster[["employment", "grid_code"]].iloc[-1].tolist()
['part_time', '330109001001001001']
>>> int(with_worker_counts(units, roster)["part_time_workers"].iloc[0])
1
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.samples.layout import is_village
from gridgeo.samples.names import person_names

ROSTER_COLUMNS = ("worker_id", "name", "employment", "grid_code")
"""Columns of the roster, in order."""

TWO_WORKER_SHARE = 0.45
"""Share of urban grids with two full-time workers."""


def generate_roster(units: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the grid-worker roster for a units table.

    Parameters
    ----------
    units : pandas.DataFrame
        The units (``code``, ``level``, ``kind`` columns).
    rng : numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ROSTER_COLUMNS`; ``employment`` is ``full_time`` or
        ``part_time``; ``grid_code`` the grid or micro-grid worked.

    Raises
    ------
    InvalidInput
        The table lacks a column.
    """
    for column in ("code", "level", "kind"):
        if column not in units.columns:
            raise InvalidInput(f"units lack the {column!r} column")
    rows = units[units["level"].isin(["grid", "microgrid"])].sort_values("code", kind="stable")
    codes = rows["code"].to_numpy(dtype=object)
    grid = (rows["level"] == "grid").to_numpy()
    base = (rows["kind"] == "base").to_numpy()
    village = np.array([is_village(c) for c in codes], dtype=bool)
    urban_grid = grid & base & ~village
    full_time = np.where(urban_grid, 1 + (rng.random(len(codes)) < TWO_WORKER_SHARE), 0)
    part_time = np.where(urban_grid, 0, 1)
    grid_code = np.concatenate([np.repeat(codes, full_time), np.repeat(codes, part_time)])
    employment = np.concatenate(
        [
            np.full(int(full_time.sum()), "full_time", dtype=object),
            np.full(int(part_time.sum()), "part_time", dtype=object),
        ]
    )
    order = np.lexsort((employment, grid_code))
    n = len(order)
    return pd.DataFrame(
        {
            "worker_id": [f"W{i:05d}" for i in range(1, n + 1)],
            "name": person_names(rng, n),
            "employment": employment[order],
            "grid_code": grid_code[order],
        },
        columns=list(ROSTER_COLUMNS),
    )


def with_worker_counts(units: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Return ``units`` with worker counts rolled up from the roster.

    Parameters
    ----------
    units : pandas.DataFrame
        Units with a ``code`` column (never modified).
    roster : pandas.DataFrame
        ``employment`` and ``grid_code`` columns.

    Returns
    -------
    pandas.DataFrame
        A copy with ``full_time_workers`` and ``part_time_workers``: workers
        whose ``grid_code`` is the unit's code or starts with it.
    """
    out = units.copy()
    codes = out["code"].astype(str)
    for employment, column in (
        ("full_time", "full_time_workers"),
        ("part_time", "part_time_workers"),
    ):
        assigned = roster.loc[roster["employment"] == employment, "grid_code"].astype(str)
        counts = pd.Series(0, index=out.index, dtype=np.int64)
        for length in sorted(codes.str.len().unique().tolist()):
            per_prefix = assigned.str[:length].value_counts()
            rows = codes.str.len() == length
            counts[rows] = codes[rows].map(per_prefix).fillna(0).astype(np.int64)
        out[column] = counts.to_numpy()
    return out
