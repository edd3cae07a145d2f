"""Cone-constrained PCA (2), (3) and the dual oracle of the semi-infinite dual (11).

Sahiner, Ergen, Pauly, Pilanci (ICLR 2021). Two maximization problems are implemented:

* :func:`cone_pca` — ``max uᵀMu  s.t. ‖u‖₂ = 1, A u ≥ 0`` (2), exactly by enumerating the
  faces of the cone (Asteris et al. 2014: on the relative interior of a face the maximizer is
  a top eigenvector of M restricted to that face's linear span), or through the semidefinite
  relaxation (3) ``max ⟨M, U⟩ s.t. A U Aᵀ ≥ 0, tr U = 1, U ⪰ 0`` solved with CVXPY.
* :class:`DualOracle` — ``ω(Z) = max_{‖u‖₂≤1} ‖Zᵀ (X u)_+‖₂`` = ``max_i √(cone_pca(M_i, A_i))``
  with ``M_i = Xᵀ D_i Z Zᵀ D_i X`` over all sign patterns D_i. It is the constraint function
  of the dual (11)/(73) (any Z with ω(Z) ≤ β is dual feasible) and the linear minimization
  oracle of Frank-Wolfe (Algorithm 1, App. A.4), whose per-pattern values are the s_i.

The oracle works in the rank-reduced space (App. A.2): with X = U Σ Vᵀ it uses X V_r, whose
cells are pointed cones, and maps directions back with u = V_r u'.

Exactness and certification.

* r = 2: one sort of the 2n boundary angles (done once per X), cumulative sums of z_j x_jᵀ
  along the circle, and a closed form per arc: on an arc (a fixed pattern)
  uᵀMu = α + ρ cos(2θ − ψ), maximized at θ = ψ/2 (mod π) when that lies in the arc and at
  an end point otherwise. Cost O(n c) per call after an O(n log n) set-up.
* r ≥ 3, :meth:`DualOracle.bound`: a certified bracket ω_lo ≤ ω(Z) ≤ ω̄ by the branch and
  bound of :mod:`cvxrelu.geometry.oracle_bnb` (exact when it completes, valid under a time or node
  budget). For r = 3 with at most :data:`RANK3_EXACT_ROWS` rows (or ``method="exact"``)
  the per-call oracle uses the same search (exact; the old O(n³ c) cell enumeration is
  kept as ``_rank3_candidates``, a reference). With more rows, ``method="auto"`` runs a
  light ascent per call (:meth:`DualOracle._rank3_heuristic_candidates`, ``exact`` is
  False) and the drivers certify through :meth:`DualOracle.bound`: along a cutting-plane
  run the exact search's cost per call grows ~10× (n = 1 000: 0.25 s → 2.3 s, its node
  count following the number of near-optimal local maxima at ω ≈ β), while the ascent
  stays at ~0.1–0.2 s.
* Cuts: for r ≤ 3 the k candidates returned together are separated (uᵀw < 1 − 1e-3,
  :data:`_SEPARATION`); the maximizer is always the first.
* r ≥ 4, ``__call__``: a clearly labelled **heuristic** for the iterations — multi-start
  projected gradient ascent (:mod:`cvxrelu.geometry.oracle_ascent`) from the warm directions, the
  data points, principal directions of Xᵀ Z and random directions, then a pattern jump
  and a local face enumeration (``oracle_bnb.polish``, faces that cannot beat 0.9 × the
  ascent's value skipped). On large high-rank data (rank > 12, n (r + c) ≥ 5·10⁴, e.g.
  digits) the starts lagging below 0.9 × the best stop every 4 steps (16 always go on).
  It can underestimate ω(Z); :attr:`DualOracle.exact` is then ``False``: only
  :meth:`DualOracle.bound` certifies.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np

from .._validate import as_data, as_seed_rng, check_choice
from ..errors import InvalidInputError, SolverError, UnsupportedError
from .arrangements import RANK_RTOL, _rank_of_singular_values
from .oracle_ascent import ascent_starts, distinct_top, projected_ascent

__all__ = ["cone_pca", "DualOracle", "OracleResult", "OracleBound", "dual_oracle"]

logger = logging.getLogger("cvxrelu")

_TWO_PI = 2.0 * np.pi

#: Cuts returned together by the exact oracle are at least this far apart: two candidates u,
#: w with uᵀw ≥ 1 − _SEPARATION (closer than ~2.6°) count as one. Without it the k cuts of
#: a round were measured to be near-copies of the maximizer (uᵀw ≈ 1 − 1e-7, 2–5 distinct
#: sign patterns among 8 cuts); separated cuts cut the Kelley iterations on rank-3 teacher
#: data (n = 1 000) from 70 to 55.
_SEPARATION = 1e-3

#: With ``method="auto"``, rank-3 data with more rows than this use the ascent per call
#: (exact certificate at the end, :meth:`DualOracle.bound`); see :class:`DualOracle`.
RANK3_EXACT_ROWS = 500


# --------------------------------------------------------------------------- cone PCA
def _null_space(A: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    r = A.shape[1]
    if A.shape[0] == 0:
        return np.eye(r)
    _, s, vt = np.linalg.svd(A)
    rank = int(np.sum(s > rtol * max(1.0, s[0] if s.size else 0.0)))
    return vt[rank:].T


def cone_pca(M, A, method: str = "exact", tol: float = 1e-9, max_faces: int = 1_000_000,
             solver: str | None = None):
    """Cone-constrained PCA: ``max uᵀMu  s.t. ‖u‖₂ = 1, A u ≥ 0`` (equations (2), (3)).

    Parameters
    ----------
    M : array-like, shape (r, r)
        Symmetric matrix (it need not be positive semidefinite).
    A : array-like, shape (p, r)
        Rows a_k of the cone constraints a_kᵀu ≥ 0 (for a cell, A_i = (2D_i − I) X).
    method : {"exact", "relaxation"}
        ``"exact"`` enumerates the faces of the cone {A u ≥ 0} (Asteris et al. 2014): on the
        relative interior of a face spanned by null(A_S) the maximizer is a top eigenvector of
        M restricted to that span, so checking every subset S of at most r − 1 constraints
        finds the optimum; in r = 2 this is the closed form per arc (interior eigenvector or
        one of the two boundary rays). ``"relaxation"`` solves the SDP (3)
        ``max ⟨M, U⟩ s.t. A U Aᵀ ≥ 0, tr U = 1, U ⪰ 0`` with CVXPY; its value is an upper
        bound on the exact maximum (tight for r ≤ 4, Burer; Kogan & Berman).
    tol : float
        Feasibility tolerance on A u ≥ −tol‖A‖‖u‖ for the exact method.
    max_faces : int
        Refuse (UnsupportedError) exact enumeration of more faces than this.
    solver : str, optional
        CVXPY solver for the relaxation (default Clarabel).

    Returns
    -------
    u : ndarray, shape (r,)
        A maximizer (exact) or the top eigenvector of the relaxation's U, signed so that it
        is as feasible as possible (relaxation).
    val : float
        The maximum uᵀMu (exact) or the relaxation's optimal value (an upper bound).

    Raises
    ------
    InvalidInputError
        Bad shapes, non-finite entries, or a cone containing no unit vector.
    """
    M = np.asarray(M, dtype=float)
    A = np.asarray(A, dtype=float)
    if A.ndim == 1:
        A = A.reshape(1, -1)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise InvalidInputError(f"M must be a square (r, r) matrix; got shape {M.shape}.")
    r = M.shape[0]
    if A.ndim != 2 or A.shape[1] != r:
        raise InvalidInputError(
            f"A must have shape (p, {r}) to match M of shape {M.shape}; got {A.shape}.")
    if not (np.all(np.isfinite(M)) and np.all(np.isfinite(A))):
        raise InvalidInputError("M and A must be finite; remove NaN/inf entries.")
    check_choice(method, ("exact", "relaxation"), "method")
    M = 0.5 * (M + M.T)
    if method == "relaxation":
        return _cone_pca_relaxation(M, A, solver)

    p = A.shape[0]
    kmax = min(r - 1, p)
    n_faces = sum(_comb(p, k) for k in range(kmax + 1))
    if n_faces > max_faces:
        raise UnsupportedError(
            f"exact cone_pca would enumerate {n_faces} faces (p = {p}, r = {r}); use "
            "method='relaxation' or raise max_faces.")
    scale = np.linalg.norm(A, axis=1)
    scale[scale == 0] = 1.0
    An = A / scale[:, None]
    best_val, best_u = -np.inf, None
    for k in range(kmax + 1):
        for S in itertools.combinations(range(p), k):
            N = _null_space(An[list(S)])
            if N.shape[1] == 0:
                continue
            w, V = np.linalg.eigh(N.T @ M @ N)
            u = N @ V[:, -1]
            u /= np.linalg.norm(u)
            for cand in (u, -u):
                if np.all(An @ cand >= -tol):
                    val = float(cand @ M @ cand)
                    if val > best_val:
                        best_val, best_u = val, cand
    if best_u is None:
        raise InvalidInputError(
            "the cone {u : A u >= 0} contains no unit vector (it is {0}); check the sign of A.")
    return best_u, best_val


def _comb(n: int, k: int) -> int:
    from math import comb

    return comb(n, k)


def _cone_pca_relaxation(M, A, solver):
    import cvxpy as cp

    r = M.shape[0]
    U = cp.Variable((r, r), PSD=True)
    cons = [cp.trace(U) == 1]
    if A.shape[0]:
        cons.append(A @ U @ A.T >= 0)
    prob = cp.Problem(cp.Maximize(cp.trace(M @ U)), cons)
    try:
        prob.solve(solver=solver or cp.CLARABEL)
    except cp.error.SolverError as exc:  # pragma: no cover - solver dependent
        raise SolverError(f"the relaxation (3) failed in the solver: {exc}") from None
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        if prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InvalidInputError(
                "the relaxation (3) is infeasible: the cone {u : A u >= 0} is {0}.")
        raise SolverError(f"the relaxation (3) ended with status {prob.status!r}.")
    w, V = np.linalg.eigh(U.value)
    u = V[:, -1]
    if np.sum(np.minimum(A @ u, 0)) < np.sum(np.minimum(-A @ u, 0)):
        u = -u
    return u, float(prob.value)


# ------------------------------------------------------------------------ the oracle
@dataclass(frozen=True)
class OracleResult:
    """Output of :class:`DualOracle`.

    Attributes
    ----------
    value : float
        ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖ (exact) or the best value found (heuristic).
    direction : ndarray, shape (d,)
        A unit maximizer u in the original feature space.
    values : ndarray, shape (k,)
        The values of the k best distinct candidates (local maxima, best first).
    directions : ndarray, shape (d, k)
        Their unit directions (original space).
    exact : bool
        Whether ``value`` is the exact maximum.
    """

    value: float
    direction: np.ndarray
    values: np.ndarray
    directions: np.ndarray
    exact: bool


@dataclass(frozen=True)
class OracleBound:
    """A certified bracket ω_lo ≤ ω(Z) ≤ ω̄ from :meth:`DualOracle.bound`.

    Attributes
    ----------
    lower : float
        ω_lo = ‖Zᵀ(X u)_+‖ at ``direction``: attained, hence ≤ ω(Z).
    upper : float
        ω̄ ≥ ω(Z), a *certified* upper bound (valid even when the search stopped early on a
        time or node budget). This is the number a certificate may divide β by.
    direction : ndarray, shape (d,)
        The best unit direction found (original space).
    exact : bool
        ``upper − lower ≤ tol · upper``: the bracket pins ω(Z) down.
    nodes : int
        Sub-problems (cells, hyperplanes, branch-and-bound nodes) examined.
    method : str
        Which bound produced ``upper``.
    candidates : ndarray, shape (d, k), optional
        Distinct good unit directions met by the search (original space, pairwise inner
        products < 1 − 1e-9), sorted by value, descending (``direction`` or a tie first). Each
        one with ``candidate_values[j] > β`` is a violated constraint of the dual (11), i.e.
        a cut for the cutting-plane master (App. A.5).
    candidate_values : ndarray, shape (k,), optional
        ‖Zᵀ(X u)_+‖ at the candidates (attained, each ≤ ω(Z) ≤ ``upper``).
    """

    lower: float
    upper: float
    direction: np.ndarray
    exact: bool
    nodes: int = 0
    method: str = ""
    candidates: np.ndarray | None = None
    candidate_values: np.ndarray | None = None


class _Circle:
    """Pre-sorted boundary angles of a rank-2 data matrix (n, 2) for the arc closed form."""

    def __init__(self, X2: np.ndarray, tol: float = 1e-12):
        norms = np.linalg.norm(X2, axis=1)
        big = norms.max() if norms.size else 0.0
        keep = np.flatnonzero(norms > tol * max(big, 1e-300))
        self.keep = keep
        x = X2[keep]
        self.x = x
        nk = keep.size
        if nk == 0:
            self.empty = True
            return
        self.empty = False
        phi = np.arctan2(x[:, 1], x[:, 0])
        enter = np.mod(phi - np.pi / 2, _TWO_PI)
        leave = np.mod(phi + np.pi / 2, _TWO_PI)
        ang = np.concatenate([enter, leave])
        pt = np.concatenate([np.arange(nk), np.arange(nk)])
        sgn = np.concatenate([np.ones(nk), -np.ones(nk)])
        # at equal angles, process leaves before enters (no effect on values, only on
        # zero-length arcs)
        order = np.lexsort((sgn, ang))
        self.ang = ang[order]
        self.pt = pt[order]
        self.sgn = sgn[order]
        pos = np.empty(2 * nk, dtype=int)
        pos[order] = np.arange(2 * nk)
        pos_enter, pos_leave = pos[:nk], pos[nk:]
        # points active on the last arc (before event 0, wrapping around): enter after leave
        self.wrap = np.flatnonzero(pos_enter > pos_leave)
        self.a = self.ang
        self.b = np.concatenate([self.ang[1:], [self.ang[0] + _TWO_PI]])
        # event contributions x_j scaled by sign: (2n, 2)
        self.sx = self.sgn[:, None] * x[self.pt]
        # for top_arcs: contiguous event coordinates, cos 2θ / sin 2θ at the arc ends, and
        # the arcs of length ≥ π/2 (where the end-point derivative test is not enough)
        self.sx0 = np.ascontiguousarray(self.sx[:, 0])
        self.sx1 = np.ascontiguousarray(self.sx[:, 1])
        self.c2a, self.s2a = np.cos(2 * self.a), np.sin(2 * self.a)
        self.c2b, self.s2b = np.cos(2 * self.b), np.sin(2 * self.b)
        self.long = np.flatnonzero(self.b - self.a >= 0.5 * np.pi)

    def arc_values(self, Zk: np.ndarray):
        """Per arc: (max of ‖Gu‖², angle of the maximizer). Zk = Z[keep], shape (n_keep, c)."""
        base = Zk[self.wrap].T @ self.x[self.wrap]  # (c, 2)
        Zp = Zk[self.pt]  # (2n, c); the two coordinates separately: no (2n, c, 2) temporary
        G0 = np.multiply(Zp, self.sx[:, :1])
        np.cumsum(G0, axis=0, out=G0)
        G0 += base[:, 0]
        G1 = np.multiply(Zp, self.sx[:, 1:], out=Zp)
        np.cumsum(G1, axis=0, out=G1)
        G1 += base[:, 1]
        m11 = np.einsum("kc,kc->k", G0, G0)
        m22 = np.einsum("kc,kc->k", G1, G1)
        m12 = np.einsum("kc,kc->k", G0, G1)
        alpha = 0.5 * (m11 + m22)
        h = 0.5 * (m11 - m22)
        rho = np.hypot(h, m12)
        psi = np.arctan2(m12, h)
        a, b = self.a, self.b
        tstar = np.mod(0.5 * psi - a, np.pi)
        inside = tstar <= (b - a)
        fa = alpha + rho * np.cos(2 * a - psi)
        fb = alpha + rho * np.cos(2 * b - psi)
        val = np.where(inside, alpha + rho, np.maximum(fa, fb))
        theta = np.where(inside, a + tstar, np.where(fa >= fb, a, b))
        return np.maximum(val, 0.0), theta

    def top_arcs(self, Zk: np.ndarray, m: int):
        """The ``m`` best arcs: (values max ‖Gu‖² (m',), maximizer angles (m',)), best first.

        The closed form of :meth:`arc_values` without transcendental functions per arc:
        with f(θ) = α + h cos 2θ + m₁₂ sin 2θ (h = (m₁₁ − m₂₂)/2, ρ = √(h² + m₁₂²)) and
        cos 2a, sin 2a of the arc ends stored at set-up, the end values are
        f(a) = α + h cos 2a + m₁₂ sin 2a, and the arc contains the maximizer of f (value
        α + ρ) iff f'(a) ≥ 0 ≥ f'(b), f'(θ)/2 = m₁₂ cos 2θ − h sin 2θ — exact for arcs
        shorter than π/2; the (rare) longer arcs use the angle formula. Angles are computed
        for the ``m`` selected arcs only; the cumulative sums run on c contiguous rows."""
        W = Zk[self.pt].T  # (c, 2n): contiguous rows for the cumulative sums
        base = Zk[self.wrap].T @ self.x[self.wrap]  # (c, 2)
        G0 = W * self.sx0
        np.cumsum(G0, axis=1, out=G0)
        G0 += base[:, :1]
        G1 = np.multiply(W, self.sx1, out=W)
        np.cumsum(G1, axis=1, out=G1)
        G1 += base[:, 1:]
        m11 = np.einsum("ck,ck->k", G0, G0)
        m22 = np.einsum("ck,ck->k", G1, G1)
        m12 = np.einsum("ck,ck->k", G0, G1)
        alpha = 0.5 * (m11 + m22)
        h = 0.5 * (m11 - m22)
        rho = np.hypot(h, m12)
        fa = alpha + h * self.c2a + m12 * self.s2a
        fb = alpha + h * self.c2b + m12 * self.s2b
        inside = (m12 * self.c2a - h * self.s2a >= 0) & (m12 * self.c2b - h * self.s2b <= 0)
        val = np.where(inside, alpha + rho, np.maximum(fa, fb))
        if self.long.size:  # arcs of length ≥ π/2: the angle test of arc_values
            L = self.long
            psi = np.arctan2(m12[L], h[L])
            ts = np.mod(0.5 * psi - self.a[L], np.pi)
            inside[L] = ts <= (self.b[L] - self.a[L])
            val[L] = np.where(inside[L], alpha[L] + rho[L], np.maximum(fa[L], fb[L]))
        N = val.size
        m = max(1, min(int(m), N))
        idx = np.argpartition(-val, m - 1)[:m] if m < N else np.arange(N)
        idx = idx[np.argsort(-val[idx])]
        a = self.a[idx]
        psi = np.arctan2(m12[idx], h[idx])
        tstar = np.mod(0.5 * psi - a, np.pi)
        theta = np.where(inside[idx], a + tstar, np.where(fa[idx] >= fb[idx], a, self.b[idx]))
        return np.maximum(val[idx], 0.0), theta


def _row_chunks(n: int, width: int, budget: int = 1 << 18):
    """Row slices of an (n, width) computation holding at most ~``budget`` floats at once, so
    that no n × width temporary is built (memory O(n (d + c)) whatever the width)."""
    step = max(256, budget // max(1, width))
    for s in range(0, n, step):
        yield slice(s, min(n, s + step))


def relu_correlations(X: np.ndarray, U: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Zᵀ (X U)_+ of shape (c, k), accumulated over row chunks (no n × k temporary)."""
    out = np.zeros((Z.shape[1], U.shape[1]))
    for rows in _row_chunks(X.shape[0], U.shape[1]):
        out += Z[rows].T @ np.maximum(X[rows] @ U, 0.0)
    return out


class DualOracle:
    """The dual oracle ω(Z) = max_{‖u‖₂≤1} ‖Zᵀ(X u)_+‖₂ of the semi-infinite dual (11).

    Build it once per data matrix X (the set-up sorts boundary angles / finds the cells);
    call it with a residual-like matrix Z of shape (n, c).

    Parameters
    ----------
    X : array-like, shape (n, d)
        Data matrix.
    method : {"auto", "exact", "heuristic"}
        ``"auto"`` is exact per call for rank(X) ≤ 2, and for rank 3 up to
        :data:`RANK3_EXACT_ROWS` rows; otherwise each call is the heuristic ascent and only
        :meth:`bound` certifies (for rank 3 exactly: the branch and bound is complete). On
        rank-3 data the exact search's cost per call grows ~10× along a cutting-plane run
        (many local maxima at ω ≈ β near the optimum), so with many rows the drivers run
        the ascent per iteration and ask the certified search only when it finds no
        violated direction, and for the final certificate. ``"exact"`` forces the exact
        per-call oracle (rank ≤ 3; raises UnsupportedError for rank ≥ 4).
    n_starts : int
        Number of random starts of the heuristic (rank ≥ 4).
    seed : None, int or numpy Generator
        Randomness of the heuristic.
    rank_tol : float, default :data:`~cvxrelu.geometry.arrangements.RANK_RTOL`
        Relative singular-value threshold of the rank reduction (App. A.2), the package's
        one rank tolerance. The discarded part X − X V_r V_rᵀ has spectral norm
        σ_{r+1} (:attr:`discarded`); since (·)_+ is 1-Lipschitz,
        |‖Zᵀ(Xu)_+‖ − ‖Zᵀ(X V_r V_rᵀ u)_+‖| ≤ ‖Z‖₂ σ_{r+1} for ‖u‖ ≤ 1, so every certified
        value adds :meth:`slack` = ‖Z‖₂ σ_{r+1} (zero for data of exact rank r).

    Attributes
    ----------
    rank : int
        r = rank(X).
    basis : ndarray, shape (d, r)
        Orthonormal V_r; the reduced data is ``Xr = X @ basis``.
    exact : bool
        Whether the oracle's value is exact (on the reduced data: ω(Z) ≤ value +
        :meth:`slack`, see :meth:`value_bound`).
    discarded : float
        σ_{r+1}, the spectral norm of the part of X the rank reduction drops (0 when none).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> Z = np.array([[1.0], [1.0], [0.0]])
    >>> round(DualOracle(X)(Z).value, 6)   # u = (1, 1)/√2
    1.414214
    """

    def __init__(self, X, method: str = "auto", n_starts: int = 64, seed=None,
                 rank_tol: float = RANK_RTOL):
        X = as_data(X)
        check_choice(method, ("auto", "exact", "heuristic"), "method")
        self.X = X
        n, d = X.shape
        _, s, vt = np.linalg.svd(X, full_matrices=False)
        r = _rank_of_singular_values(s, float(rank_tol))
        self.rank = r
        self.discarded = float(s[r]) if r < s.size else 0.0
        self.basis = vt[:r].T.copy()
        self.Xr = X @ self.basis
        if method == "exact" and r > 3:
            raise UnsupportedError(
                f"the exact per-call dual oracle is implemented for rank(X) <= 3; X has rank "
                f"{r}. Use method='heuristic' for the iterations and DualOracle.bound() for a "
                "certified upper bound on ω(Z) (branch and bound, any rank).")
        if method == "heuristic":
            self.exact = False
        elif method == "exact" or r <= 2:
            self.exact = r <= 3
        else:  # "auto": the per-call exact search only where its cost stays small
            self.exact = r == 3 and X.shape[0] <= RANK3_EXACT_ROWS
        self._last = None  # the previous call's best directions (reduced), heuristic starts
        self.method = "exact" if self.exact else "heuristic"
        self.n_starts = int(n_starts)
        self._rng = as_seed_rng(seed)
        if r == 2 and self.exact:
            self._circle = _Circle(self.Xr)

    # ---------------------------------------------------------------- helpers
    def values(self, Z, U) -> np.ndarray:
        """‖Zᵀ(X u)_+‖ for each column u of U (original space, shape (d, k))."""
        Z = self._check_Z(Z)
        U = np.asarray(U, dtype=float).reshape(self.X.shape[1], -1)
        return np.linalg.norm(relu_correlations(self.X, U, Z), axis=0)

    def _values_reduced(self, Z, Ur):
        return np.linalg.norm(relu_correlations(self.Xr, Ur, Z), axis=0)

    def _check_Z(self, Z) -> np.ndarray:
        Z = np.asarray(Z, dtype=float)
        if Z.ndim == 1:
            Z = Z.reshape(-1, 1)
        if Z.ndim != 2 or Z.shape[0] != self.X.shape[0]:
            raise InvalidInputError(
                f"Z must have shape (n, c) with n = {self.X.shape[0]} rows; got {Z.shape}.")
        if not np.all(np.isfinite(Z)):
            raise InvalidInputError("Z contains NaN or inf; pass a finite matrix.")
        return Z

    # ------------------------------------------------------------------- call
    def __call__(self, Z, n_candidates: int = 1, warm=None) -> OracleResult:
        """Evaluate ω(Z) and return the best ``n_candidates`` distinct maximizers.

        Parameters
        ----------
        Z : array-like, shape (n, c)
        n_candidates : int
            How many distinct local maximizers (best first) to return, e.g. as several
            cutting planes per round. Each is a maximizer over one cell (s_i of Algorithm 1).
        warm : array-like, shape (d, k), optional
            Extra starting directions for the heuristic (ignored by the exact oracle).
        """
        Z = self._check_Z(Z)
        warm_r = None
        if warm is not None:
            warm = np.asarray(warm, dtype=float).reshape(self.X.shape[1], -1)
            warm_r = self.basis.T @ warm
        vals, Ur = self.reduced(Z, n_candidates, warm_r)
        U = self.basis @ Ur
        return OracleResult(float(vals[0]), U[:, 0], vals, U, self.exact)

    def slack(self, Z) -> float:
        """‖Z‖₂ σ_{r+1}: how much ω(Z) on X can exceed ω on the rank-reduced data
        (0 for data of exact rank r). Every certified value adds it."""
        if self.discarded == 0.0:
            return 0.0
        return float(np.linalg.norm(np.asarray(Z, dtype=float).reshape(self.X.shape[0], -1),
                                    2)) * self.discarded * (1 + 1e-12)

    def value_bound(self, Z, value: float) -> float:
        """A certified ω̄ ≥ ω(Z) from an exact oracle's ``value`` at Z (value + :meth:`slack`);
        with a heuristic oracle the result is no bound (the value may miss ω)."""
        return float(value) + self.slack(Z)

    def bound(self, Z, time_limit=None, node_budget=None, tol: float = 1e-9,
              warm=None, n_candidates: int = 16) -> OracleBound:
        """A certified bracket ω_lo ≤ ω(Z) ≤ ω̄ (see :class:`OracleBound`).

        The certificate of the dual (11) needs only ω̄: Z·min(1, β/ω̄) is dual feasible.

        * rank ≤ 2: the closed form per arc (exact, O(n c) per call);
        * rank ≥ 3: the branch and bound of :mod:`cvxrelu.geometry.oracle_bnb` (cones over boxes of
          the sphere, a relaxation bound per node, local face enumeration at the leaves). It
          is exact (ω̄ − ω_lo ≤ tol·ω̄) when it completes; stopped by ``time_limit`` or
          ``node_budget`` it returns the largest bound of its open nodes, still valid. The
          result is also capped by the spectral bound ‖Z‖₂‖X‖₂.

        Parameters
        ----------
        Z : array-like, shape (n, c)
        time_limit : float, optional
            Seconds; honoured inside the search: the incumbent ascent gets at most a third,
            nodes are evaluated in chunks of ~2²² flops with the clock checked before each
            (measured overrun ≤ ~10 % at 0.2 s on digits, rank 61). Nodes not evaluated
            keep their parent's bound (the root's: ‖Z‖₂‖X‖₂), so ω̄ stays valid.
        node_budget : int, optional
            Branch-and-bound nodes.
        tol : float
            Relative gap at which the search stops.
        warm : array-like, shape (d, k), optional
            Starting directions (e.g. the current neurons, a user network's first layer).
        n_candidates : int
            At most this many distinct directions in ``candidates`` (the best leaves of the
            search and the ascent's local maxima; rank ≤ 2: the best arcs' maximizers).
        """
        Z = self._check_Z(Z)
        if isinstance(n_candidates, bool) or not isinstance(n_candidates, (int, np.integer)) \
                or n_candidates < 1:
            raise InvalidInputError(f"n_candidates must be a positive integer; got "
                                    f"{n_candidates!r}.")
        if time_limit is not None and not (float(time_limit) > 0):
            raise InvalidInputError(f"time_limit must be a positive number of seconds; got "
                                    f"{time_limit!r}.")
        if node_budget is not None and int(node_budget) < 1:
            raise InvalidInputError(f"node_budget must be a positive integer; got "
                                    f"{node_budget!r}.")
        if not (0 <= float(tol) < 1):
            raise InvalidInputError(f"tol must lie in [0, 1); got {tol!r}.")
        warm_r = None
        if warm is not None:
            warm = np.asarray(warm, dtype=float).reshape(self.X.shape[1], -1)
            warm_r = self.basis.T @ warm
        slack = self.slack(Z)
        if self.rank <= 2:
            res = self(Z, int(n_candidates), warm)
            lo = float(res.value)
            up = lo * (1 + 1e-12) + slack
            return OracleBound(lo, up, res.direction, up - lo <= tol * max(up, 1e-300), 1,
                               "exact", res.directions, np.asarray(res.values, dtype=float))
        from .oracle_bnb import certified_max

        cm = certified_max(self.Xr, Z, tol=tol, time_limit=time_limit,
                           node_budget=node_budget, warm=warm_r, seed=self._rng)
        spec = float(np.linalg.norm(Z, 2) * np.linalg.norm(self.Xr, 2)) * (1 + 1e-12)
        up = max(min(cm.upper, spec), cm.lower) + slack
        method = "branch_and_bound" if cm.complete else "branch_and_bound[stopped]"
        if spec < cm.upper:
            method = "spectral"
        lo = cm.lower
        if self.discarded:  # attained on X itself (the reduced value may differ by the slack)
            lo = float(self.values(Z, self.basis @ cm.direction)[0])
        up = max(up, lo)
        exact = up - lo <= tol * max(up, 1e-300)
        cand = cm.candidates if cm.candidates is not None else cm.direction[:, None]
        cand = cand / np.maximum(np.linalg.norm(cand, axis=0), 1e-300)
        cvals = self._values_reduced(Z, cand)
        sel = distinct_top(cvals, cand, int(n_candidates), tol=1e-9)
        return OracleBound(lo, up, self.basis @ cm.direction, bool(exact), cm.nodes,
                           method, self.basis @ cand[:, sel], cvals[sel])

    def reduced(self, Z: np.ndarray, k: int = 1, warm=None):
        """(values (k',), unit directions in the reduced space (r, k')), best first.

        Values are recomputed exactly as ‖Zᵀ(Xr u)_+‖ at the returned directions.
        """
        r = self.rank
        if r == 0:
            return np.zeros(1), np.zeros((0, 1))
        if r == 1:
            cand = np.array([[1.0, -1.0]])
        elif r == 2 and self.exact:
            cand = self._rank2_candidates(Z, self._circle, np.eye(2), k)
        elif r == 3 and self.exact:
            from .oracle_bnb import certified_max

            cand = certified_max(self.Xr, Z, tol=1e-10, warm=warm, seed=self._rng).candidates
        elif r == 3:
            cand = self._rank3_heuristic_candidates(Z, k, warm)
        else:
            cand = self._heuristic_candidates(Z, k, warm)
        cand = cand / np.maximum(np.linalg.norm(cand, axis=0), 1e-300)
        vals = self._values_reduced(Z, cand)
        sel = distinct_top(vals, cand, k, tol=_SEPARATION if r <= 3 else 1e-9)
        if r == 3 and not self.exact:
            self._last = cand[:, distinct_top(vals, cand, 16, tol=_SEPARATION)]
        return vals[sel], cand[:, sel]

    # ----------------------------------------------------------------- rank 2
    @staticmethod
    def _rank2_candidates(Z, circle: _Circle, Q: np.ndarray, k: int, pool: int = 4):
        """Candidate directions Q·(cos θ, sin θ) of the best arcs of a _Circle."""
        if circle.empty:
            return Q[:, :1].copy()
        _, th = circle.top_arcs(Z[circle.keep], max(pool * k, k + 8))
        return Q @ np.vstack([np.cos(th), np.sin(th)])

    # ----------------------------------------------------------------- rank 3
    def _setup_rank3(self):
        Xr = self.Xr
        norms = np.linalg.norm(Xr, axis=1)
        keep = np.flatnonzero(norms > 1e-12 * norms.max())
        xn = Xr[keep] / norms[keep, None]
        # distinct planes x_j^⊥ (parallel rows define the same plane)
        planes = []
        for i, x in enumerate(xn):
            if all(abs(float(x @ xn[j])) < 1 - 1e-12 for j in planes):
                planes.append(i)
        self._planes = []
        for i in planes:
            Q = _null_space(xn[i:i + 1])  # (3, 2)
            self._planes.append((Q, _Circle(Xr @ Q)))
        # vertices of the arrangement: ±x_j × x_k for distinct planes j < k
        P = xn[planes]
        jj, kk = np.triu_indices(len(planes), 1)
        V = np.cross(P[jj], P[kk])
        nv = np.linalg.norm(V, axis=1)
        ok = nv > 1e-12
        self._vertices = V[ok] / nv[ok, None]
        self._Xn = Xr / np.maximum(norms, 1e-300)[:, None]

    def _rank3_patterns(self, chunk_vertices):
        """Sign patterns (rows, boolean (p, n)) of all cells touching the given vertices."""
        S = chunk_vertices @ self._Xn.T  # (v, n)
        tol = 1e-10
        pats = []
        for sgn in (1.0, -1.0):
            T = sgn * S
            pos = T > tol
            zero = np.abs(T) <= tol
            for i in range(T.shape[0]):
                zi = np.flatnonzero(zero[i])
                if zi.size > 8:  # pathological degeneracy: cap the enumeration
                    zi = zi[:8]
                base = pos[i]
                for combo in itertools.product((False, True), repeat=zi.size):
                    p = base.copy()
                    p[zi] = combo
                    pats.append(p)
        return np.array(pats, dtype=bool)

    def _rank3_candidates(self, Z, k):
        """Reference rank-3 oracle by enumeration of all cells and planes (O(n³ c) per call,
        Python loops). Not used by the oracle any more (the branch and bound of
        :mod:`cvxrelu.geometry.oracle_bnb` is exact and much faster); kept as an independent check."""
        if not hasattr(self, "_planes"):
            self._setup_rank3()
        cands = []
        # (b) faces: maxima on each plane x_j^⊥ (rank-2 closed form)
        for Q, circle in self._planes:
            cands.append(self._rank2_candidates(Z, circle, Q, 1, pool=1))
        # (a) cell interiors: top eigenvector of M_i, kept only if it lies in cell i
        Xr = self.Xr
        c = Z.shape[1]
        B = (Z[:, :, None] * Xr[:, None, :]).reshape(Xr.shape[0], 3 * c)  # rows z_j ⊗ x_j
        V = self._vertices
        step = max(1, 4000 // max(1, Xr.shape[0]))
        for s in range(0, V.shape[0], step):
            D = self._rank3_patterns(V[s:s + step])
            if D.size == 0:
                continue
            D = np.unique(D, axis=0)
            G = (D.astype(float) @ B).reshape(-1, c, 3)
            Mi = np.einsum("pci,pcj->pij", G, G)
            w, E = np.linalg.eigh(Mi)
            u = E[:, :, -1]  # (p, 3)
            proj = u @ Xr.T  # (p, n)
            A_sign = np.where(D, 1.0, -1.0)
            tol = 1e-9 * np.linalg.norm(Xr, axis=1).max()
            for sgn in (1.0, -1.0):
                feas = np.all(sgn * A_sign * proj >= -tol, axis=1)
                if np.any(feas):
                    cands.append(sgn * u[feas].T)
        return np.hstack(cands)

    # -------------------------------------------------------------- heuristic
    def _heuristic_candidates(self, Z, k, warm=None, n_iter: int = 30):
        """Multi-start projected gradient ascent (:mod:`cvxrelu.geometry.oracle_ascent`; HEURISTIC,
        may miss the global maximum: its value is a lower bound on ω(Z))."""
        from .oracle_bnb import polish

        U0 = ascent_starts(self.Xr, Z, self._rng, n_random=self.n_starts, n_rows=32,
                           warm=warm, n_vertices=2048, keep_vertices=128)
        # high rank and large data (no vertex starts, costly steps: O(n (r + c)) per start):
        # stop the starts that lag far behind the best
        n, c = Z.shape
        prune = 0.9 if self.rank > 12 and n * (self.rank + c) >= 50_000 else 0.0
        f, U = projected_ascent(self.Xr, Z, U0, n_iter=n_iter, jump=max(8, 2 * k),
                                prune=prune, prune_every=4, keep_min=16)
        top = distinct_top(f, U, max(4, k), tol=1e-9)
        _, Up = polish(self.Xr, Z, U[:, top], tau=0.9 * float(f.max()))  # exact local maxima on the nearby faces
        return np.hstack([U, Up]) if Up.size else U

    def _rank3_heuristic_candidates(self, Z, k, warm=None):
        """The per-call ascent for rank-3 data with many rows (HEURISTIC: its values are
        lower bounds on ω(Z); :meth:`bound` certifies).

        Starts: the warm directions (the drivers pass the current neurons) within 0.9 of
        the best of them, two perturbed copies (3e-3 and 1e-2 rad) of each tight neuron
        (within 1e-3 of the best) — near a column-generation optimum the violated maxima
        were measured 0.2–0.3° from a tight neuron, in a neighbouring cell —, the previous
        call's 16 best separated directions, 16 data points, 16 random directions and the
        32 best of 512 sampled vertices; then 15 ascent steps, the pattern jump and the
        local face enumeration (``oracle_bnb.polish``) around the best end points. When
        nothing found away from the given directions beats them (uᵀw < 1 − 1e-10), the
        complete search (``oracle_bnb.certified_max``) runs here and its candidates are
        returned too, so that a barely violated direction missed by the ascent still
        comes back as several separated cuts."""
        from .oracle_bnb import certified_max, polish

        f_warm, W0 = -np.inf, None
        if warm is not None and warm.size:
            W0 = warm / np.maximum(np.linalg.norm(warm, axis=0), 1e-300)
            fw = self._values_reduced(Z, W0)
            f_warm = float(fw.max())
            warm = W0[:, fw >= 0.9 * f_warm]
        if W0 is not None:
            # violated maxima of a column-generation residual appear in the cells next to
            # the tight neurons (measured 0.2–0.3° away): perturbed copies of them as starts
            T = W0[:, fw >= f_warm * (1 - 1e-3)]
            reps = []
            for eps in (3e-3, 1e-2):
                G = self._rng.standard_normal(T.shape)
                G -= T * np.sum(G * T, axis=0)
                reps.append(T + eps * G / np.maximum(np.linalg.norm(G, axis=0), 1e-300))
            warm = np.hstack([warm] + reps)
        if self._last is not None:
            warm = self._last if warm is None else np.hstack([warm, self._last])
        U0 = ascent_starts(self.Xr, Z, self._rng, n_random=16, n_rows=16, warm=warm,
                           n_vertices=512, keep_vertices=32)
        f, U = projected_ascent(self.Xr, Z, U0, n_iter=15, jump=max(8, 2 * k))
        top = distinct_top(f, U, max(4, k), tol=_SEPARATION)
        fp, Up = polish(self.Xr, Z, U[:, top], tau=0.9 * float(f.max()))
        U = np.hstack([U, Up]) if Up.size else U
        # the best value away from the given directions (a near-copy of a neuron, uᵀw within
        # 1e-10 of 1, is not a new cut: the drivers drop it)
        fa = np.concatenate([f, fp])
        new = np.max(W0.T @ U, axis=0) < 1 - 1e-10 if W0 is not None else np.ones(U.shape[1], bool)
        best = float(fa[new].max()) if np.any(new) else -np.inf
        if best <= f_warm * (1 + 1e-9):
            # nothing better than the given neurons (at a column-generation master they sit
            # at ‖Zᵀ(Xu)_+‖ = β): the ascent may be missing a barely violated direction, so
            # run the complete search here and return its (several, separated) candidates
            cm = certified_max(self.Xr, Z, tol=1e-10, warm=U[:, top], seed=self._rng)
            U = np.hstack([cm.candidates, U])
        return U


def dual_oracle(X, Z, method: str = "auto"):
    """One-shot ω(Z) = max_{‖u‖≤1} ‖Zᵀ(X u)_+‖ (11); returns an :class:`OracleResult`.

    Build a :class:`DualOracle` instead when calling repeatedly with the same X.
    """
    return DualOracle(X, method=method)(Z)
