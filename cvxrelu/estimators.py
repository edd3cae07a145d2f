"""scikit-learn estimators that train two-layer ReLU networks by the convex program (12).

:class:`ConvexReLURegressor` (squared loss, SPEC (5)) and :class:`ConvexReLUClassifier`
(softmax cross-entropy, program (79) of Sahiner, Ergen, Pauly & Pilanci, ICLR 2021) wrap
:func:`cvxrelu.bidual`: ``fit`` builds the program over a set of sign patterns, solves it
with a conic solver and recovers a real network (Remark 5.1). They follow scikit-learn's
conventions (hyperparameters only in ``__init__``, learned attributes with a trailing
underscore, ``fit`` returns ``self``) and work in ``Pipeline`` and ``GridSearchCV``.

Scale: the objective is summed over samples (never averaged), so a given ``beta`` regularizes
relatively less on larger training sets.

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
        "cvxrelu.estimators needs scikit-learn >= 1.6; install it with "
        "`pip install cvxrelu[sklearn]` (or `pip install scikit-learn`)."
    ) from exc

from ._validate import as_beta, check_choice
from .arrangements import max_patterns_bound, reduce_rank, sign_patterns
from .builders.bidual import bidual
from .errors import InvalidInputError, SolverError, SolverNotInstalledError
from .sets import FORMS

__all__ = ["ConvexReLURegressor", "ConvexReLUClassifier"]

_PATTERNS = ("auto", "exact", "sample")
#: Clarabel settings that finish the cross-entropy programs where the defaults stall
_CLARABEL_STEADY = {"static_regularization_constant": 1e-7, "max_step_fraction": 0.9}
_SCS_ACCURATE = {"eps_abs": 1e-7, "eps_rel": 1e-7, "max_iters": 20_000}


def _softmax(F: np.ndarray) -> np.ndarray:
    S = F - F.max(axis=1, keepdims=True)
    E = np.exp(S)
    return E / E.sum(axis=1, keepdims=True)


class _ConvexReLUBase(BaseEstimator):
    """Shared fitting machinery; see the two public estimators for the documentation."""

    _loss = "squared"

    def __init__(self, beta=1.0, *, form="inner", patterns="auto", n_patterns=30,
                 solver=None, solver_opts=None, fit_intercept=True, random_state=None):
        self.beta = beta
        self.form = form
        self.patterns = patterns
        self.n_patterns = n_patterns
        self.solver = solver
        self.solver_opts = solver_opts
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    # ------------------------------------------------------------ hyperparameters
    def _check_params(self):
        beta = as_beta(self.beta, "beta")
        check_choice(self.form, ("auto",) + tuple(FORMS), "form")
        check_choice(self.patterns, _PATTERNS, "patterns")
        n_patterns = self.n_patterns
        if isinstance(n_patterns, bool) or not isinstance(n_patterns, numbers.Integral) \
                or n_patterns < 1:
            raise InvalidInputError(
                f"n_patterns must be a positive integer (the number of sampled sign patterns); "
                f"got {n_patterns!r}."
            )
        if self.solver_opts is not None and not isinstance(self.solver_opts, dict):
            raise InvalidInputError(
                f"solver_opts must be None or a dict of solver keyword arguments; got "
                f"{type(self.solver_opts).__name__}."
            )
        if self.solver is not None and not isinstance(self.solver, str):
            raise InvalidInputError(
                f"solver must be None or a solver name such as 'CLARABEL'; got {self.solver!r}."
            )
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise InvalidInputError(
                f"fit_intercept must be True or False; got {self.fit_intercept!r}."
            )
        return beta

    def _augment(self, X: np.ndarray) -> np.ndarray:
        """[X, 1] when fit_intercept (a first-layer bias), X otherwise."""
        X = np.asarray(X, dtype=float)
        if self.fit_intercept:
            return np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def _arrangement(self, Xa: np.ndarray):
        """Sign patterns: exact when ``patterns="exact"``, or ``"auto"`` and the worst-case
        count fits in ``n_patterns``; otherwise ``n_patterns`` sampled directions."""
        method = self.patterns
        if method == "auto":
            r = reduce_rank(Xa)[0].shape[1]
            method = "exact" if max_patterns_bound(Xa.shape[0], r) <= self.n_patterns \
                else "sample"
        if method == "exact":
            return sign_patterns(Xa, method="exact")
        rs = check_random_state(self.random_state)
        seed = int(rs.randint(np.iinfo(np.int32).max))
        return sign_patterns(Xa, method="sample", n_samples=int(self.n_patterns), seed=seed)

    def _fit_network(self, X: np.ndarray, Y: np.ndarray, beta: float):
        Xa = self._augment(X)
        arrangement = self._arrangement(Xa)
        f = bidual(Xa, Y, beta, patterns=arrangement, form=self.form, loss=self._loss)
        self.value_, self.solver_ = self._solve(f)
        try:
            self.network_ = f.network(refit=True, solver=self.solver_)
        except SolverError:
            # the refit only lowers the objective; the factored network is still valid
            self.network_ = f.network(refit=False)
        self.bound_ = f.bound
        self.form_ = f.form
        self.n_patterns_ = arrangement.n_patterns
        self.n_neurons_ = self.network_.n_neurons
        self.objective_ = self.network_.objective(Xa, Y, beta, loss=self._loss)

    def _solve(self, f):
        """Solve; with the default solver and options, retry an inaccurate Clarabel solve
        with steadier settings and then with SCS before giving up."""
        if self.solver is not None or self.solver_opts is not None:
            return f.solve(solver=self.solver, **dict(self.solver_opts or {})), self.solver
        attempts = [("CLARABEL", {}), ("CLARABEL", _CLARABEL_STEADY), ("SCS", _SCS_ACCURATE)]
        for i, (name, opts) in enumerate(attempts):
            try:
                return f.solve(solver=name, **opts), name
            except SolverNotInstalledError:
                if i == len(attempts) - 1:
                    raise
            except SolverError:
                if i == len(attempts) - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _raw_output(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False)
        return self.network_.predict(self._augment(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class ConvexReLURegressor(RegressorMixin, _ConvexReLUBase):
    """Two-layer ReLU regression network trained to (near) global optimality.

    Minimizes ½‖relu(X̃ W1) W2 − (Y − b)‖²_F + (β/2)(‖W1‖²_F + ‖W2‖²_F) through the convex
    bi-dual (12) (Pilanci & Ergen's program (9) for a single output), summed over samples.

    Parameters
    ----------
    beta : float > 0, default 1.0
        Weight decay β (on the summed, not averaged, loss).
    form : {"inner", "auto", "rays", "simplicial", "paper"}, default "inner"
        Cone-set form of :func:`cvxrelu.bidual`. For one output every form is exact; "inner"
        is a cheap second-order-cone program and always yields a real network.
    patterns : {"auto", "exact", "sample"}, default "auto"
        Sign patterns D_i: "exact" enumerates all of them (only feasible for data of rank
        ≤ 3 or so; the fit is then the global optimum); "sample" keeps the distinct patterns
        of ``n_patterns`` random directions (the fit is then an upper bound, a real network
        optimal over those patterns); "auto" is exact when the worst-case number of patterns
        is at most ``n_patterns`` and samples otherwise.
    n_patterns : int, default 30
        Number of sampled directions (an upper limit on the number of patterns).
    solver : str, optional
        Conic solver name. With ``solver=None`` and ``solver_opts=None``, Clarabel is tried
        first, then Clarabel with steadier settings, then SCS (tight tolerances), each only
        if the previous one did not reach an optimal status; ``solver_`` says which one won.
    solver_opts : dict, optional
        Keyword arguments for the solver (e.g. ``{"max_iter": 500}``); given options (or a
        given solver) switch the fallback off.
    fit_intercept : bool, default True
        Adds two intercepts. (1) A first-layer bias, by appending a constant feature 1 to X;
        it is part of W1 and therefore IS regularized by the weight decay (this also lets a
        neuron act as a constant output). (2) An output intercept ``intercept_`` = the mean of
        Y over the training set, subtracted before the fit: it is NOT regularized, but it is
        fixed at the mean rather than optimized jointly with the network.
    random_state : int, RandomState or None
        Seed of the pattern sampler.

    Attributes
    ----------
    network_ : ReLUNetwork
        The recovered network. With ``fit_intercept`` it acts on ``[X, 1]`` (its W1 has
        ``n_features_in_ + 1`` rows; the last row is the first-layer bias).
    intercept_ : ndarray, shape (n_outputs,)
        Output intercept (zeros when ``fit_intercept=False``).
    value_ : float
        Optimal value of the convex program (on centered targets).
    objective_ : float
        Training objective (5) of ``network_`` (on centered targets): an upper bound on the
        global optimum; it equals ``value_`` up to solver accuracy when ``bound_`` is "exact".
    bound_ : str
        What ``value_`` is relative to the global optimum: "exact", "upper", ...
    form_ : str
        The form actually used.
    n_neurons_ : int
        Hidden neurons of ``network_``.
    n_patterns_ : int
        Number of sign patterns in the program.
    solver_ : str or None
        The solver that produced ``value_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only when X had string column names)

    Examples
    --------
    >>> import numpy as np
    >>> from cvxrelu.estimators import ConvexReLURegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 2))
    >>> y = np.maximum(X[:, 0], 0) - X[:, 1]
    >>> reg = ConvexReLURegressor(beta=1e-2).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    _loss = "squared"

    def fit(self, X, y):
        """Fit the network; returns ``self``."""
        beta = self._check_params()
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        Y = np.asarray(y, dtype=float)
        self._y_1d = Y.ndim == 1
        if self._y_1d:
            Y = Y.reshape(-1, 1)
        self.intercept_ = Y.mean(axis=0) if self.fit_intercept else np.zeros(Y.shape[1])
        self._fit_network(X, Y - self.intercept_, beta)
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
    """Two-layer ReLU classifier trained by the convex program (79) with softmax cross-entropy.

    Minimizes Σ_i [logsumexp(F_i) − F_{i, y_i}] + (β/2)(‖W1‖²_F + ‖W2‖²_F) over networks
    F = relu(X̃ W1) W2 with one output per class (two outputs for binary problems);
    ``predict_proba`` is the softmax of F.

    Parameters
    ----------
    beta : float > 0, default 1.0
        Weight decay β (on the summed, not averaged, loss).
    form : {"inner", "auto", "rays", "simplicial", "paper"}, default "inner"
        Cone-set form of :func:`cvxrelu.bidual`. "inner" (each neuron feeds one class) is a
        cheap conic program whose value is an upper bound and always yields a real network;
        "auto"/"rays"/"simplicial" are exact for data of rank ≤ 4 with all patterns but solve
        a semidefinite program per pattern (much slower).
    patterns : {"auto", "exact", "sample"}, default "auto"
        As for :class:`ConvexReLURegressor`.
    n_patterns : int, default 30
        Number of sampled directions (an upper limit on the number of patterns).
    solver : str, optional
        Conic solver supporting the exponential cone; default as for
        :class:`ConvexReLURegressor` (Clarabel, with a fallback to SCS).
    solver_opts : dict, optional
        Keyword arguments for the solver.
    fit_intercept : bool, default True
        Appends a constant feature 1 to X: a first-layer bias that IS regularized by the
        weight decay. There is no separate unregularized output intercept (a neuron on the
        constant feature plays that role, regularized).
    random_state : int, RandomState or None
        Seed of the pattern sampler.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    network_ : ReLUNetwork
        Acts on ``[X, 1]`` when ``fit_intercept``; output column k scores ``classes_[k]``.
    value_, objective_, bound_, form_, n_neurons_, n_patterns_, solver_, n_features_in_
        As for :class:`ConvexReLURegressor` (objective on the cross-entropy scale).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from cvxrelu.estimators import ConvexReLUClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), ConvexReLUClassifier(beta=1.0, random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """

    _loss = "cross_entropy"

    def fit(self, X, y):
        """Fit the network; returns ``self``."""
        beta = self._check_params()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        encoder = LabelEncoder()
        codes = encoder.fit_transform(y)
        self.classes_ = encoder.classes_
        k = len(self.classes_)
        if k < 2:
            raise InvalidInputError(
                f"y has only one class ({self.classes_[0]!r}); a classifier needs samples of "
                "at least 2 classes."
            )
        Y = np.eye(k)[codes]
        self._fit_network(X, Y, beta)
        return self

    def decision_function(self, X):
        """Class scores F = network output, shape (n, n_classes); for two classes the
        logit difference F[:, 1] − F[:, 0], shape (n,)."""
        F = self._raw_output(X)
        return F[:, 1] - F[:, 0] if F.shape[1] == 2 else F

    def predict_proba(self, X):
        """softmax of the network output, shape (n, n_classes)."""
        return _softmax(self._raw_output(X))

    def predict_log_proba(self, X):
        F = self._raw_output(X)
        S = F - F.max(axis=1, keepdims=True)
        return S - np.log(np.exp(S).sum(axis=1, keepdims=True))

    def predict(self, X):
        """The class with the largest output."""
        F = self._raw_output(X)
        return self.classes_[np.argmax(F, axis=1)]
