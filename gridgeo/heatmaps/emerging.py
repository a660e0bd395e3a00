"""Emerging hot spots: Gi* per time slice, Mann–Kendall trends, the 17 ArcGIS categories.

:func:`emerging_hotspots` takes a complete space-time cube of counts (every
location × every time slice, see
:func:`gridgeo.heatmaps.aggregate.count_by_slice`) and

1. runs Gi* (:func:`gridgeo.heatmaps.gistar.hotspots`) on each time slice
   separately, with the same spatial neighbours; a bin is a *significant hot
   spot* when its Gi* z is positive and its p-value (Benjamini–Hochberg
   adjusted within the slice when ``fdr``) is ``<= alpha``, a *significant
   cold spot* likewise with z negative;
2. tests each location's series of Gi* z-scores for a monotonic trend with
   Mann–Kendall (:func:`gridgeo.heatmaps.mannkendall.mann_kendall`); the trend
   is significant when its two-sided p-value is ``<= trend_alpha``;
3. classifies each location (:func:`classify_emerging`).

(ArcGIS's tool uses a space-time neighbourhood for the Gi* of each bin; here
the neighbourhood is spatial only, per slice. The categories follow ArcGIS
Pro's "How Emerging Hot Spot Analysis works".) A z-score measures a location
against the whole study area in its slice, so a stable hot spot's z can drift
when other places grow or fade, and Mann–Kendall, being rank-based, may call
such a drift a trend; analyse rates (events per 1,000 residents) rather than
counts when population drives the counts.

Categories
----------
For hot spots, with ``n`` slices and "≥ 90 %" meaning at least ``0.9 n``
significant hot slices (cold spots are the mirror image: cold for hot, a
significant *decreasing* z trend for intensifying):

==============  ====  ==========================================================
id              code  rule (first match wins, in this order)
==============  ====  ==========================================================
intensifying     3    hot in ≥ 90 % of slices including the final one; z trend
                      increasing and significant
diminishing      5    hot in ≥ 90 % including the final; z trend decreasing and
                      significant
persistent       4    hot in ≥ 90 % including the final; no significant trend
new              1    hot in the final slice only (never hot before)
consecutive      2    a single uninterrupted run of ≥ 2 hot slices ending with
                      the final one, never hot before the run, < 90 % hot
sporadic         6    hot in the final slice, hot on and off before it, < 90 %
                      hot, never a significant cold spot
oscillating      7    hot in the final slice, hot before the final run too,
                      < 90 % hot, a significant cold spot in some earlier slice
historical       8    not hot in the final slice, hot in ≥ 90 % of the slices
no_pattern       0    none of the above, hot or cold
==============  ====  ==========================================================

Ids are ``"<kind>_hot_spot"`` / ``"<kind>_cold_spot"`` (``"new_hot_spot"``,
``"historical_cold_spot"``, …) and ``"no_pattern"``; codes are negative for
cold spots (ArcGIS's ``CATEGORY`` field convention). Two ArcGIS definitions
overlap and the order above settles them: a location hot only in the final
slice but cold earlier is *new* (not oscillating), and a location whose final
slice is significant follows the rules of that final state (hot or cold) before
the *historical* rules of the other side are considered.

Examples
--------
>>> import numpy as np
>>> hot = np.array([[False] * 9 + [True], [True] * 10])
>>> cold = np.zeros_like(hot)
>>> codes = classify_emerging(hot, cold, trend_z=[2.5, 0.1], trend_p=[0.01, 0.9])
>>> [CATEGORY_IDS[c] for c in codes]
['new_hot_spot', 'persistent_hot_spot']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.gistar import Inference, hotspots
from gridgeo.heatmaps.mannkendall import mann_kendall
from gridgeo.heatmaps.weights import Neighbours

__all__ = [
    "CATEGORIES",
    "CATEGORY_IDS",
    "CATEGORY_NAMES",
    "EmergingResult",
    "classify_emerging",
    "emerging_hotspots",
]

_KINDS: Final[tuple[tuple[int, str], ...]] = (
    (1, "new"),
    (2, "consecutive"),
    (3, "intensifying"),
    (4, "persistent"),
    (5, "diminishing"),
    (6, "sporadic"),
    (7, "oscillating"),
    (8, "historical"),
)

CATEGORIES: Final[tuple[tuple[int, str, str], ...]] = (
    *((c, f"{k}_hot_spot", f"{k.capitalize()} Hot Spot") for c, k in _KINDS),
    *((-c, f"{k}_cold_spot", f"{k.capitalize()} Cold Spot") for c, k in _KINDS),
    (0, "no_pattern", "No Pattern Detected"),
)
"""The 17 categories as ``(code, id, ArcGIS display name)``, hot first, then cold, then none."""

CATEGORY_IDS: Final[dict[int, str]] = {c: i for c, i, _ in CATEGORIES}
"""Category code → stable id."""

CATEGORY_NAMES: Final[dict[int, str]] = {c: name for c, _, name in CATEGORIES}
"""Category code → ArcGIS display name."""

_HIGH_SHARE: Final = 0.9


@dataclass(frozen=True, eq=False)
class EmergingResult:
    """Emerging hot spot analysis of a space-time cube.

    Attributes
    ----------
    locations : pandas.DataFrame
        One row per location (index ``location``): ``category`` (id),
        ``category_name``, ``category_code``, ``trend_z``, ``trend_p``,
        ``trend_tau`` (Mann–Kendall on the Gi* z series), ``n_hot``,
        ``n_cold`` (significant slices), ``final_gi_z``, ``final_gi_bin``,
        ``total`` (events over all slices).
    slices : pandas.DataFrame
        One row per location × slice: ``location``, ``time_slice``,
        ``count``, ``gi_z``, ``gi_p``, ``gi_p_sim``, ``gi_q``, ``gi_bin``.
    time_slices : pandas.Index
        The slices, in time order.
    alpha, trend_alpha : float
    fdr : bool
    permutations, seed : int
    inference : {"normal", "permutation"}
    """

    locations: pd.DataFrame
    slices: pd.DataFrame
    time_slices: pd.Index
    alpha: float
    trend_alpha: float
    fdr: bool
    permutations: int
    seed: int
    inference: Inference


def emerging_hotspots(
    counts: pd.DataFrame,
    neighbours: Neighbours | Any,
    *,
    alpha: float = 0.05,
    trend_alpha: float = 0.05,
    fdr: bool = True,
    permutations: int = 0,
    seed: int = 0,
    inference: Inference = "normal",
    value: str = "count",
) -> EmergingResult:
    """Classify each location into one of the 17 emerging hot/cold spot categories.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``location``, ``time_slice`` and ``value`` (default
        ``count``). Every location of ``neighbours`` must appear; missing
        location × slice rows count as 0. At least 3 slices.
    neighbours : Neighbours or libpysal.weights.W
        Spatial neighbours of the locations.
    alpha : float, default 0.05
        Significance level of a hot/cold bin (after FDR when ``fdr``).
    trend_alpha : float, default 0.05
        Significance level of the Mann–Kendall trend.
    fdr : bool, default True
        Benjamini–Hochberg correction within each slice.
    permutations, seed, inference
        As for :func:`gridgeo.heatmaps.gistar.hotspots`; permutations are
        needed only for ``inference="permutation"`` (``gi_p_sim`` otherwise NaN).
    value : str, default "count"
        Column with the analysed values.

    Returns
    -------
    EmergingResult

    Raises
    ------
    InvalidInput
        For missing columns, unknown or missing locations, repeated
        location × slice rows, fewer than 3 slices or levels outside (0, 1).
    """
    for col in ("location", "time_slice", value):
        if col not in counts.columns:
            raise InvalidInput(f"counts have no {col!r} column")
    for name, level in (("alpha", alpha), ("trend_alpha", trend_alpha)):
        if not 0 < level < 1:
            raise InvalidInput(f"{name} must be between 0 and 1, got {level}")
    nb = neighbours if isinstance(neighbours, Neighbours) else Neighbours.from_libpysal(neighbours)
    ids = pd.Index(nb.ids)
    if counts.duplicated(["location", "time_slice"]).any():
        row = counts[counts.duplicated(["location", "time_slice"])].iloc[0]
        raise InvalidInput(
            f"location {row['location']!r} has two rows for slice {row['time_slice']}"
        )
    unknown = pd.Index(counts["location"].unique()).difference(ids)
    if len(unknown):
        raise InvalidInput(
            f"{len(unknown)} locations are not in the neighbours, e.g. {unknown[0]!r}"
        )
    missing = ids.difference(pd.Index(counts["location"].unique()))
    if len(missing):
        raise InvalidInput(f"{len(missing)} locations have no rows, e.g. {missing[0]!r}")
    try:
        vals = pd.to_numeric(counts[value])
    except (TypeError, ValueError):
        raise InvalidInput(f"{value!r} must be numeric") from None
    cube = (
        pd.DataFrame(
            {"location": counts["location"], "time_slice": counts["time_slice"], "v": vals}
        )
        .pivot(index="location", columns="time_slice", values="v")
        .reindex(ids)
        .sort_index(axis=1)
        .fillna(0.0)
    )
    slices = pd.Index(cube.columns, name="time_slice")
    if len(slices) < 3:
        raise InvalidInput(f"emerging hot spots need at least 3 time slices, got {len(slices)}")
    y = cube.to_numpy(dtype=np.float64)
    m, n = y.shape
    z = np.empty((m, n))
    p = np.empty((m, n))
    p_sim = np.empty((m, n))
    q = np.empty((m, n))
    bins = np.empty((m, n), dtype=np.int8)
    for t in range(n):
        res = hotspots(
            y[:, t], nb, permutations=permutations, seed=seed, fdr=fdr, inference=inference
        )
        z[:, t], p[:, t], p_sim[:, t], q[:, t], bins[:, t] = (
            res.gi_z,
            res.gi_p,
            res.gi_p_sim,
            res.gi_q,
            res.gi_bin,
        )
    hot = (q <= alpha) & (z > 0)
    cold = (q <= alpha) & (z < 0)
    trend = mann_kendall(z)
    codes = classify_emerging(hot, cold, trend.z, trend.p, trend_alpha=trend_alpha)
    locations = pd.DataFrame(
        {
            "category": [CATEGORY_IDS[c] for c in codes],
            "category_name": [CATEGORY_NAMES[c] for c in codes],
            "category_code": codes,
            "trend_z": trend.z,
            "trend_p": trend.p,
            "trend_tau": trend.tau,
            "n_hot": hot.sum(axis=1),
            "n_cold": cold.sum(axis=1),
            "final_gi_z": z[:, -1],
            "final_gi_bin": bins[:, -1],
            "total": y.sum(axis=1),
        },
        index=pd.Index(nb.ids, name="location"),
    )
    long = pd.DataFrame(
        {
            "location": np.repeat(nb.ids, n),
            "time_slice": np.tile(slices.to_numpy(), m),
            "count": y.ravel(),
            "gi_z": z.ravel(),
            "gi_p": p.ravel(),
            "gi_p_sim": p_sim.ravel(),
            "gi_q": q.ravel(),
            "gi_bin": bins.ravel(),
        }
    )
    return EmergingResult(
        locations=locations,
        slices=long,
        time_slices=slices,
        alpha=float(alpha),
        trend_alpha=float(trend_alpha),
        fdr=bool(fdr),
        permutations=int(permutations),
        seed=int(seed),
        inference=inference,
    )


def classify_emerging(
    hot: ArrayLike,
    cold: ArrayLike,
    trend_z: ArrayLike,
    trend_p: ArrayLike,
    *,
    trend_alpha: float = 0.05,
) -> NDArray[np.int8]:
    """Category codes from significant hot/cold slices and the z-score trend.

    Parameters
    ----------
    hot, cold : array_like of bool, shape (m, n)
        Whether each location (row) is a significant hot / cold spot in each
        time slice (columns in time order); never both at once.
    trend_z, trend_p : array_like of float, shape (m,)
        Mann–Kendall z and two-sided p of each location's Gi* z series.
    trend_alpha : float, default 0.05
        Trend significance level.

    Returns
    -------
    numpy.ndarray of int8
        Codes of :data:`CATEGORIES` (see the module docstring for the rules).

    Examples
    --------
    >>> hot = [[True, False, True, False, True], [False, False, False, True, True]]
    >>> cold = [[False, True, False, False, False], [False] * 5]
    >>> [CATEGORY_IDS[c] for c in classify_emerging(hot, cold, [0.0, 1.0], [1.0, 0.3])]
    ['oscillating_hot_spot', 'consecutive_hot_spot']
    """
    h = np.asarray(hot, dtype=bool)
    c = np.asarray(cold, dtype=bool)
    tz = np.asarray(trend_z, dtype=np.float64)
    tp = np.asarray(trend_p, dtype=np.float64)
    if h.ndim != 2 or h.shape != c.shape:
        raise InvalidInput("hot and cold must be 2-dimensional arrays of the same shape")
    if tz.shape != (h.shape[0],) or tp.shape != (h.shape[0],):
        raise InvalidInput("trend_z and trend_p need one value per location")
    if np.any(h & c):
        raise InvalidInput("a slice cannot be both a significant hot and cold spot")
    if h.shape[1] < 1:
        raise InvalidInput("no time slices")
    significant = tp <= trend_alpha
    up = significant & (tz > 0)
    down = significant & (tz < 0)
    hot_codes, hot_historical = _side(h, c, up, down)
    cold_codes, cold_historical = _side(c, h, down, up)
    out = np.where(hot_codes != 0, hot_codes, -cold_codes)
    out = np.where(out != 0, out, np.where(hot_historical, 8, np.where(cold_historical, -8, 0)))
    return out.astype(np.int8)


def _side(
    s: NDArray[np.bool_],
    other: NDArray[np.bool_],
    stronger: NDArray[np.bool_],
    weaker: NDArray[np.bool_],
) -> tuple[NDArray[np.int8], NDArray[np.bool_]]:
    """Codes 1–7 for one side (hot, or cold mirrored) and the historical flag."""
    m, n = s.shape
    count = s.sum(axis=1)
    high = count >= _HIGH_SHARE * n
    final = s[:, -1]
    # length of the run of significant slices that ends with the final slice
    breaks = ~s[:, ::-1]
    run = np.where(breaks.any(axis=1), breaks.argmax(axis=1), n)
    before = count - run
    ever_other = other.any(axis=1)
    codes = np.zeros(m, dtype=np.int8)
    rules = (
        (high & final & stronger, 3),
        (high & final & weaker, 5),
        (high & final, 4),
        (~high & final & (before == 0) & (run == 1), 1),
        (~high & final & (before == 0) & (run >= 2), 2),
        (~high & final & (before > 0) & ~ever_other, 6),
        (~high & final & (before > 0) & ever_other, 7),
    )
    done = np.zeros(m, dtype=bool)
    for mask, code in rules:
        hit = mask & ~done
        codes[hit] = code
        done |= hit
    return codes, high & ~final
