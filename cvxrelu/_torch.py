"""Optional torch support: import guard and reading two-layer ReLU modules."""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError, UnsupportedError

__all__ = ["require_torch", "sequential_weights", "is_torch_module"]


def require_torch():
    """Import torch or raise an error that says how to install it."""
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise UnsupportedError(
            "this feature needs PyTorch; install it with `pip install 'cvxrelu[torch]'` "
            "(pins the CPU build torch==2.13.0)."
        ) from None
    return torch


def is_torch_module(obj) -> bool:
    """Whether obj is a torch.nn.Module (without importing torch if it is not loaded)."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def sequential_weights(module):
    """(W1, W2) of Sequential(Linear(d, m, bias=False), ReLU(), Linear(m, c, bias=False))."""
    torch = require_torch()
    layers = [layer for layer in module.children()] if isinstance(module, torch.nn.Module) else []
    ok = (
        len(layers) == 3
        and isinstance(layers[0], torch.nn.Linear)
        and isinstance(layers[1], torch.nn.ReLU)
        and isinstance(layers[2], torch.nn.Linear)
    )
    if not ok:
        raise InvalidInputError(
            "module must be torch.nn.Sequential(Linear(d, m, bias=False), ReLU(), "
            f"Linear(m, c, bias=False)); got {module!r}."
        )
    if layers[0].bias is not None or layers[2].bias is not None:
        raise UnsupportedError(
            "the two-layer ReLU model of the paper has no biases; build the Linear layers with "
            "bias=False, or append a constant-1 column to X to model a first-layer bias."
        )
    W1 = layers[0].weight.detach().cpu().double().numpy().T.copy()
    W2 = layers[2].weight.detach().cpu().double().numpy().T.copy()
    return np.asarray(W1), np.asarray(W2)
