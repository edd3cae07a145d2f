"""cvxrelu.drivers.frank_wolfe: Algorithm 1 (App. A.4) on the epigraph form (14).

tests/test_drivers.py checks both variants' bounds on p* (spiral / Figure 1) and the fixed
budget t = t*; here, on a tiny rank-2 instance, the inner problem of (14) for a budget
t < t* that is *not* optimal for β: φ(t) = min ½‖F − Y‖² s.t. path norm ≤ t, its status
T_SOLVED, the paper variant against the fully corrective one at that t, the bisection of
the paper variant against t* of the bi-dual, the loss= dispatch and the atoms' network.
References: p* and t* of the bi-dual (12) solved by CVXPY (``cr.bidual``), φ(t) of the
group lasso over 1 440 grid directions solved by CVXPY, the networks' own objective (5).
"""

import inspect

import cvxpy as cp
import numpy as np
import pytest

from cvxrelu.drivers.frank_wolfe import _Atoms, frank_wolfe
from cvxrelu.drivers.loss_driver import loss_cutting_plane
from cvxrelu.drivers.result import Status
from cvxrelu.errors import UnsupportedError

from .helpers import tiny_instance


@pytest.fixture(scope="module")
def tiny():
    """n = 10, d = c = 2, β = 0.2·ω(Y); p* and t* (path norm of the bi-dual's optimal
    network, the optimal budget of (14)) from CVXPY."""
    X, Y, beta, f, p_star = tiny_instance(2)
    return X, Y, beta, p_star, f.network().balanced().path_norm()


def _fit(net, X, Y):
    R = Y - net.predict(X)
    return 0.5 * float(np.sum(R * R))


def _phi_grid(X, Y, t, m=1440):
    """φ(t) over the neurons u = (cos θ, sin θ) of a fine grid (an upper bound on φ(t),
    close to it): min ½‖A V − Y‖² s.t. Σ_k ‖v_k‖ ≤ t, A = (X U)_+, by CVXPY."""
    th = np.linspace(0, 2 * np.pi, m, endpoint=False)
    A = np.maximum(X @ np.vstack([np.cos(th), np.sin(th)]), 0.0)
    V = cp.Variable((m, Y.shape[1]))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ V - Y)),
                      [cp.sum(cp.norm(V, 2, axis=1)) <= t])
    prob.solve(solver="CLARABEL")
    assert prob.status == cp.OPTIMAL
    return prob.value


def test_fixed_t_solves_the_budget_subproblem(tiny):
    """t = t*/2: the fully corrective variant solves φ(t) (status T_SOLVED, FW gap ≤ tol·fit)
    within the budget; its fit is φ(t) (the grid's value, from below: the grid is a subset
    of all neurons); upper = φ(t) + βt > p*, and the bounds still bracket p*."""
    X, Y, beta, p_star, t_star = tiny
    t = 0.5 * t_star
    res = frank_wolfe(X, Y, beta, t=t, progress=False)
    assert res.status is Status.T_SOLVED and res.status == "t_solved"
    assert "budget-t sub-problem is solved" in res.message
    assert res.info["t"] == t and 0 <= res.info["fw_gap"] <= 1e-6 * _fit(res.network, X, Y)
    net = res.network
    assert net.path_norm() <= t * (1 + 1e-9)
    phi = _phi_grid(X, Y, t)
    fit = _fit(net, X, Y)
    assert fit <= phi * (1 + 1e-7) and fit >= phi * (1 - 1e-3)
    # any network within the budget t < t* has objective (5) ≥ φ(t) + βt: the run's
    assert res.upper == pytest.approx(fit + beta * net.path_norm(), rel=1e-10)
    assert res.upper == pytest.approx(phi + beta * t, rel=1e-3)
    assert res.upper > p_star * (1 + 1e-3)
    assert res.certified and res.lower <= p_star * (1 + 1e-7)


def test_paper_variant_at_fixed_t_approaches_the_fully_corrective_value(tiny):
    """Algorithm 1 as written (α_k = 2/(k+2)) at the same t stays in the budget, is never
    below the fully corrective optimum of the budget-t problem and approaches it (O(1/k))."""
    X, Y, beta, p_star, t_star = tiny
    t = 0.5 * t_star
    fc = frank_wolfe(X, Y, beta, t=t, progress=False)
    ups = []
    for iters in (20, 400):
        res = frank_wolfe(X, Y, beta, t=t, variant="paper", max_iters=iters, progress=False)
        assert res.status == "max_iters" and res.method == "frank_wolfe[paper]"
        assert res.network.path_norm() <= t * (1 + 1e-9)
        assert res.upper >= fc.upper * (1 - 1e-9)
        assert res.network.objective(X, Y, beta) == pytest.approx(res.upper, rel=1e-10)
        assert res.lower <= p_star * (1 + 1e-7)
        ups.append(res.upper)
    assert ups[1] <= ups[0] and ups[1] <= fc.upper * (1 + 1e-3)


def test_paper_bisection_finds_the_optimal_budget(tiny):
    """Without t, Algorithm 1 bisects on λ(t) − β: the final t is t* of the bi-dual's
    network (within the accuracy of 100 inner steps) and the upper bound is near p*."""
    X, Y, beta, p_star, t_star = tiny
    res = frank_wolfe(X, Y, beta, variant="paper", inner_iters=100, bisection_iters=30,
                      progress=False)
    assert abs(res.info["t"] - t_star) <= 0.05 * t_star
    assert p_star * (1 - 1e-7) <= res.upper <= p_star * (1 + 1e-2)
    assert res.lower <= p_star * (1 + 1e-7)
    ts = res.info["bisection"]
    assert len(ts) == 30 and abs(ts[-1][1] - beta) <= 0.05 * beta   # λ(t) → β


def test_loss_dispatch_and_keyword_only_signature():
    params = list(inspect.signature(frank_wolfe).parameters.values())
    assert [p.name for p in params[:3]] == ["X", "Y", "beta"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[3:])
    rng = np.random.default_rng(2)
    X = rng.standard_normal((12, 2))
    y = np.sign(rng.standard_normal(12))
    a = frank_wolfe(X, y, 0.5, loss="logistic", max_iters=20, n_atoms=2, progress=False)
    b = loss_cutting_plane(X, y, 0.5, loss="logistic", max_iters=20, n_cuts=2)
    assert a.upper == pytest.approx(b.upper, rel=1e-10)
    assert a.lower == pytest.approx(b.lower, rel=1e-10) and a.lower <= a.upper
    for kw in (dict(t=1.0), dict(variant="paper"), dict(oracle_budget=10)):
        with pytest.raises(UnsupportedError, match="fully_corrective"):
            frank_wolfe(X, y, 0.5, loss="logistic", **kw)


def test_atoms_merge_a_repeated_direction_and_give_a_balanced_network():
    """_Atoms: a direction added twice is one atom with the weights summed; the network of
    the atoms is balanced (‖u_j‖ = ‖w_j‖) and predicts Σ_k (X u_k)_+ w_kᵀ."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((9, 2))
    atoms = _Atoms(2, 3)
    U = np.array([[0.6, 0.0], [0.8, 1.0]])
    W = rng.standard_normal((3, 3))
    for u, w in ((U[:, 0], W[0]), (U[:, 1], W[1]), (U[:, 0], W[2])):
        atoms.add(u, w, np.maximum(X @ u, 0.0))
    atoms.scale(0.5)
    assert atoms.U.shape == (2, 2) and atoms.A.shape == (9, 2)
    np.testing.assert_allclose(atoms.W, 0.5 * np.vstack([W[0] + W[2], W[1]]), rtol=1e-15)
    net = atoms.network(np.eye(2))
    np.testing.assert_allclose(np.linalg.norm(net.W1, axis=0), np.linalg.norm(net.W2, axis=1),
                               rtol=1e-12)
    F = np.maximum(X @ U, 0.0) @ atoms.W
    np.testing.assert_allclose(net.predict(X), F, rtol=1e-12, atol=1e-12 * np.abs(F).max())
