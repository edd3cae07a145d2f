"""The collected columns of column generation: neurons (unit directions) and their features.

The dual (11) restricted to cuts u_1..u_K is the Lagrange dual of the group lasso over the
fixed features a(u_k) (App. A.5), ``min_V ½‖Y − A V‖² + β Σ_k ‖v_k‖`` (squared loss) or
``min_V ℓ(A V, Y) + β Σ_k ‖v_k‖`` (any loss, (76)). :class:`Columns` holds the unit
directions U, the master's weights V and the Gram data G = AᵀA, B = AᵀY; it is parameterised
by the feature map

* :class:`DenseFeatures` — a(u) = (X_r u)_+ on the oracle's reduced data (programs (12),
  (76)); the n × K matrix A is stored when asked (``keep_features``); otherwise it is kept
  as a cache while n·K ≤ :data:`FEATURE_CACHE_FLOATS` (so adding a column costs one new
  feature, not K) and dropped beyond it (memory O(n (r + c)) + that cap): the Gram data are
  then accumulated over row chunks;
* :class:`PatchFeatures` — a(u) = Σ_k (X_k u)_+ = Sᵀ(M_u u)_+ on the compressed stacked
  patch matrix of the CNN program (50) (:mod:`.conv_cutting_plane`);

and used with either master: :meth:`Columns.solve` (squared group lasso,
:func:`~cvxrelu.drivers.group_lasso.solve_group_lasso` on the Gram data) or the any-loss
master of :mod:`.loss_master` on :attr:`Columns.A`.
"""

from __future__ import annotations

import numpy as np

from ..geometry.oracle import _row_chunks
from .group_lasso import solve_group_lasso

__all__ = ["Columns", "DenseFeatures", "PatchFeatures", "distinct_units",
           "FEATURE_CACHE_FLOATS", "FEATURE_CACHE_FACTOR"]

#: Without ``keep_features``, the n × K features A are cached while n·K stays at most this
#: many floats (32 MB of float64) and at most :data:`FEATURE_CACHE_FACTOR` copies of the
#: data and targets (n·(r + c) floats): the K old features are then not recomputed on each
#: add. Beyond it the cache is dropped and A is recomputed over row chunks, so the memory
#: stays O(n (r + c)).
FEATURE_CACHE_FLOATS = 4_000_000
FEATURE_CACHE_FACTOR = 8

# two unit directions with uᵀw above this are the same column
_SAME = 1 - 1e-13


def distinct_units(Unew: np.ndarray, U: np.ndarray | None = None):
    """The columns of ``Unew`` normalized, without zeros, repeats, and those already in U.

    Returns (unit directions (r, k), their norms (k,), their column indices in ``Unew``).
    """
    added, norms, idx = [], [], []
    for j in range(Unew.shape[1]):
        nu = float(np.linalg.norm(Unew[:, j]))
        if not nu > 0:
            continue
        u = Unew[:, j] / nu
        if U is not None and U.shape[1] and np.max(U.T @ u) > _SAME:
            continue
        if any(float(u @ w) > _SAME for w in added):
            continue
        added.append(u)
        norms.append(nu)
        idx.append(j)
    r = Unew.shape[0]
    if not added:
        return np.zeros((r, 0)), np.zeros(0), np.zeros(0, dtype=int)
    return np.column_stack(added), np.asarray(norms), np.asarray(idx, dtype=int)


class DenseFeatures:
    """a(u) = (X_r u)_+ for the rows of the (reduced) data X_r (n, r)."""

    def __init__(self, Xr: np.ndarray):
        self.Xr = Xr
        self.n, self.dim = Xr.shape

    def chunks(self, width: int):
        """Row slices keeping every temporary at O(n (r + c)) memory."""
        return _row_chunks(self.n, width)

    def features(self, U: np.ndarray, rows=slice(None)) -> np.ndarray:
        """(X_r[rows] U)_+, shape (len(rows), k)."""
        return np.maximum(self.Xr[rows] @ U, 0.0)


class PatchFeatures:
    """a(u) = Σ_k (X_k u)_+ = Sᵀ(M_u u)_+ with the compressed patch data of (50)
    (``data.rows`` = M_u (q, h), ``data.ST`` = Sᵀ (n, q)); not row-separable, so one chunk."""

    def __init__(self, data):
        self.data = data
        self.n, self.dim = data.n, data.h

    def chunks(self, width: int):
        yield slice(None)

    def features(self, U: np.ndarray, rows=slice(None)) -> np.ndarray:
        return np.asarray(self.data.ST @ np.maximum(self.data.rows @ U, 0.0))[rows]


class Columns:
    """Collected unit directions U (r, K), the master's weights V (K, c) and Gram data.

    Parameters
    ----------
    features : DenseFeatures or PatchFeatures
        The feature map a(u).
    Y : ndarray (n, c)
        Targets of the master (prepared by the loss).
    beta : float
    keep_features : bool
        Store A = [a(u_1) … a(u_K)] (n × K): needed by the any-loss master and by ACCPM's
        analytic center; otherwise A is cached only while n·K ≤ ``cache_floats`` and beyond
        it only the K × K Gram data are kept (memory O(n (r + c))).
    cache_floats : int, optional
        The cache cap (floats) without ``keep_features`` (default: the smaller of
        :data:`FEATURE_CACHE_FLOATS` and :data:`FEATURE_CACHE_FACTOR`·n·(r + c); 0 never
        caches). The values G, B, V do not depend on it.
    """

    def __init__(self, features, Y: np.ndarray, beta: float, keep_features: bool = False,
                 cache_floats: int | None = None):
        self.features = features
        self.Y = Y
        self.beta = beta
        self.yy = float(np.sum(Y * Y))
        self.keep_features = keep_features
        self.cache_floats = (min(FEATURE_CACHE_FLOATS,
                                 FEATURE_CACHE_FACTOR * features.n * (features.dim + Y.shape[1]))
                             if cache_floats is None else int(cache_floats))
        c = Y.shape[1]
        self.U = np.zeros((features.dim, 0))
        self.G = np.zeros((0, 0))
        self.B = np.zeros((0, c))
        self.V = np.zeros((0, c))
        # the features live in the first K columns of a column-major buffer grown
        # geometrically (an add copies only the new columns, amortized)
        self._buf = np.zeros((features.n, 0), order="F") if self._caches(0) else None
        self._A = self._buf
        self.zero_age = np.zeros(0, dtype=int)

    @property
    def K(self) -> int:
        return self.U.shape[1]

    def _caches(self, K: int) -> bool:
        """Whether the n × K features are stored (always with ``keep_features``)."""
        return self.keep_features or self.features.n * K <= self.cache_floats

    def _store(self, A: np.ndarray, K: int):
        """Start the buffer with the features A (n, K)."""
        self._buf = np.asfortranarray(A)
        self._A = self._buf[:, :K]

    def _append(self, An: np.ndarray):
        """Append the columns An to the stored features, growing the buffer when full
        (to at most the cache cap, or 1.5× without one)."""
        n, K, k = self.features.n, self._A.shape[1], An.shape[1]
        if K + k > self._buf.shape[1]:
            grow = max(K + k, int(1.5 * (K + k)) + 4)
            if not self.keep_features:
                grow = max(K + k, min(grow, self.cache_floats // max(n, 1)))
            buf = np.empty((n, grow), order="F")
            buf[:, :K] = self._A
            self._buf = buf
        self._buf[:, K:K + k] = An
        self._A = self._buf[:, :K + k]

    @property
    def A(self) -> np.ndarray:
        """The n × K features (stored with ``keep_features`` or while cached, else built on
        demand). A stored A is a view of the buffer: valid until the next add or screen."""
        if self._A is not None:
            return self._A
        return self.features.features(self.U)

    def add(self, Unew: np.ndarray, Vnew: np.ndarray | None = None) -> int:
        """Add the new, distinct directions (columns of Unew) whose feature is nonzero.

        ``Vnew`` (rows per column of Unew) are initial weights for the new columns, given
        for the unnormalized directions (a warm-start network's second layer): they are
        scaled by the direction's norm, a(u/‖u‖)·‖u‖ v = a(u) v. Returns the count added.
        """
        Un, nu, idx = distinct_units(Unew, self.U)
        if not Un.shape[1]:
            return 0
        K, k, c = self.K, Un.shape[1], self.Y.shape[1]
        Gx, Gn, Bn = np.zeros((K, k)), np.zeros((k, k)), np.zeros((k, c))
        # store the features after this add when they fit (an upper estimate: K + k columns)
        cache = self._caches(K + k)
        An_all = [] if cache else None
        Aold_all = [] if cache and self._A is None and K else None  # rebuild a dropped cache
        for rows in self.features.chunks(K + k):
            An = self.features.features(Un, rows)
            if K:
                Aold = (self._A[rows] if self._A is not None
                        else self.features.features(self.U, rows))
                Gx += Aold.T @ An
                if Aold_all is not None:
                    Aold_all.append(Aold)
            Gn += An.T @ An
            Bn += An.T @ self.Y[rows]
            if An_all is not None:
                An_all.append(An)
        nz = np.diag(Gn) > 0
        if not np.any(nz):
            return 0
        Un, Gx, Gn, Bn = Un[:, nz], Gx[:, nz], Gn[np.ix_(nz, nz)], Bn[nz]
        self.G = np.block([[self.G, Gx], [Gx.T, Gn]])
        self.B = np.vstack([self.B, Bn])
        self.U = np.hstack([self.U, Un])
        if cache:
            if self._A is None:
                self._store(np.vstack(Aold_all) if Aold_all else
                            np.zeros((self.features.n, 0)), K)
            self._append(np.vstack(An_all)[:, nz])
        else:  # over the cap: recompute over row chunks from now on
            self._A = self._buf = None
        if Vnew is None:
            Vn = np.zeros((Un.shape[1], c))
        else:
            Vn = (np.asarray(Vnew, dtype=float)[idx] * nu[:, None])[nz]
        self.V = np.vstack([self.V, Vn])
        self.zero_age = np.concatenate([self.zero_age, np.zeros(Un.shape[1], dtype=int)])
        return Un.shape[1]

    # ------------------------------------------------------------- master
    def solve(self, t=None, tol=1e-12, target=1e-9, accurate=False):
        """The squared-loss master (group lasso on the Gram data), warm-started at V;
        negligible neurons are pruned (interior-point solutions are never exactly sparse)."""
        sol = solve_group_lasso(self.G, self.B, self.yy, self.beta, t=t, tol=tol,
                                target=target, accurate=accurate, warm=self.V)
        V = sol.V
        nrm = np.linalg.norm(V, axis=1)
        V[nrm <= 1e-9 * max(nrm.max(initial=0.0), 1e-300)] = 0.0
        self.V = V
        return sol

    def predict(self) -> np.ndarray:
        """A V from the nonzero neurons only, over row chunks."""
        F = np.zeros_like(self.Y)
        S = np.flatnonzero(np.any(self.V != 0.0, axis=1))
        if S.size:
            if self._A is not None:
                return self._A[:, S] @ self.V[S]
            US, VS = self.U[:, S], self.V[S]
            for rows in self.features.chunks(S.size):
                F[rows] += self.features.features(US, rows) @ VS
        return F

    def residual(self) -> np.ndarray:
        """Z = Y − A V (the squared master's dual point)."""
        return self.Y - self.predict()

    def upper(self, Z) -> float:
        """Exact primal objective of the current network: ½‖Z‖² + β Σ‖v_k‖ (Z its residual)."""
        return 0.5 * float(np.sum(Z * Z)) + self.beta * float(
            np.sum(np.linalg.norm(self.V, axis=1)))

    # ---------------------------------------------------------- screening
    def cut_values(self, Z: np.ndarray | None = None) -> np.ndarray:
        """‖Zᵀa_k‖ per column; with Z None, at the squared master's residual Z = Y − A V,
        from the Gram data: Zᵀa_k = b_k − (G V)_k (no n × K product)."""
        if Z is None:
            return np.linalg.norm(self.B - self.G @ self.V, axis=1)
        out = np.zeros((self.K, Z.shape[1]))
        if self._A is not None:
            out = self._A.T @ Z
        else:
            for rows in self.features.chunks(self.K):
                out += self.features.features(self.U, rows).T @ Z[rows]
        return np.linalg.norm(out, axis=1)

    def screen(self, values: np.ndarray, max_age: int = 1, slack: float = 0.999):
        """Drop columns whose v_k has been 0 for ``max_age`` masters and whose cut is
        inactive (``values`` = ‖Zᵀa_k‖ < slack·β). Dropping inactive cuts leaves the
        restricted optimum unchanged, so upper bounds stay monotone; a dropped column can
        come back through the oracle."""
        if self.K == 0:
            return
        zero = ~np.any(self.V != 0.0, axis=1)
        self.zero_age = np.where(zero, self.zero_age + 1, 0)
        drop = zero & (self.zero_age >= max_age) & (values < slack * self.beta)
        if np.any(drop):
            keep = ~drop
            self.U = self.U[:, keep]
            self.G = self.G[np.ix_(keep, keep)]
            self.B, self.V = self.B[keep], self.V[keep]
            if self._A is not None:
                Kk = int(np.sum(keep))
                self._buf[:, :Kk] = self._A[:, keep]
                self._A = self._buf[:, :Kk]
            self.zero_age = self.zero_age[keep]

    # ------------------------------------------------------------ network
    def balanced(self, V: np.ndarray | None = None, U: np.ndarray | None = None):
        """(first layer (r, m), second layer (m, c)) of the balanced network of the nonzero
        columns: u_k √‖v_k‖ and v_k/√‖v_k‖ (Remark 5.1)."""
        V = self.V if V is None else V
        U = self.U if U is None else U
        nv = np.linalg.norm(V, axis=1)
        keep = nv > 0
        s = np.sqrt(nv[keep])
        return U[:, keep] * s, V[keep] / s[:, None]

    def network(self, basis: np.ndarray):
        """The dense :class:`~cvxrelu.networks.network.ReLUNetwork` in the original space."""
        from ..networks.network import ReLUNetwork

        W1, W2 = self.balanced()
        return ReLUNetwork(basis @ W1, W2)
