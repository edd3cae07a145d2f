"""scikit-learn estimators on the drivers: the estimator checks, pipelines, β_max and alpha,
and agreement with the exact convex program cr.bidual."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

import cvxrelu as cr  # noqa: E402
from cvxrelu.errors import InvalidInputError  # noqa: E402
from cvxrelu.integrations.estimators import ConvexReLUClassifier, ConvexReLURegressor, beta_max  # noqa: E402

# No check has to be skipped or marked as an expected failure.
EXPECTED_FAILED_CHECKS = {}


def _check_params(estimators, slow=False):
    params = []
    for est in estimators:
        for estimator, check in estimator_checks_generator(
                est, legacy=True, expected_failed_checks=EXPECTED_FAILED_CHECKS, mark="skip"):
            name = getattr(check, "func", check).__name__
            tag = "default" if slow else "no_intercept"
            params.append(pytest.param(estimator, check,
                                       id=f"{type(est).__name__}-{tag}-{name}",
                                       marks=[pytest.mark.slow] if slow else []))
    return params


# The default suite runs the checks without the intercept column (the 2-feature data of most
# checks then has rank 2 and the fast exact oracle) and with at most 10 driver rounds (a
# deterministic cap: time limits would make check_fit_idempotent flaky); a node budget, not a
# time limit, bounds the certified searches (the refinements' cuts shape the network, and the
# checks refit with the same seed and compare predictions, which a binding time limit on a
# loaded machine would break). The defaults pass too but take minutes on 2 cores: `-m slow`.
FAST = dict(fit_intercept=False, max_iter=10, oracle_time_limit=30.0, oracle_budget=300)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("estimator, check", _check_params(
    (ConvexReLURegressor(**FAST), ConvexReLUClassifier(**FAST))))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("estimator, check", _check_params(
    (ConvexReLURegressor(), ConvexReLUClassifier()), slow=True))
def test_sklearn_estimator_checks_defaults(estimator, check):
    check(estimator)


def _teacher(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = np.maximum(X @ [1.0, -0.5], 0) - 0.3 * X[:, 1] + 0.05 * rng.standard_normal(n)
    return X, y


def test_regressor_matches_bidual_value():
    X, y = _teacher()
    beta = 0.05
    reg = ConvexReLURegressor(beta=beta, fit_intercept=False, tol=1e-8).fit(X, y)
    p_star = cr.bidual(X, y, beta, form="rays").solve()  # another exact form of (12)
    cert = reg.certificate_
    assert cert.certified and cert.status == "optimal"
    assert cert.lower <= p_star * (1 + 1e-7) and p_star <= cert.upper * (1 + 1e-7)
    assert abs(reg.objective_ - p_star) <= 1e-6 * p_star      # the network attains p*
    assert reg.objective_ == pytest.approx(reg.network_.objective(X, y, beta), rel=1e-12)
    np.testing.assert_allclose(reg.predict(X), reg.network_.predict(X).ravel())
    assert reg.predict(X).shape == (20,) and reg.beta_ == beta
    assert reg.n_neurons_ == reg.network_.n_neurons >= 1 and reg.n_iter_ >= 1


def test_regressor_intercept_is_mean_and_first_layer_bias():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((15, 2))
    Y = np.c_[np.abs(X[:, 0]) + 3.0, X[:, 1] - 1.0]
    reg = ConvexReLURegressor(beta=0.1, tol=1e-8).fit(X, Y)
    np.testing.assert_allclose(reg.intercept_, Y.mean(0))
    Xa = np.c_[X, np.ones(15)]
    assert reg.network_.n_features == 3
    ref = cr.bidual(Xa, Y - Y.mean(0), 0.1, form="simplicial").solve()   # exact for d ≤ 4
    assert reg.certificate_.certified
    assert abs(reg.objective_ - ref) <= 1e-6 * ref
    assert reg.predict(X).shape == (15, 2)


def test_beta_max_is_where_the_zero_network_becomes_optimal():
    X, y = _teacher(30, seed=2)
    Yc = (y - y.mean()).reshape(-1, 1)
    lo, up = beta_max(X, Yc)
    assert lo == pytest.approx(up, rel=1e-9)                  # rank 2: the exact oracle
    # independent reference: ‖Ycᵀ(Xu)_+‖ over a fine grid of unit directions of the plane
    th = np.linspace(0, 2 * np.pi, 200_001)
    U = np.vstack([np.cos(th), np.sin(th)])
    brute = np.abs(Yc.T @ np.maximum(X @ U, 0)).max()
    assert brute <= lo * (1 + 1e-9) and brute >= lo * (1 - 1e-6)
    kw = dict(fit_intercept=False, tol=1e-7)
    at = ConvexReLURegressor(beta=lo * (1 + 1e-6), **kw).fit(X, Yc)
    assert at.n_neurons_ == 0 and at.certificate_.status == "optimal"
    assert at.objective_ == pytest.approx(0.5 * np.sum(Yc ** 2), rel=1e-12)
    below = ConvexReLURegressor(alpha=0.9, **kw).fit(X, Yc.ravel())
    assert below.beta_max_ == pytest.approx(lo, rel=1e-12)
    assert below.beta_ == pytest.approx(0.9 * lo, rel=1e-12)
    assert below.n_neurons_ >= 1 and below.objective_ < 0.5 * np.sum(Yc ** 2)


def test_alpha_is_scale_free():
    """Scaling the targets scales β_max: the same alpha gives the same (scaled) network."""
    X, y = _teacher(25, seed=3)
    a = ConvexReLURegressor(alpha=0.05, fit_intercept=False, tol=1e-8).fit(X, y)
    b = ConvexReLURegressor(alpha=0.05, fit_intercept=False, tol=1e-8).fit(X, 100 * y)
    assert b.beta_max_ == pytest.approx(100 * a.beta_max_, rel=1e-9)
    np.testing.assert_allclose(b.predict(X), 100 * a.predict(X), rtol=1e-4,
                               atol=1e-4 * np.abs(100 * y).max())


def test_classifier_proba_is_softmax_of_network():
    X, y = cr.datasets.spiral(n_per_class=8)
    y = y.argmax(1)
    labels = np.array(["a", "b", "c"])[y]
    clf = ConvexReLUClassifier(alpha=0.05, random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["a", "b", "c"]
    F = clf.network_.predict(np.c_[X, np.ones(len(X))]) + clf.intercept_
    P = np.exp(F - F.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), P, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0)
    assert np.all(clf.predict(X) == clf.classes_[P.argmax(1)])
    # the objective is the training objective of the network on the fitted targets
    Y = np.eye(3)[y] - clf.intercept_
    net = clf.network_
    assert clf.objective_ == pytest.approx(
        net.objective(np.c_[X, np.ones(len(X))], Y, clf.beta_, loss=clf.loss), rel=1e-10)
    assert clf.certificate_.lower <= clf.objective_ * (1 + 1e-9)


def test_gridsearch_over_alpha_in_pipeline():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X, y = X[::3], y[::3]                                     # 50 samples keep it fast
    pipe = make_pipeline(StandardScaler(), ConvexReLUClassifier(random_state=0, max_iter=15,
                                                                oracle_time_limit=0.2))
    grid = GridSearchCV(pipe, {"convexreluclassifier__alpha": [0.9, 0.01]},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0))
    grid.fit(X, y)
    assert grid.best_params_["convexreluclassifier__alpha"] == 0.01
    assert grid.best_score_ > 0.8
    assert grid.score(X, y) > 0.9


def test_seeded_fits_are_reproducible_on_high_rank_data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 4))
    y = np.maximum(X @ rng.standard_normal(4), 0)
    a = ConvexReLURegressor(alpha=0.1, random_state=5).fit(X, y)
    b = ConvexReLURegressor(alpha=0.1, random_state=5).fit(X, y)
    # rank 5 with the intercept: whatever the oracle proves, a lower bound stays below
    assert a.certificate_.lower <= a.objective_ * (1 + 1e-9)
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-12)
    np.testing.assert_allclose(a.predict(X), b.predict(X))
    # whatever the oracle, the objective is the network's own objective (5)
    Xa = np.c_[X, np.ones(30)]
    assert a.objective_ == pytest.approx(
        a.network_.objective(Xa, (y - y.mean()).reshape(-1, 1), a.beta_), rel=1e-10)


@pytest.mark.parametrize("params, word", [
    ({"alpha": -1.0}, "alpha"),
    ({"alpha": 0.0}, "alpha"),
    ({"beta": -1.0}, "beta"),
    ({"beta": "big"}, "beta"),
    ({"loss": "hinge"}, "loss"),
    ({"tol": 0}, "tol"),
    ({"max_iter": 0}, "max_iter"),
    ({"time_limit": -1}, "time_limit"),
    ({"n_cuts": 1.5}, "n_cuts"),
    ({"warm_start": "yes"}, "warm_start"),
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


def test_constant_target_gives_zero_network():
    X = np.random.default_rng(0).standard_normal((8, 2))
    reg = ConvexReLURegressor().fit(X, np.full(8, 3.0))
    assert reg.beta_max_ == 0.0 and reg.n_neurons_ == 0
    np.testing.assert_allclose(reg.predict(X), 3.0)


def test_classifier_cv_selects_alpha_on_iris():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler

    from cvxrelu.integrations.estimators import ConvexReLUClassifierCV

    X, y = load_iris(return_X_y=True)
    X, y = StandardScaler().fit_transform(X)[::2], y[::2]     # 75 samples keep it fast
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    alphas = [1.0, 0.05]
    kw = dict(random_state=0, max_iter=15, oracle_time_limit=0.2)
    clf = ConvexReLUClassifierCV(alphas=alphas, cv=cv, **kw).fit(X, y)
    assert clf.cv_scores_.shape == (2, 3)
    np.testing.assert_array_equal(clf.alphas_, alphas)          # decreasing grid
    mean = clf.cv_scores_.mean(1)
    assert clf.alpha_ == alphas[int(np.argmax(mean))] and clf.best_score_ == mean.max()
    # independent reference: scikit-learn's own cross-validation of cold fits, same folds
    cold = [cross_val_score(ConvexReLUClassifier(alpha=a, **kw), X, y, cv=cv).mean()
            for a in alphas]
    assert clf.alpha_ == 0.05 and cold[1] > cold[0] + 0.2     # α = 1: the zero network
    assert clf.best_score_ > 0.9 and abs(clf.best_score_ - cold[1]) <= 0.05
    # refitted on all data at alpha_
    assert clf.beta_ == pytest.approx(clf.alpha_ * clf.beta_max_, rel=1e-12)
    assert clf.score(X, y) > 0.95 and clf.predict_proba(X).shape == (75, 3)


def test_regressor_cv_matches_manual_selection():
    from sklearn.model_selection import KFold, cross_val_score

    from cvxrelu.integrations.estimators import ConvexReLURegressorCV

    rng = np.random.default_rng(4)
    X = rng.standard_normal((45, 2))
    y = np.maximum(X[:, 0], 0) - X[:, 1] + 0.3 * rng.standard_normal(45)
    cv = KFold(3, shuffle=True, random_state=1)
    alphas = [0.9, 0.2, 0.02]
    reg = ConvexReLURegressorCV(alphas=alphas, cv=cv, fit_intercept=False, tol=1e-6).fit(X, y)
    cold = [cross_val_score(ConvexReLURegressor(alpha=a, fit_intercept=False, tol=1e-6),
                            X, y, cv=cv).mean() for a in alphas]
    # certified-optimal fits are unique in their predictions up to tol: the scores agree
    np.testing.assert_allclose(reg.cv_scores_.mean(1), cold, rtol=1e-3, atol=1e-3)
    assert reg.alpha_ == alphas[int(np.argmax(cold))]
    assert reg.certificate_.certified and reg.n_neurons_ >= 1
    # folds in parallel through a joblib backend (Dask/Ray plug in the same way)
    import joblib

    with joblib.parallel_backend("threading"):
        par = ConvexReLURegressorCV(alphas=alphas, cv=cv, fit_intercept=False, tol=1e-6,
                                    n_jobs=2).fit(X, y)
    np.testing.assert_allclose(par.cv_scores_, reg.cv_scores_, rtol=1e-6)


def test_warm_start_reuses_the_previous_network(monkeypatch):
    import cvxrelu.integrations.estimators as est_mod

    X, y = _teacher(40, seed=5)
    seen = []
    real = est_mod._fit_driver

    def spy(X_, Y_, beta, loss, warm, **kw):
        seen.append(warm)
        return real(X_, Y_, beta, loss, warm, **kw)

    monkeypatch.setattr(est_mod, "_fit_driver", spy)
    reg = ConvexReLURegressor(alpha=0.3, warm_start=True, fit_intercept=False, tol=1e-8)
    first = reg.fit(X, y).network_
    reg.set_params(alpha=0.05).fit(X, y)
    assert seen[0] is None and seen[1] is first              # the previous fit's network
    # never worse than the previous network evaluated at the new β
    Y = y.reshape(-1, 1)
    assert reg.objective_ <= first.objective(X, Y, reg.beta_) * (1 + 1e-12)
    cold = ConvexReLURegressor(alpha=0.05, fit_intercept=False, tol=1e-8).fit(X, y)
    assert reg.certificate_.certified and cold.certificate_.certified
    assert reg.objective_ == pytest.approx(cold.objective_, rel=1e-6)   # the same optimum
    # other outputs: nothing to warm-start from
    reg.fit(X, np.c_[y, y])
    assert seen[2] is None


@pytest.mark.parametrize("loss", ["huber", "absolute"])
def test_regressor_robust_losses_match_bidual(loss):
    """loss= on the regressor: the general-loss driver against the exact convex program
    cr.bidual(loss=...) (Clarabel), on rank-2 data (the exact oracle) with an outlier."""
    X, y = _teacher(24, seed=6)
    y[3] += 8.0                                               # an outlier
    beta = 0.1
    tol = 1e-7 if loss == "huber" else 1e-3                  # absolute: a smoothing
    reg = ConvexReLURegressor(beta=beta, loss=loss, fit_intercept=False, tol=tol).fit(X, y)
    p_star = cr.bidual(X, y, beta, loss=loss).solve()
    cert = reg.certificate_
    lo = cr.losses.get_loss(loss)
    Y = y.reshape(-1, 1)
    assert reg.objective_ == pytest.approx(reg.network_.objective(X, Y, beta, loss=lo),
                                           rel=1e-10)
    assert cert.certified
    assert cert.lower <= p_star * (1 + 1e-7) and p_star <= reg.objective_ * (1 + 1e-7)
    if loss == "huber":                                       # smooth: certified optimum
        assert cert.status == "optimal"
        assert abs(reg.objective_ - p_star) <= 1e-6 * p_star
    else:                                                     # through a smoothing
        assert reg.objective_ - p_star <= 1e-2 * p_star
    np.testing.assert_allclose(reg.predict(X), reg.network_.predict(X).ravel())


def test_regressor_robust_intercept_is_the_median():
    X, y = _teacher(30, seed=7)
    y = y + 5.0
    y[:4] += 50.0                                             # outliers move the mean
    reg = ConvexReLURegressor(alpha=0.05, loss="huber").fit(X, y)
    assert reg.intercept_ == pytest.approx([np.median(y)])
    sq = ConvexReLURegressor(alpha=0.05).fit(X, y)
    assert sq.intercept_ == pytest.approx([np.mean(y)])
    # the robust fit is closer on the inliers
    inl = slice(4, None)
    assert np.median(np.abs(reg.predict(X)[inl] - y[inl])) < \
        np.median(np.abs(sq.predict(X)[inl] - y[inl]))


def test_local_init_warm_starts_the_driver_on_high_rank_data():
    """rank([X, 1]) = 6: init="auto" runs the L-BFGS local solve on (5) and the driver's
    network is never worse than it, nor than Adam on the same objective (cr.train_sgd)."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 5))
    y = (np.maximum(X @ rng.standard_normal((5, 3)), 0).sum(1) > 1.5).astype(int)
    clf = ConvexReLUClassifier(alpha=0.02, random_state=0).fit(X, y)
    assert clf.init_objective_ is not None
    assert clf.objective_ <= clf.init_objective_ * (1 + 1e-12)
    Xa = np.c_[X, np.ones(60)]
    Y = np.eye(2)[y]
    assert clf.objective_ == pytest.approx(
        clf.network_.objective(Xa, Y, clf.beta_, loss="cross_entropy"), rel=1e-10)
    adam = cr.train_sgd(Xa, Y, clf.beta_, m=20, epochs=300, optimizer="adam",
                        loss="cross_entropy", seed=0)
    assert clf.objective_ <= adam.objective * (1 + 1e-9)
    cert = clf.certificate_
    assert not cert.certified or cert.lower <= min(clf.objective_, adam.objective)
    # init=None: no local solve; the driver alone (a valid, usually worse, network)
    cold = ConvexReLUClassifier(alpha=0.02, init=None, max_iter=5, random_state=0).fit(X, y)
    assert cold.init_objective_ is None
    assert not cold.certificate_.certified or cold.certificate_.lower <= clf.objective_


def test_local_init_is_skipped_where_the_oracle_is_exact():
    X, y = _teacher(20)
    reg = ConvexReLURegressor(alpha=0.05, fit_intercept=False).fit(X, y)   # rank 2
    assert reg.init_objective_ is None
    forced = ConvexReLURegressor(alpha=0.05, fit_intercept=False, init="local",
                                 tol=1e-6).fit(X, y)
    assert forced.init_objective_ is not None
    assert forced.objective_ <= forced.init_objective_ * (1 + 1e-12)
    assert forced.objective_ == pytest.approx(reg.objective_, rel=1e-2)    # both ≈ p*


@pytest.mark.parametrize("params, word", [
    ({"init": "adam"}, "init"),
    ({"init_neurons": 0}, "init_neurons"),
    ({"init_max_iter": 2.5}, "init_max_iter"),
    ({"loss": "cross_entropy"}, "loss"),
])
def test_bad_init_and_loss_parameters(params, word):
    X = np.random.default_rng(0).standard_normal((6, 2))
    with pytest.raises(InvalidInputError, match=word):
        ConvexReLURegressor(**params).fit(X, X[:, 0])
