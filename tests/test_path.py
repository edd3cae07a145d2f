"""Regularization path: one compiled problem, values equal to independent fresh solves."""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.errors import InvalidInputError
from cvxrelu.path import PathResult, regularization_path


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
    res = regularization_path(X, Y, BETAS, recover=False)
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
    res = regularization_path(X, Y, BETAS, keep_networks=True)
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
    serial = regularization_path(X, Y, BETAS, recover=False)
    par = regularization_path(X, Y, BETAS, n_jobs=2, recover=False)
    assert par.n_workers == 2
    assert par.n_compilations == 2              # once per worker
    np.testing.assert_allclose(par.values, serial.values, rtol=1e-6)
    np.testing.assert_array_equal(par.betas, BETAS)
    assert np.all(np.isnan(par.upper)) and np.all(par.n_neurons == -1)


def test_path_scs_warm_start_agrees(small):
    X, Y = small
    ref = regularization_path(X, Y, BETAS[:2], form="inner", recover=False)
    scs = regularization_path(X, Y, BETAS[:2], form="inner", recover=False, solver="SCS",
                              solver_opts={"eps_abs": 1e-8, "eps_rel": 1e-8})
    assert scs.n_compilations == 1
    np.testing.assert_allclose(scs.values, ref.values, rtol=1e-4)


def test_path_sampled_patterns_shared(small):
    X, Y = small
    arr = cr.sign_patterns(X, method="sample", n_samples=5, seed=0)
    res = regularization_path(X, Y, BETAS[:2], patterns=arr, form="inner", keep_networks=True)
    assert res.bounds == ["upper", "upper"]
    ref = cr.bidual(X, Y, BETAS[1], patterns=arr, form="inner").solve()
    assert abs(res.values[1] - ref) <= 1e-6 * ref
    assert len(res.networks) == 2 and res.networks[0].n_neurons == res.n_neurons[0]


def test_path_on_error_nan(small, monkeypatch):
    X, Y = small
    from cvxrelu.formulation import Formulation

    original = Formulation.solve

    def failing(self, solver=None, **kw):
        if float(self.beta.value) == BETAS[1]:
            raise cr.SolverError("forced failure")
        return original(self, solver=solver, **kw)

    monkeypatch.setattr(Formulation, "solve", failing)
    res = regularization_path(X, Y, BETAS[:2], on_error="nan", recover=False)
    assert np.isfinite(res.values[0]) and np.isnan(res.values[1])
    assert res.statuses[1].startswith("failed")
    with pytest.raises(cr.SolverError):
        regularization_path(X, Y, BETAS[:2], recover=False)


@pytest.mark.parametrize("kwargs, word", [
    ({"betas": []}, "betas"),
    ({"betas": [0.1, -1.0]}, "betas"),
    ({"betas": [0.1], "n_jobs": 0}, "n_jobs"),
    ({"betas": [0.1], "method": "sgd"}, "method"),
    ({"betas": [0.1], "on_error": "skip"}, "on_error"),
    ({"betas": [0.1], "solver_opts": 3}, "solver_opts"),
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
    bid = regularization_path(X, Y, betas, recover=False)  # (17) and (12) share p*
    np.testing.assert_allclose(cop.values, bid.values, rtol=1e-5)
