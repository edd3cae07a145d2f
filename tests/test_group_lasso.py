"""drivers.group_lasso: the column-generation master over fixed neurons, from Gram data.

Reference: the same group lasso on the explicit features A = relu(X U), written in CVXPY and
solved by Clarabel (penalized and constrained (14) forms); and its optimality conditions
(KKT) checked directly on the returned V.
"""

import cvxpy as cp
import numpy as np
import pytest

from cvxrelu.drivers.group_lasso import solve_group_lasso, solve_group_lasso_active_set


def _instance(rng, n=20, d=3, K=8, c=2):
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((n, c))
    U = rng.standard_normal((d, K))
    A = np.maximum(X @ U / np.linalg.norm(U, axis=0), 0)
    return A, Y, A.T @ A, A.T @ Y, float(np.sum(Y ** 2))


def _cvxpy_value(A, Y, beta=None, t=None):
    V = cp.Variable((A.shape[1], Y.shape[1]))
    fit = 0.5 * cp.sum_squares(A @ V - Y)
    group = cp.sum(cp.norm(V, 2, axis=1))
    if t is None:
        prob = cp.Problem(cp.Minimize(fit + beta * group))
    else:
        prob = cp.Problem(cp.Minimize(fit), [group <= t])
    prob.solve(solver="CLARABEL")
    assert prob.status == cp.OPTIMAL
    return prob.value


@pytest.mark.parametrize("beta", [0.01, 0.3, 3.0])
def test_penalized_matches_cvxpy(rng, beta):
    A, Y, G, B, yy = _instance(rng)
    sol = solve_group_lasso(G, B, yy, beta)
    ref = _cvxpy_value(A, Y, beta=beta)
    direct = 0.5 * np.sum((A @ sol.V - Y) ** 2) + beta * np.sum(np.linalg.norm(sol.V, axis=1))
    assert sol.objective == pytest.approx(direct, rel=1e-9)     # reported = recomputed
    assert direct == pytest.approx(ref, rel=1e-6)
    assert direct >= ref * (1 - 1e-7)                             # never below the optimum


def test_penalized_kkt(rng):
    A, Y, G, B, yy = _instance(rng)
    beta = 0.3
    V = solve_group_lasso(G, B, yy, beta).V
    R = A.T @ (Y - A @ V)                                         # b_k − (G V)_k
    nv = np.linalg.norm(V, axis=1)
    on = nv > 1e-8 * nv.max()
    assert on.any() and (~on).any()
    # nonzero groups: r_k = β v_k/‖v_k‖; zero groups: ‖r_k‖ ≤ β
    np.testing.assert_allclose(R[on], beta * V[on] / nv[on, None], rtol=1e-5,
                               atol=1e-6 * beta)
    assert np.all(np.linalg.norm(R[~on], axis=1) <= beta * (1 + 1e-6))


def test_constrained_matches_cvxpy(rng):
    A, Y, G, B, yy = _instance(rng)
    t = 0.5
    sol = solve_group_lasso(G, B, yy, 0.0, t=t)
    assert np.sum(np.linalg.norm(sol.V, axis=1)) <= t * (1 + 1e-6)
    val = 0.5 * np.sum((A @ sol.V - Y) ** 2)
    assert val == pytest.approx(_cvxpy_value(A, Y, t=t), rel=1e-6)


def test_active_set_matches_cvxpy_and_warm_start(rng):
    A, Y, G, B, yy = _instance(rng, K=12)
    beta = 0.2
    # ``converged`` may be False at the rounding floor (stationarity of the nonzero groups
    # ~1e-10 short of the 1e-10 target here); solve_group_lasso then falls back to Clarabel.
    # The value and the dual infeasibility are what the drivers rely on:
    V, dinf, _ = solve_group_lasso_active_set(G, B, beta)
    assert dinf <= 1e-8
    val = 0.5 * np.sum((A @ V - Y) ** 2) + beta * np.sum(np.linalg.norm(V, axis=1))
    assert val == pytest.approx(_cvxpy_value(A, Y, beta=beta), rel=1e-6)
    V2, dinf2, _ = solve_group_lasso_active_set(G, B, beta, V0=V)  # warm: stays optimal
    assert dinf2 <= 1e-8
    np.testing.assert_allclose(V2, V, rtol=1e-6, atol=1e-9 * np.abs(V).max())


def test_no_columns(rng):
    sol = solve_group_lasso(np.zeros((0, 0)), np.zeros((0, 2)), 4.0, 0.1)
    assert sol.V.shape == (0, 2) and sol.objective == 2.0       # ½‖Y‖² with V empty
