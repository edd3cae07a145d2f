"""Certify any trained two-layer ReLU network: how far is it from the global optimum?

For a network f with primal objective (5) ``upper = ½‖f(X) − Y‖² + (β/2)(‖W1‖² + ‖W2‖²)``
(an upper bound on p*), the residual Z = Y − f(X) is the dual variable of the squared loss
(Z = −∇ℓ(f(X))). Scaled into feasibility of the semi-infinite dual (11) with the oracle
value ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖, every sZ with 0 ≤ s ≤ β/ω(Z) is dual feasible, and

    lower = max_{0 ≤ s ≤ β/ω(Z)}  s⟨Z, Y⟩ − ½ s²‖Z‖²   ≤  p*.

So ``lower ≤ p* ≤ upper`` for any network — from cvxrelu, from SGD, or from torch — and a
small gap proves that the network is (nearly) globally optimal. At a global optimum the
residual is the optimal dual variable and the gap is 0 (strong duality, Theorem 1).
"""

from __future__ import annotations

import time

import numpy as np

from ..losses import SquaredLoss, get_loss
from ..geometry.oracle import DualOracle
from .engine import check_network, check_problem, network_residual
from .options import driver_options
from .result import IterationRecord, SolveResult, Status, as_network, conclude, scaled_dual_bound

__all__ = ["certify", "as_network"]


def certify(network, X, Y, beta, *, oracle: str = "auto", tol: float = 1e-6,
            seed=None, loss="squared", oracle_time_limit: float | None = None,
            oracle_budget: int | None = None) -> SolveResult:
    """Upper and certified lower bounds on the global optimum p* of (5) around a network.

    All arguments after ``(network, X, Y, beta)`` are keyword-only.

    Parameters
    ----------
    network : ReLUNetwork, (W1, W2) or torch.nn.Sequential
        Any bias-free two-layer ReLU network: ``relu(X W1) W2``; torch modules must be
        ``Sequential(Linear(d, m, bias=False), ReLU(), Linear(m, c, bias=False))``.
    X : array-like, shape (n, d)
    Y : array-like, shape (n, c) or (n,)
    beta : float
        Weight decay β > 0 of (5) (on the library's scale: losses summed, never averaged).
    oracle : {"auto", "exact", "heuristic"}
        The dual oracle (:class:`~cvxrelu.geometry.oracle.DualOracle`). The lower bound uses its
        certified upper bound ω̄ ≥ ω(Z) (:meth:`~cvxrelu.geometry.oracle.DualOracle.bound`), so it is
        certified for every rank; it is exact for rank ≤ 3 and may be loose above (then
        raise ``oracle_time_limit`` / ``oracle_budget``). The network's neurons are passed to
        the oracle as starting directions.
    tol : float
        Relative gap below which the status is ``"optimal"``.
    seed : None or int
        Randomness of the heuristic oracle.
    loss : str or Loss
        Any loss of :mod:`cvxrelu.losses` with a conjugate: the lower bound is then the dual
        (79) at the network's gradient (see :mod:`cvxrelu.drivers.loss_certificate`).
    oracle_time_limit : float, optional
        Seconds for ω̄ (anytime; default 60 s).
    oracle_budget : int, optional
        Node budget for ω̄ (branch and bound, rank ≥ 4).

    Returns
    -------
    SolveResult
        ``upper`` = the network's objective (5); ``lower`` = the dual (11) value of the
        residual scaled by β/ω̄ (certified); ``status`` is ``"optimal"`` (certified rel. gap
        ≤ tol) or ``"gap"``; ``info`` holds ``oracle_value`` ω̄, ``oracle_bound`` (the
        :class:`~cvxrelu.geometry.oracle.OracleBound`), ``direction`` (the most violated first-layer
        direction found: adding a neuron there decreases the objective when its value
        exceeds β) and ``heuristic_lower`` (the value with ω_lo, never a bound).

    Examples
    --------
    >>> import cvxrelu as cr
    >>> X, Y = cr.datasets.spiral()
    >>> res = cr.cutting_plane(X, Y, 1e-2, progress=False)
    >>> cert = cr.certify(res.network, X, Y, 1e-2)
    >>> cert.certified and cert.certified_rel_gap < 1e-5
    True
    """
    loss = get_loss(loss)                              # resolved once
    if not isinstance(loss, SquaredLoss):
        from .loss_certificate import certify_loss

        return certify_loss(as_network(network), X, Y, beta, loss=loss, oracle=oracle, tol=tol,
                            seed=seed, oracle_time_limit=oracle_time_limit,
                            oracle_budget=oracle_budget)
    t0 = time.perf_counter()
    X, Y, beta = check_problem(X, Y, beta)
    opt = driver_options(tol=tol, oracle=oracle, oracle_time_limit=oracle_time_limit,
                         oracle_budget=oracle_budget)
    net = as_network(network)
    check_network(net, X, Y)
    # the residual over row chunks: no n × m hidden-activation matrix (memory O(n (d + c)))
    Z = network_residual(net, X, Y)
    upper = 0.5 * float(np.sum(Z * Z)) + beta * net.weight_decay()  # the objective (5)
    orc = DualOracle(X, method=opt.oracle, seed=seed)
    warm = net.W1 if net.n_neurons else None
    lower, status, message, ob = conclude(
        orc, Z, Y, beta, upper=upper, stop_status=Status.GAP, tol=opt.tol,
        oracle_time_limit=opt.oracle_time_limit, oracle_budget=opt.oracle_budget, warm=warm)
    heuristic = scaled_dual_bound(Z, Y, beta, ob.lower)[0]
    _, s = scaled_dual_bound(Z, Y, beta, ob.upper)
    elapsed = time.perf_counter() - t0
    info = {"oracle_value": ob.upper, "oracle_bound": ob, "s": s, "direction": ob.direction,
            "rank": orc.rank}
    if not ob.exact:
        info["heuristic_lower"] = heuristic
    return SolveResult(
        network=net, upper=upper, lower=lower, status=status, exact_oracle=orc.exact,
        history=[IterationRecord(1, upper, lower, elapsed, net.n_neurons, ob.upper)],
        method="certify", beta=beta, time=elapsed, info=info, certified=True,
        message=message)
