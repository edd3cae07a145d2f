"""One result type for every driver and for :func:`cvxrelu.certify`.

A :class:`SolveResult` (alias :data:`Certificate`) carries a real network, its primal
objective (5) as ``upper`` — an upper bound on p* — and ``lower``, the dual (11) value of a
dual-feasible point, a lower bound on p* *when the oracle was exact*.

Convention for inexact oracles (rank(X) ≥ 4): ``lower`` then holds the value computed with the
heuristic oracle, which may overestimate the true lower bound; ``exact_oracle`` is ``False``,
``certified`` is ``False`` and ``status`` ends in ``"(heuristic lower bound, not certified)"``.
It is never presented as a certified bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..network import ReLUNetwork

__all__ = ["IterationRecord", "SolveResult", "Certificate", "dual_value", "scaled_dual_bound"]


@dataclass(frozen=True)
class IterationRecord:
    """Bounds after one iteration: ``upper``/``lower`` on p*, elapsed ``time`` (s)."""

    iteration: int
    upper: float
    lower: float
    time: float
    n_neurons: int = 0
    oracle_value: float = float("nan")

    @property
    def gap(self) -> float:
        return self.upper - self.lower

    def as_dict(self) -> dict:
        return {"iteration": self.iteration, "upper": self.upper, "lower": self.lower,
                "gap": self.gap, "time": self.time, "n_neurons": self.n_neurons,
                "oracle_value": self.oracle_value}


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
        Dual (11) value of a dual-feasible point (the residual scaled by the oracle): a lower
        bound on p* if ``exact_oracle`` (see the module docstring otherwise).
    status : str
        ``"optimal"`` (relative gap ≤ tol, certified), ``"max_iters"``, ``"time_limit"``,
        ``"stalled"``, ``"certified_gap"`` (certify: a certified but positive gap), …
    exact_oracle : bool
        Whether the dual oracle was exact, i.e. whether ``lower`` is certified.
    history : list of IterationRecord
        Per iteration: upper, lower, time.
    method : str
        Which driver produced the result.
    beta : float
    time : float
        Wall-clock seconds.
    info : dict
        Driver-specific extras (t of the epigraph form, Frank-Wolfe gap, oracle value, ...).
    """

    network: ReLUNetwork
    upper: float
    lower: float
    status: str
    exact_oracle: bool
    history: list = field(default_factory=list)
    method: str = ""
    beta: float = float("nan")
    time: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """upper − lower (≥ 0 up to rounding; a negative gap would be a bug)."""
        return self.upper - self.lower

    @property
    def rel_gap(self) -> float:
        """(upper − lower) / max(|upper|, 1e-300)."""
        return self.gap / max(abs(self.upper), 1e-300)

    @property
    def certified(self) -> bool:
        """Whether ``lower`` is a certified lower bound (exact oracle)."""
        return bool(self.exact_oracle)

    @property
    def iterations(self) -> int:
        return len(self.history)

    def history_array(self) -> np.ndarray:
        """History as an array with columns iteration, upper, lower, time."""
        return np.array([[h.iteration, h.upper, h.lower, h.time] for h in self.history])

    def summary(self) -> str:
        kind = "certified" if self.certified else "heuristic, NOT certified"
        lines = [
            f"{self.method or 'result'}: status={self.status}",
            f"  upper (network objective) = {self.upper:.10g}",
            f"  lower (dual bound, {kind}) = {self.lower:.10g}",
            f"  gap = {self.gap:.3e} (relative {self.rel_gap:.3e})",
            f"  network: {self.network!r}, beta = {self.beta:g}, "
            f"{self.iterations} iterations, {self.time:.3f} s",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"SolveResult(method={self.method!r}, status={self.status!r}, "
                f"upper={self.upper:.8g}, lower={self.lower:.8g}, rel_gap={self.rel_gap:.2e}, "
                f"exact_oracle={self.exact_oracle}, neurons={self.network.n_neurons}, "
                f"iterations={self.iterations}, time={self.time:.3f}s)")


Certificate = SolveResult


def dual_value(Z: np.ndarray, Y: np.ndarray) -> float:
    """Objective of the dual (11): −½‖Z − Y‖² + ½‖Y‖² = ⟨Z, Y⟩ − ½‖Z‖²."""
    return float(np.sum(Z * Y) - 0.5 * np.sum(Z * Z))


def scaled_dual_bound(Z: np.ndarray, Y: np.ndarray, beta: float, omega: float):
    """Best dual value along the ray {sZ : 0 ≤ s ≤ β/ω}, where ω = ω(Z) is the oracle value.

    Every such sZ satisfies ‖(sZ)ᵀ(Xu)_+‖ ≤ β for all ‖u‖ ≤ 1, so it is feasible for (11)
    and its value s⟨Z, Y⟩ − ½s²‖Z‖² is a lower bound on p*. The best s is
    ⟨Z, Y⟩/‖Z‖² clipped to [0, β/ω]. Returns (bound, s).
    """
    zz = float(np.sum(Z * Z))
    zy = float(np.sum(Z * Y))
    if zz <= 0:
        return 0.0, 0.0
    s_max = np.inf if omega <= 0 else beta / omega
    s = min(max(zy / zz, 0.0), s_max)
    return s * zy - 0.5 * s * s * zz, s


def final_status(rel_gap: float, tol: float, exact: bool, default: str) -> str:
    """"optimal" when the relative gap is within tol and the oracle was exact, else
    ``default``; a heuristic oracle proves nothing, so its results never read "optimal"."""
    if not exact:
        head = "heuristic_gap_closed" if rel_gap <= tol else default
        return head + " (heuristic lower bound, not certified)"
    return "optimal" if rel_gap <= tol else default
