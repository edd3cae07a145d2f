"""Frank-Wolfe on the epigraph form (14) of the bi-dual: Algorithm 1 (App. A.4).

Epigraph form (14): ``min ½‖Σ_i D_i X V_i − Y‖² + βt  s.t.  Σ_i γ_i(V_i) ≤ t``. For a fixed
budget t the inner problem φ(t) = min ½‖Σ_i D_i X V_i − Y‖² s.t. Σ_i γ_i(V_i) ≤ t is solved
by Frank-Wolfe. The linear minimization oracle at the residual R solves, per sign pattern,
the semi-NMF / cone-constrained PCA s_i = max_{‖u‖≤1, A_i u≥0} ‖Rᵀ D_i X u‖ and returns the
atom t·u gᵀ of the best pattern; max_i s_i is exactly the dual oracle ω(R) of (11)
(:class:`~cvxrelu.geometry.oracle.DualOracle`), which is what is used.

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

Every variant runs on the shared engine (:class:`cvxrelu.drivers.engine.Run`: bounds,
history, budget, stopping, final certificate); the query rule is the Frank-Wolfe iterate's
residual. Without t the fully corrective variant *is* the engine's Kelley loop
(:func:`cvxrelu.drivers.engine.column_generation`).
"""

from __future__ import annotations

import numpy as np

from .._validate import as_positive, check_choice
from ..errors import UnsupportedError
from ..losses import SquaredLoss, get_loss
from ..networks.network import ReLUNetwork
from ..geometry.oracle import DualOracle
from .columns import Columns, DenseFeatures
from .engine import (Run, check_problem, kelley, network_residual, warm_directions,
                     warm_network)
from .options import driver_options
from .loss_driver import loss_cutting_plane
from .result import IterationRecord, SolveResult, Status, scaled_dual_bound

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
        """The balanced network of the atoms (unit u_k, weights w_k; Remark 5.1)."""
        return ReLUNetwork(basis @ self.U, self.W).balanced()


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
        if state.done():
            break
        vals, Ur = oracle.reduced(R, 1, state.warm_for(atoms.U))
        omega, u = float(vals[0]), Ur[:, 0]
        # bounds on p* from the current iterate
        upper = 0.5 * float(np.sum(R * R)) + beta * float(np.sum(np.linalg.norm(atoms.W,
                                                                                  axis=1)))
        lower, _ = scaled_dual_bound(R, Y, beta, oracle.value_bound(R, omega)
                                     if oracle.exact else omega)
        state.step(upper, lower, lambda: atoms.network(oracle.basis), atoms.U.shape[1],
                   omega, R)
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


class _State(Run):
    """:class:`~cvxrelu.drivers.engine.Run` with Frank-Wolfe's query rule: the iterate's
    residual R, and the warm directions of the heuristic LMO."""

    def __init__(self, X, Y, oracle, beta, tol, max_iters, time_limit, progress, desc,
                 warm_net=None):
        super().__init__(oracle, Y, beta, tol=tol, max_iters=max_iters,
                         time_limit=time_limit, progress=progress, desc=desc)
        self.warm_dirs = warm_directions(warm_net, oracle)
        if warm_net is not None:  # the given network is a candidate as it is
            self.offer_warm_network(warm_net, X, network_residual(warm_net, X, Y))

    def warm_for(self, U):
        """Warm directions for the heuristic oracle: the current atoms and the warm start."""
        if self.oracle.exact:
            return None
        parts = [P for P in (U, self.warm_dirs) if P is not None and P.shape[1]]
        return np.hstack(parts) if parts else None

    def step(self, upper, lower, network_fn, n_atoms, omega, R):
        """Offer the iterate (its network, its residual R, the oracle's value at R)."""
        self.bounds.offer_network(upper, network_fn, R, True)
        self.bounds.offer_lower(lower)
        self.record(n_atoms, omega)


def _paper(X, Y, beta, oracle, t, tol, max_iters, inner_iters, bisection_iters, time_limit,
           progress, warm_net=None, oracle_time_limit=None, oracle_budget=None):
    state = _State(X, Y, oracle, beta, tol, max_iters, time_limit, progress,
                   "frank_wolfe[paper]", warm_net)
    info = {}
    if t is not None:
        R, fw_gap = _paper_fixed_t(oracle, Y, beta, t, max_iters, tol, state)
        info.update(t=t, fw_gap=fw_gap)
    else:
        hi = 0.5 * float(np.sum(Y * Y)) / beta  # β t* ≤ p* ≤ ½‖Y‖² (> 0: Y = 0 is handled)
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
    info["oracle_value"] = state.omega
    return state.finish(X, oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget,
                        info=info, warm=_original(oracle, state.warm_dirs))


def _original(oracle, Ur):
    return None if Ur is None else oracle.basis @ Ur


def _fully_corrective_fixed_t(X, Y, beta, oracle, t, tol, max_iters, n_atoms, time_limit,
                              progress, warm_net=None, oracle_time_limit=None,
                              oracle_budget=None):
    """Fully corrective FW on the constrained inner problem of (14) with budget t."""
    cols = Columns(DenseFeatures(oracle.Xr), Y, beta)
    state = _State(X, Y, oracle, beta, tol, max_iters, time_limit, progress,
                   "frank_wolfe[fully_corrective]", warm_net)
    R = Y.copy()
    if state.warm_dirs is not None and cols.add(state.warm_dirs):
        cols.solve(t=t)  # the warm neurons, re-weighted within the budget t
        R = cols.residual()
    fw_gap = np.inf
    while True:
        if state.done():
            break
        vals, Ur = oracle.reduced(R, n_atoms, state.warm_for(cols.U if cols.K else None))
        omega = float(vals[0])
        upper = cols.upper(R)
        lower, _ = scaled_dual_bound(R, Y, beta, oracle.value_bound(R, omega)
                                     if oracle.exact else omega)
        F = Y - R
        fw_gap = t * omega - float(np.sum(R * F))
        state.step(upper, lower, lambda: cols.network(oracle.basis), cols.K, omega, R)
        loss = 0.5 * float(np.sum(R * R))
        if state.done():
            break
        if fw_gap <= tol * max(loss, 1e-300):
            state.status = Status.T_SOLVED  # the epigraph subproblem for this t is solved
            break
        if cols.add(Ur) == 0:
            state.status = Status.STALLED
            break
        cols.solve(t=t)
        R = cols.residual()
    return state.finish(X, oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget,
                        info={"t": t, "fw_gap": fw_gap, "oracle_value": state.omega},
                        warm=_original(oracle, cols.U) if cols.K else None)


def _zero_targets(X, Y, beta, method):
    """Y = 0: p* = 0, attained by the zero network (every objective (5) is ≥ 0), certified."""
    net = ReLUNetwork(np.zeros((X.shape[1], 0)), np.zeros((0, Y.shape[1])))
    return SolveResult(network=net, upper=0.0, lower=0.0, status=Status.OPTIMAL,
                       exact_oracle=True, history=[IterationRecord(1, 0.0, 0.0, 0.0, 0, 0.0)],
                       method=method, beta=beta, time=0.0,
                       info={"t": 0.0, "fw_gap": 0.0, "oracle_value": 0.0}, certified=True,
                       message="Y = 0: the zero network is optimal (p* = 0).")


def frank_wolfe(X, Y, beta, *, t=None, variant: str = "fully_corrective", max_iters=None,
                tol: float = 1e-6, n_atoms: int = 1, inner_iters: int = 200,
                bisection_iters: int = 30, oracle: str = "auto", time_limit=None,
                progress: bool = True, seed=None, warm_start=None,
                oracle_time_limit: float | None = None,
                oracle_budget: int | None = None, loss=None) -> SolveResult:
    """Frank-Wolfe for the epigraph form (14) of the convex program (12): Algorithm 1.

    With ``loss=`` (other than squared) the fully corrective variant runs on (76)/(79): one
    atom per iteration (``n_atoms``) and a full re-solve of the weights over all atoms with
    that loss — :func:`cvxrelu.drivers.loss_driver.loss_cutting_plane` with ``n_cuts=n_atoms``.

    All arguments after ``(X, Y, beta)`` are keyword-only.

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
        Stop when the relative gap (upper − lower)/upper on p* is ≤ tol; "optimal" only when
        the certified gap is.
    n_atoms : int
        Atoms added per fully corrective iteration (best distinct cells of the LMO).
    inner_iters : int
        Frank-Wolfe iterations per bisection step (variant "paper", t None).
    bisection_iters : int
        Bisection steps over t (variant "paper", t None).
    oracle : {"auto", "exact", "heuristic"}
        The LMO of the iterations; "auto" is exact per call for rank(X) ≤ 2 and for rank 3 up to
        ``cvxrelu.geometry.oracle.RANK3_EXACT_ROWS`` (500) rows; above, an ascent per iteration
        and the certified ``bound()``. The final certificate
        always uses the certified bound ω̄ of :meth:`~cvxrelu.geometry.oracle.DualOracle.bound`.
    time_limit : float, optional
        Seconds for the whole run; what is left goes to the final certificate.
    progress : bool
        tqdm bar (iteration, bounds, gap), or DEBUG logging on ``"cvxrelu"`` when False.
    seed : None or int
        Randomness of the heuristic oracle.
    warm_start : ReLUNetwork, (W1, W2) or torch.nn.Sequential, optional
        A network whose neurons start the active set (fully corrective: columns of the
        master at iteration 0) and whose directions seed the heuristic LMO; the network
        itself is a candidate, so ``upper ≤ warm_start.objective(X, Y, beta)``.
    oracle_time_limit, oracle_budget : optional
        Time (s) and node budget of the final certified bound ω̄ (see
        :func:`~cvxrelu.cutting_plane`).
    loss : str or Loss, optional
        The training loss (default squared); other losses need ``variant="fully_corrective"``
        and ``t=None``.

    Returns
    -------
    SolveResult
        Bounds on p* (upper: the best iterate network's objective (5); lower: certified dual
        bound (11) with ω̄); ``info["t"]`` and ``info["fw_gap"]``. Y = 0 returns the zero
        network, certified optimal (p* = 0).
    """
    variant = check_choice(variant, ("fully_corrective", "paper"), "variant")
    if loss is not None and not isinstance(get_loss(loss), SquaredLoss):
        if variant != "fully_corrective" or t is not None or oracle_budget is not None:
            raise UnsupportedError(
                "frank_wolfe with a loss other than squared supports variant="
                "'fully_corrective' without t= or oracle_budget=; drop those arguments.")
        return loss_cutting_plane(X, Y, beta, loss=loss, tol=tol,
                                  max_iters=500 if max_iters is None else max_iters,
                                  time_limit=time_limit, n_cuts=n_atoms, oracle=oracle,
                                  warm_start=warm_start, progress=progress, seed=seed,
                                  oracle_time_limit=oracle_time_limit,
                                  oracle_budget=oracle_budget)
    X, Y, beta = check_problem(X, Y, beta)
    if max_iters is None:
        max_iters = 500 if variant == "fully_corrective" else 20000
    n_atoms = as_positive(n_atoms, "n_atoms", integer=True)   # its own name in messages
    opt = driver_options(tol=tol, max_iters=max_iters, n_cuts=n_atoms, time_limit=time_limit,
                         oracle=oracle, oracle_time_limit=oracle_time_limit,
                         oracle_budget=oracle_budget)
    tol, max_iters, n_atoms, time_limit = opt.tol, opt.max_iters, opt.n_cuts, opt.time_limit
    oracle, oracle_time_limit, oracle_budget = (opt.oracle, opt.oracle_time_limit,
                                                opt.oracle_budget)
    inner_iters = as_positive(inner_iters, "inner_iters", integer=True)
    bisection_iters = as_positive(bisection_iters, "bisection_iters", integer=True)
    if t is not None:
        t = as_positive(t, "t")
    warm_net = warm_network(warm_start, X, Y)
    method = f"frank_wolfe[{variant}]"
    if not np.any(Y):
        return _zero_targets(X, Y, beta, method)
    orc = DualOracle(X, method=oracle, seed=seed)
    kw = dict(warm_net=warm_net, oracle_time_limit=oracle_time_limit,
              oracle_budget=oracle_budget)
    if variant == "paper":
        return _paper(X, Y, beta, orc, t, tol, max_iters, inner_iters, bisection_iters,
                      time_limit, progress, **kw)
    if t is not None:
        return _fully_corrective_fixed_t(X, Y, beta, orc, t, tol, max_iters, n_atoms,
                                         time_limit, progress, **kw)
    res = kelley(X, Y, beta, orc, tol, max_iters, n_atoms, time_limit, progress,
                  "frank_wolfe[fully_corrective]", single_atom=(n_atoms == 1),
                  method_name="frank_wolfe[fully_corrective]", **kw)
    res.info["t"] = float(res.network.path_norm())
    return res
