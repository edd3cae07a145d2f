"""Certificates for general convex losses: the dual (78)–(79) at a network's gradient.

For a loss ℓ convex in the predictions, p* ≥ −ℓ*(Z) for every Z with ‖Zᵀ(Xu)_+‖ ≤ β for all
‖u‖ ≤ 1 (weak duality of (79); sign convention of :mod:`cvxrelu.losses`). The natural dual
candidate of a network with outputs F is Z = ∇ℓ(F); it is moved into dom ℓ* and scaled by
s ∈ [0, min(1, β/ω(Z))] (ω is the dual oracle), which keeps it feasible and inside the domain
(every built-in dom ℓ* is star-shaped about 0), and s is chosen to maximize −ℓ*(sZ), a
concave function of s (:func:`loss_dual_bound`, shared with the general-loss driver
:func:`cvxrelu.drivers.loss_driver.loss_cutting_plane`).

ω enters through the certified upper end ω̄ ≥ ω(Z) of :meth:`DualOracle.bound`: for
rank(X) ≤ 3 it is the exact maximum; above, a valid (spectral) upper bound, so the lower
bound stays certified for every rank and tightens as the oracle improves.
"""

from __future__ import annotations

import time

import numpy as np

from .._validate import as_beta, as_data, as_targets, check_choice
from ..errors import CertificateError, InvalidInputError, UnsupportedError
from ..geometry.oracle import DualOracle
from .result import IterationRecord, SolveResult, final_status

__all__ = ["certify_loss", "loss_dual_bound", "check_bounds"]

#: relative rounding tolerated between a certified lower bound and a network's objective
ROUNDING = 1e-10


def check_bounds(lower: float, upper: float, where: str) -> float:
    """Return ``lower``, clipped to ``upper`` when it exceeds it by rounding only.

    A certified lower bound above a real network's objective by more than
    :data:`ROUNDING` (relative) is a bug, never noise: it raises CertificateError.
    """
    if lower > upper:
        if lower - upper > ROUNDING * max(abs(upper), abs(lower), 1e-300):
            raise CertificateError(
                f"{where}: the certified lower bound {lower!r} exceeds the network's objective "
                f"{upper!r}; this is a bug in cvxrelu (please report it).")
        return upper
    return lower


def _golden_max(g, lo: float, hi: float, iters: int = 80) -> tuple[float, float]:
    """Maximize a concave function of one variable on [lo, hi]."""
    phi = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - phi * (b - a), a + phi * (b - a)
    gc, gd = g(c), g(d)
    for _ in range(iters):
        if gc >= gd:
            b, d, gd = d, c, gc
            c = b - phi * (b - a)
            gc = g(c)
        else:
            a, c, gc = c, d, gd
            d = a + phi * (b - a)
            gd = g(d)
    best = max(((g(x), x) for x in (lo, hi, c, d)), key=lambda t: t[0])
    return best[1], best[0]


def loss_dual_bound(loss, Z, Y, beta: float, omega_upper: float) -> tuple[float, float]:
    """Best dual value (79) along the ray {sZ : 0 ≤ s ≤ min(1, β/ω̄, domain scale)}.

    Parameters
    ----------
    loss : cvxrelu.losses.Loss
        A loss with a conjugate.
    Z : ndarray, shape (n, c)
        A point of dom ℓ* (e.g. ``loss.into_domain(loss.dual_point(F, Y), Y)``).
    Y : ndarray, shape (n, c)
        Prepared targets.
    beta : float
    omega_upper : float
        A certified upper bound ω̄ ≥ ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖ (``DualOracle.bound``).

    Returns
    -------
    (lower, s)
        lower = −ℓ*(sZ) ≤ p*: every such sZ satisfies the constraint of (79) (since
        ‖(sZ)ᵀ(Xu)_+‖ ≤ sω̄ ≤ β) and lies in dom ℓ* (star-shaped about 0).
    """
    s_max = min(1.0, beta / omega_upper) if omega_upper > 0 else 1.0
    s_max = min(s_max, loss.domain_scale(Z, Y)) if s_max > 0 else 0.0

    def g(s):
        value = loss.dual_objective(s * Z, Y)
        return value if np.isfinite(value) else -np.inf

    # −ℓ*(sZ) is concave in s: if it still increases at s_max the maximum is there (the
    # usual case near the optimum, where Z ≈ Z* and β/ω ≈ 1); else a golden-section search
    top = g(s_max)
    if s_max > 0 and top >= g(s_max * (1.0 - 1e-7)):
        s, lower = s_max, top
    else:
        s, lower = _golden_max(g, 0.0, s_max)
    g0 = g(0.0)
    if g0 > lower:
        s, lower = 0.0, g0
    return float(lower), float(s)


def certify_loss(net, X, Y, beta, loss, *, oracle: str = "auto", tol: float = 1e-6,
                 seed=None, oracle_time_limit: float | None = None,
                 oracle_budget: int | None = None) -> SolveResult:
    """Upper bound (the network's objective with ``loss``) and a dual lower bound (79).

    Parameters are those of :func:`cvxrelu.certify`; ``net`` is a ReLUNetwork.
    ``oracle_time_limit`` (seconds, default 60) and ``oracle_budget`` (nodes) bound the one
    call of :meth:`DualOracle.bound`; stopped early it still returns a valid ω̄, so the lower
    bound stays certified (only looser). ``exact_oracle`` is True because the bound divides
    by that certified ω̄; ``info["oracle_exact"]`` says whether ω̄ was the exact maximum.

    Raises UnsupportedError for a loss without a conjugate (a user callable registered
    without ``conjugate=``): then only the upper bound is known.
    """
    from ..losses import get_loss

    t0 = time.perf_counter()
    X = as_data(X)
    beta = as_beta(beta)
    lo = get_loss(loss)
    if not lo.supports_conjugate:
        raise UnsupportedError(
            f"loss {lo.name!r} has no conjugate, so no dual lower bound can be computed; "
            "register it with conjugate=... or use net.objective(...) as the upper bound."
        )
    Yp = as_targets(lo.prepare_targets(Y), X.shape[0])
    if net.n_outputs != Yp.shape[1]:
        raise InvalidInputError(
            f"network has {net.n_outputs} outputs but the prepared Y has {Yp.shape[1]} columns.")
    upper = net.objective(X, Yp, beta, loss)
    F = net.predict(X)
    Z = lo.into_domain(lo.dual_point(F, Yp), Yp)
    oracle = check_choice(oracle, ("auto", "exact", "heuristic"), "oracle")
    orc = DualOracle(X, method=oracle, seed=seed)
    # certified ω̄ ≥ ω(Z) for every rank (anytime: a budget only loosens it); the network's
    # neurons start the search
    ob = orc.bound(Z, time_limit=60.0 if oracle_time_limit is None else oracle_time_limit,
                   node_budget=oracle_budget, warm=net.W1 if net.n_neurons else None)
    omega = ob.upper
    lower, s = loss_dual_bound(lo, Z, Yp, beta, omega)
    lower = check_bounds(lower, upper, f"certify[{lo.name}]")
    elapsed = time.perf_counter() - t0
    rel = (upper - lower) / max(abs(upper), 1e-300)
    # the lower bound divides by the CERTIFIED ω̄, so it is certified for every rank (for
    # rank ≥ 4 ω̄ is a loose spectral bound: certified but loose); info["oracle_exact"] says
    # whether ω̄ was the exact maximum
    status = final_status(rel, tol, True, "gap")
    return SolveResult(
        network=net, upper=upper, lower=lower, status=status, exact_oracle=True,
        history=[IterationRecord(1, upper, lower, elapsed, net.n_neurons, omega)],
        method=f"certify[{lo.name}]", beta=beta, time=elapsed,
        info={"oracle_value": omega, "oracle_lower": ob.lower, "oracle_exact": ob.exact,
              "oracle_method": ob.method, "oracle_bound": ob, "s": s, "loss": lo.name,
              "rank": orc.rank})
