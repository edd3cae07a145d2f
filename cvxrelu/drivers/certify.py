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

from .._torch import is_torch_module
from .._validate import check_choice
from ..errors import InvalidInputError
from ..network import ReLUNetwork
from ..oracle import DualOracle, _row_chunks
from .cutting_plane import _check_problem, _positive
from .result import IterationRecord, SolveResult, final_status, scaled_dual_bound

__all__ = ["certify", "as_network"]


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


def certify(network, X, Y, beta, oracle: str = "auto", tol: float = 1e-6,
            seed=None, loss="squared") -> SolveResult:
    """Upper and certified lower bounds on the global optimum p* of (5) around a network.

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
        The dual oracle; "auto" is exact for rank(X) ≤ 3. With the heuristic (rank ≥ 4) the
        lower bound is NOT certified (``exact_oracle=False``, see :mod:`.result`).
    tol : float
        Relative gap below which the status is ``"optimal"``.
    seed : None or int
        Randomness of the heuristic oracle.
    loss : str or Loss
        Any loss of :mod:`cvxrelu.losses` with a conjugate: the lower bound is then the dual
        (79) at the network's gradient (see :mod:`cvxrelu.drivers.loss_certificate`).

    Returns
    -------
    SolveResult
        ``upper`` = the network's objective (5); ``lower`` = the dual (11) value of the
        scaled residual; ``status`` is ``"optimal"`` (rel. gap ≤ tol) or ``"gap"``;
        ``info`` holds ``oracle_value`` ω(Z), the scale ``s`` and ``direction`` (the most
        violated first-layer direction u: adding a neuron there decreases the objective
        when ω(Z) > β).

    Examples
    --------
    >>> import cvxrelu as cr
    >>> X, Y = cr.datasets.spiral()
    >>> res = cr.cutting_plane(X, Y, 1e-2, progress=False)
    >>> cert = cr.certify(res.network, X, Y, 1e-2)
    >>> cert.rel_gap < 1e-5
    True
    """
    if loss != "squared":
        from .loss_certificate import certify_loss

        return certify_loss(as_network(network), X, Y, beta, loss, oracle=oracle, tol=tol,
                            seed=seed)
    t0 = time.perf_counter()
    X, Y, beta = _check_problem(X, Y, beta)
    tol = _positive(tol, "tol")
    net = as_network(network)
    if net.n_features != X.shape[1]:
        raise InvalidInputError(
            f"network has {net.n_features} inputs but X has {X.shape[1]} features; pass the "
            "data the network was trained on.")
    if net.n_outputs != Y.shape[1]:
        raise InvalidInputError(
            f"network has {net.n_outputs} outputs but Y has {Y.shape[1]} columns.")
    # the residual over row chunks: no n × m hidden-activation matrix (memory O(n (d + c)))
    Z = Y.copy()
    for rows in _row_chunks(X.shape[0], net.n_neurons):
        Z[rows] -= np.maximum(X[rows] @ net.W1, 0.0) @ net.W2
    upper = 0.5 * float(np.sum(Z * Z)) + beta * net.weight_decay()  # the objective (5)
    oracle = check_choice(oracle, ("auto", "exact", "heuristic"), "oracle")
    orc = DualOracle(X, method=oracle, seed=seed)
    res = orc(Z)
    lower, s = scaled_dual_bound(Z, Y, beta, res.value)
    elapsed = time.perf_counter() - t0
    rel = (upper - lower) / max(abs(upper), 1e-300)
    status = final_status(rel, tol, orc.exact, "gap")
    return SolveResult(
        network=net, upper=upper, lower=lower, status=status, exact_oracle=orc.exact,
        history=[IterationRecord(1, upper, lower, elapsed, net.n_neurons, res.value)],
        method="certify", beta=beta, time=elapsed,
        info={"oracle_value": res.value, "s": s, "direction": res.direction,
              "rank": orc.rank})
