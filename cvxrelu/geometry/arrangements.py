"""Hyperplane arrangements of the data: the sign patterns D_i of the bi-dual (12).

A sign pattern is D = diag(1[X u ≥ 0]) for some direction u. The distinct patterns are the
cells of the central arrangement {u : x_jᵀ u = 0}; there are at most 2r(e(n−1)/r)^r of them
for data of rank r (Section 3 of Sahiner et al., ICLR 2021).

Computation follows App. A.2: X = U_r Σ_r V_rᵀ is rank-reduced to X V_r ∈ R^{n×r}, where every
cell is a pointed cone. Exact enumeration is

- rank 1: the two half-lines ±1;
- rank 2: closed form, sorting the 2n boundary angles on the circle (one cell per arc);
- rank r ≥ 3: every cell of a pointed arrangement has an extreme ray, which is a line where
  r − 1 hyperplanes meet; around each such line the cells are those of the (r−1)-dimensional
  arrangement of the hyperplanes through it (recursion).

Sampling draws Gaussian directions and keeps the distinct patterns (``exact=False``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .._validate import as_data, as_seed_rng, check_choice
from ..errors import InvalidInputError, PatternLimitError

__all__ = ["Arrangement", "sign_patterns", "reduce_rank", "max_patterns_bound",
           "numerical_rank", "null_line", "RANK_RTOL", "ON_PLANE_TOL", "FEAS_TOL"]

# ---------------------------------------------------------------- tolerances
# The package's one definition of "numerically rank deficient" and "on a hyperplane"; every
# module that decides a rank (rank reduction, vertex lines, cone_gauge's pointedness check,
# whitening) uses these, so that the arrangement, the cells and the programs agree.

#: relative tolerance below which a singular value counts as zero: σ_k ≤ RANK_RTOL·σ_1
#: (App. A.2); smaller ones only make cells numerically degenerate (the recovered network
#: is still evaluated on X)
RANK_RTOL = 1e-8
#: |x̂ᵀ w| below this (unit x̂, unit w) counts as "w lies on the hyperplane of x" when the
#: arrangement collects the hyperplanes through a vertex line
ON_PLANE_TOL = 1e-10
#: a unit candidate ray w lies in a cell if (2D−I) x̂ᵀ w ≥ −FEAS_TOL for every unit row x̂
#: (:func:`cvxrelu.geometry.cells.cell_rays`); looser than ON_PLANE_TOL, so every vertex line the
#: arrangement found is feasible for the cells around it
FEAS_TOL = 1e-9


def numerical_rank(A, rtol: float = RANK_RTOL) -> int:
    """The number of singular values of A above ``rtol`` times the largest (0 for A = 0).

    Examples
    --------
    >>> import numpy as np
    >>> numerical_rank(np.array([[1.0, 0.0], [0.0, 1e-12]]))
    1
    >>> numerical_rank(np.zeros((2, 3)))
    0
    """
    A = np.asarray(A, dtype=float)
    if A.size == 0:
        return 0
    s = np.linalg.svd(A, compute_uv=False)
    return _rank_of_singular_values(s, rtol)


def _rank_of_singular_values(s: np.ndarray, rtol: float = RANK_RTOL) -> int:
    """Rank from singular values sorted in decreasing order (σ_k > rtol·σ_1, σ_1 > 0)."""
    if s.size == 0 or s[0] <= 0:
        return 0
    return int(np.sum(s > rtol * s[0]))


@dataclass(frozen=True)
class Arrangement:
    """The sign patterns of a data matrix.

    Attributes
    ----------
    masks : ndarray of bool, shape (n, P)
        Column i is the diagonal of D_i.
    directions : ndarray, shape (d, P)
        Generators: ``1[X @ directions[:, i] >= 0] == masks[:, i]``.
    exact : bool
        True when every cell of the arrangement is present (complete enumeration).
    rank : int
        r = rank X.
    basis : ndarray, shape (d, r)
        Orthonormal V_r of the rank reduction; the reduced data is ``X @ basis``.
    method : str
        "exact" or "sample".
    """

    masks: np.ndarray
    directions: np.ndarray
    exact: bool
    rank: int
    basis: np.ndarray
    method: str

    @property
    def n_patterns(self) -> int:
        """P, the number of distinct patterns."""
        return self.masks.shape[1]

    def __len__(self) -> int:
        return self.n_patterns

    def __repr__(self) -> str:
        return (f"Arrangement(n={self.masks.shape[0]}, P={self.n_patterns}, rank={self.rank}, "
                f"exact={self.exact}, method={self.method!r})")


def reduce_rank(X: np.ndarray):
    """Rank reduction of App. A.2: return (basis V_r of shape (d, r), X @ V_r)."""
    if X.size == 0:
        return np.zeros((X.shape[1], 0)), np.zeros((X.shape[0], 0))
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    r = _rank_of_singular_values(s)
    basis = Vt[:r].T
    return basis, X @ basis


def max_patterns_bound(n: int, r: int) -> int:
    """The number of cells of n central hyperplanes in general position in R^r,
    2 Σ_{k<r} C(n−1, k): an upper bound on P for data of rank r."""
    if r <= 0 or n <= 0:
        return 1
    return 2 * sum(math.comb(n - 1, k) for k in range(r))


# --------------------------------------------------------------------------- exact
def _unique_columns(masks: np.ndarray, dirs: np.ndarray):
    """Drop repeated mask columns, keeping the first occurrence (and its direction)."""
    if masks.shape[1] == 0:
        return masks, dirs
    packed = np.packbits(masks, axis=0)
    _, first = np.unique(packed, axis=1, return_index=True)
    first = np.sort(first)
    return masks[:, first], dirs[:, first]


def _cells_rank1(Xn: np.ndarray):
    x = Xn[:, 0]
    masks = np.stack([x > 0, x < 0], axis=1)
    return masks, np.array([[1.0, -1.0]])


def _cells_rank2(Xn: np.ndarray):
    """Cells of a rank-2 arrangement of unit rows Xn (no zero rows), by sorting angles."""
    perp = np.stack([-Xn[:, 1], Xn[:, 0]], axis=1)
    ang = np.concatenate([np.arctan2(perp[:, 1], perp[:, 0]),
                          np.arctan2(-perp[:, 1], -perp[:, 0])])
    ang = np.sort(np.mod(ang, 2 * np.pi))
    keep = np.concatenate([[True], np.diff(ang) > 1e-13])
    ang = ang[keep]
    if ang.size > 1 and (ang[0] + 2 * np.pi - ang[-1]) <= 1e-13:
        ang = ang[:-1]
    nxt = np.concatenate([ang[1:], [ang[0] + 2 * np.pi]])
    mid = 0.5 * (ang + nxt)
    dirs = np.stack([np.cos(mid), np.sin(mid)])
    masks = (Xn @ dirs) > 0
    return masks, dirs


def null_line(rows: np.ndarray):
    """Unit vector spanning the null space of ``rows`` ((r−1)×r), or None when the rows have
    numerical rank < r − 1 (:data:`RANK_RTOL`), i.e. the hyperplanes meet in more than a
    line."""
    _, s, Vt = np.linalg.svd(rows)
    if s.size < rows.shape[1] - 1 or _rank_of_singular_values(s) < rows.shape[1] - 1:
        return None
    return Vt[-1]


def _cells_general(Xn: np.ndarray, limit: int):
    """Cells of a full-rank central arrangement in R^r (r ≥ 3) of unit rows, by recursion
    over the lines where r − 1 hyperplanes meet (the extreme rays of the cells)."""
    n, r = Xn.shape
    # hyperplanes up to sign, deduplicated, to pick the (r−1)-subsets from
    canon = Xn * np.where(Xn[np.arange(n), np.argmax(np.abs(Xn) > 1e-12, axis=1)] < 0, -1, 1)[:, None]
    _, uniq = np.unique(np.round(canon, 12), axis=0, return_index=True)
    H = Xn[np.sort(uniq)]
    n_subsets = math.comb(H.shape[0], r - 1)
    if n_subsets > 50 * limit:
        raise PatternLimitError(
            f"exact enumeration for rank {r} would visit {n_subsets} vertex lines; "
            "use method='sample' (with n_samples=...) instead."
        )
    seen = set()
    masks_out, dirs_out = [], []
    for subset in itertools.combinations(range(H.shape[0]), r - 1):
        w = null_line(H[list(subset)])
        if w is None:
            continue
        proj = Xn @ w
        on = np.abs(proj) <= ON_PLANE_TOL
        key = tuple(np.flatnonzero(on))
        if key in seen:
            continue
        seen.add(key)
        # local arrangement of the hyperplanes through w, inside w's orthogonal complement
        Q = np.linalg.svd(w[None, :])[2][1:].T  # r × (r−1), orthonormal basis of w⊥
        local = Xn[on] @ Q
        lmasks, ldirs = _cells_of(local, limit)
        t = Q @ ldirs  # local directions in R^r, unit-ish
        off = ~on
        eps = 0.5 * np.min(np.abs(proj[off])) if np.any(off) else 1.0
        for sign in (1.0, -1.0):
            base = np.empty((n, lmasks.shape[1]), dtype=bool)
            base[off] = (sign * proj[off] > 0)[:, None]
            base[on] = lmasks
            masks_out.append(base)
            dirs_out.append(sign * w[:, None] + eps * t / np.linalg.norm(t, axis=0))
        if sum(m.shape[1] for m in masks_out) > 4 * limit:
            masks_all, dirs_all = _unique_columns(np.hstack(masks_out), np.hstack(dirs_out))
            if masks_all.shape[1] > limit:
                raise PatternLimitError(
                    f"more than {limit} sign patterns; use method='sample' or raise max_patterns."
                )
            masks_out, dirs_out = [masks_all], [dirs_all]
    return _unique_columns(np.hstack(masks_out), np.hstack(dirs_out))


def _cells_of(Xr: np.ndarray, limit: int):
    """Masks (strict signs, zero rows → True) and generators of all cells of X in R^r."""
    n, r = Xr.shape
    norms = np.linalg.norm(Xr, axis=1)
    nz = norms > 0
    masks = np.ones((n, 0), dtype=bool)
    if not np.any(nz):
        return np.ones((n, 1), dtype=bool), np.zeros((r, 1))
    basis, Xred = reduce_rank(Xr[nz])
    k = basis.shape[1]
    Xn = Xred / np.linalg.norm(Xred, axis=1, keepdims=True)
    if k == 1:
        sub_m, sub_d = _cells_rank1(Xn)
    elif k == 2:
        sub_m, sub_d = _cells_rank2(Xn)
    else:
        sub_m, sub_d = _cells_general(Xn, limit)
    masks = np.ones((n, sub_m.shape[1]), dtype=bool)
    masks[nz] = sub_m
    return masks, basis @ sub_d


# ------------------------------------------------------------------------ public
def sign_patterns(X, method: str = "auto", n_samples=None, seed=None,
                  max_patterns: int = 200_000, name: str = "X") -> Arrangement:
    """Enumerate or sample the sign patterns D_i = diag(1[X u ≥ 0]) of the data.

    Parameters
    ----------
    X : array-like, shape (n, d)
        Data matrix.
    method : {"auto", "exact", "sample"}
        "exact" enumerates every cell (rank ≤ 2 in closed form, higher rank by recursion over
        vertex lines; cost grows like n^(r−1)); "sample" keeps the distinct patterns of
        ``n_samples`` Gaussian directions; "auto" is exact when rank ≤ 4 and the worst-case
        count fits in ``max_patterns``, sampling otherwise.
    n_samples : int, optional
        Directions drawn by "sample" (default 2000).
    seed : int or numpy Generator, optional
        Seed of the sampler.
    max_patterns : int
        Refuse exact enumeration (PatternLimitError) when more patterns could arise.

    Returns
    -------
    Arrangement
    """
    X = as_data(X, name)
    check_choice(method, ("auto", "exact", "sample"), "method")
    if isinstance(max_patterns, bool) or not isinstance(max_patterns, (int, np.integer)) \
            or max_patterns < 1:
        raise InvalidInputError(f"max_patterns must be a positive integer; got {max_patterns!r}.")
    if n_samples is not None and (isinstance(n_samples, bool) or
                                  not isinstance(n_samples, (int, np.integer)) or n_samples < 1):
        raise InvalidInputError(f"n_samples must be a positive integer; got {n_samples!r}.")
    n = X.shape[0]
    basis, Xr = reduce_rank(X)
    r = basis.shape[1]
    if r == 0:
        raise InvalidInputError(
            f"{name} is identically zero (rank 0): every network outputs 0; nothing to train."
        )
    bound = max_patterns_bound(n, r)
    mem_bytes = bound * n
    if method == "auto":
        method = "exact" if (r <= 4 and bound <= max_patterns) else "sample"
    if method == "exact":
        if bound > max_patterns or mem_bytes > 4 * 2 ** 30:
            raise PatternLimitError(
                f"exact enumeration could produce up to {bound} patterns for n={n} points of "
                f"rank {r} (over max_patterns={max_patterns}); use method='sample' with "
                "n_samples=..., or raise max_patterns if memory allows."
            )
        masks, dirs_r = _cells_of(Xr, max_patterns)
        exact = True
    else:
        if n_samples is None:
            n_samples = 2000
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
                or n_samples < 1:
            raise InvalidInputError(f"n_samples must be a positive integer; got {n_samples!r}.")
        rng = as_seed_rng(seed)
        dirs_r = rng.standard_normal((r, int(n_samples)))
        masks = (Xr @ dirs_r) >= 0
        masks, dirs_r = _unique_columns(masks, dirs_r)
        exact = False
    return Arrangement(masks=masks, directions=basis @ dirs_r, exact=exact, rank=r,
                       basis=basis, method=method)
