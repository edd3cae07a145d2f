import warnings

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.programs.spike_free import SpikeFreeWarning

from .conftest import rel


def _whitened_digits(n=30, seed=0):
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.random.default_rng(seed).choice(len(d.target), n, replace=False)
    X = d.data[idx].astype(float)
    X = X - X.mean(1, keepdims=True)
    U, _, Vt = np.linalg.svd(X, full_matrices=False)
    return U @ Vt, np.eye(10)[d.target[idx]]


def _theorem2_value(X, Y, beta):
    """½‖Y‖² − ½ Σ (σ_i − β)_+², computed directly from the SVD of XᵀY."""
    s = np.linalg.svd(X.T @ Y, compute_uv=False)
    return 0.5 * np.sum(Y ** 2) - 0.5 * np.sum(np.maximum(s - beta, 0) ** 2)


@pytest.mark.parametrize("builder", ["bidual", "copositive", "spike_bidual", "spike_copositive"])
def test_scalar_sanity_case(builder):
    # SPEC: n = d = c = 1, X = 1, Y = y > beta gives beta*y - beta^2/2 on both sides
    y, beta = 2.0, 0.5
    X, Y = [[1.0]], [y]
    if builder == "bidual":
        f = cr.bidual(X, Y, beta)
    elif builder == "copositive":
        f = cr.copositive(X, Y, beta)
    else:
        f = cr.spike_free(X, Y, beta, program=builder.split("_")[1])
    assert f.bound == "exact"
    assert abs(f.solve() - (beta * y - beta ** 2 / 2)) < 1e-6
    assert abs(f.network().objective(X, Y, beta) - (beta * y - beta ** 2 / 2)) < 1e-6


def test_copositive_equals_bidual_figure1(figure1_data):
    X, Y = figure1_data
    f = cr.copositive(X, Y, 1e-2)
    assert f.bound == "exact"
    p17 = f.solve()
    p12 = cr.bidual(X, Y, 1e-2).solve()
    assert rel(p17, p12) < 2e-5
    # the recovered network (neurons from U_i, second layer refit) is a real upper bound
    obj = f.network().objective(X, Y, 1e-2)
    assert obj >= p12 * (1 - 1e-7)
    assert rel(obj, p12) < 1e-5


@pytest.mark.slow
def test_copositive_equals_bidual_spiral(spiral_data):
    X, Y = spiral_data
    p17 = cr.copositive(X, Y, 1e-2).solve()
    p12 = cr.bidual(X, Y, 1e-2).solve()
    assert rel(p17, p12) < 2e-5


@pytest.mark.parametrize("d", [2, 3, 4])
def test_relaxation_19_below_exact(rng, d):
    n = 7 if d < 4 else 6
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, 2))
    paper = cr.copositive(X, Y, 0.2, form="paper")
    exact = cr.copositive(X, Y, 0.2, form="simplicial")
    assert paper.bound == "lower" and exact.bound == "exact"
    # the relaxation (19) is numerically fragile (SPEC): Clarabel may stop "inaccurate" on
    # it, which is an error, never a value; SCS with tight tolerances solves it
    pp = paper.solve(solver="SCS", eps_abs=1e-9, eps_rel=1e-9, max_iters=100000)
    pe = exact.solve()
    assert pp <= pe * (1 + 1e-5)
    if d == 2:
        assert rel(pp, pe) < 1e-5
    # independent reference: the bi-dual (12) of the same data
    assert rel(pe, cr.bidual(X, Y, 0.2).solve()) < 2e-5


def test_copositive_rejects_other_losses():
    with pytest.raises(cr.UnsupportedError, match="bidual"):
        cr.copositive(np.eye(3), np.eye(3), 1.0, loss="cross_entropy")


def test_spike_free_whitened_digits_matches_theorem2():
    X, Y = _whitened_digits()
    beta = 0.5
    ref = _theorem2_value(X, Y, beta)
    f = cr.spike_free(X, Y, beta, program="bidual")
    assert f.info["rank"] == X.shape[0]          # size independent of d = 64
    p = f.solve()
    assert rel(p, ref) < 1e-6
    assert rel(f.network().objective(X, Y, beta), ref) < 1e-5


def test_spike_free_copositive_dnn_matches_theorem2():
    X, Y = _whitened_digits(n=20, seed=1)
    beta = 0.5
    f = cr.spike_free(X, Y, beta, program="copositive")
    assert rel(f.solve(), _theorem2_value(X, Y, beta)) < 1e-5


def test_spike_free_rejects_empty_cell(rng):
    X = rng.standard_normal((10, 2))
    with pytest.warns(SpikeFreeWarning), pytest.raises(cr.InvalidInputError, match="not spike-free"):
        cr.spike_free(X, rng.standard_normal(10), 0.1)


def test_spike_free_warns_and_reports_upper_bound(rng):
    X = np.abs(rng.standard_normal((10, 2)))
    Y = rng.standard_normal((10, 2))
    with pytest.warns(SpikeFreeWarning, match="upper bound"):
        f = cr.spike_free(X, Y, 0.1)
    assert f.bound == "upper"
    assert f.solve() >= cr.bidual(X, Y, 0.1).solve() - 1e-7


def test_spike_free_verified_whitened_no_warning():
    X, Y = _whitened_digits(n=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpikeFreeWarning)
        f = cr.spike_free(X, Y, 0.3)
    assert f.bound in ("exact", "lower")


def test_closed_form_equals_spike_free_bidual_and_reports_failures():
    X, Y = _whitened_digits(n=30, seed=2)
    beta = 0.5
    sol = cr.closed_form(X, Y, beta)
    f = cr.spike_free(X, Y, beta, program="bidual")
    p = f.solve(solver="CLARABEL")
    if sol.exact:
        assert rel(sol.value, p) < 1e-6
    # the formula's network is always a real network: never below the convex optimum
    assert sol.network.objective(X, Y, beta) >= p * (1 - 1e-7)
    # non-whitened data: the exactness test must fail and say why
    rng = np.random.default_rng(0)
    bad = cr.closed_form(rng.standard_normal((10, 3)), rng.standard_normal((10, 2)), 0.1)
    assert not bad.exact and bad.reason
