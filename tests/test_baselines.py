"""Gradient-trained baselines (train_sgd) and the optimal linear network.

References: the primal objective (5) of the initial network evaluated in numpy, softmax
cross-entropy written out by hand, CVXPY's nuclear-norm regression, and the closed form.
"""

import numpy as np
import pytest

from cvxrelu.networks.baselines import default_lr, linear_network, train_sgd
from cvxrelu.errors import InvalidInputError
from cvxrelu.networks.network import ReLUNetwork

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((25, 3))
    Y = np.maximum(X @ rng.standard_normal((3, 8)), 0) @ rng.standard_normal((8, 2))
    return X, Y


def test_objective_decreases_and_matches_numpy(data):
    X, Y = data
    res = train_sgd(X, Y, 0.01, m=20, epochs=300, seed=0)
    assert res.history.shape == (300,) and res.times.shape == (300,)
    assert np.all(np.diff(res.times) >= 0)
    assert res.objective < 0.5 * res.history[0]
    assert res.objective <= res.history.min() + 1e-12
    # the reported objective is (5) on the SPEC scale (sums, not means)
    assert res.objective == pytest.approx(res.network.objective(X, Y, 0.01), rel=1e-12)
    assert res.n_restarts == 0


def test_history_is_the_spec_objective_of_the_iterate(data):
    X, Y = data
    rng = np.random.default_rng(5)
    net0 = ReLUNetwork(rng.standard_normal((3, 7)), rng.standard_normal((7, 2)))
    beta = 0.3
    res = train_sgd(X, Y, beta, epochs=5, init=net0)
    F = np.maximum(X @ net0.W1, 0) @ net0.W2
    ref = 0.5 * np.sum((F - Y) ** 2) + 0.5 * beta * (np.sum(net0.W1 ** 2) + np.sum(net0.W2 ** 2))
    assert res.history[0] == pytest.approx(ref, rel=1e-12)


def test_cross_entropy_objective(data):
    X, _ = data
    labels = np.arange(25) % 3
    Y = np.eye(3)[labels]
    rng = np.random.default_rng(2)
    net0 = ReLUNetwork(rng.standard_normal((3, 6)), rng.standard_normal((6, 3)))
    res = train_sgd(X, Y, 0.1, epochs=200, init=net0, loss="cross_entropy")
    F = np.maximum(X @ net0.W1, 0) @ net0.W2
    ce = np.sum(np.log(np.sum(np.exp(F), axis=1)) - F[np.arange(25), labels])
    ref = ce + 0.05 * (np.sum(net0.W1 ** 2) + np.sum(net0.W2 ** 2))
    assert res.history[0] == pytest.approx(ref, rel=1e-12)
    assert res.objective < res.history[0]
    assert res.loss == "cross_entropy"


def test_other_losses_through_cvxrelu_losses(data):
    X, _ = data
    Y = np.eye(3)[np.arange(25) % 3]
    res = train_sgd(X, Y, 0.1, m=10, epochs=100, seed=0, loss="hinge")
    assert res.objective < res.history[0]
    assert res.objective == pytest.approx(res.network.objective(X, Y, 0.1, loss="hinge"),
                                          rel=1e-10)


def test_torch_round_trip_is_exact(data):
    X, Y = data
    net = train_sgd(X, Y, 0.01, m=9, epochs=20, seed=1).network
    back = ReLUNetwork.from_torch(net.to_torch("cpu"))
    assert np.array_equal(back.W1, net.W1) and np.array_equal(back.W2, net.W2)
    model = net.to_torch()
    out = model(torch.as_tensor(X)).detach().numpy()
    assert np.allclose(out, net.predict(X), rtol=1e-13, atol=1e-13)


def test_seed_determinism(data):
    X, Y = data
    a = train_sgd(X, Y, 0.01, m=15, epochs=50, seed=7)
    b = train_sgd(X, Y, 0.01, m=15, epochs=50, seed=7)
    c = train_sgd(X, Y, 0.01, m=15, epochs=50, seed=8)
    assert np.array_equal(a.history, b.history)
    assert np.array_equal(a.network.W1, b.network.W1)
    assert not np.array_equal(a.network.W1, c.network.W1)


def test_adam_and_device_cpu(data):
    X, Y = data
    res = train_sgd(X, Y, 0.01, m=20, epochs=200, optimizer="adam", seed=0, device="cpu")
    assert res.optimizer == "adam" and res.settings["device"] == "cpu"
    assert res.objective < 0.5 * res.history[0]


def test_plateau_halves_learning_rate(data):
    X, Y = data
    res = train_sgd(X, Y, 0.01, m=20, epochs=400, seed=0, patience=5)
    assert res.n_lr_halvings > 0
    ratios = res.lrs[1:][res.lrs[1:] != res.lrs[:-1]] / res.lrs[:-1][res.lrs[1:] != res.lrs[:-1]]
    assert np.allclose(ratios, 0.5)


def test_default_lr_is_stable_at_large_scale(data):
    X, Y = data
    for scale in (1e-3, 1.0, 1e3):
        res = train_sgd(X * scale, Y, 0.01, m=20, epochs=100, seed=0)
        assert np.all(np.isfinite(res.history))
        assert res.n_restarts == 0
        assert res.objective < res.history[0]
    assert default_lr(X, Y) == pytest.approx(
        1.0 / (np.linalg.norm(X, 2) * np.linalg.norm(Y, 2) + np.linalg.norm(X, 2) ** 2))


def test_divergence_recovers(data):
    X, Y = data
    res = train_sgd(X, Y, 0.01, m=20, epochs=100, seed=0, lr=10.0)
    assert res.n_restarts > 0
    assert np.isfinite(res.objective) and res.objective <= res.history[0]


def test_invalid_arguments(data):
    X, Y = data
    with pytest.raises(InvalidInputError, match="m must"):
        train_sgd(X, Y, 0.1, m=0)
    with pytest.raises(InvalidInputError, match="epochs"):
        train_sgd(X, Y, 0.1, epochs=0)
    with pytest.raises(InvalidInputError, match="optimizer"):
        train_sgd(X, Y, 0.1, optimizer="lbfgs")
    with pytest.raises(InvalidInputError, match="beta"):
        train_sgd(X, Y, 0.0)
    with pytest.raises(InvalidInputError, match="momentum"):
        train_sgd(X, Y, 0.1, momentum=1.0)
    with pytest.raises(InvalidInputError, match="device"):
        train_sgd(X, Y, 0.1, epochs=1, device="no-such-device")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="device"):
            train_sgd(X, Y, 0.1, epochs=1, device="cuda")
    with pytest.raises(InvalidInputError, match="loss"):
        train_sgd(X, Y, 0.1, epochs=1, loss="no_such_loss")
    with pytest.raises(InvalidInputError, match="rows"):
        train_sgd(X, Y[:5], 0.1, epochs=1)


# ---------------------------------------------------------------------------- linear network
def test_linear_network_matches_cvxpy(data):
    cp = pytest.importorskip("cvxpy")
    X, Y = data
    beta = 1.5
    sol = linear_network(X, Y, beta)
    W = cp.Variable((3, 2))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(X @ W - Y) + beta * cp.normNuc(W)))
    prob.solve(solver=cp.CLARABEL)
    assert sol.value == pytest.approx(prob.value, rel=1e-6)
    assert np.allclose(sol.W1 @ sol.W2, sol.W, atol=1e-10)
    # the factorization is a two-layer linear network with the same weight decay
    lin = 0.5 * np.sum((X @ sol.W1 @ sol.W2 - Y) ** 2) + beta / 2 * (
        np.sum(sol.W1 ** 2) + np.sum(sol.W2 ** 2))
    assert lin == pytest.approx(sol.value, rel=1e-10)


def test_linear_network_closed_form_on_whitened_rows():
    from cvxrelu.programs.closed_form import whiten

    rng = np.random.default_rng(4)
    X = whiten(rng.standard_normal((6, 10))).X
    Y = rng.standard_normal((6, 3))
    exact = linear_network(X, Y, 0.7)
    assert exact.exact
    s = np.linalg.svd(X.T @ Y, compute_uv=False)
    ref = 0.5 * np.sum(Y ** 2) - 0.5 * np.sum(np.maximum(s - 0.7, 0) ** 2)
    assert exact.value == pytest.approx(ref, rel=1e-12)
    # the iterative path agrees on the same data, perturbed off exact whitening
    Xp = X * (1 + 1e-6)
    approx = linear_network(Xp, Y, 0.7, tol=1e-12)
    assert not approx.exact
    assert approx.value == pytest.approx(ref, rel=1e-4)


@pytest.mark.slow
def test_fig5_example_quick(tmp_path, capsys):
    import importlib.util
    import pathlib

    pytest.importorskip("matplotlib")
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "fig5_relu_vs_linear.py"
    spec = importlib.util.spec_from_file_location("fig5_relu_vs_linear", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "fig5.png"
    result = module.main(["--quick", "--out", str(out)])
    assert out.exists()
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    fields = dict(kv.split("=") for kv in last.split()[1:])
    # the linear optimum is a lower bound on every ReLU network's objective (whitened X)
    assert fields["relu_obj_ge_linear_obj"] == "True"
    assert result["best_relu_test_loss"] < result["zero_test_loss"]
