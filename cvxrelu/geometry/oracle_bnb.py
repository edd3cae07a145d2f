"""A certified upper bound ω̄ ≥ ω(Z) = max_{‖u‖₂≤1} ‖Zᵀ(X u)_+‖₂ for data of any rank.

ω(Z) is the constraint function of the semi-infinite dual (11)/(73) of Sahiner, Ergen, Pauly
& Pilanci (ICLR 2021): Z·min(1, β/ω̄) is dual feasible for *any* ω̄ ≥ ω(Z), so a certificate
needs a valid upper bound, not the maximizer. This module computes a bracket
``ω_lo ≤ ω(Z) ≤ ω̄`` that is exact (ω̄ − ω_lo ≤ tol·ω̄) when it runs to completion and stays
valid when it stops on a time or node budget (*anytime*).

Why it is exact. A maximizer u* of f(u) = ‖Zᵀ(Xu)_+‖ over the sphere lies in the relative
interior of some face F of the hyperplane arrangement {x_iᵀu = 0}: the set of points with
one sign vector, zeros on a set S (x_iᵀu = 0 for i ∈ S). On F, f(u)² = uᵀM_F u with
M_F = Xᵀ D_F Z Zᵀ D_F X, and F is open in the sphere of the flat L = null(X_S); so u* is a
local maximum of a Rayleigh quotient on that sphere, hence a top eigenvector of M_F
restricted to L (every local maximum of a Rayleigh quotient is global). For S = ∅ this is
the interior of a cell (top eigenvector of the cell's M_i); for |S| ≥ 1 it is the rank
r − |S| problem on the projected data, as in the recursion over hyperplanes x_jᵀu = 0
(Asteris et al. 2014 enumerate all faces; here only the faces near the optimum are met).

The search: the sphere is covered by the cones over boxes on the 2r faces of the cube
[−1, 1]^r; over the cone of a box the sign of x_iᵀu is known exactly for every row (x_iᵀv
is linear on the box), which splits the rows into stable-positive P, stable-negative N and
unstable U. A node is

* *pruned* when its relaxation bound is below the incumbent. The bound (valid on the whole
  node): with (t)_+ = (t + |t|)/2 on the unstable rows,
  ‖Zᵀ(Xu)_+‖ ≤ ‖G u‖ + ½ Σ_{i∈U} ‖z_i‖ |x_iᵀu|,  G = Z_Pᵀ X_P + ½ Z_Uᵀ X_U;
  the node lies in a spherical cap of centre ĉ and angle ρ, on which
  uᵀGᵀGu ≤ max_{θ≤ρ} a cos²θ + 2b sinθ cosθ + λ sin²θ (a = ĉᵀMĉ, b = ‖(I − ĉĉᵀ)Mĉ‖,
  λ = λ_max(M), M = GᵀG), and |x_iᵀu| is bounded from the box and from the cap. A second
  bound, the triangle relaxation of each unstable row on its range t_i = x_iᵀu ∈ [l_i, u_i]
  over the node — (t)_+ = a_i t + b_i/2 + ε_i, a_i = u_i/(u_i − l_i),
  b_i = −l_i u_i/(u_i − l_i), |ε_i| ≤ b_i/2 — gives ‖G'u + g₀‖ + ½ Σ_U b_i‖z_i‖ (rows that
  barely cross cost almost nothing); the node keeps the smaller of the two (an optional
  third, output-wise sign-aware bound: :meth:`_Level._outputwise_bound`).
* *closed* when |U| ≤ k (k = r − 1 by default): every face meeting the node has a zero
  set S ⊆ U and signs fixed by P, N and a sign vector on U ∖ S; for each such face
  (independent X_S, |S| ≤ r − 1) the top eigenvector of M_F on null(X_S) is computed and
  kept, with its eigenvalue as a bound, when it lies on its face (or the top eigenvalue is
  degenerate). If u* is in the node, its face is among these, so the node's share of the
  maximum is known exactly.
* otherwise *split* in two (best-first, in vectorized batches) along the side j that
  shrinks the unstable rows most, score_j = h_j Σ_{i∈U} ‖z̃_i‖ |x̂_ij| (their ranges
  t_i ∈ [l_i, u_i] carry the node's excess over its true maximum), among the sides at least
  a quarter of the longest (the cap stays round); a child's bound is capped by its
  parent's (a sub-cone). Measured on the residual of a teacher network (n = 80, d = 5,
  β = 0.1): ω̄ after 8 s 0.1211 against 0.1220 with the longest-side rule (true
  ω ≥ 0.1008): a small gain. Under a time limit the nodes are
  evaluated in chunks with the clock checked between them; nodes left unevaluated keep
  their parent's bound (the root's is the spectral bound ‖Z‖₂‖X‖₂).

Rows are normalized (x̂_i = x_i/‖x_i‖, z̃_i = ‖x_i‖ z_i: (x_iᵀu)_+ z_i = (x̂_iᵀu)_+ z̃_i) and
identical rows merged. Rows of negligible norm are dropped and their largest possible
contribution Σ‖z_i‖‖x_i‖ is added to ω̄, so ω̄ stays a valid bound.

Cost: the number of nodes depends on the data (it grows with the volume of the region where
f is close to its maximum, measured in cells); the measured counts are in
``benchmarks/oracle.py``. A node costs O(n (r + c) + r³) flops, a closed node about 3^k
small eigenproblems and sign checks, all vectorized over batches. ω_lo comes from a
multi-start projected ascent with basin hopping (:mod:`cvxrelu.geometry.oracle_ascent`) and from the
nodes themselves; the distinct best of the ascent's local maxima and of the closed leaves
are returned as ``candidates`` (several cuts per certified call).

Known limit (issue 13): every node bound exceeds the node's true maximum by O(ρ) per
unstable row (ρ the node's angular radius; measured ≈ 45 % / 12 % / 3 % at box half-widths
0.1 / 0.05 / 0.02 near the maximum, d = 5, n = 80), so when Z is near the dual optimum —
f ≥ 0.8β on ~3 % of the sphere, ≥ 0.9β on ~0.4 % — certifying ω̄ ≤ (1 + δ)β needs
~10⁵–10⁶ nodes for δ of a few % and far more for δ = 1e-4 (≈ 35 000 nodes/s on one core).
"""

from __future__ import annotations

import time
from functools import lru_cache
from itertools import combinations
from dataclasses import dataclass

import numpy as np

from .oracle_ascent import ascent_starts, distinct_top, projected_ascent

__all__ = ["CertifiedMax", "certified_max", "polish"]


@dataclass
class CertifiedMax:
    """Result of :func:`certified_max` (reduced coordinates).

    Attributes
    ----------
    lower : float
        ‖Zᵀ(X u)_+‖ at ``direction`` (attained).
    upper : float
        ω̄ ≥ ω(Z) (certified, also when ``complete`` is False).
    direction : ndarray, shape (r,)
    complete : bool
        The search ran to the end (no budget stopped it).
    nodes : int
        Branch-and-bound nodes evaluated (all recursion levels).
    closed : int
        Nodes closed by local face enumeration.
    candidates : ndarray, shape (r, k)
        Good attained directions met on the way (local maxima, for several cuts per round).
    """

    lower: float
    upper: float
    direction: np.ndarray
    complete: bool
    nodes: int = 0
    closed: int = 0
    candidates: np.ndarray | None = None


class _Budget:
    def __init__(self, time_limit, node_budget):
        self.t0 = time.perf_counter()
        self.deadline = None if time_limit is None else self.t0 + float(time_limit)
        self.node_budget = None if node_budget is None else int(node_budget)
        self.nodes = 0
        self.stopped = False

    def out(self) -> bool:
        if not self.stopped:
            if self.node_budget is not None and self.nodes >= self.node_budget:
                self.stopped = True
            elif self.deadline is not None and time.perf_counter() >= self.deadline:
                self.stopped = True
        return self.stopped


@dataclass
class _Ctx:
    tol: float
    budget: _Budget
    rng: np.random.Generator
    batch: int = 1024
    eval_chunk: int | None = None
    k_enum: int = 4
    eps: float = 1e-10
    closed: int = 0
    pool: tuple | None = None
    branch: str = "rows"
    outputwise: bool = False
    aspect: float = 0.25


def _prepare(X: np.ndarray, Z: np.ndarray, rtol: float = 1e-11):
    """Unit rows x̂_i, z̃_i = ‖x_i‖ z_i, tiny rows dropped (their bound returned as slack),
    identical rows merged."""
    norms = np.linalg.norm(X, axis=1)
    big = float(norms.max()) if norms.size else 0.0
    if big == 0.0:
        return X[:0], Z[:0], 0.0
    small = norms <= rtol * big
    slack = float(np.sum(np.linalg.norm(Z[small], axis=1) * norms[small]))
    keep = ~small
    Xh = X[keep] / norms[keep, None]
    Zt = Z[keep] * norms[keep, None]
    Xu, inv = np.unique(Xh, axis=0, return_inverse=True)
    if Xu.shape[0] < Xh.shape[0]:
        Zu = np.zeros((Xu.shape[0], Z.shape[1]))
        np.add.at(Zu, np.asarray(inv).ravel(), Zt)
        Xh, Zt = Xu, Zu
    return Xh, Zt, slack


def _comb(n, k):
    from math import comb

    return comb(n, k)


def _f(X, Z, U):
    """‖Zᵀ(X u)_+‖ for the columns of U."""
    return np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0)


def _solve_rank2(X, Z):
    from .oracle import _Circle

    circle = _Circle(X)
    if circle.empty:
        return 0.0, np.array([1.0, 0.0]), 0.0
    val, theta = circle.arc_values(Z[circle.keep])
    i = int(np.argmax(val))
    u = np.array([np.cos(theta[i]), np.sin(theta[i])])
    att = float(_f(X, Z, u[:, None])[0])
    return att, u, max(att, float(np.sqrt(val[i]))) * (1 + 1e-12)


@lru_cache(maxsize=None)
def _subsets(k: int, s: int):
    """All s-subsets of range(k) (C, s) and their complements (C, k − s)."""
    subs = np.array(list(combinations(range(k), s)), dtype=int).reshape(_comb(k, s), s)
    comp = np.array([[t for t in range(k) if t not in S] for S in subs],
                    dtype=int).reshape(subs.shape[0], k - s)
    return subs, comp


def _householder_null(x):
    """Orthonormal bases (..., r, r − 1) of x^⊥ for unit vectors x (..., r) (Householder)."""
    r = x.shape[-1]
    sgn = np.where(x[..., :1] >= 0, 1.0, -1.0)
    v = x.copy()
    v[..., :1] += sgn
    vv = np.sum(v * v, axis=-1)[..., None, None]
    H = np.eye(r) - 2.0 * v[..., :, None] * v[..., None, :] / vv
    return H[..., :, 1:]


def _top_eig_gram(G):
    """Top eigenpair of GᵀG for a stack G (K, c, q): (λ₁, unit eigenvector (K, q),
    degenerate top eigenvalue flag). Closed forms for c ≤ 2 or q = 1, else LAPACK on the
    smaller of GᵀG and G Gᵀ."""
    K, c, q = G.shape
    if q == 1:
        return np.sum(G * G, axis=(1, 2)), np.ones((K, 1)), np.zeros(K, dtype=bool)
    if c == 1:
        g = G[:, 0, :]
        lam = np.sum(g * g, axis=1)
        nz = lam > 0
        e = np.zeros((K, q))
        e[:, 0] = 1.0
        e[nz] = g[nz] / np.sqrt(lam[nz])[:, None]
        return lam, e, ~nz
    if c == 2:
        g1, g2 = G[:, 0, :], G[:, 1, :]
        a11, a22, a12 = np.sum(g1 * g1, 1), np.sum(g2 * g2, 1), np.sum(g1 * g2, 1)
        hd = 0.5 * (a11 - a22)
        disc = np.hypot(hd, a12)
        lam = 0.5 * (a11 + a22) + disc
        big = a11 >= a22
        v1 = np.where(big, disc + hd, a12)
        v2 = np.where(big, a12, disc - hd)
        e = v1[:, None] * g1 + v2[:, None] * g2  # Gᵀ v, v the top eigenvector of G Gᵀ
        en = np.linalg.norm(e, axis=1)
        ok = en > 0
        e[ok] /= en[ok, None]
        e[~ok] = 0.0
        e[~ok, 0] = 1.0
        deg = (2 * disc <= 1e-9 * np.maximum(lam, 1e-300)) | ~ok
        return np.maximum(lam, 0.0), e, deg
    if c < q:
        # the nonzero spectrum of GᵀG (q × q) is that of G Gᵀ (c × c): solve the smaller
        # eigenproblem and map its top eigenvector v to Gᵀv/‖Gᵀv‖ (wide G: many features,
        # few outputs, e.g. digits r = 61, c = 10)
        w, V = np.linalg.eigh(G @ np.swapaxes(G, -1, -2))
        lam = np.maximum(w[:, -1], 0.0)
        e = np.einsum("kcq,kc->kq", G, V[:, :, -1])
        en = np.linalg.norm(e, axis=1)
        ok = en > 0
        e[ok] /= en[ok, None]
        e[~ok] = 0.0
        e[~ok, 0] = 1.0
        deg = ((w[:, -1] - w[:, -2]) <= 1e-9 * np.maximum(lam, 1e-300)) | ~ok
        return lam, e, deg
    w, E = np.linalg.eigh(np.swapaxes(G, -1, -2) @ G)
    lam = np.maximum(w[:, -1], 0.0)
    deg = (w[:, -1] - w[:, -2]) <= 1e-9 * np.maximum(lam, 1e-300)
    return lam, E[:, :, -1], deg


def _cap_bound(G, ch, sr):
    """max of uᵀMu, M = GᵀG (G: stack (N, c, r)), over the cap {‖u‖ = 1, angle(u, ĉ) ≤ ρ},
    sin ρ = sr (≥ 1: whole sphere). λ_max(M) from the smaller of GᵀG and G Gᵀ."""
    Gt = np.swapaxes(G, -1, -2)
    lam = np.linalg.eigvalsh(G @ Gt if G.shape[1] < G.shape[2] else Gt @ G)[:, -1]
    Gc = np.einsum("ncj,nj->nc", G, ch)
    Mc = np.einsum("ncj,nc->nj", G, Gc)
    a = np.sum(Gc * Gc, axis=1)
    b = np.linalg.norm(Mc - a[:, None] * ch, axis=1)
    q = lam.copy()
    cap = sr < 1.0
    if np.any(cap):
        rho = np.arcsin(sr[cap])
        ac, bc, lc = a[cap], b[cap], lam[cap]
        half = 0.5 * (ac - lc)
        th_star = 0.5 * np.arctan2(bc, half)
        peak = 0.5 * (ac + lc) + np.hypot(half, bc)
        g_rho = 0.5 * (ac + lc) + half * np.cos(2 * rho) + bc * np.sin(2 * rho)
        q[cap] = np.minimum(lc, np.where(th_star <= rho, peak, g_rho))
    return np.maximum(q, 0.0)


class _Level:
    """The branch and bound over the sphere with local face enumeration at the leaves."""

    def __init__(self, Xh, Zt, ctx: _Ctx):
        self.X, self.Z, self.ctx = Xh, Zt, ctx
        self.n, self.r = Xh.shape
        self.c = Zt.shape[1]
        self.absX = np.abs(Xh)
        self.B = (Zt[:, :, None] * Xh[:, None, :]).reshape(self.n, self.c * self.r)
        self.znorm = np.linalg.norm(Zt, axis=1)
        self.best = 0.0
        self.best_u = np.eye(self.r)[:, 0]
        self.upper_done = 0.0  # bounds of pruned / closed parts
        self.closed = 0
        self.pool = []  # (values, directions) of attained candidates

    def offer(self, vals, U, keep: int = 32):
        if vals.size:
            i = int(np.argmax(vals))
            if vals[i] > self.best:
                self.best, self.best_u = float(vals[i]), U[:, i].copy()
            if vals.size > keep:
                top = np.argpartition(-vals, keep - 1)[:keep]
                vals, U = vals[top], U[:, top]
            self.pool.append((vals, U))

    # ---------------------------------------------------------------- nodes
    def evaluate(self, C, H):
        """Relaxation bound, stable-positive and unstable rows of the cones over boxes."""
        X, r, c = self.X, self.r, self.c
        N = C.shape[0]
        cn = np.linalg.norm(C, axis=1)
        mid = C @ X.T
        rad = H @ self.absX.T
        pos = mid - rad > 0
        neg = mid + rad < 0
        uns = ~(pos | neg)
        fc = np.linalg.norm(np.maximum(mid, 0.0) @ self.Z, axis=1) / cn
        i = int(np.argmax(fc))
        if fc[i] > self.best:
            self.best, self.best_u = float(fc[i]), C[i] / cn[i]
        W = pos + 0.5 * uns
        G = (W @ self.B).reshape(N, c, r)
        ch = C / cn[:, None]
        sr = np.linalg.norm(H, axis=1) / cn
        q = _cap_bound(G, ch, sr)
        # |x_iᵀu| on the node: from the box range (over ‖v‖ ≥ min norm) and from the cap;
        # computed on the unstable entries only (few once nodes are small)
        minnorm = np.sqrt(np.sum(np.maximum(np.abs(C) - H, 0.0) ** 2, axis=1))
        # angular radius of the node around ĉ (π: no cap, the node may reach anywhere)
        rho_n = np.where(sr < 1.0, np.arcsin(np.minimum(sr, 1.0)), np.pi)
        ui, uj = np.nonzero(uns)
        ub = np.sqrt(q)
        if ui.size == 0:
            return ub, pos, uns
        m_, r_, cn_, mn_, rho = mid[ui, uj], rad[ui, uj], cn[ui], minnorm[ui], rho_n[ui]
        zn = self.znorm[uj]
        box = np.maximum(np.abs(m_ - r_), np.abs(m_ + r_)) / mn_
        phi = np.arcsin(np.minimum(1.0, np.abs(m_) / cn_))
        capb = np.sin(np.minimum(phi + rho, 0.5 * np.pi))
        absb = np.minimum(np.minimum(box, capb), 1.0)
        ub = ub + np.bincount(ui, weights=0.5 * absb * zn, minlength=N)
        # second bound (triangle relaxation): t_i = x_iᵀu ∈ [l_i, u_i] on the node, and
        # (t)_+ = a t + b/2 + ε with a = u/(u − l), b = −l u/(u − l), |ε| ≤ b/2, so
        # ‖Zᵀ(Xu)_+‖ ≤ ‖G'u + g₀‖ + ½ Σ_U b_i ‖z_i‖, G' = Z_Pᵀ X_P + Σ_U a_i z_i x_iᵀ,
        # g₀ = ½ Σ_U b_i z_i; on the cap ‖G'u + g₀‖² ≤ q' + 2 max_cap (G'ᵀg₀)ᵀu + ‖g₀‖².
        psi = np.arcsin(np.clip(m_ / cn_, -1.0, 1.0))
        lo = np.maximum((m_ - r_) / mn_, np.sin(np.maximum(psi - rho, -0.5 * np.pi)))
        hi = np.minimum((m_ + r_) / mn_, np.sin(np.minimum(psi + rho, 0.5 * np.pi)))
        lo = np.minimum(lo, 0.0)
        hi = np.maximum(hi, 0.0)
        width = hi - lo
        safe = width > 0
        wd = np.where(safe, width, 1.0)
        A = pos.astype(float)
        A[ui, uj] = np.where(safe, hi / wd, 0.5)
        bv = np.where(safe, -lo * hi / wd, 0.0)
        Bh = np.zeros((N, self.n))
        Bh[ui, uj] = 0.5 * bv
        G2 = (A @ self.B).reshape(N, c, r)
        g0 = Bh @ self.Z  # (N, c)
        q2 = _cap_bound(G2, ch, sr)
        v = np.einsum("nci,nc->ni", G2, g0)
        vn = np.linalg.norm(v, axis=1)
        ang = np.arccos(np.clip(np.einsum("ni,ni->n", v, ch) / np.maximum(vn, 1e-300),
                                -1.0, 1.0))
        lin = vn * np.cos(np.maximum(ang - rho_n, 0.0))
        ub2 = np.sqrt(np.maximum(q2 + 2.0 * lin + np.sum(g0 * g0, axis=1), 0.0)) \
            + np.bincount(ui, weights=0.5 * bv * zn, minlength=N)
        ub = np.minimum(ub, ub2)
        if self.ctx.outputwise:
            ub = np.minimum(ub, self._outputwise_bound(pos, ui, uj, lo, hi, ch, rho_n, N))
        return ub, pos, uns

    def _outputwise_bound(self, pos, ui, uj, lo, hi, ch, rho_n, N):
        """Third node bound, output by output and sign-aware: ‖Zᵀ(Xu)_+‖² = Σ_k S_k(u)²
        with S_k(u) = Σ_i z̃_ik (t_i)_+, t_i = x̂_iᵀu. For ±S_k (weights w_i = ±z̃_ik) a
        stable-positive row is linear, a stable-negative one is 0, an unstable one with
        w_i > 0 (convex term) lies below its chord w_i (a_i t_i + b_i) on [l_i, u_i], and one
        with w_i < 0 (concave term) below w_i s_i t_i for s_i ∈ {0, 1} ((t)_+ ≥ s t). So
        ±S_k(u) ≤ L_kᵀu + β_k, whose maximum over the node's cap is
        ‖L_k‖ cos(max(∠(L_k, ĉ) − ρ, 0)) + β_k, and ω ≤ (Σ_k B_k²)^½ with B_k the larger
        of the two signs (≥ 0). Unlike the first two bounds, no ½ b_i‖z_i‖ is paid on rows
        whose term is concave (for c = 1 this is the standard LP relaxation over the cap).

        Off by default (``_Ctx.outputwise``): measured on teacher data (n = 80, d = 5, c = 2
        and c = 1, the residual of a cutting-plane network) it lowers single node bounds by
        0–15 % at node radii 0.02–0.2 (2 % on average) for +30 % time per node, but the
        anytime ω̄ after 90 000 nodes was identical with and without it."""
        X, Z, c = self.X, self.Z, self.c
        width = hi - lo
        safe = width > 0
        wd = np.where(safe, width, 1.0)
        a = np.where(safe, hi / wd, 0.0)  # chord slope
        b = np.where(safe, -lo * hi / wd, 0.0)  # chord intercept (≥ 0)
        s = (hi > -lo).astype(float)  # slope of the linear minorant of (t)_+
        from scipy.sparse import csr_matrix

        Lpos = (pos.astype(float) @ self.B).reshape(N, c, -1)  # stable rows, all outputs
        indptr = np.concatenate([[0], np.cumsum(np.bincount(ui, minlength=N))])
        B2 = np.zeros(N)
        for k in range(c):
            best = np.zeros(N)
            for sg in (1.0, -1.0):
                we = sg * Z[uj, k]
                # unstable rows (ui is sorted: np.nonzero's row-major order gives CSR rows)
                Su = csr_matrix((np.where(we > 0, a, s) * we, uj, indptr), shape=(N, self.n))
                L = sg * Lpos[:, k, :] + Su @ X  # (N, r)
                const = np.bincount(ui, weights=np.where(we > 0, we * b, 0.0), minlength=N)
                Ln = np.linalg.norm(L, axis=1)
                ang = np.arccos(np.clip(np.einsum("ni,ni->n", L, ch) / np.maximum(Ln, 1e-300),
                                        -1.0, 1.0))
                best = np.maximum(best, Ln * np.cos(np.maximum(ang - rho_n, 0.0)) + const)
            B2 += best * best
        return np.sqrt(B2)

    def close(self, idx, pos, uns, tau=0.0, ub=None):
        """Every face of the arrangement that meets the nodes ``idx`` (all with ≤ k unstable
        rows): for each zero set S ⊆ U (|S| ≤ r − 1, X_S independent) and each sign vector
        of U ∖ S, the top eigenvector of M restricted to null(X_S), kept when it lies on its
        face (Asteris et al. 2014, restricted to the node). When the budget runs out
        between chunks, the nodes not closed keep their bound ``ub`` in ω̄."""
        r, c, n = self.r, self.c, self.n
        ks = uns[idx].sum(axis=1)
        groups = [idx[ks == k] for k in np.unique(ks)]
        for g, sel in enumerate(groups):
            k = int(uns[sel[0]].sum())
            # nodes per chunk: the largest zero-set level bounds the temporaries
            width = max(_comb(k, s) * 2 ** (k - s) for s in range(min(k, r - 1) + 1))
            step = max(1, (1 << 22) // max(1, width * (n + c * r)))
            for s0 in range(0, sel.size, step):
                if ub is not None and self.ctx.budget.out():
                    rest = np.concatenate([sel[s0:]] + groups[g + 1:])
                    self.upper_done = max(self.upper_done, float(ub[rest].max()))
                    return
                chunk = sel[s0:s0 + step]
                self.closed += chunk.size
                for s in range(0, min(k, r - 1) + 1):
                    subs, comp = _subsets(k, s)
                    kf = k - s
                    signs = ((np.arange(2 ** kf)[:, None] >> np.arange(kf)[None, :]) & 1)
                    self._close_chunk(chunk, k, s, subs, comp, signs.astype(float), pos, uns,
                                      tau)

    def _close_chunk(self, sl, k, s, subs, comp, signs, pos, uns, tau):
        X, Z, r, c, eps = self.X, self.Z, self.r, self.c, self.ctx.eps
        n = self.n
        m, nC, p, kf = sl.size, subs.shape[0], signs.shape[0], k - s
        iu = np.nonzero(uns[sl])[1].reshape(m, k)
        Gp = pos[sl].astype(float) @ self.B  # (m, c r)
        if kf:
            Bc = self.B[iu[:, comp]]  # (m, nC, kf, c r)
            Gs = Gp[:, None, None, :] + np.einsum("pj,mCjq->mCpq", signs, Bc)
        else:
            Gs = np.broadcast_to(Gp[:, None, None, :], (m, nC, 1, c * r))
        Gs = Gs.reshape(m, nC, p, c, r)
        if s == 1:
            Q = _householder_null(X[iu[:, subs[:, 0]]])  # (m, nC, r, r - 1)
            indep = np.ones((m, nC), dtype=bool)
            Gq = Gs @ Q[:, :, None, :, :]
        elif s:
            XS = X[iu[:, subs]]  # (m, nC, s, r)
            _, sv, vt = np.linalg.svd(XS, full_matrices=True)
            indep = sv[..., -1] > 1e-9  # dependent zero sets are covered by smaller ones
            Q = np.swapaxes(vt[..., s:, :], -1, -2)  # (m, nC, r, r - s)
            Gq = Gs @ Q[:, :, None, :, :]  # (m, nC, p, c, r - s)
        else:
            indep = np.ones((m, nC), dtype=bool)
            Q = None
            Gq = Gs
        # λ_max ≤ ‖G_q‖_F²: faces that cannot beat the incumbent are bounded, not solved
        frob = np.sum(Gq * Gq, axis=(-1, -2))  # (m, nC, p)
        mask = indep[:, :, None] & (frob > tau * tau)
        skipped = indep[:, :, None] & ~mask
        if np.any(skipped):
            self.upper_done = max(self.upper_done, float(np.sqrt(frob[skipped].max())))
        if not np.any(mask):
            return
        sm, sC, sp = np.nonzero(mask)
        K = sm.size
        Gk = Gq[sm, sC, sp]  # (K, c, r - s)
        lam1, e, deg = _top_eig_gram(Gk)
        # faces whose top eigenvalue cannot beat τ are bounded by it, not located
        low = lam1 <= tau * tau
        if np.any(low):
            self.upper_done = max(self.upper_done, float(np.sqrt(lam1[low].max())))
            if np.all(low):
                return
            hi = ~low
            sm, sC, sp, lam1, e, deg = sm[hi], sC[hi], sp[hi], lam1[hi], e[hi], deg[hi]
            K = sm.size
        u = e if Q is None else np.einsum("kij,kj->ki", Q[sm, sC], e)  # (K, r)
        proj = u @ X.T  # (K, n)
        sg = np.where(pos[sl][sm], 1.0, -1.0)
        ak = np.arange(K)
        for j in range(kf):
            sg[ak, iu[sm, comp[sC, j]]] = 2 * signs[sp, j] - 1
        for j in range(s):
            sg[ak, iu[sm, subs[sC, j]]] = 0.0
        t = sg * proj
        inp = np.all(t >= -eps, axis=-1)
        inm = np.all(t <= eps, axis=-1)
        ok = inp | inm
        keep = ok | deg
        if np.any(keep):
            self.upper_done = max(self.upper_done, float(np.sqrt(lam1[keep].max())))
        if np.any(ok):
            Uo = np.where(inp[ok][:, None], u[ok], -u[ok]).T
            self.offer(_f(X, Z, Uo), Uo)

    def _evaluate_budgeted(self, C, H, PU):
        """:meth:`evaluate` in chunks of ``ctx.eval_chunk`` nodes, the budget checked before
        each; a node is never bounded above its parent's bound ``PU`` (a sub-cone). Nodes
        left unevaluated when the budget runs out keep their parent's bound in ω̄ (valid)."""
        ctx = self.ctx
        step = C.shape[0] if ctx.eval_chunk is None else max(1, int(ctx.eval_chunk))
        ubs, poss, unss = [], [], []
        done = 0
        for s0 in range(0, C.shape[0], step):
            if s0 and ctx.budget.out():
                break
            sl = slice(s0, min(C.shape[0], s0 + step))
            ctx.budget.nodes += sl.stop - sl.start
            ub, pos, uns = self.evaluate(C[sl], H[sl])
            ubs.append(np.minimum(ub, PU[sl]))
            poss.append(pos)
            unss.append(uns)
            done = sl.stop
        if done < C.shape[0]:
            self.upper_done = max(self.upper_done, float(PU[done:].max()))
        return done, np.concatenate(ubs), np.vstack(poss), np.vstack(unss)

    def run(self, thr, spec=np.inf):
        ctx, r = self.ctx, self.r
        tol = ctx.tol
        # root: the cones over the 2r faces of the cube cover the sphere
        C = np.vstack([np.eye(r), -np.eye(r)])
        H = np.ones((2 * r, r)) - np.vstack([np.eye(r), np.eye(r)])
        PU = np.full(2 * r, spec)  # parent bounds (root: the spectral bound ‖Z‖₂‖X‖₂)
        OC, OH, OU, OS = C[:0], H[:0], np.zeros(0), H[:0]
        while True:
            done, ub, pos, uns = self._evaluate_budgeted(C, H, PU)
            C, H = C[:done], H[:done]
            tau = max(thr, self.best) * (1 + 0.5 * tol)
            ku = uns.sum(axis=1)
            live = ub > tau
            if np.any(~live):
                self.upper_done = max(self.upper_done, float(ub[~live].max()))
            closing = np.flatnonzero(live & (ku <= ctx.k_enum))
            if closing.size:
                self.close(closing, pos, uns, tau, ub)
            stay = live & (ku > ctx.k_enum)
            # branching score per axis: how much halving side j shrinks the ranges of the
            # unstable rows, weighted by their ‖z̃_i‖ (their share of the node's excess)
            Cs, Hs = C[stay], H[stay]
            Ss = Hs * ((uns[stay] * self.znorm) @ self.absX) if ctx.branch == "rows" else Hs
            OC, OH, OU = np.vstack([OC, Cs]), np.vstack([OH, Hs]), np.concatenate([OU, ub[stay]])
            OS = np.vstack([OS, Ss])
            tau = max(thr, self.best) * (1 + 0.5 * tol)
            drop = OU <= tau
            if np.any(drop):
                self.upper_done = max(self.upper_done, float(OU[drop].max()))
                OC, OH, OU, OS = OC[~drop], OH[~drop], OU[~drop], OS[~drop]
            if OU.size == 0:
                return
            if ctx.budget.out():
                self.upper_done = max(self.upper_done, float(OU.max()))
                return
            # the best-bounded open nodes are split; with many open nodes a larger batch
            # (a sixteenth of them) keeps the list handling linear in the nodes evaluated
            batch = max(ctx.batch, OU.size // 16)
            if OU.size > batch:
                sel = np.argpartition(-OU, batch - 1)[:batch]
                rest = np.ones(OU.size, dtype=bool)
                rest[sel] = False
                PC, PH, PP, PS = OC[sel], OH[sel], OU[sel], OS[sel]
                OC, OH, OU, OS = OC[rest], OH[rest], OU[rest], OS[rest]
            else:
                PC, PH, PP, PS = OC, OH, OU, OS
                OC, OH, OU, OS = OC[:0], OH[:0], OU[:0], OS[:0]
            # split along the side of largest score (longest side for branch="longest");
            # a side far shorter than the longest is never chosen (the cap stays round)
            PS = np.where(PH >= ctx.aspect * PH.max(axis=1, keepdims=True), PS, -1.0)
            j = np.argmax(PS, axis=1)
            ar = np.arange(PC.shape[0])
            h = PH[ar, j] * 0.5
            H2 = PH.copy()
            H2[ar, j] = h
            C1, C2 = PC.copy(), PC.copy()
            C1[ar, j] -= h
            C2[ar, j] += h
            C, H = np.vstack([C1, C2]), np.vstack([H2, H2])
            PU = np.concatenate([PP, PP])


def _solve(X, Z, ctx: _Ctx, warm=None):
    """(attained value, unit direction, certified upper bound) of max ‖Zᵀ(Xu)_+‖, ‖u‖ = 1."""
    r = X.shape[1]
    Xh, Zt, slack = _prepare(X, Z)
    e0 = np.eye(r)[:, 0]
    if Xh.shape[0] == 0 or not np.any(Zt):
        return float(_f(X, Z, e0[:, None])[0]), e0, slack
    if r == 1:
        U = np.array([[1.0, -1.0]])
        v = _f(Xh, Zt, U)
        i = int(np.argmax(v))
        return float(v[i]), U[:, i], float(v[i]) * (1 + 1e-12) + slack
    if r == 2:
        att, u, up = _solve_rank2(Xh, Zt)
        return att, u, up + slack
    lvl = _Level(Xh, Zt, ctx)
    budget = ctx.budget
    n, c = Zt.shape
    if budget.deadline is not None:
        # evaluate nodes in chunks of ~2²² flops so that the clock is checked often
        ctx.eval_chunk = max(4, (1 << 22) // max(1, n * r * (c + 1)))
    # an incumbent for the pruning (the search finds the maximum anyway); under a time
    # limit the ascent may use at most a third of it, and lagging starts stop early at
    # high rank
    starts = ascent_starts(Xh, Zt, ctx.rng, n_random=16, n_rows=64, warm=warm,
                           n_vertices=1024, keep_vertices=48)
    deadline = None
    if budget.deadline is not None:
        deadline = budget.t0 + (budget.deadline - budget.t0) / 3.0
    vals, U = projected_ascent(Xh, Zt, starts, n_iter=20, jump=8,
                               prune=0.9 if r > 12 else 0.0, deadline=deadline, hops=2,
                               rng=ctx.rng)
    # the ascent's distinct local maxima (many starts end at the same one): candidates
    keep = distinct_top(vals, U, 64, 1e-6)
    lvl.offer(vals[keep], U[:, keep], keep=64)
    # ‖Zᵀ(Xu)_+‖ ≤ ‖Z‖₂‖(Xu)_+‖ ≤ ‖Z‖₂‖X‖₂: the bound of any node not evaluated
    spec = float(np.linalg.norm(Zt, 2) * np.linalg.norm(Xh, 2)) * (1 + 1e-12)
    lvl.run(0.0, spec)
    ctx.closed = lvl.closed
    pv = np.concatenate([v for v, _ in lvl.pool])
    pU = np.hstack([u for _, u in lvl.pool])
    top = np.argsort(-pv)[:512]  # many leaves close the same face: de-duplicated later
    ctx.pool = pU[:, top]
    att = float(_f(X, Z, lvl.best_u[:, None])[0])
    up = max(lvl.best, lvl.upper_done) * (1 + 1e-12) + slack
    return att, lvl.best_u, max(up, att)


def certified_max(X, Z, tol: float = 1e-9, time_limit=None, node_budget=None, warm=None,
                  seed=0, k_enum=None) -> CertifiedMax:
    """Certified bracket of ω(Z) = max_{‖u‖≤1} ‖Zᵀ(X u)_+‖ (constraint of the dual (11)).

    Parameters
    ----------
    X : ndarray, shape (n, r)
        Data (use the rank-reduced X V_r of App. A.2 so that r = rank X).
    Z : ndarray, shape (n, c)
    tol : float
        Relative pruning tolerance: a complete run ends with ω̄ − ω_lo ≤ tol·ω̄ (up to
        floating point).
    time_limit : float, optional
        Seconds; checked between batches of nodes and between sub-problems.
    node_budget : int, optional
        Nodes (all recursion levels).
    warm : ndarray, shape (r, k), optional
        Starting directions for the incumbent (e.g. the current neurons).
    seed : int or Generator

    Returns
    -------
    CertifiedMax
        ``upper`` is valid whether or not the search completed.
    """
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    budget = _Budget(time_limit, node_budget)
    r = X.shape[1] if X.ndim == 2 else 1
    if k_enum is None:
        k_enum = min(max(r - 1, 2), 6)
    ctx = _Ctx(tol=float(tol), budget=budget, rng=np.random.default_rng(seed), k_enum=k_enum)
    val, u, up = _solve(X, Z, ctx, warm)
    cand = u[:, None] if ctx.pool is None else np.hstack([u[:, None], ctx.pool])
    return CertifiedMax(float(val), float(max(up, val)), u, not budget.stopped, budget.nodes,
                        ctx.closed, cand)


def polish(X, Z, U, k=None, radii=(3e-2, 3e-3, 3e-4, 3e-5), tau: float = 0.0):
    """Local face enumeration around the columns of U (a heuristic's end points).

    Around each direction a small node (the cone over a box of half-width ``radius`` on the
    cube face it points to) is built, with the largest radius leaving at most ``k`` unstable
    rows; every face of the arrangement meeting it is solved exactly (the closing step of
    the branch and bound). This turns an ascent's end point near a kink into the local
    maximum on the face it approaches. Faces whose top eigenvalue is ≤ ``tau``² (e.g. a
    fraction of the value already found) are skipped without the O(n r) feasibility check. Returns (values, unit directions (r, s)) of the
    attained candidates found, best first (possibly empty).
    """
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    U = np.asarray(U, dtype=float).reshape(X.shape[1], -1)
    Xh, Zt, _ = _prepare(X, Z)
    n, r = Xh.shape
    if n == 0 or r < 2 or U.shape[1] == 0:
        return np.zeros(0), np.zeros((r, 0))
    ctx = _Ctx(tol=0.0, budget=_Budget(None, None), rng=np.random.default_rng(0))
    k = min(max(r - 1, 2), 6) if k is None else int(k)
    lvl = _Level(Xh, Zt, ctx)
    a = np.argmax(np.abs(U), axis=0)
    V = (U / np.abs(U[a, np.arange(U.shape[1])])).T  # on the cube faces, (s, r)
    s = V.shape[0]
    C = np.tile(V, (len(radii), 1))
    H = np.repeat(np.asarray(radii, dtype=float), s)[:, None] * np.ones((1, r))
    H[np.arange(C.shape[0]), np.tile(a, len(radii))] = 0.0
    _, pos, uns = lvl.evaluate(C, H)
    ok = (uns.sum(axis=1) <= k).reshape(len(radii), s)
    pick = np.argmax(ok, axis=0)  # the largest radius that qualifies
    idx = (pick * s + np.arange(s))[ok[pick, np.arange(s)]]
    lvl.pool = []
    if idx.size:
        lvl.close(idx, pos, uns, float(tau))
    if not lvl.pool:
        return np.zeros(0), np.zeros((r, 0))
    W = np.hstack([w for _, w in lvl.pool])
    vals = _f(X, Z, W)
    order = np.argsort(-vals)
    return vals[order], W[:, order]
