"""TwoLayerNetwork: the shared part of the dense and convolutional networks.

Independent references: a convolutional net with 1×1 kernels on 1×1 images is a dense net
(same u_j, v_j), so both subclasses must agree on everything the base computes; the objective
is checked against a numpy expression of (5) written here; balancing against its definition.
"""

import numpy as np
import pytest

from cvxrelu import ConvReLUNetwork, ReLUNetwork
from cvxrelu.errors import InvalidInputError
from cvxrelu.networks.network_base import TwoLayerNetwork, as_output_weights


def _pair(rng, d=3, m=5, c=2):
    W1 = rng.standard_normal((d, m))
    W2 = rng.standard_normal((m, c))
    dense = ReLUNetwork(W1, W2)
    conv = ConvReLUNetwork(W1.T.reshape(m, d, 1, 1), W2)   # 1×1 kernel, d channels
    return dense, conv


def test_both_networks_are_two_layer_networks(rng):
    dense, conv = _pair(rng)
    assert isinstance(dense, TwoLayerNetwork) and isinstance(conv, TwoLayerNetwork)
    np.testing.assert_array_equal(conv.neuron_weights, dense.neuron_weights)


@pytest.mark.parametrize("loss", ["squared", "logistic", "cross_entropy"])
def test_dense_and_1x1_conv_agree(rng, loss):
    dense, conv = _pair(rng)
    X = rng.standard_normal((7, 3))
    images = X[:, :, None, None]
    Y = {"squared": rng.standard_normal((7, 2)), "logistic": rng.choice([-1.0, 1.0], (7, 2)),
         "cross_entropy": rng.integers(0, 2, size=7)}[loss]
    np.testing.assert_allclose(conv.predict(images), dense.predict(X), rtol=1e-13)
    for f in ("weight_decay", "path_norm"):
        assert getattr(conv, f)() == pytest.approx(getattr(dense, f)(), rel=1e-14)
    assert conv.objective(images, Y, 0.3, loss) == pytest.approx(
        dense.objective(X, Y, 0.3, loss), rel=1e-13)


def test_objective_is_formula_5(rng):
    dense, conv = _pair(rng)
    X, Y, beta = rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), 0.7
    F = np.maximum(X @ dense.W1, 0) @ dense.W2
    ref = 0.5 * np.sum((F - Y) ** 2) + beta / 2 * (np.sum(dense.W1 ** 2) + np.sum(dense.W2 ** 2))
    assert dense.objective(X, Y, beta) == pytest.approx(ref, rel=1e-13)
    assert conv.objective(X[:, :, None, None], Y, beta) == pytest.approx(ref, rel=1e-13)


def test_balanced_definition(rng):
    for net in _pair(rng):
        b = net.balanced()
        assert type(b) is type(net)
        nu, nv = b.neuron_norms()
        np.testing.assert_allclose(nu, nv, rtol=1e-12)
        # same function, weight decay down to the path norm (25)
        assert b.weight_decay() == pytest.approx(net.path_norm(), rel=1e-12)
        assert b.weight_decay() <= net.weight_decay() * (1 + 1e-12)


def test_balanced_and_pruned_keep_the_function(rng):
    dense, conv = _pair(rng, m=6)
    # make neuron 0 dead (u = 0) and neuron 1 negligible
    for net in (dense, conv):
        U = net.neuron_weights.copy()
        W2 = net.W2.copy()
        U[:, 0] = 0.0
        W2[1] *= 1e-14
        net2 = net._from_neurons(U, W2)
        X = rng.standard_normal((5, 3))
        inp = X if isinstance(net, ReLUNetwork) else X[:, :, None, None]
        assert net2.balanced().n_neurons == 5
        p = net2.pruned(1e-9)
        assert p.n_neurons == 4
        np.testing.assert_allclose(p.predict(inp), net2.predict(inp), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(net2.balanced().predict(inp), net2.predict(inp), rtol=1e-12)
        empty = net._from_neurons(np.zeros_like(U), W2).pruned()
        assert empty.n_neurons == 0 and empty.n_outputs == 2
        assert np.all(empty.predict(inp) == 0)


def test_as_output_weights():
    np.testing.assert_array_equal(as_output_weights([1.0, 2.0]), [[1.0], [2.0]])
    for bad in (None, np.ones((2, 0)), np.ones((2, 2, 2)), [[np.nan]]):
        with pytest.raises(InvalidInputError, match="W2"):
            as_output_weights(bad)


def test_neuron_count_mismatch_names_both_layers(rng):
    with pytest.raises(InvalidInputError, match="W1.*W2"):
        ReLUNetwork(np.ones((2, 3)), np.ones((4, 1)))
    with pytest.raises(InvalidInputError, match="filters.*W2"):
        ConvReLUNetwork(np.ones((3, 1, 2, 2)), np.ones((4, 1)))
    with pytest.raises(InvalidInputError, match="W2"):
        ConvReLUNetwork(np.ones((3, 1, 2, 2)), np.full((3, 1), np.inf))
    for bad in (None, [[[["a"]]]], np.ones((1, 1, 1, 1)) * 1j):
        with pytest.raises(InvalidInputError, match="filters"):
            ConvReLUNetwork(bad, np.ones((1, 1)))


def test_torch_round_trip_both(rng):
    torch = pytest.importorskip("torch")
    dense, conv = _pair(rng)
    X = rng.standard_normal((4, 3))
    for net, inp in ((dense, X), (conv, X[:, :, None, None])):
        model = net.to_torch()
        assert all(p.dtype == torch.float64 for p in model.parameters())
        out = model(torch.as_tensor(inp)).detach().numpy()
        np.testing.assert_allclose(out, net.predict(inp), rtol=1e-12, atol=1e-14)
        back = type(net).from_torch(model)
        np.testing.assert_array_equal(back.neuron_weights, net.neuron_weights)
        np.testing.assert_array_equal(back.W2, net.W2)
