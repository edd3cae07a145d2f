import numpy as np
import pytest

import cvxrelu as cr

from .conftest import rel


def _torch_objective(module, images, Y, beta):
    import torch

    with torch.no_grad():
        F = module(torch.as_tensor(images, dtype=torch.float64)).numpy()
        decay = sum(float((p ** 2).sum()) for p in module.parameters())
    return 0.5 * float(np.sum((F - Y) ** 2)) + 0.5 * beta * decay


@pytest.mark.parametrize("pooling", ["sum", "mean"])
def test_exact_cnn_value_attained_by_exported_torch_module(rng, pooling):
    pytest.importorskip("torch")
    images = rng.standard_normal((8, 2, 3, 3))
    Y = rng.standard_normal((8, 2))
    beta = 0.1
    f = cr.conv_bidual(images, Y, beta, kernel_size=1, pooling=pooling)   # h = 2: all patterns
    assert f.bound == "exact" and f.arrangement.exact
    p = f.solve()
    net = f.network()
    assert isinstance(net, cr.ConvReLUNetwork)
    assert rel(_torch_objective(net.to_torch(), images, Y, beta), p) < 1e-5
    assert rel(net.objective(images, Y, beta), p) < 1e-5


def test_convex_cnn_below_adam_trained_cnn(rng):
    torch = pytest.importorskip("torch")
    images = rng.standard_normal((10, 1, 4, 4))
    Y = rng.standard_normal((10, 2))
    beta, ks = 0.1, (1, 2)
    p = cr.conv_bidual(images, Y, beta, kernel_size=ks).solve()       # h = 2, exact
    best = np.inf
    Xt = torch.as_tensor(images)
    for seed in range(2):
        torch.manual_seed(seed)
        conv = torch.nn.Conv2d(1, 40, ks, bias=False).double()
        lin = torch.nn.Linear(40, 2, bias=False).double()
        opt = torch.optim.Adam(list(conv.parameters()) + list(lin.parameters()), lr=1e-2)
        for _ in range(1500):
            opt.zero_grad()
            F = lin(torch.relu(conv(Xt)).sum(dim=(2, 3)))
            obj = 0.5 * ((F - torch.as_tensor(Y)) ** 2).sum() + 0.5 * beta * (
                (conv.weight ** 2).sum() + (lin.weight ** 2).sum())
            obj.backward()
            opt.step()
        best = min(best, obj.item())
    assert p <= best + 1e-9


def test_digits_sampled_patterns_give_real_upper_bound():
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.flatnonzero(d.target < 2)[:20]
    images = d.images[keep][:, None] / 16.0
    Y = np.eye(2)[d.target[keep]]
    f = cr.conv_bidual(images, Y, 1.0, kernel_size=3, stride=2, n_samples=60, seed=0)
    assert not f.arrangement.exact and f.bound == "upper"
    p = f.solve()
    # the inner form's solution is itself a CNN (attains p); the refit can only improve it
    assert rel(f.network(refit=False).objective(images, Y, 1.0), p) < 1e-5
    assert f.network().objective(images, Y, 1.0) <= p * (1 + 1e-7)


def test_kernel_larger_than_image():
    with pytest.raises(cr.InvalidInputError, match="kernel_size"):
        cr.conv_bidual(np.zeros((2, 1, 3, 3)) + 1.0, np.ones(2), 1.0, kernel_size=5)
