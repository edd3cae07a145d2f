"""Cutting-plane solvers of the semi-infinite dual (11)/(73) (App. A.5).

Dual (73): ``max_Z −½‖Z − Y‖² + ½‖Y‖²  s.t.  ‖Zᵀ(X u)_+‖₂ ≤ β  for all ‖u‖₂ ≤ 1``.
The oracle (:class:`~cvxrelu.geometry.oracle.DualOracle`, cone-constrained PCA per cell) returns the
most violated u; each is a cut ‖Zᵀ(X u)_+‖ ≤ β. The dual restricted to cuts u_1..u_K is the
Lagrange dual of the group lasso over the fixed neurons (X u_k)_+
(:mod:`cvxrelu.drivers.group_lasso`), so every iteration has

* an UPPER bound: the group lasso's value, which is the primal objective (5) of a real
  network (neurons u_k √‖v_k‖, v_k/√‖v_k‖);
* a LOWER bound: a dual point Z scaled into feasibility of (11) by the exact oracle.

Both methods run on one engine (:mod:`cvxrelu.drivers.engine`: shared bounds, history,
budget, stopping and final certificate; the query rule is what differs) over one columns
abstraction (:class:`cvxrelu.drivers.columns.Columns`).

Two methods:

``"kelley"`` (default)
    Kelley / column generation: the query point is the restricted dual's optimum, i.e. the
    master's residual Z = Y − A V. Several cuts per round (the best distinct cells), an
    accurate master warm-started from the previous round (active-set Newton, Clarabel as
    fallback, :mod:`.group_lasso`), and screening of columns that are zero and far from
    active keep both the iteration count and the per-iteration cost low.

Memory is O(n (d + c)) plus the K collected columns' Gram data (K × K): the n × K features
(X u_k)_+ are never stored (Gram rows and the residual are accumulated over row chunks), and
the rank-2 oracle works on sorted boundary angles (O(n c)); nothing n × n or n × P is built.
``"accpm"``
    The paper's analytic-center cutting-plane method: the query point is the analytic center
    of the localization set {Z : q(Z) ≥ ℓ, ‖Zᵀa_k‖ ≤ β ∀ cuts} with q the dual objective and
    ℓ the best certified lower bound (the objective cut); the center is computed by Newton's
    method on the log barrier (Hessian = scaled identity + low rank, solved by Woodbury).
    Upper bounds come from the same group lasso master over the collected cuts.
"""

from __future__ import annotations

import logging

import numpy as np

from .._validate import check_choice
from ..errors import UnsupportedError
from ..losses import SquaredLoss, get_loss
from ..geometry.oracle import DualOracle
from .columns import Columns, DenseFeatures
# the shared driver pieces live in the engine; re-exported here for their old import path
from .engine import (MasterResidual, Run, check_network, check_problem,  # noqa: F401
                     column_generation, kelley, network_residual, start_columns,
                     warm_directions, warm_network)
from .options import driver_options
from .group_lasso import _single_thread
from .loss_driver import loss_cutting_plane
from .result import SolveResult, dual_value

__all__ = ["cutting_plane"]

logger = logging.getLogger("cvxrelu")


# ---------------------------------------------------------------------- ACCPM
def _analytic_center(Z0, Y, A, beta, ell, max_iter=50, tol=1e-9):
    """Analytic center of {Z : q(Z) > ℓ, ‖Zᵀa_k‖ < β} by damped Newton from a strictly
    feasible Z0. Φ(Z) = −log(q(Z) − ℓ) − Σ_k log(β² − ‖Zᵀa_k‖²)."""
    n, c = Y.shape
    K = A.shape[1]
    b2 = beta * beta

    def phi(Z):
        q = float(np.sum(Z * Y) - 0.5 * np.sum(Z * Z)) - ell
        W = Z.T @ A
        s = b2 - np.sum(W * W, axis=0)
        if q <= 0 or np.any(s <= 0):
            return np.inf
        return -np.log(q) - float(np.sum(np.log(s)))

    Z = Z0.copy()
    f = phi(Z)
    if not np.isfinite(f):
        return Z0
    AtA = A.T @ A
    for _ in range(max_iter):
        q = float(np.sum(Z * Y) - 0.5 * np.sum(Z * Z)) - ell
        W = Z.T @ A  # (c, K)
        s = b2 - np.sum(W * W, axis=0)
        R = Y - Z  # ∇q
        # gradient
        grad = -R / q + A @ (2 * W / s).T
        # Hessian = (1/q) I + (1/q²) vec(R)vec(R)ᵀ + Σ_k (a_k⊗I) C_k (a_k⊗I)ᵀ
        # low-rank factor: columns vec(R) and a_k ⊗ e_j ; use Woodbury
        alpha = 1.0 / q
        m = 1 + K * c
        # UᵀU and Uᵀg
        UtU = np.zeros((m, m))
        UtU[0, 0] = float(np.sum(R * R))
        RA = R.T @ A  # (c, K): ⟨vec R, a_k⊗e_j⟩ = (Rᵀ a_k)_j
        UtU[0, 1:] = RA.T.ravel()
        UtU[1:, 0] = RA.T.ravel()
        UtU[1:, 1:] = np.kron(AtA, np.eye(c))
        Cinv = np.zeros((m, m))
        Cinv[0, 0] = q * q
        for k in range(K):
            w = W[:, k]
            Ck = 2 * np.eye(c) / s[k] + 4 * np.outer(w, w) / s[k] ** 2
            Cinv[1 + k * c:1 + (k + 1) * c, 1 + k * c:1 + (k + 1) * c] = np.linalg.inv(Ck)
        Utg = np.concatenate([[float(np.sum(R * grad))], (grad.T @ A).T.ravel()])
        # (αI + U C Uᵀ)⁻¹ g = (g − U (C⁻¹ + UᵀU/α)⁻¹ Uᵀg / α) / α
        try:
            y = np.linalg.solve(Cinv + UtU / alpha, Utg / alpha)
        except np.linalg.LinAlgError:
            y = np.linalg.lstsq(Cinv + UtU / alpha, Utg / alpha, rcond=None)[0]
        Uy = R * y[0] + A @ y[1:].reshape(K, c)
        step = (grad - Uy) / alpha
        dec = float(np.sum(grad * step))
        if dec <= 2 * tol:
            break
        a = 1.0
        while a > 1e-10:
            Zn = Z - a * step
            fn = phi(Zn)
            if fn <= f - 0.25 * a * dec:
                break
            a *= 0.5
        else:
            break
        Z, f = Zn, fn
    return Z


class AnalyticCenter:
    """ACCPM's query rule: the analytic center of the localization set
    {Z : q(Z) ≥ ℓ, ‖Zᵀa_k‖ ≤ β ∀ cuts}, ℓ the best lower bound found at a query point.

    The first query is the master's residual. When the gap shrinks by less than
    ``stall_decrease`` in ``stall_window`` iterations (measured: ill-conditioned barriers at
    tiny β), or no interior is left, it switches to Kelley steps (the master's residual) on
    the same cuts, which do converge (``kelley_from``)."""

    screens = False

    def __init__(self, Y, stall_window=20, stall_decrease=0.1):
        self.Y = Y
        self.stall_window, self.stall_decrease = stall_window, stall_decrease
        self.kelley_from = None
        self.first = True
        self.best_query_lower = 0.0          # Z = 0 is feasible, value 0
        self.Z_feas = np.zeros_like(Y)
        self.gaps = []

    def point(self, Zk, run, cols):
        if self.first or self.kelley_from is not None:
            self.first = False
            return Zk
        Y, ell = self.Y, self.best_query_lower
        # strictly feasible start: midpoint of the best feasible point and the restricted
        # optimum, shrunk slightly towards 0 (strict cut feasibility)
        Zmid = 0.5 * (self.Z_feas + Zk)
        if dual_value(Zmid, Y) <= ell:
            self.kelley_from = len(run.history)   # no interior left: Kelley steps
            return Zk
        shrink = 1.0
        for _ in range(60):
            Zs = (1 - 1e-3 * shrink) * Zmid
            if dual_value(Zs, Y) > ell:
                break
            shrink *= 0.5
        return _analytic_center(Zs, Y, cols.A, run.beta, ell)

    def observe(self, Zq, lower, s, run):
        if lower > self.best_query_lower and lower <= run.bounds.upper:
            self.best_query_lower, self.Z_feas = lower, s * Zq

    def after(self, run, Zk):
        b = run.bounds
        self.gaps.append(b.upper - b.stop_lower)
        w, gaps = self.stall_window, self.gaps
        if self.kelley_from is None and len(gaps) > w and \
                gaps[-1] > (1 - self.stall_decrease) * gaps[-1 - w]:
            self.kelley_from = len(run.history)
            logger.info("%s: the gap shrank by less than %.0f%% in %d iterations; switching "
                        "to Kelley steps (query = master residual)", run.desc,
                        100 * self.stall_decrease, w)


def _accpm(X, Y, beta, oracle, tol, max_iters, n_cuts, time_limit, progress, desc,
           warm_net=None, oracle_time_limit=None, oracle_budget=None, stall_window=20,
           stall_decrease=0.1):
    """ACCPM: :func:`~.engine.column_generation` with :class:`AnalyticCenter` queries."""
    run = Run(oracle, Y, beta, tol=tol, max_iters=max_iters, time_limit=time_limit,
              progress=progress, desc=desc)
    cols = Columns(DenseFeatures(oracle.Xr), Y, beta, keep_features=True)
    run.bounds.offer_network(0.5 * cols.yy, lambda: cols.network(oracle.basis), Y.copy(),
                             False)
    run.bounds.offer_lower(0.0, certified=True)   # Z = 0 is dual feasible
    start_columns(X, Y, beta, oracle, run, cols, warm_net)
    rule = AnalyticCenter(Y, stall_window, stall_decrease)
    column_generation(run, cols, rule, n_cuts=n_cuts, oracle_time_limit=oracle_time_limit,
                      oracle_budget=oracle_budget)
    res = run.finish(X, oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget,
                     warm=oracle.basis @ cols.U if cols.K else None,
                     info={"oracle_value": run.omega, "n_columns": cols.K,
                           "kelley_steps_from": rule.kelley_from})
    if rule.kelley_from is not None:
        note = (f"ACCPM stalled (gap shrank < {100 * stall_decrease:.0f}% in {stall_window} "
                f"iterations) and switched to Kelley steps at iteration {rule.kelley_from}.")
        res.message = f"{res.message} {note}".strip()
    return res


def cutting_plane(X, Y, beta, *, method: str = "kelley", tol: float = 1e-6,
                  max_iters: int = 500, n_cuts: int | None = None, oracle: str = "auto",
                  time_limit: float | None = None, progress: bool = True,
                  seed=None, warm_start=None, oracle_time_limit: float | None = None,
                  oracle_budget: int | None = None, loss=None) -> SolveResult:
    """Solve the training problem (5) to global optimality by cutting planes on the dual (73).

    With ``loss=`` (any loss of :mod:`cvxrelu.losses` other than the squared one) it solves
    (76) = (79) instead: the same oracle at Z = −∇ℓ(F), the group lasso master with that
    loss, the dual (79) as lower bound (:func:`cvxrelu.drivers.loss_driver.loss_cutting_plane`).

    All arguments after ``(X, Y, beta)`` are keyword-only.

    Parameters
    ----------
    X : array-like, shape (n, d)
    Y : array-like, shape (n, c) or (n,)
    beta : float
        Weight decay β > 0 of (5).
    method : {"kelley", "accpm"}
        Query point: the restricted dual optimum (Kelley / column generation with a group
        lasso master, default) or the analytic center of the localization set (ACCPM, the
        method named in App. A.5). ACCPM detects when its gap stops shrinking (by less than
        10 % in 20 iterations) and then continues with Kelley steps on the same cuts
        (``info["kelley_steps_from"]``, ``result.message``). See the module docstring.
    tol : float
        Stop when the relative gap (upper − lower)/upper is ≤ tol (default 1e-6).
        "optimal" is reported only when the *certified* gap is ≤ tol.
    max_iters : int
    n_cuts : int, optional
        Cuts added per round (distinct cells, best first). Default 8 for Kelley, 4 for ACCPM.
    oracle : {"auto", "exact", "heuristic"}
        Oracle of the iterations (:class:`~cvxrelu.geometry.oracle.DualOracle`); "auto" is exact per call for rank(X) ≤ 2 and for rank 3 up to
        ``cvxrelu.geometry.oracle.RANK3_EXACT_ROWS`` (500) rows; above, an ascent per iteration
        and the certified ``bound()``. The final certificate always uses the certified bound ω̄ of
        :meth:`~cvxrelu.geometry.oracle.DualOracle.bound`. With a heuristic iterations' oracle
        (rank ≥ 4), when the iterations find no violated direction, the driver asks
        ``oracle.bound`` (half of the time left): its violated directions (the best one and
        every violated ``candidates`` column) become cuts and the iterations resume while
        iterations and time are left (``info["certified_refinements"]``). The status then
        follows the certified gap: "optimal" (≤ tol), "gap" (no violated direction found,
        gap > tol), "oracle_failed" only when the certified search shows a violated
        direction and no budget was left to use it.
    time_limit : float, optional
        Seconds for the whole run, checked between oracle calls and master solves. With a
        heuristic iterations' oracle (rank ≥ 4) the iterations stop at 80 % of it and the
        rest (at least 10 %) goes to the final certificate's ``oracle.bound``; a run may
        exceed it by one oracle call.
    progress : bool
        Show a tqdm bar (iteration, bounds, gap); when False, log each iteration at DEBUG
        level on the ``"cvxrelu"`` logger.
    seed : None or int
        Randomness of the heuristic oracle (rank ≥ 4).
    warm_start : ReLUNetwork, (W1, W2) or torch.nn.Sequential, optional
        A network (e.g. trained by SGD): its neurons' directions become columns of the master
        at iteration 0 and the network itself is a candidate, so the result is never worse
        than it (``upper ≤ warm_start.objective(X, Y, beta)``).
    oracle_time_limit : float, optional
        Seconds for each certified bound ω̄ (anytime: a shorter limit gives a looser but
        still valid bound), never more than what ``time_limit`` leaves (at least 10 % of
        it for the final one). Default: that share of ``time_limit``, or 60 s without one.
    oracle_budget : int, optional
        Node budget of the final certified bound (branch and bound, rank ≥ 4).
    loss : str or Loss, optional
        The training loss (default: squared, ½‖F − Y‖²). Other losses use Kelley steps only.

    Returns
    -------
    SolveResult
        ``.network`` attains ``.upper``; ``.lower`` is a certified lower bound (ω̄ of the
        final certificate), ``.certified_rel_gap`` the certified relative gap; ``.history``
        holds the bounds of every iteration (certified when ``.exact_oracle``, otherwise the
        heuristic values are in ``history[k].heuristic_lower`` and ``lower`` is −inf).
    """
    method = check_choice(method, ("kelley", "accpm"), "method")
    if loss is not None and not isinstance(get_loss(loss), SquaredLoss):
        if method != "kelley":
            raise UnsupportedError(f"method={method!r} supports the squared loss only; use "
                                   "method='kelley' with loss=...")
        return loss_cutting_plane(X, Y, beta, loss=loss, tol=tol, max_iters=max_iters,
                                  time_limit=time_limit, n_cuts=n_cuts or 8, oracle=oracle,
                                  warm_start=warm_start, progress=progress, seed=seed,
                                  oracle_time_limit=oracle_time_limit,
                                  oracle_budget=oracle_budget)
    X, Y, beta = check_problem(X, Y, beta)
    opt = driver_options(tol=tol, max_iters=max_iters,
                         n_cuts=(8 if method == "kelley" else 4) if n_cuts is None else n_cuts,
                         time_limit=time_limit, oracle=oracle,
                         oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget)
    warm_net = warm_network(warm_start, X, Y)
    # every dense operation here is thin (n × small) or small (K × K): one BLAS thread avoids
    # the oversubscription measured to slow small factorizations 50–100× on loaded machines
    with _single_thread():
        orc = DualOracle(X, method=opt.oracle, seed=seed)
        run = kelley if method == "kelley" else _accpm
        return run(X, Y, beta, orc, opt.tol, opt.max_iters, opt.n_cuts, opt.time_limit,
                   progress, f"cutting_plane[{method}]", warm_net=warm_net,
                   oracle_time_limit=opt.oracle_time_limit, oracle_budget=opt.oracle_budget)
