"""The object every builder returns: a CVXPY problem, its β parameter, what its value means.

A :class:`Formulation` never solves anything when it is built. ``solve()`` runs a conic
solver (Clarabel by default) with clear errors; ``bound`` says whether the optimal value is
the exact global optimum p* of training, a lower bound (a relaxation), an upper bound (a
restriction, always attained by a real network), or neither ("unknown": a relaxation over an
incomplete set of patterns). ``network()`` recovers a real network whose primal objective (5)
is an upper bound on p*; for exact forms it equals the convex value, which proves global
optimality.
"""

from __future__ import annotations

import time
from typing import Callable

import cvxpy as cp
import numpy as np

from ._validate import as_beta
from .errors import InvalidInputError, SolverError
from .solvers import run_solver

__all__ = ["Formulation", "combine_bounds"]

#: a recovered network below the reported exact value by more than this (relative) means
#: the solver's answer is wrong; honest solver noise is ~1e-8 on these programs
VERIFY_RTOL = 1e-5
#: absolute slack, in units of the internally rescaled problem (data of order one)
VERIFY_ATOL = 1e-7


def combine_bounds(set_bound: str, patterns_exact: bool) -> str:
    """Bound of a program from the bound of its sets and the completeness of its patterns.

    Fewer patterns restrict the program (value goes up): exact/upper sets stay upper bounds,
    a relaxation over fewer patterns proves nothing ("unknown").
    """
    if patterns_exact:
        return set_bound
    return "upper" if set_bound in ("exact", "upper") else "unknown"


class Formulation:
    """A built convex program of cvxrelu (bi-dual (12), copositive (17), ...).

    Attributes
    ----------
    problem : cp.Problem
        Add constraints with ``cp.Problem(f.problem.objective, f.problem.constraints + [...])``
        or use :meth:`with_constraints`.
    beta : cp.Parameter
        The weight decay; change ``f.beta.value`` and call ``solve()`` again to re-use the
        compiled problem.
    bound : str
        "exact", "lower", "upper" or "unknown": what the optimal value is relative to p*.
    form : str
        The cone-set form used ("rays", "simplicial", "paper", "inner", ...).
    variables : dict
        Named CVXPY variables/expressions of the program (e.g. ``"V"``, the stacked V_i).
    """

    def __init__(self, *, problem: cp.Problem, beta: cp.Parameter, X, Y, program: str,
                 form: str, bound: str, variables: dict, recover: Callable,
                 arrangement=None, loss="squared", info: dict | None = None,
                 before_solve: Callable | None = None, value_scale: float = 1.0):
        self.problem = problem
        self.beta = beta
        self.X = X
        self.Y = Y
        self.program = program
        self.form = form
        self.bound = bound
        self.variables = variables
        self.arrangement = arrangement
        self.loss = loss
        self.info = dict(info or {})
        self._recover = recover
        self._before_solve = before_solve
        self._network = None
        self.value_scale = float(value_scale)
        self._value = None
        self._solved_beta = None
        self.solve_time = None
        self.solver = None

    def __repr__(self) -> str:
        P = self.arrangement.n_patterns if self.arrangement is not None else "-"
        val = "unsolved" if self._value is None else f"value={self._value:.8g}"
        return (f"Formulation(program={self.program!r}, form={self.form!r}, bound={self.bound!r}, "
                f"P={P}, beta={self.beta.value:g}, {val})")

    # ---------------------------------------------------------------- solve
    def solve(self, solver=None, verify: bool = True, **solver_kwargs) -> float:
        """Solve with a conic solver (default Clarabel) and return the optimal value.

        The problem may be built on internally rescaled data (see :mod:`cvxrelu._scaling`);
        the value returned is always on the original scale (``value_scale`` times the
        CVXPY problem's value).

        With ``verify=True`` (default) and an "exact" bound, the network recovered from the
        solution is evaluated in the primal (5): a real network with a lower objective than
        the reported optimum proves the solver's answer wrong (this happens on numerically
        ill-conditioned data), and a :class:`~cvxrelu.errors.SolverError` is raised instead
        of returning a wrong "exact" value.

        Raises :class:`~cvxrelu.errors.SolverError` if the solver fails or ends with any
        status other than optimal, and SolverNotInstalledError for a missing solver.
        """
        as_beta(self.beta.value, "beta")
        if self._before_solve is not None:
            self._before_solve()
        t0 = time.perf_counter()
        self._value = None
        self._network = None
        value = self.value_scale * run_solver(self.problem, solver=solver, **solver_kwargs)
        self.solve_time = time.perf_counter() - t0
        self.solver = solver
        self._value = value
        self._solved_beta = float(self.beta.value)
        if verify and self.bound == "exact":
            self._verify(value, solver)
        return value

    def _verify(self, value: float, solver) -> None:
        beta = float(self.beta.value)
        try:
            net = self._recover(refit=True, solver=solver)
        except SolverError:
            return          # the refit failed; nothing is proven either way
        upper = net.objective(self.X, self.Y, beta, self.loss)
        if upper < value - VERIFY_RTOL * abs(value) - VERIFY_ATOL * self.value_scale:
            self._value = None
            raise SolverError(
                f"the solver reported {value:.10g} as the exact optimum, but a network "
                f"recovered from its solution reaches {upper:.10g}, which is lower: the "
                "solution is numerically wrong (typically nearly rank-deficient data, or a "
                "tiny beta). Use cr.cutting_plane(X, Y, beta) for a certified answer, or "
                "form='inner' (upper bound) / form='paper' (lower bound)."
            )
        self._network = net

    @property
    def value(self) -> float | None:
        """The optimal value of the last successful solve (None before)."""
        return self._value

    @property
    def status(self) -> str | None:
        return self.problem.status

    def with_constraints(self, constraints) -> "Formulation":
        """A copy whose problem has extra constraints (the β parameter is shared).

        Extra constraints restrict the program, so an "exact" bound becomes "upper".
        """
        prob = cp.Problem(self.problem.objective, list(self.problem.constraints) + list(constraints))
        bound = {"exact": "upper", "upper": "upper"}.get(self.bound, "unknown")
        return Formulation(problem=prob, beta=self.beta, X=self.X, Y=self.Y, program=self.program,
                           form=self.form, bound=bound, variables=self.variables,
                           recover=self._recover, arrangement=self.arrangement, loss=self.loss,
                           info=self.info, before_solve=self._before_solve,
                           value_scale=self.value_scale)

    # -------------------------------------------------------------- network
    def network(self, refit: bool = True, solver=None):
        """Recover a network from the solution (Remark 5.1).

        Neurons come from factoring each block V_i = Σ_j h_j g_jᵀ with h_j in the cell; with
        ``refit=True`` the second layer is then re-optimized by a convex group lasso over those
        neurons, which can only lower the objective. The network's ``objective(X, Y, beta)`` is
        an upper bound on p*; it equals ``value`` (to solver accuracy) for exact forms.
        """
        if self._value is None:
            raise InvalidInputError("solve() the formulation before asking for its network.")
        if self._solved_beta != float(self.beta.value):
            raise InvalidInputError("beta changed since the last solve; call solve() again.")
        if refit and solver is None and getattr(self, "_network", None) is not None:
            return self._network
        return self._recover(refit=refit, solver=solver)
