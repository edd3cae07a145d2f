"""Network recovery from a convex solution (Remark 5.1, (49)) and the second-layer refit.

Given candidate first-layer neurons u_j (unit norm), the best second layer solves the convex
group lasso

    min_V  ½‖Σ_j (X u_j)_+ v_jᵀ − Y‖²_F + β Σ_j ‖v_j‖₂,

which is the rescaled primal (25) with the u_j fixed. Its value is an upper bound on p*
(it is a real network's objective); with the optimal neurons it equals p*.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from ..losses import SquaredLoss, UserLoss, get_loss
from ..networks.network import ReLUNetwork
from .solvers import run_solver

__all__ = ["network_from_factors", "refit_second_layer", "dedupe_directions", "best_network"]


def best_network(candidates, X, Y, beta: float, empty, loss="squared"):
    """The network with the lowest primal objective (5) among ``candidates`` and ``empty``
    (the network with no neurons).

    When β is large the zero network is optimal and solver noise would otherwise leave
    neurons of path norm ~1e-10 that make the objective slightly worse than ½‖Y‖².
    """
    nets = [net for net in candidates if net is not None] + [empty]
    scores = [net.objective(X, Y, beta, loss) for net in nets]
    return nets[int(np.argmin(scores))]


def dedupe_directions(U: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Normalize columns and drop (near-)repeated directions."""
    norms = np.linalg.norm(U, axis=0)
    U = U[:, norms > 0] / norms[norms > 0]
    if U.shape[1] == 0:
        return U
    keep = [0]
    for j in range(1, U.shape[1]):
        if np.min(np.linalg.norm(U[:, keep] - U[:, [j]], axis=0)) > tol:
            keep.append(j)
    return U[:, keep]


def network_from_factors(H: np.ndarray, G: np.ndarray) -> ReLUNetwork:
    """Neurons from V = Σ_j h_j g_jᵀ: u_j = h_j √(‖g_j‖/‖h_j‖), v_j = g_j √(‖h_j‖/‖g_j‖),
    so that ½(‖u_j‖² + ‖v_j‖²) = ‖h_j‖‖g_j‖ (balanced; H is d × m, G is m × c; pairs with
    h_j = 0 or g_j = 0 are dropped). This is :meth:`ReLUNetwork.balanced` of (H, G).

    Examples
    --------
    >>> import numpy as np
    >>> net = network_from_factors(np.array([[4.0]]), np.array([[1.0]]))
    >>> net.W1.tolist(), net.W2.tolist()
    ([[2.0]], [[2.0]])
    """
    return ReLUNetwork(H, G).balanced()


def refit_second_layer(X: np.ndarray, Y: np.ndarray, beta: float, U: np.ndarray,
                       solver=None, loss="squared", activations=None, **solver_kwargs):
    """Best second layer for fixed unit neurons U (d × m): the group lasso above.

    ``activations(U)`` gives the hidden features (n × m); the default is relu(X U). The CNN
    builder passes Σ_k relu(X_k U) (global sum pooling, (50)).

    Returns the balanced, pruned network (a ReLUNetwork, or (U, V) when ``activations`` is
    given); its primal objective equals the group lasso's value. Solved by the drivers'
    masters (no CVXPY) for the squared and the smooth built-in losses; by CVXPY with
    ``solver`` (and ``solver_kwargs``) for the others and as the fallback.
    """
    U = dedupe_directions(U)
    d, m = U.shape
    c = Y.shape[1]
    act = activations or (lambda W: np.maximum(X @ W, 0.0))
    if m:
        Hact = act(U)
        active = np.linalg.norm(Hact, axis=0) > 0
        U, Hact = U[:, active], Hact[:, active]
    if U.shape[1] == 0:
        U0, V0 = np.zeros((d, 0)), np.zeros((0, c))
        return (U0, V0) if activations else ReLUNetwork(U0, V0)
    Vopt = _second_layer(Hact, Y, beta, get_loss(loss), solver, solver_kwargs)
    net = network_from_factors(U, Vopt).pruned(1e-9)
    return (net.W1, net.W2) if activations else net


def _second_layer(H, Y, beta, lo, solver, solver_kwargs):
    """argmin_V ℓ(H V, Y) + β Σ_j ‖v_j‖ with the drivers' masters — the one group-lasso
    backend of the package (:func:`~cvxrelu.drivers.group_lasso.solve_group_lasso` for the
    squared loss, the active-set Newton master :func:`~cvxrelu.drivers.loss_master.solve_loss_master`
    for the other smooth built-in losses); CVXPY (``solver``) for nonsmooth and user losses,
    and as the fallback when a master misses its KKT target."""
    from ..drivers.group_lasso import solve_group_lasso
    from ..drivers.loss_master import solve_loss_master

    if isinstance(lo, SquaredLoss):
        sol = solve_group_lasso(H.T @ H, H.T @ Y, float(np.sum(Y * Y)), beta)
        if sol.kkt_ok:
            return sol.V
    elif lo.smooth and not isinstance(lo, UserLoss):
        sol = solve_loss_master(H, Y, beta, lo, tol=1e-10)
        if sol.kkt <= 1e-8:
            return sol.V
    V = cp.Variable((H.shape[1], Y.shape[1]))
    prob = cp.Problem(cp.Minimize(lo.expr(H @ V, Y) + beta * cp.sum(cp.norm(V, 2, axis=1))))
    run_solver(prob, solver=solver, **solver_kwargs)
    return V.value
