"""cells: extreme rays and triangulations of the cells {u : (2D − I) X u ≥ 0}.

References written here from the definitions: a ray set R generates the cell when every ray
is feasible, every sampled point of the cell is a nonnegative combination of R (NNLS, scipy),
and no ray is a nonnegative combination of the others (extremality).
"""

import numpy as np
import pytest
from scipy.optimize import nnls

from cvxrelu.geometry.arrangements import reduce_rank, sign_patterns
from cvxrelu.geometry.cells import candidate_rays, cell_rays, constraint_matrices, triangulate
from cvxrelu.errors import InvalidInputError


def _in_cone(R, p):
    """Relative NNLS residual of p against cone(R)."""
    _, res = nnls(R, p)
    return res / max(np.linalg.norm(p), 1e-300)


def _cell_points(A, rng, k=40):
    """Random points of {u : A u ≥ 0} by rejection."""
    U = rng.standard_normal((A.shape[1], 20000))
    U = U[:, np.all(A @ U >= 0, axis=0)]
    return U[:, :k]


@pytest.mark.parametrize("r,n", [(2, 7), (3, 6)])
def test_rays_generate_each_cell_and_are_extreme(rng, r, n):
    X = rng.standard_normal((n, r))
    arr = sign_patterns(X, method="exact")
    _, Xr = reduce_rank(X)
    cells = cell_rays(Xr, arr.masks)
    A_all = constraint_matrices(Xr, arr.masks)
    assert len(cells.rays) == arr.n_patterns
    checked = 0
    for i, R in enumerate(cells.rays):
        A = A_all[i]
        np.testing.assert_allclose(np.linalg.norm(R, axis=0), 1.0, rtol=1e-12)
        assert np.all(A @ R >= -1e-9 * np.abs(A).max())           # feasible
        for p in _cell_points(A, rng).T:                          # cell ⊆ cone(R)
            assert _in_cone(R, p) < 1e-8
            checked += 1
        for j in range(R.shape[1]):                               # extreme
            others = np.delete(R, j, axis=1)
            if others.shape[1]:
                assert _in_cone(others, R[:, j]) > 1e-6
    assert checked > 10 * arr.n_patterns


def test_constraint_matrices_definition(rng):
    X = rng.standard_normal((5, 2))
    X[2] = 0.0                                                    # zero rows are dropped
    arr = sign_patterns(X)
    A = constraint_matrices(X, arr.masks)
    keep = np.linalg.norm(X, axis=1) > 0
    for i in range(arr.n_patterns):
        D = np.diag(arr.masks[:, i].astype(float))
        ref = ((2 * D - np.eye(5)) @ X)[keep]
        np.testing.assert_array_equal(A[i], ref)


def test_candidate_rays_rank3_are_intersections(rng):
    X = rng.standard_normal((5, 3))
    W = candidate_rays(X)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    on = np.abs(Xn @ W) <= 1e-9
    # every candidate lies on (at least) r − 1 = 2 hyperplanes; all 2·C(5, 2) lines appear
    assert np.all(on.sum(axis=0) >= 2)
    assert W.shape[1] == 2 * 10


@pytest.mark.parametrize("r,k", [(2, 5), (3, 6), (4, 9)])
def test_triangulation_covers_with_disjoint_interiors(rng, r, k):
    R = np.abs(rng.standard_normal((r, k))) + 0.1                # a pointed cone
    R /= np.linalg.norm(R, axis=0)
    simplices = triangulate(R)
    assert all(S.shape == (r, r) for S in simplices)
    W = R @ rng.exponential(size=(k, 200))                      # interior points of cone(R)
    counts = np.zeros(W.shape[1], dtype=int)
    for S in simplices:
        lam = np.linalg.solve(S, W)
        counts += np.all(lam >= -1e-10, axis=0)
    assert np.all(counts >= 1)                                  # covered
    # disjoint interiors: a generic point lies in exactly one simplicial cone
    assert np.mean(counts == 1) > 0.95
    for S in simplices:                                         # each inside cone(R)
        for s in S.T:
            assert _in_cone(R, s) < 1e-9


def test_pattern_that_is_not_a_cell_is_refused(rng):
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    masks = np.ones((3, 1), dtype=bool)          # u1 ≥ 0, u2 ≥ 0, u1 + u2 ≤ 0: only u = 0
    with pytest.raises(InvalidInputError, match="sign_patterns"):
        cell_rays(X, masks)


@pytest.mark.parametrize("delta", [1e-4, 1e-7, 1e-9, 1e-12])
def test_cells_and_arrangement_agree_on_nearly_parallel_hyperplanes(rng, delta):
    # two hyperplanes at angle ~delta: on both sides of the one rank tolerance (RANK_RTOL)
    # the arrangement's vertex lines and the cells' rays must be the same, so every pattern
    # the arrangement returns has its rays
    X = rng.standard_normal((5, 3))
    X[1] = X[0] + delta * np.linalg.norm(X[0]) * rng.standard_normal(3)
    arr = sign_patterns(X, method="exact")
    _, Xr = reduce_rank(X)
    cells = cell_rays(Xr, arr.masks)
    A_all = constraint_matrices(Xr, arr.masks)
    for i, R in enumerate(cells.rays):
        assert R.shape[1] >= 1
        assert np.all(A_all[i] @ R >= -1e-8 * np.abs(A_all[i]).max())


def test_numerical_rank_is_the_one_tolerance():
    from cvxrelu.geometry.arrangements import RANK_RTOL, numerical_rank

    s = np.array([1.0, 10 * RANK_RTOL, 0.1 * RANK_RTOL])
    M = np.diag(s)
    assert numerical_rank(M) == 2
    assert numerical_rank(M) == np.linalg.matrix_rank(M, tol=RANK_RTOL * s.max())
    assert reduce_rank(M)[0].shape[1] == 2          # the rank reduction uses the same test
