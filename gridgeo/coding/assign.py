"""Assign grid and micro-grid codes in reading order.

For every parent (a community for grids, a grid for micro-grids) and kind,
the children are put in reading order (:func:`gridgeo.coding.reading_order`,
whose module docstring states the exact rule) and numbered with the first
free sequences of their kind's range: base ``001``–``799``, special
``801``–``999``. A sequence is free unless parent + sequence is in
``reserved`` (retired codes, codes in use, codes of the previous generation).
Base and special children of one parent are numbered separately, each in its
own reading order.

Assignment is a pure function: nothing is "consumed". Codes shown for a draft
that is then discarded are therefore not lost; only the codes the caller
passes in ``reserved`` (for example from the code registry) are skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.coding.codes import (
    CHILD_LEVEL,
    CODED_LEVELS,
    KINDS,
    LENGTH_LEVELS,
    LEVEL_LENGTHS,
    LEVELS,
    PARENT_LEVEL,
    SEQUENCE_RANGES,
)
from gridgeo.coding.order import geometry_keys, lonlat_array, reading_order
from gridgeo.errors import Conflict, InvalidCode, InvalidInput

__all__ = ["assign_codes", "child_levels", "reserved_sequences"]


def reserved_sequences(reserved: Collection[str]) -> dict[str, set[int]]:
    """Group reserved grid and micro-grid codes by parent code.

    Parameters
    ----------
    reserved : collection of str
        Codes that must not be issued; codes of other levels and malformed
        strings cannot collide with a grid or micro-grid code and are ignored.

    Returns
    -------
    dict
        ``{parent code: set of reserved sequences}``.

    Raises
    ------
    InvalidInput
        If ``reserved`` is a plain string or holds something other than strings.

    Examples
    --------
    >>> reserved_sequences(["330109001001001", "330109001001801", "330109"])
    {'330109001001': {1, 801}}
    """
    if isinstance(reserved, str):
        raise InvalidInput("reserved must be a collection of codes, not a single string")
    out: dict[str, set[int]] = defaultdict(set)
    for code in reserved:
        if not isinstance(code, str):
            raise InvalidInput(f"reserved codes are strings, got {code!r}")
        if len(code) in (LEVEL_LENGTHS["grid"], LEVEL_LENGTHS["microgrid"]) and code.isdigit():
            out[code[:-3]].add(int(code[-3:]))
    return dict(out)


def child_levels(parents: pd.Series) -> pd.Series:
    """Level of the children of each parent code (``None`` where there is none).

    Examples
    --------
    >>> child_levels(pd.Series(["330109001001", "330109001001001", "x"])).tolist()
    ['grid', 'microgrid', None]
    """

    def child(p: object) -> str | None:
        if not isinstance(p, str) or not p.isdigit():
            return None
        level = LENGTH_LEVELS.get(len(p))
        return CHILD_LEVEL[level] if level else None

    return pd.Series([child(p) for p in parents], index=parents.index, dtype=object)


def assign_codes(
    gdf: gpd.GeoDataFrame,
    *,
    parent_col: str = "parent_code",
    kind_col: str = "kind",
    level_col: str = "level",
    reserved: Collection[str] = (),
) -> pd.Series:
    """Codes for the grids and micro-grids of a table, in reading order per parent.

    Parameters
    ----------
    gdf : GeoDataFrame
        One row per unit, polygons in lon/lat (EPSG:4490; a set CRS must be
        EPSG:4490 or 4326). Never modified.
    parent_col : str, default "parent_code"
        Parent code of each row (community code for grids, grid code for
        micro-grids). Required.
    kind_col : str, default "kind"
        ``"base"`` or ``"special"``; missing column or values mean base.
    level_col : str, default "level"
        Level of each row; only ``grid`` and ``microgrid`` rows get codes.
        Without this column every row is coded and its level is the child
        level of its parent code (12 digits: grid, 15 digits: micro-grid).
    reserved : collection of str, default ()
        Codes never to issue (retired codes, codes in use elsewhere). Their
        sequences are skipped.

    Returns
    -------
    pandas.Series
        Code of each row (strings), aligned with ``gdf.index``; missing for
        rows of other levels.

    Raises
    ------
    InvalidInput
        Missing parent column, unknown level or kind, a parent code of the
        wrong level, a missing/empty/non-polygon geometry, two siblings with
        identical geometry, or more siblings than a kind's range holds.
    Conflict
        If the reserved codes leave too few free sequences under a parent.
    CRSMismatch
        If the geometries are not lon/lat.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> gdf = gpd.GeoDataFrame(
    ...     {"parent_code": ["330109001001"] * 3, "kind": ["base", "base", "special"]},
    ...     geometry=[box(120.26, 30.18, 120.27, 30.19), box(120.25, 30.18, 120.26, 30.19),
    ...               box(120.25, 30.18, 120.26, 30.185)],
    ...     crs=4490,
    ... )
    >>> assign_codes(gdf, reserved={"330109001001001"}).tolist()
    ['330109001001003', '330109001001002', '330109001001801']
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InvalidInput(f"assign_codes needs a GeoDataFrame, got {type(gdf).__name__}")
    if parent_col not in gdf.columns:
        raise InvalidInput(f"assign_codes needs a {parent_col!r} column with parent codes")
    geoms = lonlat_array(gdf)
    index = gdf.index
    parents = gdf[parent_col].astype(object)
    inferred = child_levels(parents)
    if level_col in gdf.columns:
        levels = gdf[level_col].astype(object)
        unknown = levels.notna() & ~levels.isin(LEVELS)
        if unknown.any():
            rows = index[unknown.to_numpy()][:5].tolist()
            raise InvalidInput(
                f"unknown level in rows {rows}: {sorted(set(levels[unknown].astype(str)))}; "
                f"expected one of {', '.join(LEVELS)}"
            )
        coded = levels.isin(CODED_LEVELS).to_numpy()
    else:
        levels = inferred
        coded = np.ones(len(gdf), dtype=bool)
    wrong_parent = coded & (inferred.to_numpy() != levels.to_numpy())
    if wrong_parent.any():
        pos = int(np.flatnonzero(wrong_parent)[0])
        level = levels.iloc[pos]
        expected = PARENT_LEVEL.get(level) if isinstance(level, str) else None
        raise InvalidCode(
            f"row {index[pos]!r}: parent code {parents.iloc[pos]!r} is not a "
            f"{expected or 'community or grid'} code "
            f"({LEVEL_LENGTHS[expected] if expected else '12 or 15'} digits) as a "
            f"{level or 'grid or micro-grid'}'s parent must be",
            {"row": index[pos], "rule": "prefix"},
        )
    if kind_col in gdf.columns:
        kinds = gdf[kind_col].astype(object).where(gdf[kind_col].notna(), "base")
        bad_kind = coded & ~kinds.isin(KINDS).to_numpy()
        if bad_kind.any():
            pos = int(np.flatnonzero(bad_kind)[0])
            raise InvalidInput(
                f"row {index[pos]!r}: unknown kind {kinds.iloc[pos]!r}; expected 'base' or "
                "'special'"
            )
    else:
        kinds = pd.Series("base", index=index, dtype=object)

    bad_geom = coded & (
        shapely.is_missing(geoms)
        | shapely.is_empty(geoms)
        | ~np.isin(shapely.get_type_id(geoms), [3, 6])
    )
    if bad_geom.any():
        rows = index[bad_geom][:5].tolist()
        raise InvalidInput(f"rows {rows}: geometries must be non-empty polygons to get a code")

    taken = reserved_sequences(reserved)
    out = np.full(len(gdf), None, dtype=object)
    positions = np.flatnonzero(coded)
    groups = pd.DataFrame(
        {"parent": parents.to_numpy()[positions], "kind": kinds.to_numpy()[positions]},
        index=positions,
    ).groupby(["parent", "kind"], sort=True)
    for (parent, kind), members in groups:
        pos = members.index.to_numpy()
        sub = geoms[pos]
        _check_distinct(sub, index[pos])
        order = pos[reading_order(sub)]
        sequences = _free_sequences(str(parent), str(kind), len(order), taken.get(str(parent)))
        out[order] = [f"{parent}{s:03d}" for s in sequences]
    return pd.Series(list(out), index=index, name="code")


def _check_distinct(geoms: np.ndarray, labels: pd.Index) -> None:
    keys = geometry_keys(geoms)
    uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup_key = uniq[counts > 1][0]
        rows = labels[keys == dup_key].tolist()
        raise InvalidInput(
            f"rows {rows} have identical geometries under one parent; their codes would "
            "depend on row order"
        )


def _free_sequences(parent: str, kind: str, count: int, taken: set[int] | None) -> list[int]:
    lo, hi = SEQUENCE_RANGES[kind]
    capacity = hi - lo + 1
    if count > capacity:
        raise InvalidInput(
            f"parent {parent} has {count} {kind} children; the {kind} range "
            f"{lo:03d}–{hi:03d} holds at most {capacity}"
        )
    taken = taken or set()
    free = [s for s in range(lo, hi + 1) if s not in taken]
    if len(free) < count:
        raise Conflict(
            f"parent {parent} needs {count} {kind} codes but only {len(free)} of "
            f"{lo:03d}–{hi:03d} are not reserved (retired or in use)"
        )
    return free[:count]
