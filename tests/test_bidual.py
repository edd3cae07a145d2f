import cvxpy as cp
import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.programs.solvers import mosek_available

from .conftest import rel
from .helpers import adam_objective


@pytest.mark.parametrize("name,beta", [("spiral", 1e-2), ("figure1", 1e-2)])
def test_exact_value_is_attained_by_recovered_network(name, beta, spiral_data, figure1_data):
    X, Y = spiral_data if name == "spiral" else figure1_data
    f = cr.bidual(X, Y, beta)
    assert f.bound == "exact" and f.form == "rays"
    p = f.solve()
    net = f.network()
    # the primal objective (5) of a real network equals the convex value: global optimality
    assert rel(net.objective(X, Y, beta), p) < 1e-5
    assert net.objective(X, Y, beta) >= p - 1e-7 * p
    # without the refit the factorization alone already attains it (exact for 2 rays)
    assert rel(f.network(refit=False).objective(X, Y, beta), p) < 1e-5


@pytest.mark.parametrize("name", ["spiral", "figure1"])
def test_convex_value_below_trained_networks(name, spiral_data, figure1_data):
    torch = pytest.importorskip("torch")  # noqa: F841
    X, Y = spiral_data if name == "spiral" else figure1_data
    beta = 1e-2
    p = cr.bidual(X, Y, beta).solve()
    sgd = adam_objective(X, Y, beta, m=60, steps=1500, seeds=(0, 1))
    assert p <= sgd + 1e-9
    # a long run gets close (the landscape of wide nets is benign): sanity of the scale
    assert sgd <= 1.5 * p


def test_linnerud_rank3_certified_value(linnerud_data):
    X, Y = linnerud_data
    f = cr.bidual(X, Y, 0.1)
    assert f.info["rank"] == 3 and f.bound == "exact"
    p = f.solve()
    # SPEC: the certified optimum on standardized linnerud at beta = 0.1 is 6.86509
    assert abs(p - 6.86509) < 5e-5
    assert rel(f.network().objective(X, Y, 0.1), p) < 1e-5


def _program9(X, y, beta, masks):
    """Pilanci & Ergen's program (9), written directly (one variable pair per pattern)."""
    terms, cons, pen = [], [], 0
    for i in range(masks.shape[1]):
        D = masks[:, i].astype(float)
        A = (2 * D - 1)[:, None] * X
        w, v = cp.Variable(X.shape[1]), cp.Variable(X.shape[1])
        cons += [A @ w >= 0, A @ v >= 0]
        terms.append(cp.multiply(D, X @ (w - v)))
        pen += cp.norm(w) + cp.norm(v)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(sum(terms) - y) + beta * pen), cons)
    return prob.solve(solver="CLARABEL")


@pytest.mark.parametrize("form", ["auto", "rays", "inner"])
def test_single_output_matches_program_9(rng, form):
    X = rng.standard_normal((15, 3))
    y = np.sin(X @ np.array([1.0, -2.0, 0.5]))
    arr = cr.sign_patterns(X)
    ref = _program9(X, y, 0.05, arr.masks)
    f = cr.bidual(X, y, 0.05, patterns=arr, form=form)
    value = f.solve()
    if form == "rays" and f.bound == "lower":  # some rank-3 cells have more than 4 rays
        assert value <= ref * (1 + 1e-6)
    else:
        assert f.bound == "exact"
    assert rel(value, ref) < 1e-6


@pytest.mark.parametrize("d", [2, 3])
def test_paper_below_exact_below_inner(rng, d):
    n, c = 9, 2
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, c))
    beta = 0.1
    exact = cr.bidual(X, Y, beta, form="simplicial")
    paper = cr.bidual(X, Y, beta, form="paper")
    inner = cr.bidual(X, Y, beta, form="inner")
    assert (exact.bound, paper.bound, inner.bound) == ("exact", "lower", "upper")
    pe, pp, pi = exact.solve(), paper.solve(), inner.solve()
    assert pp <= pe + 1e-6 * pe
    assert pe <= pi + 1e-6 * pe
    if d == 2:
        assert rel(pp, pe) < 1e-5  # the relaxation is tight for d = 2
    # the inner form is attained by a real network
    assert rel(inner.network(refit=False).objective(X, Y, beta), pi) < 1e-5


def test_rays_equals_simplicial_rank3(rng):
    X = rng.standard_normal((10, 3))
    Y = rng.standard_normal((10, 2))
    a = cr.bidual(X, Y, 0.1, form="rays")
    b = cr.bidual(X, Y, 0.1, form="simplicial")
    pa, pb = a.solve(), b.solve()
    if a.bound == "exact":
        assert rel(pa, pb) < 1e-6
    else:
        assert pa <= pb + 1e-6


def test_beta_parameter_resolve_matches_fresh_build(figure1_data):
    X, Y = figure1_data
    f = cr.bidual(X, Y, 1e-2)
    f.solve()
    f.beta.value = 0.3
    p2 = f.solve()
    fresh = cr.bidual(X, Y, 0.3).solve()
    assert rel(p2, fresh) < 1e-6
    assert rel(f.network().objective(X, Y, 0.3), p2) < 1e-5


def test_scs_agrees_with_clarabel(figure1_data):
    X, Y = figure1_data
    p_cl = cr.bidual(X, Y, 0.1).solve(solver="CLARABEL")
    p_scs = cr.bidual(X, Y, 0.1).solve(solver="SCS", eps_abs=1e-8, eps_rel=1e-8, max_iters=200000)
    assert rel(p_scs, p_cl) < 1e-4


def test_mosek_if_licensed(figure1_data):
    if not mosek_available():
        pytest.skip("MOSEK not installed or not licensed")
    X, Y = figure1_data
    assert rel(cr.bidual(X, Y, 0.1).solve(solver="MOSEK"), cr.bidual(X, Y, 0.1).solve()) < 1e-6


def test_sampled_patterns_give_upper_bound(rng):
    X = rng.standard_normal((12, 3))
    Y = rng.standard_normal((12, 2))
    exact = cr.bidual(X, Y, 0.1).solve()
    arr = cr.sign_patterns(X, method="sample", n_samples=15, seed=0)
    f = cr.bidual(X, Y, 0.1, patterns=arr)
    assert f.bound == "upper"
    assert f.solve() >= exact - 1e-7
    paper = cr.bidual(X, Y, 0.1, patterns=arr, form="paper")
    assert paper.bound == "unknown"


def test_user_constraint_composes(figure1_data):
    X, Y = figure1_data
    f = cr.bidual(X, Y, 1e-2)
    p = f.solve()
    g = f.with_constraints([f.variables["F"] <= 0.5])
    assert g.bound == "upper"
    q = g.solve()
    assert q >= p - 1e-8
    assert np.max(g.variables["F"].value) <= 0.5 + 1e-6


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(X=np.array([[np.inf, 1.0]] * 3), Y=np.ones(3), beta=1.0), cr.InvalidInputError, "X"),
    (dict(X=np.ones((3, 2)), Y=np.ones(4), beta=1.0), cr.InvalidInputError, "rows"),
    (dict(X=np.eye(3), Y=np.ones(3), beta=0.0), cr.InvalidInputError, "beta"),
    (dict(X=np.eye(3), Y=np.ones(3), beta=-1.0), cr.InvalidInputError, "beta"),
    (dict(X=np.eye(3), Y=np.ones(3), beta=float("nan")), cr.InvalidInputError, "beta"),
    (dict(X=np.zeros((0, 2)), Y=np.ones(0), beta=1.0), cr.InvalidInputError, "empty"),
    (dict(X=np.ones(3), Y=np.ones(3), beta=1.0), cr.InvalidInputError, "2-D"),
    (dict(X=np.eye(3), Y=np.ones(3), beta=1.0, form="fancy"), cr.InvalidInputError, "form"),
    (dict(X=np.eye(3), Y=np.ones(3), beta=1.0, loss="nope"), cr.InvalidInputError, "nope"),
])
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cr.bidual(**kwargs)


def test_missing_solver_and_unsolved_network():
    f = cr.bidual(np.eye(3), np.ones(3), 1.0)
    with pytest.raises(cr.InvalidInputError, match="solve"):
        f.network()
    with pytest.raises(cr.SolverNotInstalledError, match="not installed"):
        f.solve(solver="NOT_A_SOLVER")


def test_iteration_limit_is_an_error_not_a_value(figure1_data):
    X, Y = figure1_data
    f = cr.bidual(X, Y, 1e-2)
    with pytest.raises(cr.SolverError, match="status"):
        f.solve(solver="SCS", max_iters=5)
    assert f.value is None


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_rank4_certified_driver_matches_program_9(seed):
    """c = 1, rank 4 (issue 13, "For c = 1 compare with Pilanci & Ergen's program (9) on all
    patterns"): the cutting-plane driver, whose lower bound at rank 4 comes from the
    branch-and-bound ω̄ of DualOracle.bound, brackets the optimum of program (9) written
    directly over ALL sign patterns, and closes on it."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, 4))
    y = np.maximum(X @ rng.standard_normal(4), 0.0) - 0.5 * np.maximum(
        X @ rng.standard_normal(4), 0.0) + 0.1 * rng.standard_normal(12)
    beta = 0.1
    arr = cr.sign_patterns(X)
    assert arr.exact and arr.masks.shape[1] > 100
    ref = _program9(X, y, beta, arr.masks)
    res = cr.cutting_plane(X, y, beta, tol=1e-7, progress=False, seed=0)
    assert not res.exact_oracle                           # rank 4: the heuristic per call
    assert res.certified and np.isfinite(res.lower)
    assert res.lower <= ref * (1 + 1e-6)                  # certified lower bound ≤ p*
    assert ref <= res.upper * (1 + 1e-6)                  # p* ≤ a real network's objective
    assert rel(res.upper, ref) < 1e-5 and rel(res.lower, ref) < 1e-5
    assert rel(res.network.objective(X, y, beta), res.upper) < 1e-9
