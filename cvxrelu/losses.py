"""Convex losses ℓ(F, Y) and their conjugates: the general-loss programs (76)–(79).

Sahiner, Ergen, Pauly & Pilanci (ICLR 2021), Appendix A.6, eqs. (76)–(79): training a
two-layer ReLU network with any loss ℓ convex in the predictions F ∈ R^{n×c} is the convex
program

    p* = min_V  ℓ(Σ_i D_i X V_i, Y) + β Σ_i γ_i(V_i)                               (76)–(77)

whose dual is

    p* = max_Z  −ℓ*(Z)   s.t.  ‖Zᵀ (X u)_+‖₂ ≤ β  for all ‖u‖₂ ≤ 1,                    (78)–(79)

with ℓ*(Z) = sup_F ⟨Z, F⟩ − ℓ(F, Y) the convex conjugate in F.

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

Library conventions (SPEC): losses are summed over samples, never averaged.
"""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field
from typing import Callable, Optional

import cvxpy as cp
import numpy as np
from scipy.special import expit, logsumexp, xlogy

from ._validate import as_targets
from .errors import InvalidInputError, UnsupportedError

__all__ = [
    "Loss",
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
# The Loss object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loss:
    """A loss ℓ(F, Y), convex in the predictions F ∈ R^{n×c}, with its conjugate.

    Instances are built by the factories of this module (:func:`squared`, :func:`huber`, ...)
    or by :func:`get_loss`; user losses come from :func:`register` / :func:`get_loss` with a
    callable. ``Y`` passed to every method is the output of :meth:`prepare_targets`.

    Sign convention: :meth:`conjugate` is ℓ*(Z) = sup_F ⟨Z, F⟩ − ℓ(F, Y), and
    :meth:`dual_point` is ∇ℓ(F). For any Z feasible for the dual constraint of (79),
    ``dual_objective(Z, Y) = −ℓ*(Z)`` is a lower bound on the training optimum p*. For the
    squared loss this is SPEC's dual (11) after the substitution Z → −Z.

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
        Whether :meth:`grad` is a true gradient everywhere (False: a subgradient, e.g. hinge,
        absolute).
    formula : str
        Human-readable formula of ℓ.
    """

    name: str
    params: tuple = ()
    supports_conjugate: bool = True
    differentiable: bool = True
    formula: str = field(default="", compare=False)
    _expr: Callable = field(default=None, repr=False, compare=False)
    _value: Callable = field(default=None, repr=False, compare=False)
    _grad: Optional[Callable] = field(default=None, repr=False, compare=False)
    _conjugate: Optional[Callable] = field(default=None, repr=False, compare=False)
    _conjugate_expr: Optional[Callable] = field(default=None, repr=False, compare=False)
    _prepare: Optional[Callable] = field(default=None, repr=False, compare=False)
    _domain_scale: Optional[Callable] = field(default=None, repr=False, compare=False)
    _into_domain: Optional[Callable] = field(default=None, repr=False, compare=False)
    _in_domain: Optional[Callable] = field(default=None, repr=False, compare=False)

    # -- targets ---------------------------------------------------------------------------

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
        if self._prepare is None:
            return _regression_targets(Y)
        return self._prepare(Y, n_classes)

    # -- primal ----------------------------------------------------------------------------

    def expr(self, F, Y) -> cp.Expression:
        """The loss as a scalar CVXPY expression, convex in ``F``.

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

    def grad(self, F, Y) -> np.ndarray:
        """∂ℓ/∂F at a numeric F, shape (n, c) (a subgradient where ℓ is not differentiable)."""
        F, Y = _pair(F, Y)
        if self._grad is None:
            return _finite_difference_grad(lambda G: self._value(G, Y), F)
        return np.asarray(self._grad(F, Y), dtype=float)

    def dual_point(self, F, Y) -> np.ndarray:
        """The natural dual candidate Z = ∇ℓ(F) ∈ dom ℓ*; scale it into feasibility of (79).

        At the optimum of (76) the dual solution is Z* = ∇ℓ(F*). For built-in losses the
        returned Z lies in dom ℓ* and Fenchel–Young holds with equality:
        ℓ(F) + ℓ*(Z) = ⟨Z, F⟩.
        """
        return self.grad(F, Y)

    # -- conjugate -------------------------------------------------------------------------

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
        if self._in_domain is not None and not self._in_domain(Z, Y, DOMAIN_TOL):
            return float(np.inf)
        if self._into_domain is not None:
            Z = self._into_domain(Z, Y)
        return float(self._conjugate(Z, Y))

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
        if self._conjugate_expr is None:
            raise UnsupportedError(
                f"loss {self.name!r} has a numeric conjugate only; no CVXPY form is available."
            )
        Y = _as_2d(Y, "Y")
        if tuple(Z.shape) != Y.shape:
            raise InvalidInputError(
                f"Z has shape {tuple(Z.shape)} but Y has shape {Y.shape}; they must match."
            )
        expr, constraints = self._conjugate_expr(Z, Y)
        return expr, list(constraints)

    def in_domain(self, Z, Y, tol: float = DOMAIN_TOL) -> bool:
        """Whether Z ∈ dom ℓ* (up to ``tol`` per entry)."""
        self._need_conjugate()
        Z, Y = _pair(Z, Y, "Z")
        if self._in_domain is None:
            return bool(np.isfinite(self._conjugate(Z, Y)))
        return bool(self._in_domain(Z, Y, tol))

    def domain_scale(self, Z, Y) -> float:
        """The largest s ∈ [0, 1] with s Z ∈ dom ℓ* (0 ∈ dom ℓ* for every built-in loss).

        Returns 0.0 when no positive multiple of Z is in the domain (e.g. cross-entropy with a
        row of Z that does not sum to zero); use :meth:`into_domain` first in that case.
        """
        self._need_conjugate()
        Z, Y = _pair(Z, Y, "Z")
        if self._domain_scale is None:
            return 1.0
        return float(min(1.0, max(0.0, self._domain_scale(Z, Y))))

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
        if self._into_domain is None:
            return Z.copy()
        return self._into_domain(Z, Y)


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


def _box_scale(Z: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Largest s ≥ 0 with lo ≤ s Z ≤ hi, where lo ≤ 0 ≤ hi."""
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


# --------------------------------------------------------------------------------------------
# Built-in losses
# --------------------------------------------------------------------------------------------


def squared() -> Loss:
    """Squared loss ℓ(F) = ½‖F − Y‖²_F (the default; SPEC (5)).

    ℓ*(Z) = ½‖Z‖² + ⟨Z, Y⟩ on all of R^{n×c}; ∇ℓ = F − Y.
    """
    return Loss(
        name="squared",
        formula="½‖F − Y‖²_F",
        _expr=lambda F, Y: 0.5 * cp.sum_squares(F - Y),
        _value=lambda F, Y: 0.5 * np.sum((F - Y) ** 2),
        _grad=lambda F, Y: F - Y,
        _conjugate=lambda Z, Y: 0.5 * np.sum(Z ** 2) + np.sum(Z * Y),
        _conjugate_expr=lambda Z, Y: (0.5 * cp.sum_squares(Z) + cp.sum(cp.multiply(Y, Z)), []),
        _prepare=_regression_targets,
        _domain_scale=lambda Z, Y: 1.0,
        _into_domain=lambda Z, Y: Z.copy(),
        _in_domain=lambda Z, Y, tol: True,
    )


def absolute() -> Loss:
    """Absolute (L1) loss ℓ(F) = Σ |F − Y|.

    ℓ*(Z) = ⟨Z, Y⟩ for |Z_ij| ≤ 1, +inf otherwise; subgradient sign(F − Y).
    """

    def in_domain(Z, Y, tol):
        return bool(np.all(np.abs(Z) <= 1.0 + tol))

    return Loss(
        name="absolute",
        differentiable=False,
        formula="Σ |F − Y|",
        _expr=lambda F, Y: cp.sum(cp.abs(F - Y)),
        _value=lambda F, Y: np.sum(np.abs(F - Y)),
        _grad=lambda F, Y: np.sign(F - Y),
        _conjugate=lambda Z, Y: np.sum(Z * Y),
        _conjugate_expr=lambda Z, Y: (cp.sum(cp.multiply(Y, Z)), [cp.abs(Z) <= 1]),
        _prepare=_regression_targets,
        _domain_scale=lambda Z, Y: _box_scale(Z, -np.ones_like(Z), np.ones_like(Z)),
        _into_domain=lambda Z, Y: np.clip(Z, -1.0, 1.0),
        _in_domain=in_domain,
    )


def huber(delta: float = 1.0) -> Loss:
    """Huber loss ℓ(F) = ½ Σ cp.huber(F − Y, δ).

    ``cp.huber(x, M)`` is x² for |x| ≤ M and 2M|x| − M² otherwise, so per entry
    ℓ = ½x² for |x| ≤ δ and δ|x| − ½δ² otherwise: it equals ½‖F − Y‖² near 0 and
    ``torch.nn.functional.huber_loss(F, Y, delta=δ, reduction="sum")``.

    ℓ*(Z) = ½‖Z‖² + ⟨Z, Y⟩ for |Z_ij| ≤ δ, +inf otherwise; ∇ℓ = clip(F − Y, −δ, δ).

    Parameters
    ----------
    delta : float, default 1.0
        Threshold δ > 0 between the quadratic and the linear part.
    """
    delta = _check_positive(delta, "delta")

    def value(F, Y):
        a = np.abs(F - Y)
        return np.sum(np.where(a <= delta, 0.5 * a ** 2, delta * a - 0.5 * delta ** 2))

    def in_domain(Z, Y, tol):
        return bool(np.all(np.abs(Z) <= delta + tol))

    return Loss(
        name="huber",
        params=(("delta", delta),),
        formula=f"½ Σ huber(F − Y, δ={delta:g})",
        _expr=lambda F, Y: 0.5 * cp.sum(cp.huber(F - Y, delta)),
        _value=value,
        _grad=lambda F, Y: np.clip(F - Y, -delta, delta),
        _conjugate=lambda Z, Y: 0.5 * np.sum(Z ** 2) + np.sum(Z * Y),
        _conjugate_expr=lambda Z, Y: (
            0.5 * cp.sum_squares(Z) + cp.sum(cp.multiply(Y, Z)),
            [cp.abs(Z) <= delta],
        ),
        _prepare=_regression_targets,
        _domain_scale=lambda Z, Y: _box_scale(Z, -delta * np.ones_like(Z),
                                              delta * np.ones_like(Z)),
        _into_domain=lambda Z, Y: np.clip(Z, -delta, delta),
        _in_domain=in_domain,
    )


def cross_entropy() -> Loss:
    """Softmax cross-entropy ℓ(F) = Σ_i [logsumexp(F_i) − ⟨y_i, F_i⟩] (natural log).

    Targets: integer labels (n,) or one-hot / probability rows (n, C); equals
    ``torch.nn.functional.cross_entropy(F, labels, reduction="sum")``.

    ℓ*(Z) = Σ_ik (Y + Z)_ik log (Y + Z)_ik (negative entropy) when every row Y_i + Z_i lies in
    the probability simplex, +inf otherwise; so −ℓ*(Z) = Σ_i entropy(y_i + Z_i) (SPEC).
    ∇ℓ = softmax(F) − Y, for which Y + ∇ℓ = softmax(F) is in the simplex.
    """

    def value(F, Y):
        return np.sum(logsumexp(F, axis=1)) - np.sum(Y * F)

    def grad(F, Y):
        S = F - logsumexp(F, axis=1, keepdims=True)
        return np.exp(S) - Y

    def in_domain(Z, Y, tol):
        P = Y + Z
        return bool(np.all(P >= -tol) and np.all(np.abs(P.sum(axis=1) - 1.0) <= tol))

    def into_domain(Z, Y):
        return _project_simplex_rows(Y + Z) - Y

    def domain_scale(Z, Y):
        if np.any(np.abs(Z.sum(axis=1)) > DOMAIN_TOL):
            return 0.0
        return _box_scale(Z, -Y, np.full_like(Z, np.inf))

    return Loss(
        name="cross_entropy",
        formula="Σ_i [logsumexp(F_i) − ⟨y_i, F_i⟩]",
        _expr=lambda F, Y: cp.sum(cp.log_sum_exp(F, axis=1)) - cp.sum(cp.multiply(Y, F)),
        _value=value,
        _grad=grad,
        _conjugate=lambda Z, Y: np.sum(xlogy(Y + Z, Y + Z)),
        _conjugate_expr=lambda Z, Y: (
            -cp.sum(cp.entr(Y + Z)),
            [Y + Z >= 0, cp.sum(Y + Z, axis=1) == 1],
        ),
        _prepare=lambda Y, n_classes: _class_targets(Y, n_classes, "cross_entropy", soft=True),
        _domain_scale=domain_scale,
        _into_domain=into_domain,
        _in_domain=in_domain,
    )


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


def logistic() -> Loss:
    """Logistic loss ℓ(F) = Σ log(1 + exp(−y F)), y ∈ {−1, +1}, per entry (binary/multi-label).

    Targets {−1, +1} or {0, 1} (mapped), or probabilities; they are *prepared* as
    P = (y + 1)/2 ∈ [0, 1] and the loss is written Σ [log(1 + e^F) − P F], which equals
    ``torch.nn.functional.binary_cross_entropy_with_logits(F, P, reduction="sum")``.

    ℓ*(Z) = Σ [Q log Q + (1 − Q) log(1 − Q)] with Q = P + Z ∈ [0, 1] entrywise, +inf
    otherwise; ∇ℓ = sigmoid(F) − P.
    """

    def in_domain(Z, Y, tol):
        Q = Y + Z
        return bool(np.all(Q >= -tol) and np.all(Q <= 1.0 + tol))

    def conj(Z, Y):
        Q = Y + Z
        return np.sum(xlogy(Q, Q) + xlogy(1.0 - Q, 1.0 - Q))

    return Loss(
        name="logistic",
        formula="Σ log(1 + exp(−y F)),  y = 2P − 1",
        _expr=lambda F, Y: cp.sum(cp.logistic(F)) - cp.sum(cp.multiply(Y, F)),
        _value=lambda F, Y: np.sum(np.logaddexp(0.0, F)) - np.sum(Y * F),
        _grad=lambda F, Y: expit(F) - Y,
        _conjugate=conj,
        _conjugate_expr=lambda Z, Y: (
            -cp.sum(cp.entr(Y + Z)) - cp.sum(cp.entr(1 - Y - Z)),
            [Y + Z >= 0, Y + Z <= 1],
        ),
        _prepare=lambda Y, n_classes: _binary_targets(Y, "logistic", soft=True, to_pm1=False),
        _domain_scale=lambda Z, Y: _box_scale(Z, -Y, 1.0 - Y),
        _into_domain=lambda Z, Y: np.clip(Y + Z, 0.0, 1.0) - Y,
        _in_domain=in_domain,
    )


def hinge() -> Loss:
    """Multiclass hinge loss, Weston–Watkins: ℓ(F) = Σ_i Σ_{k≠y_i} max(0, 1 + F_ik − F_iy_i).

    Targets: integer labels (n,) or one-hot rows (n, C). Equals C times
    ``torch.nn.functional.multi_margin_loss(F, labels, reduction="sum")`` (torch divides each
    sample by the number of classes).

    ℓ*(Z) = ⟨Z, Y⟩ = Σ_i Z_iy_i when, in every row, Z_ik ∈ [0, 1] for k ≠ y_i and
    Σ_k Z_ik = 0; +inf otherwise. Subgradient: Z_ik = 1[1 + F_ik − F_iy_i > 0] for k ≠ y_i
    and Z_iy_i = −Σ_{k≠y_i} Z_ik.
    """

    def margins(F, Y):
        Fy = np.sum(F * Y, axis=1, keepdims=True)
        return 1.0 + F - Fy

    def value(F, Y):
        return np.sum((1.0 - Y) * np.maximum(margins(F, Y), 0.0))

    def grad(F, Y):
        A = (1.0 - Y) * (margins(F, Y) > 0)
        return A - Y * A.sum(axis=1, keepdims=True)

    def expr(F, Y):
        c = Y.shape[1]
        Fy = cp.sum(cp.multiply(Y, F), axis=1, keepdims=True) @ np.ones((1, c))
        return cp.sum(cp.multiply(1.0 - Y, cp.pos(1.0 + F - Fy)))

    def in_domain(Z, Y, tol):
        off = (1.0 - Y) * Z
        return bool(np.all(off >= -tol) and np.all(off <= 1.0 + tol)
                    and np.all(np.abs(Z.sum(axis=1)) <= tol))

    def into_domain(Z, Y):
        off = (1.0 - Y) * np.clip(Z, 0.0, 1.0)
        return off - Y * off.sum(axis=1, keepdims=True)

    def domain_scale(Z, Y):
        if np.any(np.abs(Z.sum(axis=1)) > DOMAIN_TOL):
            return 0.0
        off = (1.0 - Y) * Z
        return _box_scale(off, np.zeros_like(Z), np.ones_like(Z))

    return Loss(
        name="hinge",
        differentiable=False,
        formula="Σ_i Σ_{k≠y_i} max(0, 1 + F_ik − F_iy_i)  (Weston–Watkins)",
        _expr=expr,
        _value=value,
        _grad=grad,
        _conjugate=lambda Z, Y: np.sum(Y * Z),
        _conjugate_expr=lambda Z, Y: (
            cp.sum(cp.multiply(Y, Z)),
            [cp.multiply(1.0 - Y, Z) >= 0, cp.multiply(1.0 - Y, Z) <= 1,
             cp.sum(Z, axis=1) == 0],
        ),
        _prepare=lambda Y, n_classes: _class_targets(Y, n_classes, "hinge", soft=False),
        _domain_scale=domain_scale,
        _into_domain=into_domain,
        _in_domain=in_domain,
    )


def binary_hinge() -> Loss:
    """Binary (per-entry) hinge loss ℓ(F) = Σ max(0, 1 − y F), y ∈ {−1, +1}.

    Targets {−1, +1} or {0, 1} (mapped to ±1), one column per binary task; prepared as ±1.
    ℓ*(Z) = ⟨Z, Y⟩ when −Y_ij Z_ij ∈ [0, 1] entrywise, +inf otherwise;
    subgradient −y 1[1 − y F > 0].
    """

    def in_domain(Z, Y, tol):
        W = -Y * Z
        return bool(np.all(W >= -tol) and np.all(W <= 1.0 + tol))

    def domain_scale(Z, Y):
        W = -Y * Z
        if np.any(W < -DOMAIN_TOL):
            return 0.0
        return _box_scale(W, np.zeros_like(W), np.ones_like(W))

    return Loss(
        name="binary_hinge",
        differentiable=False,
        formula="Σ max(0, 1 − y F)",
        _expr=lambda F, Y: cp.sum(cp.pos(1.0 - cp.multiply(Y, F))),
        _value=lambda F, Y: np.sum(np.maximum(1.0 - Y * F, 0.0)),
        _grad=lambda F, Y: -Y * (1.0 - Y * F > 0),
        _conjugate=lambda Z, Y: np.sum(Y * Z),
        _conjugate_expr=lambda Z, Y: (
            cp.sum(cp.multiply(Y, Z)),
            [-cp.multiply(Y, Z) >= 0, -cp.multiply(Y, Z) <= 1],
        ),
        _prepare=lambda Y, n_classes: _binary_targets(Y, "binary_hinge", soft=False,
                                                      to_pm1=True),
        _domain_scale=domain_scale,
        _into_domain=lambda Z, Y: -Y * np.clip(-Y * Z, 0.0, 1.0),
        _in_domain=in_domain,
    )


# --------------------------------------------------------------------------------------------
# User losses and the registry
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


def _user_loss(name: str, fn: Callable, grad=None, conjugate=None) -> Loss:
    if not callable(fn):
        raise InvalidInputError(
            f"loss {name!r} must be callable as fn(pred, Y) -> cp.Expression; got {fn!r}."
        )
    # Early check on a small trial problem; losses that cannot handle the trial shape are
    # checked on first use instead (every expr() call checks convexity again).
    trial_F = cp.Variable((4, 2))
    trial_Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    try:
        trial = fn(trial_F, trial_Y)
    except Exception:  # noqa: BLE001 - the callable may be shape-specific
        trial = None
    if trial is not None:
        _checked_user_expr(name, lambda F, Y: trial, trial_F, trial_Y)

    def value(F, Y):
        v = _checked_user_expr(name, fn, cp.Constant(F), Y).value
        return float(np.asarray(v).reshape(()))

    user_grad = None
    if grad is not None:
        user_grad = lambda F, Y: np.asarray(grad(F, Y), dtype=float).reshape(F.shape)  # noqa

    return Loss(
        name=name,
        supports_conjugate=conjugate is not None,
        differentiable=grad is not None,
        formula=f"user callable {getattr(fn, '__qualname__', repr(fn))}",
        _expr=lambda F, Y: _checked_user_expr(name, fn, F, Y),
        _value=value,
        _grad=user_grad,
        _conjugate=(lambda Z, Y: float(conjugate(Z, Y))) if conjugate is not None else None,
        _prepare=_regression_targets,
    )


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
        summed over samples. A :class:`Loss` is stored as is.
    grad : callable, optional
        ``grad(F, Y) -> ndarray``, ∂ℓ/∂F. Without it :meth:`Loss.grad` uses central finite
        differences (2nc evaluations; approximate).
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
    if isinstance(fn, Loss):
        loss = fn
    else:
        loss = _user_loss(key, fn, grad=grad, conjugate=conjugate)
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
    """Resolve a loss specification into a :class:`Loss`.

    Parameters
    ----------
    loss : str, callable, Loss or None
        A registered name (see :func:`available`; ``None`` means ``"squared"``), a
        :class:`Loss` (returned unchanged), or a callable ``fn(pred, Y) -> cp.Expression``
        (checked for convexity and wrapped, as by :func:`register` without storing it).
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
        return _user_loss(getattr(loss, "__name__", "custom"), loss)
    raise InvalidInputError(
        f"loss must be a name ({', '.join(repr(k) for k in available())}), a Loss or a "
        f"callable; got {type(loss).__name__}."
    )
