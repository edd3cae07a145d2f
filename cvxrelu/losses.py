"""Convex losses ℓ(F, Y) and their conjugates: the general-loss programs (76)–(79).

Sahiner, Ergen, Pauly & Pilanci (ICLR 2021), Appendix A.6, eqs. (76)–(79): training a
two-layer ReLU network with any loss ℓ convex in the predictions F ∈ R^{n×c} is the convex
program

    p* = min_V  ℓ(Σ_i D_i X V_i, Y) + β Σ_i γ_i(V_i)                               (76)–(77)

whose dual is

    p* = max_Z  −ℓ*(Z)   s.t.  ‖Zᵀ (X u)_+‖₂ ≤ β  for all ‖u‖₂ ≤ 1,                    (78)–(79)

with ℓ*(Z) = sup_F ⟨Z, F⟩ − ℓ(F, Y) the convex conjugate in F.

One class per loss
------------------
:class:`Loss` is the base class; every built-in loss is a subclass (:class:`SquaredLoss`,
:class:`CrossEntropyLoss`, :class:`LogisticLoss`, :class:`HingeLoss` (Weston–Watkins),
:class:`BinaryHingeLoss`, :class:`HuberLoss`, :class:`AbsoluteLoss`) and user callables are
wrapped in :class:`UserLoss`. The lowercase factories (:func:`squared`, :func:`huber`, ...)
return instances; :func:`get_loss` resolves a name, an instance or a callable once, at each
entry point. A subclass implements the math in a few private hooks (``_value``,
``_gradient``, ``_conjugate``, ...); the public methods of the base class validate shapes and
domains once for every loss.

Sign convention (used by every :class:`Loss` here)
--------------------------------------------------
``conjugate(Z, Y)`` returns ℓ*(Z) = sup_F ⟨Z, F⟩ − ℓ(F, Y) (``+inf`` outside its domain),
and the dual point of a prediction F is the gradient ``dual_point(F, Y) = ∇ℓ(F)``.
Weak duality: for every V and every Z that satisfies the constraint of (79),
Fenchel–Young gives ℓ(F) ≥ ⟨Z, F⟩ − ℓ*(Z), and the constraint gives
β Σ γ_i(V_i) ≥ |⟨Z, F⟩| for F = Σ_i D_i X V_i, hence

    p* ≥ −ℓ*(Z) = ``dual_objective(Z, Y)``.

For the squared loss ½‖F − Y‖² this is ℓ*(Z) = ½‖Z‖² + ⟨Z, Y⟩, i.e.
−ℓ*(Z) = −½‖Z + Y‖² + ½‖Y‖²; SPEC's dual (11) −½‖Z' − Y‖² + ½‖Y‖² is the same with
Z' = −Z = Y − F (the residual). The constraint of (79) is symmetric under Z → −Z, so both
sign conventions give the same bound.

Domains: dom ℓ* is convex, and it contains 0 whenever ℓ is bounded below (ℓ*(0) = −inf ℓ).
Every built-in loss is ≥ 0, so its dom ℓ* is star-shaped with respect to 0: if Z is in the
domain so is s Z for every s ∈ [0, 1]. Scaling ``dual_point(F, Y)`` into feasibility of (79)
therefore never leaves the domain.

Smoothness (for the column-generation master, :mod:`cvxrelu.drivers.loss_master`): a smooth
loss has ``lipschitz`` (a bound on the spectral norm of ∇²ℓ) and ``hessian_blocks``; a
nonsmooth loss (hinge, absolute) gives ``smoothed(mu)``, a smooth under-approximation
ℓ_μ ≤ ℓ ≤ ℓ_μ + μ·``smoothing_gap`` whose gradient lies in dom ℓ*, so that the dual bound of
the original loss stays valid at ∇ℓ_μ(F).

Library conventions (SPEC): losses are summed over samples, never averaged.
"""

from __future__ import annotations

import inspect
import numbers
from typing import Callable, Optional

import cvxpy as cp
import numpy as np
from scipy.special import expit, xlogy

from ._validate import as_targets
from .errors import InvalidInputError, UnsupportedError

__all__ = [
    "Loss",
    "SquaredLoss",
    "CrossEntropyLoss",
    "LogisticLoss",
    "HingeLoss",
    "BinaryHingeLoss",
    "HuberLoss",
    "AbsoluteLoss",
    "UserLoss",
    "get_loss",
    "register",
    "unregister",
    "available",
    "squared",
    "cross_entropy",
    "logistic",
    "hinge",
    "binary_hinge",
    "huber",
    "absolute",
    "DOMAIN_TOL",
]

#: Entries of Z may lie this far outside dom ℓ* (absolute, per entry / per row sum) and still
#: be treated as inside it; they are clipped onto the domain before ℓ* is evaluated.
DOMAIN_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------------


class Loss:
    """A loss ℓ(F, Y), convex in the predictions F ∈ R^{n×c}, with its conjugate (76)–(79).

    Instances come from the subclasses or their factories (:func:`squared`,
    :func:`huber`, ...), from :func:`get_loss`, or from :func:`register` with a callable.
    ``Y`` passed to every method is the output of :meth:`prepare_targets`.

    Sign convention: :meth:`conjugate` is ℓ*(Z) = sup_F ⟨Z, F⟩ − ℓ(F, Y), and
    :meth:`dual_point` is ∇ℓ(F). For any Z feasible for the dual constraint of (79),
    ``dual_objective(Z, Y) = −ℓ*(Z)`` is a lower bound on the training optimum p*. For the
    squared loss this is SPEC's dual (11) after the substitution Z → −Z.

    Subclasses implement ``_expr``, ``_value`` and, where they exist, ``_gradient``,
    ``_hessian``, ``_conjugate`` (on dom ℓ*), ``_conjugate_expr``, ``_in_domain``,
    ``_into_domain``, ``_domain_scale`` and ``_prepare``; the public methods validate once.

    Attributes
    ----------
    name : str
        Registry name (e.g. ``"huber"``).
    params : tuple of (str, value) pairs
        Parameters the loss was built with (e.g. ``(("delta", 0.5),)``).
    supports_conjugate : bool
        Whether :meth:`conjugate`, :meth:`conjugate_expr` and the domain helpers are available
        (True for every built-in loss; for a user loss only when ``conjugate=`` was given).
    differentiable : bool
        Whether :meth:`gradient` is a true gradient everywhere (False: a subgradient, e.g.
        hinge, absolute).
    lipschitz : float
        A bound on ‖∇²ℓ‖₂ (the Lipschitz constant of ∇ℓ); ``inf`` for a nonsmooth loss or
        when unknown (user losses).
    smooth : bool
        Whether ∇ℓ is Lipschitz (squared, Huber, cross-entropy, logistic; the smoothings
        :meth:`smoothed`); nonsmooth losses are minimized through :meth:`smoothed`.
    formula : str
        Human-readable formula of ℓ.
    """

    name: str = "loss"
    supports_conjugate: bool = True
    differentiable: bool = True
    lipschitz: float = float("inf")
    smooth: bool = False
    formula: str = ""

    def __init__(self, params: tuple = ()):
        self.params = tuple(params)

    # -- identity ----------------------------------------------------------------------------

    def __eq__(self, other) -> bool:
        if not isinstance(other, Loss):
            return NotImplemented
        return type(self) is type(other) and self.name == other.name and \
            self.params == other.params and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name, self.params, self._identity()))

    def _identity(self):
        return None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params)
        return f"{type(self).__name__}({args})"

    # -- targets -----------------------------------------------------------------------------

    def prepare_targets(self, Y, n_classes: Optional[int] = None) -> np.ndarray:
        """Convert raw targets into the float (n, c) array the other methods expect.

        Parameters
        ----------
        Y : array-like, shape (n,) or (n, c)
            Raw targets. Classification losses accept integer class labels (shape (n,) or
            (n, 1)) or one-hot rows; ``logistic``/``binary_hinge`` accept {−1, +1} or {0, 1}.
        n_classes : int, optional
            Number of classes when integer labels are given (default: max label + 1, at
            least 2). Ignored by regression losses.

        Returns
        -------
        ndarray of float, shape (n, c)
            Prepared targets. Preparing prepared targets returns them unchanged.
        """
        return self._prepare(Y, n_classes)

    def _prepare(self, Y, n_classes):
        return _regression_targets(Y)

    # -- primal ------------------------------------------------------------------------------

    def expr(self, F, Y) -> cp.Expression:
        """The loss as a scalar CVXPY expression, convex in ``F`` (the objective of (76)).

        Parameters
        ----------
        F : cp.Expression or array-like, shape (n, c)
            Predictions (usually an affine expression of the program's variables).
        Y : ndarray, shape (n, c)
            Prepared targets.
        """
        if not isinstance(F, cp.Expression):
            F = cp.Constant(_as_2d(F, "F"))
        Y = _as_2d(Y, "Y")
        if tuple(F.shape) != Y.shape:
            raise InvalidInputError(
                f"predictions F have shape {tuple(F.shape)} but targets Y have shape {Y.shape}; "
                f"pass Y = loss.prepare_targets(Y) and predictions with the same shape."
            )
        return self._expr(F, Y)

    def value(self, F, Y) -> float:
        """ℓ(F, Y) for a numeric F (the same number as ``expr(F, Y).value``)."""
        F, Y = _pair(F, Y)
        return float(self._value(F, Y))

    def __call__(self, F, Y) -> float:
        """Alias of :meth:`value`."""
        return self.value(F, Y)

    def gradient(self, F, Y) -> np.ndarray:
        """∂ℓ/∂F at a numeric F, shape (n, c) (a subgradient where ℓ is not differentiable)."""
        F, Y = _pair(F, Y)
        return np.asarray(self._gradient(F, Y), dtype=float)

    def grad(self, F, Y) -> np.ndarray:
        """Alias of :meth:`gradient`."""
        return self.gradient(F, Y)

    def _gradient(self, F, Y):
        return _finite_difference_grad(lambda G: self._value(G, Y), F)

    def dual_point(self, F, Y) -> np.ndarray:
        """The natural dual candidate Z = ∇ℓ(F) ∈ dom ℓ*; scale it into feasibility of (79).

        At the optimum of (76) the dual solution is Z* = ∇ℓ(F*). For built-in losses the
        returned Z lies in dom ℓ* and Fenchel–Young holds with equality:
        ℓ(F) + ℓ*(Z) = ⟨Z, F⟩.
        """
        return self.gradient(F, Y)

    def hessian_blocks(self, F, Y) -> np.ndarray:
        """∇²ℓ(F) as per-sample blocks H_i (shape (n, c, c)): every built-in loss separates
        over the rows F_i, so ∇²ℓ = blockdiag(H_1, …, H_n) (a generalized Hessian where ∇ℓ
        is only piecewise smooth, e.g. Huber). Raises UnsupportedError for nonsmooth losses
        (use :meth:`smoothed`) and for user losses."""
        F, Y = _pair(F, Y)
        H = self._hessian(F, Y)
        if H is None:
            raise UnsupportedError(
                f"loss {self.name!r} has no Hessian; nonsmooth built-in losses give one for "
                f"loss.smoothed(mu), and user losses are solved by first-order steps only.")
        return H

    def _hessian(self, F, Y):
        return None

    def lipschitz_bound(self, Y) -> float:
        """A bound on ‖∇²ℓ(F)‖₂ over all F for targets of Y's shape (:attr:`lipschitz`)."""
        return float(self.lipschitz)

    def smoothed(self, mu: float) -> "Loss":
        """A smooth loss ℓ_μ with ℓ_μ ≤ ℓ ≤ ℓ_μ + μ·``smoothing_gap(Y)`` and ∇ℓ_μ(F) ∈ dom ℓ*.

        Smooth losses return themselves. Nonsmooth built-ins return a Moreau-type smoothing
        of each kink (hinge, absolute): its gradient is a valid dual point of the ORIGINAL
        loss, so −ℓ*(s∇ℓ_μ(F)) remains a lower bound of (79) for the original problem.
        """
        if self.smooth:
            return self
        raise UnsupportedError(
            f"loss {self.name!r} is not smooth and has no smoothing, so the drivers' master "
            f"cannot minimize it; for a smooth user loss pass grad=... to register/UserLoss "
            f"(or subclass Loss with smooth = True), else use cr.bidual(..., loss=...).")

    def smoothing_gap(self, Y) -> float:
        """Bound on (ℓ − ℓ_μ)/μ over all F for :meth:`smoothed` (0 for smooth losses)."""
        return 0.0

    # -- conjugate ---------------------------------------------------------------------------

    def _need_conjugate(self) -> None:
        if not self.supports_conjugate:
            raise UnsupportedError(
                f"loss {self.name!r} has no conjugate; register it with "
                f"register({self.name!r}, fn, conjugate=...) to get dual bounds, or use a "
                f"built-in loss ({', '.join(_BUILTINS)})."
            )

    def conjugate(self, Z, Y) -> float:
        """ℓ*(Z) = sup_F ⟨Z, F⟩ − ℓ(F, Y); ``+inf`` if Z is outside dom ℓ*.

        Entries outside the domain by at most :data:`DOMAIN_TOL` are clipped onto it first.
        """
        self._need_conjugate()
        Z, Y = _pair(Z, Y, "Z")
        if not self._in_domain(Z, Y, DOMAIN_TOL):
            return float(np.inf)
        return float(self._conjugate(self._into_domain(Z, Y), Y))

    def dual_objective(self, Z, Y) -> float:
        """−ℓ*(Z): a certified lower bound on p* when Z satisfies the constraint of (79)."""
        return -self.conjugate(Z, Y)

    def conjugate_expr(self, Z, Y):
        """ℓ*(Z) as a CVXPY pair ``(expr, constraints)`` for a dual program in Z.

        ``expr`` is convex in ``Z`` and ``constraints`` describe dom ℓ* (empty for the squared
        loss), so ``cp.Maximize(-expr)`` subject to ``constraints`` plus the cuts of (79) is
        the dual program.
        """
        self._need_conjugate()
        Y = _as_2d(Y, "Y")
        if tuple(Z.shape) != Y.shape:
            raise InvalidInputError(
                f"Z has shape {tuple(Z.shape)} but Y has shape {Y.shape}; they must match."
            )
        out = self._conjugate_expr(Z, Y)
        if out is None:
            raise UnsupportedError(
                f"loss {self.name!r} has a numeric conjugate only; no CVXPY form is available."
            )
        expr, constraints = out
        return expr, list(constraints)

    def _conjugate_expr(self, Z, Y):
        return None

    def in_domain(self, Z, Y, tol: float = DOMAIN_TOL) -> bool:
        """Whether Z ∈ dom ℓ* (up to ``tol`` per entry)."""
        self._need_conjugate()
        Z, Y = _pair(Z, Y, "Z")
        return bool(self._in_domain(Z, Y, tol))

    def _in_domain(self, Z, Y, tol):
        return bool(np.isfinite(self._conjugate(Z, Y)))

    def domain_scale(self, Z, Y) -> float:
        """The largest s ∈ [0, 1] with s Z ∈ dom ℓ* (0 ∈ dom ℓ* for every built-in loss).

        Returns 0.0 when no positive multiple of Z is in the domain (e.g. cross-entropy with a
        row of Z that does not sum to zero); use :meth:`into_domain` first in that case.
        """
        self._need_conjugate()
        Z, Y = _pair(Z, Y, "Z")
        return float(min(1.0, max(0.0, self._domain_scale(Z, Y))))

    def _domain_scale(self, Z, Y):
        return 1.0

    def scale_into_domain(self, Z, Y) -> np.ndarray:
        """``domain_scale(Z, Y) * Z``: a multiple of Z inside dom ℓ*."""
        Z2, _ = _pair(Z, Y, "Z")
        return self.domain_scale(Z, Y) * Z2

    def into_domain(self, Z, Y) -> np.ndarray:
        """A point of dom ℓ* near Z (Z itself when it is already inside).

        Box domains are clipped, simplex domains projected (Euclidean); for ``hinge`` the
        off-label entries are clipped to [0, 1] and the label entry set to minus their sum.
        """
        self._need_conjugate()
        Z, Y = _pair(Z, Y, "Z")
        return self._into_domain(Z, Y)

    def _into_domain(self, Z, Y):
        return Z.copy()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _as_2d(A, name: str) -> np.ndarray:
    try:
        A = np.asarray(A, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a numeric array ({exc}).") from None
    if A.ndim == 1:
        A = A.reshape(-1, 1)
    if A.ndim != 2:
        raise InvalidInputError(f"{name} must have shape (n, c); got shape {A.shape}.")
    return A


def _pair(F, Y, fname: str = "F"):
    F = _as_2d(F, fname)
    Y = _as_2d(Y, "Y")
    if F.shape != Y.shape:
        raise InvalidInputError(
            f"{fname} has shape {F.shape} but Y has shape {Y.shape}; pass "
            f"Y = loss.prepare_targets(Y) and {fname} of the same shape."
        )
    return F, Y


def _raw(Y, name: str = "Y") -> np.ndarray:
    arr = np.asarray(Y)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise InvalidInputError(f"{name} must be a non-empty array of shape (n,) or (n, c).")
    if arr.dtype == bool:
        arr = arr.astype(float)
    return as_targets(arr, arr.shape[0], name)


def _regression_targets(Y, n_classes=None) -> np.ndarray:
    return _raw(Y)


def _labels_to_one_hot(labels: np.ndarray, n_classes, loss_name: str) -> np.ndarray:
    if np.any(labels != np.round(labels)) or np.any(labels < 0):
        raise InvalidInputError(
            f"{loss_name} needs integer class labels 0..C-1 (shape (n,)) or one-hot rows "
            f"(shape (n, C)); got non-integer or negative labels."
        )
    labels = labels.astype(int)
    if n_classes is None:
        n_classes = max(2, int(labels.max()) + 1)
    else:
        if isinstance(n_classes, bool) or not isinstance(n_classes, (numbers.Integral,)):
            raise InvalidInputError(f"n_classes must be an int >= 2; got {n_classes!r}.")
        n_classes = int(n_classes)
        if n_classes < 2:
            raise InvalidInputError(f"n_classes must be an int >= 2; got {n_classes}.")
        if labels.max() >= n_classes:
            raise InvalidInputError(
                f"label {labels.max()} is out of range for n_classes={n_classes}; labels must be "
                f"0..{n_classes - 1} (raise n_classes or fix the labels)."
            )
    out = np.zeros((labels.size, n_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def _class_targets(Y, n_classes, loss_name: str, soft: bool) -> np.ndarray:
    arr = _raw(Y)
    if arr.shape[1] == 1:
        return _labels_to_one_hot(arr[:, 0], n_classes, loss_name)
    if n_classes is not None and arr.shape[1] != n_classes:
        raise InvalidInputError(
            f"Y has {arr.shape[1]} columns but n_classes={n_classes}; pass one column per class."
        )
    rows_ok = np.all(arr >= 0) and np.allclose(arr.sum(axis=1), 1.0, rtol=0, atol=1e-8)
    if soft:
        if not rows_ok:
            raise InvalidInputError(
                f"{loss_name} targets of shape (n, C) must be rows of probabilities "
                f"(nonnegative, summing to 1); pass integer labels of shape (n,) otherwise."
            )
        arr = np.clip(arr, 0.0, None)
        return arr / arr.sum(axis=1, keepdims=True)
    if not (rows_ok and np.all((arr == 0) | (arr == 1))):
        raise InvalidInputError(
            f"{loss_name} targets of shape (n, C) must be one-hot rows; pass integer labels "
            f"of shape (n,) otherwise."
        )
    return arr


def _binary_targets(Y, loss_name: str, soft: bool, to_pm1: bool) -> np.ndarray:
    arr = _raw(Y)
    vals = np.unique(arr)
    if np.all(np.isin(vals, (-1.0, 1.0))):
        pm1 = arr
    elif np.all(np.isin(vals, (0.0, 1.0))):
        pm1 = 2.0 * arr - 1.0
    elif soft and np.all((arr >= 0) & (arr <= 1)):
        return arr  # probabilities, only for logistic
    else:
        allowed = "{-1, +1}, {0, 1} or probabilities in [0, 1]" if soft else "{-1, +1} or {0, 1}"
        raise InvalidInputError(
            f"{loss_name} needs targets in {allowed}; got values outside that set. For "
            f"integer class labels use 'cross_entropy' or 'hinge'."
        )
    return pm1 if to_pm1 else (pm1 + 1.0) / 2.0


def _finite_difference_grad(fun, F: np.ndarray) -> np.ndarray:
    G = np.zeros_like(F)
    for idx in np.ndindex(F.shape):
        h = 1e-6 * max(1.0, abs(F[idx]))
        Fp = F.copy()
        Fm = F.copy()
        Fp[idx] += h
        Fm[idx] -= h
        G[idx] = (fun(Fp) - fun(Fm)) / (2 * h)
    return G


def _box_scale(Z: np.ndarray, lo, hi) -> float:
    """Largest s ≥ 0 with lo ≤ s Z ≤ hi, where lo ≤ 0 ≤ hi (scalars or arrays)."""
    lo = np.broadcast_to(lo, Z.shape)
    hi = np.broadcast_to(hi, Z.shape)
    s = np.inf
    pos = Z > 0
    neg = Z < 0
    if np.any(pos):
        s = min(s, float(np.min(hi[pos] / Z[pos])))
    if np.any(neg):
        s = min(s, float(np.min(lo[neg] / Z[neg])))
    return s


def _project_simplex_rows(P: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of P onto the probability simplex."""
    n, c = P.shape
    U = -np.sort(-P, axis=1)
    css = np.cumsum(U, axis=1) - 1.0
    k = np.arange(1, c + 1)
    cond = U - css / k > 0
    rho = c - 1 - np.argmax(cond[:, ::-1], axis=1)
    theta = css[np.arange(n), rho] / (rho + 1)
    return np.maximum(P - theta[:, None], 0.0)


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise InvalidInputError(f"{name} must be a positive real number; got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InvalidInputError(f"{name} must be a positive finite number; got {value}.")
    return value


def _logsumexp_rows(F: np.ndarray) -> np.ndarray:
    """log Σ_k exp F_ik per row, shape (n, 1) (plain numpy: scipy's version costs ~1 ms a
    call in array-API overhead, which dominates the drivers' master on small data)."""
    m = np.max(F, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return m + np.log(np.sum(np.exp(F - m), axis=1, keepdims=True))


def _diag_blocks(W: np.ndarray) -> np.ndarray:
    """(n, c) entrywise weights → (n, c, c) diagonal Hessian blocks."""
    n, c = W.shape
    H = np.zeros((n, c, c))
    idx = np.arange(c)
    H[:, idx, idx] = W
    return H


def _soft_kink(t: np.ndarray, mu: float):
    """Moreau envelope of t ↦ max(0, t) with parameter μ: value, derivative, second derivative.

    h_μ(t) = 0 (t ≤ 0), t²/(2μ) (0 < t < μ), t − μ/2 (t ≥ μ); 0 ≤ max(0, t) − h_μ(t) ≤ μ/2.
    """
    w = np.clip(t / mu, 0.0, 1.0)
    val = np.where(t <= 0, 0.0, np.where(t < mu, 0.5 * t * t / mu, t - 0.5 * mu))
    curv = ((t > 0) & (t < mu)) / mu
    return val, w, curv


# --------------------------------------------------------------------------------------------
# Built-in losses
# --------------------------------------------------------------------------------------------


class SquaredLoss(Loss):
    """Squared loss ℓ(F) = ½‖F − Y‖²_F (the default; SPEC (5)).

    ℓ*(Z) = ½‖Z‖² + ⟨Z, Y⟩ on all of R^{n×c}; ∇ℓ = F − Y; ∇²ℓ = I.
    """

    name = "squared"
    lipschitz = 1.0
    smooth = True
    formula = "½‖F − Y‖²_F"

    def _expr(self, F, Y):
        return 0.5 * cp.sum_squares(F - Y)

    def _value(self, F, Y):
        return 0.5 * np.sum((F - Y) ** 2)

    def _gradient(self, F, Y):
        return F - Y

    def _hessian(self, F, Y):
        return _diag_blocks(np.ones_like(F))

    def _conjugate(self, Z, Y):
        return 0.5 * np.sum(Z ** 2) + np.sum(Z * Y)

    def _conjugate_expr(self, Z, Y):
        return 0.5 * cp.sum_squares(Z) + cp.sum(cp.multiply(Y, Z)), []

    def _in_domain(self, Z, Y, tol):
        return True


class AbsoluteLoss(Loss):
    """Absolute (L1) loss ℓ(F) = Σ |F − Y|.

    ℓ*(Z) = ⟨Z, Y⟩ for |Z_ij| ≤ 1, +inf otherwise; subgradient sign(F − Y). Nonsmooth:
    :meth:`smoothed` gives Σ h_μ(F − Y) with h_μ the Moreau envelope of |·| (Huber-like).
    """

    name = "absolute"
    differentiable = False
    formula = "Σ |F − Y|"

    def _expr(self, F, Y):
        return cp.sum(cp.abs(F - Y))

    def _value(self, F, Y):
        return np.sum(np.abs(F - Y))

    def _gradient(self, F, Y):
        return np.sign(F - Y)

    def _conjugate(self, Z, Y):
        return np.sum(Z * Y)

    def _conjugate_expr(self, Z, Y):
        return cp.sum(cp.multiply(Y, Z)), [cp.abs(Z) <= 1]

    def _in_domain(self, Z, Y, tol):
        return bool(np.all(np.abs(Z) <= 1.0 + tol))

    def _into_domain(self, Z, Y):
        return np.clip(Z, -1.0, 1.0)

    def _domain_scale(self, Z, Y):
        return _box_scale(Z, -1.0, 1.0)

    def smoothed(self, mu: float) -> Loss:
        return _SmoothedAbsolute(_check_positive(mu, "mu"))

    def smoothing_gap(self, Y) -> float:
        return 0.5 * np.asarray(Y).size


class HuberLoss(Loss):
    """Huber loss ℓ(F) = ½ Σ cp.huber(F − Y, δ).

    ``cp.huber(x, M)`` is x² for |x| ≤ M and 2M|x| − M² otherwise, so per entry
    ℓ = ½x² for |x| ≤ δ and δ|x| − ½δ² otherwise: it equals ½‖F − Y‖² near 0 and
    ``torch.nn.functional.huber_loss(F, Y, delta=δ, reduction="sum")``.

    ℓ*(Z) = ½‖Z‖² + ⟨Z, Y⟩ for |Z_ij| ≤ δ, +inf otherwise; ∇ℓ = clip(F − Y, −δ, δ);
    generalized Hessian diag(1[|F − Y| < δ]).

    Parameters
    ----------
    delta : float, default 1.0
        Threshold δ > 0 between the quadratic and the linear part.
    """

    name = "huber"
    lipschitz = 1.0
    smooth = True

    def __init__(self, delta: float = 1.0):
        self.delta = _check_positive(delta, "delta")
        super().__init__((("delta", self.delta),))
        self.formula = f"½ Σ huber(F − Y, δ={self.delta:g})"

    def _expr(self, F, Y):
        return 0.5 * cp.sum(cp.huber(F - Y, self.delta))

    def _value(self, F, Y):
        a = np.abs(F - Y)
        d = self.delta
        return np.sum(np.where(a <= d, 0.5 * a ** 2, d * a - 0.5 * d ** 2))

    def _gradient(self, F, Y):
        return np.clip(F - Y, -self.delta, self.delta)

    def _hessian(self, F, Y):
        return _diag_blocks((np.abs(F - Y) < self.delta).astype(float))

    def _conjugate(self, Z, Y):
        return 0.5 * np.sum(Z ** 2) + np.sum(Z * Y)

    def _conjugate_expr(self, Z, Y):
        return (0.5 * cp.sum_squares(Z) + cp.sum(cp.multiply(Y, Z)),
                [cp.abs(Z) <= self.delta])

    def _in_domain(self, Z, Y, tol):
        return bool(np.all(np.abs(Z) <= self.delta + tol))

    def _into_domain(self, Z, Y):
        return np.clip(Z, -self.delta, self.delta)

    def _domain_scale(self, Z, Y):
        return _box_scale(Z, -self.delta, self.delta)


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy ℓ(F) = Σ_i [logsumexp(F_i) − ⟨y_i, F_i⟩] (natural log).

    Targets: integer labels (n,) or one-hot / probability rows (n, C); equals
    ``torch.nn.functional.cross_entropy(F, labels, reduction="sum")``.

    ℓ*(Z) = Σ_ik (Y + Z)_ik log (Y + Z)_ik (negative entropy) when every row Y_i + Z_i lies in
    the probability simplex, +inf otherwise; so −ℓ*(Z) = Σ_i entropy(y_i + Z_i) (SPEC).
    ∇ℓ = softmax(F) − Y, for which Y + ∇ℓ = softmax(F) is in the simplex;
    H_i = diag(p_i) − p_i p_iᵀ with p_i = softmax(F_i) (‖H_i‖₂ ≤ ½).
    """

    name = "cross_entropy"
    lipschitz = 0.5
    smooth = True
    formula = "Σ_i [logsumexp(F_i) − ⟨y_i, F_i⟩]"

    def _prepare(self, Y, n_classes):
        return _class_targets(Y, n_classes, "cross_entropy", soft=True)

    def _expr(self, F, Y):
        return cp.sum(cp.log_sum_exp(F, axis=1)) - cp.sum(cp.multiply(Y, F))

    def _value(self, F, Y):
        return float(np.sum(_logsumexp_rows(F))) - float(np.sum(Y * F))

    @staticmethod
    def _softmax(F):
        return np.exp(F - _logsumexp_rows(F))

    def _gradient(self, F, Y):
        return self._softmax(F) - Y

    def _hessian(self, F, Y):
        P = self._softmax(F)
        return _diag_blocks(P) - P[:, :, None] * P[:, None, :]

    def _conjugate(self, Z, Y):
        return np.sum(xlogy(Y + Z, Y + Z))

    def _conjugate_expr(self, Z, Y):
        return -cp.sum(cp.entr(Y + Z)), [Y + Z >= 0, cp.sum(Y + Z, axis=1) == 1]

    def _in_domain(self, Z, Y, tol):
        P = Y + Z
        return bool(np.all(P >= -tol) and np.all(np.abs(P.sum(axis=1) - 1.0) <= tol))

    def _into_domain(self, Z, Y):
        return _project_simplex_rows(Y + Z) - Y

    def _domain_scale(self, Z, Y):
        if np.any(np.abs(Z.sum(axis=1)) > DOMAIN_TOL):
            return 0.0
        return _box_scale(Z, -Y, np.inf)


class LogisticLoss(Loss):
    """Logistic loss ℓ(F) = Σ log(1 + exp(−y F)), y ∈ {−1, +1}, per entry (binary/multi-label).

    Targets {−1, +1} or {0, 1} (mapped), or probabilities; they are *prepared* as
    P = (y + 1)/2 ∈ [0, 1] and the loss is written Σ [log(1 + e^F) − P F], which equals
    ``torch.nn.functional.binary_cross_entropy_with_logits(F, P, reduction="sum")``.

    ℓ*(Z) = Σ [Q log Q + (1 − Q) log(1 − Q)] with Q = P + Z ∈ [0, 1] entrywise, +inf
    otherwise; ∇ℓ = sigmoid(F) − P; ∇²ℓ = diag(σ(1 − σ)) ≤ ¼.
    """

    name = "logistic"
    lipschitz = 0.25
    smooth = True
    formula = "Σ log(1 + exp(−y F)),  y = 2P − 1"

    def _prepare(self, Y, n_classes):
        return _binary_targets(Y, "logistic", soft=True, to_pm1=False)

    def _expr(self, F, Y):
        return cp.sum(cp.logistic(F)) - cp.sum(cp.multiply(Y, F))

    def _value(self, F, Y):
        return np.sum(np.logaddexp(0.0, F)) - np.sum(Y * F)

    def _gradient(self, F, Y):
        return expit(F) - Y

    def _hessian(self, F, Y):
        s = expit(F)
        return _diag_blocks(s * (1.0 - s))

    def _conjugate(self, Z, Y):
        Q = Y + Z
        return np.sum(xlogy(Q, Q) + xlogy(1.0 - Q, 1.0 - Q))

    def _conjugate_expr(self, Z, Y):
        return (-cp.sum(cp.entr(Y + Z)) - cp.sum(cp.entr(1 - Y - Z)),
                [Y + Z >= 0, Y + Z <= 1])

    def _in_domain(self, Z, Y, tol):
        Q = Y + Z
        return bool(np.all(Q >= -tol) and np.all(Q <= 1.0 + tol))

    def _into_domain(self, Z, Y):
        return np.clip(Y + Z, 0.0, 1.0) - Y

    def _domain_scale(self, Z, Y):
        return _box_scale(Z, -Y, 1.0 - Y)


class HingeLoss(Loss):
    """Multiclass hinge loss, Weston–Watkins: ℓ(F) = Σ_i Σ_{k≠y_i} max(0, 1 + F_ik − F_iy_i).

    Targets: integer labels (n,) or one-hot rows (n, C). Equals C times
    ``torch.nn.functional.multi_margin_loss(F, labels, reduction="sum")`` (torch divides each
    sample by the number of classes).

    ℓ*(Z) = ⟨Z, Y⟩ = Σ_i Z_iy_i when, in every row, Z_ik ∈ [0, 1] for k ≠ y_i and
    Σ_k Z_ik = 0; +inf otherwise. Subgradient: Z_ik = 1[1 + F_ik − F_iy_i > 0] for k ≠ y_i
    and Z_iy_i = −Σ_{k≠y_i} Z_ik. Nonsmooth: :meth:`smoothed` replaces each max(0, t) by
    its Moreau envelope h_μ(t).
    """

    name = "hinge"
    differentiable = False
    formula = "Σ_i Σ_{k≠y_i} max(0, 1 + F_ik − F_iy_i)  (Weston–Watkins)"

    def _prepare(self, Y, n_classes):
        return _class_targets(Y, n_classes, "hinge", soft=False)

    @staticmethod
    def _margins(F, Y):
        return 1.0 + F - np.sum(F * Y, axis=1, keepdims=True)

    def _expr(self, F, Y):
        c = Y.shape[1]
        Fy = cp.sum(cp.multiply(Y, F), axis=1, keepdims=True) @ np.ones((1, c))
        return cp.sum(cp.multiply(1.0 - Y, cp.pos(1.0 + F - Fy)))

    def _value(self, F, Y):
        return np.sum((1.0 - Y) * np.maximum(self._margins(F, Y), 0.0))

    def _gradient(self, F, Y):
        A = (1.0 - Y) * (self._margins(F, Y) > 0)
        return A - Y * A.sum(axis=1, keepdims=True)

    def _conjugate(self, Z, Y):
        return np.sum(Y * Z)

    def _conjugate_expr(self, Z, Y):
        return (cp.sum(cp.multiply(Y, Z)),
                [cp.multiply(1.0 - Y, Z) >= 0, cp.multiply(1.0 - Y, Z) <= 1,
                 cp.sum(Z, axis=1) == 0])

    def _in_domain(self, Z, Y, tol):
        off = (1.0 - Y) * Z
        return bool(np.all(off >= -tol) and np.all(off <= 1.0 + tol)
                    and np.all(np.abs(Z.sum(axis=1)) <= tol))

    def _into_domain(self, Z, Y):
        off = (1.0 - Y) * np.clip(Z, 0.0, 1.0)
        return off - Y * off.sum(axis=1, keepdims=True)

    def _domain_scale(self, Z, Y):
        if np.any(np.abs(Z.sum(axis=1)) > DOMAIN_TOL):
            return 0.0
        return _box_scale((1.0 - Y) * Z, 0.0, 1.0)

    def smoothed(self, mu: float) -> Loss:
        return _SmoothedHinge(_check_positive(mu, "mu"))

    def smoothing_gap(self, Y) -> float:
        Y = np.asarray(Y)
        return 0.5 * (Y.size - Y.shape[0])


class BinaryHingeLoss(Loss):
    """Binary (per-entry) hinge loss ℓ(F) = Σ max(0, 1 − y F), y ∈ {−1, +1}.

    Targets {−1, +1} or {0, 1} (mapped to ±1), one column per binary task; prepared as ±1.
    ℓ*(Z) = ⟨Z, Y⟩ when −Y_ij Z_ij ∈ [0, 1] entrywise, +inf otherwise;
    subgradient −y 1[1 − y F > 0]. Nonsmooth: :meth:`smoothed` uses h_μ(1 − yF).
    """

    name = "binary_hinge"
    differentiable = False
    formula = "Σ max(0, 1 − y F)"

    def _prepare(self, Y, n_classes):
        return _binary_targets(Y, "binary_hinge", soft=False, to_pm1=True)

    def _expr(self, F, Y):
        return cp.sum(cp.pos(1.0 - cp.multiply(Y, F)))

    def _value(self, F, Y):
        return np.sum(np.maximum(1.0 - Y * F, 0.0))

    def _gradient(self, F, Y):
        return -Y * (1.0 - Y * F > 0)

    def _conjugate(self, Z, Y):
        return np.sum(Y * Z)

    def _conjugate_expr(self, Z, Y):
        return cp.sum(cp.multiply(Y, Z)), [-cp.multiply(Y, Z) >= 0, -cp.multiply(Y, Z) <= 1]

    def _in_domain(self, Z, Y, tol):
        W = -Y * Z
        return bool(np.all(W >= -tol) and np.all(W <= 1.0 + tol))

    def _into_domain(self, Z, Y):
        return -Y * np.clip(-Y * Z, 0.0, 1.0)

    def _domain_scale(self, Z, Y):
        W = -Y * Z
        if np.any(W < -DOMAIN_TOL):
            return 0.0
        return _box_scale(W, 0.0, 1.0)

    def smoothed(self, mu: float) -> Loss:
        return _SmoothedBinaryHinge(_check_positive(mu, "mu"))

    def smoothing_gap(self, Y) -> float:
        return 0.5 * np.asarray(Y).size


# -- smoothings of the nonsmooth losses (master problems only; no conjugate needed) ----------


class _Smoothed(Loss):
    """Base of the smoothings ℓ_μ of :meth:`Loss.smoothed` (numeric methods and a CVXPY
    expression; the dual bounds use the original loss's conjugate)."""

    supports_conjugate = False
    smooth = True

    def __init__(self, mu: float):
        self.mu = mu
        super().__init__((("mu", mu),))


class _SmoothedAbsolute(_Smoothed):
    name = "absolute_smoothed"
    formula = "Σ h_μ(F − Y), h_μ the Moreau envelope of |·|"

    @property
    def lipschitz(self):
        return 1.0 / self.mu

    def _expr(self, F, Y):
        return cp.sum(cp.huber(F - Y, self.mu)) / (2.0 * self.mu)

    def _value(self, F, Y):
        a = np.abs(F - Y)
        return np.sum(np.where(a <= self.mu, 0.5 * a * a / self.mu, a - 0.5 * self.mu))

    def _gradient(self, F, Y):
        return np.clip((F - Y) / self.mu, -1.0, 1.0)

    def _hessian(self, F, Y):
        return _diag_blocks((np.abs(F - Y) < self.mu) / self.mu)


class _SmoothedBinaryHinge(_Smoothed):
    name = "binary_hinge_smoothed"
    formula = "Σ h_μ(1 − y F)"

    @property
    def lipschitz(self):
        return 1.0 / self.mu

    def _expr(self, F, Y):
        t = 1.0 - cp.multiply(Y, F)
        return cp.sum(cp.huber(cp.pos(t), self.mu)) / (2.0 * self.mu)

    def _value(self, F, Y):
        return np.sum(_soft_kink(1.0 - Y * F, self.mu)[0])

    def _gradient(self, F, Y):
        return -Y * _soft_kink(1.0 - Y * F, self.mu)[1]

    def _hessian(self, F, Y):
        return _diag_blocks(_soft_kink(1.0 - Y * F, self.mu)[2])


class _SmoothedHinge(_Smoothed):
    name = "hinge_smoothed"
    lipschitz = float("inf")  # depends on c: see lipschitz_bound
    formula = "Σ_i Σ_{k≠y_i} h_μ(1 + F_ik − F_iy_i)"

    def lipschitz_bound(self, Y) -> float:
        # ‖Σ_{k≠y}(e_k − e_y)(e_k − e_y)ᵀ‖₂ = c
        return np.asarray(Y).shape[1] / self.mu

    @staticmethod
    def _margins(F, Y):
        return 1.0 + F - np.sum(F * Y, axis=1, keepdims=True)

    def _expr(self, F, Y):
        c = Y.shape[1]
        Fy = cp.sum(cp.multiply(Y, F), axis=1, keepdims=True) @ np.ones((1, c))
        t = cp.pos(1.0 + F - Fy)
        return cp.sum(cp.multiply(1.0 - Y, cp.huber(t, self.mu))) / (2.0 * self.mu)

    def _value(self, F, Y):
        return np.sum((1.0 - Y) * _soft_kink(self._margins(F, Y), self.mu)[0])

    def _gradient(self, F, Y):
        W = (1.0 - Y) * _soft_kink(self._margins(F, Y), self.mu)[1]
        return W - Y * W.sum(axis=1, keepdims=True)

    def _hessian(self, F, Y):
        # Σ_{k≠y} h''(t_k) (e_k − e_y)(e_k − e_y)ᵀ per row
        W = (1.0 - Y) * _soft_kink(self._margins(F, Y), self.mu)[2]
        n, c = F.shape
        H = _diag_blocks(W)
        e = Y  # one-hot label rows
        s = W.sum(axis=1)
        H += s[:, None, None] * e[:, :, None] * e[:, None, :]
        H -= W[:, :, None] * e[:, None, :] + e[:, :, None] * W[:, None, :]
        return H


# --------------------------------------------------------------------------------------------
# User losses
# --------------------------------------------------------------------------------------------


def _checked_user_expr(name: str, fn: Callable, F: cp.Expression, Y: np.ndarray):
    out = fn(F, Y)
    if not isinstance(out, cp.Expression):
        raise UnsupportedError(
            f"custom loss {name!r} returned {type(out).__name__}, not a CVXPY expression; "
            f"build it from CVXPY atoms of the predictions, e.g. cp.sum_squares(pred - Y)."
        )
    if not out.is_scalar():
        raise UnsupportedError(
            f"custom loss {name!r} returned an expression of shape {out.shape}; it must be a "
            f"scalar (sum over samples, e.g. wrap it in cp.sum(...))."
        )
    if not out.is_convex():
        raise UnsupportedError(
            f"custom loss {name!r} is not convex in the predictions under CVXPY's DCP rules "
            f"(curvature {out.curvature}); cvxrelu's programs need a convex loss. Rewrite it "
            f"with convex DCP atoms (cp.sum_squares, cp.abs, cp.pos, cp.logistic, cp.huber, "
            f"cp.log_sum_exp, ...)."
        )
    if out.shape != ():
        out = cp.reshape(out, (), order="C")
    return out


class UserLoss(Loss):
    """A user loss from a callable ``fn(pred, Y) -> cp.Expression`` (see :func:`register`).

    The callable is checked for convexity by CVXPY's DCP rules on a small trial input when
    the loss is built (when the callable accepts that shape) and on every :meth:`expr` call.
    Its numeric value is the expression evaluated on constants; without ``grad`` the gradient
    is a central finite difference (2nc evaluations); without ``conjugate`` there are no
    dual bounds (``supports_conjugate`` is False). With ``grad`` the loss is treated as
    smooth by the drivers' master (first-order steps with backtracking; no Hessian).

    Parameters
    ----------
    name : str
    fn : callable
    grad : callable, optional
        ``grad(F, Y) -> ndarray``.
    conjugate : callable, optional
        ``conjugate(Z, Y) -> float``, ℓ*(Z) (``inf`` outside its domain).
    """

    def __init__(self, name: str, fn: Callable, grad: Optional[Callable] = None,
                 conjugate: Optional[Callable] = None):
        if not callable(fn):
            raise InvalidInputError(
                f"loss {name!r} must be callable as fn(pred, Y) -> cp.Expression; got {fn!r}."
            )
        super().__init__(())
        self.name = name
        self.fn = fn
        self.user_grad = grad
        self.user_conjugate = conjugate
        self.supports_conjugate = conjugate is not None
        self.differentiable = grad is not None
        self.smooth = grad is not None
        self.formula = f"user callable {getattr(fn, '__qualname__', repr(fn))}"
        # early check on a small trial problem; losses that cannot handle the trial shape are
        # checked on first use instead (every expr() call checks convexity again)
        trial_F = cp.Variable((4, 2))
        trial_Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
        try:
            trial = fn(trial_F, trial_Y)
        except Exception:  # noqa: BLE001 - the callable may be shape-specific
            trial = None
        if trial is not None:
            _checked_user_expr(name, lambda F, Y: trial, trial_F, trial_Y)

    def _identity(self):
        return (id(self.fn), id(self.user_grad), id(self.user_conjugate))

    def __repr__(self) -> str:
        return f"UserLoss({self.name!r}, {self.formula})"

    def _expr(self, F, Y):
        return _checked_user_expr(self.name, self.fn, F, Y)

    def _value(self, F, Y):
        v = _checked_user_expr(self.name, self.fn, cp.Constant(F), Y).value
        return float(np.asarray(v).reshape(()))

    def _gradient(self, F, Y):
        if self.user_grad is None:
            return super()._gradient(F, Y)
        return np.asarray(self.user_grad(F, Y), dtype=float).reshape(F.shape)

    def _conjugate(self, Z, Y):
        return float(self.user_conjugate(Z, Y))

    def _in_domain(self, Z, Y, tol):
        return bool(np.isfinite(self._conjugate(Z, Y)))


# --------------------------------------------------------------------------------------------
# Factories and the registry
# --------------------------------------------------------------------------------------------


def squared() -> SquaredLoss:
    """Squared loss ½‖F − Y‖²_F (the default; SPEC (5)); see :class:`SquaredLoss`."""
    return SquaredLoss()


def absolute() -> AbsoluteLoss:
    """Absolute loss Σ |F − Y|; see :class:`AbsoluteLoss`."""
    return AbsoluteLoss()


def huber(delta: float = 1.0) -> HuberLoss:
    """Huber loss ½ Σ cp.huber(F − Y, δ); see :class:`HuberLoss`.

    Parameters
    ----------
    delta : float, default 1.0
        Threshold δ > 0 between the quadratic and the linear part.
    """
    return HuberLoss(delta)


def cross_entropy() -> CrossEntropyLoss:
    """Softmax cross-entropy Σ_i [logsumexp(F_i) − ⟨y_i, F_i⟩]; see :class:`CrossEntropyLoss`."""
    return CrossEntropyLoss()


def logistic() -> LogisticLoss:
    """Logistic loss Σ log(1 + exp(−y F)); see :class:`LogisticLoss`."""
    return LogisticLoss()


def hinge() -> HingeLoss:
    """Weston–Watkins multiclass hinge loss; see :class:`HingeLoss`."""
    return HingeLoss()


def binary_hinge() -> BinaryHingeLoss:
    """Binary hinge loss Σ max(0, 1 − yF); see :class:`BinaryHingeLoss`."""
    return BinaryHingeLoss()


_BUILTINS = {
    "squared": squared,
    "cross_entropy": cross_entropy,
    "logistic": logistic,
    "hinge": hinge,
    "binary_hinge": binary_hinge,
    "huber": huber,
    "absolute": absolute,
}

_REGISTRY: dict = dict(_BUILTINS)


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def available() -> list:
    """Names accepted by :func:`get_loss`: the built-ins, then registered losses."""
    builtin = list(_BUILTINS)
    return builtin + sorted(k for k in _REGISTRY if k not in _BUILTINS)


def register(name: str, fn, *, grad: Optional[Callable] = None,
             conjugate: Optional[Callable] = None, overwrite: bool = False) -> Loss:
    """Register a user loss under ``name`` so that ``get_loss(name)`` returns it.

    Parameters
    ----------
    name : str
        Registry name (case-insensitive; ``-`` and spaces become ``_``).
    fn : callable or Loss
        ``fn(pred, Y) -> cp.Expression``: a scalar, DCP-convex expression of the CVXPY
        predictions ``pred`` (shape (n, c)) and the numpy targets ``Y`` (shape (n, c)),
        summed over samples. A :class:`Loss` instance is stored as is.
    grad : callable, optional
        ``grad(F, Y) -> ndarray``, ∂ℓ/∂F. Without it :meth:`Loss.gradient` uses central
        finite differences (2nc evaluations; approximate).
    conjugate : callable, optional
        ``conjugate(Z, Y) -> float``, ℓ*(Z) = sup_F ⟨Z, F⟩ − ℓ(F, Y) (``inf`` outside its
        domain). Needed for dual lower bounds; without it ``supports_conjugate`` is False.
    overwrite : bool, default False
        Allow replacing a previously registered user loss (built-ins cannot be replaced).

    Returns
    -------
    Loss

    Raises
    ------
    UnsupportedError
        If ``fn`` is not convex (by CVXPY's DCP rules) or not scalar on a trial input.
    InvalidInputError
        If the name is taken or ``fn`` is not callable.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"loss name must be a non-empty string; got {name!r}.")
    key = _normalize(name)
    if key in _BUILTINS:
        raise InvalidInputError(
            f"{key!r} is a built-in loss and cannot be replaced; register under another name."
        )
    if key in _REGISTRY and not overwrite:
        raise InvalidInputError(
            f"a loss named {key!r} is already registered; pass overwrite=True to replace it or "
            f"choose another name."
        )
    loss = fn if isinstance(fn, Loss) else UserLoss(key, fn, grad=grad, conjugate=conjugate)
    _REGISTRY[key] = loss
    return loss


def unregister(name: str) -> None:
    """Remove a user loss registered with :func:`register` (built-ins cannot be removed)."""
    key = _normalize(name)
    if key in _BUILTINS:
        raise InvalidInputError(f"{key!r} is a built-in loss and cannot be removed.")
    if key not in _REGISTRY:
        raise InvalidInputError(
            f"no registered loss named {key!r}; registered: {', '.join(available())}."
        )
    del _REGISTRY[key]


def get_loss(loss=None, **params) -> Loss:
    """Resolve a loss specification into a :class:`Loss` instance (once, at an entry point).

    Parameters
    ----------
    loss : str, callable, Loss or None
        A registered name (see :func:`available`; ``None`` means ``"squared"``), a
        :class:`Loss` (returned unchanged), or a callable ``fn(pred, Y) -> cp.Expression``
        (checked for convexity and wrapped in a :class:`UserLoss`, as by :func:`register`
        without storing it).
    **params
        Parameters of a parameterized loss, e.g. ``get_loss("huber", delta=0.5)``.

    Raises
    ------
    InvalidInputError
        Unknown name (the message lists the registered names) or unknown parameters.
    UnsupportedError
        A callable that is not convex.
    """
    if loss is None:
        loss = "squared"
    if isinstance(loss, Loss):
        if params:
            raise InvalidInputError(
                f"parameters {sorted(params)} apply only to loss names; build the Loss with "
                f"them instead, e.g. huber(delta=0.5)."
            )
        return loss
    if isinstance(loss, str):
        key = _normalize(loss)
        if key not in _REGISTRY:
            raise InvalidInputError(
                f"unknown loss {loss!r}; choose one of {', '.join(repr(k) for k in available())}"
                f", pass a Loss, or a callable fn(pred, Y) -> cp.Expression."
            )
        entry = _REGISTRY[key]
        if isinstance(entry, Loss):
            if params:
                raise InvalidInputError(
                    f"loss {key!r} takes no parameters; got {', '.join(sorted(params))}."
                )
            return entry
        try:
            inspect.signature(entry).bind(**params)
        except TypeError:
            accepted = list(inspect.signature(entry).parameters)
            raise InvalidInputError(
                f"loss {key!r} got unexpected parameters {', '.join(sorted(params))}; "
                + (f"it accepts {', '.join(accepted)}." if accepted else "it takes none.")
            ) from None
        return entry(**params)
    if callable(loss):
        if params:
            raise InvalidInputError(
                "parameters apply only to loss names; bind them in your callable "
                "(e.g. with functools.partial) instead."
            )
        return UserLoss(getattr(loss, "__name__", "custom"), loss)
    raise InvalidInputError(
        f"loss must be a name ({', '.join(repr(k) for k in available())}), a Loss or a "
        f"callable; got {type(loss).__name__}."
    )
