"""Builder of the copositive program (17) (Theorem 3) and its relaxation (19).

With the corrected scaling of SPEC,

    p* = min_{U_i ∈ C_i} ½ tr(Yᵀ (I + 2 Σ_i D_i X U_i Xᵀ D_i)⁻¹ Y) + β² Σ_i tr(U_i),

C_i = conv{u uᵀ : A_i u ≥ 0} (completely positive over the cell). The first term is
``0.5 * cp.matrix_frac(Y, I + 2 S)``. Representations of C_i:

- ``"rays"``: U = R N Rᵀ, N ⪰ 0 and N ≥ 0 (doubly nonnegative); exact when the cell has at
  most 4 extreme rays (DNN = CP there), a lower bound otherwise;
- ``"simplicial"``: a sum of such blocks over a triangulation; exact for rank ≤ 4;
- ``"paper"``: the relaxation (19), U ⪰ 0 and A_i U A_iᵀ ≥ 0 elementwise; a lower bound.

Squared loss only: the matrix-fraction form comes from minimizing the second layer in closed
form, which needs the squared loss. Use :func:`cvxrelu.bidual` for other losses.
"""

from __future__ import annotations

import logging

import cvxpy as cp
import numpy as np

from .._validate import as_beta, as_data, as_targets, check_choice, check_memory
from ..cells import cell_rays, triangulate
from ..errors import SolverError, UnsupportedError
from ..formulation import Formulation, combine_bounds
from .._scaling import data_scale
from ..network import ReLUNetwork
from ..recovery import best_network, refit_second_layer
from ..sets import EXACT_MAX_RAYS, _sym_param, nonnegative_factor, paper_cone_operator
from .bidual import resolve_patterns

__all__ = ["copositive", "COPOSITIVE_FORMS", "completely_positive_sum"]

log = logging.getLogger("cvxrelu")

COPOSITIVE_FORMS = ("rays", "simplicial", "paper")
#: U_i is represented as β^(−κ) U'_i; κ = 3/4 measured best-conditioned among {0, ¼, ½, ¾, 1}
#: (relative error vs the bi-dual: 5e-7 on Figure 1, 3e-8 on the spiral; κ = 1 stalls)
U_SCALING_EXPONENT = 0.75


def _choose(form, r, cells):
    check_choice(form, ("auto",) + COPOSITIVE_FORMS, "form")
    if form != "auto":
        return form
    if r <= 3 and cells is not None and max(cells.n_rays) <= EXACT_MAX_RAYS:
        return "rays"
    if r <= 4:
        return "simplicial"
    return "paper"


def completely_positive_sum(Xr: np.ndarray, masks: np.ndarray, form: str, cells=None):
    """S = Σ_i D_i Xr U_i Xrᵀ D_i and Σ_i tr(U_i) with U_i ∈ C_i in the given form.

    Returns (S expression (n × n), trace expression, constraints, pieces, groups, bound) where
    ``pieces`` are (cell, R) with U_piece = R N Rᵀ (R = I for "paper") and ``groups`` hold
    the stacked symmetric variables for recovery.
    """
    n, r = Xr.shape
    P = masks.shape[1]
    if form == "paper":
        pieces = [(i, np.eye(r)) for i in range(P)]
    else:
        cells = cells if cells is not None else cell_rays(Xr, masks)
        if form == "rays":
            pieces = list(enumerate(cells.rays))
        else:
            pieces = [(i, S) for i, R in enumerate(cells.rays) for S in triangulate(R)]
    by_k = {}
    for pid, (_, R) in enumerate(pieces):
        by_k.setdefault(R.shape[1], []).append(pid)
    constraints, S_terms, tr_terms, groups = [], [], [], []
    for k, pids in sorted(by_k.items()):
        B = len(pids)
        z, Smat, tri, q = _sym_param(B, k, f"U_k{k}")
        constraints.append(cp.constraints.PSD(Smat))
        if form == "paper":
            nz = np.linalg.norm(Xr, axis=1) > 0
            A_list = [((2.0 * masks[nz, i] - 1.0)[:, None]) * Xr[nz] for i in range(P)]
            constraints.append(paper_cone_operator(A_list, tri, q, r) @ z >= 0)
        elif k > 1:
            iu = np.triu_indices(k, 1)
            constraints.append(z[(np.arange(B)[:, None] * q + tri[iu][None, :]).ravel()] >= 0)
        au, av = np.triu_indices(k)
        Mmap = np.zeros((n * n, B * q))
        trace = np.zeros(B * q)
        for b, pid in enumerate(pids):
            cell, R = pieces[pid]
            Bp = masks[:, cell][:, None] * (Xr @ R)          # D_i X R  (n × k)
            outer = Bp[:, au][:, None, :] * Bp[:, av][None, :, :]   # (n, n, q)
            sym = outer + np.where(au != av, 1.0, 0.0) * outer.transpose(1, 0, 2)
            Mmap[:, b * q + tri[au, av]] = sym.reshape(n * n, -1)
            G = R.T @ R
            trace[b * q + tri[au, av]] = np.where(au == av, 1.0, 2.0) * G[au, av]
        if B == 1 and np.allclose(Mmap, _identity_map(n, tri, q)):
            # whitened spike-free data: D X R = I, so S is the DNN matrix itself (W = X U Xᵀ)
            S_terms.append(cp.reshape(Smat[0], (n * n,), order="C"))
        else:
            S_terms.append(Mmap @ z)
        tr_terms.append(trace @ z)
        groups.append((k, pids, z, q))
    S_vec = S_terms[0] if len(S_terms) == 1 else sum(S_terms[1:], S_terms[0])
    S = cp.reshape(S_vec, (n, n), order="C")
    tr = tr_terms[0] if len(tr_terms) == 1 else sum(tr_terms[1:], tr_terms[0])
    if form == "paper":
        bound = "lower"
    else:
        bound = "exact" if max(R.shape[1] for _, R in pieces) <= EXACT_MAX_RAYS else "lower"
    return S, tr, constraints, pieces, groups, bound


def _identity_map(n, tri, q):
    """The matrix of z ↦ vec(S) when S is the symmetric matrix parametrized by z itself."""
    M = np.zeros((n * n, q))
    M[np.arange(n * n), tri.ravel()] = 1.0
    return M


def copositive(X, Y, beta, patterns=None, form: str = "auto", loss="squared") -> Formulation:
    """Build the copositive program (17) (never solves it).

    Parameters
    ----------
    X : array-like (n, d); Y : array-like (n,) or (n, c); beta : float > 0
    patterns : None, Arrangement or bool array (n, P)
    form : {"auto", "rays", "simplicial", "paper"}
        "paper" is the relaxation (19) (a lower bound).
    loss : only "squared" is supported (see the module docstring).

    Returns
    -------
    Formulation
        Same interface as :func:`cvxrelu.bidual`'s result. ``network()`` factors each U_i into
        neurons in its cell and refits the second layer by a group lasso.

    Examples
    --------
    >>> import cvxrelu as cr
    >>> f = cr.copositive([[1.0]], [2.0], beta=0.5)     # SPEC's scalar check: βy − β²/2
    >>> round(f.solve(), 6)
    0.875
    """
    if loss != "squared":
        raise UnsupportedError(
            f"the copositive program (17) is for the squared loss only (got loss={loss!r}); "
            f"use cr.bidual(X, Y, beta, loss={loss!r}) for other convex losses (program (79))."
        )
    X = as_data(X)
    n = X.shape[0]
    Y = as_targets(Y, n)
    beta = as_beta(beta)
    check_choice(form, ("auto",) + COPOSITIVE_FORMS, "form")
    arr = resolve_patterns(X, patterns)
    basis = arr.basis
    check_memory(8.0 * n * n * arr.n_patterns * 10, "the copositive program's n×n operator",
                 "use cr.bidual (same optimum, no n×n matrices) or fewer patterns.")
    scale = data_scale(X, Y)                           # solve on data of order one
    Xs, Ys = X / scale.x, Y / scale.y
    Xr = Xs @ basis
    r = basis.shape[1]
    cells = cell_rays(Xr, arr.masks) if (form in ("rays", "simplicial") or
                                         (form == "auto" and r <= 4)) else None
    form = _choose(form, r, cells)
    S, tr, constraints, pieces, groups, set_bound = completely_positive_sum(
        Xr, arr.masks, form, cells)
    beta_param = cp.Parameter(nonneg=True, value=beta, name="beta")
    # U_i = β^(−κ) U'_i keeps the variables moderate at small β (U_i grows like 1/β):
    # ½ tr(Yᵀ(I + 2β^(−κ) S')⁻¹Y) + β^(2−κ) tr U'  equals (17)
    kappa = U_SCALING_EXPONENT
    # for β ≥ β̄ = ‖X‖₂‖Y‖_F the zero network is optimal (‖Yᵀ(Xu)_+‖ ≤ ‖Y‖‖X‖‖u‖), so the
    # value ½‖Y‖² and the solution U = 0 do not depend on β: clip it to keep the scaling sane
    beta_bar = np.linalg.norm(Xs, 2) * np.linalg.norm(Ys) or np.inf      # Y = 0: no clip

    def effective(b):
        return min(scale.beta_internal(b), beta_bar)

    b0 = effective(beta)
    s_coef = cp.Parameter(nonneg=True, value=b0 ** -kappa, name="S_coefficient")
    t_coef = cp.Parameter(nonneg=True, value=b0 ** (2 - kappa), name="trace_coefficient")
    objective = cp.Minimize(0.5 * cp.matrix_frac(Ys, np.eye(n) + s_coef * (2 * S)) + t_coef * tr)
    problem = cp.Problem(objective, constraints)
    bound = combine_bounds(set_bound, arr.exact)

    def sync():
        b = effective(beta_param.value)
        s_coef.value, t_coef.value = b ** -kappa, b ** (2 - kappa)

    def recover(refit=True, solver=None):
        U = neuron_directions(groups, pieces, arr, Xr, paper=(form == "paper"))
        b = scale.beta_internal(beta_param.value)
        empty = ReLUNetwork(np.zeros((X.shape[1], 0)), np.zeros((0, Y.shape[1])))
        try:
            net = scale.unscale_network(refit_second_layer(Xs, Ys, b, basis @ U, solver=solver))
        except SolverError as exc:
            log.warning("second-layer refit failed (%s); returning the empty network", exc)
            net = None
        return best_network([net], X, Y, float(beta_param.value), empty)

    return Formulation(problem=problem, beta=beta_param, X=X, Y=Y, program="copositive",
                       form=form, bound=bound, variables={"S": S, "trace": tr},
                       recover=recover, arrangement=arr, info={"rank": r, "set_bound": set_bound,
                                                               "n_pieces": len(pieces)},
                       before_solve=sync, value_scale=scale.value)


def neuron_directions(groups, pieces, arr, Xr, paper: bool, tol: float = 1e-7) -> np.ndarray:
    """First-layer directions (r × m) from U_i = Σ_j h_j h_jᵀ with h_j in the cell (rank-one
    parts via a nonnegative factorization of N; for "paper", eigenvectors kept in the cell)."""
    mats = []
    for k, pids, z, q in groups:
        iu = np.triu_indices(k)
        for b, pid in enumerate(pids):
            M = np.zeros((k, k))
            M[iu] = z.value[b * q:(b + 1) * q]
            mats.append((pid, M + np.triu(M, 1).T))
    big = max((np.trace(M) for _, M in mats), default=0.0)
    dirs = []
    for pid, M in mats:
        if np.trace(M) <= tol * big:
            continue
        cell, R = pieces[pid]
        if paper:
            lam, vec = np.linalg.eigh(M)
            keep = lam > 1e-9 * lam.max()
            H = vec[:, keep] * np.sqrt(lam[keep])
        else:
            a, _ = nonnegative_factor(M, k=M.shape[0], tol=1e-9)
            H = R @ a
        A = (2.0 * arr.masks[:, cell] - 1.0)[:, None] * Xr
        for h in H.T:
            for sgn in (1.0, -1.0):
                if np.all(A @ (sgn * h) >= -1e-7 * np.linalg.norm(h) * np.linalg.norm(A, axis=1)):
                    dirs.append(sgn * h)
                    break
    return np.array(dirs).T if dirs else np.zeros((Xr.shape[1], 0))
