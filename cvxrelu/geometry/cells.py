"""Geometry of the cells C_i = {u : A_i u ≥ 0}, A_i = (2D_i − I) X, in the rank-reduced space.

After the rank reduction of App. A.2 every cell is a pointed polyhedral cone, the conic hull
of its extreme rays: C_i = R_i R^{k_i}_+. Extreme rays of an arrangement's cells are lines
where r − 1 hyperplanes meet, so they are found by testing those candidate lines against each
cell (two matrix products). The "simplicial" form splits a cell with more than r rays into
simplicial cones (r rays each) by a Delaunay triangulation of its cross-section.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .arrangements import FEAS_TOL, RANK_RTOL, null_line
from ..errors import InvalidInputError, PatternLimitError

__all__ = ["Cells", "cell_rays", "candidate_rays", "triangulate", "constraint_matrices"]

# FEAS_TOL (a unit candidate u lies in a cell if (2D−I) x̂ᵀ u ≥ −FEAS_TOL for every unit
# row x̂) and RANK_RTOL (when r − 1 hyperplanes meet in a line) are defined once, in
# cvxrelu.geometry.arrangements, so that cells and arrangement agree on the vertex lines.


@dataclass(frozen=True)
class Cells:
    """Extreme rays of every cell: ``rays[i]`` is an (r, k_i) array of unit columns."""

    rays: list

    @property
    def n_rays(self) -> np.ndarray:
        return np.array([R.shape[1] for R in self.rays])


def _unit_rows(Xr: np.ndarray):
    norms = np.linalg.norm(Xr, axis=1)
    nz = norms > 0
    return Xr[nz] / norms[nz, None], nz


def candidate_rays(Xr: np.ndarray, max_candidates: int = 2_000_000) -> np.ndarray:
    """Unit vectors (r × K) along every line where r − 1 hyperplanes of Xr meet, both signs."""
    Xn, _ = _unit_rows(Xr)
    r = Xr.shape[1]
    if r == 1:
        return np.array([[1.0, -1.0]])
    if r == 2:
        W = np.stack([-Xn[:, 1], Xn[:, 0]])
    elif r == 3:
        # lines where two planes meet: cross products of all pairs of normals
        i, j = np.triu_indices(Xn.shape[0], 1)
        if i.size > max_candidates:
            raise PatternLimitError(
                f"{i.size} candidate ray lines for rank 3; use form='inner' or 'paper'.")
        C = np.cross(Xn[i], Xn[j])
        norms = np.linalg.norm(C, axis=1)
        # two unit rows at angle θ have σ_min/σ_max = |sin θ|/(1 + |cos θ|): the same
        # numerical-rank test as null_line, without an SVD per pair
        line = norms > RANK_RTOL * (1.0 + np.abs(np.sum(Xn[i] * Xn[j], axis=1)))
        W = (C[line] / norms[line, None]).T
    else:
        count = math.comb(Xn.shape[0], r - 1)
        if count > max_candidates:
            raise PatternLimitError(
                f"{count} candidate ray lines for rank {r}; extreme rays are too expensive "
                "here; use form='inner' or form='paper' instead of 'rays'/'simplicial'."
            )
        lines = []
        for subset in itertools.combinations(range(Xn.shape[0]), r - 1):
            w = null_line(Xn[list(subset)])
            if w is not None:
                lines.append(w)
        W = np.array(lines).T if lines else np.zeros((r, 0))
    W = np.hstack([W, -W])
    # deduplicate directions
    key = np.round(W, 9)
    _, idx = np.unique(key, axis=1, return_index=True)
    return W[:, np.sort(idx)]


def cell_rays(Xr: np.ndarray, masks: np.ndarray) -> Cells:
    """Extreme rays of each cell {u : (2D_i − I) Xr u ≥ 0} (Xr rank-reduced, full column rank)."""
    n, r = Xr.shape
    Xn, nz = _unit_rows(Xr)
    W = candidate_rays(Xr)
    XW = Xn @ W                                   # (n', K)
    neg = (XW < -FEAS_TOL).astype(np.float64)
    pos = (XW > FEAS_TOL).astype(np.float64)
    M = masks[nz].astype(np.float64)              # (n', P)
    # violations of cell i by candidate k: rows in D with x̂ᵀw < 0 plus rows not in D with > 0
    viol = M.T @ neg + (1.0 - M).T @ pos          # (P, K)
    cell_idx, cand_idx = np.nonzero(viol == 0)
    counts = np.bincount(cell_idx, minlength=masks.shape[1])
    if np.any(counts == 0):
        i = int(np.flatnonzero(counts == 0)[0])
        raise InvalidInputError(
            f"pattern {i} does not define a cell with nonempty interior for this X; pass "
            "patterns produced by sign_patterns(X)."
        )
    splits = np.split(cand_idx, np.cumsum(counts)[:-1])
    rays = [W[:, idx] if (r != 2 or idx.size <= 2) else _drop_interior(W[:, idx])
            for idx in splits]
    return Cells(rays=rays)


def _drop_interior(R: np.ndarray) -> np.ndarray:
    """Keep the extreme columns of a small set of feasible candidate rays (for r = 2: the two
    arc ends; for higher r, candidates are already extreme)."""
    if R.shape[0] != 2 or R.shape[1] <= 2:
        return R
    c = R.mean(axis=1)
    c /= np.linalg.norm(c)
    ang = np.arctan2(c[0] * R[1] - c[1] * R[0], c @ R)
    return R[:, [int(np.argmin(ang)), int(np.argmax(ang))]]


def triangulate(R: np.ndarray) -> list:
    """Split the cone R R^k_+ (r × k, pointed) into simplicial cones with r rays each.

    Returns a list of (r × r) ray matrices whose cones cover cone(R) with disjoint interiors.

    Examples
    --------
    A cone of R² given by four rays is one simplicial cone (its two extreme rays); a square
    pyramid in R³ splits into two:

    >>> import numpy as np
    >>> len(triangulate(np.array([[1.0, 0.8, 0.6, 0.0], [0.0, 0.6, 0.8, 1.0]])))
    1
    >>> R = np.array([[1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
    >>> len(triangulate(R))
    2
    """
    r, k = R.shape
    if k <= r:
        return [R]
    from scipy.spatial import Delaunay

    c = R.sum(axis=1)
    c /= np.linalg.norm(c)
    P = R / (c @ R)                               # points on the affine slice cᵀu = 1
    Q = np.linalg.svd(c[None, :])[2][1:]          # (r−1) × r basis of c⊥
    pts = (Q @ P).T
    if r - 1 == 1:
        order = np.argsort(pts[:, 0])
        return [R[:, [order[0], order[-1]]]]
    tri = Delaunay(pts, qhull_options="QJ Qbb")
    simplices = []
    for s in tri.simplices:
        S = R[:, s]
        if abs(np.linalg.det(S)) > 1e-12:
            simplices.append(S)
    return simplices


def constraint_matrices(Xr: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """A_i = (2D_i − I) Xr stacked as (P, n', r), zero rows of Xr dropped."""
    nz = np.linalg.norm(Xr, axis=1) > 0
    S = 2.0 * masks[nz].T.astype(np.float64) - 1.0           # (P, n')
    return S[:, :, None] * Xr[nz][None, :, :]
