"""Running a CVXPY problem with clear errors: missing solvers, MOSEK without a license,
and statuses that prove nothing (infeasible, unbounded, inaccurate, iteration limits)."""

from __future__ import annotations

import functools
import warnings

import cvxpy as cp

from ..errors import InvalidInputError, SolverError, SolverNotInstalledError

import logging

__all__ = ["default_solver", "installed_solvers", "mosek_available", "run_solver",
           "tighter_settings"]

log = logging.getLogger("cvxrelu")

_PREFERENCE = ("CLARABEL", "MOSEK", "SCS")


@functools.lru_cache(maxsize=1)
def _installed() -> tuple:
    # cvxpy probes every solver by importing it (~30 ms); solvers do not appear mid-run
    return tuple(cp.installed_solvers())


def installed_solvers() -> list:
    return list(_installed())


@functools.lru_cache(maxsize=1)
def mosek_available() -> bool:
    """True when MOSEK is installed *and* licensed (a tiny problem solves)."""
    if "MOSEK" not in _installed():
        return False
    x = cp.Variable()
    try:
        cp.Problem(cp.Minimize(x), [x >= 1]).solve(solver="MOSEK")
    except Exception:  # no license, expired license, ...
        return False
    return True


def default_solver() -> str:
    for name in _PREFERENCE:
        if name in _installed() and (name != "MOSEK" or mosek_available()):
            return name
    raise SolverNotInstalledError(
        "no conic solver that handles semidefinite cones is installed; "
        "`pip install clarabel` (a dependency of cvxrelu) fixes this."
    )


#: Clarabel settings tried, in order, when a solve ends "optimal_inaccurate" (stalled
#: progress); a retry counts only if it reaches the status "optimal".
CLARABEL_RETRIES = (
    {"static_regularization_constant": 1e-7},
    {"static_regularization_constant": 1e-6, "max_step_fraction": 0.95},
)


#: settings of the verification's retry (see :meth:`cvxrelu.Formulation.solve`)
TIGHTER = {
    "CLARABEL": {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-10, "tol_feas": 1e-10,
                 "max_iter": 2000},
    "SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000},
    "MOSEK": {"mosek_params": {"MSK_DPAR_INTPNT_CO_TOL_REL_GAP": 1e-12,
                               "MSK_DPAR_INTPNT_CO_TOL_PFEAS": 1e-12,
                               "MSK_DPAR_INTPNT_CO_TOL_DFEAS": 1e-12}},
}


def tighter_settings(solver: str, given: dict | None = None) -> dict:
    """Tighter tolerances for ``solver`` than its defaults here (settings the user passed
    explicitly are kept)."""
    given = given or {}
    return {k: v for k, v in TIGHTER.get(str(solver).upper(), {}).items() if k not in given}


def _solve_with_retries(problem, solver, kwargs, record=None):
    attempts = [{}]
    if solver == "CLARABEL":
        attempts += [r for r in CLARABEL_RETRIES if not set(r) & set(kwargs)]
    for k, extra in enumerate(attempts):
        if k:
            log.warning("%s stopped 'optimal_inaccurate'; retrying with %s", solver, extra)
            if record is not None:
                record.append({"solver": solver, "settings": {**kwargs, **extra},
                               "note": "retry after optimal_inaccurate"})
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*dimension greater than 2.*")
            warnings.filterwarnings("ignore", message="Solution may be inaccurate.*")
            value = problem.solve(solver=solver, **kwargs, **extra)
        if record is not None and k:
            record[-1]["outcome"] = problem.status
        if problem.status != cp.OPTIMAL_INACCURATE:
            break
    return value


def run_solver(problem: cp.Problem, solver=None, attempts: list | None = None,
               **kwargs) -> float:
    """Solve ``problem`` and return its value, or raise a :class:`SolverError` that says what
    happened and what to try. Only the statuses ``optimal`` count as a solution.

    Clarabel runs that end "optimal_inaccurate" are retried with other settings
    (``CLARABEL_RETRIES``); each retry is logged at WARNING and appended to ``attempts``
    (a list) when given.

    Examples
    --------
    >>> import cvxpy as cp
    >>> x = cp.Variable()
    >>> round(run_solver(cp.Problem(cp.Minimize(x), [x >= 2]), solver="CLARABEL"), 6)
    2.0
    >>> run_solver(cp.Problem(cp.Minimize(x), [x >= 2, x <= 1]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cvxrelu.errors.SolverError: CLARABEL ended with status 'infeasible' ...
    """
    if solver is None:
        solver = default_solver()
    if not isinstance(solver, str):
        raise InvalidInputError(f"solver must be a solver name such as 'CLARABEL'; got {solver!r}.")
    solver = solver.upper()
    if solver not in _installed():
        raise SolverNotInstalledError(
            f"solver {solver!r} is not installed (installed: {', '.join(_installed())}); "
            f"install it (e.g. `pip install {solver.lower()}`) or pass solver='CLARABEL'."
        )
    kwargs.setdefault("canon_backend", "SCIPY")
    if solver == "CLARABEL":
        # the default of 200 iterations stops some nonsmooth-loss programs "inaccurate"
        kwargs.setdefault("max_iter", 1000)
    elif solver == "SCS":
        # SCS's default eps = 1e-4 left a "lower" bound 0.4 % above a real network (Fig. 4);
        # certificates need tight tolerances (override with eps_abs / eps_rel)
        kwargs.setdefault("eps_abs", 1e-7)
        kwargs.setdefault("eps_rel", 1e-7)
        kwargs.setdefault("max_iters", 100_000)
    try:
        value = _solve_with_retries(problem, solver, kwargs, attempts)
    except TypeError as exc:
        raise InvalidInputError(
            f"a solver option was not accepted by {solver} ({exc}); check the keyword "
            "arguments passed to solve() against the solver's documented settings."
        ) from exc
    except cp.error.SolverError as exc:
        text = str(exc)
        if "licen" in text.lower() or (solver == "MOSEK" and not mosek_available()):
            raise SolverNotInstalledError(
                f"{solver} is installed but has no valid license ({text.strip()[:200]}); "
                "use solver='CLARABEL' or install a MOSEK license."
            ) from exc
        raise SolverError(
            f"{solver} failed ({text.strip()[:300]}); try another solver (solver='SCS' or "
            "'CLARABEL') or rescale the data."
        ) from exc
    status = problem.status
    if status == cp.OPTIMAL:
        return float(value)
    hints = {
        cp.OPTIMAL_INACCURATE: "the solver stopped before reaching its tolerances; try "
                               "solver='CLARABEL', more iterations (max_iter=...), or rescaled data",
        cp.INFEASIBLE: "the constraints cannot all hold; check constraints you added",
        cp.UNBOUNDED: "the objective is unbounded below; check constraints/losses you added",
        cp.INFEASIBLE_INACCURATE: "the solver suspects infeasibility but is not sure",
        cp.UNBOUNDED_INACCURATE: "the solver suspects unboundedness but is not sure",
        cp.USER_LIMIT: "an iteration or time limit was hit; raise it",
    }
    raise SolverError(
        f"{solver} ended with status {status!r} (value {value}); {hints.get(status, 'no solution')}. "
        "Nothing is reported as optimal."
    )
