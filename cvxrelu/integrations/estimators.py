"""scikit-learn estimators that train two-layer ReLU networks through the cutting-plane drivers.

:class:`ConvexReLURegressor` (squared loss, SPEC (5)) and :class:`ConvexReLUClassifier`
(softmax cross-entropy, the general-loss program (76)–(79) of Sahiner, Ergen, Pauly &
Pilanci, ICLR 2021) fit by column generation on the semi-infinite dual (11)/(73) (App. A.5,
:func:`cvxrelu.cutting_plane`): the dual oracle ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖ proposes
neurons, a group-lasso master over the collected neurons gives a real network. No CVXPY
program and no sampled sign-pattern matrix is built. Every fit stores the driver's
certificate (``certificate_``: upper bound = the network's objective, lower bound, whether it
is certified, the relative gap).

Local init (rank ≥ 4). Where the dual oracle is a heuristic (rank([X, 1]) ≥ 4, i.e. almost
all real data) column generation from nothing converges slowly. By default (``init="auto"``)
the estimators first minimize the nonconvex objective (5) itself with L-BFGS (50 neurons,
300 iterations: the same objective, loss and β) and hand that network to the driver as a
warm start: its neurons are the first columns, the group-lasso master over them (the
restricted convex program, App. A.5) can only lower its objective, and two driver rounds
add the oracle's violated neurons and compute the certificate. On scikit-learn's digits,
breast cancer and wine this ends at or below the objective of SGD and Adam run for 1 000
epochs, in 1–3× the time of ``MLPClassifier`` (``benchmarks/realdata.py``). For rank ≤ 3
the exact oracle certifies the global optimum directly and no init runs.

β on the data's scale. Losses are summed over samples, so a fixed β means different things on
different data sets. The estimators take ``alpha = β/β_max`` where β_max is the smallest β at
which the zero network is optimal (the analogue of glmnet's λ_max): by the optimality
condition of the group lasso (25) over all neurons, V = 0 is optimal iff
‖Z₀ᵀ(Xu)_+‖ ≤ β for every unit u, with Z₀ = −∇ℓ(0) (squared loss: Z₀ = Y), i.e.
β_max = ω(Z₀), one oracle call. ``beta=`` sets the absolute value instead.

Requires the ``sklearn`` extra (``pip install cvxrelu[sklearn]``).
"""

from __future__ import annotations

import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "cvxrelu.integrations.estimators needs scikit-learn >= 1.6; install it with "
        "`pip install cvxrelu[sklearn]` (or `pip install scikit-learn`)."
    ) from exc

from .._validate import as_beta, check_choice
from ..errors import InvalidInputError
from ..losses import Loss, SquaredLoss, get_loss
from ..geometry.arrangements import numerical_rank
from ..networks.network import ReLUNetwork
from .path import _fit_driver, beta_max

__all__ = ["ConvexReLURegressor", "ConvexReLUClassifier", "ConvexReLURegressorCV",
           "ConvexReLUClassifierCV", "beta_max"]

def _has_loss_driver() -> bool:
    import importlib.util

    return importlib.util.find_spec("cvxrelu.drivers.loss_driver") is not None


#: default loss of the classifier: cross-entropy through the general-loss driver
#: (cvxrelu.drivers.loss_driver); squared on one-hot targets where that driver is absent
_CLASSIFIER_LOSS = "cross_entropy" if _has_loss_driver() else "squared"


def _softmax(F: np.ndarray) -> np.ndarray:
    S = F - F.max(axis=1, keepdims=True)
    E = np.exp(S)
    return E / E.sum(axis=1, keepdims=True)


def _local_network(X, Y, beta, loss, m, max_iter, seed) -> ReLUNetwork | None:
    """A local minimizer of the nonconvex objective (5) with loss ℓ, by L-BFGS: the warm start.

    Minimizes ℓ(relu(X W1) W2, Y) + (β/2)(‖W1‖²_F + ‖W2‖²_F) over m neurons from a random
    start (W1 ~ N(0, 1/d), W2 ~ N(0, 1/m)) with scipy's L-BFGS-B and the exact gradient
    (∂/∂W2 = Hᵀ∇ℓ + βW2, ∂/∂W1 = Xᵀ[(∇ℓ W2ᵀ) ∘ 1(XW1 > 0)] + βW1, H = relu(XW1)),
    ``max_iter`` iterations. The network's neurons seed the column-generation driver
    (``warm_start``), whose result is never worse than it; at a stationary point of (5) the
    balanced network already satisfies the master's KKT conditions on its own neurons, so
    the driver's master starts near its optimum. Only for smooth losses (None otherwise).
    """
    from scipy.optimize import minimize

    if not loss.smooth:
        return None
    n, d = X.shape
    c = Y.shape[1]
    rng = np.random.default_rng(seed)
    theta0 = np.concatenate([(rng.standard_normal((d, m)) / np.sqrt(d)).ravel(),
                             (rng.standard_normal((m, c)) / np.sqrt(m)).ravel()])

    def fun(theta):
        W1, W2 = theta[:d * m].reshape(d, m), theta[d * m:].reshape(m, c)
        P = X @ W1
        H = np.maximum(P, 0.0)
        F = H @ W2
        G = loss.gradient(F, Y)
        f = loss.value(F, Y) + 0.5 * beta * (float(np.sum(W1 * W1)) + float(np.sum(W2 * W2)))
        g1 = X.T @ ((G @ W2.T) * (P > 0)) + beta * W1
        g2 = H.T @ G + beta * W2
        return f, np.concatenate([g1.ravel(), g2.ravel()])

    res = minimize(fun, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": int(max_iter), "maxcor": 20, "gtol": 1e-10,
                            "ftol": 1e-13})
    W1, W2 = res.x[:d * m].reshape(d, m), res.x[d * m:].reshape(m, c)
    if not np.all(np.isfinite(res.x)):
        return None
    return ReLUNetwork(W1, W2).balanced()


#: driver rounds after the local init when ``max_iter`` is None
_ROUNDS_AFTER_INIT = 2


class _ConvexReLUBase(BaseEstimator):
    """Shared fitting machinery; see the two public estimators for the documentation."""

    _losses: tuple = ("squared",)

    def __init__(self, alpha=1e-2, *, beta=None, loss="squared", tol=1e-2, max_iter=None,
                 time_limit=None, n_cuts=None, oracle_time_limit=0.5, oracle_budget=None, warm_start=False,
                 init="auto", init_neurons=50, init_max_iter=300, fit_intercept=True,
                 random_state=None):
        self.alpha = alpha
        self.beta = beta
        self.loss = loss
        self.tol = tol
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.n_cuts = n_cuts
        self.oracle_time_limit = oracle_time_limit
        self.oracle_budget = oracle_budget
        self.warm_start = warm_start
        self.init = init
        self.init_neurons = init_neurons
        self.init_max_iter = init_max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    # ------------------------------------------------------------ hyperparameters
    def _check_params(self):
        if self.beta is not None:
            as_beta(self.beta, "beta")
        elif self.alpha is not None:        # None only on the CV estimators (alpha_ chosen)
            as_beta(self.alpha, "alpha")
        self._resolved_loss()
        for name in ("tol", "time_limit", "oracle_time_limit"):
            v = getattr(self, name)
            if name != "tol" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) \
                    or v <= 0:
                raise InvalidInputError(
                    f"{name} must be a positive number{' or None' if name != 'tol' else ''}"
                    f"; got {v!r}.")
        check_choice(self.init, ("auto", "local", None), "init")
        for name in ("max_iter", "n_cuts", "init_neurons", "init_max_iter", "oracle_budget"):
            v = getattr(self, name)
            if name in ("n_cuts", "max_iter", "oracle_budget") and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise InvalidInputError(f"{name} must be a positive integer; got {v!r}.")
        for name in ("fit_intercept", "warm_start"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidInputError(
                    f"{name} must be True or False; got {getattr(self, name)!r}.")

    def _resolved_loss(self) -> Loss:
        """``self.loss`` (a name in ``_losses`` or a :class:`~cvxrelu.losses.Loss` of one of
        those kinds) resolved by :func:`~cvxrelu.losses.get_loss`; the hyperparameter itself
        is left as given (scikit-learn's ``clone``)."""
        name = self.loss.name if isinstance(self.loss, Loss) else self.loss
        check_choice(name, self._losses, "loss")
        return get_loss(self.loss)

    def _augment(self, X: np.ndarray) -> np.ndarray:
        """[X, 1] when fit_intercept (a first-layer bias), X otherwise."""
        X = np.asarray(X, dtype=float)
        if self.fit_intercept:
            return np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def _seed(self):
        rs = check_random_state(self.random_state)
        return int(rs.randint(np.iinfo(np.int32).max))

    def _fit_network(self, X: np.ndarray, Y: np.ndarray, alpha=None, loss=None):
        """Fit the network to prepared targets Y (centred for the squared loss); ``loss`` is
        the resolved :class:`~cvxrelu.losses.Loss` (default: ``self._resolved_loss()``)."""
        loss = self._resolved_loss() if loss is None else loss
        Xa = self._augment(X)
        seed = self._seed()
        alpha = self.alpha if alpha is None else alpha
        self.beta_max_, self.beta_max_upper_ = beta_max(Xa, Y, loss, seed=seed)
        if self.beta is not None:
            beta = float(self.beta)
        elif self.beta_max_ > 0:
            beta = float(alpha) * self.beta_max_
        else:  # β_max = 0: the zero network is optimal for every β > 0
            beta = float(alpha)
        warm = None
        old = getattr(self, "network_", None)
        if self.warm_start and isinstance(old, ReLUNetwork) and \
                old.n_features == Xa.shape[1] and old.n_outputs == Y.shape[1] and \
                old.n_neurons > 0:
            warm = old
        self.init_objective_ = None
        if warm is None and (self.init == "local" or (
                self.init == "auto" and numerical_rank(Xa) > 3)):
            warm = _local_network(Xa, Y, beta, loss, int(self.init_neurons),
                                  int(self.init_max_iter), seed)
            if warm is not None:
                self.init_objective_ = warm.objective(Xa, Y, beta, loss)
        max_iters = self.max_iter
        if max_iters is None:       # a local minimizer's neurons: a few rounds polish it
            max_iters = _ROUNDS_AFTER_INIT if self.init_objective_ is not None else 50
        res = _fit_driver(Xa, Y, beta, loss, warm, tol=float(self.tol),
                          max_iters=int(max_iters), time_limit=self.time_limit,
                          n_cuts=self.n_cuts, seed=seed,
                          oracle_time_limit=self.oracle_time_limit,
                          oracle_budget=self.oracle_budget)
        self.beta_ = beta
        self.certificate_ = res
        self.network_ = res.network
        self.objective_ = float(res.upper)
        self.n_iter_ = max(1, int(res.iterations))
        self.n_neurons_ = res.network.n_neurons

    def _raw_output(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False)
        return self.network_.predict(self._augment(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


_COMMON_PARAMS = """
    alpha : float > 0, default 1e-2
        Weight decay relative to the data: β = alpha · β_max, where β_max is the smallest β
        at which the zero network is optimal (``beta_max_``, one oracle call; see
        :func:`beta_max`). alpha ≥ 1 gives (essentially) the zero network; smaller alpha
        fits more closely.
    beta : float > 0, optional
        Absolute weight decay β of (5) (summed, not averaged, loss); overrides ``alpha``.
    tol : float, default 1e-2
        Stop when the driver's relative gap (upper − lower)/upper ≤ tol: 1 % of the training
        objective is far below what changes predictions, and keeps fits fast. For data of
        rank ≥ 4 the driver stops on its heuristic gap (not a proof); the certificate says
        what was proven. Pass e.g. 1e-6 for a certified optimum on data of rank ≤ 3.
    max_iter : int or None, default None
        Maximum cutting-plane rounds (the deterministic cap: fits are reproducible for a given
        ``random_state``). None: 2 rounds after the local init (its neurons already satisfy
        the master's optimality conditions; the rounds add the oracle's violated neurons and
        certify), 50 without it.
    time_limit : float or None, default None
        Seconds for the driver (checked between rounds); the best network so far is kept. A
        time limit makes the result depend on the machine's speed.
    n_cuts : int, optional
        Neurons added per round (driver default).
    oracle_time_limit : float or None, default 0.5
        Seconds the final certificate's oracle may spend (the certified ω̄ of
        ``DualOracle.bound``; for rank ≥ 4 a branch and bound that stops with a valid but
        looser bound). None: what is left of ``time_limit``.
    oracle_budget : int or None, default None
        Branch-and-bound nodes each certified ω̄ may use (the refinements during the fit and
        the final certificate). The network depends on the refinements' cuts, so with a time
        limit that binds (a loaded machine) two seeded fits can differ; a node budget small
        enough to bind before ``oracle_time_limit`` makes seeded fits reproducible.
    init : {"auto", "local", None}, default "auto"
        Warm start of the driver by a local minimizer of the nonconvex objective (5) (same
        loss, same β): L-BFGS on ``init_neurons`` neurons from a random start,
        ``init_max_iter`` iterations. Its neurons become the driver's first columns, so the
        fitted network is never worse than it (``init_objective_``), and the global method
        starts where gradient training ends. "auto": only when rank([X, 1]) ≥ 4 (where the
        dual oracle is a heuristic; for rank ≤ 3 the exact oracle certifies the optimum
        directly) and the loss is smooth. "local": always (smooth losses). None: never.
    init_neurons : int, default 50
    init_max_iter : int, default 300
    warm_start : bool, default False
        Re-use the previous fit's network (its neurons seed the master), scikit-learn
        semantics: with ``set_params(alpha=...)`` along a decreasing grid this is a
        glmnet-style warm-started path. Ignored when the data's width or the number of
        outputs changed.
    fit_intercept : bool, default True
    random_state : int, RandomState or None
        Seed of the dual oracle's random starts (data of rank ≥ 4).
"""

_COMMON_ATTRS = """
    certificate_ : SolveResult
        The driver's result: ``upper`` (= ``objective_``), ``lower``, ``certified``,
        ``rel_gap``, ``status``, ``history``. The lower bound is certified only when the
        oracle was exact or certified (``certificate_.certified``); for data of rank ≥ 4 it
        is a heuristic value unless the oracle certifies it.
    objective_ : float
        Training objective (5)/(76) of ``network_`` at ``beta_``: an upper bound on the
        global optimum.
    beta_ : float
        The absolute β used.
    beta_max_ : float
        β_max (attained end of :func:`beta_max`).
    beta_max_upper_ : float
        Certified upper end of β_max.
    n_iter_ : int
        Cutting-plane rounds.
    init_objective_ : float or None
        Objective (5) of the local init's network (None when no init ran);
        ``objective_ ≤ init_objective_``.
    n_neurons_ : int
        Hidden neurons of ``network_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only when X had string column names)
"""


class ConvexReLURegressor(RegressorMixin, _ConvexReLUBase):
    __doc__ = """Two-layer ReLU regression network trained by the cutting-plane driver.

    Minimizes ½‖relu(X̃ W1) W2 − (Y − b)‖²_F + (β/2)(‖W1‖²_F + ‖W2‖²_F) (SPEC (5), summed
    over samples) by column generation on the dual (11)/(73) (App. A.5): no CVXPY program is
    built. The result is certified globally optimal (status ``"optimal"``) when the oracle is
    exact (rank of ``[X, 1]`` ≤ 3) and the gap closes to ``tol``.

    Parameters
    ----------""" + _COMMON_PARAMS.replace("    fit_intercept : bool, default True\n", """\
    fit_intercept : bool, default True
        Adds two intercepts. (1) A first-layer bias, by appending a constant feature 1 to X;
        it is part of W1 and therefore IS regularized by the weight decay (this also lets a
        neuron act as a constant output). (2) An output intercept ``intercept_`` = the mean of
        Y over the training set, subtracted before the fit: it is NOT regularized, but it is
        fixed at the mean rather than optimized jointly with the network.
""") + """    loss : {"squared", "huber", "absolute"} or a Loss of those kinds, default "squared"
        The data-fitting term, summed over samples: ½‖F − Y‖² (SPEC (5)), Huber
        (``cr.losses.huber(delta)``, default δ = 1) or Σ|F − Y|, the general-loss program
        (76)–(79) through the loss driver (the absolute loss through its smoothing: valid,
        usually looser bounds). The output intercept is the mean of Y for the squared loss and
        the (coordinatewise) median for Huber and absolute (the robust centre), fixed before
        the fit.

    Attributes
    ----------
    network_ : ReLUNetwork
        The fitted network. With ``fit_intercept`` it acts on ``[X, 1]`` (its W1 has
        ``n_features_in_ + 1`` rows; the last row is the first-layer bias).
    intercept_ : ndarray, shape (n_outputs,)
        Output intercept (zeros when ``fit_intercept=False``).""" + _COMMON_ATTRS + """
    Examples
    --------
    >>> import numpy as np
    >>> from cvxrelu.integrations.estimators import ConvexReLURegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 2))
    >>> y = np.maximum(X[:, 0], 0) - X[:, 1]
    >>> reg = ConvexReLURegressor(alpha=1e-3).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    >>> reg.certificate_.certified      # rank([X, 1]) = 3: the exact oracle
    True
    """

    _losses = ("squared", "huber", "absolute")

    def fit(self, X, y):
        """Fit the network; returns ``self``."""
        self._check_params()
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        return self._fit_validated(X, y)

    def _fit_validated(self, X, y, alpha=None):
        Y = np.asarray(y, dtype=float)
        self._y_1d = Y.ndim == 1
        if self._y_1d:
            Y = Y.reshape(-1, 1)
        loss = self._resolved_loss()
        if not self.fit_intercept:
            self.intercept_ = np.zeros(Y.shape[1])
        elif isinstance(loss, SquaredLoss):
            self.intercept_ = Y.mean(axis=0)
        else:                                   # Huber, absolute: the robust centre
            self.intercept_ = np.median(Y, axis=0)
        self._fit_network(X, Y - self.intercept_, alpha, loss=loss)
        return self

    def predict(self, X):
        """Network output plus intercept, shape (n,) or (n, n_outputs)."""
        F = self._raw_output(X) + self.intercept_
        return F.ravel() if self._y_1d else F

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class ConvexReLUClassifier(ClassifierMixin, _ConvexReLUBase):
    __doc__ = """Two-layer ReLU classifier trained by the cutting-plane driver.

    With ``loss="cross_entropy"`` it minimizes Σ_i [logsumexp(F_i) − F_{i, y_i}] +
    (β/2)(‖W1‖²_F + ‖W2‖²_F) over networks F = relu(X̃ W1) W2 with one output per class (two
    for binary problems), the program (76)–(79); ``predict_proba`` is the softmax of the
    scores. ``loss="squared"`` fits one-hot targets with ½‖F − Y‖² (SPEC (5)).

    Parameters
    ----------""" + _COMMON_PARAMS.replace("    fit_intercept : bool, default True\n", """\
    fit_intercept : bool, default True
        Appends a constant feature 1 to X: a first-layer bias that IS regularized by the
        weight decay. With the squared loss the one-hot targets are also centred on the class
        frequencies (``intercept_``, not regularized); with cross-entropy there is no separate
        output intercept (``intercept_`` is zero; a neuron on the constant feature plays that
        role, regularized).
""") + """    loss : {"cross_entropy", "squared"}, default "cross_entropy"
        (or a :class:`~cvxrelu.losses.Loss` of one of those kinds, e.g.
        ``cr.losses.cross_entropy()``). ``"squared"`` fits one-hot targets (centred on the
        class frequencies). The default is
        ``"squared"`` only in an installation without the general-loss driver
        (``cvxrelu.drivers.loss_driver``).

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    network_ : ReLUNetwork
        Acts on ``[X, 1]`` when ``fit_intercept``; output column k scores ``classes_[k]``.
    intercept_ : ndarray, shape (n_classes,)""" + _COMMON_ATTRS + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from cvxrelu.integrations.estimators import ConvexReLUClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), ConvexReLUClassifier(random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """

    _losses = ("cross_entropy", "squared")

    def __init__(self, alpha=1e-2, *, beta=None, loss=_CLASSIFIER_LOSS, tol=1e-2, max_iter=None,
                 time_limit=None, n_cuts=None, oracle_time_limit=0.5, oracle_budget=None, warm_start=False,
                 init="auto", init_neurons=50, init_max_iter=300, fit_intercept=True,
                 random_state=None):
        super().__init__(alpha, beta=beta, loss=loss, tol=tol, max_iter=max_iter,
                         time_limit=time_limit, n_cuts=n_cuts,
                         oracle_time_limit=oracle_time_limit, oracle_budget=oracle_budget,
                         warm_start=warm_start,
                         init=init, init_neurons=init_neurons, init_max_iter=init_max_iter,
                         fit_intercept=fit_intercept, random_state=random_state)

    def fit(self, X, y):
        """Fit the network; returns ``self``."""
        self._check_params()
        X, y = validate_data(self, X, y)
        return self._fit_validated(X, y)

    def _fit_validated(self, X, y, alpha=None):
        check_classification_targets(y)
        encoder = LabelEncoder()
        codes = encoder.fit_transform(y)
        classes = encoder.classes_
        k = len(classes)
        if k < 2:
            raise InvalidInputError(
                f"y has only one class ({classes[0]!r}); a classifier needs samples of "
                "at least 2 classes."
            )
        if self.warm_start and not np.array_equal(getattr(self, "classes_", classes),
                                                  classes):
            self.network_ = None        # other classes: nothing to warm-start from
        self.classes_ = classes
        Y = np.eye(k)[codes]
        loss = self._resolved_loss()
        if isinstance(loss, SquaredLoss) and self.fit_intercept:
            self.intercept_ = Y.mean(axis=0)       # (softmax is shift-invariant: no centring)
        else:
            self.intercept_ = np.zeros(k)
        self._fit_network(X, Y - self.intercept_, alpha, loss=loss)
        return self

    def _scores(self, X):
        return self._raw_output(X) + self.intercept_

    def decision_function(self, X):
        """Class scores F (network output plus ``intercept_``), shape (n, n_classes); for two
        classes the difference F[:, 1] − F[:, 0], shape (n,)."""
        F = self._scores(X)
        return F[:, 1] - F[:, 0] if F.shape[1] == 2 else F

    def predict_proba(self, X):
        """softmax of the scores, shape (n, n_classes) (the model of the cross-entropy loss;
        with ``loss="squared"`` only a monotone normalisation of the scores)."""
        return _softmax(self._scores(X))

    def predict_log_proba(self, X):
        F = self._scores(X)
        S = F - F.max(axis=1, keepdims=True)
        return S - np.log(np.exp(S).sum(axis=1, keepdims=True))

    def predict(self, X):
        """The class with the largest score."""
        F = self._scores(X)           # checks that the estimator is fitted
        return self.classes_[np.argmax(F, axis=1)]


# --------------------------------------------------------------- cross-validation
def _path_scores(base, X, y, train, test, alphas, scoring):
    """Scores on one fold along the α grid (decreasing), each fit warm-started."""
    from sklearn.base import clone
    from sklearn.metrics import check_scoring

    est = clone(base).set_params(warm_start=True)
    scorer = check_scoring(est, scoring=scoring)
    out = []
    for a in alphas:
        est.set_params(alpha=float(a)).fit(X[train], y[train])
        out.append(scorer(est, X[test], y[test]))
    return out


class _CVMixin:
    """Selection of ``alpha`` by K-fold cross-validation along a warm-started grid."""

    beta = None          # the CV estimators choose alpha; they have no absolute β
    alpha = None
    warm_start = False

    def _check_cv_params(self):
        if self.alphas is None:
            if isinstance(self.n_alphas, bool) or not isinstance(self.n_alphas, numbers.Integral) \
                    or self.n_alphas < 1:
                raise InvalidInputError(
                    f"n_alphas must be a positive integer; got {self.n_alphas!r}.")
            as_beta(self.alpha_min, "alpha_min")
            alphas = np.geomspace(1.0, float(self.alpha_min), int(self.n_alphas))
        else:
            try:
                alphas = np.asarray(self.alphas, dtype=float).ravel()
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"alphas must be a sequence of positive numbers; got {self.alphas!r}."
                ) from None
            if alphas.size == 0:
                raise InvalidInputError("alphas is empty; pass e.g. np.geomspace(1, 1e-3, 8).")
            for a in alphas:
                as_beta(a, "alphas")
        return np.sort(alphas)[::-1]                # from β_max down: warm starts

    def fit(self, X, y):
        """Cross-validate ``alpha`` over the grid, then refit on all data; returns ``self``.

        Each fold fits the grid from the largest alpha down, warm-starting every fit from
        the previous one (a glmnet-style path); folds run in parallel with joblib
        (``n_jobs``; a Dask or Ray backend through ``joblib.parallel_backend``).
        """
        import joblib
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv

        self._check_params()
        alphas = self._check_cv_params()
        X, y = validate_data(self, X, y, multi_output=not is_classifier(self),
                             y_numeric=not is_classifier(self))
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        base = self._base_estimator()
        folds = list(cv.split(X, y))
        scores = joblib.Parallel(n_jobs=self.n_jobs)(
            joblib.delayed(_path_scores)(base, X, y, tr, te, alphas, self.scoring)
            for tr, te in folds)
        self.alphas_ = alphas
        self.cv_scores_ = np.asarray(scores, dtype=float).T          # (n_alphas, n_folds)
        mean = self.cv_scores_.mean(axis=1)
        # the largest alpha (simplest network) among the best mean scores
        self.alpha_ = float(alphas[int(np.flatnonzero(mean >= mean.max() - 1e-12)[0])])
        self.best_score_ = float(mean.max())
        return self._fit_validated(X, y, alpha=self.alpha_)

    def _base_estimator(self):
        params = {k: getattr(self, k) for k in ("loss", "tol", "max_iter", "time_limit",
                                                "n_cuts", "oracle_time_limit", "oracle_budget", "init",
                                                "init_neurons", "init_max_iter",
                                                "fit_intercept", "random_state")}
        return self._base(**params)


_CV_PARAMS = """
    alphas : sequence of float > 0, optional
        Grid of ``alpha`` = β/β_max to cross-validate (fitted from the largest down, warm
        started). Default ``np.geomspace(1, alpha_min, n_alphas)``.
    n_alphas : int, default 8
    alpha_min : float, default 1e-3
    cv : int, cross-validation generator or iterable, default 5
        As in scikit-learn (stratified K-fold for the classifier).
    scoring : str or callable, optional
        Default: the estimator's ``score`` (accuracy / R²).
    n_jobs : int, optional
        Folds fitted in parallel by joblib (``with joblib.parallel_backend("dask")`` or
        ``"ray"`` where installed to use a cluster).
    loss, tol, max_iter, time_limit, n_cuts, oracle_time_limit, oracle_budget :
        As for the underlying estimator.
    init, init_neurons, init_max_iter, fit_intercept, random_state :
        As for the underlying estimator.

    Attributes
    ----------
    alpha_ : float
        The selected alpha (the largest among the best mean CV scores).
    alphas_ : ndarray
        The grid, decreasing.
    cv_scores_ : ndarray, shape (n_alphas, n_folds)
    best_score_ : float
        Mean CV score at ``alpha_``.
    and every fitted attribute of the underlying estimator (refitted on all data at
    ``alpha_``): ``network_``, ``certificate_``, ``beta_``, ...
"""


class ConvexReLURegressorCV(_CVMixin, ConvexReLURegressor):
    __doc__ = """:class:`ConvexReLURegressor` with ``alpha`` chosen by K-fold cross-validation.

    Parameters
    ----------""" + _CV_PARAMS + """
    Examples
    --------
    >>> import numpy as np
    >>> from cvxrelu.integrations.estimators import ConvexReLURegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 2))
    >>> y = np.maximum(X[:, 0], 0) - X[:, 1] + 0.1 * rng.standard_normal(60)
    >>> reg = ConvexReLURegressorCV(alphas=[0.5, 0.05], cv=3).fit(X, y)
    >>> float(reg.alpha_)
    0.05
    """

    _base = ConvexReLURegressor

    def __init__(self, alphas=None, *, n_alphas=8, alpha_min=1e-3, cv=5, scoring=None,
                 n_jobs=None, loss="squared", tol=1e-2, max_iter=None, time_limit=None,
                 n_cuts=None, oracle_time_limit=0.5, oracle_budget=None, init="auto", init_neurons=50,
                 init_max_iter=300, fit_intercept=True, random_state=None):
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.alpha_min = alpha_min
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.loss = loss
        self.tol = tol
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.n_cuts = n_cuts
        self.oracle_time_limit = oracle_time_limit
        self.oracle_budget = oracle_budget
        self.init = init
        self.init_neurons = init_neurons
        self.init_max_iter = init_max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state


class ConvexReLUClassifierCV(_CVMixin, ConvexReLUClassifier):
    __doc__ = """:class:`ConvexReLUClassifier` with ``alpha`` chosen by K-fold cross-validation.

    Parameters
    ----------""" + _CV_PARAMS + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from cvxrelu.integrations.estimators import ConvexReLUClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = ConvexReLUClassifierCV(alphas=[0.5, 0.01], cv=3, random_state=0).fit(X, y)
    >>> clf.alpha_, clf.cv_scores_.shape
    (0.01, (2, 3))
    """

    _base = ConvexReLUClassifier

    def __init__(self, alphas=None, *, n_alphas=8, alpha_min=1e-3, cv=5, scoring=None,
                 n_jobs=None, loss=_CLASSIFIER_LOSS, tol=1e-2, max_iter=None, time_limit=None,
                 n_cuts=None, oracle_time_limit=0.5, oracle_budget=None, init="auto", init_neurons=50,
                 init_max_iter=300, fit_intercept=True, random_state=None):
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.alpha_min = alpha_min
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.loss = loss
        self.tol = tol
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.n_cuts = n_cuts
        self.oracle_time_limit = oracle_time_limit
        self.oracle_budget = oracle_budget
        self.init = init
        self.init_neurons = init_neurons
        self.init_max_iter = init_max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state
