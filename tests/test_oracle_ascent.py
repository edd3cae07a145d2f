"""oracle_ascent: the per-iteration heuristic for ω(Z) = max_{‖u‖=1} ‖Zᵀ(X u)_+‖.

Reference: for data of rank 2 the maximum over the unit circle by brute force on a dense
grid refined around its best point. The ascent's values must be attained (recomputed here
from its directions), never above the maximum, and find it from the standard starts.
"""

import numpy as np
import pytest

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
