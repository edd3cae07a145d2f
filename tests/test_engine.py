"""The column-generation engine (cvxrelu.drivers.engine, .columns, .options).

References are independent: brute-force feature matrices and Gram data built here with
NumPy, the exact rank-2 oracle, p* of the CVXPY bi-dual (12), and the drivers' own networks.
"""

from types import SimpleNamespace

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.drivers.columns import Columns, DenseFeatures, PatchFeatures, distinct_units
from cvxrelu.drivers.conv_cutting_plane import _PatchData
from cvxrelu.drivers.engine import Run, certified_cuts, refine
from cvxrelu.drivers.options import driver_options
from cvxrelu.drivers.result import Status
from cvxrelu.errors import InvalidInputError
from cvxrelu.geometry.oracle import DualOracle
from cvxrelu.geometry.patches import patches


@pytest.fixture(scope="module")
def figure1_problem():
    """Figure 1's data at β = 0.1 and p* of the CVXPY bi-dual (12) (an independent solve)."""
    X, Y = cr.datasets.figure1()
    return X, Y, cr.bidual(X, Y, 0.1).solve()


def _units(rng, r, k):
    U = rng.standard_normal((r, k))
    return U / np.linalg.norm(U, axis=0)


@pytest.mark.parametrize("keep", [False, True])
def test_dense_columns_match_brute_force(keep):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    cols = Columns(DenseFeatures(X), Y, 0.3, keep_features=keep)
    U = _units(rng, 3, 5)
    assert cols.add(U) == 5
    # repeats (any positive scaling) and zero columns are not added again
    assert cols.add(np.hstack([2.0 * U[:, :2], np.zeros((3, 1))])) == 0
    assert cols.add(_units(rng, 3, 2)) == 2
    A = np.maximum(X @ cols.U, 0.0)                      # the reference features
    np.testing.assert_allclose(cols.G, A.T @ A, rtol=1e-12, atol=1e-12 * np.abs(A).max() ** 2)
    np.testing.assert_allclose(cols.B, A.T @ Y, rtol=1e-12, atol=1e-12 * np.abs(A).max())
    cols.solve(accurate=True)
    Z = Y - A @ cols.V
    np.testing.assert_allclose(cols.residual(), Z, rtol=1e-10, atol=1e-12)
    ref = np.linalg.norm(A.T @ Z, axis=1)
    scale = max(ref.max(), 1e-300)
    np.testing.assert_allclose(cols.cut_values(), ref, atol=1e-9 * scale)
    np.testing.assert_allclose(cols.cut_values(Z), ref, atol=1e-9 * scale)
    obj = 0.5 * np.sum(Z * Z) + 0.3 * np.sum(np.linalg.norm(cols.V, axis=1))
    assert np.isclose(cols.upper(Z), obj, rtol=1e-12)
    # the balanced network realizes the master's objective (5)
    net = cols.network(np.eye(3))
    assert np.isclose(net.objective(X, Y, 0.3), obj, rtol=1e-9)


def test_feature_cache_gives_the_brute_force_gram_data_across_adds_and_screens():
    """Columns without ``keep_features`` cache A while n·K ≤ cache_floats, drop it beyond
    and rebuild it when K falls back under the cap: G, B, the cut values and the residual
    equal the brute-force features' at every step, for a never-caching, a crossing and an
    always-caching cap."""
    rng = np.random.default_rng(7)
    n, r, c, beta = 60, 3, 2, 2.0
    X, Y = rng.standard_normal((n, r)), rng.standard_normal((n, c))
    batches = [_units(rng, r, k) for k in (3, 2, 4, 1, 3)]
    caps = {"never": 0, "crossing": n * 6, "always": n * 100}
    runs = {name: Columns(DenseFeatures(X), Y, beta, cache_floats=cap)
            for name, cap in caps.items()}
    cached_seen = {name: set() for name in caps}
    for b in batches:
        for name, cols in runs.items():
            cols.add(b)
            cols.solve(accurate=True)
            cols.screen(cols.cut_values())
            cached_seen[name].add(cols._A is not None)
            A = np.maximum(X @ cols.U, 0.0)             # the reference features
            scale = max(np.abs(A).max(), 1.0)
            np.testing.assert_allclose(cols.G, A.T @ A, rtol=1e-12, atol=1e-12 * scale ** 2)
            np.testing.assert_allclose(cols.B, A.T @ Y, rtol=1e-12, atol=1e-12 * scale)
            np.testing.assert_allclose(cols.A, A, rtol=1e-14, atol=0)
            Z = Y - A @ cols.V
            np.testing.assert_allclose(cols.residual(), Z, rtol=1e-10,
                                       atol=1e-12 * np.abs(Y).max())
            ref = np.linalg.norm(A.T @ Z, axis=1)
            np.testing.assert_allclose(cols.cut_values(Z), ref, rtol=1e-10,
                                       atol=1e-10 * max(ref.max(initial=0.0), 1.0))
        # the three caches hold the same columns and Gram data
        ref_cols = runs["never"]
        for name in ("crossing", "always"):
            np.testing.assert_array_equal(runs[name].U, ref_cols.U)
            np.testing.assert_allclose(runs[name].G, ref_cols.G, rtol=1e-13,
                                       atol=1e-13 * np.abs(ref_cols.G).max(initial=1.0))
            np.testing.assert_allclose(runs[name].B, ref_cols.B, rtol=1e-13,
                                       atol=1e-13 * np.abs(ref_cols.B).max(initial=1.0))
    assert cached_seen == {"never": {False}, "crossing": {False, True}, "always": {True}}


def test_screening_drops_only_zero_and_inactive_columns():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((30, 2)), rng.standard_normal((30, 1))
    cols = Columns(DenseFeatures(X), Y, 5.0)
    cols.add(_units(rng, 2, 6))
    cols.solve(accurate=True)
    vals = cols.cut_values()
    zero = ~np.any(cols.V != 0.0, axis=1)
    before = cols.upper(cols.residual())
    K = cols.K
    cols.screen(vals)
    expected = int(np.sum(zero & (vals < 0.999 * 5.0)))
    assert cols.K == K - expected
    assert np.isclose(cols.upper(cols.residual()), before, rtol=1e-12)


def test_patch_columns_match_the_sum_over_patches():
    rng = np.random.default_rng(2)
    images = rng.standard_normal((5, 1, 3, 3))
    Y = rng.standard_normal((5, 2))
    Pk = patches(images, kernel_size=2)                   # (K, n, h)
    cols = Columns(PatchFeatures(_PatchData(Pk)), Y, 0.1, keep_features=True)
    U = _units(rng, 4, 3)
    assert cols.add(U) == 3
    A = sum(np.maximum(P @ U, 0.0) for P in Pk)           # Σ_k (X_k u)_+
    np.testing.assert_allclose(cols.A, A, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cols.G, A.T @ A, rtol=1e-10, atol=1e-12)


def test_distinct_units_keeps_first_of_each_direction():
    U = np.array([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 3.0]])
    units, norms, idx = distinct_units(U)
    assert idx.tolist() == [0, 3] and norms.tolist() == [1.0, 3.0]
    np.testing.assert_allclose(units, np.eye(2))


def test_certified_cuts_take_every_violated_candidate():
    basis = np.eye(3)[:, :2]          # a rank-2 reduced space inside R³
    cand = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.8], [0.0, 0.0, 0.0]])
    ob = SimpleNamespace(lower=2.0, upper=2.5, direction=np.array([0.0, 1.0, 0.0]),
                         candidates=cand, candidate_values=np.array([1.5, 0.5, 1.2]))
    cuts = certified_cuts(ob, basis, beta=1.0)
    # the best direction and the candidates with values 1.5 and 1.2 (0.5 ≤ β is not a cut)
    np.testing.assert_allclose(cuts, np.array([[0.0, 1.0, 0.6], [1.0, 0.0, 0.8]]))
    old = SimpleNamespace(lower=0.9, upper=2.5, direction=np.array([1.0, 0.0, 0.0]))
    assert certified_cuts(old, basis, beta=1.0).shape == (2, 0)   # no field, no violation


class _TopCandidates:
    """Wraps an exact oracle's bound and adds ``candidates`` (the k best directions of the
    exact oracle, original space) as the ``highrank`` OracleBound field will."""

    def __init__(self, inner, k):
        self.inner, self.k = inner, k

    def __call__(self, Z):
        ob = self.inner.bound(Z)
        res = self.inner(Z, self.k)
        return SimpleNamespace(lower=ob.lower, upper=ob.upper, direction=ob.direction,
                               exact=ob.exact, nodes=ob.nodes, method=ob.method,
                               candidates=res.directions, candidate_values=res.values)


def test_refinement_adds_every_violated_candidate(figure1_problem):
    X, Y, _ = figure1_problem
    beta = 0.1
    inner = DualOracle(X)
    orc = SimpleNamespace(exact=False, rank=inner.rank, basis=inner.basis, Xr=inner.Xr,
                          bound=lambda Z, **kw: _TopCandidates(inner, 6)(Z))
    run = Run(orc, Y, beta, tol=1e-6, max_iters=50, time_limit=None, progress=False,
              desc="test")
    cols = Columns(DenseFeatures(inner.Xr), Y, beta)
    run.bounds.offer_network(cols.upper(Y), lambda: cols.network(inner.basis), Y, False)
    res = inner(Y, 6)
    n_violated = len({tuple(np.round(u, 12)) for u, v in zip(res.directions.T, res.values)
                      if v > beta * (1 + 1e-9)})
    assert n_violated >= 2
    assert refine(run, cols, None, None)
    assert cols.K == n_violated and run.refinements == 1
    assert run.status is Status.MAX_ITERS and run.bounds.certified > -np.inf


def test_refinement_resumes_to_the_certified_optimum(figure1_problem):
    """A blind iterations' oracle (3 fixed directions) whose bound lists candidates: the
    run still reaches p* of the bi-dual (12), certified."""
    from cvxrelu.drivers.engine import kelley

    X, Y, p_star = figure1_problem
    inner = DualOracle(X)
    th = np.array([0.3, 2.4, 4.4])
    fixed = np.vstack([np.cos(th), np.sin(th)])

    def reduced(Z, k=1, warm=None):
        vals = np.linalg.norm(Z.T @ np.maximum(inner.Xr @ fixed, 0.0), axis=0)
        order = np.argsort(-vals)[:k]
        return vals[order], fixed[:, order]

    orc = SimpleNamespace(exact=False, rank=inner.rank, basis=inner.basis, Xr=inner.Xr,
                          reduced=reduced, bound=lambda Z, **kw: _TopCandidates(inner, 8)(Z))
    res = kelley(X, Y, 0.1, orc, 1e-6, 500, 4, None, False, "blind")
    assert res.status == "optimal" and res.certified
    assert res.lower <= p_star * (1 + 1e-7) and p_star <= res.upper * (1 + 1e-7)
    assert res.certified_rel_gap <= 1e-6 and res.info["certified_refinements"] >= 1
    assert np.isclose(res.network.objective(X, Y, 0.1), res.upper, rtol=1e-10)


def test_run_stopping_rule():
    Y = np.ones((3, 1))
    orc = SimpleNamespace(exact=True)
    run = Run(orc, Y, 1.0, tol=1e-6, max_iters=2, time_limit=None, progress=False, desc="t")
    run.bounds.offer_network(1.0, lambda: None, Y, True)
    run.bounds.offer_lower(0.5)
    run.record(0, 2.0)
    assert not run.done()
    run.record(0, 2.0)
    assert run.done() and run.status is Status.MAX_ITERS
    run.bounds.offer_lower(1.0 - 1e-7)
    assert run.done() and run.status is Status.OPTIMAL
    assert [h.lower for h in run.history] == [0.5, 0.5]


def test_options_are_keyword_only(figure1_problem):
    X, Y, _ = figure1_problem
    net = cr.ReLUNetwork(np.ones((X.shape[1], 2)), np.ones((2, Y.shape[1])))
    with pytest.raises(TypeError):
        cr.cutting_plane(X, Y, 0.1, "kelley")
    with pytest.raises(TypeError):
        cr.frank_wolfe(X, Y, 0.1, 1.0)
    with pytest.raises(TypeError):
        cr.certify(net, X, Y, 0.1, "auto")
    from cvxrelu.drivers.loss_certificate import certify_loss
    with pytest.raises(TypeError):
        certify_loss(net, X, Y, 0.1, "squared", "auto")


@pytest.mark.parametrize("kw, name", [
    (dict(tol=0.0), "tol"), (dict(tol=1e-6, max_iters=0), "max_iters"),
    (dict(tol=1e-6, n_cuts=1.5), "n_cuts"), (dict(tol=1e-6, time_limit=-1.0), "time_limit"),
    (dict(tol=1e-6, oracle_time_limit=float("nan")), "oracle_time_limit"),
    (dict(tol=1e-6, oracle_budget=2.5), "oracle_budget"),
    (dict(tol=1e-6, oracle="best"), "oracle")])
def test_driver_options_name_the_bad_argument(kw, name):
    with pytest.raises(InvalidInputError, match=name):
        driver_options(**kw)
    opt = driver_options(tol=1e-6, max_iters=3, n_cuts=2, time_limit=None)
    assert (opt.tol, opt.max_iters, opt.n_cuts, opt.time_limit, opt.oracle) == \
        (1e-6, 3, 2, None, "auto")


@pytest.mark.slow
def test_iris_status_follows_the_certified_gap():
    """Issue 13 item 3: standardized iris, one-hot, β = 1 (rank 4). Was status
    "oracle_failed" with a certified gap of 2e-5–5e-5. The status must follow the
    certified gap; "oracle_failed" only with a certified violated direction (ω_lo > β) and
    no budget left. Reference for soundness: random networks' objectives (5)."""
    from sklearn import datasets

    X, y = datasets.load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Y = np.eye(3)[y]
    res = cr.cutting_plane(X, Y, 1.0, progress=False, seed=0, time_limit=300)
    assert res.certified and 0.0 <= res.lower <= res.upper
    ob = res.info["oracle_bound"]
    if res.status == "optimal":
        assert res.certified_rel_gap <= 1e-6
    elif res.status == "oracle_failed":
        assert ob.lower > 1.0 and res.status in ("oracle_failed",)
    else:
        assert res.status in ("gap", "time_limit", "max_iters", "stalled")
    assert res.certified_rel_gap <= 1e-4        # the target for iris
    rng = np.random.default_rng(0)
    for m in (3, 30):
        net = cr.ReLUNetwork(0.3 * rng.standard_normal((4, m)),
                             0.3 * rng.standard_normal((m, 3)))
        assert res.lower <= net.objective(X, Y, 1.0)


def test_conv_driver_adds_the_certified_candidates(monkeypatch):
    """h = 4 (2×2 kernels): the certified search's violated ``candidates`` become filters.
    Reference: the candidates are the true top directions of ω(S Z) from random search
    (brute force here), and the driver's result stays a real CNN with a certified bound."""
    import importlib

    ccp = importlib.import_module("cvxrelu.drivers.conv_cutting_plane")
    rng = np.random.default_rng(3)
    images = rng.standard_normal((8, 1, 3, 3))
    Y = rng.standard_normal((8, 2))
    seen = []
    original = ccp.DualOracle.bound

    def bound_with_candidates(self, Z, **kw):
        ob = original(self, Z, **kw)
        U = rng.standard_normal((self.basis.shape[0], 4000))
        U /= np.linalg.norm(U, axis=0)
        vals = np.linalg.norm(Z.T @ np.maximum(self.Xr @ (self.basis.T @ U), 0.0), axis=0)
        top = np.argsort(-vals)[:5]
        seen.append((U[:, top], vals[top]))
        return SimpleNamespace(lower=ob.lower, upper=ob.upper, direction=ob.direction,
                               exact=ob.exact, nodes=ob.nodes, method=ob.method,
                               candidates=U[:, top], candidate_values=vals[top])

    monkeypatch.setattr(ccp.DualOracle, "bound", bound_with_candidates)
    added = []
    add = Columns.add

    def spy(self, Unew, Vnew=None):
        added.append(Unew.copy())
        return add(self, Unew, Vnew)

    monkeypatch.setattr(Columns, "add", spy)
    res = ccp.conv_cutting_plane(images, Y, 0.5, kernel_size=2, progress=False, seed=0,
                                 local_search=False, max_iters=5, oracle="heuristic")
    assert seen and res.certified and res.lower <= res.upper
    first = added[0]   # the first global round's cuts: direction + violated candidates
    cand, vals = seen[0]
    assert np.any(vals > 0.5)
    for j in np.flatnonzero(vals > 0.5 * (1 + 1e-9)):
        assert np.max(first.T @ cand[:, j] / np.linalg.norm(first, axis=0)) > 1 - 1e-9
    assert np.isclose(res.network.objective(images, Y, 0.5), res.upper, rtol=1e-9)
