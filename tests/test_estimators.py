"""scikit-learn estimators: the estimator checks, pipelines, and agreement with cr.bidual."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

import cvxrelu as cr  # noqa: E402
from cvxrelu.errors import InvalidInputError  # noqa: E402
from cvxrelu.estimators import ConvexReLUClassifier, ConvexReLURegressor  # noqa: E402

# check_classifiers_train fits 2-D blobs with n = 300 four times; it passes (run it with
# `pytest -m slow`) but takes 30-40 s each on 2 shared cores, mostly in cr.bidual's
# extreme-ray computation (cells.cell_rays, O(n^2) SVDs) for rank-3 data (2 features plus
# the intercept column), which form="inner" uses for rank <= 3.
SLOW_CHECKS = {"check_classifiers_train"}
# No check has to be skipped or marked as an expected failure.
EXPECTED_FAILED_CHECKS = {}


def _check_params():
    params = []
    for est in (ConvexReLURegressor(n_patterns=10), ConvexReLUClassifier(n_patterns=10)):
        for estimator, check in estimator_checks_generator(
                est, legacy=True, expected_failed_checks=EXPECTED_FAILED_CHECKS, mark="skip"):
            name = getattr(check, "func", check).__name__
            marks = [pytest.mark.slow] if name in SLOW_CHECKS else []
            params.append(pytest.param(estimator, check,
                                       id=f"{type(est).__name__}-{name}", marks=marks))
    return params


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("estimator, check", _check_params())
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_regressor_matches_bidual_value():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    y = np.maximum(X @ [1.0, -0.5], 0) - 0.3 * X[:, 1] + 0.05 * rng.standard_normal(20)
    beta = 0.05
    reg = ConvexReLURegressor(beta=beta, fit_intercept=False, patterns="exact").fit(X, y)
    ref = cr.bidual(X, y, beta, form="rays")          # another exact form of (12)
    p_star = ref.solve()
    assert reg.bound_ == "exact"
    assert abs(reg.value_ - p_star) <= 1e-6 * p_star
    assert abs(reg.objective_ - p_star) <= 1e-5 * p_star      # the network attains p*
    np.testing.assert_allclose(reg.predict(X), reg.network_.predict(X).ravel())
    assert reg.predict(X).shape == (20,)
    assert reg.n_neurons_ == reg.network_.n_neurons >= 1


def test_regressor_intercept_is_mean_and_first_layer_bias():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((15, 2))
    Y = np.c_[np.abs(X[:, 0]) + 3.0, X[:, 1] - 1.0]
    reg = ConvexReLURegressor(beta=0.1, patterns="exact", n_patterns=10 ** 6).fit(X, Y)
    np.testing.assert_allclose(reg.intercept_, Y.mean(0))
    Xa = np.c_[X, np.ones(15)]
    assert reg.network_.n_features == 3
    ref = cr.bidual(Xa, Y - Y.mean(0), 0.1, form="inner").solve()
    assert abs(reg.value_ - ref) <= 1e-6 * ref
    assert reg.predict(X).shape == (15, 2)


def test_classifier_proba_is_softmax_of_network():
    X, y = cr.datasets.spiral(n_per_class=8)
    y = y.argmax(1)
    labels = np.array(["a", "b", "c"])[y]
    clf = ConvexReLUClassifier(beta=0.5, n_patterns=20, random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["a", "b", "c"]
    F = clf.network_.predict(np.c_[X, np.ones(len(X))])
    P = np.exp(F - F.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), P, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0)
    assert np.all(clf.predict(X) == clf.classes_[P.argmax(1)])
    # the objective is the cross-entropy training objective of the network (an upper bound)
    ce = np.sum(np.log(np.exp(F).sum(1)) - F[np.arange(len(y)), y])
    net = clf.network_
    assert abs(clf.objective_ - (ce + 0.25 * (np.sum(net.W1 ** 2) + np.sum(net.W2 ** 2)))) < 1e-8
    assert clf.bound_ == "upper" and clf.objective_ <= clf.value_ * (1 + 1e-6)


def test_gridsearch_over_beta_in_pipeline():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X, y = X[::3], y[::3]                                     # 50 samples keep it fast
    pipe = make_pipeline(StandardScaler(), ConvexReLUClassifier(n_patterns=10, random_state=0))
    grid = GridSearchCV(pipe, {"convexreluclassifier__beta": [0.3, 3.0]},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0))
    grid.fit(X, y)
    assert grid.best_params_["convexreluclassifier__beta"] in (0.3, 3.0)
    assert grid.best_score_ > 0.8
    assert grid.score(X, y) > 0.9


@pytest.mark.parametrize("params, word", [
    ({"beta": -1.0}, "beta"),
    ({"beta": "big"}, "beta"),
    ({"form": "sdp"}, "form"),
    ({"patterns": "all"}, "patterns"),
    ({"n_patterns": 0}, "n_patterns"),
    ({"solver_opts": "fast"}, "solver_opts"),
    ({"fit_intercept": "yes"}, "fit_intercept"),
])
def test_bad_hyperparameters_raise_invalid_input(params, word):
    X = np.random.default_rng(0).standard_normal((6, 2))
    with pytest.raises(InvalidInputError, match=word):
        ConvexReLURegressor(**params).fit(X, X[:, 0])


def test_single_class_raises():
    X = np.random.default_rng(0).standard_normal((6, 2))
    with pytest.raises(InvalidInputError, match="class"):
        ConvexReLUClassifier().fit(X, np.ones(6))


def test_default_solver_falls_back_when_clarabel_fails(monkeypatch):
    from cvxrelu.formulation import Formulation

    original = Formulation.solve
    tried = []

    def flaky(self, solver=None, **kw):
        tried.append((solver, tuple(sorted(kw))))
        if solver == "CLARABEL":
            raise cr.SolverError("forced: optimal_inaccurate")
        return original(self, solver=solver, **kw)

    monkeypatch.setattr(Formulation, "solve", flaky)
    X = np.random.default_rng(2).standard_normal((10, 2))
    reg = ConvexReLURegressor(beta=0.1).fit(X, X[:, 0] ** 2)
    assert [s for s, _ in tried] == ["CLARABEL", "CLARABEL", "SCS"]
    assert reg.solver_ == "SCS" and np.isfinite(reg.value_)
    tried.clear()
    with pytest.raises(cr.SolverError):        # an explicit solver gets no fallback
        ConvexReLURegressor(beta=0.1, solver="CLARABEL").fit(X, X[:, 0] ** 2)
    assert len(tried) == 1


def test_sampled_patterns_give_upper_bound_and_are_seeded():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 4))
    y = np.maximum(X @ rng.standard_normal(4), 0)
    a = ConvexReLURegressor(beta=0.1, n_patterns=8, random_state=5).fit(X, y)
    b = ConvexReLURegressor(beta=0.1, n_patterns=8, random_state=5).fit(X, y)
    assert a.bound_ == "upper" and a.n_patterns_ <= 8
    assert a.value_ == pytest.approx(b.value_, rel=1e-9)
    np.testing.assert_allclose(a.predict(X), b.predict(X))
