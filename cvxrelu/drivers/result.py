"""One result type for every driver and for :func:`cvxrelu.certify`, and one status vocabulary.

A :class:`SolveResult` (alias :data:`Certificate`) carries a real network, its primal
objective (5) as ``upper`` — an upper bound on p* — and ``lower``, a **certified** lower bound
on p*: the dual (11) value of Z·s with s ≤ β/ω̄, where ω̄ ≥ ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖ is a
certified upper bound from :meth:`cvxrelu.geometry.oracle.DualOracle.bound` (SPEC, "Semi-infinite dual
(11)": any Z scaled into feasibility gives a lower bound).

Conventions (issue 13):

* ``certified`` is ``True`` exactly when ``lower`` is such a certified bound. When it is
  ``False``, ``lower`` is ``-inf`` (a float, so that ``upper - lower`` and comparisons still
  work; ``gap`` and ``certified_rel_gap`` are then ``inf``). A value computed with a heuristic
  oracle (which may miss the most violated direction and then *over*-estimate the bound) is
  never called a bound: it is kept, for diagnosis only, as ``info["heuristic_lower"]``.
* ``status`` is a :class:`Status` (a ``str`` Enum, so ``res.status == "optimal"`` works).
  ``"optimal"`` always means a *certified* relative gap ≤ tol.
* A certified lower bound above the network's objective is a bug, never noise: it raises
  :class:`~cvxrelu.errors.CertificateError` (rounding of ~1e-10 relative is clipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from .._torch import is_torch_module
from ..errors import CertificateError, InvalidInputError
from ..networks.network import ReLUNetwork

__all__ = ["Status", "IterationRecord", "SolveResult", "Certificate", "dual_value",
           "scaled_dual_bound", "as_network", "final_status", "conclude"]

# relative rounding allowed between a certified lower bound and an upper bound
_ROUNDING = 1e-10


class Status(str, Enum):
    """Why a driver or a certificate stopped. ``str``-compatible: compares equal to its value.

    ``OPTIMAL`` ("optimal")
        Certified relative gap (upper − lower)/|upper| ≤ tol.
    ``GAP`` ("gap")
        A certified lower bound, but the certified gap exceeds tol: :func:`~cvxrelu.certify`,
        or a driver whose iterations found no violated direction while the certified bound
        ω̄ at the end leaves a gap above tol (ω̄ loose, or the heuristic oracle missed a
        direction that the certified search did not find either). Raise
        ``oracle_time_limit`` / ``oracle_budget`` to tighten ω̄.
    ``MAX_ITERS`` ("max_iters"), ``TIME_LIMIT`` ("time_limit")
        The iteration or time budget ran out before the certified gap reached tol.
    ``STALLED`` ("stalled")
        No progress: the oracle only returned existing columns even after an accurate
        master, or ACCPM's gap stopped shrinking (see ``result.message``).
    ``T_SOLVED`` ("t_solved")
        Frank-Wolfe with a fixed budget t: the epigraph sub-problem (14) is solved.
    ``NOT_CERTIFIED`` ("not_certified")
        :func:`final_status` without a certified lower bound (no driver returns it: every
        driver ends with a certified ω̄).
    ``ORACLE_FAILED`` ("oracle_failed")
        The certified search at the end found a violated direction (ω_lo > β: the network is
        provably not optimal and the iterations' heuristic oracle missed it) and no budget
        (iterations, time) was left to use it. A heuristic value above an upper bound alone
        is discarded and never decides the status.
    """

    OPTIMAL = "optimal"
    GAP = "gap"
    MAX_ITERS = "max_iters"
    TIME_LIMIT = "time_limit"
    STALLED = "stalled"
    T_SOLVED = "t_solved"
    NOT_CERTIFIED = "not_certified"
    ORACLE_FAILED = "oracle_failed"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class IterationRecord:
    """Bounds after one iteration: ``upper``/``lower`` on p*, elapsed ``time`` (s).

    ``lower`` is certified (the iterations' oracle was exact) or ``-inf``; a heuristic
    oracle's value is in ``heuristic_lower`` (never a bound).
    """

    iteration: int
    upper: float
    lower: float
    time: float
    n_neurons: int = 0
    oracle_value: float = float("nan")
    heuristic_lower: float = float("nan")

    @property
    def gap(self) -> float:
        return self.upper - self.lower

    def as_dict(self) -> dict:
        return {"iteration": self.iteration, "upper": self.upper, "lower": self.lower,
                "gap": self.gap, "time": self.time, "n_neurons": self.n_neurons,
                "oracle_value": self.oracle_value, "heuristic_lower": self.heuristic_lower}


@dataclass
class SolveResult:
    """Bounds on the global optimum p* of (5) and the network attaining ``upper``.

    Attributes
    ----------
    network : ReLUNetwork
        A real network; ``network.objective(X, Y, beta) == upper`` (up to rounding).
    upper : float
        Primal objective (5) of ``network``: an upper bound on p*.
    lower : float
        A certified lower bound on p* (dual (11) value of a residual scaled by β/ω̄), or
        ``-inf`` when ``certified`` is False (see the module docstring).
    status : Status
        See :class:`Status`; a plain string is converted.
    exact_oracle : bool
        Whether the *iterations'* oracle was exact (rank ≤ 3), i.e. whether every
        ``history[k].lower`` is certified. The final ``lower`` is certified whenever
        ``certified`` is, whatever the rank.
    history : list of IterationRecord
        Per iteration: upper, lower (certified or −inf), heuristic lower, time.
    method : str
        Which driver produced the result.
    beta : float
    time : float
        Wall-clock seconds.
    info : dict
        Driver-specific extras: ``heuristic_lower``, ``oracle_bound`` (the
        :class:`~cvxrelu.geometry.oracle.OracleBound` of the final certificate), ``t``, ``fw_gap``, …
    certified : bool, optional
        Whether ``lower`` is a certified bound; defaults to ``exact_oracle``.
    message : str
        A sentence explaining the status when it is not "optimal".
    """

    network: ReLUNetwork
    upper: float
    lower: float
    status: Status
    exact_oracle: bool
    history: list = field(default_factory=list)
    method: str = ""
    beta: float = float("nan")
    time: float = 0.0
    info: dict = field(default_factory=dict)
    certified: bool | None = None
    message: str = ""

    def __post_init__(self):
        self.status = Status(str(self.status))
        self.upper = float(self.upper)
        self.lower = float(self.lower)
        if self.certified is None:
            self.certified = bool(self.exact_oracle)
        self.certified = bool(self.certified) and bool(np.isfinite(self.lower))
        if not self.certified:
            if np.isfinite(self.lower):
                self.info.setdefault("heuristic_lower", self.lower)
            self.lower = -np.inf
        elif self.lower > self.upper:
            slack = _ROUNDING * max(abs(self.upper), abs(self.lower), 1e-300)
            if self.lower > self.upper + slack:
                raise CertificateError(
                    f"{self.method or 'certificate'}: the certified lower bound {self.lower!r} "
                    f"exceeds the network's objective {self.upper!r}; this is a bug in "
                    "cvxrelu (the oracle's upper bound ω̄ is not valid), please report it.")
            self.lower = self.upper  # rounding only

    @property
    def gap(self) -> float:
        """upper − lower (≥ 0; ``inf`` when the lower bound is not certified)."""
        return self.upper - self.lower

    @property
    def certified_rel_gap(self) -> float:
        """(upper − lower)/max(|upper|, 1e-300) with the certified lower bound (``inf`` when
        there is none)."""
        if not self.certified:
            return np.inf
        return self.gap / max(abs(self.upper), 1e-300)

    @property
    def rel_gap(self) -> float:
        """Alias of :attr:`certified_rel_gap` (there is no other gap)."""
        return self.certified_rel_gap

    @property
    def iterations(self) -> int:
        return len(self.history)

    def history_array(self) -> np.ndarray:
        """History as an array with columns iteration, upper, lower, time."""
        return np.array([[h.iteration, h.upper, h.lower, h.time] for h in self.history])

    def summary(self) -> str:
        ob = self.info.get("oracle_bound")
        how = f", ω̄ by {ob.method}" if ob is not None and getattr(ob, "method", "") else ""
        if self.certified:
            low = f"  lower (certified dual bound{how}) = {self.lower:.10g}"
        else:
            h = self.info.get("heuristic_lower", np.nan)
            low = (f"  lower: none certified (NOT certified heuristic value {h:.10g}, "
                   "not a bound)")
        lines = [
            f"{self.method or 'result'}: status={self.status.value}",
            f"  upper (network objective) = {self.upper:.10g}",
            low,
            f"  certified gap = {self.gap:.3e} (relative {self.certified_rel_gap:.3e})",
            f"  network: {self.network!r}, beta = {self.beta:g}, "
            f"{self.iterations} iterations, {self.time:.3f} s",
        ]
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"SolveResult(method={self.method!r}, status={self.status.value!r}, "
                f"upper={self.upper:.8g}, lower={self.lower:.8g}, "
                f"certified_rel_gap={self.certified_rel_gap:.2e}, certified={self.certified}, "
                f"exact_oracle={self.exact_oracle}, neurons={self.network.n_neurons}, "
                f"iterations={self.iterations}, time={self.time:.3f}s)")


Certificate = SolveResult


def as_network(network) -> ReLUNetwork:
    """A :class:`ReLUNetwork` from a ReLUNetwork, a torch Sequential, or a (W1, W2) pair."""
    if isinstance(network, ReLUNetwork):
        return network
    if is_torch_module(network):
        return ReLUNetwork.from_torch(network)
    if isinstance(network, (tuple, list)) and len(network) == 2:
        return ReLUNetwork(*network)
    if hasattr(network, "network") and isinstance(getattr(network, "network"), ReLUNetwork):
        return network.network  # a SolveResult or an estimator holding one
    raise InvalidInputError(
        "network must be a cvxrelu.ReLUNetwork, a (W1, W2) pair, or torch.nn.Sequential("
        f"Linear(d, m, bias=False), ReLU(), Linear(m, c, bias=False)); got {type(network)!r}.")


def dual_value(Z: np.ndarray, Y: np.ndarray) -> float:
    """Objective of the dual (11): −½‖Z − Y‖² + ½‖Y‖² = ⟨Z, Y⟩ − ½‖Z‖²."""
    return float(np.sum(Z * Y) - 0.5 * np.sum(Z * Z))


def scaled_dual_bound(Z: np.ndarray, Y: np.ndarray, beta: float, omega: float):
    """Best dual value along the ray {sZ : 0 ≤ s ≤ β/ω}, where ω ≥ ω(Z).

    Every such sZ satisfies ‖(sZ)ᵀ(Xu)_+‖ ≤ β for all ‖u‖ ≤ 1, so it is feasible for (11)
    and its value s⟨Z, Y⟩ − ½s²‖Z‖² is a lower bound on p* — *if* ω is an upper bound on
    ω(Z) (the exact value, or ω̄ of :meth:`~cvxrelu.geometry.oracle.DualOracle.bound`). The best s is
    ⟨Z, Y⟩/‖Z‖² clipped to [0, β/ω]. Returns (bound, s).
    """
    zz = float(np.sum(Z * Z))
    zy = float(np.sum(Z * Y))
    if zz <= 0:
        return 0.0, 0.0
    s_max = np.inf if omega <= 0 else beta / omega
    s = min(max(zy / zz, 0.0), s_max)
    return s * zy - 0.5 * s * s * zz, s


def final_status(rel_gap: float, tol: float, exact: bool, default) -> Status:
    """``OPTIMAL`` when the relative gap is within tol and the lower bound is certified
    (``exact``); ``NOT_CERTIFIED`` when it is not; else ``default`` (a :class:`Status` or its
    value)."""
    if not exact:
        return Status.NOT_CERTIFIED
    return Status.OPTIMAL if rel_gap <= tol else Status(str(default))


def _rel(upper: float, lower: float) -> float:
    return (upper - lower) / max(abs(upper), 1e-300)


def conclude(oracle, Z, Y, beta, *, upper, certified_lower=-np.inf, heuristic_lower=None,
             stop_status, tol, time_left=None, oracle_time_limit=None, oracle_budget=None,
             warm=None, evaluated_exactly=False, precomputed=None, budget_exhausted=False,
             dual_bound=None):
    """The final certificate of a driver: one call of ``oracle.bound`` at the residual Z.

    The status is decided by the *certified* gap (issue 13, item 3):

    * ``OPTIMAL`` — certified relative gap ≤ tol;
    * ``ORACLE_FAILED`` — the certified search found a violated direction (ω_lo > β: the
      network is provably not optimal, the iterations' heuristic missed it) and the run had
      no budget left to use it (``budget_exhausted``), or the iterations had stopped on the
      heuristic's word (``stop_status`` OPTIMAL) — the final search contradicts it;
    * ``GAP`` — the iterations found no violated direction (``stop_status`` OPTIMAL) but the
      certified gap exceeds tol (ω̄ loose, or a direction missed);
    * otherwise ``stop_status`` (``MAX_ITERS``, ``TIME_LIMIT``, ``STALLED``, ``T_SOLVED``).

    A heuristic value above ``upper`` alone never decides the status (it is no bound); it is
    only mentioned in the message.

    Parameters
    ----------
    oracle : DualOracle
    Z : ndarray (n, c)
        Residual Y − f(X) of the network attaining ``upper`` (its dual point).
    upper : float
        That network's objective (5).
    certified_lower : float
        Best lower bound already certified during the iterations (exact oracle), or −inf.
    heuristic_lower : float, optional
        Best value the heuristic oracle produced (never a bound); reported in the message
        when it lay above ``upper``.
    stop_status : Status
        Why the iterations stopped. ``OPTIMAL`` here means "the iterations' gap closed".
    time_left : float, optional
        Seconds left of the driver's ``time_limit``; the oracle gets
        ``oracle_time_limit`` if given, else this (else 60 s).
    evaluated_exactly : bool
        The exact oracle already evaluated ω at this very Z (its lower bound is in
        ``certified_lower``): the call is skipped.
    precomputed : OracleBound, optional
        ``oracle.bound(Z)`` already computed by the driver at this Z: used instead of a call.
    budget_exhausted : bool
        The run stopped because an iteration, time or refinement budget ran out.
    dual_bound : callable, optional
        ``dual_bound(Z, ω̄)`` → the certified lower bound of the dual point Z given
        ω̄ ≥ ω(Z): the squared loss's ``scaled_dual_bound(Z, Y, β, ω̄)[0]`` (11) by default,
        −ℓ*(sZ) of (79) for other losses (:func:`~cvxrelu.drivers.loss_certificate.loss_dual_bound`).

    Returns
    -------
    (lower, status, message, oracle_bound)
        ``lower`` is certified; ``oracle_bound`` is the :class:`~cvxrelu.geometry.oracle.OracleBound`
        (None when skipped).
    """
    if dual_bound is None:
        def dual_bound(Zd, omega):
            return scaled_dual_bound(Zd, Y, beta, omega)[0]
    ob = None
    lower = float(certified_lower)
    if precomputed is None and _rel(upper, lower) <= tol:
        return lower, Status.OPTIMAL, "", None    # already certified: no search needed
    if precomputed is not None:
        ob = precomputed
        lower = max(lower, dual_bound(Z, ob.upper))
    elif not evaluated_exactly:
        limit = oracle_time_limit
        if limit is None:
            limit = 60.0 if time_left is None else time_left
        limit = max(float(limit), 1e-3)
        ob = oracle.bound(Z, time_limit=limit, node_budget=oracle_budget, warm=warm)
        if not (np.isfinite(ob.upper) and ob.upper >= 0):
            raise CertificateError(f"the oracle returned an invalid upper bound ω̄ = "
                                   f"{ob.upper!r}; please report this.")
        lower = max(lower, dual_bound(Z, ob.upper))
    rel = _rel(upper, lower)
    if rel <= tol:
        return lower, Status.OPTIMAL, "", ob
    missed = (ob is not None and not getattr(oracle, "exact", False)
              and ob.lower > beta * (1 + 1e-9))
    heur_note = ""
    if (heuristic_lower is not None and np.isfinite(heuristic_lower)
            and heuristic_lower > upper + _ROUNDING * 10 * max(abs(upper), 1e-300)):
        heur_note = (f" (a heuristic value {heuristic_lower:.10g} lay above the network's "
                     f"objective {upper:.10g} during the iterations and was discarded)")
    if missed and (budget_exhausted or stop_status == Status.OPTIMAL):
        msg = (f"the heuristic dual oracle failed to find the most violated direction: the "
               f"certified search found ω = {ob.lower:.10g} > β = {beta:.6g}{heur_note}, and "
               f"no budget was left to use it; the certified relative gap is {rel:.3e}. "
               "Raise max_iters / time_limit, pass warm_start= (e.g. an SGD network) or "
               "raise oracle_time_limit / oracle_budget.")
        return lower, Status.ORACLE_FAILED, msg, ob
    if stop_status == Status.OPTIMAL:
        msg = (f"the iterations' oracle found no violated direction, but the certified bound "
               f"ω̄ = {ob.upper if ob is not None else float('nan'):.6g} leaves a relative gap "
               f"of {rel:.3e} > tol = {tol:g}{heur_note}; raise oracle_time_limit / "
               "oracle_budget.")
        return lower, Status.GAP, msg, ob
    msgs = {Status.MAX_ITERS: "max_iters reached", Status.TIME_LIMIT: "time_limit reached",
            Status.STALLED: "no progress", Status.T_SOLVED: "the budget-t sub-problem is solved"}
    msg = (f"{msgs.get(stop_status, str(stop_status))}; certified relative gap "
           f"{rel:.3e}{heur_note}.")
    return lower, Status(str(stop_status)), msg, ob
