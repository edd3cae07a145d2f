"""Dual lower bounds (79) for general losses, against the convex program's exact value."""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.drivers.loss_certificate import certify_loss


def _problem(loss):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 0] > 1)
    Y = (labels[:, None] > 0).astype(float) if loss == "logistic" else np.eye(3)[labels]
    return X, Y


@pytest.mark.parametrize("loss,tight", [("cross_entropy", True), ("logistic", True),
                                        ("huber", True), ("squared", True),
                                        ("hinge", False), ("absolute", False)])
def test_loss_certificate_brackets_the_exact_value(loss, tight):
    X, Y = _problem(loss)
    beta = 0.1
    f = cr.bidual(X, Y, beta, loss=loss)
    p = f.solve()
    net = f.network()
    cert = certify_loss(net, X, Y, beta, loss)
    via_certify = cr.certify(net, X, Y, beta, loss=loss)   # the public entry point
    if loss != "squared":      # squared has its own dual (11), computed the same way
        assert via_certify.lower == cert.lower
    assert via_certify.lower <= p + 1e-7 * abs(p)
    assert cert.exact_oracle
    assert cert.lower <= p + 1e-7 * abs(p)          # weak duality (79)
    assert p <= cert.upper + 1e-7 * abs(p)          # a real network
    if tight:   # smooth losses: the gradient at the optimum is the dual optimum
        assert cert.rel_gap < 1e-3


def test_loss_certificate_of_a_poor_network_is_loose_but_valid():
    X, Y = _problem("cross_entropy")
    p = cr.bidual(X, Y, 0.1, loss="cross_entropy").solve()
    rng = np.random.default_rng(1)
    net = cr.ReLUNetwork(rng.standard_normal((2, 5)), rng.standard_normal((5, 3)))
    cert = certify_loss(net, X, Y, 0.1, "cross_entropy")
    assert cert.lower <= p <= cert.upper
    assert cert.rel_gap > 1e-2


def test_loss_certificate_for_rank_four_uses_the_certified_bound():
    # rank(X) = 4: ω̄ from DualOracle.bound (a valid upper bound on ω), so the lower bound is
    # certified; it must lie below the objective of every network (two of them here)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((15, 4))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    nets = [cr.ReLUNetwork(rng.standard_normal((4, 6)), rng.standard_normal((6, 3)))
            for _ in range(2)]
    certs = [certify_loss(net, X, labels, 0.3, "cross_entropy") for net in nets]
    for cert in certs:
        # ω̄ is certified whatever the rank (the branch and bound is exact here, rank 4)
        assert cert.certified
        assert cert.info["oracle_value"] >= cert.info["oracle_lower"]
        for net in nets:
            obj = net.objective(X, np.eye(3)[labels], 0.3, "cross_entropy")
            assert cert.lower <= obj
