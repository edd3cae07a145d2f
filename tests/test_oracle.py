"""Tests of cone_pca (2)/(3) and the dual oracle of (11) against independent references:
brute force over fine grids of the sphere, the SDP relaxation (tight for r ≤ 4), and
per-pattern enumeration over the exact hyperplane arrangement."""

import numpy as np
import pytest

from cvxrelu.errors import InvalidInputError, UnsupportedError
from cvxrelu.geometry.oracle import DualOracle, cone_pca, dual_oracle


def _circle(N=400_000):
    th = np.linspace(0.0, 2 * np.pi, N, endpoint=False)
    return np.vstack([np.cos(th), np.sin(th)])


def _sphere(N=600):
    """A fine latitude-longitude grid on S² (about 2N² points)."""
    th = np.linspace(0.0, np.pi, N)
    ph = np.linspace(0.0, 2 * np.pi, 2 * N, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing="ij")
    return np.vstack([np.sin(T).ravel() * np.cos(P).ravel(),
                      np.sin(T).ravel() * np.sin(P).ravel(), np.cos(T).ravel()])


def _random_cone(rng, r, p):
    """p constraint rows with a common interior direction (a nonempty, pointed-ish cone)."""
    u0 = rng.standard_normal(r)
    u0 /= np.linalg.norm(u0)
    A = rng.standard_normal((p, r))
    A += (0.3 - A @ u0)[:, None] * u0  # a_k·u0 = 0.3 > 0
    return A


def _brute_cone(M, A, U):
    ok = np.all(A @ U >= 0, axis=0)
    Uf = U[:, ok]
    return float(np.max(np.einsum("in,ij,jn->n", Uf, M, Uf)))


@pytest.mark.parametrize("seed", range(6))
def test_cone_pca_exact_vs_grid_d2(seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((2, 2))
    M = M + M.T  # indefinite in general
    A = _random_cone(rng, 2, int(rng.integers(1, 5)))
    u, val = cone_pca(M, A)
    assert np.isclose(np.linalg.norm(u), 1.0)
    assert np.all(A @ u >= -1e-9)
    assert np.isclose(u @ M @ u, val)
    N = 400_000
    brute = _brute_cone(M, A, _circle(N))
    assert brute <= val + 1e-9
    # maxima at a cone boundary are only first-order accurate on a grid of spacing 2π/N
    assert val - brute <= 4 * np.linalg.norm(M, 2) * 2 * np.pi / N


@pytest.mark.parametrize("seed", range(4))
def test_cone_pca_exact_vs_grid_d3(seed):
    rng = np.random.default_rng(10 + seed)
    M = rng.standard_normal((3, 3))
    M = M + M.T
    A = _random_cone(rng, 3, int(rng.integers(2, 6)))
    u, val = cone_pca(M, A)
    assert np.all(A @ u >= -1e-9)
    brute = _brute_cone(M, A, _sphere())
    assert brute <= val + 1e-9
    assert val - brute <= 4 * np.linalg.norm(M, 2) * np.pi / 600  # grid spacing ~ π/600


@pytest.mark.parametrize("r,seed", [(2, 0), (3, 1), (3, 2), (4, 3)])
def test_cone_pca_exact_matches_relaxation(r, seed):
    # the relaxation (3) is tight for r <= 4 (Burer; Kogan & Berman): an independent check
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((r, r))
    M = G @ G.T
    A = _random_cone(rng, r, 5)
    _, val = cone_pca(M, A)
    _, val_relax = cone_pca(M, A, method="relaxation")
    assert val_relax >= val - 1e-6 * val
    assert val_relax - val <= 1e-5 * val


def test_cone_pca_unconstrained_is_top_eigenvalue():
    rng = np.random.default_rng(3)
    G = rng.standard_normal((4, 4))
    M = G + G.T
    _, val = cone_pca(M, np.zeros((0, 4)))
    assert np.isclose(val, np.linalg.eigvalsh(M)[-1])


def test_cone_pca_errors():
    with pytest.raises(InvalidInputError, match="square"):
        cone_pca(np.zeros((2, 3)), np.zeros((1, 3)))
    with pytest.raises(InvalidInputError, match="A must have shape"):
        cone_pca(np.eye(2), np.zeros((1, 3)))
    with pytest.raises(InvalidInputError, match="no unit vector"):
        cone_pca(np.eye(2), np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]))
    with pytest.raises(InvalidInputError, match="method"):
        cone_pca(np.eye(2), np.eye(2), method="bogus")
    with pytest.raises(UnsupportedError, match="faces"):
        cone_pca(np.eye(6), np.random.default_rng(0).standard_normal((40, 6)), max_faces=10)


def _oracle_brute_d2(X, Z):
    return float(np.max(np.linalg.norm(Z.T @ np.maximum(X @ _circle(), 0.0), axis=0)))


@pytest.mark.parametrize("seed", range(5))
def test_dual_oracle_rank2_vs_grid(seed):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(2, 40)), int(rng.integers(1, 5))
    X = rng.standard_normal((n, 2))
    Z = rng.standard_normal((n, c))
    res = DualOracle(X)(Z, n_candidates=4)
    brute = _oracle_brute_d2(X, Z)
    assert res.exact
    assert brute <= res.value + 1e-12
    assert res.value - brute <= 4 * np.linalg.norm(X) * np.linalg.norm(Z) * 2 * np.pi / 4e5
    # the value is attained at the returned direction, candidates are sorted and distinct
    assert np.isclose(np.linalg.norm(Z.T @ np.maximum(X @ res.direction, 0)), res.value)
    assert np.all(np.diff(res.values) <= 1e-12)
    assert np.allclose(np.linalg.norm(res.directions, axis=0), 1.0)


def _oracle_by_patterns(X, Z):
    """max_i sqrt(cone_pca(M_i, A_i)) over the exact arrangement (independent reference)."""
    from cvxrelu.geometry.arrangements import sign_patterns

    arr = sign_patterns(X, method="exact")
    Xr = X @ arr.basis
    best = 0.0
    for i in range(arr.masks.shape[1]):
        D = arr.masks[:, i].astype(float)
        G = Z.T @ (D[:, None] * Xr)
        A = (2 * D - 1)[:, None] * Xr
        _, val = cone_pca(G.T @ G, A)
        best = max(best, np.sqrt(max(val, 0.0)))
    return best


@pytest.mark.parametrize("d,seed", [(2, 0), (2, 1), (3, 2), (3, 3)])
def test_dual_oracle_vs_pattern_enumeration(d, seed):
    rng = np.random.default_rng(seed)
    n = 9 if d == 3 else 15
    X = rng.standard_normal((n, d))
    Z = rng.standard_normal((n, 3))
    res = DualOracle(X)(Z)
    ref = _oracle_by_patterns(X, Z)
    assert res.exact
    assert abs(res.value - ref) <= 1e-8 * ref


@pytest.mark.parametrize("seed", range(3))
def test_dual_oracle_rank3_vs_grid(seed):
    rng = np.random.default_rng(20 + seed)
    X = rng.standard_normal((12, 3))
    Z = rng.standard_normal((12, 2))
    res = dual_oracle(X, Z)
    U = _sphere(500)
    brute = float(np.max(np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0)))
    assert brute <= res.value + 1e-12
    assert res.value - brute <= 2 * np.linalg.norm(X) * np.linalg.norm(Z) * np.pi / 500


def test_dual_oracle_rank_reduction_and_zero_rows():
    rng = np.random.default_rng(5)
    X2 = rng.standard_normal((20, 2))
    X2[[3, 7]] = 0.0  # zero rows contribute nothing (as in the spiral)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    X = X2 @ Q[:2]  # rank 2 in R^5
    Z = rng.standard_normal((20, 3))
    orc = DualOracle(X)
    assert orc.rank == 2 and orc.exact
    res = orc(Z)
    assert res.direction.shape == (5,)
    brute = _oracle_brute_d2(X2, Z)
    assert brute <= res.value + 1e-12
    assert res.value - brute <= 4 * np.linalg.norm(X) * np.linalg.norm(Z) * 2 * np.pi / 4e5
    assert np.isclose(orc.values(Z, res.direction)[0], res.value)


def test_dual_oracle_rank1_and_zero():
    X = np.array([[1.0], [-2.0], [0.5]])
    Z = np.array([[1.0], [1.0], [-1.0]])
    # u = +1: relu(X) = (1, 0, .5) -> |1 - .5| = .5 ; u = -1: relu(-X) = (0, 2, 0) -> 2
    assert np.isclose(DualOracle(X)(Z).value, 2.0)
    assert DualOracle(np.zeros((3, 2)))(Z).value == 0.0


def test_heuristic_oracle_is_labelled_and_attained():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    Z = rng.standard_normal((30, 2))
    orc = DualOracle(X, seed=0)
    assert orc.rank == 5 and not orc.exact and orc.method == "heuristic"
    res = orc(Z)
    assert not res.exact
    assert np.isclose(orc.values(Z, res.direction)[0], res.value)
    # at least as good as random sampling of directions
    U = rng.standard_normal((5, 20000))
    U /= np.linalg.norm(U, axis=0)
    assert res.value >= np.max(orc.values(Z, U)) * (1 - 1e-2)
    with pytest.raises(UnsupportedError, match="rank"):
        DualOracle(X, method="exact")


def test_dual_oracle_input_errors():
    orc = DualOracle(np.eye(3))
    with pytest.raises(InvalidInputError, match="Z must have shape"):
        orc(np.zeros((4, 1)))
    with pytest.raises(InvalidInputError, match="NaN"):
        orc(np.full((3, 1), np.nan))
    with pytest.raises(InvalidInputError, match="X must be a 2-D"):
        DualOracle(np.zeros(3))
    with pytest.raises(InvalidInputError, match="method"):
        DualOracle(np.eye(3), method="fast")


@pytest.mark.parametrize("seed", range(4))
def test_top_arcs_matches_arc_values(seed):
    """The transcendental-free closed form of _Circle.top_arcs equals the angle formula of
    arc_values (independent code path) on the m best arcs, including data with few rows
    (arcs longer than π/2) and duplicated rows (zero-length arcs)."""
    from cvxrelu.geometry.oracle import _Circle

    rng = np.random.default_rng(100 + seed)
    n = [2, 3, 50, 2000][seed]
    X = rng.standard_normal((n, 2))
    if n > 3:
        X[n // 2:n // 2 + 5] = X[:5]  # duplicated rows: events at equal angles
    Z = rng.standard_normal((n, 3))
    circle = _Circle(X)
    val, theta = circle.arc_values(Z[circle.keep])
    m = min(16, val.size)
    top_v, top_t = circle.top_arcs(Z[circle.keep], m)
    ref = np.sort(val)[::-1][:m]
    assert np.allclose(top_v, ref, rtol=1e-12, atol=1e-12 * ref[0])
    # each returned angle attains its value (‖Zᵀ(Xu)_+‖² at u = (cos θ, sin θ))
    U = np.vstack([np.cos(top_t), np.sin(top_t)])
    att = np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0) ** 2
    assert np.allclose(att, top_v, rtol=1e-9, atol=1e-12 * ref[0])


def _rank3_data(n, seed, c=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    Z = rng.standard_normal((n, c))
    return X, Z


def test_rank3_auto_with_many_rows_is_a_labelled_heuristic():
    """Above RANK3_EXACT_ROWS rows, method='auto' is the ascent per call (exact False): its
    values are attained and never above the exact search's ω (independent path:
    method='exact'); bound() still pins ω down exactly."""
    from cvxrelu.geometry.oracle import RANK3_EXACT_ROWS

    X, Z = _rank3_data(RANK3_EXACT_ROWS + 20, 7)
    heur = DualOracle(X, seed=0)
    exact = DualOracle(X, method="exact", seed=0)
    assert not heur.exact and exact.exact
    assert DualOracle(X[:RANK3_EXACT_ROWS]).exact
    ref = exact(Z)
    res = heur(Z, n_candidates=4)
    att = np.linalg.norm(Z.T @ np.maximum(X @ res.directions, 0.0), axis=0)
    assert np.allclose(att, res.values, rtol=1e-12)
    assert res.value <= ref.value * (1 + 1e-12)
    assert res.value >= 0.5 * ref.value  # a real search, not a placeholder
    b = heur.bound(Z)
    assert b.exact and b.lower <= ref.value * (1 + 1e-12) <= b.upper * (1 + 1e-12)
    assert b.upper - b.lower <= 1e-8 * b.upper


def test_rank3_heuristic_falls_back_to_the_complete_search():
    """When nothing found beats the given directions (here: the global maximizer itself
    and a worse one), the complete search runs inside the call: ω is returned."""
    from cvxrelu.geometry.oracle import RANK3_EXACT_ROWS

    X, Z = _rank3_data(RANK3_EXACT_ROWS + 40, 11)
    orc = DualOracle(X, seed=1)
    ref = DualOracle(X, method="exact", seed=0)(Z)
    warm = np.column_stack([ref.direction, -ref.direction])
    vals, Ur = orc.reduced(Z, 4, orc.basis.T @ warm)
    assert not orc.exact
    assert abs(vals[0] - ref.value) <= 1e-10 * ref.value


@pytest.mark.parametrize("d,n", [(2, 80), (3, 60)])
def test_exact_oracle_cuts_are_separated(d, n):
    """The (at most k) cuts of one exact call are pairwise separated (uᵀw < 1 − 1e-3) and
    the first one attains ω (brute force over the circle for d = 2, the branch and bound's bracket
    for d = 3)."""
    rng = np.random.default_rng(3 + d)
    X = rng.standard_normal((n, d))
    Z = rng.standard_normal((n, 2))
    orc = DualOracle(X, seed=0)
    res = orc(Z, n_candidates=8)
    assert res.exact and res.directions.shape[1] >= 1
    G = res.directions.T @ res.directions
    np.fill_diagonal(G, -1.0)
    assert G.max() < 1 - 1e-3
    if d == 2:
        ref = _oracle_brute_d2(X, Z)
        assert ref <= res.value + 1e-12
        assert res.value - ref <= 4 * np.linalg.norm(X) * np.linalg.norm(Z) * 2 * np.pi / 4e5
    else:
        b = orc.bound(Z)
        assert b.lower * (1 - 1e-10) <= res.value <= b.upper * (1 + 1e-12)


@pytest.mark.slow
def test_cutting_plane_rank3_many_rows_ascent_path_is_certified():
    """Rank-3 data above RANK3_EXACT_ROWS: the driver runs the ascent per iteration and
    certifies with bound(). Independent reference: the same problem with the exact oracle
    per call (oracle='exact'); each run's certified lower bound lies below the other's
    network objective, and both reach the 1e-6 certified gap."""
    import cvxrelu as cr
    from cvxrelu.geometry.oracle import RANK3_EXACT_ROWS

    rng = np.random.default_rng(0)
    n = RANK3_EXACT_ROWS + 100
    X = rng.standard_normal((n, 3))
    Y = np.maximum(X @ rng.standard_normal((3, 6)), 0.0) @ rng.standard_normal((6, 2))
    Y += 0.1 * rng.standard_normal(Y.shape)
    fast = cr.cutting_plane(X, Y, 1.0, tol=1e-6, progress=False, seed=0)
    ref = cr.cutting_plane(X, Y, 1.0, tol=1e-6, progress=False, seed=0, oracle="exact")
    assert not fast.exact_oracle and ref.exact_oracle
    for res in (fast, ref):
        assert res.status.value == "optimal" and res.certified
        assert res.certified_rel_gap <= 1e-6
    assert fast.lower <= ref.upper * (1 + 1e-12) and ref.lower <= fast.upper * (1 + 1e-12)
    assert np.isclose(fast.network.objective(X, Y, 1.0), fast.upper, rtol=1e-9)


@pytest.mark.parametrize("r", [2, 3])
@pytest.mark.parametrize("eps", [1e-9, 1e-12])
def test_rank_reduction_slack_keeps_the_bound_valid(r, eps):
    """The rank reduction drops singular values ≤ RANK_RTOL·σ₁ (the one rank tolerance); the
    certified ω̄ adds ‖Z‖₂σ_{r+1}, so it stays ≥ ω(Z) on X itself. Here Z lives on the row
    that only the dropped direction sees: ω on the reduced data is 0, ω(Z) = eps exactly
    (X e_{r+1} = eps on that row, by hand)."""
    from cvxrelu.geometry.arrangements import RANK_RTOL

    rng = np.random.default_rng(r)
    A = rng.standard_normal((12, r))
    X = np.zeros((13, r + 1))
    X[:12, :r] = A
    X[12, r] = eps
    Z = np.zeros((13, 2))
    Z[12] = [0.6, 0.8]                       # ‖Z‖₂ = 1
    orc = DualOracle(X)
    sv = np.linalg.svd(X, compute_uv=False)
    assert eps < RANK_RTOL * sv[0] and orc.rank == r
    assert orc.discarded == pytest.approx(eps, rel=1e-6)
    ob = orc.bound(Z, time_limit=5.0)
    assert ob.lower <= eps * (1 + 1e-9)
    assert ob.upper >= eps                   # without the slack it would be 0 < ω(Z)
    assert ob.upper <= 2 * eps
    # an exact per-call value is certified through value_bound
    if orc.exact:
        assert orc.value_bound(Z, orc(Z).value) >= eps
    # data of exact rank: no slack at all
    assert DualOracle(A).slack(Z[:12]) == 0.0
