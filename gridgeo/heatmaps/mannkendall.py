"""Mann–Kendall trend test, vectorised over many series.

For a series ``x_1 … x_n`` (equally spaced in time):

* ``S = Σ_{i<j} sign(x_j − x_i)``;
* ``Var(S) = [n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)] / 18``, the sum over groups
  of ``t`` tied values (the tie correction);
* ``z = (S − sign(S)) / √Var(S)`` (continuity correction), 0 when
  ``Var(S) = 0``;
* ``p = 2 Φ(−|z|)`` two-sided, and Kendall's ``tau = S / (n(n−1)/2)``.

This is the test ArcGIS's Emerging Hot Spot Analysis applies to each
location's Gi* z-score series. Rows are tested independently; all rows have
the same length and must be finite.

Examples
--------
>>> r = mann_kendall([1.0, 2.0, 3.0, 4.0, 5.0])
>>> int(r.s[0]), round(float(r.var_s[0]), 4), round(float(r.z[0]), 4), round(float(r.p[0]), 4)
(10, 16.6667, 2.2045, 0.0275)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from gridgeo.errors import InvalidInput

__all__ = ["MannKendallResult", "mann_kendall"]


@dataclass(frozen=True, eq=False)
class MannKendallResult:
    """Mann–Kendall statistics, one entry per series.

    Attributes
    ----------
    s : numpy.ndarray of int64
        Kendall's S.
    var_s : numpy.ndarray of float64
        Variance of S with the tie correction.
    z : numpy.ndarray of float64
        Continuity-corrected z-score (positive: increasing trend).
    p : numpy.ndarray of float64
        Two-sided p-value.
    tau : numpy.ndarray of float64
        ``S / (n(n−1)/2)``.
    """

    s: NDArray[np.int64]
    var_s: NDArray[np.float64]
    z: NDArray[np.float64]
    p: NDArray[np.float64]
    tau: NDArray[np.float64]


def mann_kendall(x: ArrayLike) -> MannKendallResult:
    """Mann–Kendall trend test of each row of ``x`` (a single series is one row).

    Parameters
    ----------
    x : array_like of float, shape (n,) or (m, n)
        Series in time order along the last axis.

    Returns
    -------
    MannKendallResult
        Arrays of length ``m`` (1 for a single series).

    Raises
    ------
    InvalidInput
        If a value is not finite or ``x`` has more than two dimensions.

    Examples
    --------
    >>> r = mann_kendall([[3.0, 3.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    >>> r.s.tolist(), r.var_s.round(3).tolist(), r.p.round(4).tolist()
    ([-5, 0], [7.667, 0.0], [0.1486, 1.0])
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InvalidInput(f"series must be 1- or 2-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInput("series values must be finite")
    m, n = arr.shape
    s = np.zeros(m, dtype=np.int64)
    for lag in range(1, n):
        s += np.sign(arr[:, lag:] - arr[:, :-lag]).astype(np.int64).sum(axis=1)
    var_s = (n * (n - 1) * (2 * n + 5) - _tie_term(arr)) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_s > 0, (s - np.sign(s)) / np.sqrt(var_s), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    pairs = n * (n - 1) / 2.0
    tau = s / pairs if pairs else np.zeros(m)
    return MannKendallResult(s=s, var_s=var_s, z=z, p=p, tau=tau)


def _tie_term(arr: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ_t t(t−1)(2t+5) over the groups of tied values of each row."""
    m, n = arr.shape
    if n == 0:
        return np.zeros(m)
    srt = np.sort(arr, axis=1)
    new_group = np.ones((m, n), dtype=bool)
    new_group[:, 1:] = srt[:, 1:] != srt[:, :-1]
    group = np.cumsum(new_group.ravel()) - 1
    t = np.bincount(group).astype(np.float64)
    row_of_group = np.repeat(np.arange(m), new_group.sum(axis=1))
    terms = np.bincount(row_of_group, weights=t * (t - 1) * (2 * t + 5), minlength=m)
    return terms.astype(np.float64)
