"""Multi-start projected gradient ascent for the dual oracle of (11) (a heuristic).

ω(Z) = max_{‖u‖₂≤1} ‖Zᵀ(X u)_+‖₂ (Sahiner et al., ICLR 2021, dual (11)/(73); the Frank-Wolfe
LMO of Algorithm 1). Writing φ(u) = ½‖Zᵀ(Xu)_+‖², its gradient is
``∇φ(u) = Xᵀ (D(u) Z g)``, ``g = Zᵀ(Xu)_+``, ``D(u) = diag(1[Xu > 0])`` — one GEMM chain per
step for all starts at once (no three-operand einsum). With step size η → ∞ the step
``u ← normalize(u + η∇φ(u))`` is one power iteration on the current pattern's
``M_i = Xᵀ D_i Z Zᵀ D_i X``; each start keeps its own step size (doubled on success, cut on
failure), so every accepted step strictly increases ‖Zᵀ(Xu)_+‖. A final *pattern jump*
replaces each end point by the top eigenvector of its cell's M_i when that is better.

This finds local maxima only: its value is a lower bound ω_lo ≤ ω(Z), never certified.
:mod:`cvxrelu.geometry.oracle_bnb` certifies the upper end.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["ascent_starts", "distinct_top", "projected_ascent"]


def _normalize(U: np.ndarray) -> np.ndarray:
    return U / np.maximum(np.linalg.norm(U, axis=0), 1e-300)


def _null_vectors(A: np.ndarray) -> np.ndarray:
    """A vector spanning null(A_k) for each (r − 1, r) matrix of the stack A: the
    generalized cross product, v_j = (−1)^j det(A without column j) (zero if A_k is rank
    deficient: then it is dropped by the caller)."""
    r = A.shape[-1]
    cols = [np.linalg.det(np.delete(A, j, axis=-1)) * (-1.0) ** j for j in range(r)]
    return np.stack(cols, axis=-1)


def ascent_starts(X: np.ndarray, Z: np.ndarray, rng, n_random: int = 64, n_rows: int = 256,
                  warm=None, n_vertices: int = 2048, keep_vertices: int = 96,
                  screen: int = 1, screen_flops: float = 4e7) -> np.ndarray:
    """Starting directions (columns, unit) for :func:`projected_ascent`.

    ``warm`` columns (e.g. the current neurons or a user network's first layer), the data
    points ±x_i (at most ``n_rows`` of them), the top left singular vectors ±of Xᵀ Z and of
    Xᵀ (Z_k)_+ per output k, ``n_random`` Gaussian directions, and the ``keep_vertices``
    best of ``n_vertices`` random vertices ±null(X_S) of the arrangement (S: r − 1 random
    rows) — maxima often sit on such low-dimensional faces.

    With ``screen`` > 1 the random block is the ``n_random`` best of up to
    ``screen · n_random`` Gaussian draws (capped at ``screen_flops`` flops). Off by default:
    it raises the best value a little on flat objectives (teacher n = 80, d = 5: 1.0002β
    against 1.0001β) but concentrates the starts near the maxima already known, and the
    cutting-plane driver then gets fewer distinct cuts per round (breast cancer, 60 s cold:
    96 neurons and objective 16.5 with it, 150 and 15.0 without).
    """
    n, r = X.shape
    c = Z.shape[1]
    parts = []
    if warm is not None:
        W = np.asarray(warm, dtype=float).reshape(r, -1)
        W = W[:, np.linalg.norm(W, axis=0) > 0]
        parts.append(W)
    rows = np.arange(n) if n <= n_rows else rng.choice(n, n_rows, replace=False)
    parts.append(X[rows].T)
    parts.append(-X[rows].T)
    G = X.T @ Z  # (r, c)
    Ul, _, _ = np.linalg.svd(G, full_matrices=False)
    parts.append(Ul)
    parts.append(-Ul)
    parts.append(X.T @ np.maximum(Z, 0.0))
    parts.append(X.T @ np.maximum(-Z, 0.0))
    if n_random:
        # screened random starts (screen > 1): the n_random best of up to screen·n_random
        # Gaussian directions (one GEMM chain, ~screen_flops flops)
        n_draw = int(min(screen * n_random, max(n_random, screen_flops // max(1, n * (r + c)))))
        R = rng.standard_normal((r, n_draw))
        if n_draw > n_random:
            fr = np.linalg.norm(np.maximum(R.T @ X.T, 0.0) @ Z, axis=1) \
                / np.linalg.norm(R, axis=0)
            R = R[:, np.argpartition(-fr, n_random - 1)[:n_random]]
        parts.append(R)
    n_vertices = min(n_vertices, max(128, 4_000_000 // max(n, 1)))  # O(n_vertices n) work
    if n_vertices and 2 <= r <= 12 and n >= r:
        S = rng.integers(0, n, (n_vertices, r - 1))  # a repeated row: still a null vector
        V = _null_vectors(X[S]).T  # (r, k)
        V = np.hstack([V, -V])
        fv = np.linalg.norm(Z.T @ np.maximum(X @ V, 0.0), axis=0)
        k = min(keep_vertices, fv.size)
        parts.append(V[:, np.argpartition(-fv, k - 1)[:k]])
    U = np.hstack(parts)
    U = U[:, np.linalg.norm(U, axis=0) > 0]
    return _normalize(U)


def projected_ascent(X: np.ndarray, Z: np.ndarray, U0: np.ndarray, n_iter: int = 30,
                     rtol: float = 1e-10, jump: int = 8, prune: float = 0.0,
                     prune_every: int = 4, keep_min: int = 16, deadline=None,
                     hops: int = 0, rng=None):
    """Ascent on the unit sphere from every column of ``U0`` with basin hopping;
    (values (s,), directions (r, s)).

    After the ascent from the starts, ``hops`` rounds of *basin hopping*: the best distinct
    end points are perturbed (Gaussian noise of norm ≈ 0.3, 0.1, 0.03 times a few copies
    each), the ascent runs again from the perturbed points; a result next to an existing
    end point upgrades that column when better, one in a new basin replaces the worst column
    it beats (the columns stay distinct local maxima, and column j never ends below its
    start). On flat objectives
    (Z near the dual optimum of (11), where many directions give ‖Zᵀ(Xu)_+‖ ≈ β) the
    violated direction sits in a narrow basin next to a non-violated local maximum;
    measured on teacher data (n = 80, d = 5 / n = 100, d = 8, β = 0.1, the residual of a
    cutting-plane network, 3 seeds): the best value rose from (1.002–1.004)β /
    (1.008–1.019)β (starts only) to (1.006–1.007)β / (1.023–1.032)β after 2 rounds (the
    certified search finds ≥ 1.0084β / ≥ 1.0306β), for 1.45× / 1.3× the time of the plain
    ascent (0.13 / 0.22 s a call). Each round costs about ``1e7`` flops (its number of
    starts, 48–96, adapts to n, r, c).

    Off by default (``hops=0``): in the cutting-plane iterations it is a loss while large
    violations are easy to find — breast cancer (n = 569, r = 30), 80 Kelley iterations:
    objective 19.67 with 73 neurons in 16.0 s with ``hops=2`` against 16.69 with 112 neurons
    in 10.3 s without (the hopped maxima crowd the k best cuts). Use it where the plain
    ascent sees no violated direction any more (the end game), and for the incumbent of
    :func:`cvxrelu.geometry.oracle_bnb.certified_max` (which does).

    Parameters
    ----------
    X : ndarray, shape (n, r)
        (Rank-reduced) data.
    Z : ndarray, shape (n, c)
    U0 : ndarray, shape (r, s)
        Unit starting directions.
    n_iter : int
        Gradient steps (each: four GEMMs over the starts still moving).
    rtol : float
        A start stops moving once its relative improvement falls below ``rtol``.
    jump : int
        The ``jump`` best end points also try the top eigenvector of their cell's M_i.
    prune : float
        Early stop of unpromising starts: every ``prune_every`` steps, the moving starts
        whose value is below ``prune`` × (best value so far) stop (they keep their current,
        attained value); the ``keep_min`` best moving starts always continue. ``0``
        disables it. Each step costs O(s n (r + c)) flops over the s moving starts, so on
        large data most of the time goes to starts that end far below the best.
    prune_every, keep_min : int
        See ``prune``.
    deadline : float, optional
        A ``time.perf_counter()`` value after which no further step is taken (the values
        returned are still attained).
    hops : int
        Rounds of basin hopping (0, the default: the plain multi-start ascent; 2 is the
        setting measured above).
    rng : int or Generator, optional
        Seed of the perturbations (default 0: deterministic).

    Returns
    -------
    vals : ndarray, shape (s,)
        ‖Zᵀ(X u)_+‖ at the returned directions (attained values: lower bounds on ω(Z)).
    U : ndarray, shape (r, s)
        Unit directions.
    """
    f, U = _ascent(X, Z, U0, n_iter, rtol, jump, prune, prune_every, keep_min, deadline)
    if hops <= 0 or U.shape[1] == 0:
        return f, U
    rng = np.random.default_rng(0 if rng is None else rng)
    n, r = X.shape
    c = Z.shape[1]
    scales = np.array([0.3, 0.1, 0.03])
    per_round = int(np.clip(_HOP_FLOPS // max(1, n_iter * n * (r + c)), 48, _HOP_MAX))
    for _ in range(int(hops)):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        top = distinct_top(f, U, max(1, per_round // (3 * 8)))
        copies = max(1, per_round // (3 * top.size))
        P = U[:, top][:, :, None, None] + (scales[None, None, :, None] / np.sqrt(r)) \
            * rng.standard_normal((r, top.size, scales.size, copies))
        P = _normalize(P.reshape(r, -1))
        fh, Uh = _ascent(X, Z, P, n_iter, rtol, jump, prune, prune_every, keep_min, deadline)
        # a hop result next to an existing end point (angle < ~0.014) upgrades that column
        # when better; one in a new basin replaces the worst column it beats. So the columns
        # stay distinct local maxima (distinct cuts) and each never ends below its start.
        for i in distinct_top(fh, Uh, min(_HOP_KEEP, U.shape[1])):
            cos = Uh[:, i] @ U
            j = int(np.argmax(cos))
            if cos[j] < 1 - 1e-4:
                j = int(np.argmin(f))
            if fh[i] > f[j]:
                f[j], U[:, j] = fh[i], Uh[:, i]
    return f, U


_HOP_FLOPS, _HOP_MAX, _HOP_KEEP = 1e7, 96, 16


def distinct_top(vals, U, k, tol=1e-6):
    """Indices of the ≤ k best columns of U (values ``vals``) with pairwise inner products
    < 1 − tol: a column is a duplicate of a chosen one when their inner product is ≥ 1 − tol."""
    order = np.argsort(-vals, kind="stable")
    D = U[:, order]
    alive = np.ones(order.size, dtype=bool)
    chosen = []
    while len(chosen) < k:
        left = np.flatnonzero(alive)
        if left.size == 0:
            break
        i = int(left[0])
        chosen.append(int(order[i]))
        alive[i] = False
        rest = left[1:]
        alive[rest[D[:, i] @ D[:, rest] >= 1 - tol]] = False
    return np.asarray(chosen, dtype=int)


def _ascent(X, Z, U0, n_iter=30, rtol=1e-10, jump=8, prune=0.0, prune_every=4, keep_min=16,
            deadline=None):
    """The multi-start ascent of :func:`projected_ascent` (no hopping)."""
    Xt, Zt = np.ascontiguousarray(X.T), np.ascontiguousarray(Z.T)
    U = np.array(U0, dtype=float).T.copy()  # (s, r): one start per row
    U /= np.maximum(np.linalg.norm(U, axis=1), 1e-300)[:, None]
    P = U @ Xt  # (s, n)
    G = np.maximum(P, 0.0) @ Z  # (s, c)
    f = np.linalg.norm(G, axis=1)
    eta = np.full(U.shape[0], 1e6)
    a = np.arange(U.shape[0])  # starts still moving
    for it in range(n_iter):
        if a.size == 0 or (deadline is not None and time.perf_counter() >= deadline):
            break
        if prune > 0 and it and it % prune_every == 0 and a.size > keep_min:
            fa = f[a]
            kth = np.partition(fa, a.size - keep_min)[a.size - keep_min]
            a = a[fa >= min(prune * f.max(), kth)]
        Pa, Ga, Ua = P[a], G[a], U[a]
        grad = ((Pa > 0) * (Ga @ Zt)) @ X  # (k, r): ∇½‖Zᵀ(Xu)_+‖²
        gn = np.maximum(np.linalg.norm(grad, axis=1), 1e-300)
        Un = Ua + (eta[a] / gn)[:, None] * grad
        Un /= np.maximum(np.linalg.norm(Un, axis=1), 1e-300)[:, None]
        Pn = Un @ Xt
        Gn = np.maximum(Pn, 0.0) @ Z
        fn = np.linalg.norm(Gn, axis=1)
        ok = fn > f[a] * (1 + rtol)
        idx = a[ok]
        U[idx], P[idx], G[idx], f[idx] = Un[ok], Pn[ok], Gn[ok], fn[ok]
        eta[idx] *= 2.0
        eta[a[~ok]] *= 0.25
        a = a[eta[a] >= 1e-9]
    U = U.T
    if jump:
        top = np.argsort(-f)[:jump]
        D = (P[top] > 0).astype(float)  # (k, n)
        Gi = np.stack([(Z * D[k][:, None]).T @ X for k in range(top.size)])  # (k, c, r)
        _, E = np.linalg.eigh(np.transpose(Gi, (0, 2, 1)) @ Gi)
        Ue = np.hstack([E[:, :, -1].T, -E[:, :, -1].T])
        fe = np.linalg.norm(Zt @ np.maximum(X @ Ue, 0.0), axis=0)
        fe2 = np.maximum(fe[: top.size], fe[top.size:])
        Ue2 = np.where(fe[: top.size] >= fe[top.size:], Ue[:, : top.size], Ue[:, top.size:])
        better = fe2 > f[top]
        U[:, top[better]] = Ue2[:, better]
        f[top[better]] = fe2[better]
    return f, U
