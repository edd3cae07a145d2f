"""_scaling: the internal rescaling X = x·X_s, Y = y·Y_s, β_s = β/(x y).

Reference: the homogeneity of (5) worked out by hand — with f(X) = y·f_s(X/x) and balanced
neurons, objective(X, Y, β) = y²·objective_s(X_s, Y_s, β_s) — checked on random networks.
"""

import numpy as np
import pytest

from cvxrelu.programs._scaling import DataScale, data_scale
from cvxrelu.networks.network import ReLUNetwork


def test_data_scale_definition(rng):
    X, Y = 50 * rng.standard_normal((9, 3)), 1e-3 * rng.standard_normal((9, 2))
    s = data_scale(X, Y)
    assert s.x == pytest.approx(np.linalg.norm(X, axis=1).max(), rel=1e-15)
    assert s.y == pytest.approx(np.sqrt(np.mean(np.sum(Y ** 2, axis=1))), rel=1e-14)
    assert s.value == pytest.approx(s.y ** 2, rel=1e-15)
    # losses that are not homogeneous in Y are not scaled in Y
    assert data_scale(X, np.sign(Y), loss="logistic").y == 1.0
    # degenerate data keeps scale 1 instead of dividing by zero
    assert data_scale(np.zeros((3, 2)), np.zeros((3, 1))) == DataScale(1.0, 1.0)


@pytest.mark.parametrize("x,y", [(1e3, 1e-2), (0.1, 7.0)])
def test_objective_homogeneity(rng, x, y):
    Xs, Ys = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    X, Y = x * Xs, y * Ys
    s = DataScale(x=x, y=y)
    beta = 0.3
    net_s = ReLUNetwork(rng.standard_normal((3, 4)), rng.standard_normal((4, 2))).balanced()
    net = s.unscale_network(net_s)
    np.testing.assert_allclose(net.predict(X), y * net_s.predict(Xs), rtol=1e-12)
    lhs = net.objective(X, Y, beta)
    rhs = s.value * net_s.objective(Xs, Ys, s.beta_internal(beta))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_unscale_empty_network():
    s = DataScale(x=2.0, y=3.0)
    net = s.unscale_network(ReLUNetwork(np.zeros((2, 0)), np.zeros((0, 1))))
    assert net.n_neurons == 0 and net.n_features == 2
