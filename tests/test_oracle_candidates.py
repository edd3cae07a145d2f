"""Tests of ``OracleBound.candidates`` / ``candidate_values`` (issue 13 item 2): several
distinct good directions from one certified ``DualOracle.bound`` call, each an attained value
of ‖Zᵀ(X u)_+‖ (recomputed here independently) and never above the certified ω̄."""

import numpy as np
import pytest

from cvxrelu.errors import InvalidInputError
from cvxrelu.geometry.oracle import DualOracle


def _f(X, Z, U):
    return np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0)


def _check_candidates(X, Z, b, k_max):
    U, v = b.candidates, b.candidate_values
    assert U.ndim == 2 and U.shape[0] == X.shape[1] and 1 <= U.shape[1] <= k_max
    assert v.shape == (U.shape[1],)
    assert np.allclose(np.linalg.norm(U, axis=0), 1.0, rtol=1e-12)
    assert np.allclose(_f(X, Z, U), v, rtol=1e-10)  # attained, recomputed independently
    assert np.all(np.diff(v) <= 1e-12 * v[0])  # sorted, descending
    assert np.all(v <= b.upper * (1 + 1e-12))  # below the certified bound
    assert np.isclose(v[0], b.lower, rtol=1e-9)  # the best one is the incumbent's value
    G = U.T @ U
    np.fill_diagonal(G, 0.0)
    assert np.all(G < 1 - 1e-9)  # pairwise distinct directions


@pytest.mark.parametrize("n,r,c,seed", [(24, 4, 1, 0), (30, 4, 3, 1), (30, 5, 2, 2)])
def test_bound_candidates_distinct_sorted_attained(n, r, c, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, r))
    Z = rng.standard_normal((n, c))
    b = DualOracle(X, seed=0).bound(Z, n_candidates=8)
    _check_candidates(X, Z, b, 8)
    assert b.candidates.shape[1] >= 2  # random data has several local maxima
    b1 = DualOracle(X, seed=0).bound(Z, n_candidates=1)
    assert b1.candidates.shape[1] == 1


def test_bound_candidates_rank2_and_embedded():
    rng = np.random.default_rng(3)
    X2 = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 5))  # rank 2 in R^5
    Z = rng.standard_normal((40, 3))
    b = DualOracle(X2, seed=0).bound(Z, n_candidates=5)
    _check_candidates(X2, Z, b, 5)
    # rank 4 embedded in R^6: candidates live in the original space
    X = rng.standard_normal((25, 4)) @ rng.standard_normal((4, 6))
    Z = rng.standard_normal((25, 2))
    b = DualOracle(X, seed=0).bound(Z, n_candidates=6)
    _check_candidates(X, Z, b, 6)


def test_bound_candidates_find_every_planted_neuron():
    """Z = (X u)_+ e₁ᵀ + 0.9 (−X u)_+ e₂ᵀ: f has a local maximum near u and another near −u
    (disjoint supports: the two terms do not interfere). The candidates contain both (the
    driver adds each violated one as a cut), not only the best."""
    rng = np.random.default_rng(4)
    n, r = 60, 5
    X = rng.standard_normal((n, r))
    u = rng.standard_normal(r)
    u /= np.linalg.norm(u)
    Z = np.column_stack([np.maximum(X @ u, 0.0), 0.9 * np.maximum(-X @ u, 0.0),
                         np.zeros(n)])
    b = DualOracle(X, seed=0).bound(Z, n_candidates=16)
    _check_candidates(X, Z, b, 16)
    cos = u @ b.candidates
    assert abs(cos[0]) > 0.95  # the best is near u or −u
    assert cos.max() > 0.95 and cos.min() < -0.95  # and the other local maximum is there


def test_bound_candidates_input_errors():
    X = np.random.default_rng(0).standard_normal((10, 4))
    Z = np.ones((10, 1))
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(InvalidInputError, match="n_candidates"):
            DualOracle(X).bound(Z, n_candidates=bad)
