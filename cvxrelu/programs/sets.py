"""The cone-constrained gauges γ_i of the bi-dual (12), as CVXPY (expression, constraints).

γ_i is the gauge of conv{u gᵀ : A_i u ≥ 0, ‖u‖ ≤ 1, ‖g‖ ≤ 1} (SPEC, "Bi-dual (12)"; the
set K_i of (13)). Lifted: γ_i(V) ≤ t ⇔ there is G = [[W1, V], [Vᵀ, W2]] in
conv{[h; g][h; g]ᵀ : A_i h ≥ 0} with (tr W1 + tr W2)/2 ≤ t. Forms:

- ``"rays"``: with extreme rays C_i = R_i R^k_+, W1 = R N Rᵀ and V = R W with
  [[N, W], [Wᵀ, W2]] ⪰ 0, N ≥ 0. Exact when k ≤ 4 (doubly nonnegative = completely
  positive there); a relaxation (lower bound) for larger k.
- ``"simplicial"``: triangulate each cell into simplicial cones (r rays each) and sum one
  "rays" block per simplex. Exact whenever r ≤ 4.
- ``"paper"``: the copositive relaxation of the paper, G ⪰ 0 and A_i W1 A_iᵀ ≥ 0
  elementwise. A lower bound; n² constraints per pattern.
- ``"inner"``: restrict g to ±e_l, i.e. every neuron feeds one output: V[:, l] = w_l − v_l
  with w_l, v_l ∈ C_i and penalty Σ_l ‖w_l‖ + ‖v_l‖. An upper bound; exact for c = 1,
  where it is Pilanci & Ergen's program (9).

All forms are built for every pattern at once (one stacked variable, sparse operators) by
:func:`gauge_blocks`; :func:`cone_gauge` is the single-cell version for users' own models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from .._validate import as_real_matrix, check_choice
from ..geometry.arrangements import numerical_rank
from ..geometry.cells import cell_rays, triangulate
from ..errors import InvalidInputError

__all__ = ["FORMS", "GaugeBlocks", "GaugeTerm", "gauge_blocks", "cone_gauge", "form_bound"]

FORMS = ("rays", "simplicial", "paper", "inner")
#: completely positive = doubly nonnegative up to this many rays
EXACT_MAX_RAYS = 4


def form_bound(form: str, max_rays: int, c: int) -> str:
    """What a form's value is relative to the exact gauge program: exact, lower or upper."""
    if form == "inner":
        return "exact" if c == 1 else "upper"
    if form == "paper":
        return "lower"
    return "exact" if max_rays <= EXACT_MAX_RAYS else "lower"


# ----------------------------------------------------------------- sym params
def _sym_param(n_blocks: int, s: int, name: str):
    """A stacked symmetric variable: z holds the upper triangles; S = reshape(T z)."""
    iu = np.triu_indices(s)
    q = iu[0].size
    tri = np.zeros((s, s), dtype=int)
    tri[iu] = np.arange(q)
    tri = np.maximum(tri, tri.T)  # tri[a, b] = index of (min, max) in the upper triangle
    rows = np.arange(n_blocks * s * s)
    cols = (np.arange(n_blocks)[:, None] * q + tri.ravel()[None, :]).ravel()
    T = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_blocks * s * s, n_blocks * q))
    z = cp.Variable(n_blocks * q, name=name)
    S = cp.reshape(T @ z, (n_blocks, s, s), order="C")
    return z, S, tri, q


def _entries(tri, q, n_blocks, rows, cols):
    """Indices into z of entries (rows × cols) of every block, shape (n_blocks, |rows|, |cols|)."""
    local = tri[np.ix_(rows, cols)]
    return np.arange(n_blocks)[:, None, None] * q + local[None]


def _blockdiag(mats):
    return sp.block_diag(mats, format="csr") if mats else sp.csr_matrix((0, 0))


def _group_norm_sum(E, n_groups: int, r: int, c: int):
    """Σ over (group i, column l) of ‖E[i r:(i+1) r, l]‖ for E of shape (n_groups·r, c)."""
    return cp.sum(cp.norm(cp.reshape(E, (r, n_groups * c), order="F"), 2, axis=0))


# --------------------------------------------------------------- the blocks
@dataclass
class GaugeBlocks:
    """Σ_i γ_i(V_i) for all patterns, in one form.

    ``V = operator @ theta`` stacks V_1 … V_P (each r × c) row-wise; ``penalty`` is the sum
    of the gauges (or of their bound); ``constraints`` and ``aux`` are the lifted variables'.
    ``bound`` says what the form gives relative to the exact gauge.
    """

    form: str
    bound: str
    n_cells: int
    r: int
    c: int
    operator: sp.csr_matrix
    theta: cp.Expression
    penalty: cp.Expression
    constraints: list
    aux: dict = field(default_factory=dict)
    _pieces: list = field(default_factory=list, repr=False)  # (cell, rays) per lifted block
    _groups: list = field(default_factory=list, repr=False)  # (k, piece ids, z, S-index info)
    _A: list = field(default_factory=list, repr=False)

    @property
    def V(self):
        return self.operator @ self.theta

    # ------------------------------------------------------------ recovery
    def factors(self, tol: float = 1e-9):
        """Neurons of the solution: (H r×m, G m×c, cell index per neuron) with
        V_i = Σ_{j in cell i} h_j g_jᵀ and A_i h_j ≥ 0 (exactly for exact forms)."""
        if self.form == "inner":
            return self._inner_factors(tol)
        if self.form == "paper":
            return self._paper_factors(tol)
        return self._rays_factors(tol)

    def _rays_factors(self, tol):
        Hs, Gs, cells = [], [], []
        blocks = []
        for k, pieces, z, _ in self._groups:
            zval = z.value
            if zval is None:
                raise InvalidInputError("the problem has not been solved yet; call solve() first.")
            s = k + self.c
            iu = np.triu_indices(s)
            q = iu[0].size
            for b, pid in enumerate(pieces):
                M = np.zeros((s, s))
                M[iu] = zval[b * q:(b + 1) * q]
                blocks.append((k, pid, M + np.triu(M, 1).T))
        # blocks whose trace is negligible against the largest carry no neuron
        traces = np.array([np.trace(M) for _, _, M in blocks])
        big = traces.max() if traces.size else 0.0
        for (k, pid, M), tr in zip(blocks, traces):
            if tr <= 1e-7 * big:
                continue
            a, g = nonnegative_factor(M, k, tol)
            cell, R = self._pieces[pid]
            Hs.append(R @ a)
            Gs.append(g.T)
            cells.extend([cell] * a.shape[1])
        return _stack_factors(Hs, Gs, cells, self.r, self.c)

    def _inner_factors(self, tol):
        Hs, Gs, cells = [], [], []
        Vp = (self.operator @ self.aux["pos"].value).reshape(self.n_cells, self.r, self.c)
        Vm = (self.operator @ self.aux["neg"].value).reshape(self.n_cells, self.r, self.c)
        scale = max(np.abs(Vp).max(), np.abs(Vm).max(), 1e-300)
        for sign, Vs in ((1.0, Vp), (-1.0, Vm)):
            for i in range(self.n_cells):
                for l in range(self.c):
                    h = Vs[i, :, l]
                    if np.linalg.norm(h) > tol * scale:
                        g = np.zeros(self.c)
                        g[l] = sign
                        Hs.append(h[:, None])
                        Gs.append(g[None, :])
                        cells.append(i)
        return _stack_factors(Hs, Gs, cells, self.r, self.c)

    def _paper_factors(self, tol):
        """Heuristic for the relaxation: eigen-directions of each block moved into the cell;
        the second layer is refit afterwards, so the network is an honest upper bound."""
        z, info = self.aux["z"], self.aux["tri"]
        tri, q = info
        s = self.r + self.c
        zval = z.value
        Hs, Gs, cells = [], [], []
        for i in range(self.n_cells):
            M = zval[i * q + tri]
            lam, vec = np.linalg.eigh(M)
            A = self._A[i]
            for t in np.flatnonzero(lam > tol * max(lam.max(), 1e-300)):
                h = vec[: self.r, t] * np.sqrt(lam[t])
                g = vec[self.r:, t] * np.sqrt(lam[t])
                for sgn in (1.0, -1.0):
                    if np.all(A @ (sgn * h) >= -1e-7 * np.linalg.norm(h) * np.linalg.norm(A, axis=1)):
                        Hs.append(sgn * h[:, None])
                        Gs.append(sgn * g[None, :])
                        cells.append(i)
                        break
        return _stack_factors(Hs, Gs, cells, self.r, self.c)


def _stack_factors(Hs, Gs, cells, r, c):
    if not Hs:
        return np.zeros((r, 0)), np.zeros((0, c)), np.zeros(0, dtype=int)
    return np.hstack(Hs), np.vstack(Gs), np.asarray(cells, dtype=int)


def nonnegative_factor(M: np.ndarray, k: int, tol: float = 1e-9):
    """Factor a PSD M = [[N, W], [Wᵀ, Z]] (N ≥ 0 of size k) as Σ_j [a_j; g_j][a_j; g_j]ᵀ with
    a_j ≥ 0. Exact for k ≤ 2 (Cholesky of the 2×2 doubly nonnegative N); for k ≥ 3 an
    alternating projection (Procrustes) is used and the result is clipped to a ≥ 0.

    Returns (a of shape (k, m), g of shape (c, m)).
    """
    lam, vec = np.linalg.eigh(0.5 * (M + M.T))
    top = max(lam.max(), 0.0)
    keep = lam > tol * top if top > 0 else np.zeros_like(lam, dtype=bool)
    L = vec[:, keep] * np.sqrt(lam[keep])
    if L.shape[1] == 0:
        return np.zeros((k, 0)), np.zeros((M.shape[0] - k, 0))
    A = L[:k]
    Q = _nonneg_rotation(A)
    LQ = L @ Q
    a = np.maximum(LQ[:k], 0.0)
    g = LQ[k:]
    weight = np.linalg.norm(a, axis=0) * (np.linalg.norm(g, axis=0) if g.shape[0] else 1.0)
    sel = weight > tol * max(weight.max(), 1e-300)
    return a[:, sel], g[:, sel]


def _complete_orthogonal(Mrows: np.ndarray) -> np.ndarray:
    """An orthogonal q×q matrix whose first rows are the orthonormal rows Mrows (p × q)."""
    p, q = Mrows.shape
    if p == q:
        return Mrows
    _, _, Vt = np.linalg.svd(Mrows, full_matrices=True)
    return np.vstack([Mrows, Vt[p:]])


def _nonneg_rotation(A: np.ndarray) -> np.ndarray:
    """Orthogonal Q with A Q ≥ 0 (entrywise), A of shape (k, q)."""
    k, q = A.shape
    N = A @ A.T
    scale = max(np.trace(N), 1e-300)
    lam = np.linalg.eigvalsh(N)
    if lam[-2:].min() <= 1e-10 * scale if k >= 2 else True:
        # rank one: N = u uᵀ with u of one sign
        lam_v, vec = np.linalg.eigh(N)
        u = vec[:, -1] * np.sqrt(max(lam_v[-1], 0.0))
        if u.sum() < 0:
            u = -u
        m = A.T @ u / max(u @ u, 1e-300)
        m /= max(np.linalg.norm(m), 1e-300)
        return _complete_orthogonal(m[None, :]).T
    if k == 2 and q >= 2:
        Nc = N.copy()
        Nc[0, 1] = Nc[1, 0] = max(Nc[0, 1], 0.0)
        C = np.linalg.cholesky(Nc + 1e-15 * scale * np.eye(2))
        Mrows = np.linalg.solve(C, A)
        # re-orthonormalize (guards against the tiny shift)
        U, _, Vt = np.linalg.svd(Mrows, full_matrices=False)
        return _complete_orthogonal(U @ Vt).T
    # general k: alternating projections between {B ≥ 0} and {A Q : Q orthogonal}
    Q = np.eye(q)
    best, best_viol = Q, np.inf
    rng = np.random.default_rng(0)
    for start in range(4):
        if start:
            Q, _ = np.linalg.qr(rng.standard_normal((q, q)))
        for _ in range(200):
            B = np.maximum(A @ Q, 0.0)
            U, _, Vt = np.linalg.svd(A.T @ B)
            Q = U @ Vt
            viol = -np.minimum(A @ Q, 0.0).sum()
            if viol < 1e-9 * np.sqrt(scale):
                return Q
        if viol < best_viol:
            best, best_viol = Q, viol
    return best


# ---------------------------------------------------------------- builders
def _lifted_rays(pieces, n_cells, r, c, name):
    """The "rays"/"simplicial" lifted form over pieces [(cell, R)], grouped by ray count."""
    by_k = {}
    for pid, (_, R) in enumerate(pieces):
        by_k.setdefault(R.shape[1], []).append(pid)
    constraints, penalty_terms, thetas, ops, groups = [], [], [], [], []
    for k, pids in sorted(by_k.items()):
        B = len(pids)
        s = k + c
        z, S, tri, q = _sym_param(B, s, f"lifted_k{k}")
        constraints.append(cp.constraints.PSD(S))
        # N ≥ 0 (off-diagonal; the diagonal is ≥ 0 by semidefiniteness)
        if k > 1:
            iu = np.triu_indices(k, 1)
            idxN = (np.arange(B)[:, None] * q + tri[iu][None, :]).ravel()
            constraints.append(z[idxN] >= 0)
        # W (k × c) entries, theta rows ordered (block, ray)
        idxW = _entries(tri, q, B, np.arange(k), np.arange(k, s)).ravel()
        thetas.append(cp.reshape(z[idxW], (B * k, c), order="C"))
        # penalty ½(⟨RᵀR, N⟩ + tr Z): a linear functional of z (tri[upper] = 0..q−1)
        Rs = np.stack([pieces[pid][1] for pid in pids])            # (B, r, k)
        full = np.zeros((B, s, s))
        full[:, :k, :k] = np.einsum("bra,brc->bac", Rs, Rs)
        full[:, np.arange(k, s), np.arange(k, s)] = 1.0
        iu = np.triu_indices(s)
        weight = np.where(iu[0] == iu[1], 0.5, 1.0)               # ½ · (1 on diag, 2 off)
        coef = (full[:, iu[0], iu[1]] * weight).ravel()
        penalty_terms.append(coef @ z)
        # operator: cell-stacked V (n_cells·r × c) from this group's W, V_cell = R W
        cells_of = np.array([pieces[pid][0] for pid in pids])
        rr, kk = np.meshgrid(np.arange(r), np.arange(k), indexing="ij")
        rows = (cells_of[:, None, None] * r + rr[None]).ravel()
        cols = (np.arange(B)[:, None, None] * k + kk[None]).ravel()
        op = sp.csr_matrix((Rs.ravel(), (rows, cols)), shape=(n_cells * r, B * k))
        ops.append(op)
        groups.append((k, pids, z, (tri, q)))
    operator = sp.hstack(ops, format="csr")
    theta = thetas[0] if len(thetas) == 1 else cp.vstack(thetas)
    penalty = cp.sum(cp.hstack(penalty_terms)) if len(penalty_terms) > 1 else penalty_terms[0]
    return operator, theta, penalty, constraints, groups


def gauge_blocks(Xr: np.ndarray, masks: np.ndarray, c: int, form: str,
                 rays=None) -> GaugeBlocks:
    """Σ_i γ_i(V_i) over all patterns (columns of masks) of the rank-reduced data Xr.

    Parameters
    ----------
    Xr : ndarray (n, r), full column rank.
    masks : bool ndarray (n, P).
    c : number of outputs.
    form : one of FORMS.
    rays : optional precomputed :class:`~cvxrelu.geometry.cells.Cells`.
    """
    check_choice(form, FORMS, "form")
    n, r = Xr.shape
    P = masks.shape[1]
    if form in ("rays", "simplicial"):
        cells = rays if rays is not None else cell_rays(Xr, masks)
        if form == "rays":
            pieces = [(i, R) for i, R in enumerate(cells.rays)]
        else:
            pieces = [(i, S) for i, R in enumerate(cells.rays) for S in triangulate(R)]
        max_rays = max(R.shape[1] for _, R in pieces)
        operator, theta, penalty, constraints, groups = _lifted_rays(pieces, P, r, c, form)
        return GaugeBlocks(form=form, bound=form_bound(form, max_rays, c), n_cells=P, r=r, c=c,
                           operator=operator, theta=theta, penalty=penalty,
                           constraints=constraints, _pieces=pieces, _groups=groups)

    nz = np.linalg.norm(Xr, axis=1) > 0
    Xnz = Xr[nz]
    A_list = [((2.0 * masks[nz, i] - 1.0)[:, None]) * Xnz for i in range(P)]
    if form == "inner":
        if r <= 3 and (rays is not None or P * Xnz.shape[0] ** (r - 1) <= 5_000_000):
            cells = rays if rays is not None else cell_rays(Xr, masks)
            Rblk = _blockdiag(cells.rays)                    # (P r × K)
            K = Rblk.shape[1]
            pos = cp.Variable((K, c), nonneg=True, name="inner_pos")
            neg = cp.Variable((K, c), nonneg=True, name="inner_neg")
            operator = Rblk
            constraints = []
        else:
            pos = cp.Variable((P * r, c), name="inner_pos")
            neg = cp.Variable((P * r, c), name="inner_neg")
            Ablk = _blockdiag(A_list)
            operator = sp.identity(P * r, format="csr")
            constraints = [Ablk @ pos >= 0, Ablk @ neg >= 0]
        penalty = (_group_norm_sum(operator @ pos, P, r, c)
                   + _group_norm_sum(operator @ neg, P, r, c))
        return GaugeBlocks(form="inner", bound=form_bound("inner", 0, c), n_cells=P, r=r, c=c,
                           operator=operator, theta=pos - neg, penalty=penalty,
                           constraints=constraints, aux={"pos": pos, "neg": neg}, _A=A_list)

    # "paper": G ⪰ 0 and A W1 Aᵀ ≥ 0 elementwise (upper triangle of the n'×n' matrix)
    s = r + c
    z, S, tri, q = _sym_param(P, s, "paper_G")
    idxV = _entries(tri, q, P, np.arange(r), np.arange(r, s)).ravel()
    theta = cp.reshape(z[idxV], (P * r, c), order="C")
    constraints = [cp.constraints.PSD(S), paper_cone_operator(A_list, tri, q, r) @ z >= 0]
    coef = np.zeros(P * q)
    diag = tri[np.arange(s), np.arange(s)]
    coef[(np.arange(P)[:, None] * q + diag[None, :]).ravel()] = 0.5
    penalty = coef @ z
    return GaugeBlocks(form="paper", bound="lower", n_cells=P, r=r, c=c,
                       operator=sp.identity(P * r, format="csr"), theta=theta, penalty=penalty,
                       constraints=constraints, aux={"z": z, "tri": (tri, q)}, _A=A_list)


def paper_cone_operator(A_list, tri, q, r) -> sp.csr_matrix:
    """Sparse operator L with L z = the upper triangles of A_i W_i A_iᵀ for every block i,
    where W_i is the leading r × r block of the i-th symmetric matrix parametrized by z
    (the elementwise-nonnegativity part of the copositive relaxation (19))."""
    P = len(A_list)
    au, av = np.triu_indices(r)
    blocks = []
    for A in A_list:
        ju, jv = np.triu_indices(A.shape[0])
        coef = A[ju][:, au] * A[jv][:, av] + np.where(au != av, 1.0, 0.0) * A[ju][:, av] * A[jv][:, au]
        blocks.append(coef)
    cols = np.arange(P)[:, None] * q + tri[au, av][None, :]
    C = sp.block_diag(blocks, format="csr")
    colmap = sp.csr_matrix((np.ones(cols.size), (np.arange(cols.size), cols.ravel())),
                           shape=(cols.size, P * q))
    return (C @ colmap).tocsr()


# -------------------------------------------------------------- single cell
@dataclass(frozen=True)
class GaugeTerm:
    """γ(V) for one cell, as returned by :func:`cone_gauge`.

    ``expr`` is the gauge (or its bound) as a CVXPY expression, valid under ``constraints``;
    ``aux`` holds the lifted variables; ``bound`` is "exact", "lower" or "upper".
    """

    expr: cp.Expression
    constraints: list
    aux: dict
    bound: str
    form: str


def cone_gauge(V, A=None, rays=None, form: str = "auto") -> GaugeTerm:
    """The cone-constrained nuclear norm γ(V) of one cell, for use in your own CVXPY models.

    γ(V) = min Σ_j ‖h_j‖‖g_j‖ over V = Σ_j h_j g_jᵀ with A h_j ≥ 0 — the gauge of the set
    K_i of (13). Returns an expression that is *at most* (relaxation), *exactly*, or *at
    least* (inner approximation) γ(V) when minimized, as reported in ``bound``.

    Parameters
    ----------
    V : cp.Expression of shape (r, c)
    A : array (m, r), optional
        The cell {u : A u ≥ 0}; must have full column rank (a pointed cone).
    rays : array (r, k), optional
        Extreme rays of the cell, if known (then A may be omitted).
    form : {"auto", "rays", "simplicial", "paper", "inner"}

    Examples
    --------
    >>> import cvxpy as cp, numpy as np
    >>> V = cp.Variable((2, 3))
    >>> g = cone_gauge(V, A=np.eye(2))          # the cell is the nonnegative quadrant
    >>> prob = cp.Problem(cp.Minimize(g.expr), g.constraints + [V[0, 0] == 1])
    >>> round(float(prob.solve(solver="CLARABEL")), 6)
    1.0
    """
    V = V if isinstance(V, cp.Expression) else cp.Constant(np.asarray(V, dtype=float))
    if V.ndim == 1:
        V = cp.reshape(V, (V.shape[0], 1), order="C")
    if V.ndim != 2:
        raise InvalidInputError(f"V must be a 2-D expression (r, c); got shape {V.shape}.")
    r, c = V.shape
    check_choice(form, ("auto",) + FORMS, "form")
    if A is None and rays is None:
        raise InvalidInputError("give the cell as A (constraints A u ≥ 0) or as rays (r × k).")
    if A is not None:
        A = as_real_matrix(A, "A")
        if A.shape[1] != r:
            raise InvalidInputError(f"A must have shape (m, {r}) to match V; got {A.shape}.")
        if numerical_rank(A) < r:
            raise InvalidInputError("A must have full column rank (a pointed cone); reduce "
                                    "the dimension first (see arrangements.reduce_rank).")
    cells = None
    if rays is not None:
        R = as_real_matrix(rays, "rays")
        if R.shape[0] != r:
            raise InvalidInputError(f"rays must have shape ({r}, k); got {R.shape}.")
        if np.any(np.linalg.norm(R, axis=0) == 0):
            raise InvalidInputError("rays has a zero column; every ray must be a nonzero vector.")
        R = R / np.linalg.norm(R, axis=0)
        from ..geometry.cells import Cells

        cells = Cells(rays=[R])
        if A is None:
            # facets are not needed for the rays/simplicial/inner forms
            A = None
    if form == "auto":
        form = "inner" if c == 1 else ("rays" if (cells is not None or r <= 3) else "paper")
    if A is None and form == "paper":
        raise InvalidInputError("form='paper' needs the constraint matrix A.")
    Xr = A if A is not None else np.zeros((1, r))
    masks = np.ones((Xr.shape[0], 1), dtype=bool)
    if cells is None and form in ("rays", "simplicial") or (form == "inner" and cells is None
                                                            and r <= 3):
        cells = cell_rays(Xr, masks)
    if A is None and form == "inner" and r > 3:
        raise InvalidInputError("form='inner' with r > 3 needs the constraint matrix A.")
    blocks = gauge_blocks(Xr, masks, c, form, rays=cells)
    cons = list(blocks.constraints) + [V == blocks.V]
    aux = dict(blocks.aux)
    aux["theta"] = blocks.theta
    return GaugeTerm(expr=blocks.penalty, constraints=cons, aux=aux, bound=blocks.bound,
                     form=form)
