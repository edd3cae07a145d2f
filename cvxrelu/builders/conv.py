"""Builder of the convex CNN with global average pooling, program (50).

For patches X_k ∈ R^{n×h} (k = 1..K, h = C·kh·kw) the network f = Σ_k Σ_j (X_k u_j)_+ v_jᵀ
(global *sum* pooling, as in (50)) trains to the global optimum of

    p*_conv = min ℓ(Σ_i Σ_k D_ik X_k V_i, Y) + β Σ_i γ_i(V_i),

where the patterns are those of the stacked patch matrix M = [X_1; …; X_K] ∈ R^{nK×h}, D_ik
is the n×n block of pattern i for patch k, and the cell of pattern i is
{u : (2D_ik − I) X_k u ≥ 0 for all k} (51). The number of patterns is exponential only in h.
Mean pooling is sum pooling over the scaled patches X_k / K, which is how ``pooling="mean"``
is built, so the convex value and the recovered network's objective agree for both.
"""

from __future__ import annotations

import logging

import cvxpy as cp
import numpy as np

from .._validate import as_beta, check_choice
from ..arrangements import sign_patterns
from ..cells import cell_rays
from ..conv_network import ConvReLUNetwork
from ..formulation import Formulation, combine_bounds
from ..patches import as_images, patch_matrix, patches
from .._scaling import data_scale
from ..errors import SolverError
from ..recovery import best_network, network_from_factors, refit_second_layer
from ..sets import FORMS, gauge_blocks
from .bidual import choose_form, loss_term, prepare_targets, resolve_patterns

__all__ = ["conv_bidual"]

log = logging.getLogger("cvxrelu")


def conv_bidual(images, Y, beta, kernel_size=3, stride=1, padding=0, patterns=None,
                form: str = "auto", loss="squared", pooling: str = "sum",
                n_samples=None, seed=None) -> Formulation:
    """Build the convex CNN program (50) (never solves it).

    Parameters
    ----------
    images : array-like (n, C, H, W) or (n, H, W)
    Y : array-like (n,) or (n, c)
    beta : float > 0
    kernel_size, stride, padding : int or pair, as in ``torch.nn.Conv2d``
    patterns : None, Arrangement or bool array (n·K, P) over the stacked patch matrix
        (see :func:`cvxrelu.patch_matrix` for the row order). None enumerates exactly when
        the patch dimension h is small (rank ≤ 4) and samples ``n_samples`` directions
        otherwise — then the value is an upper bound, still attained by a real CNN.
    form, loss : as for :func:`cvxrelu.bidual`
    pooling : {"sum", "mean"}
        Global pooling of the network. (50) is stated for the sum; "mean" is the same program
        over the patches X_k / K, so the convex value equals the objective of the recovered
        mean-pooled network.

    Returns
    -------
    Formulation whose ``network()`` is a :class:`cvxrelu.ConvReLUNetwork`.
    """
    imgs = as_images(images)
    n = imgs.shape[0]
    Y = prepare_targets(Y, n, loss)
    beta = as_beta(beta)
    check_choice(form, ("auto",) + FORMS, "form")
    check_choice(pooling, ("sum", "mean"), "pooling")
    Pk = patches(imgs, kernel_size=kernel_size, stride=stride, padding=padding)   # (K, n, h)
    K, _, h = Pk.shape
    if pooling == "mean":
        Pk = Pk / K        # mean pooling = sum pooling over the patches X_k / K
    M = patch_matrix(Pk)                                                           # (nK, h)
    if patterns is None:
        arr = sign_patterns(M, method="auto", n_samples=n_samples, seed=seed,
                            name="images (their patch matrix)")
    else:
        arr = resolve_patterns(M, patterns)
    basis = arr.basis
    scale = data_scale(M, Y, loss)                     # solve on data of order one
    Pk, M, Ys = Pk / scale.x, M / scale.x, Y / scale.y
    Mr = M @ basis
    r, c, P = basis.shape[1], Y.shape[1], arr.n_patterns
    cells = None
    if (form in ("rays", "simplicial") and r <= 4) or (form in ("auto", "inner") and r <= 3):
        cells = cell_rays(Mr, arr.masks)
    form = choose_form(form, r, c, cells)
    blocks = gauge_blocks(Mr, arr.masks, c, form, rays=cells)

    # fit operator: F = Σ_i (Σ_k D_ik X_k) V_i
    Xk = Pk @ basis                                                   # (K, n, r)
    masks = arr.masks.reshape(K, n, P)
    Bx = np.einsum("knp,knr->npr", masks.astype(float), Xk).reshape(n, P * r)
    F = (blocks.operator.T @ Bx.T).T @ blocks.theta
    beta_param = cp.Parameter(nonneg=True, value=beta, name="beta")
    beta_int = cp.Parameter(nonneg=True, value=scale.beta_internal(beta), name="beta_scaled")
    problem = cp.Problem(cp.Minimize(loss_term(F, Ys, loss) + beta_int * blocks.penalty),
                         blocks.constraints)
    bound = combine_bounds(blocks.bound, arr.exact)
    C = imgs.shape[1]

    def activations(U):
        return np.maximum(Pk @ U, 0.0).sum(axis=0)                   # Σ_k relu(X_k U)

    def to_cnn(W1, W2):
        W1, W2 = scale.unscale_weights(W1, W2)
        net = ConvReLUNetwork.from_patch_weights(W1, W2, kernel_size, in_channels=C,
                                                 stride=stride, padding=padding, pooling=pooling)
        return net.balanced() if net.n_filters else net

    def recover(refit=True, solver=None):
        H, G, _ = blocks.factors()
        Uf = basis @ H
        direct = network_from_factors(Uf, G).pruned()
        candidates = [to_cnn(direct.W1, direct.W2)]
        if refit:
            try:
                candidates.append(to_cnn(*refit_second_layer(
                    None, Ys, float(beta_int.value), Uf, solver=solver, loss=loss,
                    activations=activations)))
            except SolverError as exc:
                log.warning("second-layer refit failed (%s); using the factorized CNN", exc)
        empty = to_cnn(np.zeros((h, 0)), np.zeros((0, c)))
        return best_network(candidates, imgs, Y, float(beta_param.value), empty, loss)

    def sync():
        beta_int.value = scale.beta_internal(beta_param.value)

    return Formulation(problem=problem, beta=beta_param, X=imgs, Y=Y, program="conv_bidual",
                       form=form, bound=bound, variables={"V": (scale.y / scale.x) * blocks.V,
                                                  "F": scale.y * F, **blocks.aux},
                       recover=recover, arrangement=arr, loss=loss,
                       before_solve=sync, value_scale=scale.value,
                       info={"rank": r, "n_patterns": P, "n_patches": K, "patch_size": h,
                             "pooling": pooling})
