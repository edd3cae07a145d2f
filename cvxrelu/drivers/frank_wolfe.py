"""Frank-Wolfe on the epigraph form (14) of the bi-dual: Algorithm 1 (App. A.4).

Epigraph form (14): ``min ½‖Σ_i D_i X V_i − Y‖² + βt  s.t.  Σ_i γ_i(V_i) ≤ t``. For a fixed
budget t the inner problem φ(t) = min ½‖Σ_i D_i X V_i − Y‖² s.t. Σ_i γ_i(V_i) ≤ t is solved
by Frank-Wolfe. The linear minimization oracle at the residual R solves, per sign pattern,
the semi-NMF / cone-constrained PCA s_i = max_{‖u‖≤1, A_i u≥0} ‖Rᵀ D_i X u‖ and returns the
atom t·u gᵀ of the best pattern; max_i s_i is exactly the dual oracle ω(R) of (11)
(:class:`~cvxrelu.oracle.DualOracle`), which is what is used.

In neuron form the iterate is a network Σ_j (X u_j)_+ v_jᵀ with unit u_j and Σ_j ‖v_j‖ ≤ t,
so every iterate is a real network (an UPPER bound on p*, its objective (5) after balancing),
and its residual, scaled into dual feasibility of (11), gives a LOWER bound on p*.

Variants
--------
``"paper"``
    Algorithm 1 as written: step α_k = 2/(k+2), V ← (1−α)V + α·t·u gᵀ; when t is not
    given, bisection over t on the sign of λ(t) − β, where λ(t) = −φ'(t) is the budget's
    multiplier (= ω(R_t) at the inner optimum; estimated by ⟨R_t, F_t⟩/t, which equals
    ω(R_t) minus the FW gap over t), so that t* solves λ(t*) = β; the bisection is geometric
    on t ∈ [10⁻⁹, 1]·½‖Y‖²/β (βt* ≤ p* ≤ ½‖Y‖²). O(1/k) convergence: fine for a few digits,
    far too slow for 1e-6.
``"fully_corrective"`` (default)
    Fully corrective Frank-Wolfe: after each LMO the weights of all active atoms are
    re-optimized (a group lasso over the active neurons, :mod:`.group_lasso`); atoms that
    get weight 0 are dropped. Without t it works on the penalized form (the Lagrangian of
    (14), whose multiplier is β), which removes the bisection. This is column generation:
    the dual view of Kelley's cutting-plane method (:func:`~cvxrelu.cutting_plane`), one atom
    per iteration unless ``n_atoms`` > 1.

The Frank-Wolfe duality gap of the inner problem, t·ω(R) − ⟨R, F⟩ with F the current output,
is recorded in ``result.info["fw_gap"]``.
"""

from __future__ import annotations

import time

import numpy as np

from .._validate import check_choice
from ..network import ReLUNetwork
from ..oracle import DualOracle
from .cutting_plane import _check_problem, _Columns, _kelley, _positive, _Progress
from .result import IterationRecord, SolveResult, final_status, scaled_dual_bound

__all__ = ["frank_wolfe"]


class _Atoms:
    """Neurons of the Frank-Wolfe iterate: unit directions (r, m) and weights (m, c)."""

    def __init__(self, r, c):
        self.U = np.zeros((r, 0))
        self.W = np.zeros((0, c))
        self.A = None

    def scale(self, factor):
        self.W *= factor

    def add(self, u, w, a):
        if self.U.shape[1]:
            j = int(np.argmax(self.U.T @ u))
            if float(self.U[:, j] @ u) > 1 - 1e-13:
                self.W[j] += w
                return
        self.U = np.hstack([self.U, u[:, None]])
        self.W = np.vstack([self.W, w[None]])
        self.A = a[:, None] if self.A is None else np.hstack([self.A, a[:, None]])

    def network(self, basis):
        nv = np.linalg.norm(self.W, axis=1)
        keep = nv > 0
        s = np.sqrt(nv[keep])
        return ReLUNetwork(basis @ (self.U[:, keep] * s), self.W[keep] / s[:, None])


def _paper_fixed_t(oracle, Y, beta, t, iters, tol, state, fw_tol=0.0):
    """Algorithm 1 for one budget t; updates the global bounds in ``state``.

    Returns the residual of the last iterate and its FW gap.
    """
    Xr = oracle.Xr
    atoms = _Atoms(oracle.rank, Y.shape[1])
    F = np.zeros_like(Y)
    R = Y.copy()
    fw_gap = np.inf
    for k in range(iters):
        vals, Ur = oracle.reduced(R, 1)
        omega, u = float(vals[0]), Ur[:, 0]
        # bounds on p* from the current iterate
        upper = 0.5 * float(np.sum(R * R)) + beta * float(np.sum(np.linalg.norm(atoms.W,
                                                                                  axis=1)))
        lower, _ = scaled_dual_bound(R, Y, beta, omega)
        state.record(upper, lower, atoms, omega)
        fw_gap = t * omega - float(np.sum(R * F))
        if state.done() or fw_gap <= fw_tol:
            break
        a = np.maximum(Xr @ u, 0.0)
        Ra = R.T @ a
        nrm = np.linalg.norm(Ra)
        if nrm <= 0:
            break
        g = Ra / nrm
        alpha = 2.0 / (k + 2.0)
        atoms.scale(1 - alpha)
        atoms.add(u, alpha * t * g, a)
        F = (1 - alpha) * F + alpha * t * np.outer(a, g)
        R = Y - F
    return R, fw_gap


class _State:
    """Best bounds across all iterations, the history and the stopping rule."""

    def __init__(self, oracle, beta, tol, max_iters, time_limit, bar):
        self.oracle, self.beta, self.tol = oracle, beta, tol
        self.max_iters, self.time_limit, self.bar = max_iters, time_limit, bar
        self.t0 = time.perf_counter()
        self.upper, self.lower = np.inf, -np.inf
        self.network = None
        self.history = []
        self.status = "max_iters"
        self.omega = np.nan

    def record(self, upper, lower, atoms, omega):
        self.omega = omega
        if upper < self.upper:
            self.upper, self.network = upper, atoms.network(self.oracle.basis)
        self.lower = max(self.lower, lower)
        rec = IterationRecord(len(self.history) + 1, self.upper, self.lower,
                              time.perf_counter() - self.t0, atoms.U.shape[1], omega)
        self.history.append(rec)
        self.bar.update(rec)

    def done(self) -> bool:
        if self.upper - self.lower <= self.tol * max(abs(self.upper), 1e-300):
            self.status = "optimal"
            return True
        if len(self.history) >= self.max_iters:
            self.status = "max_iters"
            return True
        if self.time_limit is not None and time.perf_counter() - self.t0 > self.time_limit:
            self.status = "time_limit"
            return True
        return False


def _paper(X, Y, beta, oracle, t, tol, max_iters, inner_iters, bisection_iters, time_limit,
           progress):
    bar = _Progress(progress, "frank_wolfe[paper]")
    state = _State(oracle, beta, tol, max_iters, time_limit, bar)
    info = {}
    if t is not None:
        R, fw_gap = _paper_fixed_t(oracle, Y, beta, t, max_iters, tol, state)
        info.update(t=t, fw_gap=fw_gap)
    else:
        hi = 0.5 * float(np.sum(Y * Y)) / beta  # β t* ≤ p* ≤ ½‖Y‖²
        lo = hi * 1e-9
        ts = []
        for _ in range(bisection_iters):
            tm = float(np.sqrt(lo * hi))  # geometric bisection: t* spans many decades
            R, fw_gap = _paper_fixed_t(oracle, Y, beta, tm, inner_iters, tol, state)
            # multiplier of the budget: ω(R) at the exact inner optimum; with an inexact
            # inner solve ⟨R, F⟩/t (= ω(R) − gap/t) is the steadier estimate
            lam = float(np.sum(R * (Y - R))) / tm
            ts.append((tm, lam, float(fw_gap)))
            if state.done():
                break
            if lam > beta:
                lo = tm
            else:
                hi = tm
        info.update(t=float(np.sqrt(lo * hi)), bisection=ts, fw_gap=ts[-1][2] if ts else np.nan)
    res = SolveResult(
        network=state.network, upper=state.upper, lower=state.lower,
        status=final_status((state.upper - state.lower) / max(abs(state.upper), 1e-300), tol,
                             oracle.exact, state.status),
        exact_oracle=oracle.exact, history=state.history, method="frank_wolfe[paper]",
        beta=beta, time=time.perf_counter() - state.t0,
        info=dict(info, oracle_value=state.omega, rank=oracle.rank))
    bar.close(res)
    return res


def _fully_corrective_fixed_t(X, Y, beta, oracle, t, tol, max_iters, n_atoms, time_limit,
                              progress):
    """Fully corrective FW on the constrained inner problem of (14) with budget t."""
    bar = _Progress(progress, "frank_wolfe[fully_corrective]")
    cols = _Columns(oracle, Y, beta)
    state = _State(oracle, beta, tol, max_iters, time_limit, bar)
    R = Y.copy()
    fw_gap = np.inf
    while True:
        vals, Ur = oracle.reduced(R, n_atoms)
        omega = float(vals[0])
        upper = cols.upper(R)
        lower, _ = scaled_dual_bound(R, Y, beta, omega)
        F = Y - R
        fw_gap = t * omega - float(np.sum(R * F))
        proxy = _Atoms(oracle.rank, Y.shape[1])
        proxy.U, proxy.W = cols.U, cols.V
        state.record(upper, lower, proxy, omega)
        loss = 0.5 * float(np.sum(R * R))
        if state.done():
            break
        if fw_gap <= tol * max(loss, 1e-300):
            state.status = "t_solved"  # the epigraph subproblem for this t is solved
            break
        if cols.add(Ur) == 0:
            state.status = "stalled"
            break
        cols.solve(t=t)
        R = cols.residual()
    res = SolveResult(
        network=state.network, upper=state.upper, lower=state.lower,
        status=final_status((state.upper - state.lower) / max(abs(state.upper), 1e-300), tol,
                             oracle.exact, state.status),
        exact_oracle=oracle.exact, history=state.history,
        method="frank_wolfe[fully_corrective]", beta=beta,
        time=time.perf_counter() - state.t0,
        info={"t": t, "fw_gap": fw_gap, "oracle_value": state.omega, "rank": oracle.rank})
    bar.close(res)
    return res


def frank_wolfe(X, Y, beta, t=None, variant: str = "fully_corrective", max_iters=None,
                tol: float = 1e-6, n_atoms: int = 1, inner_iters: int = 200,
                bisection_iters: int = 30, oracle: str = "auto", time_limit=None,
                progress: bool = True, seed=None) -> SolveResult:
    """Frank-Wolfe for the epigraph form (14) of the convex program (12): Algorithm 1.

    Parameters
    ----------
    X : array-like, shape (n, d)
    Y : array-like, shape (n, c) or (n,)
    beta : float
        Weight decay β > 0 of (5).
    t : float, optional
        Budget of (14), Σ_i γ_i(V_i) ≤ t. If None, the optimal t is found: by bisection
        over t (variant "paper", Algorithm 1) or implicitly through the penalized form
        (variant "fully_corrective").
    variant : {"fully_corrective", "paper"}
        See the module docstring. "paper" is Algorithm 1 as written (α_k = 2/(k+2)).
    max_iters : int, optional
        Total number of LMO calls (default 500 for "fully_corrective", 20 000 for "paper").
    tol : float
        Stop when the relative gap (upper − lower)/upper on p* is ≤ tol.
    n_atoms : int
        Atoms added per fully corrective iteration (best distinct cells of the LMO).
    inner_iters : int
        Frank-Wolfe iterations per bisection step (variant "paper", t None).
    bisection_iters : int
        Bisection steps over t (variant "paper", t None).
    oracle : {"auto", "exact", "heuristic"}
        The LMO / dual oracle; "auto" is exact for rank(X) ≤ 3.
    time_limit : float, optional
        Seconds.
    progress : bool
        tqdm bar (iteration, bounds, gap), or DEBUG logging on ``"cvxrelu"`` when False.
    seed : None or int
        Randomness of the heuristic oracle.

    Returns
    -------
    SolveResult
        Bounds on p* (upper: the best iterate network's objective (5); lower: certified dual
        bound (11) when ``exact_oracle``); ``info["t"]`` and ``info["fw_gap"]``.
    """
    X, Y, beta = _check_problem(X, Y, beta)
    variant = check_choice(variant, ("fully_corrective", "paper"), "variant")
    tol = _positive(tol, "tol")
    if max_iters is None:
        max_iters = 500 if variant == "fully_corrective" else 20000
    max_iters = _positive(max_iters, "max_iters", integer=True)
    n_atoms = _positive(n_atoms, "n_atoms", integer=True)
    inner_iters = _positive(inner_iters, "inner_iters", integer=True)
    bisection_iters = _positive(bisection_iters, "bisection_iters", integer=True)
    if t is not None:
        t = _positive(t, "t")
    if time_limit is not None:
        time_limit = _positive(time_limit, "time_limit")
    oracle = check_choice(oracle, ("auto", "exact", "heuristic"), "oracle")
    orc = DualOracle(X, method=oracle, seed=seed)
    if variant == "paper":
        return _paper(X, Y, beta, orc, t, tol, max_iters, inner_iters, bisection_iters,
                      time_limit, progress)
    if t is not None:
        return _fully_corrective_fixed_t(X, Y, beta, orc, t, tol, max_iters, n_atoms,
                                         time_limit, progress)
    res = _kelley(X, Y, beta, orc, tol, max_iters, n_atoms, time_limit, progress,
                  "frank_wolfe[fully_corrective]", single_atom=(n_atoms == 1),
                  method_name="frank_wolfe[fully_corrective]")
    res.info["t"] = float(res.network.path_norm())
    return res
