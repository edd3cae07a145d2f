import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.geometry.arrangements import max_patterns_bound


def _mask_set(masks):
    return {m.tobytes() for m in masks.T}


def test_spiral_and_figure1_counts(spiral_data, figure1_data):
    # the paper reports P = 114 for the spiral (3 points at the origin) and P = 50 for n = 25
    assert cr.sign_patterns(spiral_data[0]).n_patterns == 114
    assert cr.sign_patterns(figure1_data[0]).n_patterns == 50


@pytest.mark.parametrize("n,d", [(7, 3), (12, 3), (9, 4)])
def test_general_position_count_matches_theory(rng, n, d):
    X = rng.standard_normal((n, d))
    arr = cr.sign_patterns(X, method="exact")
    # Cover's count of regions of n central hyperplanes in general position in R^d
    assert arr.n_patterns == max_patterns_bound(n, d)
    assert arr.exact
    assert np.array_equal((X @ arr.directions) >= 0, arr.masks)


def test_sampling_finds_subset_of_exact(rng):
    X = rng.standard_normal((10, 3))
    X = np.vstack([X, X[:2], -X[2:4], np.zeros((1, 3))])  # duplicates, antipodes, a zero row
    exact = cr.sign_patterns(X, method="exact")
    sample = cr.sign_patterns(X, method="sample", n_samples=20000, seed=0)
    assert not sample.exact
    assert _mask_set(sample.masks) <= _mask_set(exact.masks)
    # a dense brute-force sample of the sphere finds nothing outside the exact set, and
    # every exact cell has a generator strictly inside it (nonzero rows never on a plane)
    U = rng.standard_normal((3, 400000))
    brute = _mask_set(np.unique((X @ U) >= 0, axis=1))
    assert brute <= _mask_set(exact.masks)
    assert len(brute) >= exact.n_patterns - 3
    nz = np.linalg.norm(X, axis=1) > 0
    assert np.all(np.abs(X[nz] @ exact.directions) > 1e-12)


def test_rank_reduction_rank2_in_higher_dimension(rng):
    Z = rng.standard_normal((15, 2))
    X = Z @ rng.standard_normal((2, 6))
    arr = cr.sign_patterns(X)
    assert arr.rank == 2 and arr.exact
    assert arr.n_patterns == cr.sign_patterns(Z).n_patterns == 30
    assert np.array_equal((X @ arr.directions) >= 0, arr.masks)


def test_masks_unique(spiral_data):
    arr = cr.sign_patterns(spiral_data[0])
    assert np.unique(arr.masks, axis=1).shape[1] == arr.n_patterns


def test_pattern_limit_error_suggests_sampling(rng):
    X = rng.standard_normal((400, 6))
    with pytest.raises(cr.PatternLimitError, match="method='sample'"):
        cr.sign_patterns(X, method="exact")
    arr = cr.sign_patterns(X, method="auto", n_samples=300, seed=1)
    assert not arr.exact and arr.method == "sample"


@pytest.mark.parametrize("bad,match", [
    (np.array([1.0, 2.0]), "2-D"),
    (np.zeros((0, 2)), "empty"),
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.zeros((3, 2)), "rank 0"),
])
def test_bad_data(bad, match):
    with pytest.raises(cr.InvalidInputError, match=match):
        cr.sign_patterns(bad)


def test_bad_method():
    with pytest.raises(cr.InvalidInputError, match="method"):
        cr.sign_patterns(np.eye(2), method="magic")
