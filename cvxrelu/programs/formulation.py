"""The base class of every built program: a real CVXPY problem, its β, what its value means.

A :class:`Formulation` never solves anything when it is built. Its ``problem`` is an ordinary
DPP ``cvxpy.Problem`` on the reported scale of (5): it contains the user-facing parameter
``beta`` (so ``f.beta.value = ...; f.problem.solve(solver=...)`` solves for the new β, and
``cvxpylayers.CvxpyLayer(f.problem, parameters=[f.beta], ...)`` differentiates through it),
and its value is the training objective, not an internally rescaled one. The internal
rescaling of :mod:`cvxrelu.programs._scaling` lives in constants of that problem.

``solve()`` solves a second, numerically normalized problem over the *same* variables and
constraints (its objective is the reported one divided by a constant chosen per solve, so
the solver sees a value of order one even at tiny β or on data in units of 1e6), and then
**verifies** the value with a certificate (see :meth:`Formulation.solve`): the recovered
network's objective (5) is an upper bound on p*, and the dual (11) at that network's residual,
scaled by the certified oracle bound ω̄ of :meth:`cvxrelu.geometry.oracle.DualOracle.bound`, a lower
bound. A value outside what its ``bound`` allows is re-solved with tighter settings, and then
refused with a :class:`~cvxrelu.errors.SolverError`; it is never returned.

``bound`` says whether the optimal value is the exact global optimum p* of training, a lower
bound (a relaxation), an upper bound (a restriction, always attained by a real network), or
neither ("unknown": a relaxation over an incomplete set of patterns). Subclasses, one per
program: :class:`cvxrelu.programs.bidual.BiDual` (12), :class:`cvxrelu.programs.copositive.
Copositive` (17), :class:`cvxrelu.programs.conv.ConvBiDual` (50) and
:class:`cvxrelu.programs.spike_free.SpikeFree` (15)/(20).
"""

from __future__ import annotations

import copy
import logging
import time

import cvxpy as cp
import numpy as np

from .._validate import as_beta
from ..errors import InvalidInputError, SolverError
from ..losses import SquaredLoss, get_loss
from .solvers import run_solver, tighter_settings

__all__ = ["Formulation", "ValueCertificate", "combine_bounds", "verify_rtol"]

log = logging.getLogger("cvxrelu")

#: relative tolerance of the verification, per solver: an "exact" value may exceed the
#: recovered network's objective, or fall below the certified dual bound, by at most this
#: fraction of itself (honest solver noise is ~1e-8 for the interior-point solvers)
VERIFY_RTOL = {"CLARABEL": 1e-6, "MOSEK": 1e-6, "ECOS": 1e-6, "SCS": 1e-5}
#: the floor of every comparison (only matters when p* itself is ~0, e.g. Y = 0): the
#: solver's absolute gap tolerance on the normalized solve problem, mapped to the reported
#: scale (value_scale · ν · VERIFY_FLOOR), and rounding relative to ½‖Y‖²
VERIFY_FLOOR = 1e-8


def verify_rtol(solver) -> float:
    """The relative tolerance the verification allows for ``solver`` (default 1e-5)."""
    return VERIFY_RTOL.get(str(solver).upper() if solver else "CLARABEL", 1e-5)


def combine_bounds(set_bound: str, patterns_exact: bool) -> str:
    """Bound of a program from the bound of its sets and the completeness of its patterns.

    Fewer patterns restrict the program (value goes up): exact/upper sets stay upper bounds,
    a relaxation over fewer patterns proves nothing ("unknown").
    """
    if patterns_exact:
        return set_bound
    return "upper" if set_bound in ("exact", "upper") else "unknown"


class ValueCertificate:
    """What the verification of a solve established: ``lower ≤ p* ≤ upper``.

    Attributes
    ----------
    upper : float
        Objective (5) of the recovered network (an upper bound on p*).
    lower : float
        Dual (11)/(79) value at the network's residual, scaled into feasibility with the
        certified oracle bound ω̄ (a lower bound on p*); ``-inf`` when none is available.
    certified : bool
        Whether ``lower`` is certified (always for the squared loss; for other losses only
        where the oracle is exact).
    checked : str
        The inequalities that were checked, in words.
    """

    def __init__(self, upper: float, lower: float, certified: bool, checked: str):
        self.upper, self.lower, self.certified, self.checked = upper, lower, certified, checked

    def __repr__(self) -> str:
        return (f"ValueCertificate(lower={self.lower:.10g}, upper={self.upper:.10g}, "
                f"certified={self.certified}, checked={self.checked!r})")


class Formulation:
    """A built convex program of cvxrelu (bi-dual (12), copositive (17), CNN (50), ...).

    Subclasses build their program in ``__init__`` and implement :meth:`_reported_program`,
    :meth:`_internal_program`, :meth:`_set_internal` and :meth:`recover`.

    Attributes
    ----------
    problem : cp.Problem
        DPP, on the reported scale (its value is the training objective), with ``beta`` as
        its only parameter. Solve it with any solver; add constraints with
        :meth:`with_constraints` or ``cp.Problem(f.problem.objective,
        f.problem.constraints + [...])``.
    beta : cp.Parameter
        The weight decay β of (5); change ``f.beta.value`` and re-solve (``solve()`` or
        ``problem.solve()``): the compiled problem is re-used.
    bound : str
        "exact", "lower", "upper" or "unknown": what the optimal value is relative to p*.
    form : str
        The cone-set form used ("rays", "simplicial", "paper", "inner", ...).
    variables : dict
        Named CVXPY expressions of the program on the original scale (e.g. ``"V"``, the
        stacked V_i, and ``"F"``, the network's outputs on X).
    certificate : ValueCertificate or None
        The bracket established by the last verified solve.
    attempts : list of dict
        Every solver attempt of the last ``solve()`` (solver, settings, outcome); retries
        and fallbacks are also logged at WARNING.
    """

    program = "formulation"

    def __init__(self, X, Y, beta, *, loss, arrangement, scale, form: str, bound: str,
                 info: dict | None = None):
        self.X = X
        self.Y = Y
        self.loss = get_loss(loss)                     # a Loss instance from here on
        self.arrangement = arrangement
        self.scale = scale
        self.form = form
        self.bound = bound
        self.info = dict(info or {})
        self.beta = cp.Parameter(nonneg=True, value=as_beta(beta), name="beta")
        self.value_scale = float(scale.value)
        self.variables: dict = {}
        self._extra: list = []
        self._oracle = None
        self._clear()

    def _clear(self):
        self._value = None
        self._network = None
        self._solved_beta = None
        self.certificate = None
        self.solve_time = None
        self.solver = None
        self.attempts = []

    def _assemble(self) -> None:
        """(Re)build ``problem`` and the internal solve problem; subclasses call it last."""
        obj, cons = self._reported_program()
        self.problem = cp.Problem(cp.Minimize(obj), list(cons) + list(self._extra))
        iobj, icons = self._internal_program()
        self.solve_problem = cp.Problem(cp.Minimize(iobj), list(icons) + list(self._extra))

    # ---------------------------------------------------------------- hooks
    def _reported_program(self):
        """(objective, constraints) on the reported scale, with ``self.beta`` in it (DPP)."""
        raise NotImplementedError

    def _internal_program(self):
        """(objective, constraints) of the normalized problem over the same variables."""
        raise NotImplementedError

    def _set_internal(self, beta: float, norm: float | None) -> float:
        """Set the internal problem's parameters for ``beta``; return ν such that the reported
        value is ``value_scale · ν · solve_problem.value``. ``norm`` (scaled units) overrides
        the default normalization."""
        raise NotImplementedError

    def solve_problem_for(self, solver) -> cp.Problem:
        """The normalized problem ``solve()`` hands to ``solver`` (same variables and
        constraints as ``problem``; its compiled form is cached across β like any DPP
        problem's)."""
        return self.solve_problem

    def _after_solve(self, problem) -> None:
        """Map the solve problem's solution to the variables of ``problem`` (if they differ)."""

    def recover(self, refit: bool = True, solver=None):
        """A real network from the current solution (Remark 5.1, (49))."""
        raise NotImplementedError

    def _dual_data(self):
        """(X_dual, expand) for the dual oracle: the residual Z (n × c) enters as expand(Z)."""
        return self.X, (lambda Z: Z)

    # ---------------------------------------------------------------- solve
    def __repr__(self) -> str:
        P = self.arrangement.n_patterns if self.arrangement is not None else "-"
        val = "unsolved" if self._value is None else f"value={self._value:.8g}"
        return (f"{type(self).__name__}(program={self.program!r}, form={self.form!r}, "
                f"bound={self.bound!r}, P={P}, beta={self.beta.value:g}, {val})")

    def _run(self, beta, solver, kwargs, norm=None, note="") -> float:
        if norm is None and str(solver).upper() == "SCS":
            norm = 1.0      # SCS (first order) converges ~4x slower on the ν = b scaling
        nu = self._nu = self._set_internal(beta, norm)
        record = {"solver": solver or "default", "settings": dict(kwargs), "note": note}
        self.attempts.append(record)
        try:
            problem = self.solve_problem_for(solver)
            raw = run_solver(problem, solver=solver, attempts=self.attempts, **kwargs)
        except SolverError as exc:
            record["outcome"] = f"failed: {exc}"
            raise
        record["outcome"] = problem.status
        self._last_problem = problem
        self._after_solve(problem)
        return self.value_scale * nu * raw

    def solve(self, solver=None, verify: bool = True, **solver_kwargs) -> float:
        """Solve with a conic solver (default Clarabel) and return the verified optimal value.

        The value is on the original scale of (5), equal (to solver accuracy) to
        ``f.problem.solve(solver=...)``. With ``verify=True`` (default) a network is
        recovered and the value checked against a certificate (``f.certificate``):

        - "exact": certified lower ≤ value ≤ network objective;
        - "lower": value ≤ network objective (a lower bound above a real network is wrong);
        - "upper": value ≥ certified lower bound;

        each within :func:`verify_rtol` of the value. A violation is re-solved once with
        tighter settings (:func:`cvxrelu.programs.solvers.tighter_settings`, logged at WARNING and
        recorded in ``f.attempts``), then raises :class:`~cvxrelu.errors.SolverError`
        naming what was checked — a wrong value is never returned.

        Raises :class:`~cvxrelu.errors.SolverError` if the solver fails or ends with any
        status other than optimal, and SolverNotInstalledError for a missing solver.
        """
        beta = as_beta(self.beta.value)
        self._clear()
        t0 = time.perf_counter()
        value = self._run(beta, solver, solver_kwargs)
        if verify:
            problem = self._verify(value, beta, solver)
            if problem is not None:
                name = (solver or "CLARABEL").upper()
                tight = tighter_settings(name, solver_kwargs)
                log.warning("%s: %s; re-solving with tighter settings %s", self.program,
                            problem, tight)
                norm = None
                if self.certificate is not None and self.certificate.upper > 0:
                    norm = self.certificate.upper / self.value_scale
                try:
                    value = self._run(beta, solver, {**solver_kwargs, **tight}, norm=norm,
                                      note=f"retry after: {problem}")
                except SolverError as exc:
                    self._value = None
                    self._network = None
                    raise SolverError(
                        f"{self.program} (form {self.form!r}, bound {self.bound!r}): the "
                        f"solver's value failed its verification: {problem}, and the retry "
                        f"with tighter settings failed ({exc}). Checked: "
                        f"{self.certificate.checked}. The value is not reported.") from exc
                problem = self._verify(value, beta, solver)
                if problem is not None:
                    self._value = None
                    self._network = None
                    raise SolverError(
                        f"{self.program} (form {self.form!r}, bound {self.bound!r}): the "
                        f"solver's value {value:.10g} failed its verification even with "
                        f"tighter settings: {problem}. Checked: {self.certificate.checked}. "
                        "The value is not reported. Use cr.cutting_plane(X, Y, beta) for a "
                        "certified answer, or another form/solver.")
        self.solve_time = time.perf_counter() - t0
        self.solver = solver
        self._value = value
        self._solved_beta = beta
        return value

    # ------------------------------------------------------------- certify
    def _lower_bound(self, net, beta: float):
        """(certified dual lower bound, certified?) at the residual of ``net``."""
        from ..drivers.result import scaled_dual_bound
        from ..geometry.oracle import DualOracle

        if isinstance(self.loss, SquaredLoss):        # the dual (11): the certified oracle
            Xd, expand = self._dual_data()
            Z = self.Y - net.predict(self.X)
            if self._oracle is None:
                self._oracle = DualOracle(Xd)
            # anytime: ω̄ stays certified when the budget stops the search (it is then looser)
            omega = self._oracle.bound(expand(Z), time_limit=self._verify_time()).upper
            return scaled_dual_bound(Z, self.Y, beta, omega)[0], True
        if self._dual_data()[0] is not self.X:
            return -np.inf, False              # CNN with another loss: no oracle wired yet
        from ..drivers.loss_certificate import certify_loss

        if not self.loss.supports_conjugate:
            return -np.inf, False              # a user loss without ℓ*: no dual bound
        cert = certify_loss(net, self.X, self.Y, beta, self.loss,
                            oracle_time_limit=self._verify_time())
        return (cert.lower, True) if cert.exact_oracle else (-np.inf, False)

    def _verify_time(self) -> float:
        """Seconds the certified oracle may spend on a verification: about the solve time
        (anytime: a shorter search gives a looser, still certified, lower bound)."""
        return max(0.25, self.solve_time or 0.0)

    def _verify(self, value: float, beta: float, solver) -> str | None:
        """Check ``value`` against a certificate; return None or what failed (in words)."""
        if self.bound == "unknown":
            return None
        try:
            net = self.recover(refit=True, solver=solver)
        except SolverError as exc:
            log.warning("%s: network recovery failed (%s); the value is unverified",
                        self.program, exc)
            return None
        upper = float(net.objective(self.X, self.Y, beta, self.loss))
        lower, certified = self._lower_bound(net, beta)
        floor = max(VERIFY_FLOOR * self.value_scale * self._nu,
                    1e-15 * 0.5 * float(np.sum(self.Y ** 2)))
        tol = verify_rtol(solver) * abs(value) + floor
        checks = {"exact": "certified lower <= value <= network objective",
                  "lower": "value <= network objective",
                  "upper": "certified lower <= value"}
        self.certificate = ValueCertificate(upper, lower, certified,
                                       checks[self.bound] + f" (relative tolerance {verify_rtol(solver):.0e})")
        self._network = net
        if self.bound in ("exact", "lower") and value > upper + tol:
            return (f"the value {value:.10g} lies above the objective {upper:.10g} of a real "
                    f"network recovered from the solution ({self.bound!r} values cannot)")
        if self.bound in ("exact", "upper") and value < lower - tol:
            return (f"the value {value:.10g} lies below the certified dual lower bound "
                    f"{lower:.10g} ({self.bound!r} values cannot)")
        return None

    # ---------------------------------------------------------- accessors
    @property
    def value(self) -> float | None:
        """The optimal value of the last successful solve (None before)."""
        return self._value

    @property
    def status(self) -> str | None:
        """CVXPY's status of the last ``solve()``."""
        return getattr(self, "_last_problem", self.solve_problem).status

    def with_constraints(self, constraints) -> "Formulation":
        """A copy whose problem has extra constraints (β and the variables are shared).

        Constraints are written in the original-scale expressions of ``f.variables``. They
        restrict the program, so an "exact" bound becomes "upper".
        """
        new = copy.copy(self)
        new._extra = list(self._extra) + list(constraints)
        new.bound = {"exact": "upper", "upper": "upper"}.get(self.bound, "unknown")
        new.info = dict(self.info)
        new._clear()
        new._assemble()
        return new

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
        if refit and solver is None and self._network is not None:
            return self._network
        return self.recover(refit=refit, solver=solver)


class PenalizedFit(Formulation):
    """Programs of the shape ℓ(F, Y) + β · penalty (the bi-dual (12)/(79), the CNN (50)).

    On the internally scaled data (X = x·Xs, Y = y·Ys) the program is ℓ(Fs, Ys) + b·penalty
    with b = β/(x y); the reported problem is y²·ℓ(Fs, Ys) + (y/x)·β·penalty (DPP: β times
    a parameter-free expression). The solve problem is (ℓ + b·penalty)/ν with ν = min(1, b)
    by default, so that its value is of order one at small β.
    """

    def _set_terms(self, fit, penalty, constraints):
        self._fit, self._penalty, self._constraints = fit, penalty, list(constraints)
        self._w_fit = cp.Parameter(nonneg=True, value=1.0, name="fit_weight")
        self._w_pen = cp.Parameter(nonneg=True, value=1.0, name="penalty_weight")

    def _reported_program(self):
        s = self.scale
        return (self.value_scale * self._fit
                + (self.value_scale / (s.x * s.y)) * self.beta * self._penalty,
                self._constraints)

    def _internal_program(self):
        return self._w_fit * self._fit + self._w_pen * self._penalty, self._constraints

    def _set_internal(self, beta: float, norm: float | None) -> float:
        b = self.scale.beta_internal(beta)
        nu = norm if norm else min(1.0, b)
        self._w_fit.value, self._w_pen.value = 1.0 / nu, b / nu
        return nu
