"""Column generation for general losses (loss_master, loss_driver) against independent
references: the exact convex program cr.bidual(loss=...) solved by Clarabel, CVXPY on the
master problem, the squared-loss cutting plane, and the primal value of the returned
network."""

import time

import cvxpy as cp
import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu import losses as L
from cvxrelu.drivers.loss_driver import loss_cutting_plane
from cvxrelu.drivers.loss_master import (group_soft_threshold, master_kkt_residual,
                                         solve_loss_master)
from cvxrelu.errors import InvalidInputError, UnsupportedError

from .conftest import rel


def _targets(name, Y):
    """Targets suited to each loss from a one-hot (spiral) or real-valued (figure1) Y."""
    labels = Y.argmax(axis=1)
    if name in ("cross_entropy", "hinge"):
        return labels
    if name in ("logistic", "binary_hinge"):
        return (Y > 0).astype(float) if Y.min() < 0 else Y[:, :1]
    return Y


def _check_history(res):
    """lower ≤ upper at every iteration, both monotone (best-so-far bounds)."""
    h = res.history_array()
    assert np.all(h[:, 2] <= h[:, 1] + 1e-12 * np.abs(h[:, 1]))
    assert np.all(np.diff(h[:, 1]) <= 1e-12 * np.abs(h[1:, 1]))
    assert np.all(np.diff(h[:, 2]) >= 0)


# --------------------------------------------------------------------- exact values


@pytest.mark.parametrize("data", ["spiral", "figure1"])
@pytest.mark.parametrize("name", ["cross_entropy", "logistic", "huber"])
def test_driver_equals_bidual(name, data, spiral_data, figure1_data):
    X, Y = spiral_data if data == "spiral" else figure1_data
    T = _targets(name, Y)
    beta = 0.1
    p = cr.bidual(X, T, beta, loss=name).solve()    # exact program (79), Clarabel
    res = loss_cutting_plane(X, T, beta, loss=name, tol=1e-7)
    assert res.status == "optimal" and res.certified
    assert rel(res.upper, p) < 1e-6                  # same optimum
    assert res.lower <= p + 1e-7 * abs(p)            # a certified lower bound (79)
    assert res.rel_gap <= 1e-7
    _check_history(res)
    # upper is the objective (76) of the returned network, evaluated independently
    lo = L.get_loss(name)
    Yp = lo.prepare_targets(T)
    net = res.network
    F = np.maximum(X @ net.W1, 0.0) @ net.W2
    direct = lo.value(F, Yp) + 0.5 * beta * (np.sum(net.W1 ** 2) + np.sum(net.W2 ** 2))
    assert rel(direct, res.upper) < 1e-12


def test_cross_entropy_spiral_certified(spiral_data):
    """Certified to 1e-6 (its time, ≤ 1 s, is measured by benchmarks/loss_driver.py)."""
    X, Y = spiral_data
    res = loss_cutting_plane(X, Y, 0.1, loss="cross_entropy")
    assert res.status == "optimal" and res.certified and res.rel_gap <= 1e-6


def test_squared_loss_matches_the_squared_cutting_plane(spiral_data):
    X, Y = spiral_data
    a = loss_cutting_plane(X, Y, 0.1, loss="squared", tol=1e-7)
    b = cr.cutting_plane(X, Y, 0.1, tol=1e-7, progress=False)
    assert a.status == "optimal" and b.status == "optimal"
    assert rel(a.upper, b.upper) < 2e-7
    assert a.lower <= b.upper and b.lower <= a.upper


@pytest.mark.parametrize("name", ["hinge", "absolute", "binary_hinge"])
def test_nonsmooth_losses_give_valid_bounds(name, figure1_data):
    X, Y = figure1_data
    T = _targets(name, Y)
    beta = 0.1
    p = cr.bidual(X, T, beta, loss=name).solve()
    res = loss_cutting_plane(X, T, beta, loss=name, max_iters=8)   # deterministic work
    assert res.certified
    assert res.lower <= p + 1e-6 * abs(p)       # valid, even though the master is smoothed
    assert p <= res.upper + 1e-6 * abs(p)       # a real network (bidual has ~1e-7 error)
    assert res.rel_gap < 1e-2    # loose is allowed; measured 3e-5 to 4e-3 after 8 rounds
    assert res.info["smoothed"] and res.info["mu"] > 0
    _check_history(res)


def test_zero_network_is_optimal_for_large_beta(spiral_data):
    X, Y = spiral_data
    lo = L.cross_entropy()
    Z = lo.dual_point(np.zeros_like(Y), Y)
    omega = cr.geometry.oracle.DualOracle(X)(Z).value
    res = loss_cutting_plane(X, Y, 1.01 * omega, loss=lo)
    # ℓ(0) = n log c is then p*, and the dual point at F = 0 attains it
    assert res.status == "optimal"
    assert res.network.n_neurons == 0
    assert rel(res.upper, X.shape[0] * np.log(3)) < 1e-12
    assert rel(res.lower, res.upper) < 1e-9


def test_warm_start_from_a_solution(spiral_data):
    X, Y = spiral_data
    first = loss_cutting_plane(X, Y, 0.2, loss="cross_entropy")
    again = loss_cutting_plane(X, Y, 0.2, loss="cross_entropy", warm_start=first.network)
    assert again.status == "optimal"
    assert again.iterations <= 2
    assert rel(again.upper, first.upper) < 1e-6
    nearby = loss_cutting_plane(X, Y, 0.15, loss="cross_entropy", warm_start=first.network)
    cold = loss_cutting_plane(X, Y, 0.15, loss="cross_entropy")
    assert nearby.status == "optimal" and rel(nearby.upper, cold.upper) < 2e-6
    with pytest.raises(InvalidInputError, match="warm_start"):
        loss_cutting_plane(X, Y, 0.2, loss="cross_entropy",
                           warm_start=cr.ReLUNetwork(np.ones((2, 1)), np.ones((1, 2))))


class _MySquared(L.Loss):
    """A user loss written as a Loss subclass: value, gradient, Hessian blocks, conjugate."""

    name = "my_squared"
    smooth = True
    lipschitz = 1.0

    def _expr(self, F, Y):
        return 0.5 * cp.sum_squares(F - Y)

    def _value(self, F, Y):
        return 0.5 * float(np.sum((F - Y) ** 2))

    def _gradient(self, F, Y):
        return F - Y

    def _hessian(self, F, Y):
        return np.broadcast_to(np.eye(F.shape[1]), (F.shape[0],) + (F.shape[1],) * 2).copy()

    def _conjugate(self, Z, Y):
        return 0.5 * float(np.sum(Z ** 2)) + float(np.sum(Z * Y))


def test_user_loss_subclass_matches_builtin():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((15, 2))
    Y = rng.standard_normal((15, 2))
    a = loss_cutting_plane(X, Y, 0.3, loss=_MySquared(), tol=1e-6)
    b = loss_cutting_plane(X, Y, 0.3, loss="squared", tol=1e-7)
    assert a.status == "optimal"
    assert rel(a.upper, b.upper) < 2e-6
    assert a.lower <= b.upper * (1 + 1e-9)


def test_registered_callable_with_conjugate_gives_valid_bounds():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((8, 2))
    Y = rng.standard_normal((8, 1))
    mine = L.UserLoss("my_sq", lambda p, T: 0.5 * cp.sum_squares(p - T),
                      grad=lambda F, T: F - T,
                      conjugate=lambda Z, T: 0.5 * np.sum(Z ** 2) + np.sum(Z * T))
    p = cr.bidual(X, Y, 0.3).solve()
    res = loss_cutting_plane(X, Y, 0.3, loss=mine, tol=1e-4, time_limit=5.0)
    assert res.lower <= p + 1e-7 * p <= res.upper + 2e-7 * p
    assert res.rel_gap < 1e-2


def test_bad_inputs_raise_clear_errors(spiral_data):
    X, Y = spiral_data
    no_conj = L.UserLoss("pin", lambda p, T: cp.sum(cp.abs(p - T)))
    with pytest.raises(UnsupportedError, match="conjugate"):
        loss_cutting_plane(X, Y, 0.1, loss=no_conj)
    no_grad = L.UserLoss("sq", lambda p, T: 0.5 * cp.sum_squares(p - T),
                         conjugate=lambda Z, T: 0.5 * np.sum(Z ** 2) + np.sum(Z * T))
    with pytest.raises(UnsupportedError, match="not smooth"):
        loss_cutting_plane(X, Y, 0.1, loss=no_grad)
    with pytest.raises(InvalidInputError, match="tol"):
        loss_cutting_plane(X, Y, 0.1, loss="cross_entropy", tol=-1)
    with pytest.raises(InvalidInputError, match="n_cuts"):
        loss_cutting_plane(X, Y, 0.1, loss="cross_entropy", n_cuts=0)
    with pytest.raises(InvalidInputError):
        loss_cutting_plane(X, Y, -1.0, loss="cross_entropy")
    with pytest.raises(InvalidInputError, match="unknown loss"):
        loss_cutting_plane(X, Y, 0.1, loss="crossentropy")


def test_heuristic_oracle_keeps_a_certified_lower_bound(spiral_data):
    # with the heuristic oracle the lower bound divides by the certified spectral ω̄:
    # valid (below the exact value), though loose
    X, Y = spiral_data
    p = cr.bidual(X, Y, 0.5, loss="cross_entropy").solve()
    res = loss_cutting_plane(X, Y, 0.5, loss="cross_entropy", oracle="heuristic", max_iters=30)
    assert res.lower <= p + 1e-7 * p <= res.upper + 2e-7 * p
    assert res.info["oracle_exact"] is False


def _adam_cross_entropy(X, labels, beta, m=10, steps=400, seed=0):
    """Plain full-batch Adam on (76) with cross-entropy, in torch (independent of cvxrelu)."""
    import torch

    torch.manual_seed(seed)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(labels)
    W1 = (torch.randn(X.shape[1], m, dtype=torch.float64) / 2).requires_grad_(True)
    W2 = (torch.randn(m, 3, dtype=torch.float64) / np.sqrt(m)).requires_grad_(True)
    opt = torch.optim.Adam([W1, W2], lr=1e-2)

    def objective():
        F = torch.relu(Xt @ W1) @ W2
        return torch.nn.functional.cross_entropy(F, yt, reduction="sum") + 0.5 * beta * (
            (W1 ** 2).sum() + (W2 ** 2).sum())

    for _ in range(steps):
        opt.zero_grad()
        obj = objective()
        obj.backward()
        opt.step()
    with torch.no_grad():
        return float(objective()), cr.ReLUNetwork(W1.detach().numpy(), W2.detach().numpy())


def test_rank_four_lower_bound_is_certified_and_below_adam():
    """rank(X) = 4: heuristic cuts, spectral ω̄ during the iterations, one DualOracle.bound at
    the end. The lower bound must lie below every network's objective (Adam's here); warm
    started from Adam's network, the driver can only improve on it."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    X = rng.standard_normal((20, 4))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    beta = 0.5
    adam, adam_net = _adam_cross_entropy(X, labels, beta)
    res = loss_cutting_plane(X, labels, beta, loss="cross_entropy", max_iters=40, seed=0)
    assert res.certified and res.info["oracle_exact"] is False
    assert res.lower <= adam and res.lower <= res.upper
    _check_history(res)
    warm = loss_cutting_plane(X, labels, beta, loss="cross_entropy", max_iters=40, seed=0,
                              warm_start=adam_net)
    assert warm.upper <= adam * (1 + 1e-12)
    assert warm.lower <= warm.upper


# ------------------------------------------------------------------------- master


def _master_problem(seed=0, n=40, K=25, c=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    A = np.maximum(X @ rng.standard_normal((2, K)), 0.0)
    labels = rng.integers(0, c, n)
    return A, labels


@pytest.mark.parametrize("name", ["squared", "cross_entropy", "logistic", "huber"])
def test_master_matches_cvxpy(name):
    A, labels = _master_problem()
    lo = L.get_loss(name)
    Y = lo.prepare_targets(labels, n_classes=3) if name == "cross_entropy" else \
        lo.prepare_targets(np.eye(3)[labels])
    beta = 0.5
    V = cp.Variable((A.shape[1], Y.shape[1]))
    prob = cp.Problem(cp.Minimize(lo.expr(A @ V, Y) + beta * cp.sum(cp.norm(V, 2, axis=1))))
    prob.solve(solver=cp.CLARABEL)
    sol = solve_loss_master(A, Y, beta, lo, tol=1e-10)
    assert sol.status == "optimal" and sol.kkt <= 1e-10
    assert rel(sol.objective, prob.value) < 1e-7
    assert sol.objective <= prob.value * (1 + 1e-8)        # at least as good as Clarabel
    assert -1e-12 * sol.objective <= sol.gap <= 1e-9 * sol.objective   # its duality gap
    # a sparse solution: exact zeros off the support
    assert np.sum(np.any(sol.V != 0, axis=1)) < A.shape[1]


def test_master_fista_only_matches_newton():
    A, labels = _master_problem(1)
    lo = L.logistic()
    Y = lo.prepare_targets(np.eye(3)[labels])
    a = solve_loss_master(A, Y, 0.3, lo, tol=1e-9)
    b = solve_loss_master(A, Y, 0.3, lo, tol=1e-7, newton=False)
    assert b.status == "optimal"
    assert rel(a.objective, b.objective) < 1e-8


def test_master_smoothed_hinge_is_close_to_cvxpy():
    A, labels = _master_problem(2)
    lo = L.hinge()
    Y = lo.prepare_targets(labels, n_classes=3)
    V = cp.Variable((A.shape[1], 3))
    prob = cp.Problem(cp.Minimize(lo.expr(A @ V, Y) + 0.5 * cp.sum(cp.norm(V, 2, axis=1))))
    prob.solve(solver=cp.CLARABEL)
    mu = 1e-3
    sol = solve_loss_master(A, Y, 0.5, lo.smoothed(mu), tol=1e-9)
    true = lo.value(A @ sol.V, Y) + 0.5 * np.sum(np.linalg.norm(sol.V, axis=1))
    # ℓ_μ ≤ ℓ ≤ ℓ_μ + μ·smoothing_gap, so the smoothed optimum is within that of p*
    assert prob.value - 1e-7 * prob.value <= true
    assert true <= prob.value + mu * lo.smoothing_gap(Y) + 1e-7 * prob.value
    with pytest.raises(InvalidInputError, match="smoothed"):
        solve_loss_master(A, Y, 0.5, lo)


def test_group_soft_threshold_and_kkt():
    W = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    P = group_soft_threshold(W, 1.0)
    np.testing.assert_allclose(P, [[2.4, 3.2], [0, 0], [0, 0]])
    # prox optimality: W − P ∈ τ ∂Σ‖p_k‖
    assert np.linalg.norm(W[1] - P[1]) <= 1.0
    assert master_kkt_residual(np.zeros((0, 2)), np.zeros((0, 2)), 1.0) == 0.0
    G = np.array([[-1.0, 0.0], [0.5, 0.0]])
    V = np.array([[2.0, 0.0], [0.0, 0.0]])
    assert master_kkt_residual(G, V, 1.0) == pytest.approx(0.0, abs=1e-15)
    assert master_kkt_residual(2 * G, V, 1.0) == pytest.approx(1.0)


def test_units_scaling_identity_and_tiny_beta(figure1_data):
    """p*(X, bY, bβ) = b² p*(X, Y, β) for the squared loss (targets in units of 1e3 and
    1e-3); and a certified tiny-β cross-entropy solve, where Clarabel's bidual fails."""
    X, Y = figure1_data
    base = loss_cutting_plane(X, Y, 0.1, loss="squared", tol=1e-8)
    for b in (1e3, 1e-3):
        res = loss_cutting_plane(X, b * Y, b * 0.1, loss="squared", tol=1e-8)
        assert res.status == "optimal"
        assert rel(res.upper, b * b * base.upper) < 1e-7
        assert res.lower <= b * b * base.upper * (1 + 1e-9)
    tiny = loss_cutting_plane(X, Y.argmax(1), 1e-4, loss="cross_entropy")
    assert tiny.status == "optimal" and tiny.certified and tiny.rel_gap <= 1e-6
    _check_history(tiny)


def test_check_bounds_clips_rounding_and_raises_on_a_bug():
    from cvxrelu.drivers.loss_certificate import check_bounds
    from cvxrelu.errors import CertificateError

    assert check_bounds(1.0, 2.0, "t") == 1.0
    assert check_bounds(2.0 * (1 + 1e-14), 2.0, "t") == 2.0
    with pytest.raises(CertificateError, match="exceeds"):
        check_bounds(2.0 * (1 + 1e-6), 2.0, "t")


def test_max_iters_solves_no_master_after_the_last_round(spiral_data, monkeypatch):
    """k rounds read k − 1 masters (the last round's master would never be read): the run
    stops at ``max_iters`` before adding columns, and its network is the best recorded one
    (objective (5) = upper, checked on the network itself); the columns reported are those
    of the last round."""
    import cvxrelu.drivers.loss_driver as D

    X, Y = spiral_data
    calls = []
    solve = D.solve_loss_master

    def spy(*args, **kwargs):
        calls.append(kwargs.get("max_iter"))
        return solve(*args, **kwargs)

    monkeypatch.setattr(D, "solve_loss_master", spy)
    labels = np.argmax(Y, axis=1)
    res = loss_cutting_plane(X, labels, 0.1, loss="cross_entropy", max_iters=3)
    assert res.status == "max_iters" and res.iterations == 3
    assert len(calls) == 2 and 0 not in calls
    Yp = L.get_loss("cross_entropy").prepare_targets(labels)
    assert rel(res.network.objective(X, Yp, 0.1, "cross_entropy"), res.upper) <= 1e-12
    assert res.info["n_columns"] == res.history[-1].n_neurons
    assert res.lower <= res.upper
    _check_history(res)


def test_oracle_budget_bounds_the_final_certificate():
    """oracle_budget= (nodes) reaches the loss driver's final certified ω̄, so a node budget,
    not only a time limit, bounds it (seeded fits then do not depend on the machine's load)."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((56, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    res = cr.cutting_plane(X, y, 0.5, loss="cross_entropy", max_iters=3, seed=0,
                           oracle_time_limit=60.0, oracle_budget=40, tol=1e-12)
    ob = res.info["oracle_bound"]
    assert ob is not None and ob.nodes <= 40 + 64   # at most one node batch past the budget
    assert res.lower <= res.upper
    net_obj = res.network.objective(X, cr.losses.get_loss("cross_entropy").prepare_targets(y),
                                    0.5, "cross_entropy")
    assert res.upper == pytest.approx(net_obj, rel=1e-10)


def test_loss_driver_resumes_with_directions_of_the_certified_search():
    """The any-loss driver on the shared engine (issue 12 item 4): when its heuristic oracle
    sees nothing to add, engine.refine asks the certified search with the loss's bound (79);
    the violated directions it returns become columns and the rounds resume. Reference: the
    CVXPY program (79) over all patterns (``cr.bidual(..., loss=...)``)."""
    from cvxrelu.drivers.loss_driver import _column_generation
    from cvxrelu.drivers.result import Status

    from .test_drivers import _BlindOracle

    X, Y = cr.datasets.figure1()
    beta = 1e-2
    lo = L.get_loss("huber")
    p_star = cr.bidual(X, Y, beta, loss="huber").solve()
    orc = _BlindOracle(X)
    res = _column_generation(X, Y, beta, lo, orc, 1e-6, 300, None, 4, None, False,
                             time.perf_counter(),
                             None, None)
    assert res.info["certified_refinements"] >= 1 and orc.bound_calls >= 2
    assert res.certified and res.lower <= p_star * (1 + 1e-6)
    assert p_star <= res.upper * (1 + 1e-6)
    assert res.status is Status.OPTIMAL and res.certified_rel_gap <= 1e-6
    assert rel(res.network.objective(X, Y, beta, "huber"), res.upper) < 1e-10
