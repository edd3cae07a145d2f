"""One test per validation rule of every public entry point.

Each case asserts the exception type (a subclass of :class:`cvxrelu.CvxReluError`) and that
the message names the offending argument, so that the user knows what to change. Cases
marked ``xfail(strict=True, reason="BUG: ...")`` document a missing or wrong validation in
the library; they turn into failures (and must be unmarked) once the library is fixed.
"""

import re

import cvxpy as cp
import numpy as np
import pytest

import cvxrelu as cr

pytestmark = [
    pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

RNG = np.random.default_rng(20240601)
X = RNG.standard_normal((8, 2))
Y = RNG.standard_normal((8, 2))
BETA = 0.1
IMAGES = RNG.standard_normal((3, 1, 4, 4))
YC = RNG.standard_normal((3, 1))
XW = cr.whiten(RNG.standard_normal((3, 5))).X           # whitened, n <= d
NET = cr.ReLUNetwork(RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2)))


def _call_driver(name, *args, **kwargs):
    return getattr(cr, name)(*args, **kwargs)


def _names(message: str, name: str) -> bool:
    """Whether the argument name occurs in the message as a whole word."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def _check(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    assert isinstance(info.value, cr.CvxReluError), type(info.value)
    assert _names(str(info.value), name), f"message does not name {name!r}: {info.value}"


def bug(reason):
    return pytest.mark.xfail(strict=True, reason=f"BUG: {reason}")


def case(call, exc, name, id, marks=()):
    return pytest.param(call, exc, name, id=id, marks=marks)


II = cr.InvalidInputError
UE = cr.UnsupportedError
PL = cr.PatternLimitError

# ------------------------------------------------------------- data arguments (all builders)
DATA_CASES = [
    case(lambda: cr.bidual(X[:, 0], Y, BETA), II, "X", "X-1d"),
    case(lambda: cr.bidual(np.zeros((2, 2, 2)), Y, BETA), II, "X", "X-3d"),
    case(lambda: cr.bidual([["a", "b"]], [1.0], BETA), II, "X", "X-strings"),
    case(lambda: cr.bidual(np.array([[1.0, None]], dtype=object), [1.0], BETA), II, "X",
         "X-object-None"),
    case(lambda: cr.bidual(np.array([[1.0, {}]], dtype=object), [1.0], BETA), II, "X",
         "X-object-dict"),
    case(lambda: cr.bidual(np.where(np.eye(8, 2) > 0, np.nan, X), Y, BETA), II, "X", "X-nan"),
    case(lambda: cr.bidual(np.where(np.eye(8, 2) > 0, np.inf, X), Y, BETA), II, "X", "X-inf"),
    case(lambda: cr.bidual(None, Y, BETA), II, "X", "X-None"),
    case(lambda: cr.bidual(np.zeros((0, 2)), np.zeros((0, 1)), BETA), II, "X", "X-no-rows"),
    case(lambda: cr.bidual(np.zeros((3, 0)), np.zeros((3, 1)), BETA), II, "X", "X-no-columns"),
    case(lambda: cr.bidual(np.zeros((3, 2)), np.ones(3), BETA), II, "X", "X-identically-zero"),
    case(lambda: cr.bidual(X * (1 + 1j), Y, BETA), II, "X", "X-complex"),
    case(lambda: cr.bidual(X, Y[:5], BETA), II, "Y", "Y-wrong-rows"),
    case(lambda: cr.bidual(X, Y[:, :, None], BETA), II, "Y", "Y-3d"),
    case(lambda: cr.bidual(X, np.zeros((8, 0)), BETA), II, "Y", "Y-no-columns"),
    case(lambda: cr.bidual(X, np.full(8, np.inf), BETA), II, "Y", "Y-inf"),
    case(lambda: cr.bidual(X, np.where(np.eye(8, 2) > 0, np.nan, Y), BETA), II, "Y", "Y-nan"),
    case(lambda: cr.bidual(X, np.array(["a"] * 8), BETA), II, "Y", "Y-strings"),
    case(lambda: cr.bidual(X, None, BETA), II, "Y", "Y-None"),
    case(lambda: cr.bidual(X, Y * (1 + 1j), BETA), II, "Y", "Y-complex"),
]

# ---------------------------------------------------------------------------------- beta
BETA_CASES = [
    case(lambda: cr.bidual(X, Y, 0.0), II, "beta", "beta-zero"),
    case(lambda: cr.bidual(X, Y, -1.0), II, "beta", "beta-negative"),
    case(lambda: cr.bidual(X, Y, float("nan")), II, "beta", "beta-nan"),
    case(lambda: cr.bidual(X, Y, float("inf")), II, "beta", "beta-inf"),
    case(lambda: cr.bidual(X, Y, "a"), II, "beta", "beta-string"),
    case(lambda: cr.bidual(X, Y, None), II, "beta", "beta-None"),
    case(lambda: cr.bidual(X, Y, np.array([0.1, 0.2])), II, "beta", "beta-array"),
    case(lambda: cr.bidual(X, Y, 0.1 + 1j), II, "beta", "beta-complex"),
    case(lambda: cr.bidual(X, Y, True), II, "beta", "beta-bool"),
    case(lambda: cr.bidual(X, Y, "0.1"), II, "beta", "beta-numeric-string"),
    case(lambda: cr.copositive(X, Y, -0.1), II, "beta", "copositive-beta"),
    case(lambda: cr.spike_free(np.eye(3), np.ones(3), 0), II, "beta", "spike_free-beta"),
    case(lambda: cr.conv_bidual(IMAGES, YC, 0.0, kernel_size=2), II, "beta", "conv-beta"),
    case(lambda: cr.closed_form(XW, np.ones(3), -1), II, "beta", "closed_form-beta"),
    case(lambda: NET.objective(X, Y, 0), II, "beta", "objective-beta-zero"),
    case(lambda: NET.objective(X, Y, np.nan), II, "beta", "objective-beta-nan"),
]


def _solve_with_beta(value):
    f = cr.bidual(X, Y, BETA)
    f.beta.value = value
    return f.solve()


BETA_CASES.append(case(lambda: _solve_with_beta(0.0), II, "beta", "parameter-beta-zero"))

# --------------------------------------------------------------------------- sign_patterns
PATTERN_CASES = [
    case(lambda: cr.sign_patterns(X, method="foo"), II, "method", "method-unknown"),
    case(lambda: cr.sign_patterns(X, method="sample", n_samples=0), II, "n_samples",
         "n_samples-zero"),
    case(lambda: cr.sign_patterns(X, method="sample", n_samples=10.5), II, "n_samples",
         "n_samples-float"),
    case(lambda: cr.sign_patterns(X, n_samples=-3), II, "n_samples", "n_samples-ignored-by-auto"),
    case(lambda: cr.sign_patterns(X, method="sample", seed="a"), II, "seed", "seed-string"),
    case(lambda: cr.sign_patterns(X, max_patterns=0), II, "max_patterns", "max_patterns-zero"),
    case(lambda: cr.sign_patterns(X, max_patterns=10.0), II, "max_patterns",
         "max_patterns-float"),
    case(lambda: cr.sign_patterns(np.array([[np.nan, 1.0]])), II, "X", "X-nan"),
    case(lambda: cr.sign_patterns("abc"), II, "X", "X-string"),
    case(lambda: cr.sign_patterns(np.zeros((4, 3))), II, "X", "X-zero"),
    case(lambda: cr.sign_patterns(X, method="exact", max_patterns=3), PL, "max_patterns",
         "limit-exact-rank2"),
    case(lambda: cr.sign_patterns(RNG.standard_normal((200, 4)), method="exact",
                                  max_patterns=100), PL, "max_patterns", "limit-exact-rank4"),
    case(lambda: cr.sign_patterns(RNG.standard_normal((400, 8)), method="exact"), PL,
         "max_patterns", "limit-default"),
    # the worst-case count fits max_patterns but its (n × P) masks would need > 4 GiB
    case(lambda: cr.sign_patterns(RNG.standard_normal((2000, 4)), method="exact",
                                  max_patterns=10 ** 12), PL, "max_patterns", "limit-memory"),
]

# ------------------------------------------------------------------ bidual / copositive
BUILDER_CASES = [
    case(lambda: cr.bidual(X, Y, BETA, form="bogus"), II, "form", "bidual-form"),
    case(lambda: cr.bidual(X, Y, BETA, form=None), II, "form", "bidual-form-None"),
    case(lambda: cr.bidual(X, Y, BETA, loss="bogus"), II, "loss", "bidual-loss"),
    case(lambda: cr.bidual(X, Y, BETA, loss=3), II, "loss", "bidual-loss-int"),
    case(lambda: cr.bidual(X, Y, BETA, patterns=np.ones((3, 2), bool)), II, "patterns",
         "bidual-patterns-shape"),
    case(lambda: cr.bidual(X, Y, BETA, patterns=np.full((8, 2), 2)), II, "patterns",
         "bidual-patterns-values"),
    case(lambda: cr.bidual(X, Y, BETA, patterns="abc"), II, "patterns", "bidual-patterns-str"),
    case(lambda: cr.bidual(X, Y, BETA, patterns=cr.sign_patterns(X[:5])), II, "patterns",
         "bidual-patterns-other-n"),
    case(lambda: cr.bidual(X, Y, BETA, patterns=cr.sign_patterns(RNG.standard_normal((8, 2)))),
         II, "patterns", "bidual-patterns-other-data"),
    case(lambda: cr.bidual(X, Y, BETA, patterns=np.zeros((8, 0), bool)), II, "patterns",
         "bidual-patterns-empty"),
    case(lambda: cr.copositive(X, Y, BETA, loss="hinge"), UE, "loss", "copositive-loss"),
    case(lambda: cr.copositive(X, Y, BETA, form="inner"), II, "form", "copositive-form"),
    case(lambda: cr.copositive(X, Y[:3], BETA), II, "Y", "copositive-Y-rows"),
    case(lambda: cr.copositive(np.full((2, 2), np.nan), Y[:2], BETA), II, "X", "copositive-X"),
    case(lambda: cr.copositive(X, Y, BETA, patterns=np.ones((3, 2), bool)), II, "patterns",
         "copositive-patterns"),
    case(lambda: cr.spike_free(X, Y, BETA, program="foo"), II, "program", "spike_free-program"),
    case(lambda: cr.spike_free(np.eye(3), np.ones(3), BETA, form="foo"), II, "form",
         "spike_free-form"),
    case(lambda: cr.spike_free(np.eye(3), np.ones(2), BETA), II, "Y", "spike_free-Y-rows"),
    case(lambda: cr.spike_free(np.array([[np.nan]]), np.ones(1), BETA), II, "X",
         "spike_free-X-nan"),
    case(lambda: cr.spike_free(np.array([[1.0], [-1.0]]), np.ones(2), BETA, check=False), II,
         "X", "spike_free-empty-cell"),
]

# ------------------------------------------------------------------- conv_bidual / patches
CONV_CASES = [
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=5), II, "kernel_size",
         "conv-kernel-larger-than-image"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=0), II, "kernel_size",
         "conv-kernel-zero"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=2.0), II, "kernel_size",
         "conv-kernel-float"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=2, stride=0), II, "stride",
         "conv-stride"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=2, padding=-1), II, "padding",
         "conv-padding"),
    case(lambda: cr.conv_bidual(np.zeros((3, 4)), YC, BETA, kernel_size=2), II, "images",
         "conv-images-2d"),
    case(lambda: cr.conv_bidual(np.full((3, 1, 4, 4), np.nan), YC, BETA, kernel_size=2), II,
         "images", "conv-images-nan"),
    case(lambda: cr.conv_bidual("abc", YC, BETA, kernel_size=2), II, "images",
         "conv-images-string"),
    case(lambda: cr.conv_bidual(np.zeros((0, 1, 4, 4)), np.zeros((0, 1)), BETA, kernel_size=2),
         II, "images", "conv-images-empty"),
    case(lambda: cr.conv_bidual(np.zeros((3, 1, 4, 4)), YC, BETA, kernel_size=2), II, "images",
         "conv-images-zero"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=2, pooling="max"), II, "pooling",
         "conv-pooling"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=2, form="x"), II, "form",
         "conv-form"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=2, loss="nope"), II, "loss",
         "conv-loss"),
    case(lambda: cr.conv_bidual(IMAGES, YC[:2], BETA, kernel_size=2), II, "Y", "conv-Y-rows"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=2, patterns=np.ones((3, 2), bool)),
         II, "patterns", "conv-patterns"),
    case(lambda: cr.conv_bidual(IMAGES, YC, BETA, kernel_size=3, seed="x"), II, "seed",
         "conv-seed"),
    case(lambda: cr.patches(IMAGES, kernel_size=(5, 2)), II, "kernel_size",
         "patches-kernel-larger-than-image"),
    case(lambda: cr.patches(np.zeros((1, 1, 2, 2)), kernel_size=3, padding=0), II,
         "kernel_size", "patches-kernel-larger-than-small-image"),
    case(lambda: cr.patches(IMAGES, kernel_size=True), II, "kernel_size", "patches-kernel-bool"),
    case(lambda: cr.patches(IMAGES, kernel_size=2, stride=0), II, "stride", "patches-stride"),
    case(lambda: cr.patches(IMAGES, kernel_size=2, stride=(1, 1, 1)), II, "stride",
         "patches-stride-triple"),
    case(lambda: cr.patches(IMAGES, kernel_size=2, padding=-1), II, "padding",
         "patches-padding"),
    case(lambda: cr.patches(np.zeros((1, 1, 1, 4, 4)), kernel_size=2), II, "images",
         "patches-5d"),
    case(lambda: cr.patches(np.full((1, 1, 4, 4), np.inf), kernel_size=2), II, "images",
         "patches-inf"),
    case(lambda: cr.patches(np.zeros((1, 0, 4, 4)), kernel_size=2), II, "images",
         "patches-no-channels"),
    case(lambda: cr.patch_matrix(np.zeros((2, 2))), II, "P", "patch_matrix-2d"),
]

# ----------------------------------------------------------------- closed_form / whiten
CLOSED_CASES = [
    case(lambda: cr.closed_form(XW, np.ones(4), BETA), II, "Y", "closed_form-Y-rows"),
    case(lambda: cr.closed_form(XW, np.array([1.0, np.nan, 1.0]), BETA), II, "Y",
         "closed_form-Y-nan"),
    case(lambda: cr.closed_form(np.full((3, 5), np.nan), np.ones(3), BETA), II, "X",
         "closed_form-X-nan"),
    case(lambda: cr.closed_form(np.ones(3), np.ones(3), BETA), II, "X", "closed_form-X-1d"),
    case(lambda: cr.closed_form(XW, np.ones(3), BETA, tol=0), II, "tol", "closed_form-tol-zero"),
    case(lambda: cr.closed_form(XW, np.ones(3), BETA, tol="a"), II, "tol",
         "closed_form-tol-string"),
    case(lambda: cr.whiten(X, method="foo"), II, "method", "whiten-method"),
    case(lambda: cr.whiten(X, eps=-1), II, "eps", "whiten-eps-negative"),
    case(lambda: cr.whiten(X, eps="a"), II, "eps", "whiten-eps-string"),
    case(lambda: cr.whiten(np.ones((3, 5))), II, "rank", "whiten-rank-deficient"),
    case(lambda: cr.whiten(np.zeros((3, 5))), II, "X", "whiten-zero"),
    case(lambda: cr.whiten(np.full((3, 5), np.nan)), II, "X", "whiten-nan"),
    case(lambda: cr.whiten(np.ones(3)), II, "X", "whiten-1d"),
    case(lambda: cr.whiten(X).transform(np.zeros((2, 3))), II, "X_new", "whiten-transform"),
    case(lambda: cr.whiten(X, rtol=-1.0), II, "rtol", "whiten-rtol-negative"),
    case(lambda: cr.whiten(X, rtol="a"), II, "rtol", "whiten-rtol-string"),
]

# --------------------------------------------------------------------------- ReLUNetwork
NETWORK_CASES = [
    case(lambda: cr.ReLUNetwork(np.ones(3), np.ones(3)), II, "W1", "net-W1-1d"),
    case(lambda: cr.ReLUNetwork(np.ones((2, 3)), np.ones((3, 1, 1))), II, "W2", "net-W2-3d"),
    case(lambda: cr.ReLUNetwork(np.ones((2, 3)), np.ones((4, 1))), II, "W2", "net-mismatch"),
    case(lambda: cr.ReLUNetwork(np.full((2, 3), np.nan), np.ones((3, 1))), II, "W1", "net-nan"),
    case(lambda: cr.ReLUNetwork(np.ones((2, 3)), np.full((3, 1), np.inf)), II, "W2", "net-inf"),
    case(lambda: cr.ReLUNetwork(None, None), II, "W1", "net-None"),
    case(lambda: cr.ReLUNetwork([["a"]], [[1.0]]), II, "W1", "net-strings"),
    case(lambda: cr.ReLUNetwork(np.ones((2, 3)) * 1j, np.ones((3, 1))), II, "W1",
         "net-complex"),
    case(lambda: cr.ReLUNetwork(np.zeros((0, 3)), np.zeros((3, 1))), II, "W1", "net-d-zero"),
    case(lambda: cr.ReLUNetwork(np.zeros((2, 3)), np.zeros((3, 0))), II, "W2", "net-c-zero"),
    case(lambda: NET.objective(np.ones((8, 3)), Y, BETA), II, "X", "objective-X-features"),
    case(lambda: NET.objective(X, np.ones((8, 3)), BETA), II, "Y", "objective-Y-columns"),
    case(lambda: NET.objective(X, np.ones((7, 2)), BETA), II, "Y", "objective-Y-rows"),
    case(lambda: NET.objective(np.full((8, 2), np.nan), Y, BETA), II, "X", "objective-X-nan"),
    case(lambda: NET.objective("ab", Y, BETA), II, "X", "objective-X-string"),
    case(lambda: NET.objective(X, Y, BETA, loss="bogus"), II, "loss", "objective-loss"),
    case(lambda: NET.predict(np.ones((8, 3))), II, "X", "predict-X-features"),
]

# ----------------------------------------------------------------------------- cone_gauge
V = cp.Variable((2, 3))
GAUGE_CASES = [
    case(lambda: cr.cone_gauge(V, A=np.eye(2), form="x"), II, "form", "gauge-form"),
    case(lambda: cr.cone_gauge(V), II, "A", "gauge-no-cell"),
    case(lambda: cr.cone_gauge(V, A=np.eye(3)), II, "A", "gauge-A-shape"),
    case(lambda: cr.cone_gauge(V, A=np.ones((3, 2))), II, "A", "gauge-A-rank"),
    case(lambda: cr.cone_gauge(V, rays=np.eye(3)), II, "rays", "gauge-rays-shape"),
    case(lambda: cr.cone_gauge(V, rays=np.eye(2), form="paper"), II, "A", "gauge-paper-needs-A"),
    case(lambda: cr.cone_gauge(cp.Variable((2, 2, 2)), A=np.eye(2)), II, "V", "gauge-V-3d"),
    case(lambda: cr.cone_gauge(V, A=np.array([[1.0, 0.0], [0.0, np.nan]])), II, "A",
         "gauge-A-nan"),
    case(lambda: cr.cone_gauge(V, A=[["a", "b"]]), II, "A", "gauge-A-strings"),
    case(lambda: cr.cone_gauge(V, rays=np.array([[1.0, 0.0], [0.0, np.nan]])), II, "rays",
         "gauge-rays-nan"),
    case(lambda: cr.cone_gauge(V, rays=np.array([[1.0, 0.0], [0.0, 0.0]])), II, "rays",
         "gauge-rays-zero-column"),
]

# ------------------------------------------------------------------------------ train_sgd
SGD_CASES = [
    case(lambda: cr.train_sgd(X, Y, 0, epochs=2), II, "beta", "sgd-beta"),
    case(lambda: cr.train_sgd(X, Y, BETA, m=0, epochs=2), II, "m", "sgd-m-zero"),
    case(lambda: cr.train_sgd(X, Y, BETA, m=2.5, epochs=2), II, "m", "sgd-m-float"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=0), II, "epochs", "sgd-epochs"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, optimizer="lbfgs"), II, "optimizer",
         "sgd-optimizer"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, momentum=1.0), II, "momentum",
         "sgd-momentum"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, lr=-1), II, "lr", "sgd-lr-negative"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, lr=np.nan), II, "lr", "sgd-lr-nan"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, loss="x"), II, "loss", "sgd-loss"),
    case(lambda: cr.train_sgd(X, Y[:3], BETA, epochs=2), II, "Y", "sgd-Y-rows"),
    case(lambda: cr.train_sgd(np.full((8, 2), np.nan), Y, BETA, epochs=2), II, "X", "sgd-X-nan"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, seed="a"), II, "seed", "sgd-seed"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, factor=1.5), II, "factor", "sgd-factor"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, patience=0), II, "patience",
         "sgd-patience"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, threshold=-1), II, "threshold",
         "sgd-threshold"),
    case(lambda: cr.train_sgd(X, Y, BETA, epochs=2, min_lr=-1), II, "min_lr", "sgd-min_lr"),
]

# --------------------------------------------------------------------------------- drivers
DRIVER_CASES = [
    case(lambda: _call_driver("certify", NET, X, Y, 0), II, "beta", "certify-beta"),
    case(lambda: _call_driver("certify", "x", X, Y, BETA), II, "network", "certify-network"),
    case(lambda: _call_driver("certify", NET, np.ones((8, 3)), Y, BETA), II, "X",
         "certify-X-features"),
    case(lambda: _call_driver("certify", NET, X, np.ones((8, 3)), BETA), II, "Y",
         "certify-Y-columns"),
    case(lambda: _call_driver("certify", NET, X, Y[:3], BETA), II, "Y", "certify-Y-rows"),
    case(lambda: _call_driver("certify", NET, np.full((8, 2), np.nan), Y, BETA), II, "X",
         "certify-X-nan"),
    case(lambda: _call_driver("certify", NET, X, Y, BETA, tol=-1), II, "tol", "certify-tol"),
    case(lambda: _call_driver("certify", cr.ReLUNetwork(np.ones((5, 1)), np.ones((1, 2))),
                              RNG.standard_normal((8, 5)), Y, BETA, oracle="exact"),
         UE, "rank", "certify-exact-oracle-rank5"),
    case(lambda: _call_driver("certify", NET, X, Y, BETA, oracle="x"), II, "oracle",
         "certify-oracle"),
    case(lambda: _call_driver("frank_wolfe", X, Y, 0, progress=False), II, "beta", "fw-beta"),
    case(lambda: _call_driver("frank_wolfe", X, Y, BETA, variant="x", progress=False), II,
         "variant", "fw-variant"),
    case(lambda: _call_driver("frank_wolfe", X, Y, BETA, t=-1, progress=False), II, "t",
         "fw-t"),
    case(lambda: _call_driver("frank_wolfe", X, Y, BETA, max_iters=0, progress=False), II,
         "max_iters", "fw-max_iters"),
    case(lambda: _call_driver("frank_wolfe", X, Y, BETA, oracle="y", progress=False), II,
         "oracle", "fw-oracle"),
    case(lambda: _call_driver("cutting_plane", X, Y, BETA, method="x", progress=False), II,
         "method", "cp-method"),
    case(lambda: _call_driver("cutting_plane", X, Y, BETA, n_cuts=0, progress=False), II,
         "n_cuts", "cp-n_cuts"),
    case(lambda: _call_driver("cutting_plane", X, Y, BETA, tol=np.inf, progress=False), II,
         "tol", "cp-tol"),
    case(lambda: _call_driver("cutting_plane", X, Y, BETA, time_limit=-1, progress=False), II,
         "time_limit", "cp-time_limit"),
    case(lambda: _call_driver("cutting_plane", X, Y[:2], BETA, progress=False), II, "Y",
         "cp-Y-rows"),
    case(lambda: _call_driver("cutting_plane", X, Y, BETA, oracle="nope", progress=False), II,
         "oracle", "cp-oracle"),
]


@pytest.mark.parametrize("call, exc, name", DATA_CASES + BETA_CASES)
def test_data_and_beta(call, exc, name):
    _check(call, exc, name)


@pytest.mark.parametrize("call, exc, name", PATTERN_CASES)
def test_sign_patterns(call, exc, name):
    _check(call, exc, name)


@pytest.mark.parametrize("call, exc, name", BUILDER_CASES)
def test_builders(call, exc, name):
    _check(call, exc, name)


@pytest.mark.parametrize("call, exc, name", CONV_CASES)
def test_conv_and_patches(call, exc, name):
    _check(call, exc, name)


@pytest.mark.parametrize("call, exc, name", CLOSED_CASES)
def test_closed_form_and_whiten(call, exc, name):
    _check(call, exc, name)


@pytest.mark.parametrize("call, exc, name", NETWORK_CASES)
def test_network(call, exc, name):
    _check(call, exc, name)


@pytest.mark.parametrize("call, exc, name", GAUGE_CASES)
def test_cone_gauge(call, exc, name):
    _check(call, exc, name)


@pytest.mark.parametrize("call, exc, name", SGD_CASES)
def test_train_sgd(call, exc, name):
    _check(call, exc, name)


def test_train_sgd_unusable_device():
    pytest.importorskip("torch")
    _check(lambda: cr.train_sgd(X, Y, BETA, epochs=2, device="nope"), II, "device")


@pytest.mark.parametrize("call, exc, name", DRIVER_CASES)
def test_drivers(call, exc, name):
    _check(call, exc, name)


# ------------------------------------------------------------------------------- solvers
def test_unknown_solver_name():
    f = cr.bidual(X, Y, BETA)
    _check(lambda: f.solve(solver="NO_SUCH_SOLVER"), cr.SolverNotInstalledError, "NO_SUCH_SOLVER")
    assert f.value is None


def test_solver_not_a_string():
    f = cr.bidual(X, Y, BETA)
    _check(lambda: f.solve(solver=3), II, "solver")


def test_missing_solver():
    f = cr.bidual(X, Y, BETA)
    missing = next(s for s in ("MOSEK", "GUROBI", "COPT", "XPRESS", "NO_SUCH_SOLVER")
                   if s not in cp.installed_solvers())
    _check(lambda: f.solve(solver=missing), cr.SolverNotInstalledError, missing)
    assert f.value is None


def test_no_conic_solver_installed(monkeypatch):
    from cvxrelu.programs import solvers

    f = cr.bidual(X, Y, BETA)
    monkeypatch.setattr(cp, "installed_solvers", lambda: ["OSQP"])
    if hasattr(solvers, "_installed"):          # the library caches cvxpy's solver probe
        monkeypatch.setattr(solvers, "_installed", lambda: ("OSQP",))
    with pytest.raises(cr.SolverNotInstalledError, match="clarabel"):
        f.solve()
    assert f.value is None


def test_solver_that_cannot_handle_cones():
    f = cr.bidual(X, Y, BETA)
    if "OSQP" not in cp.installed_solvers():
        pytest.skip("OSQP not installed")
    _check(lambda: f.solve(solver="OSQP"), cr.SolverError, "OSQP")
    assert f.value is None


def test_mosek_without_license():
    from cvxrelu.programs.solvers import mosek_available

    if "MOSEK" not in cp.installed_solvers():
        pytest.skip("MOSEK is not installed")
    if mosek_available():
        pytest.skip("MOSEK is installed and licensed")
    f = cr.bidual(X, Y, BETA)
    _check(lambda: f.solve(solver="MOSEK"), cr.SolverNotInstalledError, "MOSEK")
    assert f.value is None


def test_scs_iteration_limit():
    f = cr.bidual(X, Y, BETA)
    with pytest.raises(cr.SolverError, match="SCS") as info:
        f.solve(solver="SCS", max_iters=2)
    assert not isinstance(info.value, cr.SolverNotInstalledError)
    assert f.value is None
    with pytest.raises(cr.InvalidInputError, match="solve"):
        f.network()


def test_failed_solve_clears_previous_value():
    f = cr.bidual(X, Y, BETA)
    assert f.solve() > 0
    with pytest.raises(cr.SolverError):
        f.solve(solver="SCS", max_iters=2)
    assert f.value is None


@pytest.mark.parametrize("setting", [{"max_iter": 1}, {"time_limit": 1e-6}])
def test_clarabel_iteration_or_time_limit(setting):
    f = cr.bidual(X, Y, BETA)
    with pytest.raises(cr.SolverError, match="limit"):
        f.solve(solver="CLARABEL", **setting)
    assert f.value is None


@pytest.mark.parametrize("solver", ["CLARABEL", "SCS"])
def test_unknown_solver_option(solver):
    f = cr.bidual(X, Y, BETA)
    _check(lambda: f.solve(solver=solver, bogus=1), cr.CvxReluError, "bogus")


def test_network_before_solve_and_after_beta_change():
    f = cr.bidual(X, Y, BETA)
    _check(f.network, II, "solve")
    f.solve()
    f.beta.value = 2 * BETA
    _check(f.network, II, "beta")
