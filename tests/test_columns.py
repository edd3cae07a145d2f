"""cvxrelu.drivers.columns: the collected columns of column generation (App. A.5).

What tests/test_engine.py does not already check: the cache/row-chunk switch through the
module constant FEATURE_CACHE_FLOATS (with the data really split into row chunks), initial
weights given to ``add`` (a warm network's second layer), features that vanish on the data,
the ages of ``screen``, the network in the original space of rank-deficient data, and
PatchFeatures without a cache. References are independent: brute-force features
(X u)_+ and Σ_k (X_k u)_+ built here with NumPy, the group lasso over those features solved
by CVXPY, closed forms of the objective (5), and the network's own ``objective``.
"""

import cvxpy as cp
import numpy as np
import pytest

import cvxrelu.drivers.columns as columns
from cvxrelu.drivers.columns import Columns, DenseFeatures, PatchFeatures
from cvxrelu.drivers.conv_cutting_plane import _PatchData
from cvxrelu.geometry.oracle import DualOracle
from cvxrelu.geometry.patches import patches


def _units(rng, r, k):
    U = rng.standard_normal((r, k))
    return U / np.linalg.norm(U, axis=0)


def _group_lasso_value(A, Y, beta=None, t=None):
    """min_V ½‖Y − A V‖² + β Σ_k ‖v_k‖ (or the fit under Σ_k ‖v_k‖ ≤ t) by CVXPY/Clarabel."""
    V = cp.Variable((A.shape[1], Y.shape[1]))
    fit = 0.5 * cp.sum_squares(A @ V - Y)
    group = cp.sum(cp.norm(V, 2, axis=1))
    prob = (cp.Problem(cp.Minimize(fit + beta * group)) if t is None
            else cp.Problem(cp.Minimize(fit), [group <= t]))
    prob.solve(solver="CLARABEL")
    assert prob.status == cp.OPTIMAL
    return prob.value


def test_cached_and_row_chunked_features_give_the_same_master(monkeypatch):
    """Without ``keep_features`` the features are cached while n·K ≤ the default cap
    (FEATURE_CACHE_FLOATS, FEATURE_CACHE_FACTOR·n·(r + c)); with the module constant at 0
    they are recomputed over row chunks (forced to 7 rows here, one chunk for the cached
    run). Both runs see the same adds, masters and screens and must give the same columns,
    weights, residual, cut values and upper bound, equal to the brute-force ones; the Gram
    data are the brute-force features' and the master value is CVXPY's group lasso."""
    rng = np.random.default_rng(11)
    n, r, c, beta = 45, 3, 2, 0.4
    X, Y = rng.standard_normal((n, r)), rng.standard_normal((n, c))
    batches = [_units(rng, r, k) for k in (4, 3, 5, 2)]
    cached = Columns(DenseFeatures(X), Y, beta)
    assert cached.cache_floats == min(columns.FEATURE_CACHE_FLOATS,
                                      columns.FEATURE_CACHE_FACTOR * n * (r + c))
    monkeypatch.setattr(columns, "FEATURE_CACHE_FLOATS", 0)
    chunked = Columns(DenseFeatures(X), Y, beta)
    assert chunked.cache_floats == 0
    chunk_sizes = []

    def seven_rows(width):
        for s in range(0, n, 7):
            chunk_sizes.append(min(n, s + 7) - s)
            yield slice(s, min(n, s + 7))

    chunked.features.chunks = seven_rows                   # the cached run: one chunk
    for b in batches:
        for cols in (cached, chunked):
            cols.add(b)
            cols.solve(accurate=True)
            cols.screen(cols.cut_values())
        assert cached._A is not None and chunked._A is None
        np.testing.assert_array_equal(chunked.U, cached.U)
        A = np.maximum(X @ cached.U, 0.0)                  # the reference features
        Vs = np.abs(cached.V).max(initial=1.0)
        np.testing.assert_allclose(chunked.V, cached.V, rtol=1e-8, atol=1e-8 * Vs)
        Z = Y - A @ cached.V
        for cols in (cached, chunked):
            np.testing.assert_allclose(cols.residual(), Z, rtol=1e-8,
                                       atol=1e-8 * np.abs(Y).max())
            ref = np.linalg.norm(A.T @ Z, axis=1)
            np.testing.assert_allclose(cols.cut_values(cols.residual()), ref, rtol=1e-8,
                                       atol=1e-8 * max(ref.max(initial=0.0), 1.0))
            upper = 0.5 * np.sum(Z * Z) + beta * np.sum(np.linalg.norm(cached.V, axis=1))
            assert cols.upper(cols.residual()) == pytest.approx(upper, rel=1e-10)
            np.testing.assert_allclose(cols.G, A.T @ A, rtol=1e-12,   # the Gram data
                                       atol=1e-12 * np.abs(A).max() ** 2)
            np.testing.assert_allclose(cols.B, A.T @ Y, rtol=1e-12,
                                       atol=1e-12 * np.abs(A).max())
    assert chunk_sizes and max(chunk_sizes) == 7 and sum(chunk_sizes) > n   # several chunks
    ref = _group_lasso_value(A, Y, beta=beta)     # the master is the group lasso's optimum
    assert upper == pytest.approx(ref, rel=1e-6) and upper >= ref * (1 - 1e-7)


@pytest.mark.parametrize("keep", [False, True])
def test_add_with_initial_weights_reproduces_the_warm_network(keep):
    """``add(W1, W2)``: directions normalized and the weights scaled by ‖u‖, so the columns
    predict relu(X W1) W2 exactly and ``upper`` is ½‖Y − f(X)‖² + β Σ_j ‖u_j‖‖w_j‖ (the
    objective (5) of the balanced network). A neuron whose feature vanishes on the data
    (X u ≤ 0 on every row) and a zero neuron are not added, without shifting the weights of
    the neurons after them."""
    rng = np.random.default_rng(3)
    n, d, c, beta = 25, 3, 2, 0.2
    X = rng.standard_normal((n, d))
    X[:, 0] = np.abs(X[:, 0]) + 0.1                       # every row has x_0 > 0
    Y = rng.standard_normal((n, c))
    W1 = rng.standard_normal((d, 6)) * np.array([0.5, 2.0, 1.0, 3.0, 1.0, 0.7])
    W1[:, 2] = [-1.0, 0.0, 0.0]                           # (X u)_+ = 0 on every row
    W1[:, 4] = 0.0                                        # a zero neuron
    W2 = rng.standard_normal((6, c))
    cols = Columns(DenseFeatures(X), Y, beta, keep_features=keep)
    assert cols.add(W1, W2) == 4
    live = [0, 1, 3, 5]
    np.testing.assert_allclose(cols.U, W1[:, live] / np.linalg.norm(W1[:, live], axis=0),
                               rtol=1e-14)
    F = np.maximum(X @ W1, 0.0) @ W2                      # the warm network's outputs
    np.testing.assert_allclose(cols.predict(), F, rtol=1e-12, atol=1e-12 * np.abs(F).max())
    path = np.sum(np.linalg.norm(W1[:, live], axis=0) * np.linalg.norm(W2[live], axis=1))
    R = Y - F
    assert cols.upper(cols.residual()) == pytest.approx(0.5 * np.sum(R * R) + beta * path,
                                                        rel=1e-12)
    # the same network, balanced, has that objective (5); the unbalanced one is above it
    net = cols.network(np.eye(d))
    assert net.objective(X, Y, beta) == pytest.approx(cols.upper(R), rel=1e-10)
    from cvxrelu.networks.network import ReLUNetwork

    assert ReLUNetwork(W1, W2).objective(X, Y, beta) >= cols.upper(R) * (1 - 1e-12)


def test_add_keeps_one_column_per_direction():
    """Repeats (within and across calls, any positive scale) are dropped; −u is a different
    neuron; G and B stay those of the brute-force features."""
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((30, 2)), rng.standard_normal((30, 1))
    cols = Columns(DenseFeatures(X), Y, 0.1)
    u = np.array([0.6, 0.8])
    assert cols.add(np.column_stack([u, 5.0 * u])) == 1
    assert cols.add(np.column_stack([0.1 * u, u * (1 + 1e-15)])) == 0
    assert cols.add(np.column_stack([-u, 2.0 * u])) == 1
    np.testing.assert_allclose(cols.U, np.column_stack([u, -u]), rtol=1e-15)
    A = np.maximum(X @ cols.U, 0.0)
    np.testing.assert_allclose(cols.G, A.T @ A, rtol=1e-12)
    np.testing.assert_allclose(cols.B, A.T @ Y, rtol=1e-12)


@pytest.mark.parametrize("cache_floats", [0, None])
def test_screen_counts_ages_and_keeps_the_gram_data(cache_floats):
    """``screen(values, max_age=2)`` drops a column only after its weight was 0 at two
    screens in a row and only while its cut value is < 0.999·β; nonzero columns and zero
    columns near the cut stay. G, B and A stay those of the remaining directions (the cached
    buffer is compacted), and a later add appends to them correctly."""
    rng = np.random.default_rng(8)
    beta = 1.0
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    cols = Columns(DenseFeatures(X), Y, beta, cache_floats=cache_floats)
    U0 = _units(rng, 3, 6)
    assert cols.add(U0) == 6
    V = rng.standard_normal((6, 2))
    V[[1, 3, 4]] = 0.0
    cols.V = V.copy()
    # zero: 1 (inactive), 3 (0.9995 β: within the slack, kept), 4 (inactive); 0 nonzero
    values = np.array([0.1, 0.5, 2.0, 0.9995, 0.2, 3.0]) * beta
    cols.screen(values, max_age=2)
    assert cols.K == 6 and cols.zero_age.tolist() == [0, 1, 0, 1, 1, 0]
    cols.V[1] = [1.0, 0.0]                    # column 1 becomes active: its age restarts
    cols.screen(values, max_age=2)
    assert cols.zero_age.tolist() == [0, 0, 0, 2, 0]
    kept = [0, 1, 2, 3, 5]
    np.testing.assert_allclose(cols.U, U0[:, kept], rtol=1e-15, atol=1e-15)
    Ve = V[kept]
    Ve[1] = [1.0, 0.0]
    np.testing.assert_array_equal(cols.V, Ve)
    Unew = _units(rng, 3, 2)
    assert cols.add(Unew) == 2
    A = np.maximum(X @ np.hstack([U0[:, kept], Unew]), 0.0)
    np.testing.assert_allclose(cols.A, A, rtol=1e-13, atol=1e-13 * np.abs(A).max())
    np.testing.assert_allclose(cols.G, A.T @ A, rtol=1e-12, atol=1e-12 * np.abs(A).max() ** 2)
    np.testing.assert_allclose(cols.B, A.T @ Y, rtol=1e-12, atol=1e-12 * np.abs(A).max())
    np.testing.assert_allclose(cols.predict(), A @ cols.V, rtol=1e-12, atol=1e-12)


def test_master_and_network_on_rank_deficient_data():
    """Columns on the oracle's reduced data X_r = X Q (rank 2 in R⁴): the master's value
    equals CVXPY's group lasso over the same features (penalized and with the budget t of
    (14)), and ``network(Q)`` is a balanced network in the original space whose objective
    (5) on X is the master's ``upper``."""
    rng = np.random.default_rng(4)
    n, c, beta = 30, 2, 0.5
    X = rng.standard_normal((n, 2)) @ rng.standard_normal((2, 4))
    Y = rng.standard_normal((n, c))
    orc = DualOracle(X)
    assert orc.rank == 2 and orc.basis.shape == (4, 2)
    cols = Columns(DenseFeatures(orc.Xr), Y, beta)
    cols.add(_units(rng, 2, 7))
    cols.solve(accurate=True)
    A = np.maximum(orc.Xr @ cols.U, 0.0)
    upper = cols.upper(cols.residual())
    ref = _group_lasso_value(A, Y, beta=beta)
    assert upper == pytest.approx(ref, rel=1e-6) and upper >= ref * (1 - 1e-7)
    net = cols.network(orc.basis)
    assert net.W1.shape[0] == 4 and net.n_neurons == int(np.sum(np.any(cols.V != 0, axis=1)))
    np.testing.assert_allclose(np.linalg.norm(net.W1, axis=0), np.linalg.norm(net.W2, axis=1),
                               rtol=1e-12)
    assert net.objective(X, Y, beta) == pytest.approx(upper, rel=1e-9)
    # the budget form: Σ‖v_k‖ ≤ t, the fit equal to CVXPY's
    t = 0.5 * float(np.sum(np.linalg.norm(cols.V, axis=1)))
    cols.solve(t=t, accurate=True)
    R = cols.residual()
    assert np.sum(np.linalg.norm(cols.V, axis=1)) <= t * (1 + 1e-9)
    assert 0.5 * np.sum(R * R) == pytest.approx(_group_lasso_value(A, Y, t=t), rel=1e-6)


def test_patch_features_without_a_cache_are_the_sum_over_patches():
    """PatchFeatures a(u) = Σ_k (X_k u)_+ with no cached A (cache_floats=0): A, the Gram data,
    the predictions and the cut values at an arbitrary Z are those of the patches summed
    by hand."""
    rng = np.random.default_rng(6)
    images = rng.standard_normal((6, 2, 3, 3))
    Y = rng.standard_normal((6, 2))
    Pk = patches(images, kernel_size=2)                   # (K, n, h), h = 2·2·2
    feats = PatchFeatures(_PatchData(Pk))
    assert (feats.n, feats.dim) == (6, 8) and len(list(feats.chunks(5))) == 1
    cols = Columns(feats, Y, 0.3, cache_floats=0)
    U = _units(rng, 8, 4)
    assert cols.add(U) == 4 and cols._A is None
    A = sum(np.maximum(Pk[k] @ U, 0.0) for k in range(Pk.shape[0]))
    np.testing.assert_allclose(cols.A, A, rtol=1e-12, atol=1e-12 * np.abs(A).max())
    np.testing.assert_allclose(feats.features(U, slice(2, 5)), A[2:5], rtol=1e-12,
                               atol=1e-12 * np.abs(A).max())
    np.testing.assert_allclose(cols.G, A.T @ A, rtol=1e-10, atol=1e-12 * np.abs(A).max() ** 2)
    cols.solve(accurate=True)
    np.testing.assert_allclose(cols.predict(), A @ cols.V, rtol=1e-10,
                               atol=1e-12 * np.abs(Y).max())
    Z = rng.standard_normal(Y.shape)
    ref = np.linalg.norm(A.T @ Z, axis=1)
    np.testing.assert_allclose(cols.cut_values(Z), ref, rtol=1e-10, atol=1e-12 * ref.max())
