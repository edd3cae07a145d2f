"""The one column-generation engine: shared state of every iterative driver (App. A.4, A.5).

Kelley's cutting planes, the analytic-center method (ACCPM) and Frank-Wolfe (Algorithm 1) on
the semi-infinite dual (11)/(73) differ only in their *query rule* — the dual point Z at which
the oracle ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖ is asked for violated directions (the master's
residual, the analytic center of the localization set, a Frank-Wolfe step). Everything else
is shared and lives here:

* :class:`Budget` — the wall clock, with a reserve kept for the final certificate;
* :class:`Bounds` — the best network (UPPER bound: objective (5) of a real network), the best
  certified LOWER bound (dual (11) value of Z scaled by β/ω with ω exact or ω̄ certified,
  :func:`~cvxrelu.drivers.result.scaled_dual_bound`) and the heuristic values (never bounds);
* :class:`Progress` — one tqdm bar / DEBUG log line per iteration;
* :class:`Run` — the above plus the history, the stopping rule (closed gap, iteration and
  time budgets) and :meth:`Run.finish`, which calls
  :func:`~cvxrelu.drivers.result.conclude` for the final certificate (one ω̄ at the best
  network's residual) and builds the :class:`~cvxrelu.drivers.result.SolveResult`;
* :func:`certified_cuts` — the violated directions of a certified ``oracle.bound`` call
  (its best direction and every violated ``candidates`` column) as cuts.

Kelley and ACCPM run :func:`column_generation`; drivers whose rounds differ keep their own
loop on :class:`Run` (the any-loss driver: query ∇ℓ_μ; the CNN driver: local-search pricing
before the oracle, whose object need only provide ``exact``, ``rank``, ``__call__`` and
``bound`` — :class:`~cvxrelu.drivers.conv_cutting_plane.PatchOracle`).

The columns (collected neurons, their features, the master) are
:class:`~cvxrelu.drivers.columns.Columns`.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from .._validate import as_beta, as_data, as_targets
from ..errors import InvalidInputError
from ..geometry.oracle import DualOracle, _row_chunks
from ..networks.network import ReLUNetwork
from .columns import Columns, DenseFeatures
from .result import (IterationRecord, SolveResult, Status, as_network, conclude,
                     scaled_dual_bound)

__all__ = ["Budget", "Bounds", "Progress", "Run", "MasterResidual", "column_generation",
           "refine", "certified_cuts", "certified_bound", "kelley", "start_columns",
           "check_problem", "network_residual", "check_network", "warm_directions",
           "warm_network"]

logger = logging.getLogger("cvxrelu")


class Progress:
    """A tqdm bar with the bounds as postfix, or DEBUG logging when disabled.

    A heuristic oracle's value is shown as such ("heuristic"), never as "lower".
    """

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

    def close(self, result: SolveResult | None = None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if result is None:
            return
        logger.info("%s finished: %s, upper %.10g, certified lower %.10g, rel gap %.2e, "
                    "%d it, %.3fs", self.desc, result.status.value, result.upper, result.lower,
                    result.certified_rel_gap, result.iterations, result.time)
        if result.message:
            logger.info("%s: %s", self.desc, result.message)


class Budget:
    """Wall-clock budget of a driver.

    The iterations may use ``(1 − reserve)·time_limit`` (:meth:`over`,
    :meth:`iterations_left`); the rest is kept for the final certificate (:meth:`left`).
    ``reserve`` is 0 with an exact iterations' oracle (whose certificate costs nothing more)
    and 20 % otherwise.
    """

    def __init__(self, time_limit, reserve: float = 0.0, t0: float | None = None):
        self.t0 = time.perf_counter() if t0 is None else t0
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


class Bounds:
    """Best bounds of a run on p*.

    ``upper``: the best network's objective (5), with that network and its residual Z;
    ``certified``: the best certified lower bound (exact oracle, or a certified ω̄);
    ``heuristic``: the best heuristic value (never a bound; one above an upper bound proves
    that the oracle missed a violated direction, is discarded and kept in ``failed``).
    """

    def __init__(self, oracle, Y, beta):
        self.oracle, self.Y, self.beta = oracle, Y, beta
        self.upper, self.network, self.Z = np.inf, None, None
        self.Z_evaluated = False
        self.certified = -np.inf
        self.heuristic = -np.inf
        self.failed = -np.inf  # largest discarded heuristic value (above an upper bound)

    def offer_network(self, upper, network_fn, Z, evaluated) -> bool:
        """Keep the network (``network_fn()``, built only when kept) if it is the best."""
        if upper < self.upper:
            self.upper, self.network, self.Z = upper, network_fn(), Z
            self.Z_evaluated = evaluated
            self._check_heuristic()
            return True
        return False

    def offer_lower(self, lower, certified: bool | None = None):
        """A dual value; certified when the oracle is exact (or ``certified=True``)."""
        if self.oracle.exact if certified is None else certified:
            self.certified = max(self.certified, lower)
        else:
            self.heuristic = max(self.heuristic, lower)
            self._check_heuristic()

    def forget_heuristic(self):
        """Drop the heuristic values (the oracle was shown to have missed a direction)."""
        self.failed = max(self.failed, self.heuristic)
        self.heuristic = -np.inf

    def _check_heuristic(self):
        if self.heuristic > self.upper + 1e-9 * max(abs(self.upper), 1e-300):
            self.failed = max(self.failed, self.heuristic)
            self.heuristic = -np.inf

    @property
    def stop_lower(self):
        """The value the stopping rule compares with ``upper``."""
        return max(self.certified, -np.inf if self.oracle.exact else self.heuristic)

    def rel_gap(self) -> float:
        return (self.upper - self.stop_lower) / max(abs(self.upper), 1e-300)

    def closed(self, tol) -> bool:
        return self.upper - self.stop_lower <= tol * max(abs(self.upper), 1e-300)


class Run:
    """The state of one driver run: budget, bounds, history, progress and stopping rule.

    Parameters
    ----------
    oracle : DualOracle
        The iterations' oracle (its ``exact`` decides whether history lower bounds are
        certified, its ``basis`` maps reduced directions to the original space).
    Y : ndarray (n, c)
    beta : float
    tol : float
        Relative gap at which the run stops (certified gap ≤ tol ⇒ ``Status.OPTIMAL``).
    max_iters : int
    time_limit : float or None
    progress : bool
    desc : str
        The method name (``SolveResult.method``, progress bar, log lines).
    """

    def __init__(self, oracle, Y, beta, *, tol, max_iters, time_limit, progress, desc):
        self.oracle, self.Y, self.beta, self.tol = oracle, Y, beta, tol
        self.max_iters, self.desc = max_iters, desc
        self.budget = Budget(time_limit, 0.0 if oracle.exact else 0.2)
        self.bounds = Bounds(oracle, Y, beta)
        self.bar = Progress(progress, desc)
        self.history: list = []
        self.status = Status.MAX_ITERS
        self.omega = np.nan
        self.refinements = 0       # certified bound calls whose cuts resumed the iterations
        self.last_bound = None     # (Z, OracleBound) of the last certified bound call
        # the certified lower bound of a dual point Z given ω̄ ≥ ω(Z): (11) for the squared
        # loss; the any-loss driver sets −ℓ*(sZ) of (79)
        self.dual_bound = lambda Z, omega: scaled_dual_bound(Z, self.Y, self.beta, omega)[0]
        # whether every record's lower bound is certified (SolveResult.exact_oracle): true
        # with an exact oracle, and for a driver whose rounds call the certified bound
        self.history_certified = oracle.exact

    # ---------------------------------------------------------------- offers
    def offer_warm_network(self, net, X, residual):
        """The user's network is a candidate as it is (the result is never worse)."""
        self.bounds.offer_network(net.objective(X, self.Y, self.beta), lambda: net,
                                  residual, False)

    def record(self, n_columns: int, omega: float, heuristic=None) -> IterationRecord:
        """Append the current best bounds to the history and show them.

        ``heuristic``: the record's heuristic value (default: the best heuristic value of
        the bounds with a heuristic oracle, NaN with an exact one)."""
        self.omega = omega
        b = self.bounds
        if heuristic is None:
            heuristic = np.nan if self.oracle.exact else b.heuristic
        rec = IterationRecord(len(self.history) + 1, b.upper, b.certified,
                              self.budget.elapsed(), n_columns, omega, heuristic)
        self.history.append(rec)
        self.bar.update(rec)
        return rec

    # -------------------------------------------------------------- stopping
    def done(self) -> bool:
        """Stop test after a record: closed gap, then the time and iteration budgets; sets
        ``status``."""
        if self.history and self.bounds.closed(self.tol):
            self.status = Status.OPTIMAL
            return True
        if self.budget.over():
            self.status = Status.TIME_LIMIT
            return True
        if len(self.history) >= self.max_iters:
            self.status = Status.MAX_ITERS
            return True
        return False

    # --------------------------------------------------------- certificate
    def _reusable_bound(self, left):
        """The refinement's bound at the best network's residual, when it is still current:
        as it is if it is exact or no time is left; otherwise the search runs again with
        the time the iterations left for the certificate (the final bound gets the reserve
        of :class:`Budget`); the refinement's lower bound stays in ``bounds.certified``, so
        the better of the two counts."""
        if self.last_bound is None or self.last_bound[0] is not self.bounds.Z:
            return None
        ob = self.last_bound[1]
        if ob.exact or (left is not None and left < 1.0):
            return ob
        return None

    def finish(self, X, *, oracle_time_limit, oracle_budget, warm=None, info=None,
               exhausted=None) -> SolveResult:
        """Final certificate (one ``oracle.bound`` at the best network's residual, or the
        refinement's bound when it is still current) and the :class:`SolveResult`.

        ``exhausted``: whether the run ended because a budget ran out (default: the status
        is ``MAX_ITERS`` or ``TIME_LIMIT``); with a certified violated direction this makes
        the status ``ORACLE_FAILED`` (see :func:`~cvxrelu.drivers.result.conclude`).
        """
        b, budget, oracle = self.bounds, self.budget, self.oracle
        heur = max(b.heuristic, b.failed)
        left = budget.left()
        if left is not None:  # the certificate gets at least 10 % of the time limit
            left = max(left, 0.1 * budget.time_limit)
        if exhausted is None:
            exhausted = self.status in (Status.MAX_ITERS, Status.TIME_LIMIT)
        lower, status, message, ob = conclude(
            oracle, b.Z, self.Y, self.beta, upper=b.upper, certified_lower=b.certified,
            heuristic_lower=None if oracle.exact else heur, stop_status=self.status,
            tol=self.tol, time_left=left,
            oracle_time_limit=(oracle_time_limit if left is None or oracle_time_limit is None
                               else min(oracle_time_limit, left)),
            oracle_budget=oracle_budget, warm=warm,
            evaluated_exactly=oracle.exact and b.Z_evaluated,
            precomputed=self._reusable_bound(left),
            budget_exhausted=exhausted, dual_bound=self.dual_bound)
        info = dict(info or {})
        info.update(rank=oracle.rank, oracle_bound=ob)
        if not oracle.exact:
            info["heuristic_lower"] = heur
            info["certified_refinements"] = self.refinements
        res = SolveResult(network=b.network, upper=b.upper, lower=lower, status=status,
                          exact_oracle=self.history_certified, history=self.history,
                          method=self.desc,
                          beta=self.beta, time=budget.elapsed(), info=info, certified=True,
                          message=message)
        self.bar.close(res)
        return res


#: distinct violated directions a certified call may turn into cuts (measured on teacher data,
#: n = 80, d = 5: a complete search near the optimum ends with 6–13 directions above β)
REFINE_CANDIDATES = 64


def certified_bound(oracle, Z, budget: Budget, oracle_time_limit, oracle_budget, warm):
    """One ``oracle.bound`` call during the iterations: at most half of what is left of the
    driver's time limit (the other half stays for the final certificate) and at most
    ``oracle_time_limit`` (60 s when neither is given)."""
    left = budget.iterations_left()
    share = 60.0 if left is None else 0.5 * max(left, 0.0)
    limit = share if oracle_time_limit is None else min(oracle_time_limit, share)
    return oracle.bound(Z, time_limit=max(float(limit), 1e-2), node_budget=oracle_budget,
                        warm=warm, n_candidates=REFINE_CANDIDATES)


def certified_cuts(ob, basis, beta) -> np.ndarray:
    """Violated directions of a certified bound, in the oracle's reduced space, shape (r, k).

    ``ob.direction`` when ω_lo > β, and every column of ``ob.candidates`` (original space,
    (d, k), values ``ob.candidate_values``) whose value exceeds β — the field is optional
    (``getattr``); candidates without values are re-evaluated by the master when added.
    """
    cols = []
    if ob.lower > beta * (1 + 1e-9):
        cols.append(np.asarray(ob.direction, dtype=float)[:, None])
    cand = getattr(ob, "candidates", None)
    if cand is not None:
        cand = np.asarray(cand, dtype=float)
        if cand.ndim == 2 and cand.shape[1]:
            vals = getattr(ob, "candidate_values", None)
            if vals is not None:
                cand = cand[:, np.asarray(vals, dtype=float) > beta * (1 + 1e-9)]
            cols.append(cand)
    if not cols:
        return np.zeros((basis.shape[1], 0))
    U = basis.T @ np.hstack(cols)
    nrm = np.linalg.norm(U, axis=0)
    return U[:, nrm > 0]


# ------------------------------------------------------------------ query rules
class MasterResidual:
    """Kelley's query rule (column generation): the restricted dual's optimum, i.e. the
    master's residual Z = Y − A V. Cuts are screened after each master."""

    screens = True

    def point(self, Zk, run, cols):
        return Zk

    def observe(self, Zq, lower, s, run):
        pass

    def after(self, run, Zk):
        pass


def column_generation(run: Run, cols, rule, *, n_cuts: int, oracle_time_limit=None,
                      oracle_budget=None):
    """The cutting-plane loop on the dual (11)/(73) with a pluggable query rule.

    Each iteration: offer the master's network (upper bound), ask ``rule`` for the query
    point Z_q, call the iterations' oracle at Z_q (lower bound of Z_q scaled by β/ω), record,
    stop on a closed gap or a budget, add the violated directions as columns and re-solve the
    master (warm-started, as accurate as the gap needs). When the master's residual yields
    no new column the master is re-solved accurately once, then the run has stalled.

    With a heuristic iterations' oracle (rank ≥ 4), when the iterations find nothing more,
    the certified search ``oracle.bound`` runs at the best network's residual: if the gap is
    then closed, the run is optimal; if it finds violated directions (its best one and every
    violated ``candidates`` column), they become columns and the iterations resume — as long
    as iterations and time are left. Returns nothing; ``run`` holds the outcome.
    """
    oracle, bounds, Y, beta = run.oracle, run.bounds, run.Y, run.beta
    basis = oracle.basis
    Zk = cols.residual()
    retried = False
    while True:
        while len(run.history) < run.max_iters:
            Zq = rule.point(Zk, run, cols)
            at_master = Zq is Zk
            bounds.offer_network(cols.upper(Zk), lambda: cols.network(basis), Zk, at_master)
            vals, Ur = oracle.reduced(Zq, n_cuts, cols.U if cols.K and not oracle.exact
                                      else None)
            omega = float(vals[0])
            # ω̄ = ω + slack of the rank reduction when the oracle is exact; a heuristic ω
            # gives no bound (Bounds keeps it apart)
            lower, s = scaled_dual_bound(Zq, Y, beta, oracle.value_bound(Zq, omega)
                                         if oracle.exact else omega)
            bounds.offer_lower(lower)
            rule.observe(Zq, lower, s, run)
            run.record(cols.K, omega)
            if run.done():
                break
            viol = vals > beta * (1 + 1e-12)
            added = cols.add(Ur[:, viol]) if np.any(viol) else 0
            if added == 0 and at_master:
                if retried:
                    run.status = Status.STALLED
                    break
                # the oracle points at existing columns: the master is not accurate enough;
                # re-solve it with the (slow, accurate) barrier Newton method
                retried = True
                cols.solve(accurate=True)
                Zk = cols.residual()
                continue
            if added:
                retried = False
                cols.solve(target=min(1e-3, max(1e-9, 1e-2 * bounds.rel_gap())))
                Zk = cols.residual()
                if rule.screens:
                    cols.screen(cols.cut_values())
            rule.after(run, Zk)
        else:
            run.status = Status.MAX_ITERS
        # the last master (solved after the last record) is a candidate too
        bounds.offer_network(cols.upper(Zk), lambda: cols.network(basis), Zk, False)
        if (oracle.exact or run.status not in (Status.OPTIMAL, Status.STALLED)
                or run.budget.over()):
            return
        # the heuristic sees no violated direction: ask the certified search
        if not refine(run, cols, oracle_time_limit, oracle_budget):
            return
        retried = False
        cols.solve(accurate=True)
        Zk = cols.residual()


def refine(run: Run, cols, oracle_time_limit, oracle_budget) -> bool:
    """One certified bound ω̄ at the best network's residual during the iterations.

    Closes the run (``Status.OPTIMAL``) when the certified gap is ≤ tol; otherwise adds its
    violated directions (:func:`certified_cuts`) as columns, forgets the heuristic values
    (computed with a wrong ω) and returns True (resume). The bound is kept for the final
    certificate while the best network does not change."""
    oracle, bounds, beta = run.oracle, run.bounds, run.beta
    warm = oracle.basis @ cols.U if cols.K else None
    ob = certified_bound(oracle, bounds.Z, run.budget, oracle_time_limit, oracle_budget, warm)
    run.last_bound = (bounds.Z, ob)
    bounds.offer_lower(run.dual_bound(bounds.Z, ob.upper), certified=True)
    if bounds.upper - bounds.certified <= run.tol * max(abs(bounds.upper), 1e-300):
        run.status = Status.OPTIMAL
        return False
    cuts = certified_cuts(ob, oracle.basis, beta)
    if not cuts.shape[1] or len(run.history) >= run.max_iters or run.budget.over():
        return False
    if not cols.add(cuts):
        return False
    run.refinements += 1
    logger.info("%s: the certified oracle found %d violated direction(s) (ω ≥ %.6g > β = %.6g)"
                " that the heuristic missed; resuming (%d)", run.desc, cuts.shape[1], ob.lower,
                beta, run.refinements)
    bounds.forget_heuristic()
    run.status = Status.MAX_ITERS
    return True


# ------------------------------------------------------- shared driver pieces
def check_problem(X, Y, beta):
    """The validated (X, Y, β) of every driver (cvxrelu._validate)."""
    X = as_data(X)
    Y = as_targets(Y, X.shape[0])
    beta = as_beta(beta)
    return X, Y, beta


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


def start_columns(X, Y, beta, oracle, run: Run, cols, warm_net):
    """The warm network is a candidate as it is, and its neurons start the master."""
    if warm_net is None:
        return
    run.offer_warm_network(warm_net, X, network_residual(warm_net, X, Y))
    Uw = warm_directions(warm_net, oracle)
    if Uw is not None and cols.add(Uw):
        cols.solve(accurate=True)


def warm_network(warm_start, X, Y):
    """The warm-start network as a ReLUNetwork matching the data, or None."""
    if warm_start is None:
        return None
    try:
        net = as_network(warm_start)
    except InvalidInputError as exc:
        raise InvalidInputError(f"warm_start: {exc}") from None
    check_network(net, X, Y, "warm_start")
    return net


def kelley(X, Y, beta, oracle, tol, max_iters, n_cuts, time_limit, progress, desc,
           single_atom=False, method_name="cutting_plane[kelley]", warm_net=None,
           oracle_time_limit=None, oracle_budget=None):
    """Kelley / column generation: :func:`column_generation` with the master's residual as
    query point (:class:`MasterResidual`), on the squared-loss master over dense features.
    The fully corrective Frank-Wolfe on the penalized problem is this same method (one atom
    per round with ``single_atom``), so both drivers call it."""
    run = Run(oracle, Y, beta, tol=tol, max_iters=max_iters, time_limit=time_limit,
              progress=progress, desc=desc)
    run.desc = method_name
    cols = Columns(DenseFeatures(oracle.Xr), Y, beta)
    start_columns(X, Y, beta, oracle, run, cols, warm_net)
    column_generation(run, cols, MasterResidual(), n_cuts=1 if single_atom else n_cuts,
                      oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget)
    return run.finish(X, oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget,
                      warm=oracle.basis @ cols.U if cols.K else None,
                      info={"oracle_value": run.omega, "n_columns": cols.K,
                            "certified_refinements": run.refinements})
