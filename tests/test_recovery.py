"""recovery: neurons from a convex solution (Remark 5.1, (49)) and the second-layer refit.

References: the group lasso over fixed neurons written here in CVXPY and solved by SCS (the
refit uses Clarabel by default); the program value of the exact bi-dual (12), which the
recovered network's objective (5) must attain.
"""

import cvxpy as cp
import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.networks.network import ReLUNetwork
from cvxrelu.programs.recovery import (best_network, dedupe_directions, network_from_factors,
                              refit_second_layer)


def test_network_from_factors_is_balanced_and_reproduces_the_factors(rng):
    H, G = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    H[:, 1] = 0.0                                          # a zero neuron is dropped
    net = network_from_factors(H, G)
    assert net.n_neurons == 3
    X = rng.standard_normal((6, 3))
    np.testing.assert_allclose(net.predict(X), np.maximum(X @ H, 0) @ G, rtol=1e-12,
                               atol=1e-14)
    ref = float(np.sum(np.linalg.norm(H, axis=0) * np.linalg.norm(G, axis=1)))
    assert net.weight_decay() == pytest.approx(ref, rel=1e-12)


def test_dedupe_directions():
    U = np.array([[1.0, 2.0, 0.0, 1.0], [0.0, 0.0, 3.0, 1e-12]])
    D = dedupe_directions(U)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0)
    assert D.shape[1] == 2                                # (1,0) ≈ (2,0) ≈ (1,1e-12)
    assert dedupe_directions(np.zeros((2, 3))).shape == (2, 0)


def _group_lasso_reference(X, Y, beta, U):
    """min_V ½‖relu(X U) V − Y‖² + β Σ‖v_j‖ by SCS, with U normalized and deduplicated."""
    U = U / np.linalg.norm(U, axis=0)
    V = cp.Variable((U.shape[1], Y.shape[1]))
    A = np.maximum(X @ U, 0)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ V - Y)
                                  + beta * cp.sum(cp.norm(V, 2, axis=1))))
    prob.solve(solver="SCS", eps_abs=1e-9, eps_rel=1e-9, max_iters=200_000)
    return prob.value


@pytest.mark.parametrize("beta", [0.05, 0.5])
def test_refit_attains_the_group_lasso_value(rng, beta):
    X, Y = rng.standard_normal((15, 3)), rng.standard_normal((15, 2))
    U = rng.standard_normal((3, 6))
    net = refit_second_layer(X, Y, beta, U)
    ref = _group_lasso_reference(X, Y, beta, U)
    # the refit's network is real, so its objective (5) is the group lasso value
    assert net.objective(X, Y, beta) == pytest.approx(ref, rel=1e-5)
    assert net.objective(X, Y, beta) >= ref * (1 - 1e-6)  # never below the optimum


@pytest.mark.parametrize("loss", ["logistic", "huber"])
def test_refit_with_the_loss_master_matches_cvxpy(rng, loss):
    """Other smooth losses: the refit uses the drivers' any-loss master (no CVXPY); the
    reference is the same group lasso written in CVXPY with that loss (Clarabel)."""
    lo = cr.losses.get_loss(loss)
    X = rng.standard_normal((20, 3))
    Y = lo.prepare_targets(np.sign(rng.standard_normal(20)) if loss == "logistic"
                           else rng.standard_normal((20, 2)))
    U = rng.standard_normal((3, 5))
    beta = 0.1
    net = refit_second_layer(X, Y, beta, U, loss=loss)
    Un = U / np.linalg.norm(U, axis=0)
    V = cp.Variable((5, Y.shape[1]))
    prob = cp.Problem(cp.Minimize(lo.expr(np.maximum(X @ Un, 0) @ V, Y)
                                  + beta * cp.sum(cp.norm(V, 2, axis=1))))
    ref = prob.solve(solver="CLARABEL")
    got = net.objective(X, Y, beta, loss)
    assert got == pytest.approx(ref, rel=1e-6)
    assert got >= ref * (1 - 1e-7)                       # a real network: never below


def test_refit_with_nothing_active_is_the_empty_network(rng):
    X = np.abs(rng.standard_normal((5, 2)))
    net = refit_second_layer(X, rng.standard_normal((5, 1)), 0.1, -np.ones((2, 1)))
    assert net.n_neurons == 0


def test_best_network_picks_the_lowest_objective(rng):
    X, Y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    nets = [ReLUNetwork(rng.standard_normal((2, 3)), rng.standard_normal((3, 1)))
            for _ in range(4)]
    empty = ReLUNetwork(np.zeros((2, 0)), np.zeros((0, 1)))
    best = best_network(nets + [None], X, Y, 0.1, empty)
    values = [n.objective(X, Y, 0.1) for n in nets + [empty]]
    assert best.objective(X, Y, 0.1) == min(values)


def test_recovered_network_attains_the_exact_program_value(figure1_data):
    X, Y = figure1_data
    X, Y = X[:10], Y[:10]
    beta = 0.1
    f = cr.bidual(X, Y, beta)
    value = f.solve()
    assert f.bound == "exact"
    net = f.network()
    # exact program value = p* = objective of the recovered (real) network
    assert net.objective(X, Y, beta) == pytest.approx(value, rel=1e-5)
