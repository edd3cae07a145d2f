"""Program (79): the bi-dual with general convex losses, against torch-trained networks."""

import cvxpy as cp
import numpy as np
import pytest

import cvxrelu as cr

from .conftest import rel


def _data(rng, n=16):
    X = rng.standard_normal((n, 2))
    labels = (np.arctan2(X[:, 1], X[:, 0]) > 0).astype(int) + (X[:, 0] > 0.5)
    return X, labels


def _torch_loss(name, F, T):
    """Independent torch formulas on the SPEC scale (sums, natural log)."""
    import torch

    if name == "squared":
        return 0.5 * ((F - T) ** 2).sum()
    if name == "cross_entropy":
        return torch.nn.functional.cross_entropy(F, T.argmax(1), reduction="sum")
    if name == "logistic":
        return torch.nn.functional.binary_cross_entropy_with_logits(F, T, reduction="sum")
    if name == "hinge":  # Weston-Watkins: sum over wrong classes of (1 + F_k - F_y)_+
        fy = (F * T).sum(1, keepdim=True)
        return (torch.relu(1 + F - fy) * (1 - T)).sum()
    if name == "huber":
        return torch.nn.functional.huber_loss(F, T, reduction="sum", delta=1.0)
    if name == "absolute":
        return (F - T).abs().sum()
    raise KeyError(name)


def _adam(X, T, beta, name, m=30, steps=1500, seed=0):
    import torch

    torch.manual_seed(seed)
    Xt, Tt = torch.as_tensor(X), torch.as_tensor(T)
    W1 = (torch.randn(X.shape[1], m, dtype=torch.float64) / 2).requires_grad_(True)
    W2 = (torch.randn(m, T.shape[1], dtype=torch.float64) / np.sqrt(m)).requires_grad_(True)
    opt = torch.optim.Adam([W1, W2], lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        obj = _torch_loss(name, torch.relu(Xt @ W1) @ W2, Tt) + 0.5 * beta * (
            (W1 ** 2).sum() + (W2 ** 2).sum())
        obj.backward()
        opt.step()
    with torch.no_grad():
        obj = _torch_loss(name, torch.relu(Xt @ W1) @ W2, Tt) + 0.5 * beta * (
            (W1 ** 2).sum() + (W2 ** 2).sum())
    return float(obj), cr.ReLUNetwork(W1.detach().numpy(), W2.detach().numpy())


@pytest.mark.parametrize("name", ["squared", "cross_entropy", "logistic", "hinge", "huber",
                                  "absolute"])
def test_loss_bidual_exact_and_below_trained(rng, name):
    pytest.importorskip("torch")
    X, labels = _data(rng)
    loss = cr.losses.get_loss(name)
    if name in ("logistic",):
        T = (labels[:, None] > 0).astype(float)
    elif name in ("squared", "huber", "absolute"):
        T = np.eye(3)[labels]
    else:
        T = np.eye(3)[labels]
    beta = 0.1
    f = cr.bidual(X, T, beta, loss=name)
    assert f.bound == "exact"
    p = f.solve()
    net = f.network()
    # recovered network attains the convex value under the same loss (the numpy value)
    assert rel(net.objective(X, T, beta, loss=name), p) < 1e-5
    sgd, sgd_net = _adam(X, T, beta, name)
    assert p <= sgd + 1e-8
    # the torch value and cvxrelu's numpy loss agree on the same network
    assert rel(sgd_net.objective(X, T, beta, loss=name), sgd) < 1e-8
    assert loss.name == name


def test_integer_labels_for_cross_entropy(rng):
    X, labels = _data(rng)
    a = cr.bidual(X, labels, 0.1, loss="cross_entropy").solve()
    b = cr.bidual(X, np.eye(3)[labels], 0.1, loss="cross_entropy").solve()
    assert rel(a, b) < 1e-7


def test_user_callable_loss_and_nonconvex_rejected(rng):
    X, labels = _data(rng)
    Y = np.eye(3)[labels]

    def elastic(F, Y):
        return cp.sum(cp.abs(F - Y)) + 0.5 * cp.sum_squares(F - Y)

    cr.losses.register("elastic_test", elastic)
    try:
        f = cr.bidual(X, Y, 0.1, loss="elastic_test")
        p = f.solve()
        # the numpy value of a user loss is the CVXPY expression evaluated on the network
        net = f.network()
        F = net.predict(X)
        direct = np.abs(F - Y).sum() + 0.5 * ((F - Y) ** 2).sum() + 0.1 * net.weight_decay()
        assert rel(direct, p) < 1e-5
    finally:
        cr.losses.unregister("elastic_test")

    def concave(F, Y):
        return -cp.sum_squares(F - Y)

    with pytest.raises(cr.UnsupportedError, match="convex"):
        cr.bidual(X, Y, 0.1, loss=concave)
