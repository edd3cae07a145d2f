"""network: the dense network ReLUNetwork, f(X) = relu(X W1) W2, against numpy written here."""

import numpy as np
import pytest

from cvxrelu.errors import InvalidInputError, UnsupportedError
from cvxrelu.networks.network import ReLUNetwork


def test_predict_and_hidden_are_the_formula(rng):
    W1, W2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    net = ReLUNetwork(W1, W2)
    X = rng.standard_normal((6, 3))
    H = np.maximum(X @ W1, 0)
    np.testing.assert_array_equal(net.hidden(X), H)
    np.testing.assert_allclose(net.predict(X), H @ W2, rtol=1e-15)
    assert (net.n_features, net.n_neurons, net.n_outputs) == (3, 4, 2)
    assert repr(net) == "ReLUNetwork(d=3, m=4, c=2)"


def test_vector_second_layer_is_one_output(rng):
    net = ReLUNetwork(rng.standard_normal((2, 3)), rng.standard_normal(3))
    assert net.W2.shape == (3, 1) and net.n_outputs == 1


def test_input_checks(rng):
    net = ReLUNetwork(rng.standard_normal((2, 3)), rng.standard_normal((3, 1)))
    with pytest.raises(InvalidInputError, match="features"):
        net.predict(np.ones((4, 3)))
    with pytest.raises(InvalidInputError, match="columns"):
        net.objective(np.ones((4, 2)), np.ones((4, 2)), 0.1)
    with pytest.raises(InvalidInputError, match="W1"):
        ReLUNetwork(np.zeros((0, 3)), np.zeros((3, 1)))


def test_from_torch_refuses_other_architectures():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    with pytest.raises(UnsupportedError, match="bias"):
        ReLUNetwork.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
    with pytest.raises(InvalidInputError, match="Sequential"):
        ReLUNetwork.from_torch(nn.Sequential(nn.Linear(2, 3, bias=False), nn.Tanh(),
                                             nn.Linear(3, 1, bias=False)))
    with pytest.raises(InvalidInputError, match="Sequential"):
        ReLUNetwork.from_torch("not a module")


def test_to_torch_dtype_and_values(rng):
    torch = pytest.importorskip("torch")
    net = ReLUNetwork(rng.standard_normal((2, 3)), rng.standard_normal((3, 2)))
    model = net.to_torch(dtype=torch.float32)
    assert model[0].weight.dtype == torch.float32
    X = rng.standard_normal((5, 2))
    out = model(torch.as_tensor(X, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-5, atol=1e-6 * np.abs(net.predict(X)).max())
