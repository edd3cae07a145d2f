"""cvxrelu.drivers.certify: certify() — upper and certified lower bounds around any network.

tests/test_drivers.py certifies SGD-trained, optimal and bi-dual networks on the spiral /
Figure 1 data; here, on tiny rank-2 and rank-3 instances with arbitrary networks: the
bracket lower ≤ p* ≤ upper against the exact CVXPY program (12) (``cr.bidual``), upper as
the objective (5) written out by hand, lower as the closed form of the scaled dual point
with ω(Z) found by brute force over many directions, the reported most violated direction
(adding a small neuron there lowers the objective), invariance of the lower bound under
rescaling of the neurons, and the accepted network types (torch modules, SolveResult,
1-D targets).
"""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.drivers.certify import certify
from cvxrelu.errors import CvxReluError

from .helpers import tiny_instance


def _instance(rank, seed=0):
    X, Y, beta, _, p_star = tiny_instance(rank, seed)
    return X, Y, beta, p_star


@pytest.fixture(scope="module", params=[2, 3], ids=["rank2", "rank3"])
def tiny(request):
    return _instance(request.param)


def _networks(X, Y, seed):
    """Random networks of 1, 4 and 12 neurons, and one with a least-squares second layer."""
    rng = np.random.default_rng(seed)
    d, c = X.shape[1], Y.shape[1]
    nets = [cr.ReLUNetwork(rng.standard_normal((d, m)), 0.5 * rng.standard_normal((m, c)))
            for m in (1, 4, 12)]
    W1 = rng.standard_normal((d, 6))
    W2 = np.linalg.lstsq(np.maximum(X @ W1, 0.0), Y, rcond=None)[0]
    return nets + [cr.ReLUNetwork(W1, W2)]


def _brute_omega(X, Z, n_dirs=200_000, seed=0):
    """max over random unit directions of ‖Zᵀ(X u)_+‖ (≤ ω(Z), close to it in low rank)."""
    U = np.random.default_rng(seed).standard_normal((X.shape[1], n_dirs))
    U /= np.linalg.norm(U, axis=0)
    return float(np.linalg.norm(Z.T @ np.maximum(X @ U, 0.0), axis=0).max())


def test_bracket_and_closed_forms_around_arbitrary_networks(tiny):
    """lower ≤ p* ≤ upper; upper = ½‖Y − relu(X W1) W2‖² + (β/2)(‖W1‖² + ‖W2‖²); lower =
    s⟨Z, Y⟩ − ½s²‖Z‖² with s = min(⟨Z, Y⟩/‖Z‖², β/ω(Z)) (clipped at 0) and ω(Z) by brute
    force (the oracle is exact in rank ≤ 3, so the two agree to the brute force's accuracy,
    and the certified value is never above the brute-force one)."""
    X, Y, beta, p_star = tiny
    for net in _networks(X, Y, X.shape[1]):
        cert = certify(net, X, Y, beta)
        assert cert.exact_oracle and cert.certified and cert.method == "certify"
        Z = Y - np.maximum(X @ net.W1, 0.0) @ net.W2
        upper = 0.5 * np.sum(Z * Z) + 0.5 * beta * (np.sum(net.W1 ** 2) + np.sum(net.W2 ** 2))
        assert cert.upper == pytest.approx(upper, rel=1e-12)
        assert cert.lower <= p_star * (1 + 1e-7) and p_star <= cert.upper
        omega = _brute_omega(X, Z)
        assert cert.info["oracle_value"] >= omega * (1 - 1e-12)
        assert cert.info["oracle_value"] == pytest.approx(omega, rel=1e-3)
        s = max(0.0, min(np.sum(Z * Y) / np.sum(Z * Z), beta / omega))
        lower = s * np.sum(Z * Y) - 0.5 * s * s * np.sum(Z * Z)
        assert cert.lower <= lower + 1e-12 * abs(lower)
        assert cert.lower == pytest.approx(lower, rel=1e-3, abs=1e-9 * upper)
        assert cert.info["s"] == pytest.approx(s, rel=1e-3)
        assert cert.status in ("gap", "optimal") and cert.lower <= cert.upper


def test_the_reported_direction_is_a_descent_direction(tiny):
    """info["direction"] attains ω(Z); when ω > β, a small neuron (εu, εg) with
    g = Zᵀ(X u)_+/‖·‖ lowers the objective (5) by about ε²(ω − β)."""
    X, Y, beta, _ = tiny
    rng = np.random.default_rng(1)
    net = cr.ReLUNetwork(0.1 * rng.standard_normal((X.shape[1], 2)),
                         0.1 * rng.standard_normal((2, 2)))   # far from optimal: ω > β
    cert = certify(net, X, Y, beta)
    u = cert.info["direction"] / np.linalg.norm(cert.info["direction"])
    Z = Y - net.predict(X)
    corr = Z.T @ np.maximum(X @ u, 0.0)
    omega = float(np.linalg.norm(corr))
    assert omega == pytest.approx(cert.info["oracle_value"], rel=1e-9) and omega > beta
    g = corr / omega
    obj = net.objective(X, Y, beta)
    eps = 1e-3
    bigger = cr.ReLUNetwork(np.column_stack([net.W1, eps * u]), np.vstack([net.W2, eps * g]))
    decrease = obj - bigger.objective(X, Y, beta)
    assert decrease == pytest.approx(eps ** 2 * (omega - beta), rel=1e-2)


def test_rescaled_neurons_change_upper_only(tiny):
    """(a u_j, v_j / a) is the same function: the lower bound (a function of the residual)
    is unchanged, the upper bound is each network's objective, smallest when balanced."""
    X, Y, beta, _ = tiny
    net = _networks(X, Y, 7)[1]
    a = np.array([3.0, 0.5, 1.0, 2.0])
    scaled = cr.ReLUNetwork(net.W1 * a, net.W2 / a[:, None])
    c1, c2, cb = (certify(n, X, Y, beta) for n in (net, scaled, net.balanced()))
    assert c2.lower == pytest.approx(c1.lower, rel=1e-10)
    assert cb.lower == pytest.approx(c1.lower, rel=1e-10)
    assert c2.upper == pytest.approx(scaled.objective(X, Y, beta), rel=1e-12)
    assert cb.upper <= min(c1.upper, c2.upper)


def test_network_types_and_targets():
    """A torch Sequential built here by hand, a SolveResult and a (W1, W2) pair give the
    certificate of the same ReLUNetwork; 1-D targets are one output column; a torch
    module with biases is refused with a CvxReluError that says so."""
    torch = pytest.importorskip("torch")
    X, Y, beta, p_star = _instance(2, seed=4)
    y = Y[:, 0]
    rng = np.random.default_rng(2)
    W1, W2 = rng.standard_normal((2, 5)), rng.standard_normal((5, 1))
    ref = certify(cr.ReLUNetwork(W1, W2), X, y[:, None], beta)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 5, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(5, 1, bias=False)).double()
    with torch.no_grad():
        seq[0].weight.copy_(torch.as_tensor(W1.T))
        seq[2].weight.copy_(torch.as_tensor(W2.T))
    for network, targets in ((seq, y), ((W1, W2), y), (cr.ReLUNetwork(W1, W2), y[:, None])):
        cert = certify(network, X, targets, beta)
        assert cert.upper == pytest.approx(ref.upper, rel=1e-12)
        assert cert.lower == pytest.approx(ref.lower, rel=1e-12)
    res = cr.cutting_plane(X, Y, beta, progress=False)
    assert certify(res, X, Y, beta).upper == pytest.approx(res.upper, rel=1e-10)
    biased = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 1, bias=False))
    with pytest.raises(CvxReluError, match="bias"):
        certify(biased, X, y, beta)
