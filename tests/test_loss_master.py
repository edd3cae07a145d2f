"""The general-loss master (M) of :mod:`cvxrelu.drivers.loss_master`: its Newton-CG path.

References: the same group lasso with the same loss written in CVXPY and solved by Clarabel
(an independent interior-point solver), and the explicit-Hessian Newton path ("direct").
"""


import cvxpy as cp
import numpy as np
import pytest

from cvxrelu import losses as L
from cvxrelu.drivers.loss_master import DIRECT_MAX, solve_loss_master
from cvxrelu.errors import InvalidInputError

from .conftest import rel


def _problem(name, seed=0, n=120, K=60, c=3, d=10, frac=0.01):
    """Features A = (X U)_+ of K random unit neurons, targets for ``name``, and a β at 1 %
    of β_max = max_k ‖a_kᵀ ∇ℓ(0)‖ (so a support of s·c well above DIRECT_MAX)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    U = rng.standard_normal((d, K))
    A = np.maximum(X @ (U / np.linalg.norm(U, axis=0)), 0.0)
    lo = L.get_loss(name)
    labels = rng.integers(0, c, n)
    if name == "cross_entropy":
        Y = lo.prepare_targets(labels, n_classes=c)
    elif name == "huber":
        Y = lo.prepare_targets(A[:, :3] @ rng.standard_normal((3, c)) +
                               0.3 * rng.standard_normal((n, c)))
    else:
        Y = lo.prepare_targets(np.eye(c)[labels])
    beta = frac * float(np.max(np.linalg.norm(A.T @ lo.gradient(np.zeros_like(Y), Y), axis=1)))
    return A, Y, beta, lo


@pytest.mark.parametrize("name", ["cross_entropy", "logistic", "huber"])
def test_newton_cg_matches_clarabel(name):
    A, Y, beta, lo = _problem(name)
    V = cp.Variable((A.shape[1], Y.shape[1]))
    prob = cp.Problem(cp.Minimize(lo.expr(A @ V, Y) + beta * cp.sum(cp.norm(V, 2, axis=1))))
    prob.solve(solver=cp.CLARABEL)
    sol = solve_loss_master(A, Y, beta, lo, tol=1e-10, newton="cg")
    assert sol.status == "optimal" and sol.kkt <= 1e-10
    support = int(np.sum(np.any(sol.V != 0, axis=1)))
    assert support * Y.shape[1] > DIRECT_MAX             # the CG path was the one used
    assert rel(sol.objective, prob.value) < 1e-7
    assert sol.objective <= prob.value * (1 + 1e-8)      # at least as good as Clarabel
    # the master's own restricted dual (79) brackets it: 0 ≤ gap ≤ tol-sized
    assert -1e-12 * sol.objective <= sol.gap <= 1e-8 * sol.objective


@pytest.mark.parametrize("name", ["cross_entropy", "logistic", "huber"])
def test_newton_cg_equals_the_direct_hessian(name):
    A, Y, beta, lo = _problem(name, seed=1)
    a = solve_loss_master(A, Y, beta, lo, tol=1e-10, newton="direct")
    b = solve_loss_master(A, Y, beta, lo, tol=1e-10, newton="cg")
    assert a.status == b.status == "optimal"
    assert rel(a.objective, b.objective) < 1e-10
    # the same network: the same support and second layer (to the KKT tolerance)
    np.testing.assert_array_equal(np.any(a.V != 0, axis=1), np.any(b.V != 0, axis=1))
    assert np.linalg.norm(a.V - b.V) <= 1e-5 * np.linalg.norm(a.V)


def test_newton_cg_warm_start_and_auto():
    A, Y, beta, lo = _problem("cross_entropy", seed=2)
    cold = solve_loss_master(A, Y, beta, lo, tol=1e-9)     # "auto": direct (n·(s·c)² small)
    # warm start from the solution of a slightly larger β (a path step), by Newton-CG
    prev = solve_loss_master(A, Y, 1.2 * beta, lo, tol=1e-9, newton="cg")
    warm = solve_loss_master(A, Y, beta, lo, V0=prev.V, tol=1e-9, newton="cg")
    assert warm.status == "optimal"
    assert rel(warm.objective, cold.objective) < 1e-9


def test_newton_cg_matches_the_direct_hessian_on_a_wide_support():
    """A support wide enough for the CG path (s·c > 120; 10 classes, 20 neurons): the same
    value and status as the explicit Hessian. (Its speed is measured by
    benchmarks/realdata.py, not asserted here.)"""
    A, Y, beta, lo = _problem("cross_entropy", seed=3, n=300, K=20, c=10, d=12)
    a = solve_loss_master(A, Y, beta, lo, tol=1e-9, newton="direct")
    b = solve_loss_master(A, Y, beta, lo, tol=1e-9, newton="cg")
    assert a.status == b.status == "optimal"
    assert rel(a.objective, b.objective) < 1e-10


def test_bad_newton_argument():
    A, Y, beta, lo = _problem("logistic", n=20, K=4)
    with pytest.raises(InvalidInputError, match="newton"):
        solve_loss_master(A, Y, beta, lo, newton="lbfgs")
