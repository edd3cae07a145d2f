"""Tests of the certified drivers: cutting planes (App. A.5), Frank-Wolfe (Algorithm 1) and
certify. References: the exact convex program (12) solved by CVXPY (``cvxrelu.bidual``),
the primal objective (5) of the returned networks, and SGD-trained networks."""

import logging

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.datasets import figure1, spiral
from cvxrelu.drivers import SolveResult, Status, certify, cutting_plane, frank_wolfe
from cvxrelu.errors import InvalidInputError

BETA = 1e-2


@pytest.fixture(scope="module")
def spiral_problem():
    X, Y = spiral()
    p_star = cr.bidual(X, Y, BETA).solve()
    return X, Y, p_star


@pytest.fixture(scope="module")
def figure1_problem():
    X, Y = figure1()
    p_star = cr.bidual(X, Y, BETA).solve()
    return X, Y, p_star


def _check_bounds(res, X, Y, p_star, tight=True, slack=1e-7):
    """lower ≤ p* ≤ upper at every iteration; the network attains upper."""
    assert isinstance(res, SolveResult)
    assert res.exact_oracle
    for rec in res.history:
        assert rec.lower <= p_star * (1 + slack), rec
        assert rec.upper >= p_star * (1 - slack), rec
        assert rec.lower <= rec.upper + 1e-12
    assert np.isclose(res.network.objective(X, Y, res.beta), res.upper, rtol=1e-10, atol=1e-12)
    if tight:
        assert res.status == "optimal"
        assert res.rel_gap <= 1e-6
        assert abs(res.upper - p_star) <= 1e-6 * p_star
        assert abs(res.lower - p_star) <= 1e-6 * p_star


@pytest.mark.parametrize("name", ["spiral_problem", "figure1_problem"])
def test_cutting_plane_kelley_matches_bidual(name, request):
    X, Y, p_star = request.getfixturevalue(name)
    res = cutting_plane(X, Y, BETA, progress=False)
    _check_bounds(res, X, Y, p_star)


@pytest.mark.parametrize("name", ["spiral_problem", "figure1_problem"])
def test_frank_wolfe_fully_corrective_matches_bidual(name, request):
    X, Y, p_star = request.getfixturevalue(name)
    res = frank_wolfe(X, Y, BETA, n_atoms=4, progress=False)
    _check_bounds(res, X, Y, p_star)
    assert np.isclose(res.info["t"], res.network.path_norm())


def test_cutting_plane_accpm_bounds(spiral_problem):
    X, Y, p_star = spiral_problem
    res = cutting_plane(X, Y, BETA, method="accpm", tol=1e-3, progress=False)
    _check_bounds(res, X, Y, p_star, tight=False)
    assert res.status == "optimal" and res.rel_gap <= 1e-3
    assert res.method == "cutting_plane[accpm]"


def test_frank_wolfe_paper_variant_bounds(spiral_problem):
    X, Y, p_star = spiral_problem
    # Algorithm 1 as written: bisection over t, α_k = 2/(k+2); slow but always valid bounds
    res = frank_wolfe(X, Y, BETA, variant="paper", max_iters=400, inner_iters=50,
                      progress=False)
    _check_bounds(res, X, Y, p_star, tight=False)
    assert res.status.startswith("max_iters")
    assert res.upper < 0.5 * float(np.sum(Y ** 2))  # improved on the zero network
    ups = [h.upper for h in res.history]
    assert all(b <= a for a, b in zip(ups, ups[1:]))  # best-so-far bounds are monotone


def test_frank_wolfe_fixed_t(spiral_problem):
    X, Y, p_star = spiral_problem
    opt = cutting_plane(X, Y, BETA, tol=1e-8, progress=False)
    t_star = opt.network.path_norm()  # Σ‖u_j‖‖v_j‖ at the optimum = t* of (14)
    res = frank_wolfe(X, Y, BETA, t=t_star, tol=1e-6, n_atoms=4, progress=False)
    _check_bounds(res, X, Y, p_star, tight=False)
    assert res.upper <= p_star * (1 + 1e-4)
    assert res.network.path_norm() <= t_star * (1 + 1e-6)
    paper = frank_wolfe(X, Y, BETA, t=t_star, variant="paper", max_iters=200, progress=False)
    _check_bounds(paper, X, Y, p_star, tight=False)
    assert paper.info["fw_gap"] >= 0
    assert paper.network.path_norm() <= t_star * (1 + 1e-9)


def test_certify_sgd_networks(figure1_problem):
    pytest.importorskip("torch")
    from cvxrelu.networks.baselines import train_sgd

    X, Y, p_star = figure1_problem
    small = train_sgd(X, Y, BETA, m=10, epochs=1500, seed=0)
    cert = certify(small.network, X, Y, BETA)
    assert cert.lower <= p_star * (1 + 1e-7) and p_star <= cert.upper
    assert np.isclose(cert.upper, small.network.objective(X, Y, BETA))
    # the paper's finding: 10 neurons do not reach the global optimum on this instance
    assert cert.upper - p_star > 1e-3 * p_star
    assert cert.rel_gap > 1e-3 and cert.status == "gap"
    # torch modules are accepted and give the same certificate
    cert_t = certify(small.network.to_torch(), X, Y, BETA)
    assert np.isclose(cert_t.lower, cert.lower) and np.isclose(cert_t.upper, cert.upper)


def test_certify_optimal_network(figure1_problem):
    X, Y, p_star = figure1_problem
    res = cutting_plane(X, Y, BETA, tol=1e-9, progress=False)
    cert = certify(res.network, X, Y, BETA)
    # p* from CVXPY/Clarabel is itself accurate to ~1e-8 relative only
    assert cert.lower <= p_star * (1 + 1e-7) and cert.upper >= p_star * (1 - 1e-7)
    assert cert.rel_gap <= 1e-6 and cert.status == "optimal"
    # (W1, W2) pairs are accepted too
    cert2 = certify((res.network.W1, res.network.W2), X, Y, BETA)
    assert np.isclose(cert2.lower, cert.lower)


def test_certify_bidual_network(spiral_problem):
    X, Y, p_star = spiral_problem
    f = cr.bidual(X, Y, BETA)
    f.solve()
    net = f.network()
    cert = certify(net, X, Y, BETA)
    assert cert.lower <= p_star * (1 + 1e-7) and p_star <= cert.upper * (1 + 1e-7)


def test_zero_network_is_optimal_for_huge_beta():
    X, Y = spiral()
    beta = 1e3  # ω(Y) < β: the zero network is globally optimal, p* = ½‖Y‖²
    res = cutting_plane(X, Y, beta, progress=False)
    assert res.status == "optimal" and res.network.n_neurons == 0
    assert np.isclose(res.upper, 0.5 * np.sum(Y ** 2)) and np.isclose(res.lower, res.upper)


def test_rank4_lower_bound_is_certified_by_omega_bar():
    """Issue 13: rank ≥ 4 results end with ω̄ (a certified upper bound on ω), so ``lower`` is
    certified; the heuristic value is never a bound (was: status "heuristic_gap_closed" with
    a lower bound above the network's objective). Reference: brute force over random
    directions (ω̄ must dominate every attained value) and the networks' own objectives."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((15, 4))
    Y = rng.standard_normal((15, 2))
    res = cutting_plane(X, Y, 0.5, progress=False, max_iters=30, seed=0)
    assert not res.exact_oracle and res.certified
    assert isinstance(res.status, Status) and res.status != "heuristic_gap_closed"
    assert 0.0 <= res.lower <= res.upper
    assert res.certified_rel_gap == (res.upper - res.lower) / res.upper
    assert res.status != "optimal" or res.certified_rel_gap <= 1e-6
    ob = res.info["oracle_bound"]
    Z = Y - res.network.predict(X)
    U = rng.standard_normal((4, 200_000))
    U /= np.linalg.norm(U, axis=0)
    brute = np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0).max()
    assert ob.upper >= brute * (1 - 1e-12) and ob.upper >= ob.lower
    if res.status == "oracle_failed":  # the certified search found a violated direction
        assert ob.lower > 0.5 and "failed" in res.message
    for m in (1, 5, 20):  # soundness: below every network's objective
        net = cr.ReLUNetwork(rng.standard_normal((4, m)), rng.standard_normal((m, 2)))
        assert res.lower <= net.objective(X, Y, 0.5)
    cert = certify(res.network, X, Y, 0.5, seed=0)
    assert not cert.exact_oracle and cert.certified
    assert cert.status in ("gap", "optimal") and cert.lower <= cert.upper
    assert np.isclose(cert.upper, res.upper, rtol=1e-10)


def test_progress_and_logging(caplog, spiral_problem):
    X, Y, _ = spiral_problem
    with caplog.at_level(logging.DEBUG, logger="cvxrelu"):
        res = cutting_plane(X, Y, BETA, progress=False)
    assert any("rel gap" in r.getMessage() for r in caplog.records)
    res2 = cutting_plane(X, Y, BETA, progress=True)  # tqdm bar
    assert np.isclose(res.upper, res2.upper)
    text = res.summary()
    assert "upper" in text and "lower" in text and "certified" in text
    assert "SolveResult(" in repr(res)
    arr = res.history_array()
    assert arr.shape == (res.iterations, 4)


def test_input_validation():
    X, Y = spiral()
    with pytest.raises(InvalidInputError, match="beta"):
        cutting_plane(X, Y, -1.0)
    with pytest.raises(InvalidInputError, match="Y has"):
        frank_wolfe(X, Y[:5], 0.1)
    with pytest.raises(InvalidInputError, match="method"):
        cutting_plane(X, Y, 0.1, method="newton")
    with pytest.raises(InvalidInputError, match="variant"):
        frank_wolfe(X, Y, 0.1, variant="away")
    with pytest.raises(InvalidInputError, match="tol"):
        cutting_plane(X, Y, 0.1, tol=0)
    with pytest.raises(InvalidInputError, match="t must"):
        frank_wolfe(X, Y, 0.1, t=-2.0)
    net = cr.ReLUNetwork(np.ones((3, 4)), np.ones((4, 3)))
    with pytest.raises(InvalidInputError, match="features"):
        certify(net, X, Y, 0.1)
    with pytest.raises(InvalidInputError, match="outputs"):
        certify(cr.ReLUNetwork(np.ones((2, 4)), np.ones((4, 2))), X, Y, 0.1)
    with pytest.raises(InvalidInputError, match="network must be"):
        certify("net", X, Y, 0.1)
    for fn in (cutting_plane, frank_wolfe):
        with pytest.raises(InvalidInputError, match="unknown oracle"):
            fn(X, Y, 0.1, oracle="nope")
    with pytest.raises(InvalidInputError, match="unknown oracle"):
        certify(net.__class__(np.ones((2, 4)), np.ones((4, 3))), X, Y, 0.1, oracle="x")


def test_accpm_switches_to_kelley_steps_when_stalled(figure1_problem):
    """Issue 12: ACCPM without progress must not run for hundreds of iterations. The switch
    is forced here (a window of 2 iterations asking for a 99 % decrease); the run must still
    reach the certified optimum p* of the CVXPY program (12)."""
    from cvxrelu.drivers.cutting_plane import _accpm
    from cvxrelu.geometry.oracle import DualOracle

    X, Y, p_star = figure1_problem
    res = _accpm(X, Y, BETA, DualOracle(X), 1e-6, 200, 4, None, False, "accpm-test",
                 stall_window=2, stall_decrease=0.99)
    assert res.info["kelley_steps_from"] is not None
    assert "switched to Kelley steps" in res.message
    assert res.status == "optimal" and res.certified and res.certified_rel_gap <= 1e-6
    assert abs(res.upper - p_star) <= 1e-6 * p_star and res.lower <= p_star * (1 + 1e-7)
    assert np.isclose(res.network.objective(X, Y, BETA), res.upper, rtol=1e-10)


@pytest.mark.parametrize("driver", ["kelley", "accpm", "fc", "paper", "paper_t", "certify"])
def test_zero_targets_give_the_certified_zero_network(driver):
    """Y = 0 ⇒ p* = 0 (every objective (5) is ≥ 0, the zero network attains 0); used to
    raise ZeroDivisionError in frank_wolfe(variant="paper") (issue 12)."""
    X, _ = figure1()
    Y = np.zeros((X.shape[0], 3))
    if driver == "certify":
        res = certify(cr.ReLUNetwork(np.zeros((2, 1)), np.zeros((1, 3))), X, Y, BETA)
    elif driver in ("kelley", "accpm"):
        res = cutting_plane(X, Y, BETA, method=driver, progress=False)
    elif driver == "fc":
        res = frank_wolfe(X, Y, BETA, progress=False)
    else:
        res = frank_wolfe(X, Y, BETA, variant="paper", t=1.0 if driver == "paper_t" else None,
                          progress=False)
    assert res.status == Status.OPTIMAL and res.certified
    assert res.upper == 0.0 and res.lower == 0.0
    assert res.network.objective(X, Y, BETA) == 0.0


def _sgd_like_network(X, Y, m, seed):
    """A non-optimal network: random first layer, least-squares second layer."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((X.shape[1], m))
    H = np.maximum(X @ W1, 0.0)
    W2 = np.linalg.lstsq(H, Y, rcond=None)[0]
    return cr.ReLUNetwork(W1, W2)


@pytest.mark.parametrize("driver", ["kelley", "accpm", "fc", "fc_t", "paper"])
def test_warm_start_is_never_worse_than_the_network_given(driver, figure1_problem):
    """warm_start=: the given network's neurons are columns at iteration 0 and the network is
    a candidate, so even after one iteration upper ≤ its objective (5) (reference: the
    network's own objective, computed independently by ReLUNetwork.objective)."""
    X, Y, p_star = figure1_problem
    net = _sgd_like_network(X, Y, 12, 0)
    obj = net.objective(X, Y, BETA)
    if driver in ("kelley", "accpm"):
        res = cutting_plane(X, Y, BETA, method=driver, max_iters=1, warm_start=net,
                            progress=False)
    elif driver == "fc":
        res = frank_wolfe(X, Y, BETA, max_iters=1, warm_start=(net.W1, net.W2),
                          progress=False)
    elif driver == "fc_t":
        res = frank_wolfe(X, Y, BETA, t=net.path_norm(), max_iters=1, warm_start=net,
                          progress=False)
    else:
        res = frank_wolfe(X, Y, BETA, variant="paper", max_iters=1, warm_start=net,
                          progress=False)
    assert res.upper <= obj * (1 + 1e-12)
    assert np.isclose(res.network.objective(X, Y, BETA), res.upper, rtol=1e-10)
    assert res.certified and res.lower <= p_star * (1 + 1e-7) <= res.upper * (1 + 2e-7)
    if driver in ("kelley", "fc"):  # the master re-weights the given neurons: strictly better
        assert res.upper < obj


def test_warm_start_torch_module_and_convergence(figure1_problem):
    torch = pytest.importorskip("torch")
    X, Y, p_star = figure1_problem
    net = _sgd_like_network(X, Y, 8, 1)
    seq = net.to_torch()
    assert isinstance(seq, torch.nn.Module)
    res = cutting_plane(X, Y, BETA, warm_start=seq, progress=False)
    assert res.status == "optimal" and abs(res.upper - p_star) <= 1e-6 * p_star


def test_warm_start_and_oracle_limits_validation(figure1_problem):
    X, Y, _ = figure1_problem
    with pytest.raises(InvalidInputError, match="warm_start"):
        cutting_plane(X, Y, BETA, warm_start=cr.ReLUNetwork(np.ones((3, 2)), np.ones((2, 1))))
    with pytest.raises(InvalidInputError, match="warm_start"):
        frank_wolfe(X, Y, BETA, warm_start="sgd")
    with pytest.raises(InvalidInputError, match="oracle_time_limit"):
        cutting_plane(X, Y, BETA, oracle_time_limit=0)
    with pytest.raises(InvalidInputError, match="oracle_budget"):
        certify(_sgd_like_network(X, Y, 3, 0), X, Y, BETA, oracle_budget=1.5)


def test_time_limit_is_honoured(spiral_problem):
    X, Y, p_star = spiral_problem
    res = cutting_plane(X, Y, 1e-4, time_limit=0.05, progress=False)
    assert res.status in ("time_limit", "optimal")
    assert res.time < 0.05 + 5.0  # one round at most past the limit (2 loaded cores)
    assert res.certified and res.lower <= res.upper


class _BlindOracle:
    """A deliberately poor iterations' oracle (best of 3 fixed directions, not exact) whose
    ``bound`` is the exact rank-2 oracle: the setting of a heuristic that misses violated
    directions while the certified search finds them."""

    exact = False

    def __init__(self, X):
        self.inner = cr.geometry.oracle.DualOracle(X)
        self.rank, self.basis, self.Xr = self.inner.rank, self.inner.basis, self.inner.Xr
        th = np.array([0.3, 2.4, 4.4])
        self.fixed = np.vstack([np.cos(th), np.sin(th)])
        self.bound_calls = 0

    def reduced(self, Z, k=1, warm=None):
        vals = np.linalg.norm(Z.T @ np.maximum(self.Xr @ self.fixed, 0.0), axis=0)
        order = np.argsort(-vals)[:k]
        return vals[order], self.fixed[:, order]

    def bound(self, Z, time_limit=None, node_budget=None, tol=1e-9, warm=None,
              n_candidates=16):
        self.bound_calls += 1
        return self.inner.bound(Z)


def test_kelley_resumes_with_directions_of_the_certified_search(figure1_problem):
    """When the heuristic finds no violated direction but ``oracle.bound`` does, that
    direction becomes a cut and the iterations resume; the final lower bound is the
    certified one (reference: p* of the CVXPY program (12))."""
    from cvxrelu.drivers.engine import kelley

    X, Y, p_star = figure1_problem
    orc = _BlindOracle(X)
    res = kelley(X, Y, BETA, orc, 1e-6, 500, 4, None, False, "blind")
    assert res.info["certified_refinements"] >= 1 and orc.bound_calls >= 2
    first = res.history[0].upper
    assert res.upper < first
    assert res.certified and res.lower <= p_star * (1 + 1e-7) <= res.upper * (1 + 1e-7)
    assert res.status != "optimal" or res.certified_rel_gap <= 1e-6
    assert np.isclose(res.network.objective(X, Y, BETA), res.upper, rtol=1e-10)


def test_certified_lower_bound_is_sound_on_high_rank_data():
    """Soundness (issue 13): on random rank-4/5 data the certified lower bound of
    cutting_plane, frank_wolfe and certify never exceeds the objective (5) of any network —
    random ones, least-squares-fitted ones, and the drivers' own. (Property test written with
    a seeded loop: each case costs ~0.1 s.)"""
    rng = np.random.default_rng(2024)
    for case in range(6):
        n, d, c = int(rng.integers(6, 20)), int(rng.integers(4, 6)), int(rng.integers(1, 4))
        X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10.0)
        Y = rng.standard_normal((n, c)) * rng.uniform(0.1, 10.0)
        beta = float(10.0 ** rng.uniform(-3, 1)) * float(np.linalg.norm(X) * np.linalg.norm(Y))
        beta /= n
        lim = dict(oracle_time_limit=0.1)  # anytime ω̄: short budgets keep it valid
        cp = cutting_plane(X, Y, beta, max_iters=8, progress=False, seed=case, **lim)
        fw = frank_wolfe(X, Y, beta, max_iters=8, progress=False, seed=case, **lim)
        nets = [cp.network, fw.network] + [_sgd_like_network(X, Y, m, case) for m in (2, 8)]
        nets += [cr.ReLUNetwork(s * rng.standard_normal((d, m)), s * rng.standard_normal((m, c)))
                 for m, s in ((3, 0.1), (10, 1.0))]
        certs = [certify(net, X, Y, beta, seed=case, **lim) for net in nets]
        for res in [cp, fw] + certs:
            assert res.certified and res.status != "heuristic_gap_closed"
            for net in nets:
                assert res.lower <= net.objective(X, Y, beta), (case, res)
