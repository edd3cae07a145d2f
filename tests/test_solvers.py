"""solvers: run_solver's contract — the value of an optimal solve, and a clear CvxReluError
(never a dependency's exception, never a value) for missing or unlicensed solvers, bad options
and statuses that prove nothing."""

import cvxpy as cp
import numpy as np
import pytest

from cvxrelu.programs import solvers
from cvxrelu.errors import InvalidInputError, SolverError, SolverNotInstalledError


def _lp():
    x = cp.Variable(2)
    # min x1 + 2 x2 s.t. x ≥ 0, x1 + x2 ≥ 1: the optimum is 1 at (1, 0)
    return cp.Problem(cp.Minimize(x[0] + 2 * x[1]), [x >= 0, x[0] + x[1] >= 1])


@pytest.mark.parametrize("solver", ["CLARABEL", "SCS", "clarabel"])
def test_value_of_an_optimal_solve(solver):
    assert solvers.run_solver(_lp(), solver=solver) == pytest.approx(1.0, rel=1e-6)


def test_default_solver_is_installed():
    assert solvers.default_solver() in solvers.installed_solvers()


def test_missing_solver():
    missing = next(s for s in ("GUROBI", "CPLEX", "XPRESS", "COPT", "MOSEK")
                   if s not in solvers.installed_solvers())
    with pytest.raises(SolverNotInstalledError, match=missing):
        solvers.run_solver(_lp(), solver=missing)


def test_no_solver_at_all(monkeypatch):
    monkeypatch.setattr(solvers, "_installed", lambda: ("OSQP",))
    with pytest.raises(SolverNotInstalledError, match="clarabel"):
        solvers.default_solver()


def test_unlicensed_mosek_is_detected_and_skipped(monkeypatch):
    # MOSEK "installed" but every solve fails as without a license
    monkeypatch.setattr(solvers, "_installed", lambda: ("MOSEK", "CLARABEL", "SCS"))
    monkeypatch.setattr(solvers, "mosek_available", lambda: False)
    assert solvers.default_solver() == "CLARABEL"
    real_solve = cp.Problem.solve

    def fake_solve(self, *args, solver=None, **kwargs):
        if solver == "MOSEK":
            raise cp.error.SolverError("Mosek license file not found")
        return real_solve(self, *args, solver=solver, **kwargs)

    monkeypatch.setattr(cp.Problem, "solve", fake_solve)
    with pytest.raises(SolverNotInstalledError, match="license"):
        solvers.run_solver(_lp(), solver="MOSEK")


def test_real_mosek_probe_is_consistent():
    # whatever is installed here: mosek_available() is True only if a solve works
    if solvers.mosek_available():
        assert solvers.run_solver(_lp(), solver="MOSEK") == pytest.approx(1.0, rel=1e-6)
    else:
        assert solvers.default_solver() != "MOSEK"


@pytest.mark.parametrize("make,match", [
    (lambda x: [x >= 1, x <= 0], "infeasible"),
    (lambda x: [], "unbounded"),
])
def test_statuses_that_prove_nothing(make, match):
    x = cp.Variable()
    prob = cp.Problem(cp.Minimize(x), make(x))
    with pytest.raises(SolverError, match=match):
        solvers.run_solver(prob, solver="CLARABEL")


def test_bad_options():
    with pytest.raises(InvalidInputError, match="solver"):
        solvers.run_solver(_lp(), solver=3)
    with pytest.raises(InvalidInputError, match="option"):
        solvers.run_solver(_lp(), solver="CLARABEL", not_a_setting=1)


def test_tighter_settings_keep_the_users():
    t = solvers.tighter_settings("clarabel", {"max_iter": 5})
    assert "max_iter" not in t and t["tol_gap_rel"] <= 1e-10
    assert solvers.tighter_settings("OSQP") == {}


def test_no_retry_recorded_when_the_first_solve_is_optimal():
    attempts = []
    solvers.run_solver(_lp(), solver="CLARABEL", attempts=attempts)
    assert attempts == []


@pytest.mark.parametrize("solver", ["CLARABEL", "SCS"])
def test_quadratic_against_closed_form(solver):
    # min ‖x − a‖² + Σ x: x = a − ½, value 3/4 + Σa − 3/2 = 2.25 for a = (0, 1, 2)
    x = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x - np.arange(3.0)) + cp.sum(x)))
    assert solvers.run_solver(prob, solver=solver) == pytest.approx(2.25, rel=1e-6)
