"""Regularization path: one compiled problem, values equal to independent fresh solves."""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.errors import InvalidInputError
from cvxrelu.integrations.path import PathResult, regularization_path


@pytest.fixture(scope="module")
def small():
    # Figure-1 style instance, smaller: exact patterns, c = 3 (form "rays", exact)
    return cr.datasets.figure1(n=12, d=2, c=3, m=20, seed=3)


BETAS = np.array([3e-2, 1e-1, 3e-1, 1.0])


@pytest.fixture
def count_compilations(monkeypatch):
    """Count full canonicalizations: CVXPY runs SolvingChain.apply only when it compiles
    (a cached parametrized program goes through solver.apply directly)."""
    from cvxpy.reductions.solvers.solving_chain import SolvingChain

    calls = {"n": 0}
    original = SolvingChain.apply

    def counting(self, problem, verbose=False):
        calls["n"] += 1
        return original(self, problem, verbose)

    monkeypatch.setattr(SolvingChain, "apply", counting)
    return calls


def test_path_matches_fresh_solves_and_compiles_once(small, count_compilations):
    X, Y = small
    res = regularization_path(X, Y, BETAS, recover=False, method="bidual")
    assert isinstance(res, PathResult) and len(res) == len(BETAS)
    assert count_compilations["n"] == 1          # the problem was canonicalized once
    assert res.n_compilations == 1 and res.n_workers == 1
    path_compiles = count_compilations["n"]
    fresh = []
    for b in BETAS:  # independent reference: a new problem per β
        fresh.append(cr.bidual(X, Y, b).solve(verify=False))   # no refit problem
    assert count_compilations["n"] - path_compiles == len(BETAS)
    np.testing.assert_allclose(res.values, fresh, rtol=1e-6)
    assert all(b == "exact" for b in res.bounds)
    assert np.all(res.solve_times > 0)
    # the value grows with β
    assert np.all(np.diff(res.values) > 0)


def test_path_recovers_networks_with_zero_gap(small):
    X, Y = small
    res = regularization_path(X, Y, BETAS, keep_networks=True, method="bidual")
    assert res.n_compilations == 1       # refits are separate small problems, not counted
    # exact program: the recovered network attains the value (certificate)
    np.testing.assert_allclose(res.upper, res.values, rtol=1e-5)
    assert np.all(np.abs(res.gaps) <= 1e-5 * res.values)
    assert np.all(res.n_neurons >= 1)
    for b, u, net in zip(BETAS, res.upper, res.networks):   # the network's own objective (5)
        fit = 0.5 * np.sum((np.maximum(X @ net.W1, 0) @ net.W2 - Y) ** 2)
        assert abs(u - (fit + 0.5 * b * (np.sum(net.W1 ** 2) + np.sum(net.W2 ** 2)))) <= 1e-9
    recs = res.to_records()
    assert recs[0]["beta"] == BETAS[0] and set(recs[0]) >= {"value", "upper", "gap", "bound"}


def test_path_parallel_chunks_give_same_values(small):
    X, Y = small
    serial = regularization_path(X, Y, BETAS, recover=False, method="bidual")
    par = regularization_path(X, Y, BETAS, n_jobs=2, recover=False, method="bidual")
    assert par.n_workers == 2
    assert par.n_compilations == 2              # once per worker
    np.testing.assert_allclose(par.values, serial.values, rtol=1e-6)
    np.testing.assert_array_equal(par.betas, BETAS)
    assert np.all(np.isnan(par.upper)) and np.all(par.n_neurons == -1)


def test_path_scs_warm_start_agrees(small):
    X, Y = small
    ref = regularization_path(X, Y, BETAS[:2], form="inner", recover=False, method="bidual")
    scs = regularization_path(X, Y, BETAS[:2], method="bidual", form="inner", recover=False,
                              solver="SCS",
                              solver_opts={"eps_abs": 1e-8, "eps_rel": 1e-8})
    assert scs.n_compilations == 1
    np.testing.assert_allclose(scs.values, ref.values, rtol=1e-4)


def test_path_sampled_patterns_shared(small):
    X, Y = small
    arr = cr.sign_patterns(X, method="sample", n_samples=5, seed=0)
    res = regularization_path(X, Y, BETAS[:2], method="bidual", patterns=arr, form="inner",
                              keep_networks=True)
    assert res.bounds == ["upper", "upper"]
    ref = cr.bidual(X, Y, BETAS[1], patterns=arr, form="inner").solve()
    assert abs(res.values[1] - ref) <= 1e-6 * ref
    assert len(res.networks) == 2 and res.networks[0].n_neurons == res.n_neurons[0]


def test_path_on_error_nan(small, monkeypatch):
    X, Y = small
    from cvxrelu.programs.formulation import Formulation

    original = Formulation.solve

    def failing(self, solver=None, **kw):
        if float(self.beta.value) == BETAS[1]:
            raise cr.SolverError("forced failure")
        return original(self, solver=solver, **kw)

    monkeypatch.setattr(Formulation, "solve", failing)
    res = regularization_path(X, Y, BETAS[:2], on_error="nan", recover=False, method="bidual")
    assert np.isfinite(res.values[0]) and np.isnan(res.values[1])
    assert res.statuses[1].startswith("failed")
    with pytest.raises(cr.SolverError):
        regularization_path(X, Y, BETAS[:2], recover=False, method="bidual")


@pytest.mark.parametrize("kwargs, word", [
    ({"betas": []}, "betas"),
    ({"betas": [0.1, -1.0]}, "betas"),
    ({"betas": [0.1], "n_jobs": 0}, "n_jobs"),
    ({"betas": [0.1], "method": "sgd"}, "method"),
    ({"betas": [0.1], "on_error": "skip"}, "on_error"),
    ({"betas": [0.1], "solver_opts": 3, "method": "bidual"}, "solver_opts"),
    ({"method": "bidual"}, "betas"),
    ({"alphas": [1.0, 0.0]}, "alphas"),
    ({"n_alphas": 0}, "n_alphas"),
])
def test_path_bad_inputs(small, kwargs, word):
    X, Y = small
    with pytest.raises(InvalidInputError, match=word):
        regularization_path(X, Y, **kwargs)


def test_path_copositive_program_matches_bidual():
    X, Y = cr.datasets.figure1(n=8, d=2, c=2, m=5, seed=1)
    betas = [0.1, 1.0]
    cop = regularization_path(X, Y, betas, method="copositive", recover=False)
    assert cop.n_compilations == 1
    fresh = [cr.copositive(X, Y, b).solve() for b in betas]
    np.testing.assert_allclose(cop.values, fresh, rtol=1e-6)
    bid = regularization_path(X, Y, betas, recover=False, method="bidual")  # (17), (12): same p*
    np.testing.assert_allclose(cop.values, bid.values, rtol=1e-5)


# ------------------------------------------------------------ the driver engine (default)
def test_driver_path_matches_fresh_bidual_solves(small):
    X, Y = small
    res = regularization_path(X, Y, alphas=[0.5, 0.1, 0.02], tol=1e-8, keep_networks=True)
    assert res.method == "cutting_plane" and res.n_compilations == 0
    lo, up = cr.integrations.path.beta_max(X, Y)
    assert res.beta_max == lo == pytest.approx(up, rel=1e-9)       # rank 2: exact
    np.testing.assert_allclose(res.betas, np.array([0.5, 0.1, 0.02]) * lo, rtol=1e-12)
    assert np.all(res.certified) and res.bounds == ["exact"] * 3
    for b, u, low, net in zip(res.betas, res.upper, res.lower, res.networks):
        p_star = cr.bidual(X, Y, b).solve()              # independent: the exact program (12)
        assert low <= p_star * (1 + 1e-7) and p_star <= u * (1 + 1e-7)
        assert abs(u - p_star) <= 1e-6 * p_star
        assert u == pytest.approx(net.objective(X, Y, b), rel=1e-10)
    np.testing.assert_allclose(res.values, res.upper)
    assert np.all(res.gaps >= 0) and np.all(res.gaps <= 1e-8 * res.upper)


def test_driver_path_is_monotone_in_the_penalty():
    X, Y = cr.datasets.spiral(n_per_class=10)
    alphas = np.geomspace(1.0, 1e-3, 8)
    res = regularization_path(X, Y, alphas=alphas, tol=1e-8)
    assert np.all(res.certified)
    assert res.n_neurons[0] == 0                       # α = 1: the zero network is optimal
    assert res.upper[0] == pytest.approx(0.5 * np.sum(Y ** 2), rel=1e-12)
    scale = res.upper.max()
    # as α (β) decreases: the training loss decreases, the network norm grows
    assert np.all(np.diff(res.losses) <= 1e-6 * scale)
    assert np.all(np.diff(res.path_norms) >= -1e-6 * res.path_norms.max())
    assert res.losses[-1] < 0.5 * res.losses[0] and res.path_norms[-1] > 0
    # and the objective p*(β) itself decreases with β
    assert np.all(np.diff(res.upper) <= 1e-6 * scale)
    np.testing.assert_allclose(res.alphas, alphas, rtol=1e-12)


def test_driver_path_keeps_given_order_and_parallel_agrees(small):
    X, Y = small
    betas = np.array([0.3, 3.0, 0.1, 1.0])
    ser = regularization_path(X, Y, betas, tol=1e-8)
    par = regularization_path(X, Y, betas, tol=1e-8, n_jobs=2)
    np.testing.assert_array_equal(ser.betas, betas)
    assert par.n_workers == 2
    np.testing.assert_allclose(par.upper, ser.upper, rtol=1e-6)
    fresh = [cr.cutting_plane(X, Y, b, tol=1e-8, progress=False).upper for b in betas]
    np.testing.assert_allclose(ser.upper, fresh, rtol=1e-6)
    assert len(ser.to_records()) == 4


def test_beta_max_does_not_depend_on_the_machines_speed(monkeypatch):
    """alpha scales β_max's attained end: it must not change on a slow (loaded) machine, or a
    seeded fit is not reproducible. A clock that advances 10 ms per reading simulates the load."""
    import cvxrelu.geometry.oracle_ascent as ascent
    import cvxrelu.geometry.oracle_bnb as bnb

    rng = np.random.default_rng(7)
    X = rng.standard_normal((120, 10))
    Y = rng.standard_normal((120, 2))
    ref = cr.beta_max(X, Y, seed=0)

    class SlowClock:
        t = 0.0

        def perf_counter(self):
            self.t += 0.01
            return self.t

    clock = SlowClock()
    monkeypatch.setattr(bnb, "time", clock)
    monkeypatch.setattr(ascent, "time", clock)
    assert cr.beta_max(X, Y, seed=0) == ref
    assert ref[0] <= ref[1]
