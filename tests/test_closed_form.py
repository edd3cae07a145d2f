"""Theorem 2 (closed form on whitened data) and sample whitening.

References are independent of the code under test: the scalar formula βy − β²/2, the primal
objective (5) of the returned network, CVXPY's nuclear-norm relaxation of (15), and networks
trained by gradient descent from random initializations.
"""

import numpy as np
import pytest

from cvxrelu.programs.closed_form import _orient_group, closed_form, is_whitened, whiten
from cvxrelu.errors import InvalidInputError

load_digits = pytest.importorskip("sklearn.datasets").load_digits


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


def digits_subset(digits, n=40, seed=0):
    X, y = digits
    idx = np.random.default_rng(seed).choice(len(X), n, replace=False)
    return X[idx], np.eye(10)[y[idx]]


# ------------------------------------------------------------------------ scalar case
@pytest.mark.parametrize("y,beta", [(2.0, 0.5), (1.0, 0.01), (3.0, 2.9)])
def test_scalar_case_matches_formula(y, beta):
    sol = closed_form([[1.0]], [[y]], beta)
    assert sol.exact and sol.bound == "exact" and sol.reason is None
    assert sol.value == pytest.approx(beta * y - beta ** 2 / 2, rel=1e-12)
    assert sol.network.objective([[1.0]], [[y]], beta) == pytest.approx(sol.value, rel=1e-12)


def test_scalar_case_below_threshold_gives_zero_network():
    sol = closed_form([[1.0]], [[0.3]], 0.5)
    assert sol.exact
    assert sol.network.n_neurons == 0
    assert sol.value == pytest.approx(0.5 * 0.3 ** 2, rel=1e-12)


def test_scalar_negative_target_needs_flip_and_fails():
    # y < 0: X a = ±1 can be made ≥ 0 by flipping (a, b) together, so the formula is exact
    sol = closed_form([[1.0]], [[-2.0]], 0.5)
    assert sol.exact
    assert sol.value == pytest.approx(0.5 * 2.0 - 0.125, rel=1e-12)
    assert sol.network.objective([[1.0]], [[-2.0]], 0.5) == pytest.approx(sol.value, rel=1e-12)


# ------------------------------------------------------------------------ digits, exact
@pytest.mark.parametrize("beta", [0.1, 1.0, 2.0])
def test_digits_one_hot_exact(digits, beta):
    X, Y = digits_subset(digits, n=40)
    Xw = whiten(X).X
    sol = closed_form(Xw, Y, beta)
    assert sol.exact, sol.reason
    assert sol.bound == "exact"
    # the value is attained by the returned network, evaluated independently
    assert sol.network.objective(Xw, Y, beta) == pytest.approx(sol.value, rel=1e-8)
    assert sol.lower_bound == pytest.approx(sol.value, rel=1e-12)
    # the network really is a ReLU network whose units are all active: f(X) = X V*
    assert np.allclose(sol.network.predict(Xw), Xw @ sol.V, atol=1e-10)
    assert set(sol.timings) >= {"check", "svd", "condition", "total"}


def test_digits_value_equals_cvxpy_relaxation(digits):
    cp = pytest.importorskip("cvxpy")
    X, Y = digits_subset(digits, n=30, seed=1)
    Xw = whiten(X, method="pca").X  # d = n = 30: a smaller SDP for the reference
    beta = 0.5
    sol = closed_form(Xw, Y, beta)
    assert sol.exact
    V = cp.Variable((Xw.shape[1], Y.shape[1]))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(Xw @ V - Y) + beta * cp.normNuc(V)))
    prob.solve(solver=cp.CLARABEL)
    assert prob.value == pytest.approx(sol.value, rel=1e-6)


def test_balanced_classes_tied_singular_values(digits):
    X, y = digits
    idx = np.concatenate([np.flatnonzero(y == k)[:5] for k in range(10)])
    Xw = whiten(X[idx]).X
    Y = np.eye(10)[y[idx]]
    sol = closed_form(Xw, Y, 0.5)
    # all ten singular values equal √5: the SVD basis is arbitrary inside the tie
    assert np.allclose(sol.singular_values, np.sqrt(5.0))
    assert sol.exact, sol.reason
    assert sol.network.objective(Xw, Y, 0.5) == pytest.approx(sol.value, rel=1e-8)
    assert sol.value == pytest.approx(0.5 * 50 - 0.5 * 10 * (np.sqrt(5) - 0.5) ** 2, rel=1e-12)


def test_orient_group_recovers_rotation():
    rng = np.random.default_rng(0)
    E = np.zeros((9, 3))
    E[[0, 1, 2], 0] = rng.random(3)
    E[[3, 4], 1] = rng.random(2)
    E[[5, 6, 7, 8], 2] = rng.random(4)
    E /= np.linalg.norm(E, axis=0)
    R, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    M = E @ R  # an arbitrary orthonormal basis of the subspace
    Q = _orient_group(M, 1e-10)
    assert Q is not None
    assert np.allclose(Q.T @ Q, np.eye(3))
    assert (M @ Q).min() >= -1e-10
    # a subspace with no nonnegative orthonormal basis
    assert _orient_group(np.linalg.qr(rng.standard_normal((9, 3)))[0], 1e-10) is None
    assert _orient_group(-np.ones((4, 1)) / 2, 1e-10)[0, 0] == -1.0


def test_trained_network_reaches_closed_form(digits):
    pytest.importorskip("torch")
    from cvxrelu.networks.baselines import train_sgd

    X, Y = digits_subset(digits, n=40)
    Xw = whiten(X).X
    beta = 0.1
    sol = closed_form(Xw, Y, beta)
    assert sol.exact
    res = train_sgd(Xw, Y, beta, m=50, epochs=1000, seed=0)
    # p* is a lower bound for every network, and SGD gets within 1e-4 of it
    assert res.objective >= sol.value * (1 - 1e-10)
    assert res.objective <= sol.value * (1 + 1e-4)
    res = train_sgd(Xw, Y, beta, m=50, epochs=1000, seed=1, optimizer="adam")
    assert sol.value * (1 - 1e-10) <= res.objective <= sol.value * (1 + 1e-4)


def test_trained_network_reaches_closed_form_quick(digits):
    pytest.importorskip("torch")
    from cvxrelu.networks.baselines import train_sgd

    X, Y = digits_subset(digits, n=20, seed=2)
    Xw = whiten(X).X
    beta = 1.0
    sol = closed_form(Xw, Y, beta)
    assert sol.exact
    res = train_sgd(Xw, Y, beta, m=30, epochs=400, seed=0)
    assert sol.value * (1 - 1e-10) <= res.objective <= sol.value * (1 + 1e-3)


# ------------------------------------------------------------------------ failing cases
def test_condition_fails_for_gaussian_targets(digits):
    X, _ = digits_subset(digits, n=40)
    Xw = whiten(X).X
    Y = np.random.default_rng(3).standard_normal((40, 3))
    beta = 0.5
    sol = closed_form(Xw, Y, beta)
    assert not sol.exact
    assert sol.bound == "upper"
    assert "X a_i ≥ 0" in sol.reason and "upper bound" in sol.reason
    # the reported value is the network's primal objective, sandwiched by the relaxation
    assert sol.value == pytest.approx(sol.network.objective(Xw, Y, beta), rel=1e-10)
    assert sol.lower_bound is not None and sol.lower_bound <= sol.value
    assert sol.value <= 0.5 * np.sum(Y ** 2) + 1e-12


def test_not_whitened_is_reported(digits):
    X, Y = digits_subset(digits, n=40)
    sol = closed_form(X, Y, 1.0)
    assert not sol.exact and sol.bound == "upper"
    assert "not whitened" in sol.reason
    assert sol.lower_bound is None
    assert sol.value == pytest.approx(sol.network.objective(X, Y, 1.0), rel=1e-10)


def test_more_samples_than_features_is_not_exact():
    rng = np.random.default_rng(0)
    X = whiten(rng.standard_normal((10, 3))).X  # orthonormal columns, not rows
    sol = closed_form(X, np.abs(rng.standard_normal((10, 2))), 0.1)
    assert not sol.exact
    assert "n = 10 > d = 3" in sol.reason


# ------------------------------------------------------------------------ whitening
@pytest.mark.parametrize("method", ["zca", "pca"])
def test_whiten_gives_orthonormal_rows(digits, method):
    X, _ = digits_subset(digits, n=45)
    w = whiten(X, method=method)
    n = X.shape[0]
    assert np.allclose(w.X @ w.X.T, np.eye(n), atol=1e-10)
    assert is_whitened(w.X)
    assert np.allclose(w.transform(X), w.X, atol=1e-8)
    assert w.X.shape == ((n, 64) if method == "zca" else (n, n))


def test_whiten_zca_is_polar_factor():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 7))
    w = whiten(X)
    # X_w = (X Xᵀ)^{-1/2} X, computed independently by an eigendecomposition
    lam, Q = np.linalg.eigh(X @ X.T)
    assert np.allclose(w.X, Q @ np.diag(lam ** -0.5) @ Q.T @ X, atol=1e-10)


def test_whiten_more_samples_than_features_orthonormal_columns():
    X = np.random.default_rng(1).standard_normal((20, 4))
    w = whiten(X)
    assert np.allclose(w.X.T @ w.X, np.eye(4), atol=1e-10)
    assert not is_whitened(w.X)


def test_whiten_rank_deficient_raises_and_eps_regularizes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 8))
    X[4] = X[0] + X[1]
    with pytest.raises(InvalidInputError, match="rank 4"):
        whiten(X)
    w = whiten(X, eps=1e-3)
    assert np.all(np.isfinite(w.X))
    with pytest.raises(InvalidInputError, match="center"):
        whiten(rng.standard_normal((5, 8)), center=True)


# ------------------------------------------------------------------------ validation
def test_invalid_inputs():
    X = np.eye(3)
    with pytest.raises(InvalidInputError, match="beta"):
        closed_form(X, np.eye(3), 0.0)
    with pytest.raises(InvalidInputError, match="beta"):
        closed_form(X, np.eye(3), -1.0)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        closed_form(bad, np.eye(3), 0.1)
    with pytest.raises(InvalidInputError, match="rows"):
        closed_form(X, np.eye(4), 0.1)
    with pytest.raises(InvalidInputError, match="2-D"):
        closed_form(np.ones(3), np.ones(3), 0.1)
    with pytest.raises(InvalidInputError, match="method"):
        whiten(X, method="bogus")
    with pytest.raises(InvalidInputError, match="eps"):
        whiten(X, eps=-1.0)
    with pytest.raises(InvalidInputError, match="NaN"):
        whiten(bad)
    with pytest.raises(InvalidInputError, match="features"):
        whiten(X).transform(np.ones((2, 5)))


# ------------------------------------------------------------------------ example script
def _load_example(name):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_fig2_example_quick(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    out = tmp_path / "fig2.png"
    result = _load_example("fig2_closed_form").main(["--quick", "--out", str(out)])
    assert out.exists()
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    fields = dict(kv.split("=") for kv in last.split()[1:])
    assert fields["exact"] == "True"
    assert float(fields["sgd_value"]) >= float(fields["closed_form_value"]) * (1 - 1e-10)
    assert result["rel_gap"] < 1e-2
    assert result["closed_form_test_acc"] > 0.5
