"""Getis-Ord Gi* hot and cold spots with ArcGIS-compatible confidence bins.

:func:`hotspots` computes, for values ``y`` at ``n`` locations and binary
neighbours (:mod:`gridgeo.heatmaps.weights`), the local statistic of Getis and
Ord with the location itself included (Gi*, ``star=True``, ``transform='B'``
in esda):

``gi_z``
    ``(Σ_j w_ij y_j − ȳ Σ_j w_ij) / (s √((n Σ_j w_ij − (Σ_j w_ij)²) / (n − 1)))``
    with ``w_ii = 1``, ``ȳ`` the mean and ``s`` the population standard
    deviation of ``y``. This is ArcGIS's Gi* z-score and equals esda's
    ``G_Local(y, w, transform='B', star=True).Zs`` (the tests check it to
    1e-9). It is computed here in vectorised numpy rather than through esda
    for speed; if ``y`` is constant every z is 0.
``gi_p``
    Two-sided p-value of ``gi_z`` under the normal approximation,
    ``2 · Φ(−|z|)`` (ArcGIS's ``GiPValue``; esda's ``p_norm`` is one-sided,
    half of it).
``gi_p_sim``
    Pseudo p-value from ``permutations`` conditional randomisations: for
    location ``i``, its value stays put while its neighbours' values are
    replaced by random draws without replacement from the other ``n − 1``
    locations. The draws, the seeding and the "directed" one-sided p-value
    ``(min(M, R − M) + 1) / (R + 1)`` (``M`` = simulated G ≥ observed, ``R``
    permutations) are exactly esda's conditional randomisation
    (``esda.crand``), so with the same seed this reproduces esda's ``p_sim``
    from its pure-numpy path (esda without numba) seed for seed: exactly for
    counts, up to float rounding in ties for non-integer values. Only the loop
    is vectorised: each permutation's neighbour sums are tabulated for every
    location at once with a cumulative sum, in chunks. Locations without
    neighbours get ``1.0`` (esda returns ``1 / (R + 1)`` for them, an
    artefact). NaN when ``permutations == 0``.
``gi_q``
    The p-value that drives the bins, Benjamini–Hochberg adjusted over all
    locations when ``fdr`` is true (:func:`gridgeo.heatmaps.fdr.benjamini_hochberg`),
    else unadjusted.
``gi_bin``
    ArcGIS's ``Gi_Bin``: ``±3`` hot/cold spot with 99 % confidence
    (``gi_q <= 0.01``), ``±2`` 95 % (``<= 0.05``), ``±1`` 90 % (``<= 0.10``),
    ``0`` not significant; the sign is the sign of ``gi_z``.

Which p-value drives the bins (``inference``)
---------------------------------------------
``"normal"`` (default, ArcGIS-compatible)
    ``gi_p``. Its resolution is unlimited, so with FDR over thousands of
    cells a strong cluster still reaches ±3.
``"permutation"``
    The two-sided pseudo p-value ``min(1, 2 · gi_p_sim)``. A pseudo p-value
    can never be below ``2 / (R + 1)`` (0.002 for 999 permutations), so after
    FDR over many locations the 99 % bin is reachable only when a large share
    of the locations is significant; use it for grids (hundreds of
    locations) rather than for fine H3 cells.

Examples
--------
>>> import numpy as np
>>> from gridgeo.heatmaps.weights import Neighbours
>>> line = Neighbours.from_pairs(np.arange(30), np.arange(29), np.arange(1, 30))
>>> y = np.zeros(30)
>>> y[10:13] = 9.0
>>> res = hotspots(y, line, permutations=99, seed=1)
>>> res.gi_bin[8:15].tolist(), int(res.gi_bin[25])
([0, 0, 3, 3, 3, 0, 0], 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.fdr import benjamini_hochberg
from gridgeo.heatmaps.weights import Neighbours

__all__ = [
    "CONFIDENCE_LEVELS",
    "HotspotResult",
    "Inference",
    "gi_star",
    "hotspots",
    "permutation_p_values",
    "permuted_ids",
    "significance_bins",
]

Inference = Literal["normal", "permutation"]

CONFIDENCE_LEVELS: Final[tuple[tuple[int, float], ...]] = ((3, 0.01), (2, 0.05), (1, 0.10))
"""``(bin, alpha)`` pairs: ``|gi_bin| = bin`` when the driving p-value is ``<= alpha``."""

_CHUNK_ELEMENTS: Final = 4_000_000
"""Upper bound on locations × permutations × neighbours gathered at once."""


@dataclass(frozen=True, eq=False)
class HotspotResult:
    """Gi* statistics per location (see the module docstring for each field).

    Attributes
    ----------
    ids : numpy.ndarray
        Location ids, in the order of the neighbours.
    value : numpy.ndarray of float64
        The analysed values (counts or rates).
    gi : numpy.ndarray of float64
        The G* statistic ``Σ_j w_ij y_j / Σ_j y_j`` (esda's ``Gs``; NaN if the
        values sum to 0).
    gi_z, gi_p, gi_p_sim, gi_q : numpy.ndarray of float64
    gi_bin : numpy.ndarray of int8
    neighbours : numpy.ndarray of int64
        Neighbour count of each location (itself not counted).
    permutations, seed : int
    inference : {"normal", "permutation"}
    fdr : bool
    """

    ids: NDArray[Any]
    value: NDArray[np.float64]
    gi: NDArray[np.float64]
    gi_z: NDArray[np.float64]
    gi_p: NDArray[np.float64]
    gi_p_sim: NDArray[np.float64]
    gi_q: NDArray[np.float64]
    gi_bin: NDArray[np.int8]
    neighbours: NDArray[np.int64]
    permutations: int
    seed: int
    inference: Inference
    fdr: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per location, indexed by ``location``.

        Columns ``value, gi, gi_z, gi_p, gi_p_sim, gi_q, gi_bin, neighbours``.
        """
        return pd.DataFrame(
            {
                "value": self.value,
                "gi": self.gi,
                "gi_z": self.gi_z,
                "gi_p": self.gi_p,
                "gi_p_sim": self.gi_p_sim,
                "gi_q": self.gi_q,
                "gi_bin": self.gi_bin,
                "neighbours": self.neighbours,
            },
            index=pd.Index(self.ids, name="location"),
        )


def hotspots(
    values: ArrayLike | pd.Series,
    neighbours: Neighbours | Any,
    *,
    permutations: int = 999,
    seed: int = 0,
    fdr: bool = True,
    inference: Inference = "normal",
) -> HotspotResult:
    """Getis-Ord Gi* hot and cold spots with ArcGIS-compatible bins.

    Parameters
    ----------
    values : array_like or pandas.Series
        One finite value per location: in the order of ``neighbours.ids``, or
        a Series indexed by those ids (reordered to match; every id needed).
        Use zeros for locations without events: Gi* needs the whole study area.
    neighbours : Neighbours or libpysal.weights.W
        Binary neighbours (self-links are ignored; Gi* includes each location).
    permutations : int, default 999
        Conditional randomisations for ``gi_p_sim`` (0 to skip them).
    seed : int, default 0
        Seed of the randomisation (esda-compatible, see the module docstring).
    fdr : bool, default True
        Benjamini–Hochberg correction of the p-value that drives the bins.
    inference : {"normal", "permutation"}, default "normal"
        Which p-value drives ``gi_q``/``gi_bin``.

    Returns
    -------
    HotspotResult

    Raises
    ------
    InvalidInput
        For non-finite values, misaligned ids, fewer than 3 locations, a
        negative number of permutations, or ``inference="permutation"``
        without permutations.

    Examples
    --------
    >>> import numpy as np
    >>> from gridgeo.heatmaps.weights import Neighbours
    >>> ring = Neighbours.from_pairs(np.arange(12), np.arange(12), (np.arange(12) + 1) % 12)
    >>> res = hotspots(np.r_[10.0, 12, 11, np.zeros(9)], ring, permutations=0, fdr=False)
    >>> res.gi_z[:4].round(2).tolist(), res.gi_bin[:4].tolist()
    ([1.84, 3.3, 1.97, 0.37], [1, 3, 2, 0])
    """
    nb = neighbours if isinstance(neighbours, Neighbours) else Neighbours.from_libpysal(neighbours)
    y = _aligned_values(values, nb)
    if permutations < 0:
        raise InvalidInput(f"permutations must be >= 0, got {permutations}")
    if inference not in ("normal", "permutation"):
        raise InvalidInput(f"inference must be 'normal' or 'permutation', got {inference!r}")
    if inference == "permutation" and permutations == 0:
        raise InvalidInput("inference='permutation' needs permutations > 0")
    gi, z = gi_star(y, nb)
    p = 2.0 * stats.norm.sf(np.abs(z))
    if permutations:
        p_sim = permutation_p_values(y, nb, permutations=permutations, seed=seed)
    else:
        p_sim = np.full(nb.n, np.nan)
    drive = p if inference == "normal" else np.minimum(1.0, 2.0 * p_sim)
    q, bins = significance_bins(z, drive, fdr=fdr)
    return HotspotResult(
        ids=nb.ids,
        value=y,
        gi=gi,
        gi_z=z,
        gi_p=p,
        gi_p_sim=p_sim,
        gi_q=q,
        gi_bin=bins,
        neighbours=nb.cardinalities,
        permutations=int(permutations),
        seed=int(seed),
        inference=inference,
        fdr=bool(fdr),
    )


def gi_star(
    y: ArrayLike, neighbours: Neighbours
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The G* statistic and its z-score for each location (binary weights, self included).

    Returns
    -------
    gi, z : numpy.ndarray of float64
        ``gi`` is NaN everywhere if the values sum to 0; ``z`` is 0 where it
        is undefined (constant values, or a location whose neighbourhood is
        the whole study area).

    Examples
    --------
    >>> from gridgeo.heatmaps.weights import Neighbours
    >>> nb = Neighbours.from_lists(range(4), [[1], [0, 2], [1, 3], [2]])
    >>> gi, z = gi_star([1.0, 2.0, 3.0, 10.0], nb)
    >>> gi.round(3).tolist(), z.round(3).tolist()
    ([0.188, 0.375, 0.938, 0.812], [-1.225, -1.697, 0.849, 1.225])
    """
    arr = np.asarray(y, dtype=np.float64)
    n = neighbours.n
    card = neighbours.cardinalities.astype(np.float64) + 1.0
    lag = arr + neighbours.to_sparse() @ arr
    total = arr.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        gi = lag / total if total != 0 else np.full(n, np.nan)
        s = np.sqrt(np.var(arr))
        den = s * np.sqrt(card * (n - card) / (n - 1))
        z = (lag - arr.mean() * card) / den
    z = np.where((den > 0) & np.isfinite(z), z, 0.0)
    return gi, z


def permuted_ids(n: int, width: int, permutations: int, seed: int) -> NDArray[np.int64]:
    """The random draws of the conditional randomisation, as esda makes them.

    Row ``r`` holds ``width`` distinct positions drawn from ``0..n-2``
    (positions among the *other* locations), from ``RandomState(seed)``:
    the same stream as esda's ``vec_permutations`` without numba.
    """
    rs = np.random.RandomState(seed)
    out = np.empty((permutations, width), dtype=np.int64)
    for r in range(permutations):
        out[r] = rs.choice(n - 1, size=width, replace=False)
    return out


def permutation_p_values(
    y: ArrayLike, neighbours: Neighbours, *, permutations: int = 999, seed: int = 0
) -> NDArray[np.float64]:
    """Esda-compatible directed pseudo p-values of Gi* by conditional randomisation.

    See the module docstring (``gi_p_sim``). Memory stays bounded by working
    on chunks of locations.

    Examples
    --------
    >>> from gridgeo.heatmaps.weights import Neighbours
    >>> nb = Neighbours.from_lists(range(5), [[1], [0, 2], [1, 3], [2, 4], [3]])
    >>> p = permutation_p_values([0.0, 0.0, 1.0, 5.0, 6.0], nb, permutations=9, seed=3)
    >>> p.tolist()
    [0.1, 0.1, 0.3, 0.2, 0.5]
    """
    arr = np.asarray(y, dtype=np.float64)
    n = neighbours.n
    if permutations < 1:
        raise InvalidInput(f"permutations must be >= 1, got {permutations}")
    card = neighbours.cardinalities
    width = int(card.max()) if n else 0
    p_sim = np.ones(n)
    if width == 0:
        return p_sim
    if width > n - 1:
        raise InvalidInput("a location has more neighbours than there are other locations")
    draws = permuted_ids(n, width, permutations, seed)
    total = arr.sum()
    scale = total if total > 0 else 1.0
    observed = (arr + neighbours.to_sparse() @ arr) / scale
    # Draw d stands for location d (d < i) or d + 1 (d >= i). With A = y[d] and
    # B = y[d + 1], the simulated neighbour sum of location i in permutation r
    # is sum_k B[r, k] + sum_{k: d_rk < i} (A - B)[r, k]: a step function of i,
    # tabulated for all i at once by a cumulative sum along i.
    after = np.append(arr[1:], 0.0)[draws]
    step = arr[draws] - after
    larger = np.zeros(n, dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // (n + 1))
    for c in np.unique(card[card > 0]):
        rows = np.flatnonzero(card == c)
        for lo in range(0, permutations, chunk):
            hi = min(permutations, lo + chunk)
            table = np.zeros((n + 1, hi - lo))
            cols = np.broadcast_to(np.arange(hi - lo)[:, None], (hi - lo, c))
            np.add.at(table, (draws[lo:hi, :c] + 1, cols), step[lo:hi, :c])
            np.cumsum(table, axis=0, out=table)
            sims = table[rows] + after[lo:hi, :c].sum(axis=1)[None, :]
            sims += arr[rows][:, None]
            sims /= scale
            larger[rows] += (sims >= observed[rows][:, None]).sum(axis=1)
    has = card > 0
    folded = np.minimum(larger, permutations - larger)
    p_sim[has] = (folded[has] + 1.0) / (permutations + 1.0)
    return p_sim


def significance_bins(
    z: ArrayLike, p: ArrayLike, *, fdr: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """ArcGIS ``Gi_Bin`` values from z-scores and two-sided p-values.

    Returns
    -------
    q : numpy.ndarray of float64
        ``p`` after Benjamini–Hochberg adjustment when ``fdr`` (else ``p``).
    bins : numpy.ndarray of int8
        ``sign(z) * 3/2/1`` at ``q <= 0.01/0.05/0.10``, else 0.

    Examples
    --------
    >>> q, b = significance_bins([3.0, -2.0, 1.7, 0.5], [0.0027, 0.0455, 0.0891, 0.617], fdr=False)
    >>> b.tolist()
    [3, -2, 1, 0]
    """
    z_arr = np.asarray(z, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    if z_arr.shape != p_arr.shape:
        raise InvalidInput("z and p differ in shape")
    q = benjamini_hochberg(p_arr) if fdr else p_arr.copy()
    level = np.zeros(q.shape, dtype=np.int8)
    for bin_value, alpha in sorted(CONFIDENCE_LEVELS, key=lambda t: t[0]):
        level[q <= alpha] = bin_value
    bins = (level * np.sign(z_arr)).astype(np.int8)
    return q, bins


def _aligned_values(values: ArrayLike | pd.Series, nb: Neighbours) -> NDArray[np.float64]:
    if nb.n < 3:
        raise InvalidInput(f"Gi* needs at least 3 locations, got {nb.n}")
    if isinstance(values, pd.Series):
        if values.index.has_duplicates:
            raise InvalidInput("the values' index repeats a location")
        missing = pd.Index(nb.ids).difference(values.index)
        if len(missing):
            raise InvalidInput(
                f"{len(missing)} locations have no value, e.g. {missing[0]!r} "
                "(give 0 for locations without events)"
            )
        series = values.reindex(pd.Index(nb.ids))
        try:
            y = series.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInput("values must be numeric") from None
    else:
        try:
            y = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInput("values must be numeric") from None
        if y.shape != (nb.n,):
            raise InvalidInput(f"expected {nb.n} values (one per location), got shape {y.shape}")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise InvalidInput(
            f"{bad.size} values are not finite, first at location {nb.ids[bad[0]]!r}"
        )
    return y
