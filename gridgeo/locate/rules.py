"""Ownership rules: which candidate polygon owns a point (DESIGN section 4).

A point's *candidates* are the units whose closed polygon covers it. The owner
is the best-ranked candidate, where units are ranked, best first, by

1. layer: special units (``kind == "special"``) before base units, so a
   special grid that covers the point always owns it;
2. specificity: deeper level first (micro-grid, grid, community, street,
   district), so the most specific base level present owns the point; inside
   the special layer a special micro-grid likewise beats its special grid;
3. code: the lowest code (plain string order, which for the fixed-length digit
   codes is numeric order). This decides points on a shared edge or vertex of
   siblings, and points covered by several overlapping special grids.

The rank of every unit is computed once (:func:`unit_ranks`), so choosing the
owner of many points is a vectorised minimum over (point, unit) candidate
pairs (:func:`pick_owners`).

The *chain* of an owner is built from ``parent_code`` links only: the owner's
ancestors from the district down, then the owner (:func:`unit_chains`). On a
point where higher-level boundaries meet, the chain therefore follows the
owner's own parents (never a neighbouring community that also covers the
point), so chains are consistent. A special grid's chain runs through the
community it belongs to.

Examples
--------
>>> import numpy as np
>>> codes = np.array(["330109001001", "330109001001001", "330109001001801"], dtype=object)
>>> levels = np.array(["community", "grid", "grid"], dtype=object)
>>> kinds = np.array(["base", "base", "special"], dtype=object)
>>> ranks = unit_ranks(codes, levels, kinds)
>>> ranks.tolist()  # special grid first, then the base grid, then the community
[2, 1, 0]
>>> pick_owners(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 2]), ranks, 3).tolist()
[1, 2, -1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gridgeo.errors import InvalidInput

LEVELS: Final[tuple[str, ...]] = ("district", "street", "community", "grid", "microgrid")
"""Base levels from the least to the most specific."""

LEVEL_DEPTH: Final[Mapping[str, int]] = {level: depth for depth, level in enumerate(LEVELS)}
"""Depth of each level: 0 for district … 4 for micro-grid."""

KINDS: Final[tuple[str, ...]] = ("base", "special")
"""Unit kinds: base units form nested coverages, special grids an overlay."""

IntArray = NDArray[np.int64]


def unit_ranks(
    codes: NDArray[np.object_], levels: NDArray[np.object_], kinds: NDArray[np.object_]
) -> NDArray[np.int64]:
    """Rank units for ownership: 0 is the unit that wins over all others.

    Parameters
    ----------
    codes, levels, kinds : numpy.ndarray of str
        One entry per unit; levels from :data:`LEVELS`, kinds from :data:`KINDS`.

    Returns
    -------
    numpy.ndarray of int64
        ``ranks[i]`` is unit ``i``'s position in the order special before
        base, deeper level before shallower, lower code before higher.

    Examples
    --------
    >>> import numpy as np
    >>> unit_ranks(
    ...     np.array(["002", "001", "0"], dtype=object),
    ...     np.array(["grid", "grid", "community"], dtype=object),
    ...     np.array(["base", "base", "base"], dtype=object),
    ... ).tolist()
    [1, 0, 2]
    """
    n = len(codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    is_base = np.fromiter((k == "base" for k in kinds), dtype=np.int8, count=n)
    depth = np.fromiter((LEVEL_DEPTH[str(lv)] for lv in levels), dtype=np.int8, count=n)
    # Codes as fixed-width unicode so lexsort compares them as strings.
    code_keys = np.asarray([str(c) for c in codes], dtype=str)
    order = np.lexsort((code_keys, -depth, is_base))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n, dtype=np.int64)
    return ranks


def pick_owners(
    point_idx: IntArray, unit_idx: IntArray, ranks: IntArray, n_points: int
) -> NDArray[np.int64]:
    """Choose the owner of every point from its (point, unit) candidate pairs.

    Parameters
    ----------
    point_idx, unit_idx : numpy.ndarray of int
        Candidate pairs: unit ``unit_idx[j]`` covers point ``point_idx[j]``.
        Any order.
    ranks : numpy.ndarray of int
        Unit ranks from :func:`unit_ranks`.
    n_points : int
        Number of points.

    Returns
    -------
    numpy.ndarray of int64
        The winning unit index for each point, ``-1`` where a point has no
        candidate.

    Examples
    --------
    >>> import numpy as np
    >>> pick_owners(np.array([1, 1]), np.array([0, 1]), np.array([1, 0]), 2).tolist()
    [-1, 1]
    """
    owners = np.full(n_points, -1, dtype=np.int64)
    if len(point_idx) == 0:
        return owners
    point_idx = np.asarray(point_idx, dtype=np.int64)
    unit_idx = np.asarray(unit_idx, dtype=np.int64)
    pair_rank = ranks[unit_idx]
    # Sort pairs by point, then rank: the first pair of each point is its winner.
    order = np.lexsort((pair_rank, point_idx))
    sorted_points = point_idx[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_points[1:] != sorted_points[:-1]
    winners = order[first]
    owners[point_idx[winners]] = unit_idx[winners]
    return owners


def unit_chains(codes: Sequence[str], parents: Sequence[str | None]) -> list[tuple[str, ...]]:
    """Build each unit's chain of codes from the top ancestor down to itself.

    Parameters
    ----------
    codes : sequence of str
        Unit codes (unique).
    parents : sequence of str or None
        ``parent_code`` of each unit; ``None`` for a top-level unit.

    Returns
    -------
    list of tuple of str
        ``chains[i]`` is ``(district, ..., codes[i])``.

    Raises
    ------
    InvalidInput
        If a parent code is not among ``codes`` or the parent links form a cycle.

    Examples
    --------
    >>> unit_chains(["330109", "330109001", "330109001001"], [None, "330109", "330109001"])[2]
    ('330109', '330109001', '330109001001')
    """
    position = {code: i for i, code in enumerate(codes)}
    missing = sorted({p for p in parents if p is not None and p not in position})
    if missing:
        shown = ", ".join(missing[:5])
        raise InvalidInput(
            f"parent_code refers to {len(missing)} code(s) that are not units: {shown}",
            details={"missing_parent_codes": missing},
        )
    chains: list[tuple[str, ...] | None] = [None] * len(codes)
    for start in range(len(codes)):
        path: list[int] = []
        seen: set[int] = set()
        i: int | None = start
        while i is not None and chains[i] is None:
            if i in seen:
                raise InvalidInput(
                    f"parent_code links form a cycle through unit {codes[i]}",
                    details={"cycle_at": codes[i]},
                )
            seen.add(i)
            path.append(i)
            parent = parents[i]
            i = None if parent is None else position[parent]
        prefix: tuple[str, ...] = () if i is None else chains[i]  # type: ignore[assignment]
        for j in reversed(path):
            prefix = (*prefix, codes[j])
            chains[j] = prefix
    return [c for c in chains if c is not None]
