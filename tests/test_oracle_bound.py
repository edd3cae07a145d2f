"""Tests of the certified dual oracle ω_lo ≤ ω(Z) ≤ ω̄ (DualOracle.bound, cvxrelu.geometry.oracle_bnb)
and of the projected-ascent heuristic, against independent references: brute force over 10⁶
random unit directions, the global MINLP solver SCIP (pyscipopt) on the big-M formulation of
ω(Z)², and the old rank-3 cell enumeration."""

import time

import numpy as np
import pytest

from cvxrelu.errors import InvalidInputError
from cvxrelu.geometry.oracle import DualOracle
from cvxrelu.geometry.oracle_ascent import ascent_starts, projected_ascent
from cvxrelu.geometry.oracle_bnb import certified_max


def _brute(X, Z, n_dirs=1_000_000, seed=12345, chunk=100_000):
    """max ‖Zᵀ(X u)_+‖ over n_dirs random unit directions (vectorized, chunked)."""
    rng = np.random.default_rng(seed)
    best = 0.0
    for s in range(0, n_dirs, chunk):
        U = rng.standard_normal((X.shape[1], min(chunk, n_dirs - s)))
        U /= np.linalg.norm(U, axis=0)
        best = max(best, float(np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0).max()))
    return best


def _f(X, Z, u):
    return float(np.linalg.norm(Z.T @ np.maximum(X @ u, 0.0)))


def _instance(n, r, c, seed, d=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, r))
    if d is not None:  # rank r embedded in R^d
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        X = X @ Q[:r]
    Z = rng.standard_normal((n, c))
    return X, Z


@pytest.mark.parametrize("n,r,c,seed", [(24, 4, 1, 0), (24, 4, 3, 1), (30, 4, 3, 2),
                                        (16, 5, 1, 3), (16, 5, 3, 4)])
def test_bound_brackets_brute_force(n, r, c, seed):
    X, Z = _instance(n, r, c, seed)
    b = DualOracle(X, seed=0).bound(Z)
    brute = _brute(X, Z)
    assert b.lower <= b.upper
    assert brute <= b.upper * (1 + 1e-12)  # nothing beats the certified upper bound
    assert b.exact and b.upper - b.lower <= 1e-6 * b.upper
    assert b.lower >= brute * (1 - 1e-9)  # exact: at least the best sampled direction
    assert np.isclose(_f(X, Z, b.direction), b.lower, rtol=1e-12)
    assert np.isclose(np.linalg.norm(b.direction), 1.0)
    assert b.nodes > 0 and b.method == "branch_and_bound"


@pytest.mark.parametrize("n,r,c,seed", [(30, 5, 1, 5), (30, 5, 3, 6)])
def test_bound_brackets_brute_force_rank5_n30(n, r, c, seed):
    X, Z = _instance(n, r, c, seed)
    b = DualOracle(X, seed=0).bound(Z)
    brute = _brute(X, Z, n_dirs=300_000)
    assert brute <= b.upper * (1 + 1e-12)
    assert b.exact and b.upper - b.lower <= 1e-6 * b.upper
    assert b.lower >= brute * (1 - 1e-9)


def test_bound_degenerate_data():
    # duplicated rows, a zero row, opposite rows, rank 4 in R^6
    X, Z = _instance(18, 4, 2, 7, d=6)
    X = np.vstack([X, X[:3], -X[3:5], np.zeros((1, 6))])
    Z = np.vstack([Z, np.random.default_rng(8).standard_normal((6, 2))])
    orc = DualOracle(X, seed=0)
    assert orc.rank == 4
    b = orc.bound(Z)
    brute = _brute(X, Z)
    assert brute <= b.upper * (1 + 1e-12)
    assert b.exact and b.upper - b.lower <= 1e-6 * b.upper
    assert b.lower >= brute * (1 - 1e-9)
    assert b.direction.shape == (6,)
    assert np.isclose(_f(X, Z, b.direction), b.lower, rtol=1e-12)


def _scip_omega(X, Z, time_limit=120.0):
    """ω(Z) by SCIP on the MINLP max ‖Zᵀh‖² s.t. h ≥ Xu, h ≥ 0, h ≤ Xu + M(1 − s),
    h ≤ M s, s binary, ‖u‖² ≤ 1 (an independent global solver)."""
    ps = pytest.importorskip("pyscipopt")
    n, r = X.shape
    m = ps.Model()
    m.hideOutput()
    u = [m.addVar(lb=-1.0, ub=1.0) for _ in range(r)]
    h = []
    for i in range(n):
        M = float(np.linalg.norm(X[i]))
        hi, si = m.addVar(lb=0.0, ub=M), m.addVar(vtype="B")
        xu = ps.quicksum(float(X[i, j]) * u[j] for j in range(r))
        m.addCons(hi >= xu)
        m.addCons(hi <= xu + M * (1 - si))
        m.addCons(hi <= M * si)
        h.append(hi)
    m.addCons(ps.quicksum(v * v for v in u) <= 1.0)
    t = m.addVar(lb=0.0, ub=None)
    g = [ps.quicksum(float(Z[i, k]) * h[i] for i in range(n)) for k in range(Z.shape[1])]
    m.addCons(t <= ps.quicksum(gk * gk for gk in g))
    m.setObjective(t, "maximize")
    m.setParam("limits/time", time_limit)
    m.setParam("limits/gap", 1e-7)
    m.optimize()
    assert m.getStatus() == "optimal"
    return float(np.sqrt(m.getObjVal())), float(np.sqrt(m.getDualbound()))


@pytest.mark.slow
@pytest.mark.parametrize("n,r,c,seed", [(10, 4, 1, 0), (12, 4, 3, 1), (10, 5, 2, 2)])
def test_bound_matches_scip(n, r, c, seed):
    X, Z = _instance(n, r, c, seed)
    b = DualOracle(X, seed=0).bound(Z)
    primal, dual = _scip_omega(X, Z)
    # SCIP's feasibility tolerance (1e-6 on ‖u‖² ≤ 1 and the big-M rows) lets its values
    # exceed ω by ~1e-6 relative; its dual bound is a valid upper bound up to that.
    assert b.upper <= dual * (1 + 1e-5)
    assert primal <= b.upper * (1 + 1e-5)
    assert abs(b.lower - primal) <= 1e-5 * primal


@pytest.mark.parametrize("budget", [1, 5, 40])
def test_bound_anytime_node_budget_is_valid(budget):
    X, Z = _instance(30, 5, 3, 9)
    orc = DualOracle(X, seed=0)
    b = orc.bound(Z, node_budget=budget)
    brute = _brute(X, Z, n_dirs=300_000)
    assert brute <= b.upper * (1 + 1e-12)
    assert b.lower <= b.upper
    assert np.isclose(_f(X, Z, b.direction), b.lower, rtol=1e-12)
    if not b.exact:
        assert "stopped" in b.method or b.method == "spectral"
    # never looser than the spectral bound
    assert b.upper <= np.linalg.norm(Z, 2) * np.linalg.norm(X, 2) * (1 + 1e-9)


def test_bound_anytime_time_limit_is_honoured():
    X, Z = _instance(300, 6, 3, 10)
    orc = DualOracle(X, seed=0)
    t0 = time.perf_counter()
    b = orc.bound(Z, time_limit=0.5)
    elapsed = time.perf_counter() - t0
    assert elapsed < 10.0  # one batch of nodes past the limit at most (generous: 2 noisy cores)
    brute = _brute(X, Z, n_dirs=200_000)
    assert brute <= b.upper * (1 + 1e-12)
    assert b.lower <= b.upper


def test_certified_max_tolerance_and_warm():
    X, Z = _instance(20, 4, 2, 11)
    loose = certified_max(X, Z, tol=1e-2)
    tight = certified_max(X, Z, tol=1e-10)
    assert tight.complete and tight.upper - tight.lower <= 1e-9 * tight.upper
    assert loose.upper >= tight.lower * (1 - 1e-12)  # any tolerance: still an upper bound
    assert loose.upper - loose.lower <= 1e-2 * loose.upper
    # a warm start at the maximizer is kept
    w = certified_max(X, Z, node_budget=1, warm=tight.direction[:, None])
    assert w.lower >= tight.lower * (1 - 1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_rank3_search_equals_enumeration(seed):
    rng = np.random.default_rng(30 + seed)
    n = int(rng.integers(8, 25))
    X = rng.standard_normal((n, 3))
    Z = rng.standard_normal((n, int(rng.integers(1, 4))))
    orc = DualOracle(X)
    res = orc(Z, n_candidates=3)
    ref_dirs = orc._rank3_candidates(Z, 1)  # the old O(n³) cell enumeration
    ref_dirs = ref_dirs / np.linalg.norm(ref_dirs, axis=0)
    ref = float(np.max(np.linalg.norm(Z.T @ np.maximum(orc.Xr @ ref_dirs, 0.0), axis=0)))
    assert res.exact
    assert abs(res.value - ref) <= 1e-9 * ref
    b = orc.bound(Z)
    assert b.lower <= ref * (1 + 1e-12) and ref <= b.upper * (1 + 1e-12)
    assert b.upper - b.lower <= 1e-8 * b.upper


def test_ascent_never_worse_than_its_starts():
    X, Z = _instance(60, 6, 3, 12)
    rng = np.random.default_rng(0)
    U0 = ascent_starts(X, Z, rng, n_random=16)
    f0 = np.linalg.norm(Z.T @ np.maximum(X @ U0, 0.0), axis=0)
    f, U = projected_ascent(X, Z, U0)
    assert np.all(f >= f0 * (1 - 1e-12))
    assert np.allclose(np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0), f)
    assert np.allclose(np.linalg.norm(U, axis=0), 1.0)


def test_heuristic_keeps_warm_directions_and_is_below_bound():
    X, Z = _instance(30, 4, 2, 13)
    orc = DualOracle(X, seed=0)
    W = np.random.default_rng(1).standard_normal((4, 7))  # e.g. a user network's neurons
    res = orc(Z, warm=W)
    assert not res.exact
    fw = orc.values(Z, W / np.linalg.norm(W, axis=0))
    assert res.value >= fw.max() * (1 - 1e-12)
    b = orc.bound(Z)
    assert res.value <= b.upper * (1 + 1e-12)
    # on this instance the ascent finds the certified maximum
    assert res.value >= b.lower * (1 - 1e-6)


def test_bound_input_errors():
    orc = DualOracle(np.random.default_rng(0).standard_normal((10, 4)))
    Z = np.ones((10, 1))
    with pytest.raises(InvalidInputError, match="time_limit"):
        orc.bound(Z, time_limit=-1)
    with pytest.raises(InvalidInputError, match="node_budget"):
        orc.bound(Z, node_budget=0)
    with pytest.raises(InvalidInputError, match="tol"):
        orc.bound(Z, tol=2.0)
    with pytest.raises(InvalidInputError, match="Z must have shape"):
        orc.bound(np.ones((3, 1)))


def test_bound_zero_residual():
    orc = DualOracle(np.random.default_rng(0).standard_normal((10, 4)))
    b = orc.bound(np.zeros((10, 2)))
    assert b.lower == 0.0 and b.upper == 0.0 and b.exact


@pytest.mark.parametrize("r,c,seed", [(3, 1, 0), (4, 3, 1), (5, 2, 2), (8, 3, 3)])
def test_node_relaxation_bound_is_valid(r, c, seed):
    """The per-node bound of the branch and bound is ≥ f at sampled points of every node
    (cones over random boxes on the cube faces, small to whole-face)."""
    from cvxrelu.geometry.oracle_bnb import _Ctx, _Budget, _Level, _prepare

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, r))
    Z = rng.standard_normal((40, c))
    Xh, Zt, slack = _prepare(X, Z)
    lvl = _Level(Xh, Zt, _Ctx(tol=0.0, budget=_Budget(None, None), rng=rng))
    n_nodes = 60
    axis = rng.integers(0, r, n_nodes)
    sgn = rng.choice([-1.0, 1.0], n_nodes)
    half = 10.0 ** rng.uniform(-3, 0, (n_nodes, r))
    C = rng.uniform(-1, 1, (n_nodes, r)) * (1 - half)
    C[np.arange(n_nodes), axis] = sgn
    half[np.arange(n_nodes), axis] = 0.0
    ub, _, _ = lvl.evaluate(C, half)
    for i in range(n_nodes):
        V = C[i] + half[i] * rng.uniform(-1, 1, (4000, r))
        V[:2 ** min(r, 11)] = C[i] + half[i] * rng.choice([-1.0, 1.0], (2 ** min(r, 11), r))
        U = (V / np.linalg.norm(V, axis=1)[:, None]).T
        f = np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0)
        assert f.max() <= (ub[i] + slack) * (1 + 1e-12) + 1e-12


@pytest.mark.parametrize("seed", range(2))
def test_bound_integer_data_many_planes_through_one_point(seed):
    # integer data: many more than r − 1 hyperplanes meet at the same points
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, (25, 4)).astype(float)
    Z = rng.standard_normal((25, 2))
    b = DualOracle(X, seed=0).bound(Z)
    brute = _brute(X, Z, n_dirs=300_000)
    assert brute <= b.upper * (1 + 1e-12)
    assert b.exact and b.upper - b.lower <= 1e-6 * b.upper
    assert b.lower >= brute * (1 - 1e-9)


@pytest.mark.parametrize("n,r,c,seed", [(600, 10, 3, 21), (1200, 40, 10, 22)])
def test_bound_small_time_limit_is_honoured_at_high_rank(n, r, c, seed):
    """bound(Z, time_limit=0.2) at rank ≥ 8 stops in time (the clock is checked inside the
    incumbent ascent and between chunks of nodes) and its ω̄ still dominates attained values:
    a brute-force sample maximum and the heuristic oracle's value."""
    X, Z = _instance(n, r, c, seed)
    orc = DualOracle(X, seed=0)
    t0 = time.perf_counter()
    b = orc.bound(Z, time_limit=0.2)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0  # 0.2 s asked; generous for 2 noisy cores
    assert b.lower <= b.upper
    assert np.isclose(_f(X, Z, b.direction), b.lower, rtol=1e-9)
    brute = _brute(X, Z, n_dirs=100_000)
    heur = DualOracle(X, seed=1)(Z).value
    assert max(brute, heur) <= b.upper * (1 + 1e-12)
    # never looser than the spectral bound
    assert b.upper <= np.linalg.norm(Z, 2) * np.linalg.norm(X, 2) * (1 + 1e-9)


def test_top_eigenpair_of_wide_gram_matches_lapack():
    """_top_eig_gram on wide stacks (c < q: via the c × c G Gᵀ) against eigh of GᵀG."""
    from cvxrelu.geometry.oracle_bnb import _top_eig_gram

    rng = np.random.default_rng(3)
    G = rng.standard_normal((50, 5, 17))
    lam, e, deg = _top_eig_gram(G)
    w, E = np.linalg.eigh(np.swapaxes(G, 1, 2) @ G)
    assert np.allclose(lam, w[:, -1], rtol=1e-10)
    assert np.allclose(np.abs(np.sum(e * E[:, :, -1], axis=1)), 1.0, rtol=1e-8)
    assert not deg.any()


def test_ascent_pruning_and_deadline_keep_attained_values():
    """Early-stopped starts and a past deadline still return attained values, never below
    the starts', and pruning keeps the best start moving."""
    X, Z = _instance(200, 20, 4, 5)
    rng = np.random.default_rng(0)
    U0 = ascent_starts(X, Z, rng, n_random=64)
    f0 = np.linalg.norm(Z.T @ np.maximum(X @ U0, 0.0), axis=0)
    for kw in ({"prune": 0.9}, {"deadline": 0.0}):
        f, U = projected_ascent(X, Z, U0, **kw)
        assert np.allclose(f, np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0),
                           rtol=1e-9)
        assert np.all(f >= f0 * (1 - 1e-12))
    fp, _ = projected_ascent(X, Z, U0, prune=0.9)
    fd, _ = projected_ascent(X, Z, U0, deadline=0.0)
    assert fp.max() >= fd.max() * (1 - 1e-12)


@pytest.mark.parametrize("r,c,seed", [(4, 1, 0), (5, 3, 1), (6, 2, 2)])
def test_outputwise_node_bound_alone_is_valid(r, c, seed, monkeypatch):
    """The third (output-wise, sign-aware) node bound on its own is ≥ f at sampled points of
    every node (it is min-ed with the other two, so test_node_relaxation_bound_is_valid alone
    would not see it being too low where it is not the smallest)."""
    from cvxrelu.geometry.oracle_bnb import _Ctx, _Budget, _Level, _prepare

    seen = []
    orig = _Level._outputwise_bound

    def spy(self, *a):
        out = orig(self, *a)
        seen.append(out)
        return out

    monkeypatch.setattr(_Level, "_outputwise_bound", spy)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, r))
    Z = rng.standard_normal((40, c))
    Xh, Zt, slack = _prepare(X, Z)
    lvl = _Level(Xh, Zt, _Ctx(tol=0.0, budget=_Budget(None, None), rng=rng, outputwise=True))
    n_nodes = 60
    axis = rng.integers(0, r, n_nodes)
    half = 10.0 ** rng.uniform(-2.5, -0.3, (n_nodes, r))
    C = rng.uniform(-1, 1, (n_nodes, r)) * (1 - half)
    C[np.arange(n_nodes), axis] = rng.choice([-1.0, 1.0], n_nodes)
    half[np.arange(n_nodes), axis] = 0.0
    lvl.evaluate(C, half)
    (ub3,) = seen
    assert ub3.shape == (n_nodes,)
    for i in range(n_nodes):
        V = C[i] + half[i] * rng.uniform(-1, 1, (4000, r))
        V[:2 ** r] = C[i] + half[i] * rng.choice([-1.0, 1.0], (2 ** r, r))
        U = (V / np.linalg.norm(V, axis=1)[:, None]).T
        f = np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0)
        assert f.max() <= (ub3[i] + slack) * (1 + 1e-12) + 1e-12
