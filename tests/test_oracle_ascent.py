"""oracle_ascent: the per-iteration heuristic for ω(Z) = max_{‖u‖=1} ‖Zᵀ(X u)_+‖.

Reference: for data of rank 2 the maximum over the unit circle by brute force on a dense
grid refined around its best point. The ascent's values must be attained (recomputed here
from its directions), never above the maximum, and find it from the standard starts.
"""

import numpy as np
import pytest

from cvxrelu.geometry.oracle import DualOracle
from cvxrelu.geometry.oracle_ascent import ascent_starts, projected_ascent


def _omega(X, Z, U):
    return np.linalg.norm(Z.T @ np.maximum(X @ U, 0), axis=0)


def _brute_force_rank2(X, Z):
    t = np.linspace(0, 2 * np.pi, 400_001)
    U = np.stack([np.cos(t), np.sin(t)])
    v = _omega(X, Z, U)
    i = int(np.argmax(v))
    tt = np.linspace(t[i] - 2e-5, t[i] + 2e-5, 20_001)      # refine around the best point
    return max(v[i], _omega(X, Z, np.stack([np.cos(tt), np.sin(tt)])).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ascent_finds_the_rank2_maximum(seed):
    rng = np.random.default_rng(seed)
    X, Z = rng.standard_normal((25, 2)), rng.standard_normal((25, 3))
    U0 = ascent_starts(X, Z, rng)
    np.testing.assert_allclose(np.linalg.norm(U0, axis=0), 1.0, rtol=1e-12)
    vals, U = projected_ascent(X, Z, U0)
    np.testing.assert_allclose(vals, _omega(X, Z, U), rtol=1e-10)   # attained
    ref = _brute_force_rank2(X, Z)
    assert vals.max() <= ref * (1 + 1e-9)
    assert vals.max() == pytest.approx(ref, rel=1e-7)


def test_ascent_never_decreases_a_start(rng):
    X, Z = rng.standard_normal((30, 4)), rng.standard_normal((30, 2))
    U0 = ascent_starts(X, Z, rng, n_random=16)
    vals, _ = projected_ascent(X, Z, U0)
    assert np.all(vals >= _omega(X, Z, U0) * (1 - 1e-12))


def test_warm_columns_are_starts(rng):
    X, Z = rng.standard_normal((10, 3)), rng.standard_normal((10, 1))
    w = np.array([[3.0], [0.0], [4.0]])
    U0 = ascent_starts(X, Z, rng, warm=w)
    np.testing.assert_allclose(U0[:, 0], w[:, 0] / 5.0, rtol=1e-15)


# basin hopping and screened starts (values attained, never below the starts, never above the
# certified ω̄ of DualOracle.bound; hopping never ends below the plain multi-start ascent)


def _f(X, Z, U):
    return np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0)


@pytest.mark.parametrize("n,r,c,seed", [(40, 5, 2, 0), (80, 8, 3, 1), (60, 12, 1, 2)])
def test_hopping_attained_monotone_and_below_certified_bound(n, r, c, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, r))
    Z = rng.standard_normal((n, c))
    U0 = ascent_starts(X, Z, np.random.default_rng(0), n_random=16, n_rows=16)
    f0 = _f(X, Z, U0)
    f_plain, _ = projected_ascent(X, Z, U0, hops=0)
    f, U = projected_ascent(X, Z, U0, hops=3, rng=1)
    assert f.shape == f0.shape and U.shape == U0.shape
    assert np.allclose(np.linalg.norm(U, axis=0), 1.0, rtol=1e-12)
    assert np.allclose(_f(X, Z, U), f, rtol=1e-10)  # attained
    assert np.all(f >= f0 * (1 - 1e-12))  # column-wise never below the start
    assert f.max() >= f_plain.max() * (1 - 1e-12)  # hopping only adds
    f2, U2 = projected_ascent(X, Z, U0, hops=3, rng=1)
    assert np.array_equal(f, f2) and np.array_equal(U, U2)  # seeded: reproducible
    if r <= 8:
        b = DualOracle(X, seed=0).bound(Z, time_limit=2.0)  # anytime: valid when stopped
        assert f.max() <= b.upper * (1 + 1e-12)


def test_screened_random_starts_are_unit_and_better_than_unscreened():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 6))
    Z = rng.standard_normal((50, 2))
    kw = dict(n_random=32, n_rows=1, n_vertices=0)
    U1 = ascent_starts(X, Z, np.random.default_rng(0), screen=1, **kw)
    U64 = ascent_starts(X, Z, np.random.default_rng(0), screen=64, **kw)
    assert U1.shape == U64.shape
    assert np.allclose(np.linalg.norm(U64, axis=0), 1.0)
    # the screened random block: the best 32 of 2048 draws beat 32 plain draws on average
    assert _f(X, Z, U64[:, -32:]).mean() > _f(X, Z, U1[:, -32:]).mean()
