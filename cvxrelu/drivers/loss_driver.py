"""Column generation (cutting planes on the dual (79)) for any convex loss ℓ.

The training problem with a loss ℓ convex in the predictions ((76)–(77), App. A.6) has the
semi-infinite dual (78)–(79)

    p* = max_Z −ℓ*(Z)   s.t.   ‖Zᵀ(X u)_+‖₂ ≤ β   for all ‖u‖₂ ≤ 1.

Restricted to cuts u_1..u_K it is the dual of the group lasso with loss ℓ over the fixed
neurons (X u_k)_+ (:mod:`.loss_master`). Kelley's method / column generation alternates

1. the master: V = argmin ℓ(A V, Y) + β Σ_k ‖v_k‖ (FISTA + Newton, no CVXPY); its value is
   the objective (5) with loss ℓ of a real network: an UPPER bound on p*;
2. the oracle (:class:`~cvxrelu.geometry.oracle.DualOracle`, the same cone-constrained PCA as for the
   squared loss) at the dual point Z = ∇ℓ(A V) (the constraint is symmetric in Z, so this is
   the oracle at −∇ℓ): its most violated directions become new columns;
3. the LOWER bound −ℓ*(sZ) ≤ p* with s ≤ min(1, β/ω̄) (:func:`.loss_certificate.loss_dual_bound`)
   where ω̄ ≥ ω(Z) is certified (``DualOracle.bound``; the exact value for rank(X) ≤ 3).

The rounds run on the shared state of :class:`~cvxrelu.drivers.engine.Run` (budget, best
network and certified lower bound, history, progress bar, statuses) with the columns of
:class:`~cvxrelu.drivers.columns.Columns`; the loop itself is this module's (query point
∇ℓ_μ, loss bound, smoothing schedule: see ``_column_generation``).
For the squared loss this is the same method as ``cutting_plane(method="kelley")``.
Nonsmooth losses (hinge, binary hinge, absolute): the master minimizes the smoothing
ℓ_μ (``loss.smoothed(mu)``) with μ decreased as the gap closes; ∇ℓ_μ lies in dom ℓ*, so the
lower bound is a valid bound for the ORIGINAL loss and the upper bound is the original
objective of a real network. These bounds are valid but converge slowly (the gap shrinks
with μ and the master gets harder); expect loose gaps for them.
"""

from __future__ import annotations

import time

import numpy as np

from .._validate import as_beta, as_data, as_targets
from ..errors import InvalidInputError, UnsupportedError
from ..geometry.oracle import DualOracle
from .columns import Columns, DenseFeatures
from .engine import Budget, Run, refine
from .group_lasso import _single_thread
from .loss_certificate import check_bounds, loss_dual_bound
from .loss_master import solve_loss_master
from .options import driver_options
from .result import SolveResult, Status

__all__ = ["loss_cutting_plane"]


def _warm_columns(warm_start, basis, d, c):
    """(reduced directions (r, m), second-layer rows (m, c)) of a warm-start network."""
    from .certify import as_network

    net = as_network(warm_start)
    if net.n_features != d or net.n_outputs != c:
        raise InvalidInputError(
            f"warm_start has d={net.n_features}, c={net.n_outputs}; the problem has d={d}, "
            f"c={c} (after the loss prepared Y). Pass a network of matching shape.")
    Ur = basis.T @ net.W1  # X u = Xr (basisᵀ u) for u in any direction
    nu = np.linalg.norm(Ur, axis=0)
    keep = nu > 0
    # (Xr ū)_+ ‖u_r‖ v = (X u)_+ v with ū = u_r/‖u_r‖; Columns.add multiplies by ‖u_r‖
    return Ur[:, keep], net.W2[keep]


def loss_cutting_plane(X, Y, beta, *, loss, tol: float = 1e-6, max_iters: int = 200,
                       time_limit: float | None = None, n_cuts: int = 8,
                       oracle: str = "auto", warm_start=None, progress: bool = False,
                       seed=None, oracle_time_limit: float | None = None,
                       oracle_budget: int | None = None) -> SolveResult:
    """Train a two-layer ReLU network with loss ℓ to global optimality by column generation.

    Solves (76) = (79) (App. A.6) for any loss of :mod:`cvxrelu.losses` with a conjugate:
    cross-entropy, logistic, Huber, squared (smooth: certified to ``tol``), hinge, binary
    hinge, absolute (through a smoothing: valid but usually loose bounds) and user losses
    registered with ``conjugate=`` (and ``grad=``). See the module docstring.

    Parameters
    ----------
    X : array-like, shape (n, d)
    Y : array-like
        Targets in any form the loss accepts (``loss.prepare_targets``: labels, one-hot, ±1).
    beta : float
        Weight decay β > 0 of (5) (losses summed over samples, never averaged).
    loss : str, Loss or callable
        Resolved once by :func:`cvxrelu.losses.get_loss`.
    tol : float
        Stop when (upper − lower) ≤ tol·|upper| (relative gap, default 1e-6).
    max_iters : int
        Master/oracle rounds.
    time_limit : float, optional
        Seconds.
    n_cuts : int
        Columns added per round (the oracle's best distinct cells).
    oracle : {"auto", "exact", "heuristic"}
        Dual oracle for the cuts; "auto" is exact per call for rank(X) ≤ 2 and for rank 3 up to
        ``cvxrelu.geometry.oracle.RANK3_EXACT_ROWS`` (500) rows; above, an ascent per iteration
        and the certified ``bound()``; and then every
        iteration's lower bound uses the exact ω(Z). Otherwise the iterations' lower bounds
        use the spectral bound ω̄ = ‖Z‖₂‖X‖₂ (certified, loose) and, at the end, one call of
        ``DualOracle.bound`` at the best network's dual point gives the final certified ω̄
        (tighter when the oracle's bound is). Either way ``lower`` is certified.
    warm_start : ReLUNetwork or torch module, optional
        Its neurons become the initial columns and its second layer the initial master
        point (e.g. the network of a previous β on a regularization path).
    progress : bool
        tqdm bar; iterations are logged at DEBUG on the ``"cvxrelu"`` logger either way.
    seed : None or int
        Randomness of the heuristic oracle (rank ≥ 4).
    oracle_time_limit : float, optional
        Seconds for the final ``DualOracle.bound`` call when the oracle is not exact
        (default: what is left of ``time_limit``, else 60 s).
    oracle_budget : int, optional
        Branch-and-bound nodes for that call. A node budget that binds before the time limit
        makes the certificate independent of the machine's load.

    Returns
    -------
    SolveResult
        ``network`` (a :class:`~cvxrelu.networks.network.ReLUNetwork`) with
        ``network.objective(X, Yp, beta, loss) == upper`` where ``Yp =
        loss.prepare_targets(Y)``; ``lower`` ≤ p* (certified, see ``oracle``); ``history``
        has the best bounds of every round (lower ≤ upper throughout); ``status``
        ``"optimal"`` when the relative gap reached ``tol``, else ``"max_iters"``,
        ``"time_limit"`` or ``"stalled"``; ``info`` has the loss, the final smoothing μ
        (nonsmooth losses), the number of columns and whether the oracle was exact.

    Raises
    ------
    UnsupportedError
        A loss without a conjugate (no lower bound could be certified), or a nonsmooth user
        loss (no smoothing known).
    """
    from ..losses import get_loss

    t0 = time.perf_counter()
    lo = get_loss(loss)
    if not lo.supports_conjugate:
        raise UnsupportedError(
            f"loss {lo.name!r} has no conjugate, so the driver cannot certify a lower bound; "
            f"register it with conjugate=... (and grad=...), or use cr.bidual(X, Y, beta, "
            f"loss={lo.name!r}) for small problems.")
    if not lo.smooth:
        lo.smoothed(1.0)  # raises a clear UnsupportedError when no smoothing is known
    X = as_data(X)
    n, d = X.shape
    Yp = as_targets(lo.prepare_targets(Y), n)
    beta = as_beta(beta)
    opt = driver_options(tol=tol, max_iters=max_iters, n_cuts=n_cuts, time_limit=time_limit,
                         oracle=oracle, oracle_time_limit=oracle_time_limit,
                         oracle_budget=oracle_budget)
    with _single_thread():
        orc = DualOracle(X, method=opt.oracle, seed=seed)
        return _column_generation(X, Yp, beta, lo, orc, opt.tol, opt.max_iters,
                                  opt.time_limit, opt.n_cuts, warm_start, progress, t0,
                                  opt.oracle_time_limit, opt.oracle_budget)


def _column_generation(X, Yp, beta, lo, orc, tol, max_iters, time_limit, n_cuts, warm_start,
                       progress, t0, oracle_time_limit, oracle_budget=None):
    """Column generation on the dual (79) on the shared :class:`~.engine.Run` state.

    Not :func:`~.engine.column_generation`: its query point is the squared master's residual
    with the scaled dual bound (11); here the query point is Z = ∇ℓ_μ(A V) ∈ dom ℓ*, the
    lower bound is −ℓ*(sZ) (:func:`.loss_certificate.loss_dual_bound`), the master is the
    any-loss master of :mod:`.loss_master` with a smoothing μ and a tolerance tightened as
    the gap closes, and a heuristic oracle stops the rounds after three closed heuristic gaps
    (the final certificate is one ``DualOracle.bound``, with the loss's bound).
    """
    d = X.shape[1]
    c = Yp.shape[1]
    desc = f"loss_cutting_plane[{lo.name}]"
    run = Run(orc, Yp, beta, tol=tol, max_iters=max_iters, time_limit=time_limit,
              progress=progress, desc=desc)
    # the rounds may use the whole time limit (the final bound gets what is left, see below)
    run.budget = Budget(time_limit, 0.0, t0)
    run.history_certified = True   # every round's lower bound uses a certified ω̄
    run.dual_bound = lambda Z, omega: loss_dual_bound(lo, Z, Yp, beta, omega)[0]   # (79)
    bounds = run.bounds
    cols = Columns(DenseFeatures(orc.Xr), Yp, beta, keep_features=True)
    if warm_start is not None:
        Uw, Vw = _warm_columns(warm_start, orc.basis, d, c)
        cols.add(Uw, Vw)
    smooth = lo.smooth
    # smoothing parameter for nonsmooth losses: ℓ − ℓ_μ ≤ μ·smoothing_gap, kept at ~10 % of
    # the current gap and decreased as the gap closes
    sgap = max(lo.smoothing_gap(Yp), 1.0)
    mu = None if smooth else 0.1 * max(lo.value(np.zeros_like(Yp), Yp), 1e-12) / sgap
    mu_floor = None if smooth else 1e-9 * max(1.0, float(np.abs(Yp).max()))
    master_loss = lo if smooth else lo.smoothed(mu)
    master_tol = 1e-4
    best_Uw = cols.U[:, np.any(cols.V != 0.0, axis=1)]  # the best network's directions
    x_norm = float(np.linalg.norm(orc.Xr, 2)) if orc.Xr.size else 0.0
    best_heur, heur_closed, heur = -np.inf, 0, np.nan
    omega_bar = np.nan
    stalls = 0
    if cols.K:
        sol = solve_loss_master(cols.A, Yp, beta, master_loss, V0=cols.V, tol=master_tol)
        cols.V = sol.V

    def resume() -> bool:
        """The heuristic finds nothing to add: ask the certified search (engine.refine with
        the loss's bound (79)). Its violated directions become columns (master re-solved)
        and the rounds resume (True); otherwise the run ends and Run.finish decides the
        status from the certified gap."""
        if not refine(run, cols, oracle_time_limit, oracle_budget):
            return False
        cols.V = solve_loss_master(cols.A, Yp, beta, master_loss, V0=cols.V,
                                   tol=min(master_tol, 1e-9)).V
        return True

    while True:
        F = cols.A @ cols.V
        Z = lo.into_domain(master_loss.dual_point(F, Yp), Yp)  # ∇ℓ_(μ)(F) ∈ dom ℓ*
        warm = None
        if not orc.exact and cols.K:  # the current neurons start the heuristic ascent
            warm = cols.U[:, np.any(cols.V != 0.0, axis=1)]
            warm = warm if warm.shape[1] else None
        vals, Ur = orc.reduced(Z, n_cuts, warm)
        # a certified ω̄ ≥ ω(Z): the exact maximum for rank ≤ 3; the spectral bound
        # ‖Z‖₂‖X‖₂ otherwise (the final certificate below calls DualOracle.bound once)
        omega_bar = orc.value_bound(Z, vals[0]) if orc.exact else max(
            float(vals[0]), float(np.linalg.norm(Z, 2)) * x_norm)
        lower, _ = loss_dual_bound(lo, Z, Yp, beta, omega_bar)
        if not orc.exact:  # NOT a bound (the heuristic may miss ω): a stopping test only
            heur = loss_dual_bound(lo, Z, Yp, beta, float(vals[0]))[0]
            best_heur = max(best_heur, heur)
        upper = lo.value(F, Yp) + beta * float(np.sum(np.linalg.norm(cols.V, axis=1)))
        # an exact oracle evaluated ω at this very Z: its bound is already certified
        if bounds.offer_network(upper, lambda: cols.network(orc.basis), Z, orc.exact):
            best_Uw = cols.U[:, np.any(cols.V != 0.0, axis=1)]
        bounds.offer_lower(lower, certified=True)
        bounds.certified = check_bounds(bounds.certified, bounds.upper, "loss_cutting_plane")
        run.record(cols.K, omega_bar, heuristic=np.nan)
        gap = bounds.upper - bounds.certified
        rel = bounds.rel_gap()
        if bounds.closed(tol):
            run.status = Status.OPTIMAL
            break
        if not orc.exact:
            # the heuristic's gap must stay closed over 3 rounds (fresh random starts each)
            closed = bounds.upper - best_heur <= tol * max(abs(bounds.upper), 1e-300)
            heur_closed = heur_closed + 1 if closed else 0
            best_heur = -np.inf if closed else best_heur  # re-test on the next rounds
            if heur_closed >= 3:
                run.status = Status.OPTIMAL  # "the iterations' gap closed" (heuristically)
                if not resume():
                    break
                heur_closed, stalls = 0, 0
                continue
        if run.budget.over():
            run.status = Status.TIME_LIMIT
            break
        if len(run.history) >= max_iters:  # after the last round no master is solved
            run.status = Status.MAX_ITERS
            break
        viol = vals > beta * (1 + 1e-12)
        added = cols.add(Ur[:, viol]) if np.any(viol) else 0
        if not smooth:
            mu_new = max(mu_floor, min(mu, 0.1 * gap / sgap))
            if added == 0:
                mu_new = max(mu_floor, min(mu_new, 0.25 * mu))
            if mu_new < mu:
                mu, master_loss = mu_new, lo.smoothed(mu_new)
        if added == 0:
            # the oracle finds no violated cut: the master is not accurate enough (or, for a
            # smoothing, μ too large); tighten, and give up after repeated failures
            if master_tol <= 1e-11 and (smooth or mu <= mu_floor):
                stalls += 1
                if stalls >= 2:
                    run.status = Status.STALLED
                    if orc.exact or not resume():
                        break
                    heur_closed, stalls = 0, 0
                    continue
            master_tol = max(1e-12, master_tol * 1e-2)
        else:
            stalls = 0
            master_tol = min(master_tol, max(1e-11, 1e-2 * rel))
        left = run.budget.left()
        remaining = None if left is None else max(left, 1e-3)
        # a smoothing's master gets harder as μ → 0: cap its work (the bounds stay valid)
        sol = solve_loss_master(cols.A, Yp, beta, master_loss, V0=cols.V, tol=master_tol,
                                time_limit=remaining, max_iter=20000 if smooth else 3000)
        cols.V = sol.V
        Zd = lo.into_domain(master_loss.dual_point(cols.A @ cols.V, Yp), Yp)
        cols.screen(cols.cut_values(Zd), max_age=2, slack=0.9)
    # the reported value is the best network's own objective (5) with loss ℓ
    bounds.upper = bounds.network.objective(X, Yp, beta, lo)
    bounds.heuristic = heur if np.isfinite(heur) and heur <= bounds.upper else -np.inf
    return run.finish(X, oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget,
                      warm=orc.basis @ best_Uw if best_Uw.shape[1] else None,
                      info={"loss": lo.name, "oracle_value": omega_bar,
                            "oracle_exact": orc.exact, "n_columns": cols.K, "mu": mu,
                            "smoothed": not smooth})
