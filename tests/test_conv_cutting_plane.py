"""The CNN driver (column generation for program (50)) against independent references:
conv_bidual's exact convex value (h ≤ 3), the primal objective of the returned network (numpy
and torch), the uncompressed stacked oracle, and other networks' objectives."""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.drivers.conv_cutting_plane import _PatchData, conv_beta_max, conv_cutting_plane
from cvxrelu.geometry.oracle import DualOracle

from .conftest import rel


def _torch_objective(module, images, Y, beta):
    import torch

    with torch.no_grad():
        F = module(torch.as_tensor(images, dtype=torch.float64)).numpy()
        decay = sum(float((p ** 2).sum()) for p in module.parameters())
    return 0.5 * float(np.sum((F - Y) ** 2)) + 0.5 * beta * decay


def _check_history(res):
    for rec in res.history:
        assert rec.lower <= rec.upper * (1 + 1e-12)
    lows = [rec.lower for rec in res.history]
    ups = [rec.upper for rec in res.history]
    assert all(b >= a for a, b in zip(lows, lows[1:]))      # best bounds so far
    assert all(b <= a for a, b in zip(ups, ups[1:]))
    assert res.lower <= res.upper


@pytest.mark.parametrize("c, pooling, kernel", [
    (1, "sum", (1, 3)), (1, "mean", (3, 1)), (2, "sum", (3, 1)), (2, "mean", (1, 3))])
def test_equals_conv_bidual_exact_value(rng, c, pooling, kernel):
    images = rng.standard_normal((5, 1, 3, 3))
    Y = rng.standard_normal((5, c))
    beta = 0.1
    f = cr.conv_bidual(images, Y, beta, kernel_size=kernel, pooling=pooling)   # h = 3
    assert f.bound == "exact"
    p = f.solve()
    # tol 1e-7 (10x below the asserted 1e-6): at 1e-8 the driver can stall on rounding (the
    # oracle then points at existing filters); seed: the oracle's warm starts are random
    res = conv_cutting_plane(images, Y, beta, kernel_size=kernel, pooling=pooling, tol=1e-7,
                             progress=False, seed=0)
    assert res.status == "optimal" and res.certified and res.info["oracle_exact"]
    assert rel(res.upper, p) < 1e-6
    # both certificates bracket the CVXPY value (up to the conic solver's accuracy)
    assert res.lower <= p * (1 + 1e-7) and res.upper >= p * (1 - 1e-7)
    assert rel(res.lower, p) < 1e-6
    _check_history(res)
    net = res.network
    assert isinstance(net, cr.ConvReLUNetwork) and net.pooling == pooling
    assert rel(net.objective(images, Y, beta), res.upper) < 1e-10


@pytest.mark.parametrize("pooling", ["sum", "mean"])
def test_network_and_torch_export_attain_upper(rng, pooling):
    pytest.importorskip("torch")
    images = rng.standard_normal((5, 3, 2, 3))          # 3 channels, 1×1 kernel: h = 3
    Y = rng.standard_normal((5, 2))
    beta = 0.05
    res = conv_cutting_plane(images, Y, beta, kernel_size=1, stride=(1, 2), padding=1,
                             pooling=pooling, progress=False)
    assert res.status == "optimal"
    _check_history(res)
    net = res.network
    assert net.stride == (1, 2) and net.padding == (1, 1)
    assert rel(net.objective(images, Y, beta), res.upper) < 1e-10
    assert rel(_torch_objective(net.to_torch(), images, Y, beta), res.upper) < 1e-10
    # the same value through the CVXPY program (50)
    p = cr.conv_bidual(images, Y, beta, kernel_size=1, stride=(1, 2), padding=1,
                       pooling=pooling).solve()
    assert rel(res.upper, p) < 1e-5


def test_compression_is_exact(rng):
    # integer images: many repeated and zero patches
    images = rng.integers(0, 3, size=(7, 2, 4, 4)).astype(float)
    images[0] = 0.0
    Z = rng.standard_normal((7, 2))
    Pk = cr.patches(images, kernel_size=(1, 2), stride=1, padding=1)
    K, n, h = Pk.shape
    data = _PatchData(Pk)
    assert data.rows.shape[0] < K * n
    U = rng.standard_normal((h, 5))
    # features Σ_k (X_k u)_+ against the network's own hidden layer
    net = cr.ConvReLUNetwork.from_patch_weights(U, np.zeros((5, 1)), (1, 2), in_channels=2,
                                                padding=1)
    assert np.allclose(data.features(U), net.hidden(images), rtol=1e-12, atol=1e-12)
    # the compressed oracle's values equal ‖Z̃ᵀ(M u)_+‖ on the full stacked matrix
    M = cr.patch_matrix(Pk)
    full = np.linalg.norm(np.tile(Z, (K, 1)).T @ np.maximum(M @ U, 0.0), axis=0)
    comp = np.linalg.norm(data.aggregate(Z).T @ np.maximum(data.rows @ U, 0.0), axis=0)
    assert np.allclose(comp, full, rtol=1e-12)


def test_compressed_exact_oracle_equals_stacked_oracle(rng):
    images = rng.integers(-1, 2, size=(6, 1, 3, 3)).astype(float)
    Z = rng.standard_normal((6, 2))
    Pk = cr.patches(images, kernel_size=(1, 3))
    data = _PatchData(Pk)
    w_comp = DualOracle(data.rows)(data.aggregate(Z)).value
    w_full = DualOracle(cr.patch_matrix(Pk))(np.tile(Z, (Pk.shape[0], 1))).value
    assert rel(w_comp, w_full) < 1e-10


def test_beta_max_zero_network(rng):
    images = rng.standard_normal((5, 1, 2, 4))
    Y = rng.standard_normal((5, 2))
    b = conv_beta_max(images, Y, kernel_size=(1, 2))
    # exact: the bracket is closed to the oracle's documented tolerance (1e-9 relative)
    assert b.exact and b.lower == pytest.approx(b.upper, rel=1e-9)
    above = conv_cutting_plane(images, Y, 1.01 * b.upper, kernel_size=(1, 2), progress=False)
    assert above.status == "optimal" and above.network.n_filters == 0
    assert rel(above.upper, 0.5 * float(np.sum(Y * Y))) < 1e-12
    assert rel(above.lower, above.upper) < 1e-6
    below = conv_cutting_plane(images, Y, 0.9 * b.lower, kernel_size=(1, 2), progress=False)
    assert below.network.n_filters >= 1 and below.upper < 0.5 * float(np.sum(Y * Y))
    assert above.info["beta_max"] == pytest.approx(b.upper, rel=1e-9)


def test_warm_start_never_worse(rng):
    images = rng.standard_normal((6, 1, 3, 3))
    Y = rng.standard_normal((6, 2))
    beta = 0.1
    short = conv_cutting_plane(images, Y, beta, kernel_size=(1, 3), max_iters=2,
                               progress=False)
    assert short.status == "max_iters"
    again = conv_cutting_plane(images, Y, beta, kernel_size=(1, 3), warm_start=short,
                               progress=False)
    assert again.status == "optimal"
    assert again.upper <= short.upper * (1 + 1e-12)
    assert again.history[0].upper <= short.upper * (1 + 1e-9)
    # any CNN of the same architecture, e.g. a random one, is an upper bound it never exceeds
    rand = cr.ConvReLUNetwork(rng.standard_normal((4, 1, 1, 3)), rng.standard_normal((4, 2)))
    warm = conv_cutting_plane(images, Y, beta, kernel_size=(1, 3), warm_start=rand,
                              max_iters=1, progress=False)
    assert warm.upper <= rand.balanced().objective(images, Y, beta) * (1 + 1e-12)


def test_zero_images_give_zero_network():
    Y = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])
    res = conv_cutting_plane(np.zeros((3, 1, 2, 2)), Y, 0.1, kernel_size=1, progress=False)
    assert res.status == "optimal" and res.network.n_filters == 0
    assert res.upper == res.lower == 0.5 * float(np.sum(Y * Y))


def test_rank4_certified_lower_is_valid():
    # 2×2 kernels (h = 4): heuristic per-round oracle; the certified lower bound (ω̄ from
    # DualOracle.bound) must lie below the exact convex value and below every network
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    images = rng.standard_normal((3, 1, 2, 3))
    Y = rng.standard_normal((3, 2))
    beta = 0.2
    f = cr.conv_bidual(images, Y, beta, kernel_size=2)        # K = 2 patches, 52 patterns
    assert f.bound == "exact"
    p = f.solve()
    res = conv_cutting_plane(images, Y, beta, kernel_size=2, progress=False, seed=0)
    assert not res.info["oracle_exact"] and res.certified
    assert res.lower <= p * (1 + 1e-7) <= res.upper * (1 + 2e-7)
    _check_history(res)
    assert rel(res.network.objective(images, Y, beta), res.upper) < 1e-10
    # the local search finds the optimal filters here (the heuristic oracle alone stops
    # 0.4 % above p*); the certified lower bound is loose until an exact rank-4 ω̄ exists
    assert rel(res.upper, p) < 1e-5
    # an Adam-trained CNN is another upper bound that the certified lower must not exceed
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 20, 2, bias=False).double()
    lin = torch.nn.Linear(20, 2, bias=False).double()
    opt = torch.optim.Adam(list(conv.parameters()) + list(lin.parameters()), lr=1e-2)
    Xt, Yt = torch.as_tensor(images), torch.as_tensor(Y)
    for _ in range(150):
        opt.zero_grad()
        F = lin(torch.relu(conv(Xt)).sum(dim=(2, 3)))
        obj = 0.5 * ((F - Yt) ** 2).sum() + 0.5 * beta * (
            (conv.weight ** 2).sum() + (lin.weight ** 2).sum())
        obj.backward()
        opt.step()
    assert res.lower <= obj.item()


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel_size": 5}, "kernel_size"),
    ({"kernel_size": 1, "pooling": "max"}, "pooling"),
    ({"kernel_size": 1, "tol": -1.0}, "tol"),
    ({"kernel_size": 1, "max_iters": 0}, "max_iters"),
    ({"kernel_size": 1, "oracle": "magic"}, "oracle"),
    ({"kernel_size": 1, "warm_start": "net"}, "warm_start"),
    ({"kernel_size": 2, "warm_start": cr.ConvReLUNetwork(np.ones((2, 1, 1, 1)),
                                                         np.ones((2, 1)))}, "warm_start"),
])
def test_bad_input(kwargs, match):
    images = np.ones((3, 1, 3, 3))
    with pytest.raises(cr.InvalidInputError, match=match):
        conv_cutting_plane(images, np.ones(3), 0.1, progress=False, **kwargs)


def test_exact_oracle_refused_for_rank4_patches():
    images = np.random.default_rng(0).standard_normal((3, 1, 3, 3))
    with pytest.raises(cr.UnsupportedError, match="oracle='auto'"):
        conv_cutting_plane(images, np.ones(3), 0.1, kernel_size=2, oracle="exact",
                           progress=False)


def test_bad_beta_and_targets():
    images = np.ones((3, 1, 3, 3))
    with pytest.raises(cr.InvalidInputError, match="beta"):
        conv_cutting_plane(images, np.ones(3), 0.0, kernel_size=1, progress=False)
    with pytest.raises(cr.InvalidInputError, match="rows"):
        conv_cutting_plane(images, np.ones(4), 0.1, kernel_size=1, progress=False)
    with pytest.raises(cr.InvalidInputError, match="images"):
        conv_cutting_plane(np.ones((3, 3)), np.ones(3), 0.1, kernel_size=1, progress=False)


def test_time_limit_and_no_local_search_keep_valid_bounds(rng):
    images = rng.standard_normal((5, 1, 3, 3))
    Y = rng.standard_normal((5, 2))
    beta = 0.1
    p = conv_cutting_plane(images, Y, beta, kernel_size=(3, 1), tol=1e-8,
                           progress=False).upper
    quick = conv_cutting_plane(images, Y, beta, kernel_size=(3, 1), time_limit=1e-9,
                               progress=False)
    assert quick.status == "time_limit" and quick.iterations == 1
    assert quick.lower <= p * (1 + 1e-7) <= quick.upper * (1 + 1e-7)
    plain = conv_cutting_plane(images, Y, beta, kernel_size=(3, 1), local_search=False,
                               tol=1e-8, progress=False)
    assert plain.status == "optimal" and plain.info["local_rounds"] == 0
    assert rel(plain.upper, p) < 1e-6
    _check_history(plain)


def test_result_follows_the_engine_vocabulary(rng):
    """Status members, the final certificate of Run.finish (info["oracle_bound"]), a balanced
    network whose objective is ``upper``, and a lower bound checked against an independent
    exact oracle on the uncompressed stacked patch matrix at the network's own residual."""
    from cvxrelu.drivers.result import Status, scaled_dual_bound

    images = rng.standard_normal((6, 1, 3, 3))
    Y = rng.standard_normal((6, 2))
    beta = 0.1
    res = conv_cutting_plane(images, Y, beta, kernel_size=(1, 3), progress=False, seed=0)
    assert res.status is Status.OPTIMAL and res.certified and res.exact_oracle
    assert res.certified_rel_gap == (res.upper - res.lower) / abs(res.upper) <= 1e-6
    assert res.info["omega_bound"] is res.info["oracle_bound"]
    assert res.lower >= max(rec.lower for rec in res.history)
    net = res.network
    nu, nv = net.neuron_norms()
    assert net.n_filters >= 1 and np.allclose(nu, nv, rtol=1e-12)       # balanced
    assert rel(net.objective(images, Y, beta), res.upper) < 1e-10
    # ω at the network's residual by the full stacked oracle (exact, h = 3): the dual bound
    # it gives is a certified lower bound too, so it cannot exceed upper and the driver's
    # lower is within tol of it
    Pk = cr.patches(images, kernel_size=(1, 3))
    Zn = Y - net.predict(images)
    omega = DualOracle(cr.patch_matrix(Pk))(np.tile(Zn, (Pk.shape[0], 1))).value
    ref = scaled_dual_bound(Zn, Y, beta, omega)[0]
    assert ref <= res.upper * (1 + 1e-12)
    assert rel(res.lower, ref) < 1e-6


def test_cut_short_rank4_run_keeps_a_valid_certificate():
    """h = 4 stopped by max_iters: status max_iters (a violated filter at the end means the
    run was cut short, never oracle_failed), a message, a certified lower bound below the
    exact convex value of (50) (conv_bidual, all patterns) and heuristic info consistent."""
    from cvxrelu.drivers.result import Status

    rng = np.random.default_rng(1)
    images = rng.standard_normal((3, 1, 2, 3))
    Y = rng.standard_normal((3, 2))
    beta = 0.2
    f = cr.conv_bidual(images, Y, beta, kernel_size=2)
    assert f.bound == "exact"
    p = f.solve()
    res = conv_cutting_plane(images, Y, beta, kernel_size=2, max_iters=2, progress=False,
                             seed=0, local_search=False)
    assert res.status is Status.MAX_ITERS and "max_iters" in res.message
    assert res.certified and res.lower <= p * (1 + 1e-7) <= res.upper * (1 + 1e-7)
    assert res.info["oracle_calls"] == 2 and res.iterations == 2
    h = res.info["heuristic_lower"]
    if np.isfinite(h):
        assert rel(res.info["heuristic_rel_gap"], (res.upper - h) / res.upper) < 1e-12
    else:
        assert res.info["heuristic_rel_gap"] is None
    assert len(res.info["heuristic_history"]) == 2
    _check_history(res)


def test_patch_oracle_brackets_the_stacked_omega(rng):
    """PatchOracle.bound(Z) (the compressed oracle at S Z) brackets ω of the uncompressed
    stacked matrix at Z̃ = [Z; …; Z]: above every sampled filter's value, ω_lo attained."""
    from cvxrelu.drivers.conv_cutting_plane import PatchOracle

    images = rng.integers(-1, 2, size=(5, 1, 3, 3)).astype(float)
    Z = rng.standard_normal((5, 2))
    Pk = cr.patches(images, kernel_size=2)                         # h = 4
    ob = PatchOracle(_PatchData(Pk), seed=0).bound(Z, time_limit=5.0)
    M, Zt = cr.patch_matrix(Pk), np.tile(Z, (Pk.shape[0], 1))
    U = rng.standard_normal((4, 20000))
    U /= np.linalg.norm(U, axis=0)
    sampled = np.linalg.norm(Zt.T @ np.maximum(M @ U, 0.0), axis=0).max()
    at_dir = np.linalg.norm(Zt.T @ np.maximum(M @ ob.direction, 0.0))
    assert rel(at_dir, ob.lower) < 1e-9
    assert sampled <= ob.upper * (1 + 1e-12) and ob.lower <= ob.upper
