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

from .._validate import (as_beta, check_choice, check_program_size,
                         lifted_block_counts, warn_sampled)
from ..geometry.arrangements import sign_patterns
from ..geometry.cells import cell_rays
from ..networks.conv_network import ConvReLUNetwork
from .formulation import PenalizedFit, combine_bounds
from ..geometry.patches import as_images, patch_matrix, patches
from ._scaling import data_scale
from ..errors import SolverError
from .recovery import best_network, network_from_factors, refit_second_layer
from .sets import FORMS, gauge_blocks
from .bidual import choose_form, loss_term, prepare_targets, resolve_patterns

__all__ = ["ConvBiDual", "conv_bidual"]

log = logging.getLogger("cvxrelu")


class ConvBiDual(PenalizedFit):
    """The convex CNN program (50) with cells (51). Build it with :func:`conv_bidual`;
    ``network()`` is a :class:`cvxrelu.ConvReLUNetwork`."""

    program = "conv_bidual"

    def __init__(self, images, Y, beta, kernel_size=3, stride=1, padding=0, patterns=None,
                 form: str = "auto", loss="squared", pooling: str = "sum",
                 n_samples=None, seed=None):
        imgs = as_images(images)
        n = imgs.shape[0]
        Y = prepare_targets(Y, n, loss)
        beta = as_beta(beta)
        check_choice(form, ("auto",) + FORMS, "form")
        check_choice(pooling, ("sum", "mean"), "pooling")
        Pk = patches(imgs, kernel_size=kernel_size, stride=stride, padding=padding)  # (K, n, h)
        K, _, h = Pk.shape
        if pooling == "mean":
            Pk = Pk / K        # mean pooling = sum pooling over the patches X_k / K
        M = patch_matrix(Pk)                                                          # (nK, h)
        if patterns is None:
            arr = sign_patterns(M, method="auto", n_samples=n_samples, seed=seed,
                                name="images (their patch matrix)")
        else:
            arr = resolve_patterns(M, patterns)
        basis = arr.basis
        r, c, P = basis.shape[1], Y.shape[1], arr.n_patterns
        lifted = form in ("rays", "simplicial") or (form == "auto" and c > 1 and r <= 4)
        check_program_size(n, P, r, c, form, "the CNN program (50)", rows=n * K,
                           blocks=[P] if lifted else [],     # ≥ one lifted block per cell
                           arrangement=arr)
        scale = data_scale(M, Y, loss)                 # solve on data of order one
        Pks, Ms, Ys = Pk / scale.x, M / scale.x, Y / scale.y
        Mr = Ms @ basis
        cells = None
        if (form in ("rays", "simplicial") and r <= 4) or (form in ("auto", "inner") and r <= 3):
            cells = cell_rays(Mr, arr.masks)
        form = choose_form(form, r, c, cells)
        check_program_size(n, P, r, c, form, "the CNN program (50)", rows=n * K,
                           blocks=lifted_block_counts(cells, form, r))
        warn_sampled(arr, "the CNN program (50)")
        blocks = gauge_blocks(Mr, arr.masks, c, form, rays=cells)
        bound = combine_bounds(blocks.bound, arr.exact)
        super().__init__(imgs, Y, beta, loss=loss, arrangement=arr, scale=scale, form=form,
                         bound=bound, info={"rank": r, "n_patterns": P, "n_patches": K,
                                            "patch_size": h, "pooling": pooling})
        # fit operator: F = Σ_i (Σ_k D_ik X_k) V_i
        Xk = Pks @ basis                                                  # (K, n, r)
        masks = arr.masks.reshape(K, n, P)
        Bx = np.einsum("knp,knr->npr", masks.astype(float), Xk).reshape(n, P * r)
        F = (blocks.operator.T @ Bx.T).T @ blocks.theta
        self._blocks, self._basis, self._Pks, self._Ys, self._M = blocks, basis, Pks, Ys, M
        self._conv = dict(kernel_size=kernel_size, in_channels=imgs.shape[1], stride=stride,
                          padding=padding, pooling=pooling)
        self._set_terms(loss_term(F, Ys, loss), blocks.penalty, blocks.constraints)
        self.variables = {"V": (scale.y / scale.x) * blocks.V, "F": scale.y * F,
                          "penalty": (scale.y / scale.x) * blocks.penalty, **blocks.aux}
        self._assemble()

    def _dual_data(self):
        """The oracle of (50) is the dense one over the stacked patches M = [X_1; …; X_K]
        with Z repeated per patch: Σ_k Zᵀ(X_k u)_+ = [Z; …; Z]ᵀ(M u)_+."""
        K = self._Pks.shape[0]
        return self._M, (lambda Z: np.tile(Z, (K, 1)))

    def _to_cnn(self, W1, W2):
        W1, W2 = self.scale.unscale_weights(W1, W2)
        net = ConvReLUNetwork.from_patch_weights(W1, W2, **self._conv)
        return net.balanced() if net.n_filters else net

    def recover(self, refit: bool = True, solver=None):
        """The CNN of the solution: filters from the factors of each V_i, and with ``refit``
        the best second layer over them (a group lasso on Σ_k relu(X_k U)); the better one."""
        H, G, _ = self._blocks.factors()
        Uf = self._basis @ H
        direct = network_from_factors(Uf, G).pruned()
        candidates = [self._to_cnn(direct.W1, direct.W2)]
        beta = float(self.beta.value)
        if refit:
            Pks = self._Pks
            try:
                candidates.append(self._to_cnn(*refit_second_layer(
                    None, self._Ys, self.scale.beta_internal(beta), Uf, solver=solver,
                    loss=self.loss, activations=lambda U: np.maximum(Pks @ U, 0.0).sum(0))))
            except SolverError as exc:
                log.warning("second-layer refit failed (%s); using the factorized CNN", exc)
        h, c = self._M.shape[1], self.Y.shape[1]
        empty = self._to_cnn(np.zeros((h, 0)), np.zeros((0, c)))
        return best_network(candidates, self.X, self.Y, beta, empty, self.loss)


def conv_bidual(images, Y, beta, kernel_size=3, stride=1, padding=0, patterns=None,
                form: str = "auto", loss="squared", pooling: str = "sum",
                n_samples=None, seed=None) -> ConvBiDual:
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
    ConvBiDual whose ``network()`` is a :class:`cvxrelu.ConvReLUNetwork`.
    """
    return ConvBiDual(images, Y, beta, kernel_size=kernel_size, stride=stride,
                      padding=padding, patterns=patterns, form=form, loss=loss,
                      pooling=pooling, n_samples=n_samples, seed=seed)
