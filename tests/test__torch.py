"""_torch: the optional torch guard and reading Sequential(Linear, ReLU, Linear) modules."""

import sys

import numpy as np
import pytest

from cvxrelu import _torch
from cvxrelu.errors import InvalidInputError, UnsupportedError


def test_is_torch_module_without_torch_objects():
    assert not _torch.is_torch_module(np.ones(3))
    assert not _torch.is_torch_module(None)


def test_require_torch_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch → ImportError
    with pytest.raises(UnsupportedError, match="pip install"):
        _torch.require_torch()


def test_sequential_weights_round_trip(rng):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False))
    W1, W2 = _torch.sequential_weights(model)
    assert _torch.is_torch_module(model)
    X = rng.standard_normal((5, 3))
    ref = model(torch.as_tensor(X, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(np.maximum(X @ W1, 0) @ W2, ref, rtol=1e-5,
                               atol=1e-6 * np.abs(ref).max())
    with pytest.raises(UnsupportedError, match="bias"):
        _torch.sequential_weights(nn.Sequential(nn.Linear(3, 4), nn.ReLU(),
                                                nn.Linear(4, 2, bias=False)))
    with pytest.raises(InvalidInputError, match="Sequential"):
        _torch.sequential_weights(nn.Sequential(nn.Linear(3, 4, bias=False)))
