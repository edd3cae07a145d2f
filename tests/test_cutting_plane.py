"""cvxrelu.drivers.cutting_plane: cutting_plane() (Kelley / ACCPM on the dual (73),
App. A.5) and its helpers.

tests/test_drivers.py runs both methods on the spiral / Figure 1 data (rank 2); here:
tiny rank-2 and rank-3 instances against the exact CVXPY program (12) (``cr.bidual``), a warm
start at the optimum, the keyword-only signature, the loss= dispatch, and the module's own
helpers (network_residual over row chunks, warm_directions on rank-deficient data, the
analytic center of ACCPM). References: p* of the bi-dual solved by CVXPY, the networks' own
objective (5), relu(X W1) W2 computed directly, orthogonal projections, and finite
differences of the barrier written here.
"""

import inspect

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.drivers.cutting_plane import (_analytic_center, cutting_plane, network_residual,
                                           warm_directions)
from cvxrelu.drivers.loss_driver import loss_cutting_plane
from cvxrelu.errors import UnsupportedError
from cvxrelu.geometry.oracle import DualOracle

from .helpers import tiny_instance


@pytest.fixture(scope="module", params=[2, 3], ids=["rank2", "rank3"])
def tiny(request):
    """n = 10 samples of rank 2 or 3, c = 2, β = 0.2·ω(Y); p* of the bi-dual (12) by CVXPY."""
    X, Y, beta, _, p_star = tiny_instance(request.param)
    return X, Y, beta, p_star


def test_kelley_and_accpm_agree_with_the_bidual(tiny):
    X, Y, beta, p_star = tiny
    results = {m: cutting_plane(X, Y, beta, method=m, progress=False) for m in ("kelley",
                                                                                 "accpm")}
    for method, res in results.items():
        assert res.exact_oracle and res.certified and res.status == "optimal", method
        assert res.method == f"cutting_plane[{method}]"
        assert res.lower <= p_star * (1 + 1e-7) and res.upper >= p_star * (1 - 1e-7)
        assert abs(res.upper - p_star) <= 1e-5 * p_star
        assert res.network.n_neurons > 0
        assert res.network.objective(X, Y, beta) == pytest.approx(res.upper, rel=1e-10)
        for rec in res.history:                   # every iteration's bounds bracket p*
            assert rec.lower <= p_star * (1 + 1e-7) and rec.upper >= p_star * (1 - 1e-7)
    assert results["kelley"].upper == pytest.approx(results["accpm"].upper, rel=1e-5)


@pytest.mark.parametrize("method", ["kelley", "accpm"])
def test_warm_start_at_the_optimum_is_optimal_from_the_first_iteration(method, tiny):
    """The bi-dual's recovered network as warm start: the first iteration's upper bound is
    already at most its objective (5), which is p* up to the solver's accuracy."""
    X, Y, beta, p_star = tiny
    f = cr.bidual(X, Y, beta)
    f.solve()
    net = f.network()
    obj = net.objective(X, Y, beta)
    assert obj == pytest.approx(p_star, rel=1e-5)
    res = cutting_plane(X, Y, beta, method=method, warm_start=net, progress=False)
    assert res.history[0].upper <= obj * (1 + 1e-12)
    assert res.status == "optimal" and res.upper <= obj * (1 + 1e-12)
    assert res.lower <= p_star * (1 + 1e-7)


def test_everything_after_beta_is_keyword_only():
    params = list(inspect.signature(cutting_plane).parameters.values())
    assert [p.name for p in params[:3]] == ["X", "Y", "beta"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[3:])
    X, Y = np.eye(3, 2), np.ones((3, 1))
    with pytest.raises(TypeError):
        cutting_plane(X, Y, 0.1, 1e-6)                     # tol given positionally


def test_loss_dispatches_to_the_loss_driver():
    """loss= other than squared runs loss_cutting_plane with the same options (same
    bounds); ACCPM is squared-loss only and says so; loss="squared" keeps the method."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((12, 2))
    y = np.sign(rng.standard_normal(12))
    a = cutting_plane(X, y, 0.5, loss="logistic", max_iters=20, progress=False)
    b = loss_cutting_plane(X, y, 0.5, loss="logistic", max_iters=20, n_cuts=8)
    assert a.upper == pytest.approx(b.upper, rel=1e-10)
    assert a.lower == pytest.approx(b.lower, rel=1e-10)
    assert a.lower <= a.upper and a.certified
    with pytest.raises(UnsupportedError, match="method='kelley'"):
        cutting_plane(X, y, 0.5, loss="logistic", method="accpm")
    sq = cutting_plane(X, y, 0.5, loss="squared", method="accpm", progress=False)
    assert sq.method == "cutting_plane[accpm]"


def test_network_residual_over_row_chunks():
    """Y − relu(X W1) W2 accumulated over row chunks (n = 300 with 1500 neurons: two
    chunks) equals the direct product."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((300, 3)), rng.standard_normal((300, 2))
    net = cr.ReLUNetwork(rng.standard_normal((3, 1500)), rng.standard_normal((1500, 2)) / 40)
    ref = Y - np.maximum(X @ net.W1, 0.0) @ net.W2
    np.testing.assert_allclose(network_residual(net, X, Y), ref, rtol=1e-12,
                               atol=1e-12 * np.abs(ref).max())


def test_warm_directions_on_rank_deficient_data():
    """Data of rank 2 in R³: a neuron orthogonal to the data is dropped (its feature is 0);
    the others map back (basis @ u) to the unit projection of u_j onto the row space, so
    (X u)_+ is unchanged up to the scale ‖P u_j‖."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((15, 2)) @ rng.standard_normal((2, 3))
    orc = DualOracle(X)
    null = np.linalg.svd(X)[2][-1]                         # X null = 0
    W1 = np.column_stack([rng.standard_normal(3), 2.5 * null, rng.standard_normal(3)])
    net = cr.ReLUNetwork(W1, np.ones((3, 1)))
    Ur = warm_directions(net, orc)
    assert Ur.shape == (2, 2)
    np.testing.assert_allclose(np.linalg.norm(Ur, axis=0), 1.0, rtol=1e-14)
    P = np.eye(3) - np.outer(null, null)                   # projection onto the row space
    kept = W1[:, [0, 2]]
    proj = P @ kept / np.linalg.norm(P @ kept, axis=0)
    np.testing.assert_allclose(orc.basis @ Ur, proj, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.maximum(X @ (orc.basis @ Ur), 0.0) * np.linalg.norm(
        P @ kept, axis=0), np.maximum(X @ kept, 0.0), rtol=1e-9, atol=1e-10)
    assert warm_directions(None, orc) is None
    assert warm_directions(cr.ReLUNetwork(null[:, None], np.ones((1, 1))), orc) is None


def test_analytic_center_minimizes_the_barrier():
    """ACCPM's query point is the minimizer of Φ(Z) = −log(q(Z) − ℓ) − Σ_k log(β² −
    ‖Zᵀa_k‖²) (q the dual objective of (73)): strictly feasible, zero gradient (central
    finite differences of Φ written here) and no lower value at nearby points."""
    rng = np.random.default_rng(5)
    n, c, K, beta = 8, 2, 4, 1.0
    Y = rng.standard_normal((n, c))
    A = np.maximum(rng.standard_normal((n, 2)) @ rng.standard_normal((2, K)), 0.0)
    q = lambda Z: float(np.sum(Z * Y) - 0.5 * np.sum(Z * Z))  # noqa: E731

    def phi(Z):
        s = beta ** 2 - np.sum((Z.T @ A) ** 2, axis=0)
        if q(Z) <= ell or np.any(s <= 0):
            return np.inf
        return -np.log(q(Z) - ell) - float(np.sum(np.log(s)))

    Z0 = 0.9 * beta / np.linalg.norm(Y.T @ A, axis=0).max() * Y   # strictly inside the cuts
    ell = 0.5 * q(Z0)
    Zc = _analytic_center(Z0, Y, A, beta, ell, max_iter=200, tol=1e-14)
    assert np.isfinite(phi(Zc)) and phi(Zc) < phi(Z0)
    h = 1e-6
    grad = np.zeros_like(Zc)
    for idx in np.ndindex(*Zc.shape):
        E = np.zeros_like(Zc)
        E[idx] = h
        grad[idx] = (phi(Zc + E) - phi(Zc - E)) / (2 * h)
    g0 = np.linalg.norm([(phi(Z0 + h * E) - phi(Z0 - h * E)) / (2 * h)
                         for E in np.eye(n * c).reshape(n * c, n, c)])
    assert np.linalg.norm(grad) <= 1e-5 * g0
    for _ in range(50):                                    # Φ is convex: Zc is its minimum
        D = rng.standard_normal(Zc.shape)
        assert phi(Zc + 1e-3 * D / np.linalg.norm(D)) >= phi(Zc) - 1e-12
