"""Benjamini–Hochberg adjusted p-values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.fdr import benjamini_hochberg


def test_hand_example() -> None:
    # m = 5, sorted p: 0.005 0.011 0.02 0.04 0.30
    # m p / k:        0.025 0.0275 0.0333 0.05 0.30 -> running minimum from the right
    p = [0.04, 0.005, 0.30, 0.011, 0.02]
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, [0.05, 0.025, 0.30, 0.0275, 0.1 / 3])
    # BH at alpha = 0.03 rejects exactly the two smallest p-values
    assert (q <= 0.03).tolist() == [False, True, False, True, False]


def test_step_up_monotonicity_takes_later_minimum() -> None:
    # 0.03 * 3 / 2 = 0.045 but the larger p 0.031 gives 0.031 * 3 / 3 = 0.031
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.03, 0.031]), [0.03, 0.031, 0.031])


def test_matches_scipy(rng: np.random.Generator) -> None:
    p = np.concatenate([rng.uniform(size=500), rng.uniform(0, 1e-3, 50)])
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p), rtol=1e-12)


def test_nan_is_ignored_and_kept() -> None:
    q = benjamini_hochberg([0.01, np.nan, 0.02])
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.02])


@pytest.mark.parametrize("bad", [[0.5, 1.5], [-0.1], [[0.1, 0.2]]])
def test_rejects_invalid(bad: list[float]) -> None:
    with pytest.raises(InvalidInput):
        benjamini_hochberg(bad)
