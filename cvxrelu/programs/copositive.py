"""Builder of the copositive program (17) (Theorem 3) and its relaxation (19).

With the corrected scaling of SPEC,

    p* = min_{U_i ∈ C_i} ½ tr(Yᵀ (I + 2 Σ_i D_i X U_i Xᵀ D_i)⁻¹ Y) + β² Σ_i tr(U_i),

C_i = conv{u uᵀ : A_i u ≥ 0} (completely positive over the cell). The first term is
``0.5 * cp.matrix_frac(Y, I + 2 S)``. Representations of C_i:

- ``"rays"``: U = R N Rᵀ, N ⪰ 0 and N ≥ 0 (doubly nonnegative); exact when the cell has at
  most 4 extreme rays (DNN = CP there), a lower bound otherwise;
- ``"simplicial"``: a sum of such blocks over a triangulation; exact for rank ≤ 4;
- ``"paper"``: the relaxation (19), U ⪰ 0 and A_i U A_iᵀ ≥ 0 elementwise; a lower bound.

DPP form. With U_i = U'_i/β and the Schur complement of the matrix fraction (scaled by β),

    p* = min β (½ tr T + Σ_i tr U'_i)  s.t.  [[β I + 2 Σ_i D_i X U'_i Xᵀ D_i, Y], [Yᵀ, T]] ⪰ 0,

(check n = d = c = 1, X = 1, Y = y: U' = (y − β)/2, T = y, value βy − β²/2). β enters
affinely, so the problem is DPP in ``f.beta``; the objective is β times a quantity of order
one even at tiny β, which the solve problem divides out (no matrix inverse of size 1/β).

Squared loss only: the matrix-fraction form comes from minimizing the second layer in closed
form, which needs the squared loss. Use :func:`cvxrelu.bidual` for other losses.
"""

from __future__ import annotations

import logging

import cvxpy as cp
import numpy as np

from .._validate import (BYTES_PER_BLOCK_PAIR, as_beta, as_data, as_targets, check_choice,
                         check_memory, lifted_block_counts)
from ..geometry.cells import cell_rays, triangulate
from ..errors import SolverError, UnsupportedError
from .formulation import Formulation, combine_bounds
from ..losses import SquaredLoss, get_loss
from ._scaling import data_scale
from ..networks.network import ReLUNetwork
from .recovery import best_network, refit_second_layer
from .sets import EXACT_MAX_RAYS, _sym_param, nonnegative_factor, paper_cone_operator
from .bidual import resolve_patterns

__all__ = ["Copositive", "copositive", "COPOSITIVE_FORMS", "completely_positive_sum"]

log = logging.getLogger("cvxrelu")

COPOSITIVE_FORMS = ("rays", "simplicial", "paper")
#: in the solve problem U_i is represented as b^(−κ) U''_i; κ = 3/4 measured best-conditioned
#: among {0, ¼, ½, ¾, 1} (κ = 1, the DPP form of ``problem``, stalls SCS)
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


class Copositive(Formulation):
    """The copositive program (17) (Theorem 3) and its relaxation (19), in the DPP form of
    the module docstring. Build it with :func:`copositive`.

    ``variables`` are those of the internally scaled program (data X/x, Y/y, b = β/(x y)):
    ``"S"`` = Σ_i D_i Xs U'_i Xsᵀ D_i and ``"trace"`` = Σ_i tr U'_i with U'_i = b U_i, and
    ``"T"``, the c × c Schur-complement variable (S and T are β-free, so they are what a
    DPP problem can expose).
    """

    program = "copositive"

    def __init__(self, X, Y, beta, patterns=None, form: str = "auto", loss="squared"):
        loss = get_loss(loss)                          # a name, callable or Loss
        if not isinstance(loss, SquaredLoss):
            raise UnsupportedError(
                f"the copositive program (17) is for the squared loss only (got loss="
                f"{loss.name!r}); use cr.bidual(X, Y, beta, loss={loss.name!r}) for other "
                f"convex losses (program (79))."
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
        scale = data_scale(X, Y)                       # solve on data of order one
        Xs, Ys = X / scale.x, Y / scale.y
        Xr = Xs @ basis
        r, c = basis.shape[1], Y.shape[1]
        cells = cell_rays(Xr, arr.masks) if (form in ("rays", "simplicial") or
                                             (form == "auto" and r <= 4)) else None
        form = _choose(form, r, cells)
        blocks = [arr.n_patterns] if form == "paper" else lifted_block_counts(cells, form, r)
        check_memory(BYTES_PER_BLOCK_PAIR * float(sum(b * b for b in blocks)),
                     f"canonicalizing the {sum(blocks)} stacked PSD blocks of (17) in CVXPY",
                     "use cr.cutting_plane(X, Y, beta) or fewer patterns "
                     "(patterns=cr.sign_patterns(X, method='sample', n_samples=...)).")
        S, tr, constraints, pieces, groups, set_bound = completely_positive_sum(
            Xr, arr.masks, form, cells)
        bound = combine_bounds(set_bound, arr.exact)
        super().__init__(X, Y, beta, loss="squared", arrangement=arr, scale=scale, form=form,
                         bound=bound, info={"rank": r, "set_bound": set_bound,
                                            "n_pieces": len(pieces), "scale": scale})
        self._S, self._tr, self._cons = S, tr, constraints
        self._pieces, self._groups, self._basis = pieces, groups, basis
        self._Xs, self._Ys, self._Xr = Xs, Ys, Xr
        self._T = cp.Variable((c, c), symmetric=True, name="T")
        # for b ≥ b̄ = ‖Xs‖₂‖Ys‖_F the zero network is optimal (‖Yᵀ(Xu)_+‖ ≤ ‖Y‖‖X‖‖u‖): the
        # value ½‖Y‖² does not depend on b, so the solve problem clips b there
        self._b_bar = np.linalg.norm(Xs, 2) * np.linalg.norm(Ys) or np.inf     # Y = 0: no clip
        self._b_in = cp.Parameter(nonneg=True, value=1.0, name="beta_internal")
        self._w = cp.Parameter(nonneg=True, value=1.0, name="objective_weight")
        self._s_coef = cp.Parameter(nonneg=True, value=1.0, name="S_coefficient")
        self._w_frac = cp.Parameter(nonneg=True, value=1.0, name="fraction_weight")
        self._w_tr = cp.Parameter(nonneg=True, value=1.0, name="trace_weight")
        self.variables = {"S": S, "trace": tr, "T": self._T}
        self._assemble()

    def _lmi(self, b):
        n = self._Ys.shape[0]
        M = cp.bmat([[b * np.eye(n) + 2 * self._S, self._Ys], [self._Ys.T, self._T]])
        return cp.constraints.PSD(0.5 * (M + M.T))

    def _reported_program(self):
        s = self.scale
        b = (1.0 / (s.x * s.y)) * self.beta
        obj = (s.y / s.x) * self.beta * (0.5 * cp.trace(self._T) + self._tr)
        return obj, self._cons + [self._lmi(b)]

    def _internal_program(self):
        # the DPP form divided by ν, with b clipped at b̄: accurate with Clarabel down to tiny b
        return (self._w * (0.5 * cp.trace(self._T) + self._tr),
                self._cons + [self._lmi(self._b_in)])

    def _assemble(self) -> None:
        super()._assemble()
        # for SCS: (17) on the scaled data with U = b^(−κ) U'' (κ = 3/4), the matrix fraction
        # kept as such, divided by ν (SCS stalls on the LMI form above); the shared variables
        # z hold U'' after it and are mapped back to U' = bU by _after_solve
        obj = (self._w_frac * cp.matrix_frac(self._Ys, np.eye(self._Ys.shape[0])
                                             + self._s_coef * (2 * self._S))
               + self._w_tr * self._tr)
        self._scs_problem = cp.Problem(cp.Minimize(obj), self._cons + list(self._extra))

    def solve_problem_for(self, solver):
        return self._scs_problem if str(solver).upper() == "SCS" else self.solve_problem

    def _set_internal(self, beta: float, norm: float | None) -> float:
        b = min(self.scale.beta_internal(beta), self._b_bar)
        nu = norm if norm else min(1.0, b)
        k = U_SCALING_EXPONENT
        self._b_solved = b
        self._b_in.value, self._w.value = b, b / nu
        self._s_coef.value = b ** -k
        self._w_frac.value, self._w_tr.value = 0.5 / nu, b ** (2 - k) / nu
        return nu

    def _after_solve(self, problem) -> None:
        """After the SCS form: map U'' = b^κ U to the reported problem's U' = b U and set T
        to its optimal value Ysᵀ(b I + 2 S')⁻¹Ys."""
        if problem is not self._scs_problem:
            return
        b = self._b_solved
        f = b ** (1 - U_SCALING_EXPONENT)
        for _, _, z, _ in self._groups:
            z.value = f * z.value
        n = self._Ys.shape[0]
        Sv = np.asarray(self._S.value)
        T = self._Ys.T @ np.linalg.solve(b * np.eye(n) + (Sv + Sv.T), self._Ys)
        self._T.value = 0.5 * (T + T.T)

    def recover(self, refit: bool = True, solver=None) -> ReLUNetwork:
        """Neurons from U_i = Σ_j h_j h_jᵀ with h_j in the cell, then the best second layer
        (a group lasso): a real network (``refit`` is always on: (17) has no V to factor)."""
        U = neuron_directions(self._groups, self._pieces, self.arrangement, self._Xr,
                              paper=(self.form == "paper"))
        beta = float(self.beta.value)
        empty = ReLUNetwork(np.zeros((self.X.shape[1], 0)), np.zeros((0, self.Y.shape[1])))
        try:
            net = self.scale.unscale_network(refit_second_layer(
                self._Xs, self._Ys, self.scale.beta_internal(beta), self._basis @ U,
                solver=solver))
        except SolverError as exc:
            log.warning("second-layer refit failed (%s); returning the empty network", exc)
            net = None
        return best_network([net], self.X, self.Y, beta, empty)


def copositive(X, Y, beta, patterns=None, form: str = "auto", loss="squared") -> Copositive:
    """Build the copositive program (17) (never solves it).

    Parameters
    ----------
    X : array-like (n, d); Y : array-like (n,) or (n, c); beta : float > 0
    patterns : None, Arrangement or bool array (n, P)
    form : {"auto", "rays", "simplicial", "paper"}
        "paper" is the relaxation (19) (a lower bound).
    loss : "squared" or cvxrelu.losses.squared() (an instance is resolved by ``get_loss``)
        Only the squared loss is supported (see the module docstring); any other loss
        raises UnsupportedError pointing to :func:`cvxrelu.bidual`.

    Returns
    -------
    Copositive
        Same interface as :func:`cvxrelu.bidual`'s result. ``network()`` factors each U_i into
        neurons in its cell and refits the second layer by a group lasso.

    Examples
    --------
    >>> import cvxrelu as cr
    >>> f = cr.copositive([[1.0]], [2.0], beta=0.5)     # SPEC's scalar check: βy − β²/2
    >>> round(f.solve(), 6)
    0.875
    """
    return Copositive(X, Y, beta, patterns=patterns, form=form, loss=loss)


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
