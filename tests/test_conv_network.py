"""ConvReLUNetwork (50), (6): compared with torch's Conv2d network and direct formulas."""

import pickle

import numpy as np
import pytest

from cvxrelu.networks.conv_network import ConvReLUNetwork
from cvxrelu.errors import InvalidInputError, UnsupportedError
from cvxrelu.geometry.patches import patches

CONFIGS = [
    # (C, H, W, kernel, stride, padding, m, c)
    (1, 6, 6, 3, 1, 0, 4, 2),
    (3, 7, 5, (2, 3), (2, 1), (1, 2), 5, 3),
    (2, 8, 8, 3, 2, 1, 3, 1),
]


def _random_net(C, k, s, p, m, c, pooling, seed=0):
    rng = np.random.default_rng(seed)
    kh, kw = (k, k) if isinstance(k, int) else k
    return ConvReLUNetwork(rng.standard_normal((m, C, kh, kw)), rng.standard_normal((m, c)),
                           stride=s, padding=p, pooling=pooling)


@pytest.mark.parametrize("pooling", ["sum", "mean"])
@pytest.mark.parametrize("C,H,W,k,s,p,m,c", CONFIGS)
def test_predict_equals_torch_forward(pooling, C, H, W, k, s, p, m, c):
    torch = pytest.importorskip("torch")
    net = _random_net(C, k, s, p, m, c, pooling)
    x = np.random.default_rng(1).standard_normal((5, C, H, W))
    module = net.to_torch()
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    assert module[0].weight.dtype == torch.float64
    F = net.predict(x)
    assert F.shape == (5, c)
    np.testing.assert_allclose(F, ref, rtol=0, atol=1e-12)


def test_predict_equals_formula_50():
    """f = Σ_k Σ_j (X_k u_j)_+ v_jᵀ with a plain loop over filters and patches."""
    rng = np.random.default_rng(2)
    net = _random_net(2, 3, 1, 1, 3, 2, "sum", seed=3)
    x = rng.standard_normal((4, 2, 5, 5))
    P = patches(x, 3, 1, 1)
    F = np.zeros((4, 2))
    for j in range(net.n_filters):
        u = net.filters[j].reshape(-1)
        for k in range(P.shape[0]):
            F += np.outer(np.maximum(P[k] @ u, 0), net.W2[j])
    np.testing.assert_allclose(net.predict(x), F, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("pooling", ["sum", "mean"])
def test_torch_round_trip_is_exact(pooling):
    pytest.importorskip("torch")
    net = _random_net(3, (2, 3), (2, 1), (1, 0), 4, 2, pooling)
    back = ConvReLUNetwork.from_torch(net.to_torch())
    np.testing.assert_array_equal(back.filters, net.filters)
    np.testing.assert_array_equal(back.W2, net.W2)
    assert back.stride == net.stride and back.padding == net.padding
    assert back.pooling == pooling


def test_from_torch_reads_a_plain_torch_model():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    nn = torch.nn
    module = nn.Sequential(nn.Conv2d(2, 4, (3, 2), stride=2, padding=1, bias=False), nn.ReLU(),
                           nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                           nn.Linear(4, 3, bias=False)).double()
    net = ConvReLUNetwork.from_torch(module)
    assert net.pooling == "mean" and net.kernel_size == (3, 2)
    x = np.random.default_rng(0).standard_normal((3, 2, 7, 6))
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.predict(x), ref, rtol=0, atol=1e-12)


def test_from_torch_rejects_other_architectures():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    with pytest.raises(UnsupportedError, match="bias"):
        ConvReLUNetwork.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(),
                                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                                 nn.Linear(2, 1, bias=False)))
    with pytest.raises(InvalidInputError, match="Sequential"):
        ConvReLUNetwork.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.ReLU(),
                                                 nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                                                 nn.Linear(2, 1, bias=False)))
    with pytest.raises(UnsupportedError, match="dilation"):
        ConvReLUNetwork.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2, bias=False),
                                                 nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                                 nn.Flatten(), nn.Linear(2, 1, bias=False)))


def test_sum_pool_module_pickles():
    pytest.importorskip("torch")
    module = _random_net(1, 2, 1, 0, 2, 1, "sum").to_torch()
    back = ConvReLUNetwork.from_torch(pickle.loads(pickle.dumps(module)))
    assert back.pooling == "sum"


@pytest.mark.parametrize("pooling", ["sum", "mean"])
def test_objective_equals_torch_computation(pooling):
    torch = pytest.importorskip("torch")
    beta = 0.3
    net = _random_net(2, 3, 1, 1, 4, 2, pooling, seed=5)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 2, 5, 6))
    Y = rng.standard_normal((6, 2))
    module = net.to_torch()
    with torch.no_grad():
        F = module(torch.from_numpy(x))
        ref = 0.5 * ((F - torch.from_numpy(Y)) ** 2).sum() + beta / 2 * (
            (module[0].weight ** 2).sum() + (module[4].weight ** 2).sum())
    assert net.objective(x, Y, beta) == pytest.approx(float(ref), rel=1e-12)
    # a 1-D Y is one output column
    one = _random_net(2, 3, 1, 1, 4, 1, pooling, seed=5)
    assert one.objective(x, Y[:, 0], beta) == pytest.approx(
        one.objective(x, Y[:, :1], beta), rel=1e-15)


def test_mean_pooling_is_sum_pooling_rescaled():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 2, 6, 7))
    Y = rng.standard_normal((5, 3))
    mean = _random_net(2, (3, 2), (1, 2), 1, 4, 3, "mean", seed=8)
    total = ConvReLUNetwork(mean.filters, mean.W2, stride=(1, 2), padding=1, pooling="sum")
    K = patches(x, (3, 2), (1, 2), 1).shape[0]
    assert mean.n_patches(6, 7) == K
    # same function: v / K
    np.testing.assert_allclose(mean.predict(x), total.predict(x) / K, rtol=1e-13, atol=1e-13)
    equiv = mean.sum_pooling_equivalent(x.shape)
    assert equiv.pooling == "sum"
    np.testing.assert_allclose(equiv.predict(x), mean.predict(x), rtol=1e-13, atol=1e-13)
    # same objective: images / K with unchanged weights
    assert mean.objective(x, Y, 0.1) == pytest.approx(total.objective(x / K, Y, 0.1), rel=1e-12)


def test_objective_scale_and_pruning():
    rng = np.random.default_rng(9)
    filters = rng.standard_normal((4, 1, 2, 2))
    W2 = rng.standard_normal((4, 2))
    filters[1] = 0.0
    W2[3] = 1e-14
    net = ConvReLUNetwork(filters, W2)
    x = rng.standard_normal((3, 4, 4))  # (n, H, W): one channel
    Y = rng.standard_normal((3, 2))
    wd = 0.5 * (np.sum(filters ** 2) + np.sum(W2 ** 2))
    F = net.predict(x)
    assert net.objective(x, Y, 2.0) == pytest.approx(0.5 * np.sum((F - Y) ** 2) + 2.0 * wd)
    pr = net.pruned(1e-9)
    assert pr.n_filters == 2
    np.testing.assert_allclose(pr.predict(x), F, atol=1e-10)
    bal = net.balanced()
    np.testing.assert_allclose(bal.predict(x), F, rtol=1e-12, atol=1e-12)
    assert bal.weight_decay() == pytest.approx(net.path_norm(), rel=1e-12)
    assert ConvReLUNetwork(filters, np.zeros((4, 2))).pruned().n_filters == 0


def test_patch_weights_round_trip():
    net = _random_net(3, (2, 3), 1, 0, 5, 2, "sum")
    U = net.patch_weights
    assert U.shape == (18, 5)
    back = ConvReLUNetwork.from_patch_weights(U, net.W2, (2, 3), in_channels=3)
    np.testing.assert_array_equal(back.filters, net.filters)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    P = patches(x, (2, 3))
    np.testing.assert_allclose(net.predict(x),
                               np.maximum(P @ U, 0).sum(axis=0) @ net.W2, rtol=1e-13)


def test_invalid_inputs():
    net = _random_net(2, 3, 1, 0, 3, 1, "sum")
    with pytest.raises(InvalidInputError, match="kernel_size"):
        net.predict(np.zeros((2, 2, 2, 2)))
    with pytest.raises(InvalidInputError, match="channels"):
        net.predict(np.zeros((2, 3, 5, 5)))
    with pytest.raises(InvalidInputError, match="rows"):
        net.objective(np.zeros((2, 2, 5, 5)), np.zeros((3, 1)), 1.0)
    with pytest.raises(InvalidInputError, match="beta"):
        net.objective(np.zeros((2, 2, 5, 5)), np.zeros((2, 1)), -1.0)
    with pytest.raises(InvalidInputError, match="filters"):
        ConvReLUNetwork(np.zeros((3, 3, 3)), np.zeros((3, 1)))
    with pytest.raises(InvalidInputError, match="match"):
        ConvReLUNetwork(np.zeros((3, 1, 3, 3)), np.zeros((2, 1)))
    with pytest.raises(InvalidInputError, match="pooling"):
        ConvReLUNetwork(np.zeros((3, 1, 3, 3)), np.zeros((3, 1)), pooling="max")
    with pytest.raises(InvalidInputError, match="stride"):
        ConvReLUNetwork(np.zeros((3, 1, 3, 3)), np.zeros((3, 1)), stride=0)
    with pytest.raises(InvalidInputError, match="finite"):
        ConvReLUNetwork(np.full((3, 1, 3, 3), np.nan), np.zeros((3, 1)))
