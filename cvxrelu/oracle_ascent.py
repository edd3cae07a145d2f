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
:mod:`cvxrelu.oracle_bnb` certifies the upper end.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ascent_starts", "projected_ascent"]


def _normalize(U: np.ndarray) -> np.ndarray:
    return U / np.maximum(np.linalg.norm(U, axis=0), 1e-300)


def ascent_starts(X: np.ndarray, Z: np.ndarray, rng, n_random: int = 64, n_rows: int = 256,
                  warm=None) -> np.ndarray:
    """Starting directions (columns, unit) for :func:`projected_ascent`.

    ``warm`` columns (e.g. the current neurons or a user network's first layer), the data
    points ±x_i (at most ``n_rows`` of them), the top left singular vectors ±of Xᵀ Z and of
    Xᵀ (Z_k)_+ per output k, and ``n_random`` Gaussian directions.
    """
    n, r = X.shape
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
    parts.append(rng.standard_normal((r, n_random)))
    U = np.hstack(parts)
    U = U[:, np.linalg.norm(U, axis=0) > 0]
    return _normalize(U)


def _values(X, Z, U):
    P = X @ U
    H = np.maximum(P, 0.0)
    G = Z.T @ H  # (c, s)
    return P, G, np.linalg.norm(G, axis=0)


def projected_ascent(X: np.ndarray, Z: np.ndarray, U0: np.ndarray, n_iter: int = 40,
                     rtol: float = 1e-10, jump: int = 8):
    """Ascent on the unit sphere from every column of ``U0``; (values (s,), directions (r, s)).

    Parameters
    ----------
    X : ndarray, shape (n, r)
        (Rank-reduced) data.
    Z : ndarray, shape (n, c)
    U0 : ndarray, shape (r, s)
        Unit starting directions.
    n_iter : int
        Gradient steps (each: four GEMMs over all starts).
    rtol : float
        A start stops moving once its relative improvement falls below ``rtol``.
    jump : int
        The ``jump`` best end points also try the top eigenvector of their cell's M_i.

    Returns
    -------
    vals : ndarray, shape (s,)
        ‖Zᵀ(X u)_+‖ at the returned directions (attained values: lower bounds on ω(Z)).
    U : ndarray, shape (r, s)
        Unit directions.
    """
    U = _normalize(np.array(U0, dtype=float, copy=True))
    P, G, f = _values(X, Z, U)
    eta = np.full(U.shape[1], 1e6)
    active = np.ones(U.shape[1], dtype=bool)
    for _ in range(n_iter):
        if not np.any(active):
            break
        a = np.flatnonzero(active)
        W = (P[:, a] > 0) * (Z @ G[:, a])  # (n, k)
        grad = X.T @ W  # (r, k)
        gn = np.linalg.norm(grad, axis=0)
        tn = np.linalg.norm(grad - U[:, a] * np.sum(U[:, a] * grad, axis=0), axis=0)
        Un = _normalize(U[:, a] + eta[a] * grad / np.maximum(gn, 1e-300))
        Pn, Gn, fn = _values(X, Z, Un)
        ok = fn > f[a] * (1 + rtol)
        idx = a[ok]
        U[:, idx] = Un[:, ok]
        P[:, idx] = Pn[:, ok]
        G[:, idx] = Gn[:, ok]
        f[idx] = fn[ok]
        eta[idx] *= 2.0
        bad = a[~ok]
        eta[bad] *= 0.25
        active[bad[eta[bad] < 1e-9]] = False
        active[a[tn < 1e-14 * np.maximum(f[a], 1e-300)]] = False
    if jump:
        top = np.argsort(-f)[:jump]
        D = (P[:, top] > 0).astype(float)  # (n, k)
        Gi = np.stack([(Z * D[:, [k]]).T @ X for k in range(top.size)])  # (k, c, r)
        Mi = np.transpose(Gi, (0, 2, 1)) @ Gi
        _, E = np.linalg.eigh(Mi)
        Ue = np.hstack([E[:, :, -1].T, -E[:, :, -1].T])
        _, _, fe = _values(X, Z, Ue)
        fe2 = np.maximum(fe[: top.size], fe[top.size:])
        Ue2 = np.where(fe[: top.size] >= fe[top.size:], Ue[:, : top.size], Ue[:, top.size:])
        better = fe2 > f[top]
        U[:, top[better]] = Ue2[:, better]
        f[top[better]] = fe2[better]
    return f, U
