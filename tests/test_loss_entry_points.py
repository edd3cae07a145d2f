"""Losses given as instances (cvxrelu.losses.Loss) at every entry point (issue 12, item 3).

Each public entry point resolves ``loss`` once with ``get_loss``; an instance must give the
same numbers as the equivalent string form, and classification targets given as integer
labels must give the same objective as their one-hot rows.
"""

import cvxpy as cp
import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.errors import CvxReluError, UnsupportedError

from .conftest import rel

RTOL = 1e-9


def _regression(n=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    Y = np.c_[np.abs(X[:, 0]) - 0.5 * X[:, 1], np.maximum(X[:, 1], 0.0)]
    return X, Y


def _classification(n=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 0] > 1)
    return X, labels, np.eye(3)[labels]


def test_copositive_with_squared_instance_matches_string():
    X, Y = _regression()
    beta = 0.2
    p_str = cr.copositive(X, Y, beta, loss="squared").solve()
    f = cr.copositive(X, Y, beta, loss=cr.losses.squared())
    p_obj = f.solve()
    assert rel(p_obj, p_str) <= RTOL
    # independent check: the recovered network attains the exact value (an upper bound)
    net = f.network()
    assert net.objective(X, Y, beta) >= p_obj * (1 - 1e-6)


def test_copositive_rejects_other_loss_instances():
    X, Y = _regression()
    with pytest.raises(UnsupportedError, match="bidual"):
        cr.copositive(X, Y, 0.2, loss=cr.losses.huber(0.5))


def test_bidual_with_huber_instance_matches_string_and_callable():
    X, Y = _regression()
    beta = 0.1
    # default δ = 1: the instance against the registry name
    p_str = cr.bidual(X, Y, beta, loss="huber").solve()
    p_obj = cr.bidual(X, Y, beta, loss=cr.losses.huber(1.0)).solve()
    assert rel(p_obj, p_str) <= RTOL
    # δ = 0.5 (no string form): against the same loss written as a user callable
    f = cr.bidual(X, Y, beta, loss=cr.losses.huber(0.5))
    p_half = f.solve()
    p_call = cr.bidual(X, Y, beta,
                       loss=lambda F, T: 0.5 * cp.sum(cp.huber(F - T, 0.5))).solve()
    assert rel(p_half, p_call) <= RTOL   # the same program (79), built the same way
    assert p_half < p_obj           # a smaller δ makes every residual cost less or the same
    # the network of the solution: its primal objective with δ = 0.5 (numpy formula) ≥ p*
    net = f.network()
    R = np.abs(net.predict(X) - Y)
    huber = np.where(R <= 0.5, 0.5 * R ** 2, 0.5 * R - 0.125).sum()
    upper = huber + beta * net.weight_decay()
    assert upper >= p_half * (1 - 1e-6)
    assert rel(net.objective(X, Y, beta, cr.losses.huber(0.5)), upper) <= RTOL


def test_certify_with_cross_entropy_instance_matches_string():
    X, labels, Y = _classification()
    beta = 0.1
    f = cr.bidual(X, Y, beta, loss="cross_entropy")
    f.solve()
    net = f.network()
    by_str = cr.certify(net, X, Y, beta, loss="cross_entropy")
    by_obj = cr.certify(net, X, Y, beta, loss=cr.losses.cross_entropy())
    assert rel(by_obj.upper, by_str.upper) <= RTOL
    assert rel(by_obj.lower, by_str.lower) <= RTOL
    assert by_obj.lower <= by_obj.upper * (1 + 1e-9)


def test_certify_with_squared_instance_uses_the_squared_dual():
    X, Y = _regression()
    beta = 0.2
    f = cr.bidual(X, Y, beta)
    f.solve()
    net = f.network()
    by_str = cr.certify(net, X, Y, beta)
    by_obj = cr.certify(net, X, Y, beta, loss=cr.losses.squared())
    assert rel(by_obj.upper, by_str.upper) <= RTOL
    assert rel(by_obj.lower, by_str.lower) <= RTOL
    assert by_obj.info.keys() == by_str.info.keys()    # the dual (11) path, not (79)


def _torch_cross_entropy(F, labels):
    import torch

    return float(torch.nn.functional.cross_entropy(
        torch.as_tensor(F), torch.as_tensor(labels), reduction="sum"))


@pytest.mark.parametrize("loss", ["cross_entropy", cr.losses.cross_entropy()])
def test_objective_with_integer_labels_matches_one_hot(loss):
    X, labels, Y = _classification()
    rng = np.random.default_rng(1)
    net = cr.ReLUNetwork(rng.standard_normal((2, 5)), rng.standard_normal((5, 3)))
    beta = 0.3
    one_hot = net.objective(X, Y, beta, "cross_entropy")
    by_labels = net.objective(X, labels, beta, loss)
    assert rel(by_labels, one_hot) <= RTOL
    # independent reference: torch's cross-entropy (summed) plus the weight decay
    ref = _torch_cross_entropy(net.predict(X), labels) + beta * net.weight_decay()
    assert rel(one_hot, ref) <= 1e-9


def test_objective_labels_use_the_network_outputs_as_classes():
    X, labels, Y = _classification()
    rng = np.random.default_rng(2)
    net = cr.ReLUNetwork(rng.standard_normal((2, 4)), rng.standard_normal((4, 4)))
    Y4 = np.eye(4)[labels]                   # class 3 never occurs: still 4 columns
    assert rel(net.loss(X, labels, "cross_entropy"), net.loss(X, Y4, "cross_entropy")) <= RTOL
    small = cr.ReLUNetwork(rng.standard_normal((2, 4)), rng.standard_normal((4, 2)))
    with pytest.raises(CvxReluError, match="n_classes"):
        small.loss(X, labels, "cross_entropy")    # label 2 with only 2 outputs


def test_objective_with_squared_instance_matches_string():
    X, Y = _regression()
    rng = np.random.default_rng(3)
    net = cr.ReLUNetwork(rng.standard_normal((2, 3)), rng.standard_normal((3, 2)))
    ref = 0.5 * np.sum((np.maximum(X @ net.W1, 0) @ net.W2 - Y) ** 2) + 0.1 * net.weight_decay()
    assert rel(net.objective(X, Y, 0.1, cr.losses.squared()), ref) <= RTOL
    assert rel(net.objective(X, Y, 0.1, "squared"), ref) <= RTOL


def test_regularization_path_copositive_accepts_squared_instance():
    from cvxrelu.integrations.path import regularization_path

    X, Y = _regression(n=6)
    betas = [0.5, 0.2]
    by_str = regularization_path(X, Y, betas, method="copositive")
    by_obj = regularization_path(X, Y, betas, method="copositive", loss=cr.losses.squared())
    for a, b in zip(by_obj.values, by_str.values):
        assert rel(a, b) <= RTOL
    with pytest.raises(CvxReluError, match="copositive"):
        regularization_path(X, Y, betas, method="copositive", loss=cr.losses.huber(0.5))


def test_classifier_accepts_a_loss_instance():
    from cvxrelu.integrations.estimators import ConvexReLUClassifier

    X, labels, _ = _classification(n=12)
    kw = dict(alpha=0.1, fit_intercept=False, max_iter=10, oracle_time_limit=0.2,
              random_state=0)
    by_str = ConvexReLUClassifier(loss="cross_entropy", **kw).fit(X, labels)
    by_obj = ConvexReLUClassifier(loss=cr.losses.cross_entropy(), **kw).fit(X, labels)
    assert rel(by_obj.objective_, by_str.objective_) <= RTOL
    # independent check: the objective is the network's, by torch's cross-entropy
    net = by_obj.network_
    ref = _torch_cross_entropy(net.predict(X), labels) + by_obj.beta_ * net.weight_decay()
    assert rel(by_obj.objective_, ref) <= 1e-9
    with pytest.raises(CvxReluError, match="loss"):
        ConvexReLUClassifier(loss=cr.losses.huber(0.5), **kw).fit(X, labels)


def test_train_sgd_with_loss_instance_matches_string():
    from cvxrelu.networks.baselines import train_sgd

    X, labels, Y = _classification(n=12)
    rng = np.random.default_rng(4)
    net0 = cr.ReLUNetwork(rng.standard_normal((2, 4)), rng.standard_normal((4, 3)))
    by_str = train_sgd(X, labels, 0.1, epochs=30, init=net0, loss="cross_entropy")
    by_obj = train_sgd(X, labels, 0.1, epochs=30, init=net0, loss=cr.losses.cross_entropy())
    assert by_obj.loss == "cross_entropy"
    assert rel(by_obj.history[0], by_str.history[0]) <= RTOL
    assert rel(by_obj.objective, by_str.objective) <= RTOL
    assert rel(by_obj.objective, by_obj.network.objective(X, Y, 0.1, "cross_entropy")) <= 1e-6
