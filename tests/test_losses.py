"""Tests of cvxrelu.losses against independent references.

References: CVXPY's own evaluation of the expression, torch's loss functions, central finite
differences, the Fenchel–Young inequality, and the conjugate computed by solving
min_F ℓ(F) − ⟨Z, F⟩ with a conic solver.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from cvxrelu import losses as L
from cvxrelu.errors import InvalidInputError, UnsupportedError

N, C = 6, 3
BUILTINS = ["squared", "cross_entropy", "logistic", "hinge", "binary_hinge", "huber", "absolute"]
DELTA = 0.7


def make(name, seed=0):
    """(loss, prepared Y, raw labels or None) for a built-in loss."""
    rng = np.random.default_rng(seed)
    loss = L.get_loss(name, delta=DELTA) if name == "huber" else L.get_loss(name)
    labels = None
    if name in ("cross_entropy", "hinge"):
        labels = rng.integers(0, C, N)
        Y = loss.prepare_targets(labels, n_classes=C)
    elif name in ("logistic", "binary_hinge"):
        labels = rng.choice([-1.0, 1.0], size=(N, C))
        Y = loss.prepare_targets(labels)
    else:
        Y = loss.prepare_targets(rng.normal(size=(N, C)))
    return loss, Y, labels


def random_domain_point(name, Y, rng, interior=False):
    """A random Z in dom ℓ*, built from the closed-form domain (independent of the module)."""
    shrink = 0.9 if interior else 1.0
    if name == "squared":
        return rng.normal(size=Y.shape) * 2
    if name == "absolute":
        return shrink * rng.uniform(-1, 1, Y.shape)
    if name == "huber":
        return shrink * rng.uniform(-DELTA, DELTA, Y.shape)
    if name == "cross_entropy":
        P = rng.dirichlet(np.ones(Y.shape[1]), size=Y.shape[0])
        return P - Y
    if name == "logistic":
        lo, hi = (0.05, 0.95) if interior else (0.0, 1.0)
        return rng.uniform(lo, hi, Y.shape) - Y
    if name == "hinge":
        off = (1 - Y) * shrink * rng.uniform(0, 1, Y.shape)
        return off - Y * off.sum(axis=1, keepdims=True)
    if name == "binary_hinge":
        return -Y * shrink * rng.uniform(0, 1, Y.shape)
    raise AssertionError(name)


def fd_grad(f, F, h=1e-6):
    G = np.zeros_like(F)
    for idx in np.ndindex(F.shape):
        E = np.zeros_like(F)
        E[idx] = h
        G[idx] = (f(F + E) - f(F - E)) / (2 * h)
    return G


# ------------------------------------------------------------------------------ values


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_matches_cvxpy_expression(name, seed):
    loss, Y, _ = make(name, seed)
    F = np.random.default_rng(seed + 10).normal(size=Y.shape) * 2
    e = loss.expr(cp.Constant(F), Y)
    assert e.shape == () and e.is_convex()
    assert loss.value(F, Y) == pytest.approx(float(e.value), rel=1e-10, abs=1e-10)
    # and on a Variable: convex, scalar, same value once the variable is set
    V = cp.Variable(Y.shape)
    ev = loss.expr(V, Y)
    assert ev.is_convex() and ev.shape == ()
    V.value = F
    assert float(ev.value) == pytest.approx(loss.value(F, Y), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("name", BUILTINS)
def test_value_matches_torch(name):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    loss, Y, labels = make(name, 3)
    F = np.random.default_rng(4).normal(size=Y.shape) * 2
    Ft = torch.tensor(F, dtype=torch.float64)
    Yt = torch.tensor(Y, dtype=torch.float64)
    if name == "squared":
        ref = 0.5 * tf.mse_loss(Ft, Yt, reduction="sum")
    elif name == "cross_entropy":
        ref = tf.cross_entropy(Ft, torch.tensor(labels), reduction="sum")
    elif name == "logistic":
        P = torch.tensor((labels + 1) / 2, dtype=torch.float64)
        ref = tf.binary_cross_entropy_with_logits(Ft, P, reduction="sum")
    elif name == "hinge":
        ref = C * tf.multi_margin_loss(Ft, torch.tensor(labels), reduction="sum")
    elif name == "binary_hinge":
        # torch has no per-entry binary hinge; use its elementwise ops on the formula
        ref = torch.clamp(1 - torch.tensor(labels) * Ft, min=0).sum()
    elif name == "huber":
        ref = tf.huber_loss(Ft, Yt, reduction="sum", delta=DELTA)
    elif name == "absolute":
        ref = tf.l1_loss(Ft, Yt, reduction="sum")
    assert loss.value(F, Y) == pytest.approx(float(ref), rel=1e-10)


def test_cross_entropy_soft_labels_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    loss = L.get_loss("cross_entropy")
    P = rng.dirichlet(np.ones(4), size=7)
    F = rng.normal(size=(7, 4))
    ref = torch.nn.functional.cross_entropy(torch.tensor(F), torch.tensor(P), reduction="sum")
    assert loss.value(F, loss.prepare_targets(P)) == pytest.approx(float(ref), rel=1e-10)


def test_logistic_soft_targets_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    loss = L.get_loss("logistic")
    P = rng.uniform(0, 1, size=(5, 2))
    F = rng.normal(size=(5, 2))
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(F), torch.tensor(P), reduction="sum")
    assert loss.value(F, loss.prepare_targets(P)) == pytest.approx(float(ref), rel=1e-10)


def test_logistic_is_log_one_plus_exp_minus_yf():
    rng = np.random.default_rng(7)
    y = rng.choice([-1.0, 1.0], size=(8, 2))
    F = rng.normal(size=(8, 2)) * 3
    loss = L.get_loss("logistic")
    ref = np.sum(np.log1p(np.exp(-y * F)))
    assert loss.value(F, loss.prepare_targets(y)) == pytest.approx(ref, rel=1e-12)


def test_integer_labels_equal_one_hot():
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 4, 9)
    onehot = np.eye(4)[labels]
    F = rng.normal(size=(9, 4))
    for name in ("cross_entropy", "hinge"):
        loss = L.get_loss(name)
        Y1 = loss.prepare_targets(labels, n_classes=4)
        Y2 = loss.prepare_targets(onehot)
        Y3 = loss.prepare_targets(labels.reshape(-1, 1), n_classes=4)
        np.testing.assert_array_equal(Y1, Y2)
        np.testing.assert_array_equal(Y1, Y3)
        assert loss.value(F, Y1) == loss.value(F, Y2)
        np.testing.assert_array_equal(loss.prepare_targets(Y1), Y1)  # idempotent


def test_pm1_labels_equal_01_labels():
    rng = np.random.default_rng(9)
    y = rng.choice([-1, 1], size=(7, 2))
    F = rng.normal(size=(7, 2))
    for name in ("logistic", "binary_hinge"):
        loss = L.get_loss(name)
        Ya = loss.prepare_targets(y)
        Yb = loss.prepare_targets((y + 1) // 2)
        np.testing.assert_array_equal(Ya, Yb)
        assert loss.value(F, Ya) == loss.value(F, Yb)
        np.testing.assert_array_equal(loss.prepare_targets(Ya), Ya)  # idempotent


def test_bad_targets_rejected():
    with pytest.raises(InvalidInputError, match="integer class labels"):
        L.get_loss("cross_entropy").prepare_targets([0.5, 1.0, 2.0])
    with pytest.raises(InvalidInputError, match="one-hot"):
        L.get_loss("hinge").prepare_targets([[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(InvalidInputError, match="probabilities"):
        L.get_loss("cross_entropy").prepare_targets([[0.5, 0.9], [1.0, 0.0]])
    with pytest.raises(InvalidInputError, match="n_classes"):
        L.get_loss("cross_entropy").prepare_targets([0, 1, 5], n_classes=3)
    with pytest.raises(InvalidInputError, match="cross_entropy"):
        L.get_loss("logistic").prepare_targets([0, 1, 2])
    with pytest.raises(InvalidInputError, match="shape"):
        L.get_loss("squared").value(np.zeros((3, 2)), np.zeros((3, 1)))


# ------------------------------------------------------------------------------ gradients


@pytest.mark.parametrize("name", BUILTINS)
def test_grad_matches_finite_differences(name):
    loss, Y, _ = make(name, 11)
    F = np.random.default_rng(12).normal(size=Y.shape) * 2  # a.s. away from kinks
    G = loss.grad(F, Y)
    assert G.shape == Y.shape
    np.testing.assert_allclose(G, fd_grad(lambda A: loss.value(A, Y), F), atol=1e-6)


# ------------------------------------------------------------------------------ conjugates


@pytest.mark.parametrize("name", BUILTINS)
def test_fenchel_young(name):
    loss, Y, _ = make(name, 13)
    rng = np.random.default_rng(14)
    for _ in range(20):
        F = rng.normal(size=Y.shape) * 3
        Z = random_domain_point(name, Y, rng)
        assert loss.in_domain(Z, Y)
        conj = loss.conjugate(Z, Y)
        assert np.isfinite(conj)
        assert loss.value(F, Y) + conj >= np.sum(Z * F) - 1e-9
        # equality at the dual point Z = ∇ℓ(F), which lies in the domain
        G = loss.dual_point(F, Y)
        assert loss.in_domain(G, Y)
        assert loss.value(F, Y) + loss.conjugate(G, Y) == pytest.approx(
            np.sum(G * F), abs=1e-9 * (1 + abs(np.sum(G * F))))
        # star-shaped domain: s Z stays inside for s in [0, 1]
        for s in (0.0, 0.3, 1.0):
            assert loss.in_domain(s * G, Y)
    assert loss.dual_objective(np.zeros_like(Y), Y) <= loss.value(np.zeros_like(Y), Y) + 1e-12


@pytest.mark.parametrize("name", BUILTINS)
def test_conjugate_matches_convex_program(name):
    """ℓ*(Z) = −min_F [ℓ(F) − ⟨Z, F⟩], solved with Clarabel; and conjugate_expr agrees."""
    loss, Y, _ = make(name, 15)
    rng = np.random.default_rng(16)
    for _ in range(3):
        Z = random_domain_point(name, Y, rng, interior=True)
        F = cp.Variable(Y.shape)
        prob = cp.Problem(cp.Minimize(loss.expr(F, Y) - cp.sum(cp.multiply(Z, F))))
        prob.solve(solver=cp.CLARABEL)
        assert prob.status == cp.OPTIMAL
        conj = loss.conjugate(Z, Y)
        assert -prob.value == pytest.approx(conj, rel=1e-5, abs=1e-5)
        Zc = cp.Constant(Z)
        e, cons = loss.conjugate_expr(Zc, Y)
        assert e.is_convex()
        assert float(e.value) == pytest.approx(conj, rel=1e-9, abs=1e-9)
        assert all(np.all(c.violation() <= 1e-9) for c in cons)


@pytest.mark.parametrize("name", ["absolute", "huber", "cross_entropy", "logistic", "hinge",
                                  "binary_hinge"])
def test_outside_domain_is_inf_and_unbounded(name):
    loss, Y, _ = make(name, 17)
    Z = random_domain_point(name, Y, np.random.default_rng(18)) + 1.5  # shifts every entry
    assert not loss.in_domain(Z, Y)
    assert loss.conjugate(Z, Y) == np.inf
    assert loss.dual_objective(Z, Y) == -np.inf
    F = cp.Variable(Y.shape)
    prob = cp.Problem(cp.Minimize(loss.expr(F, Y) - cp.sum(cp.multiply(Z, F))))
    prob.solve(solver=cp.CLARABEL)
    assert prob.status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE)


@pytest.mark.parametrize("name", BUILTINS)
def test_domain_helpers(name):
    loss, Y, _ = make(name, 19)
    rng = np.random.default_rng(20)
    Z = random_domain_point(name, Y, rng) * 3.0  # usually outside, but on a domain ray
    s = loss.domain_scale(Z, Y)
    assert 0.0 <= s <= 1.0
    assert loss.in_domain(loss.scale_into_domain(Z, Y), Y)
    W = rng.normal(size=Y.shape) * 2  # arbitrary point
    assert loss.in_domain(loss.into_domain(W, Y), Y)
    Zin = random_domain_point(name, Y, rng)
    np.testing.assert_allclose(loss.into_domain(Zin, Y), Zin, atol=1e-12)


def test_squared_dual_is_spec_eleven_after_sign_flip():
    rng = np.random.default_rng(21)
    loss = L.get_loss()
    assert loss.name == "squared"
    Y = rng.normal(size=(5, 2))
    Zs = rng.normal(size=(5, 2))  # SPEC's Z (a residual Y - F)
    spec = -0.5 * np.sum((Zs - Y) ** 2) + 0.5 * np.sum(Y ** 2)
    assert loss.dual_objective(-Zs, Y) == pytest.approx(spec, rel=1e-12)
    F = rng.normal(size=(5, 2))
    np.testing.assert_allclose(-loss.dual_point(F, Y), Y - F)


def test_cross_entropy_conjugate_is_negative_entropy():
    loss = L.get_loss("cross_entropy")
    Y = loss.prepare_targets([0, 1], n_classes=2)
    P = np.array([[0.25, 0.75], [0.5, 0.5]])
    ent = -np.sum(P * np.log(P))
    assert loss.dual_objective(P - Y, Y) == pytest.approx(ent, rel=1e-12)
    assert loss.conjugate(np.zeros_like(Y), Y) == 0.0  # -inf ℓ = 0 for one-hot targets


# ------------------------------------------------------------------------------ registry


def test_available_and_parameters():
    names = L.available()
    for name in BUILTINS:
        assert name in names
    assert L.get_loss("huber", delta=0.5) == L.huber(0.5)
    assert L.get_loss("Cross-Entropy").name == "cross_entropy"
    assert L.get_loss(L.absolute()) == L.absolute()
    with pytest.raises(InvalidInputError, match="delta"):
        L.huber(-1.0)
    with pytest.raises(InvalidInputError, match="unexpected parameters"):
        L.get_loss("squared", delta=1.0)
    with pytest.raises(InvalidInputError, match="delta"):
        L.get_loss("huber", width=1.0)


def test_unknown_name_lists_options():
    with pytest.raises(InvalidInputError) as info:
        L.get_loss("sqaured")
    msg = str(info.value)
    assert "sqaured" in msg
    for name in BUILTINS:
        assert repr(name) in msg


@pytest.fixture
def cleanup():
    registered = []
    yield registered
    for name in registered:
        L.unregister(name)


def test_nonconvex_callable_rejected(cleanup):
    with pytest.raises(UnsupportedError, match="not convex"):
        L.register("neg_squares", lambda pred, Y: -cp.sum_squares(pred - Y))
    assert "neg_squares" not in L.available()
    with pytest.raises(UnsupportedError, match="not convex"):
        L.get_loss(lambda pred, Y: cp.sum(cp.sqrt(pred)))
    with pytest.raises(UnsupportedError, match="scalar"):
        L.register("elementwise", lambda pred, Y: cp.square(pred - Y))
    with pytest.raises(UnsupportedError, match="CVXPY expression"):
        L.register("numpy", lambda pred, Y: 1.0)


def test_nonconvex_callable_rejected_on_first_use():
    # fails on the (4, 2) trial input, so it is checked when used
    def odd(pred, Y):
        if pred.shape[1] != 3:
            raise ValueError("three outputs only")
        return -cp.sum(cp.abs(pred))

    loss = L.get_loss(odd)
    with pytest.raises(UnsupportedError, match="not convex"):
        loss.expr(cp.Variable((2, 3)), np.zeros((2, 3)))


def test_custom_loss(cleanup):
    tau = 0.3

    def pinball(pred, Y):
        R = Y - pred
        return cp.sum(cp.maximum(tau * R, (tau - 1) * R))

    loss = L.register("pinball", pinball)
    cleanup.append("pinball")
    assert "pinball" in L.available()
    assert L.get_loss("pinball") is loss
    assert not loss.supports_conjugate
    rng = np.random.default_rng(22)
    Y = loss.prepare_targets(rng.normal(size=8))
    F = rng.normal(size=(8, 1))
    R = Y - F
    ref = np.sum(np.maximum(tau * R, (tau - 1) * R))
    assert loss.value(F, Y) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(loss.grad(F, Y), np.where(R > 0, -tau, 1 - tau), atol=1e-6)
    with pytest.raises(UnsupportedError, match="conjugate"):
        loss.conjugate(np.zeros_like(Y), Y)
    V = cp.Variable((8, 1))
    prob = cp.Problem(cp.Minimize(loss.expr(V, Y)))
    prob.solve(solver=cp.CLARABEL)
    assert prob.value == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(InvalidInputError, match="already registered"):
        L.register("pinball", pinball)
    with pytest.raises(InvalidInputError, match="built-in"):
        L.register("squared", pinball)


def test_custom_loss_with_conjugate(cleanup):
    # ½‖F − Y‖² written by hand, with its conjugate: behaves like the built-in
    loss = L.register(
        "my_squared", lambda p, Y: 0.5 * cp.sum_squares(p - Y),
        grad=lambda F, Y: F - Y,
        conjugate=lambda Z, Y: 0.5 * np.sum(Z ** 2) + np.sum(Z * Y),
    )
    cleanup.append("my_squared")
    rng = np.random.default_rng(23)
    Y, F = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    ref = L.squared()
    assert loss.value(F, Y) == pytest.approx(ref.value(F, Y))
    Z = loss.dual_point(F, Y)
    assert loss.dual_objective(Z, Y) == pytest.approx(ref.dual_objective(Z, Y))


# ------------------------------------------------------------------------------ duality


@pytest.mark.parametrize("name", BUILTINS)
def test_strong_duality_linear_model(name):
    """min_W ℓ(XW) + β‖W‖_F = max_Z −ℓ*(Z) s.t. ‖XᵀZ‖_F ≤ β: the convention of (78)–(79)
    with the ReLU cuts replaced by a linear model; the scaled dual point is a lower bound."""
    loss, Y, _ = make(name, 24)
    rng = np.random.default_rng(25)
    X = rng.normal(size=(Y.shape[0], 2))
    beta = 0.5
    W = cp.Variable((2, Y.shape[1]))
    primal = cp.Problem(cp.Minimize(loss.expr(X @ W, Y) + beta * cp.norm(W, "fro")))
    primal.solve(solver=cp.CLARABEL)
    Z = cp.Variable(Y.shape)
    conj, cons = loss.conjugate_expr(Z, Y)
    dual = cp.Problem(cp.Maximize(-conj), cons + [cp.norm(X.T @ Z, "fro") <= beta])
    dual.solve(solver=cp.CLARABEL)
    assert dual.value == pytest.approx(primal.value, rel=1e-5, abs=1e-6)
    # the dual point of the primal solution, scaled into feasibility, certifies a lower bound
    F = X @ W.value
    G = loss.dual_point(F, Y)
    s = min(1.0, beta / max(np.linalg.norm(X.T @ G), 1e-300))
    lower = loss.dual_objective(s * G, Y)
    assert np.isfinite(lower)
    assert lower <= primal.value + 1e-7
    Zd = loss.into_domain(Z.value, Y)
    assert loss.dual_objective(Zd, Y) >= primal.value - 1e-4 * (1 + abs(primal.value))


def test_scalar_shaped_user_loss_accepted():
    loss = L.get_loss(lambda p, Y: cp.sum(cp.abs(p - Y), keepdims=True))
    e = loss.expr(cp.Variable((3, 1)), np.zeros((3, 1)))
    assert e.shape == ()
    assert loss.value(np.ones((3, 1)), np.zeros((3, 1))) == pytest.approx(3.0)


# ------------------------------------------------------------------------------ classes


def test_losses_are_classes():
    classes = {"squared": L.SquaredLoss, "cross_entropy": L.CrossEntropyLoss,
               "logistic": L.LogisticLoss, "hinge": L.HingeLoss,
               "binary_hinge": L.BinaryHingeLoss, "huber": L.HuberLoss,
               "absolute": L.AbsoluteLoss}
    for name, cls in classes.items():
        inst = getattr(L, name)()
        assert type(inst) is cls and isinstance(inst, L.Loss)
        assert inst.name == name
        assert L.get_loss(name) == inst and hash(L.get_loss(name)) == hash(inst)
        assert L.get_loss(inst) is inst          # prepared once, passed through
    assert L.huber(0.5) != L.huber(1.0)
    assert L.squared() != L.absolute()
    assert repr(L.huber(0.5)) == "HuberLoss(delta=0.5)"
    user = L.get_loss(lambda p, Y: cp.sum(cp.abs(p - Y)))
    assert isinstance(user, L.UserLoss) and not user.supports_conjugate


SMOOTH = ["squared", "cross_entropy", "logistic", "huber"]


@pytest.mark.parametrize("name", SMOOTH)
def test_hessian_blocks_match_finite_differences_of_the_gradient(name):
    loss, Y, _ = make(name, 30)
    F = np.random.default_rng(31).normal(size=Y.shape) * 2   # a.s. away from Huber's kinks
    H = loss.hessian_blocks(F, Y)
    n, c = Y.shape
    assert H.shape == (n, c, c)
    h = 1e-6
    for j in range(c):
        E = np.zeros_like(F)
        E[:, j] = h
        col = (loss.gradient(F + E, Y) - loss.gradient(F - E, Y)) / (2 * h)  # rows separate
        np.testing.assert_allclose(H[:, :, j], col, atol=1e-6)
    # the Lipschitz bound dominates every block
    assert np.max(np.linalg.eigvalsh(H)) <= loss.lipschitz_bound(Y) + 1e-12
    assert loss.smooth and loss.smoothed(0.1) is loss


@pytest.mark.parametrize("name", ["hinge", "binary_hinge", "absolute"])
def test_smoothings_bracket_the_loss_and_give_dual_points(name):
    loss, Y, _ = make(name, 32)
    rng = np.random.default_rng(33)
    assert not loss.smooth
    with pytest.raises(UnsupportedError, match="no Hessian"):
        loss.hessian_blocks(np.zeros_like(Y), Y)
    for mu in (1.0, 0.1, 1e-3):
        sm = loss.smoothed(mu)
        assert sm.smooth
        for _ in range(5):
            F = rng.normal(size=Y.shape) * 2
            v, vs = loss.value(F, Y), sm.value(F, Y)
            assert vs <= v + 1e-12 <= vs + mu * loss.smoothing_gap(Y) + 2e-12
            # its gradient is a point of dom ℓ* of the ORIGINAL loss (valid dual bounds)
            G = sm.gradient(F, Y)
            assert loss.in_domain(G, Y)
            np.testing.assert_allclose(G, fd_grad(lambda A: sm.value(A, Y), F, h=1e-7),
                                       atol=1e-5)
            assert sm.value(F, Y) == pytest.approx(float(sm.expr(cp.Constant(F), Y).value),
                                                   rel=1e-9, abs=1e-12)
            H = sm.hessian_blocks(F, Y)
            assert np.max(np.linalg.eigvalsh(H)) <= sm.lipschitz_bound(Y) * (1 + 1e-12)
    # smoothing → the loss as μ → 0
    F = rng.normal(size=Y.shape)
    assert loss.smoothed(1e-9).value(F, Y) == pytest.approx(loss.value(F, Y), abs=1e-6)


def test_smoothed_hinge_hessian_matches_finite_differences():
    loss, Y, _ = make("hinge", 34)
    sm = loss.smoothed(2.0)   # wide quadratic zone: most margins inside it
    F = np.random.default_rng(35).normal(size=Y.shape)
    H = sm.hessian_blocks(F, Y)
    h = 1e-7
    for j in range(Y.shape[1]):
        E = np.zeros_like(F)
        E[:, j] = h
        col = (sm.gradient(F + E, Y) - sm.gradient(F - E, Y)) / (2 * h)
        np.testing.assert_allclose(H[:, :, j], col, atol=1e-5)
