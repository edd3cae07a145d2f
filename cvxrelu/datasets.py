"""Small data sets used by the paper's experiments, generated in code (no downloads).

- :func:`spiral`: the 3-class spiral of Section 5 / Figure 3 (cs231n construction); with the
  default 20 points per class, X ∈ R^{60×2} has three zero rows and P = 114 sign patterns.
- :func:`figure1`: the random instance of Figure 1: X ∈ R^{25×2} i.i.d. N(0, 1), targets from
  a random ReLU network with 100 hidden neurons and 5 outputs.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_seed_rng
from .errors import InvalidInputError

__all__ = ["spiral", "figure1"]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def spiral(n_per_class: int = 20, n_classes: int = 3, noise: float = 0.2, seed=0):
    """The multi-class spiral: X (n_per_class·n_classes, 2) and one-hot Y.

    Class j has radii linspace(0, 1, n_per_class) and angles linspace(4j, 4(j+1)) plus
    Gaussian noise of standard deviation ``noise``.

    Examples
    --------
    >>> X, Y = spiral(n_per_class=10, n_classes=3)
    >>> X.shape, Y.shape, Y.sum(axis=0).tolist()
    ((30, 2), (30, 3), [10.0, 10.0, 10.0])
    """
    n_per_class = _positive_int(n_per_class, "n_per_class")
    n_classes = _positive_int(n_classes, "n_classes")
    rng = as_seed_rng(seed)
    X = np.zeros((n_per_class * n_classes, 2))
    Y = np.zeros((n_per_class * n_classes, n_classes))
    for j in range(n_classes):
        idx = slice(n_per_class * j, n_per_class * (j + 1))
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(4.0 * j, 4.0 * (j + 1), n_per_class) + rng.standard_normal(n_per_class) * noise
        X[idx] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[idx, j] = 1.0
    return X, Y


def figure1(n: int = 25, d: int = 2, c: int = 5, m: int = 100, seed=0):
    """Figure 1's instance: X ~ N(0, 1)^{n×d}, Y = relu(X W1) W2 for a random m-neuron net."""
    n, d, c, m = (_positive_int(v, k) for v, k in ((n, "n"), (d, "d"), (c, "c"), (m, "m")))
    rng = as_seed_rng(seed)
    X = rng.standard_normal((n, d))
    W1 = rng.standard_normal((d, m))
    W2 = rng.standard_normal((m, c)) / np.sqrt(m)
    Y = np.maximum(X @ W1, 0.0) @ W2
    return X, Y
