"""Spike-free data: the single-pattern programs (15) (bi-dual) and (20) (copositive).

X is spike-free when every ReLU output is itself a linear output in the cell:
{(Xu)_+ : ‖u‖ ≤ 1} = {Xu : ‖u‖ ≤ 1, Xu ≥ 0}. Then only the pattern D = I matters and
training reduces to

    (15)  min_V ½‖X V − Y‖² + β γ(V),        cone {u : X u ≥ 0},
    (20)  min_{U ∈ C} ½ tr(Yᵀ(I + 2 X U Xᵀ)⁻¹Y) + β² tr U.

Checked cheaply here: whitened data with n ≤ d (X Xᵀ = I) and diagonal data are spike-free.
For whitened X the rank reduction makes X V_r an n×n orthogonal matrix, so the program is the
n×n doubly-nonnegative program in W = X U Xᵀ — its size does not depend on d. DNN equals the
completely positive cone only for n ≤ 4; for larger n the value is a lower bound (which the
closed form of Theorem 2 meets when its test passes).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validate import as_data, check_choice
from ..geometry.arrangements import Arrangement, reduce_rank
from ..errors import InvalidInputError
from .bidual import BiDual
from .copositive import Copositive

__all__ = ["spike_free", "is_spike_free", "SpikeFreeWarning", "SpikeFree",
           "SpikeFreeCopositive"]


class SpikeFreeWarning(UserWarning):
    """X could not be verified to be spike-free; the single-pattern value is an upper bound."""


def is_spike_free(X, tol: float = 1e-8) -> tuple[bool, str]:
    """(verified, reason): True when X is whitened with n ≤ d (X Xᵀ = I) or diagonal."""
    X = as_data(X)
    n, d = X.shape
    if n <= d:
        G = X @ X.T
        if np.linalg.norm(G - np.eye(n)) <= tol * np.sqrt(n):
            return True, "whitened with n <= d (X X^T = I)"
    off = X.copy()
    k = min(n, d)
    off[np.arange(k), np.arange(k)] = 0.0
    if not np.any(off) and n <= d:
        return True, "diagonal"
    return False, ("X is neither whitened with n <= d nor diagonal, so spike-freeness could not "
                   "be verified cheaply")


class SpikeFree(BiDual):
    """The single-pattern bi-dual (15) (D = I). Build it with :func:`spike_free`."""

    program = "spike_free/bidual"


class SpikeFreeCopositive(Copositive):
    """The single-pattern copositive program (20) (D = I). Build it with :func:`spike_free`
    (``program="copositive"``)."""

    program = "spike_free/copositive"


def spike_free(X, Y, beta, program: str = "bidual", form: str = "auto",
               check: bool = True) -> SpikeFree | SpikeFreeCopositive:
    """Build (15) (``program="bidual"``) or (20) (``program="copositive"``) with the single
    pattern D = I.

    The bound is that of the cone form when X is verified spike-free; otherwise a warning is
    issued and the value is reported as an upper bound (one pattern restricts the program).
    ``form="auto"`` uses the extreme rays of {u : Xu ≥ 0} (for whitened data: the n×n
    doubly-nonnegative program).
    """
    check_choice(program, ("bidual", "copositive"), "program")
    X = as_data(X)
    if not np.any(X):
        raise InvalidInputError(
            "X is identically zero: every network outputs 0 and there is no pattern D = I to "
            "build (15)/(20) on; pass nonzero data.")
    verified, reason = is_spike_free(X) if check else (False, "check=False")
    if not verified:
        warnings.warn(f"{reason}; the single-pattern program is then only an upper bound on "
                      "the training optimum (use cr.bidual for the exact program).",
                      SpikeFreeWarning, stacklevel=2)
    basis, _ = reduce_rank(X)
    arr = Arrangement(masks=np.ones((X.shape[0], 1), dtype=bool),
                      directions=(basis @ np.linalg.pinv(X @ basis) @ np.ones(X.shape[0]))[:, None],
                      exact=verified, rank=basis.shape[1], basis=basis, method="spike-free")
    if form == "auto":
        form = "rays"
    build = SpikeFree if program == "bidual" else SpikeFreeCopositive
    try:
        f = build(X, Y, beta, patterns=arr, form=form)
    except InvalidInputError as exc:
        if "nonempty interior" not in str(exc):
            raise
        raise InvalidInputError(
            "X is not spike-free: no direction u has X u > 0, so the pattern D = I of (15)/(20) "
            "is empty; use cr.bidual(X, Y, beta) with all sign patterns instead."
        ) from None
    f.info["spike_free"] = reason
    return f
