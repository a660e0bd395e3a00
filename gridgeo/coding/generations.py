"""Code stability across redraws: match a new generation against the old one.

When planners redraw grids, a grid that is "the same grid" keeps its code;
everything else gets a fresh code, and lineage records say where it came
from. :func:`match_generations` decides, :func:`recode_generation` applies.

The matching rule
-----------------
Old and new polygons are compared level by level (grids with grids,
micro-grids with micro-grids); rows of the official levels (district,
street, community) keep their official codes and are not compared. For
every pair that overlaps, with areas measured in metres on a local
equal-area projection (never in degrees):

* ``iou`` = intersection / union,
* ``share_of_old`` = intersection / old area,
* ``share_of_new`` = intersection / new area.

From these:

* the *main old* of a new polygon is the old polygon holding more than half
  of its area (at most one can); the *main new* of an old polygon is the
  new polygon holding more than half of its area;
* an old polygon is **split** when two or more new polygons have it as
  their main old (each lies mostly inside it), however unequal the pieces;
* a new polygon is a **merge** when two or more old polygons have it as
  their main new (each lies mostly inside it);
* a new polygon **keeps** the code of an old one when their IoU is at least
  ``iou_threshold`` (0.5), neither has another partner with IoU at least the
  threshold, the old one is not split, the new one is not a merge, and the
  new row has the same parent code and kind as the old code (a code encodes
  both, so a grid that moved to another community or changed kind cannot
  keep it). Both ways unambiguous, in short;
* otherwise an old polygon and a new polygon are a **replacement** (the
  same grid under a new code) when they pass the IoU test but differ in
  parent or kind, or when one is the other's main partner (the old one lies
  mostly inside the new one, or the other way round), the old one is not
  split, the new one is not a merge, and neither has another such partner.

Every other new polygon is **new**; every other old polygon is **removed**.
All old codes that are not kept are **retired** and never issued again.

Lineage relations
-----------------
Each record reads "``code`` *relation* ``related_code``":

``split_from``   ``code`` is a new piece, ``related_code`` the old code it was
                 split from (one record per piece);
``merged_into``  ``code`` is an old code, ``related_code`` the new code it was
                 merged into (one record per merged old grid);
``replaced_by``  ``code`` is an old code, ``related_code`` the new code of the
                 same grid (one record).

These are the relations of the ``code_lineage`` table.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.coding.assign import assign_codes, child_levels
from gridgeo.coding.codes import CODED_LEVELS, LEVELS, parse_code
from gridgeo.coding.order import lonlat_array
from gridgeo.errors import InvalidCode, InvalidInput
from gridgeo.measure import to_local_metric

__all__ = ["LINEAGE_RELATIONS", "MatchResult", "match_generations", "recode_generation"]

LINEAGE_RELATIONS = ("split_from", "merged_into", "replaced_by")
"""Relations of lineage records (see the module docstring for their direction)."""

MAJOR_SHARE = 0.5
"""A polygon lies "mostly inside" another when more than this share of its area does."""

_LINEAGE_COLUMNS = ["code", "related_code", "relation"]


@dataclass(frozen=True)
class MatchResult:
    """Outcome of :func:`match_generations`.

    Attributes
    ----------
    matches : pandas.DataFrame
        One row per new polygon, indexed like ``new``: ``status`` (``kept``,
        ``split``, ``merged``, ``replaced``, ``new``; missing for rows that
        are not grids or micro-grids), ``code`` (the old code it keeps, else
        missing), ``old_code`` and ``iou`` (the old polygon it overlaps with
        the largest IoU, and that IoU; missing without overlap).
    old : pandas.DataFrame
        One row per old grid or micro-grid code (the index): ``status`` (``kept``, ``split``,
        ``merged``, ``replaced``, ``removed``) and ``new_index`` (label of the
        new row that keeps it or holds most of it, else missing).
    pairs : pandas.DataFrame
        Every overlapping (new, old) pair of the same level: ``new_index``,
        ``old_code``, ``intersection_m2``, ``iou``, ``share_of_old``,
        ``share_of_new``.
    links : pandas.DataFrame
        Lineage before new codes are known: ``old_code``, ``new_index``,
        ``relation`` (one of :data:`LINEAGE_RELATIONS`).
    retired : frozenset of str
        Old codes that are not kept.
    """

    matches: pd.DataFrame
    old: pd.DataFrame
    pairs: pd.DataFrame
    links: pd.DataFrame
    retired: frozenset[str]

    def lineage(self, new_codes: Mapping[object, str] | pd.Series) -> pd.DataFrame:
        """Lineage records with the new rows' codes filled in.

        Parameters
        ----------
        new_codes : Series or mapping
            Code of each new row, by its index label.

        Returns
        -------
        pandas.DataFrame
            Columns ``code``, ``related_code``, ``relation`` (directions in the
            module docstring), sorted, without duplicates.
        """
        if self.links.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in _LINEAGE_COLUMNS})
        lookup = new_codes if isinstance(new_codes, pd.Series) else pd.Series(dict(new_codes))
        new = self.links["new_index"].map(lookup)
        if new.isna().any():
            missing = self.links.loc[new.isna(), "new_index"].tolist()[:5]
            raise InvalidInput(f"no new code given for new rows {missing}")
        old = self.links["old_code"]
        split = self.links["relation"] == "split_from"
        out = pd.DataFrame(
            {
                "code": np.where(split, new, old).astype(object),
                "related_code": np.where(split, old, new).astype(object),
                "relation": self.links["relation"].to_numpy(dtype=object),
            }
        )
        return (
            out.drop_duplicates()
            .sort_values(["relation", "code", "related_code"])
            .reset_index(drop=True)
        )


def _new_levels(new: gpd.GeoDataFrame, parent_col: str, level_col: str) -> pd.Series:
    if level_col in new.columns:
        levels = new[level_col].astype(object)
        unknown = levels.notna() & ~levels.isin(LEVELS)
        if unknown.any():
            raise InvalidInput(
                f"unknown level in new rows {new.index[unknown.to_numpy()][:5].tolist()}"
            )
        return levels
    if parent_col in new.columns:
        return child_levels(new[parent_col])
    raise InvalidInput(f"new generation needs a {level_col!r} or a {parent_col!r} column")


def _old_parts(old: gpd.GeoDataFrame, code_col: str) -> pd.DataFrame:
    if code_col not in old.columns:
        raise InvalidInput(f"old generation needs a {code_col!r} column")
    codes = old[code_col]
    rows = []
    for label, code in codes.items():
        try:
            parts = parse_code(code)
        except InvalidCode as exc:
            raise InvalidCode(f"old row {label!r}: {exc.message}", exc.details) from exc
        rows.append((parts.code, parts.level, parts.parent, parts.kind))
    df = pd.DataFrame(rows, columns=["code", "level", "parent", "kind"], index=old.index)
    dup = df["code"].duplicated(keep=False)
    if dup.any():
        raise InvalidInput(
            f"old generation has duplicate codes: {sorted(set(df.loc[dup, 'code']))[:5]}"
        )
    return df


def _overlap_pairs(
    old_geoms: np.ndarray, new_geoms: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions of overlapping (new, old) pairs, their intersection areas and all areas (m²)."""
    both = np.concatenate([old_geoms, new_geoms])
    projected, _ = to_local_metric(both)
    invalid = ~shapely.is_valid(projected)
    if invalid.any():
        projected = projected.copy()
        projected[invalid] = shapely.make_valid(projected[invalid])
    old_m, new_m = projected[: old_geoms.size], projected[old_geoms.size :]
    tree = shapely.STRtree(old_m)
    new_pos, old_pos = tree.query(new_m, predicate="intersects")
    inter = shapely.area(shapely.intersection(new_m[new_pos], old_m[old_pos])).astype(float)
    keep = inter > 0
    return (
        new_pos[keep],
        old_pos[keep],
        inter[keep],
        shapely.area(old_m).astype(float),
        shapely.area(new_m).astype(float),
    )


def match_generations(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    iou_threshold: float = 0.5,
    code_col: str = "code",
    parent_col: str = "parent_code",
    kind_col: str = "kind",
    level_col: str = "level",
) -> MatchResult:
    """Match a new generation's polygons against the previous generation's.

    The rule (kept, split, merged, replaced, new; lineage directions) is
    stated in the module docstring (:mod:`gridgeo.coding.generations`).

    Parameters
    ----------
    old : GeoDataFrame
        Previous generation: ``code_col`` holds valid codes (the level comes
        from the code's length), polygons in lon/lat.
    new : GeoDataFrame
        New generation, polygons in lon/lat. Its level comes from
        ``level_col``, or else from the length of ``parent_col``. A code
        carries over only if the new row's ``parent_col`` and ``kind_col``
        (default base) agree with the code; without a parent column parents
        are not compared. Codes already in ``new`` are ignored.
    iou_threshold : float, default 0.5
        Minimum intersection over union for a code to carry over; in (0, 1].
    code_col, parent_col, kind_col, level_col : str
        Column names.

    Returns
    -------
    MatchResult

    Raises
    ------
    InvalidInput
        Bad threshold, missing columns, duplicate old codes, missing or
        empty geometries.
    InvalidCode
        A malformed old code.
    CRSMismatch
        If the geometries are not lon/lat.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["330109001001001"]},
    ...                        geometry=[box(120.26, 30.18, 120.27, 30.19)], crs=4490)
    >>> new = gpd.GeoDataFrame({"parent_code": ["330109001001"] * 2},
    ...                        geometry=[box(120.26, 30.18, 120.265, 30.19),
    ...                                  box(120.265, 30.18, 120.27, 30.19)], crs=4490)
    >>> result = match_generations(old, new)
    >>> result.matches["status"].tolist(), sorted(result.retired)
    (['split', 'split'], ['330109001001001'])
    """
    if not 0 < iou_threshold <= 1:
        raise InvalidInput(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    for name, frame in (("old", old), ("new", new)):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise InvalidInput(f"{name} must be a GeoDataFrame, got {type(frame).__name__}")
    old_geoms, new_geoms = lonlat_array(old), lonlat_array(new)
    for name, geoms, frame in (("old", old_geoms, old), ("new", new_geoms, new)):
        bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if bad.any():
            raise InvalidInput(
                f"{name} rows {frame.index[bad][:5].tolist()} have missing or empty geometries"
            )
    old_parts = _old_parts(old, code_col)
    new_level = _new_levels(new, parent_col, level_col).to_numpy(dtype=object)
    new_parent = new[parent_col].astype(object).to_numpy() if parent_col in new.columns else None
    if kind_col in new.columns:
        new_kind = new[kind_col].astype(object).where(new[kind_col].notna(), "base").to_numpy()
    else:
        new_kind = np.full(len(new), "base", dtype=object)
    old_level = old_parts["level"].to_numpy(dtype=object)
    old_codes = old_parts["code"].to_numpy(dtype=object)

    n_pos, o_pos, inter, old_area, new_area = _overlap_pairs(old_geoms, new_geoms)
    new_coded = np.isin(new_level, CODED_LEVELS)
    old_coded = np.isin(old_level, CODED_LEVELS)
    same_level = (new_level[n_pos] == old_level[o_pos]) & new_coded[n_pos]
    n_pos, o_pos, inter = n_pos[same_level], o_pos[same_level], inter[same_level]
    union = old_area[o_pos] + new_area[n_pos] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
        share_old = np.where(old_area[o_pos] > 0, inter / old_area[o_pos], 0.0)
        share_new = np.where(new_area[n_pos] > 0, inter / new_area[n_pos], 0.0)

    n_new, n_old = len(new), len(old)
    main_old = np.full(n_new, -1)
    major_new = share_new > MAJOR_SHARE
    main_old[n_pos[major_new]] = o_pos[major_new]
    main_new = np.full(n_old, -1)
    major_old = share_old > MAJOR_SHARE
    main_new[o_pos[major_old]] = n_pos[major_old]
    pieces = np.bincount(main_old[main_old >= 0], minlength=n_old)
    sources = np.bincount(main_new[main_new >= 0], minlength=n_new)
    is_split = pieces >= 2  # per old
    is_merge = sources >= 2  # per new

    strong = iou >= iou_threshold
    strong_per_new = np.bincount(n_pos[strong], minlength=n_new)
    strong_per_old = np.bincount(o_pos[strong], minlength=n_old)
    mutual = strong & (strong_per_new[n_pos] == 1) & (strong_per_old[o_pos] == 1)
    same_code_parent = np.ones(n_pos.size, dtype=bool)
    if new_parent is not None:
        same_code_parent = new_parent[n_pos] == old_parts["parent"].to_numpy(dtype=object)[o_pos]
    same_kind = new_kind[n_pos] == old_parts["kind"].to_numpy(dtype=object)[o_pos]
    candidate = mutual & ~is_split[o_pos] & ~is_merge[n_pos]
    kept_pair = candidate & same_code_parent & same_kind

    kept_new = np.full(n_new, -1)
    kept_new[n_pos[kept_pair]] = o_pos[kept_pair]
    kept_old = np.full(n_old, -1)
    kept_old[o_pos[kept_pair]] = n_pos[kept_pair]
    free_new, free_old = kept_new < 0, kept_old < 0

    links: list[tuple[str, object, str]] = []
    new_labels = new.index
    status_new = np.full(n_new, None, dtype=object)
    status_new[new_coded] = "new"
    status_old = np.full(n_old, "removed", dtype=object)

    # Replacements: same grid, but the code cannot carry over (or IoU too low).
    dominant = (main_old[n_pos] == o_pos) | (main_new[o_pos] == n_pos)
    replaced = (
        ((candidate & ~kept_pair) | (dominant & ~is_split[o_pos] & ~is_merge[n_pos]))
        & free_new[n_pos]
        & free_old[o_pos]
    )
    unique_new = np.bincount(n_pos[replaced], minlength=n_new) == 1
    unique_old = np.bincount(o_pos[replaced], minlength=n_old) == 1
    replaced &= unique_new[n_pos] & unique_old[o_pos]
    for n, o in zip(n_pos[replaced], o_pos[replaced], strict=True):
        links.append((old_codes[o], new_labels[n], "replaced_by"))
        status_new[n], status_old[o] = "replaced", "replaced"
    # Splits: every piece of a split old polygon.
    for n in np.flatnonzero((main_old >= 0) & free_new):
        o = main_old[n]
        if is_split[o]:
            links.append((old_codes[o], new_labels[n], "split_from"))
            status_new[n], status_old[o] = "split", "split"
    # Merges: every old polygon lying mostly in a merged new polygon.
    for o in np.flatnonzero((main_new >= 0) & free_old):
        n = main_new[o]
        if is_merge[n] and free_new[n]:
            links.append((old_codes[o], new_labels[n], "merged_into"))
            status_new[n] = "merged"
            if status_old[o] != "split":
                status_old[o] = "merged"
    status_new[~free_new] = "kept"
    status_old[~free_old] = "kept"

    # Best-IoU partner of each new polygon, for reporting.
    best_old = np.full(n_new, None, dtype=object)
    best_iou = np.full(n_new, np.nan)
    if n_pos.size:
        order = np.lexsort((-iou, n_pos))
        first = np.ones(order.size, dtype=bool)
        first[1:] = n_pos[order][1:] != n_pos[order][:-1]
        best_old[n_pos[order][first]] = old_codes[o_pos[order][first]]
        best_iou[n_pos[order][first]] = iou[order][first]

    kept_code = np.full(n_new, None, dtype=object)
    kept_code[~free_new] = old_codes[kept_new[~free_new]]
    matches = pd.DataFrame(
        {"status": status_new, "code": kept_code, "old_code": best_old, "iou": best_iou},
        index=new.index,
    )
    holder = np.where(kept_old >= 0, kept_old, main_new)
    old_table = pd.DataFrame(
        {
            "status": status_old[old_coded],
            "new_index": [new_labels[h] if h >= 0 else None for h in holder[old_coded]],
        },
        index=pd.Index(old_codes[old_coded], name="code"),
    )
    pairs = pd.DataFrame(
        {
            "new_index": new_labels[n_pos],
            "old_code": old_codes[o_pos],
            "intersection_m2": inter,
            "iou": iou,
            "share_of_old": share_old,
            "share_of_new": share_new,
        }
    )
    link_frame = pd.DataFrame(links, columns=["old_code", "new_index", "relation"])
    retired = frozenset(str(c) for c in old_codes[free_old & old_coded])
    return MatchResult(matches, old_table, pairs, link_frame, retired)


def recode_generation(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    reserved: Collection[str] = (),
    iou_threshold: float = 0.5,
    code_col: str = "code",
    parent_col: str = "parent_code",
    kind_col: str = "kind",
    level_col: str = "level",
) -> tuple[pd.Series, pd.DataFrame]:
    """Codes for a new generation: kept codes carry over, the rest are fresh.

    Kept grids (see :func:`match_generations`) keep their old code; every
    other grid and micro-grid gets a fresh code from :func:`assign_codes`, in
    reading order among the rows that need one, never one in ``reserved`` and
    never any code of ``old``.

    Micro-grids' parent codes must be final: recode the grids first, put their
    codes into the micro-grids' parent column, then recode the micro-grids.

    Parameters
    ----------
    old, new : GeoDataFrame
        Previous and new generation (as in :func:`match_generations`); ``new``
        needs ``parent_col``.
    reserved : collection of str
        Codes never to issue: every code ever retired (the code registry) and
        any other code in use.
    iou_threshold : float, default 0.5
        See :func:`match_generations`.
    code_col, parent_col, kind_col, level_col : str
        Column names.

    Returns
    -------
    (pandas.Series, pandas.DataFrame)
        The code of each new row (aligned with ``new.index``; missing for
        rows that are not grids or micro-grids) and the lineage records
        (``code``, ``related_code``, ``relation``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["330109001001001", "330109001001002"]},
    ...                        geometry=[box(120.26, 30.18, 120.27, 30.19),
    ...                                  box(120.27, 30.18, 120.28, 30.19)], crs=4490)
    >>> new = gpd.GeoDataFrame({"parent_code": ["330109001001"] * 2},
    ...                        geometry=[box(120.26, 30.18, 120.27, 30.19),
    ...                                  box(120.27, 30.18, 120.28, 30.19).buffer(0.004)],
    ...                        crs=4490)
    >>> codes, lineage = recode_generation(old, new, reserved={"330109001001003"})
    >>> codes.tolist()
    ['330109001001001', '330109001001004']
    >>> lineage.values.tolist()
    [['330109001001002', '330109001001004', 'replaced_by']]
    """
    if parent_col not in new.columns:
        raise InvalidInput(f"new generation needs a {parent_col!r} column with parent codes")
    result = match_generations(
        old,
        new,
        iou_threshold=iou_threshold,
        code_col=code_col,
        parent_col=parent_col,
        kind_col=kind_col,
        level_col=level_col,
    )
    levels = _new_levels(new, parent_col, level_col)
    coded = levels.isin(CODED_LEVELS).to_numpy()
    kept = result.matches["code"].notna().to_numpy()
    codes = pd.Series(result.matches["code"].to_numpy(dtype=object), index=new.index, name="code")
    fresh = coded & ~kept
    if fresh.any():
        taken = set(reserved) | set(old[code_col].astype(str))
        assigned = assign_codes(
            new.loc[fresh],
            parent_col=parent_col,
            kind_col=kind_col,
            level_col=level_col,
            reserved=taken,
        )
        values = codes.to_numpy(dtype=object).copy()
        values[fresh] = assigned.to_numpy(dtype=object)
        codes = pd.Series(list(values), index=new.index, name="code")
    else:
        codes = pd.Series(list(codes.to_numpy(dtype=object)), index=new.index, name="code")
    return codes, result.lineage(codes)
