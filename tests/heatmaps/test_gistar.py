"""Getis-Ord Gi*: agreement with esda, planted hot/cold spots, bins and validation."""

from __future__ import annotations

import warnings

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from esda import G_Local

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.gistar import gi_star, hotspots, permutation_p_values, significance_bins
from gridgeo.heatmaps.weights import Neighbours, contiguity_neighbours, h3_neighbours
from tests.heatmaps.conftest import offset_cell

try:
    import numba  # noqa: F401

    HAS_NUMBA = True
except ImportError:
    HAS_NUMBA = False


def esda_gi_star(y: np.ndarray, nb: Neighbours, **kwargs: object) -> G_Local:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, nb.to_libpysal(), transform="B", star=True, n_jobs=1, **kwargs)


def irregular_polygons(rng: np.random.Generator, n: int = 150) -> list[shapely.Geometry]:
    pts = shapely.points(rng.uniform(120.2, 120.3, n), rng.uniform(30.1, 30.2, n))
    cells = shapely.voronoi_polygons(
        shapely.multipoints(pts), extend_to=shapely.box(120.2, 30.1, 120.3, 30.2)
    )
    return [
        shapely.intersection(c, shapely.box(120.2, 30.1, 120.3, 30.2))
        for c in shapely.get_parts(cells)
    ]


def test_z_scores_equal_esda_on_h3_weights(hex_area: list[str], rng: np.random.Generator) -> None:
    nb = h3_neighbours(hex_area)
    y = rng.negative_binomial(2, 0.2, nb.n).astype(float)
    res = hotspots(y, nb, permutations=0)
    ref = esda_gi_star(y, nb, permutations=0)
    np.testing.assert_allclose(res.gi_z, ref.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.gi, ref.Gs, rtol=0, atol=1e-12)
    # gi_p is ArcGIS's two-sided p; esda's p_norm is one-sided
    np.testing.assert_allclose(res.gi_p, 2 * ref.p_norm, rtol=1e-12, atol=1e-15)


def test_z_scores_equal_esda_on_contiguity_weights_with_rates(rng: np.random.Generator) -> None:
    polys = irregular_polygons(rng)
    nb = contiguity_neighbours(polys)
    rates = rng.gamma(2.0, 3.0, nb.n)
    z = gi_star(rates, nb)[1]
    np.testing.assert_allclose(z, esda_gi_star(rates, nb, permutations=0).Zs, rtol=0, atol=1e-9)


@pytest.mark.skipif(HAS_NUMBA, reason="esda's numba path draws a different random stream")
def test_pseudo_p_values_reproduce_esda_seed_for_seed(
    hex_area: list[str], rng: np.random.Generator
) -> None:
    nb = h3_neighbours(hex_area)
    y = rng.poisson(4.0, nb.n).astype(float)
    ours = permutation_p_values(y, nb, permutations=199, seed=11)
    ref = esda_gi_star(y, nb, permutations=199, seed=11)
    np.testing.assert_array_equal(ours.astype(np.float32), np.asarray(ref.p_sim, np.float32))


def test_pseudo_p_values_depend_on_seed_only(hex_area: list[str], rng: np.random.Generator) -> None:
    nb = h3_neighbours(hex_area)
    y = rng.poisson(4.0, nb.n).astype(float)
    a = permutation_p_values(y, nb, permutations=99, seed=1)
    b = permutation_p_values(y, nb, permutations=99, seed=1)
    c = permutation_p_values(y, nb, permutations=99, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 1 / 100 and a.max() <= 0.5 + 1e-12


def test_planted_hot_and_cold_spots_get_extreme_bins(
    hex_area: list[str], rng: np.random.Generator
) -> None:
    hot_centre = offset_cell(hex_area, 6, 0)
    cold_centre = offset_cell(hex_area, -6, 2)
    hot = set(h3.grid_disk(hot_centre, 1))
    cold = set(h3.grid_disk(cold_centre, 2))
    y = pd.Series(rng.poisson(20.0, len(hex_area)).astype(float), index=hex_area)
    y[list(hot)] += rng.poisson(40.0, len(hot))
    y[list(cold)] = 0.0
    res = hotspots(y, h3_neighbours(hex_area), permutations=199, seed=3).to_frame()
    assert res.loc[hot_centre, "gi_bin"] == 3
    assert res.loc[cold_centre, "gi_bin"] == -3
    assert res.loc[hot_centre, "gi_p_sim"] <= 1 / 200
    # far from both plants nothing is significant at 99 %
    far = [
        c
        for c in hex_area
        if min(h3.grid_distance(c, hot_centre), h3.grid_distance(c, cold_centre)) > 4
    ]
    assert (res.loc[far, "gi_bin"].abs() < 3).all()
    # the hot bins sit around the plant, the cold ones around the cold area
    assert set(res.index[res["gi_bin"] == 3]) <= set(h3.grid_disk(hot_centre, 2))
    assert set(res.index[res["gi_bin"] == -3]) <= set(h3.grid_disk(cold_centre, 3))


def test_series_values_are_aligned_by_location(
    hex_area: list[str], rng: np.random.Generator
) -> None:
    nb = h3_neighbours(hex_area)
    y = pd.Series(rng.poisson(3.0, nb.n).astype(float), index=hex_area)
    shuffled = y.sample(frac=1.0, random_state=1)
    a = hotspots(y, nb, permutations=0).gi_z
    b = hotspots(shuffled, nb, permutations=0).gi_z
    np.testing.assert_array_equal(a, b)


def test_fdr_makes_bins_stricter_than_raw_p() -> None:
    z = np.array([3.2, 2.7, 2.2, 1.8, -2.0, 0.1, 0.0, -0.3, 0.4, 0.2])
    from scipy import stats

    p = 2 * stats.norm.sf(np.abs(z))
    _, raw = significance_bins(z, p, fdr=False)
    q, adjusted = significance_bins(z, p, fdr=True)
    assert raw.tolist() == [3, 3, 2, 1, -2, 0, 0, 0, 0, 0]
    assert np.all(np.abs(adjusted) <= np.abs(raw))
    assert np.all(q >= p)
    # BH by hand: p_(1) = 0.00137 -> q = 10 * p / 1 = 0.0137 (95 % bin, not 99 %)
    assert adjusted[0] == 2


def test_permutation_inference_drives_bins_with_pseudo_p(hex_area: list[str]) -> None:
    nb = h3_neighbours(hex_area)
    y = np.zeros(nb.n)
    y[hex_area.index(offset_cell(hex_area, 0, 0))] = 50.0
    res = hotspots(y, nb, permutations=99, seed=0, inference="permutation", fdr=False)
    np.testing.assert_allclose(res.gi_q, np.minimum(1.0, 2 * res.gi_p_sim))
    assert res.gi_bin.max() == 2  # 2 / 100 = 0.02 is the smallest two-sided pseudo p


def test_constant_values_give_no_hot_spots(hex_area: list[str]) -> None:
    res = hotspots(np.full(len(hex_area), 4.0), h3_neighbours(hex_area), permutations=9)
    assert np.all(res.gi_z == 0) and np.all(res.gi_bin == 0)


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([1.0, np.nan, 2.0, 3.0], {}, "not finite"),
        ([1.0, 2.0, 3.0], {}, "expected 4 values"),
        ([1.0, 2.0, 3.0, 4.0], {"permutations": -1}, "permutations"),
        (
            [1.0, 2.0, 3.0, 4.0],
            {"inference": "permutation", "permutations": 0},
            "needs permutations",
        ),
    ],
)
def test_invalid_input_is_rejected(
    values: list[float], kwargs: dict[str, object], message: str
) -> None:
    nb = Neighbours.from_lists(range(4), [[1], [0, 2], [1, 3], [2]])
    with pytest.raises(InvalidInput, match=message):
        hotspots(values, nb, **kwargs)  # type: ignore[arg-type]


def test_missing_location_in_series_is_named() -> None:
    nb = Neighbours.from_lists(["a", "b", "c"], [[1], [0, 2], [1]])
    with pytest.raises(InvalidInput, match="'c'"):
        hotspots(pd.Series({"a": 1.0, "b": 2.0}), nb)
