"""Mann–Kendall trend test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.mannkendall import mann_kendall


def test_hand_computed_series() -> None:
    # x = 1 3 2 5 4: pairs (i<j) signs: +,+,+,+ / -,+,+ / +,+ / - -> S = 8 - 2 = 6
    # Var = 5*4*15/18 = 16.667; z = (6 - 1) / 4.0825 = 1.2247; p = 0.2207
    r = mann_kendall([1.0, 3.0, 2.0, 5.0, 4.0])
    assert r.s.tolist() == [6]
    assert r.var_s[0] == pytest.approx(50 / 3)
    assert r.z[0] == pytest.approx(5 / np.sqrt(50 / 3))
    assert r.p[0] == pytest.approx(0.22067136, abs=1e-7)
    assert r.tau[0] == pytest.approx(0.6)


def test_tie_correction_by_hand() -> None:
    # x = 2 2 2 1: S = -3; ties: one group of 3 -> 3*2*11 = 66; Var = (4*3*13 - 66) / 18 = 5
    r = mann_kendall([2.0, 2.0, 2.0, 1.0])
    assert r.s[0] == -3
    assert r.var_s[0] == pytest.approx(5.0)
    assert r.z[0] == pytest.approx(-2 / np.sqrt(5))


def test_agrees_with_kendall_tau_against_time(rng: np.random.Generator) -> None:
    x = np.round(rng.normal(size=(40, 15)).cumsum(axis=1), 1)  # rounding makes ties
    r = mann_kendall(x)
    t = np.arange(15)
    for row, s, var_s in zip(x, r.s, r.var_s, strict=True):
        tau_b, p = stats.kendalltau(t, row, method="asymptotic")
        # scipy: same S and variance, no continuity correction
        assert 2 * stats.norm.sf(abs(s) / np.sqrt(var_s)) == pytest.approx(p, rel=1e-9)
        n0 = 15 * 14 / 2
        _, counts = np.unique(row, return_counts=True)
        n2 = (counts * (counts - 1) / 2).sum()
        assert s / np.sqrt(n0 * (n0 - n2)) == pytest.approx(tau_b, rel=1e-9)


def test_rows_are_independent_and_constant_rows_have_no_trend() -> None:
    r = mann_kendall([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [5.0, 5.0, 5.0, 5.0]])
    assert r.s.tolist() == [6, -6, 0]
    assert r.z[0] == pytest.approx(-r.z[1])
    assert r.z[2] == 0 and r.p[2] == 1


def test_rejects_nan() -> None:
    with pytest.raises(InvalidInput, match="finite"):
        mann_kendall([1.0, np.nan, 3.0])
