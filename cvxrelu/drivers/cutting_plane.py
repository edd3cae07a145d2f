"""Cutting-plane solvers of the semi-infinite dual (11)/(73) (App. A.5).

Dual (73): ``max_Z −½‖Z − Y‖² + ½‖Y‖²  s.t.  ‖Zᵀ(X u)_+‖₂ ≤ β  for all ‖u‖₂ ≤ 1``.
The oracle (:class:`~cvxrelu.geometry.oracle.DualOracle`, cone-constrained PCA per cell) returns the
most violated u; each is a cut ‖Zᵀ(X u)_+‖ ≤ β. The dual restricted to cuts u_1..u_K is the
Lagrange dual of the group lasso over the fixed neurons (X u_k)_+
(:mod:`cvxrelu.drivers.group_lasso`), so every iteration has

* an UPPER bound: the group lasso's value, which is the primal objective (5) of a real
  network (neurons u_k √‖v_k‖, v_k/√‖v_k‖);
* a LOWER bound: a dual point Z scaled into feasibility of (11) by the exact oracle.

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
import time

import numpy as np

from .._validate import as_beta, as_data, as_positive, as_targets, check_choice
from ..errors import InvalidInputError, UnsupportedError
from ..losses import SquaredLoss, get_loss
from ..networks.network import ReLUNetwork
from ..geometry.oracle import DualOracle, _row_chunks
from .group_lasso import _single_thread, solve_group_lasso
from .loss_driver import loss_cutting_plane
from .result import (IterationRecord, SolveResult, Status, as_network, conclude, dual_value,
                     scaled_dual_bound)

__all__ = ["cutting_plane"]

logger = logging.getLogger("cvxrelu")


# --------------------------------------------------------------------- progress
class _Progress:
    """A tqdm bar with the bounds as postfix, or DEBUG/INFO logging when disabled."""

    def __init__(self, enabled: bool, desc: str, total=None):
        self.bar = None
        self.desc = desc
        if enabled:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, desc=desc, leave=False)
            except ImportError:  # pragma: no cover
                self.bar = None

    def update(self, rec: IterationRecord):
        # a heuristic oracle's value is shown as such ("heuristic"), never as "lower"
        heur = not np.isfinite(rec.lower) and np.isfinite(rec.heuristic_lower)
        low = rec.heuristic_lower if heur else rec.lower
        kind = "heuristic" if heur else "lower"
        rel = (rec.upper - low) / max(abs(rec.upper), 1e-300)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({"upper": f"{rec.upper:.8g}", kind: f"{low:.8g}",
                                  "gap": f"{rel:.1e}"}, refresh=False)
        else:
            logger.debug("%s it %d: upper %.10g %s %.10g rel gap %.2e (%d neurons, %.3fs)",
                         self.desc, rec.iteration, rec.upper, kind, low, rel, rec.n_neurons,
                         rec.time)

    def close(self, result: SolveResult):
        if self.bar is not None:
            self.bar.close()
        logger.info("%s finished: %s, upper %.10g, certified lower %.10g, rel gap %.2e, "
                    "%d it, %.3fs", self.desc, result.status.value, result.upper, result.lower,
                    result.certified_rel_gap, result.iterations, result.time)
        if result.message:
            logger.info("%s: %s", self.desc, result.message)


def _check_problem(X, Y, beta):
    X = as_data(X)
    Y = as_targets(Y, X.shape[0])
    beta = as_beta(beta)
    return X, Y, beta


_positive = as_positive  # one check for every driver argument (cvxrelu._validate)


# ---------------------------------------------------------- column generation core
class _Columns:
    """Collected neurons (reduced unit directions), their Gram data and the master problem.

    Memory is O(n (r + c)) plus O(K² + K c): the n × K feature matrix A = (Xr U)_+ is never
    stored; the Gram matrix G = AᵀA and B = AᵀY are accumulated over row chunks when columns
    are added, the residual Y − A V is formed from the nonzero neurons only (chunked), and
    the screening test uses Zᵀa_k = b_k − (G V)_k.
    """

    def __init__(self, oracle: DualOracle, Y: np.ndarray, beta: float):
        self.oracle = oracle
        self.Xr = oracle.Xr
        self.Y = Y
        self.beta = beta
        self.yy = float(np.sum(Y * Y))
        r = oracle.rank
        n, c = Y.shape
        self.U = np.zeros((r, 0))
        self.G = np.zeros((0, 0))
        self.B = np.zeros((0, c))
        self.V = np.zeros((0, c))
        self.objective = 0.5 * self.yy
        self.zero_age = np.zeros(0, dtype=int)

    @property
    def K(self):
        return self.U.shape[1]

    @property
    def A(self) -> np.ndarray:
        """The n × K features (Xr u_k)_+, built on demand (ACCPM's analytic center only)."""
        return np.maximum(self.Xr @ self.U, 0.0)

    def add(self, Unew: np.ndarray) -> int:
        """Add unit directions (r, k) that are new and have a nonzero feature; return count."""
        added = []
        for j in range(Unew.shape[1]):
            u = Unew[:, j] / np.linalg.norm(Unew[:, j])
            if self.K and np.max(self.U.T @ u) > 1 - 1e-13:
                continue
            if any(float(u @ w) > 1 - 1e-13 for w in added):
                continue
            added.append(u)
        if not added:
            return 0
        Un = np.column_stack(added)
        K, k, c = self.K, Un.shape[1], self.Y.shape[1]
        Gx, Gn, Bn = np.zeros((K, k)), np.zeros((k, k)), np.zeros((k, c))
        for rows in _row_chunks(self.Xr.shape[0], K + k):
            An = np.maximum(self.Xr[rows] @ Un, 0.0)
            if K:
                Gx += np.maximum(self.Xr[rows] @ self.U, 0.0).T @ An
            Gn += An.T @ An
            Bn += An.T @ self.Y[rows]
        nz = np.diag(Gn) > 0
        if not np.any(nz):
            return 0
        Un, Gx, Gn, Bn = Un[:, nz], Gx[:, nz], Gn[np.ix_(nz, nz)], Bn[nz]
        self.G = np.block([[self.G, Gx], [Gx.T, Gn]])
        self.B = np.vstack([self.B, Bn])
        self.U = np.hstack([self.U, Un])
        self.V = np.vstack([self.V, np.zeros((Un.shape[1], c))])
        self.zero_age = np.concatenate([self.zero_age, np.zeros(Un.shape[1], dtype=int)])
        return Un.shape[1]

    def solve(self, t=None, tol=1e-12, target=1e-9, accurate=False):
        sol = solve_group_lasso(self.G, self.B, self.yy, self.beta, t=t, tol=tol,
                                target=target, accurate=accurate, warm=self.V)
        V = sol.V
        nrm = np.linalg.norm(V, axis=1)
        # interior-point solutions are never exactly sparse: prune negligible neurons (the
        # upper bound is then evaluated exactly on the pruned network)
        V[nrm <= 1e-9 * max(nrm.max(initial=0.0), 1e-300)] = 0.0
        self.V = V
        return sol

    def residual(self) -> np.ndarray:
        """Z = Y − A V, from the nonzero neurons only, over row chunks."""
        S = np.flatnonzero(np.any(self.V != 0.0, axis=1))
        Z = self.Y.copy()
        if S.size:
            US, VS = self.U[:, S], self.V[S]
            for rows in _row_chunks(Z.shape[0], S.size):
                Z[rows] -= np.maximum(self.Xr[rows] @ US, 0.0) @ VS
        return Z

    def screen(self, Z, max_age=1, slack=0.999):
        """Drop columns that have had v_k = 0 for max_age masters and whose cut is inactive
        (‖Zᵀa_k‖ < slack·β). Dropping inactive cuts leaves the restricted optimum unchanged,
        so the upper bounds stay monotone; a dropped column can come back through the
        oracle."""
        if self.K == 0:
            return
        nrm = np.linalg.norm(self.V, axis=1)
        zero = nrm == 0.0  # exact zeros only (pruning happened in solve), so Z stays valid
        self.zero_age = np.where(zero, self.zero_age + 1, 0)
        # Zᵀa_k = b_k − (G V)_k for the master's residual Z = Y − A V (no n × K product)
        viol = np.linalg.norm(self.B - self.G @ self.V, axis=1)
        drop = zero & (self.zero_age >= max_age) & (viol < slack * self.beta)
        if np.any(drop):
            keep = ~drop
            self.U = self.U[:, keep]
            self.G = self.G[np.ix_(keep, keep)]
            self.B, self.V = self.B[keep], self.V[keep]
            self.zero_age = self.zero_age[keep]

    def network(self, basis: np.ndarray) -> ReLUNetwork:
        nv = np.linalg.norm(self.V, axis=1)
        keep = nv > 0
        s = np.sqrt(nv[keep])
        W1 = basis @ (self.U[:, keep] * s)
        W2 = self.V[keep] / s[:, None]
        return ReLUNetwork(W1, W2)

    def upper(self, Z) -> float:
        """Exact primal objective of the current network: ½‖Z‖² + β Σ‖v_k‖ (Z its residual)."""
        return 0.5 * float(np.sum(Z * Z)) + self.beta * float(
            np.sum(np.linalg.norm(self.V, axis=1)))


# ------------------------------------------------------------- shared pieces
def network_residual(net: ReLUNetwork, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Z = Y − relu(X W1) W2 over row chunks (no n × m hidden-activation matrix)."""
    Z = Y.copy()
    for rows in _row_chunks(X.shape[0], net.n_neurons):
        Z[rows] -= np.maximum(X[rows] @ net.W1, 0.0) @ net.W2
    return Z


def check_network(net: ReLUNetwork, X: np.ndarray, Y: np.ndarray, name: str = "network"):
    """Raise InvalidInputError when ``net`` does not match the data's shapes."""
    if net.n_features != X.shape[1]:
        raise InvalidInputError(
            f"{name} has {net.n_features} inputs but X has {X.shape[1]} features; pass the "
            "data the network was trained on.")
    if net.n_outputs != Y.shape[1]:
        raise InvalidInputError(
            f"{name} has {net.n_outputs} outputs but Y has {Y.shape[1]} columns.")


def warm_directions(net: ReLUNetwork | None, oracle: DualOracle) -> np.ndarray | None:
    """The warm network's first-layer directions in the oracle's reduced space, unit norm,
    shape (r, k); neurons whose direction is orthogonal to the data are dropped (their
    feature (X u)_+ is 0)."""
    if net is None or net.n_neurons == 0 or oracle.rank == 0:
        return None
    Ur = oracle.basis.T @ net.W1
    nrm = np.linalg.norm(Ur, axis=0)
    keep = nrm > 1e-12 * max(float(np.linalg.norm(net.W1, axis=0).max()), 1e-300)
    if not np.any(keep):
        return None
    return Ur[:, keep] / nrm[keep]


class _Budget:
    """Wall-clock budget of a driver. The iterations may use ``(1 − reserve)·time_limit``
    (``over()``, ``iterations_left()``); the rest is kept for the final certificate
    (``left()``). ``reserve`` is 0 with an exact iterations' oracle (whose certificate costs
    nothing more) and 20 % otherwise."""

    def __init__(self, time_limit, reserve: float = 0.0):
        self.t0 = time.perf_counter()
        self.time_limit = time_limit
        self.reserve = reserve

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self):
        return None if self.time_limit is None else self.time_limit - self.elapsed()

    def iterations_left(self):
        if self.time_limit is None:
            return None
        return (1.0 - self.reserve) * self.time_limit - self.elapsed()

    def over(self) -> bool:
        return self.time_limit is not None and self.iterations_left() < 0


class _Bounds:
    """Best bounds of a column-generation run: the best network (upper) and its residual,
    the best certified lower bound (exact oracle) and the best heuristic value (never a
    bound; a value above an upper bound is discarded and counted as an oracle failure)."""

    def __init__(self, oracle, Y, beta):
        self.oracle, self.Y, self.beta = oracle, Y, beta
        self.upper, self.network, self.Z = np.inf, None, None
        self.Z_evaluated = False
        self.certified = -np.inf
        self.heuristic = -np.inf
        self.failed = -np.inf  # largest discarded heuristic value (above an upper bound)

    def offer_network(self, upper, network_fn, Z, evaluated):
        if upper < self.upper:
            self.upper, self.network, self.Z = upper, network_fn(), Z
            self.Z_evaluated = evaluated
            self._check_heuristic()
            return True
        return False

    def offer_lower(self, lower):
        if self.oracle.exact:
            self.certified = max(self.certified, lower)
        else:
            self.heuristic = max(self.heuristic, lower)
            self._check_heuristic()

    def forget_heuristic(self):
        """Drop the heuristic values (the oracle was shown to have missed a direction)."""
        self.failed = max(self.failed, self.heuristic)
        self.heuristic = -np.inf

    def _check_heuristic(self):
        """A heuristic value above an upper bound (beyond rounding) proves that the oracle
        missed a violated direction: discard it (it never stops the iterations)."""
        if self.heuristic > self.upper + 1e-9 * max(abs(self.upper), 1e-300):
            self.failed = max(self.failed, self.heuristic)
            self.heuristic = -np.inf

    @property
    def stop_lower(self):
        return self.certified if self.oracle.exact else self.heuristic

    def record(self, it, t, K, omega):
        return IterationRecord(it, self.upper, self.certified, t, K, omega,
                               np.nan if self.oracle.exact else self.heuristic)

    def closed(self, tol) -> bool:
        return self.upper - self.stop_lower <= tol * max(abs(self.upper), 1e-300)


def finish(X, Y, beta, oracle, bounds: _Bounds, stop, tol, budget: _Budget, history,
           method, bar, oracle_time_limit, oracle_budget, warm=None, info=None,
           precomputed=None):
    """Final certificate (one ``oracle.bound`` call at the best network's residual) and the
    SolveResult."""
    heur = max(bounds.heuristic, bounds.failed)
    left = budget.left()
    if left is not None:  # the certificate gets at least 10 % of the time limit
        left = max(left, 0.1 * budget.time_limit)
    lower, status, message, ob = conclude(
        oracle, bounds.Z, Y, beta, upper=bounds.upper, certified_lower=bounds.certified,
        heuristic_lower=None if oracle.exact else heur, stop_status=stop, tol=tol,
        time_left=left, oracle_time_limit=(oracle_time_limit if left is None or
                                           oracle_time_limit is None
                                           else min(oracle_time_limit, left)),
        oracle_budget=oracle_budget, warm=warm,
        evaluated_exactly=oracle.exact and bounds.Z_evaluated, precomputed=precomputed)
    info = dict(info or {})
    info.update(rank=oracle.rank, oracle_bound=ob)
    if not oracle.exact:
        info["heuristic_lower"] = heur
    res = SolveResult(network=bounds.network, upper=bounds.upper, lower=lower, status=status,
                      exact_oracle=oracle.exact, history=history, method=method, beta=beta,
                      time=budget.elapsed(), info=info, certified=True, message=message)
    bar.close(res)
    return res


# --------------------------------------------------------------------- Kelley
def _kelley(X, Y, beta, oracle, tol, max_iters, n_cuts, time_limit, progress, desc,
            single_atom=False, method_name="cutting_plane[kelley]", warm_net=None,
            oracle_time_limit=None, oracle_budget=None):
    budget = _Budget(time_limit, 0.0 if oracle.exact else 0.2)
    cols = _Columns(oracle, Y, beta)
    bar = _Progress(progress, desc)
    bounds = _Bounds(oracle, Y, beta)
    history = []
    stop = Status.MAX_ITERS
    Z = Y.copy()
    last_omega = np.nan
    retried = False
    if warm_net is not None:
        # the given network is a candidate as it is, and its neurons start the master
        Zw = network_residual(warm_net, X, Y)
        bounds.offer_network(warm_net.objective(X, Y, beta), lambda: warm_net, Zw, False)
        Uw = warm_directions(warm_net, oracle)
        if Uw is not None and cols.add(Uw):
            cols.solve(accurate=True)
            Z = cols.residual()
    it = 0
    ob = None  # the last certified bound, at bounds.Z
    refinements = 0
    while True:
        stop = Status.MAX_ITERS
        while it < max_iters:
            it += 1
            vals, Ur = oracle.reduced(Z, 1 if single_atom else n_cuts,
                                      cols.U if cols.K and not oracle.exact else None)
            omega = float(vals[0])
            last_omega = omega
            upper = cols.upper(Z)
            bounds.offer_network(upper, lambda: cols.network(oracle.basis), Z, True)
            bounds.offer_lower(scaled_dual_bound(Z, Y, beta, omega)[0])
            rec = bounds.record(it, budget.elapsed(), cols.K, omega)
            history.append(rec)
            bar.update(rec)
            if bounds.closed(tol):
                stop = Status.OPTIMAL
                break
            if budget.over():
                stop = Status.TIME_LIMIT
                break
            viol = vals > beta * (1 + 1e-12)
            added = cols.add(Ur[:, viol]) if np.any(viol) else 0
            if added == 0:
                if retried:
                    stop = Status.STALLED
                    break
                # the oracle points at existing columns: the master is not accurate enough;
                # re-solve it with the (slow, accurate) barrier Newton method
                retried = True
                cols.solve(accurate=True)
                Z = cols.residual()
                continue
            retried = False
            rel = (bounds.upper - bounds.stop_lower) / max(abs(bounds.upper), 1e-300)
            cols.solve(target=min(1e-3, max(1e-9, 1e-2 * rel)))  # accuracy where it matters
            Z = cols.residual()
            cols.screen(Z)
        if oracle.exact or stop not in (Status.OPTIMAL, Status.STALLED) or budget.over():
            break
        # the heuristic sees no violated direction: ask the certified search. If its best
        # direction is violated (ω_lo > β), the heuristic missed it: make it a cut, forget
        # the heuristic values (they were computed with a wrong ω) and resume.
        ob = _certified_bound(oracle, bounds.Z, budget, oracle_time_limit, oracle_budget,
                              oracle.basis @ cols.U if cols.K else None)
        lower = scaled_dual_bound(bounds.Z, Y, beta, ob.upper)[0]
        closed = bounds.upper - lower <= tol * max(abs(bounds.upper), 1e-300)
        u = oracle.basis.T @ ob.direction
        if (closed or ob.lower <= beta * (1 + 1e-9) or refinements >= _MAX_REFINEMENTS
                or it >= max_iters or not np.linalg.norm(u) > 0):
            break
        refinements += 1
        if not cols.add(u[:, None]):
            break
        logger.info("%s: the certified oracle found a violated direction (%.6g > β = %.6g) "
                    "that the heuristic missed; resuming (%d)", desc, ob.lower, beta,
                    refinements)
        bounds.forget_heuristic()
        ob = None
        retried = False
        cols.solve(accurate=True)
        Z = cols.residual()
    warm = oracle.basis @ cols.U if cols.K else None
    return finish(X, Y, beta, oracle, bounds, stop, tol, budget, history, method_name, bar,
                  oracle_time_limit, oracle_budget, warm=warm,
                  info={"oracle_value": last_omega, "n_columns": cols.K,
                        "certified_refinements": refinements}, precomputed=ob)


_MAX_REFINEMENTS = 10


def _certified_bound(oracle, Z, budget, oracle_time_limit, oracle_budget, warm):
    """One ``oracle.bound`` call during the iterations: at most half of what is left of the
    driver's time limit (the other half stays for the final certificate) and at most
    ``oracle_time_limit`` (60 s when neither is given)."""
    left = budget.iterations_left()
    share = 60.0 if left is None else 0.5 * max(left, 0.0)
    limit = share if oracle_time_limit is None else min(oracle_time_limit, share)
    return oracle.bound(Z, time_limit=max(float(limit), 1e-2), node_budget=oracle_budget,
                        warm=warm)


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


def _accpm(X, Y, beta, oracle, tol, max_iters, n_cuts, time_limit, progress, desc,
           warm_net=None, oracle_time_limit=None, oracle_budget=None, stall_window=20,
           stall_decrease=0.1):
    budget = _Budget(time_limit, 0.0 if oracle.exact else 0.2)
    cols = _Columns(oracle, Y, beta)
    bar = _Progress(progress, desc)
    bounds = _Bounds(oracle, Y, beta)
    history = []
    stop = Status.MAX_ITERS
    # Z = 0 (feasible, value 0) and the zero network
    bounds.offer_network(0.5 * cols.yy, lambda: cols.network(oracle.basis), Y.copy(), False)
    bounds.offer_lower(0.0)
    Z_feas = np.zeros_like(Y)
    best_query_lower = 0.0
    Z_query = Y.copy()
    if warm_net is not None:
        Zw = network_residual(warm_net, X, Y)
        bounds.offer_network(warm_net.objective(X, Y, beta), lambda: warm_net, Zw, False)
        Uw = warm_directions(warm_net, oracle)
        if Uw is not None and cols.add(Uw):
            cols.solve(accurate=True)
            Z_query = cols.residual()
    omega = np.nan
    kelley_from = None  # iteration at which ACCPM stalled and Kelley steps took over
    retried = False
    gaps = []
    for it in range(1, max_iters + 1):
        if budget.over():
            stop = Status.TIME_LIMIT
            break
        vals, Ur = oracle.reduced(Z_query, n_cuts,
                                  cols.U if cols.K and not oracle.exact else None)
        omega = float(vals[0])
        lower, s = scaled_dual_bound(Z_query, Y, beta, omega)
        bounds.offer_lower(lower)
        if lower > best_query_lower and lower <= bounds.upper:
            best_query_lower, Z_feas = lower, s * Z_query
        viol = vals > beta * (1 + 1e-12)
        added = cols.add(Ur[:, viol]) if np.any(viol) else 0
        if kelley_from is not None and added == 0:
            if retried:
                stop = Status.STALLED
                break
            retried = True
            cols.solve(accurate=True)
        elif added:  # the master changes only when a cut was added
            retried = False
            rel = (bounds.upper - bounds.stop_lower) / max(abs(bounds.upper), 1e-300)
            cols.solve(target=min(1e-3, max(1e-9, 1e-2 * rel)))  # as accurate as needed
        Zk = cols.residual()  # restricted dual optimum (master residual)
        bounds.offer_network(cols.upper(Zk), lambda: cols.network(oracle.basis), Zk, False)
        rec = bounds.record(it, budget.elapsed(), cols.K, omega)
        history.append(rec)
        bar.update(rec)
        if bounds.closed(tol):
            stop = Status.OPTIMAL
            break
        if budget.over():
            stop = Status.TIME_LIMIT
            break
        gaps.append(bounds.upper - bounds.stop_lower)
        if kelley_from is None and len(gaps) > stall_window and \
                gaps[-1] > (1 - stall_decrease) * gaps[-1 - stall_window]:
            # analytic centers make no progress (measured: ill-conditioned barriers at tiny
            # β); continue with Kelley steps on the same cuts, which do converge
            kelley_from = it
            logger.info("%s: the gap shrank by less than %.0f%% in %d iterations; switching "
                        "to Kelley steps (query = master residual)", desc,
                        100 * stall_decrease, stall_window)
        if kelley_from is not None:
            Z_query = Zk
            continue
        # strictly feasible start: midpoint of the best feasible point and the restricted
        # optimum, shrunk slightly towards 0 (strict cut feasibility)
        ell = best_query_lower
        Zmid = 0.5 * (Z_feas + Zk)
        if dual_value(Zmid, Y) <= ell:
            # no interior left between the two points: Kelley steps from here on
            kelley_from = it
            Z_query = Zk
            continue
        shrink = 1.0
        for _ in range(60):
            Zs = (1 - 1e-3 * shrink) * Zmid
            if dual_value(Zs, Y) > ell:
                break
            shrink *= 0.5
        Z_query = _analytic_center(Zs, Y, cols.A, beta, ell)
    warm = oracle.basis @ cols.U if cols.K else None
    res = finish(X, Y, beta, oracle, bounds, stop, tol, budget, history,
                 "cutting_plane[accpm]", bar, oracle_time_limit, oracle_budget, warm=warm,
                 info={"oracle_value": omega, "n_columns": cols.K,
                       "kelley_steps_from": kelley_from})
    if kelley_from is not None:
        note = (f"ACCPM stalled (gap shrank < {100 * stall_decrease:.0f}% in {stall_window} "
                f"iterations) and switched to Kelley steps at iteration {kelley_from}.")
        res.message = f"{res.message} {note}".strip()
    return res


def cutting_plane(X, Y, beta, method: str = "kelley", tol: float = 1e-6,
                  max_iters: int = 500, n_cuts: int | None = None, oracle: str = "auto",
                  time_limit: float | None = None, progress: bool = True,
                  seed=None, *, warm_start=None, oracle_time_limit: float | None = None,
                  oracle_budget: int | None = None, loss=None) -> SolveResult:
    """Solve the training problem (5) to global optimality by cutting planes on the dual (73).

    With ``loss=`` (any loss of :mod:`cvxrelu.losses` other than the squared one) it solves
    (76) = (79) instead: the same oracle at Z = −∇ℓ(F), the group lasso master with that
    loss, the dual (79) as lower bound (:func:`cvxrelu.drivers.loss_driver.loss_cutting_plane`).

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
        Oracle of the iterations (:class:`~cvxrelu.geometry.oracle.DualOracle`); "auto" is exact for
        rank(X) ≤ 3. The final certificate always uses the certified bound ω̄ of
        :meth:`~cvxrelu.geometry.oracle.DualOracle.bound`. With a heuristic iterations' oracle
        (rank ≥ 4), when the iterations find no violated direction, Kelley asks
        ``oracle.bound`` (half of the time left): if the certified search's best direction
        is violated, it becomes a cut and the iterations resume (at most 10 times,
        ``info["certified_refinements"]``).
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
        if oracle_budget is not None:
            raise UnsupportedError("oracle_budget= supports the squared loss only; use "
                                   "oracle_time_limit= with loss=...")
        return loss_cutting_plane(X, Y, beta, loss=loss, tol=tol, max_iters=max_iters,
                                  time_limit=time_limit, n_cuts=n_cuts or 8, oracle=oracle,
                                  warm_start=warm_start, progress=progress, seed=seed,
                                  oracle_time_limit=oracle_time_limit)
    X, Y, beta = _check_problem(X, Y, beta)
    tol = _positive(tol, "tol")
    max_iters = _positive(max_iters, "max_iters", integer=True)
    if n_cuts is None:
        n_cuts = 8 if method == "kelley" else 4
    n_cuts = _positive(n_cuts, "n_cuts", integer=True)
    if time_limit is not None:
        time_limit = _positive(time_limit, "time_limit")
    oracle_time_limit, oracle_budget = _oracle_limits(oracle_time_limit, oracle_budget)
    oracle = check_choice(oracle, ("auto", "exact", "heuristic"), "oracle")
    warm_net = _warm_network(warm_start, X, Y)
    # every dense operation here is thin (n × small) or small (K × K): one BLAS thread avoids
    # the oversubscription measured to slow small factorizations 50–100× on loaded machines
    with _single_thread():
        orc = DualOracle(X, method=oracle, seed=seed)
        kw = dict(warm_net=warm_net, oracle_time_limit=oracle_time_limit,
                  oracle_budget=oracle_budget)
        if method == "kelley":
            return _kelley(X, Y, beta, orc, tol, max_iters, n_cuts, time_limit, progress,
                           "cutting_plane[kelley]", **kw)
        return _accpm(X, Y, beta, orc, tol, max_iters, n_cuts, time_limit, progress,
                      "cutting_plane[accpm]", **kw)


def _oracle_limits(oracle_time_limit, oracle_budget):
    """Validated ``oracle_time_limit`` (seconds) and ``oracle_budget`` (nodes)."""
    if oracle_time_limit is not None:
        oracle_time_limit = _positive(oracle_time_limit, "oracle_time_limit")
    if oracle_budget is not None:
        oracle_budget = _positive(oracle_budget, "oracle_budget", integer=True)
    return oracle_time_limit, oracle_budget


def _warm_network(warm_start, X, Y):
    """The warm-start network as a ReLUNetwork matching the data, or None."""
    if warm_start is None:
        return None
    try:
        net = as_network(warm_start)
    except InvalidInputError as exc:
        raise InvalidInputError(f"warm_start: {exc}") from None
    check_network(net, X, Y, "warm_start")
    return net
