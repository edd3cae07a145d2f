"""datasets: the paper's instances, regenerated here from their documented definitions."""

import numpy as np
import pytest

from cvxrelu.datasets import figure1, spiral
from cvxrelu.errors import InvalidInputError


def test_spiral_matches_its_definition():
    X, Y = spiral(n_per_class=15, n_classes=4, noise=0.1, seed=3)
    assert X.shape == (60, 2) and Y.shape == (60, 4)
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)               # one-hot
    np.testing.assert_array_equal(Y.sum(axis=0), 15.0)              # balanced classes
    labels = Y.argmax(axis=1)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(4), 15))
    # radii linspace(0, 1) per class, independent of the noise (it perturbs angles only)
    r = np.linalg.norm(X, axis=1).reshape(4, 15)
    np.testing.assert_allclose(r, np.tile(np.linspace(0, 1, 15), (4, 1)), atol=1e-14)
    # noise = 0: angles exactly linspace(4j, 4(j+1))
    X0, _ = spiral(n_per_class=5, n_classes=2, noise=0.0)
    t = np.linspace(4.0, 8.0, 5)
    np.testing.assert_allclose(X0[5:], np.c_[np.linspace(0, 1, 5) * np.sin(t),
                                              np.linspace(0, 1, 5) * np.cos(t)], rtol=1e-14)


def test_spiral_is_reproducible():
    a, b = spiral(seed=7), spiral(seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(spiral(seed=8)[0], a[0])


def test_figure1_is_realizable_by_its_teacher():
    X, Y = figure1(n=12, d=3, c=4, m=7, seed=1)
    assert X.shape == (12, 3) and Y.shape == (12, 4)
    rng = np.random.default_rng(1)                                  # the documented recipe
    X_ref = rng.standard_normal((12, 3))
    W1 = rng.standard_normal((3, 7))
    W2 = rng.standard_normal((7, 4)) / np.sqrt(7)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_allclose(Y, np.maximum(X_ref @ W1, 0) @ W2, rtol=1e-14)


@pytest.mark.parametrize("call,name", [
    (lambda: spiral(n_per_class=0), "n_per_class"),
    (lambda: spiral(n_classes=True), "n_classes"),
    (lambda: figure1(d=2.5), "d"),
    (lambda: figure1(seed="x"), "seed"),
])
def test_bad_arguments(call, name):
    with pytest.raises(InvalidInputError, match=name):
        call()
