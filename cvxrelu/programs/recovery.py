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

from ..losses import get_loss
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
    given); its primal objective equals the group lasso's value.
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
    V = cp.Variable((U.shape[1], c))
    F = Hact @ V
    fit = get_loss(loss).expr(F, Y)                    # ½‖F − Y‖² for the squared loss
    prob = cp.Problem(cp.Minimize(fit + beta * cp.sum(cp.norm(V, 2, axis=1))))
    run_solver(prob, solver=solver, **solver_kwargs)
    net = network_from_factors(U, V.value).pruned(1e-9)
    return (net.W1, net.W2) if activations else net
