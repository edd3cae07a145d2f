"""Builder of the bi-dual (12): the convex program equivalent to two-layer ReLU training.

    p* = min_{V_1..V_P} ℓ(Σ_i D_i X V_i, Y) + β Σ_i γ_i(V_i)

with γ_i the cone-constrained nuclear norm of the cell C_i (see :mod:`cvxrelu.programs.sets`). For
c = 1 and form "inner" this is Pilanci & Ergen's program (9); for general convex losses it is
(79). Everything is vectorized: the fit is one dense operator times one stacked variable.
"""

from __future__ import annotations

import logging

import numpy as np

from .._validate import (as_beta, as_data, as_targets, check_choice, check_program_size,
                         lifted_block_counts, warn_sampled)
from ..geometry.arrangements import Arrangement, reduce_rank, sign_patterns
from ..geometry.cells import cell_rays
from ..errors import InvalidInputError, SolverError
from .formulation import PenalizedFit, combine_bounds
from ..losses import get_loss
from ._scaling import data_scale
from ..networks.network import ReLUNetwork
from .recovery import best_network, network_from_factors, refit_second_layer
from .sets import EXACT_MAX_RAYS, FORMS, gauge_blocks

__all__ = ["BiDual", "bidual", "resolve_patterns", "choose_form", "loss_term"]

log = logging.getLogger("cvxrelu")


def resolve_patterns(X: np.ndarray, patterns) -> Arrangement:
    """An Arrangement from None (enumerate/sample automatically), an Arrangement, or a bool
    mask array of shape (n, P)."""
    if patterns is None:
        return sign_patterns(X, method="auto")
    if isinstance(patterns, Arrangement):
        if patterns.masks.shape[0] != X.shape[0]:
            raise InvalidInputError(
                f"patterns were computed for {patterns.masks.shape[0]} samples but X has "
                f"{X.shape[0]}; recompute them with sign_patterns(X)."
            )
        basis, _ = reduce_rank(X)
        if basis.shape[1] != patterns.rank or not np.allclose(
                np.abs(basis.T @ patterns.basis), np.eye(patterns.rank), atol=1e-6) and \
                not np.allclose(basis @ basis.T, patterns.basis @ patterns.basis.T, atol=1e-6):
            raise InvalidInputError("patterns were computed for different data; recompute "
                                    "them with sign_patterns(X).")
        return patterns
    masks = np.asarray(patterns)
    if masks.ndim != 2 or masks.shape[0] != X.shape[0]:
        raise InvalidInputError(
            f"patterns must be an Arrangement or a bool array of shape (n={X.shape[0]}, P); "
            f"got shape {masks.shape}."
        )
    if masks.shape[1] == 0:
        raise InvalidInputError("patterns has no columns; pass at least one sign pattern "
                                "(or patterns=None to enumerate them).")
    if masks.dtype != bool:
        if not np.all(np.isin(masks, (0, 1))):
            raise InvalidInputError("patterns must contain only 0/1 (or True/False) entries.")
        masks = masks.astype(bool)
    basis, _ = reduce_rank(X)
    return Arrangement(masks=masks, directions=np.zeros((X.shape[1], masks.shape[1])),
                       exact=False, rank=basis.shape[1], basis=basis, method="given")


def choose_form(form: str, r: int, c: int, cells=None) -> str:
    """The form "auto" picks: (9) for c = 1; extreme rays when every cell has ≤ 4 rays;
    a triangulation for rank ≤ 4; otherwise the inner (upper-bound) form."""
    check_choice(form, ("auto",) + FORMS, "form")
    if form != "auto":
        return form
    if c == 1:
        return "inner"
    if r <= 3 and cells is not None and max(cells.n_rays) <= EXACT_MAX_RAYS:
        return "rays"
    if r <= 4:
        return "simplicial"
    return "inner"


def loss_term(F, Y: np.ndarray, loss):
    """ℓ(F, Y) as a CVXPY expression (the objective of (79); ½‖F − Y‖² for the squared loss).

    ``loss`` is a :class:`cvxrelu.losses.Loss` or anything :func:`cvxrelu.losses.get_loss`
    accepts."""
    return get_loss(loss).expr(F, Y)


def prepare_targets(Y, n: int, loss):
    """Targets as the float (n, c) array the loss expects (e.g. integer labels → one-hot)."""
    return as_targets(get_loss(loss).prepare_targets(Y), n)


class BiDual(PenalizedFit):
    """The bi-dual (12) (for c = 1 and form "inner": (9); for other losses: (79)).

    Build it with :func:`bidual`. ``problem`` is ½‖Σ_i D_i X V_i − Y‖² + β Σ_i γ_i(V_i) on
    the original scale (DPP in ``beta``); ``variables["V"]`` stacks V_1 … V_P (each r × c, in
    the rank-reduced coordinates ``arrangement.basis``), ``variables["F"]`` = Σ_i D_i X V_i.
    """

    program = "bidual"

    def __init__(self, X, Y, beta, patterns=None, form: str = "auto", loss="squared"):
        X = as_data(X)
        n = X.shape[0]
        loss = get_loss(loss)                          # resolved once (a Loss from here on)
        Y = prepare_targets(Y, n, loss)
        beta = as_beta(beta)
        check_choice(form, ("auto",) + FORMS, "form")
        arr = resolve_patterns(X, patterns)
        basis = arr.basis
        r, c, P = basis.shape[1], Y.shape[1], arr.n_patterns
        lifted = form in ("rays", "simplicial") or (form == "auto" and c > 1 and r <= 4)
        check_program_size(n, P, r, c, form, "the bi-dual (12)",
                           blocks=[P] if lifted else [],     # ≥ one lifted block per cell
                           arrangement=arr)
        scale = data_scale(X, Y, loss)                 # solve on data of order one
        Xs, Ys = X / scale.x, Y / scale.y
        Xr = Xs @ basis
        cells = None
        small = P * n ** max(r - 1, 1) <= 5_000_000    # extreme rays are cheap to find
        if form in ("rays", "simplicial") or (form in ("auto", "inner") and r <= 3 and small):
            cells = cell_rays(Xr, arr.masks)
        form = choose_form(form, r, c, cells)
        if form in ("rays", "simplicial") and cells is None:
            cells = cell_rays(Xr, arr.masks)
        check_program_size(n, P, r, c, form, "the bi-dual (12)",
                           blocks=lifted_block_counts(cells, form, r))
        warn_sampled(arr, "the bi-dual (12)")
        blocks = gauge_blocks(Xr, arr.masks, c, form, rays=cells)
        bound = combine_bounds(blocks.bound, arr.exact)
        super().__init__(X, Y, beta, loss=loss, arrangement=arr, scale=scale, form=form,
                         bound=bound, info={"rank": r, "n_patterns": P,
                                            "set_bound": blocks.bound, "blocks": blocks,
                                            "scale": scale})
        if bound != "exact":
            log.info("bidual: form %r on %s patterns gives a %s bound", form,
                     "all" if arr.exact else "a subset of", bound)
        # fit operator: F = Σ_i D_i Xr V_i = [D_1 Xr | … | D_P Xr] @ V
        Bx = (arr.masks.T[:, :, None] * Xr[None, :, :]).transpose(1, 0, 2).reshape(n, P * r)
        F = (blocks.operator.T @ Bx.T).T @ blocks.theta
        self._blocks, self._basis, self._Xs, self._Ys = blocks, basis, Xs, Ys
        self._set_terms(loss_term(F, Ys, loss), blocks.penalty, blocks.constraints)
        # user-facing variables on the original scale: F = y·F_s, V = (y/x)·V_s
        self.variables = {"V": (scale.y / scale.x) * blocks.V, "F": scale.y * F,
                          "penalty": (scale.y / scale.x) * blocks.penalty,
                          "theta": blocks.theta, **blocks.aux}
        self._assemble()

    def recover(self, refit: bool = True, solver=None) -> ReLUNetwork:
        """The network of the solution: neurons from the factors of each V_i (Remark 5.1),
        and with ``refit`` the best second layer over them (a group lasso); the better one."""
        H, G, _ = self._blocks.factors()
        Hd = self._basis @ H
        scale, beta = self.scale, float(self.beta.value)
        direct = scale.unscale_network(network_from_factors(Hd, G).pruned())
        refitted = None
        if refit:
            try:
                refitted = scale.unscale_network(refit_second_layer(
                    self._Xs, self._Ys, scale.beta_internal(beta), Hd, solver=solver,
                    loss=self.loss))
            except SolverError as exc:
                log.warning("second-layer refit failed (%s); using the factorized network", exc)
        # the refit can only improve on the factorization; keep the best real network
        empty = ReLUNetwork(np.zeros((self.X.shape[1], 0)), np.zeros((0, self.Y.shape[1])))
        return best_network([refitted, direct], self.X, self.Y, beta, empty, self.loss)


def bidual(X, Y, beta, patterns=None, form: str = "auto", loss="squared") -> BiDual:
    """Build the bi-dual (12) of two-layer ReLU training (never solves it).

    Parameters
    ----------
    X : array-like (n, d)
    Y : array-like (n,) or (n, c)
    beta : float > 0
        Weight decay; stored in the cp.Parameter ``f.beta``.
    patterns : None, Arrangement, or bool array (n, P)
        Sign patterns D_i; None enumerates them exactly when feasible (sampling otherwise,
        which makes the value an upper bound).
    form : {"auto", "rays", "simplicial", "paper", "inner"}
        Representation of the cone sets K_i; see :mod:`cvxrelu.programs.sets`.
    loss : str, callable or cvxrelu.losses.Loss
        "squared" (½‖F − Y‖²_F) or any loss of :mod:`cvxrelu.losses` (program (79)), by name
        or as an instance (e.g. ``cr.losses.huber(0.5)``); resolved once by ``get_loss``.

    Returns
    -------
    BiDual
        ``f.solve()`` → value; ``f.bound`` → "exact" | "lower" | "upper" | "unknown";
        ``f.network()`` → ReLUNetwork.

    Examples
    --------
    >>> import cvxrelu as cr
    >>> X, Y = cr.datasets.spiral()
    >>> f = cr.bidual(X, Y, beta=1e-2)
    >>> p = f.solve()
    >>> net = f.network()
    >>> abs(net.objective(X, Y, 1e-2) - p) <= 1e-5 * p
    True
    """
    return BiDual(X, Y, beta, patterns=patterns, form=form, loss=loss)
