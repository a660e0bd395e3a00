"""Benjamini–Hochberg false discovery rate control.

:func:`benjamini_hochberg` returns BH-adjusted p-values (q-values):
``q_(i) = min_{k >= i} (m / k) * p_(k)`` over the p-values sorted ascending,
capped at 1. A test is rejected by the BH procedure at level ``alpha`` exactly
when its q-value is ``<= alpha``, so one set of q-values serves every
confidence level (ArcGIS's "Apply False Discovery Rate (FDR) Correction" runs
the same step-up procedure at 90 %, 95 % and 99 %).

Examples
--------
>>> benjamini_hochberg([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
[0.04, 0.0533, 0.0533, 0.2]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridgeo.errors import InvalidInput

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p: ArrayLike) -> NDArray[np.float64]:
    """BH-adjusted p-values of a one-dimensional array of p-values.

    Parameters
    ----------
    p : array_like of float
        P-values in ``[0, 1]``; NaN entries are ignored (they stay NaN and do
        not count towards the number of tests).

    Returns
    -------
    numpy.ndarray of float64
        Adjusted p-values, same shape and order as ``p``.

    Raises
    ------
    InvalidInput
        If ``p`` is not one-dimensional or a value is outside ``[0, 1]``.

    Examples
    --------
    >>> benjamini_hochberg([0.001, 0.5]).tolist()
    [0.002, 0.5]
    """
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidInput(f"p-values must be one-dimensional, got shape {arr.shape}")
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    vals = arr[ok]
    if vals.size == 0:
        return out
    if vals.min() < 0 or vals.max() > 1:
        raise InvalidInput("p-values must lie in [0, 1]")
    m = vals.size
    order = np.argsort(vals, kind="stable")
    scaled = vals[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    out[ok] = q
    return out
