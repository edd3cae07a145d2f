"""Closed-form global optimum for whitened data: Theorem 2, equations (15)–(16).

For spike-free X only one sign pattern (D = I) exists and the convex program (12) becomes (15)

    min_V ½‖X V − Y‖²_F + β γ(V),     γ = gauge of conv{u gᵀ : X u ≥ 0, ‖u‖ ≤ 1, ‖g‖ ≤ 1}.

For *whitened* X ∈ R^{n×d} with n ≤ d, meaning X Xᵀ = I (the rows are orthonormal), write
the SVD Xᵀ Y = Σ σ_i a_i b_iᵀ. Dropping the cone constraint (γ ≥ ‖·‖_*) gives the nuclear-norm
problem whose solution is the soft-thresholded SVD

    V* = Σ (σ_i − β)_+ a_i b_iᵀ,       value ½‖Y‖²_F − ½ Σ (σ_i − β)_+²,

always a LOWER bound on p* for whitened X. If in addition X a_i ≥ 0 for every σ_i > β, V* is
feasible for (15), hence optimal, and the network with neurons u_i = √(σ_i−β) a_i,
v_i = √(σ_i−β) b_i attains p* (Theorem 2). The test is only *sufficient*: ``exact=False``
means "not proven optimal", and the returned network is then only an upper bound.

Signs and ties. An SVD returns (a_i, b_i) only up to a joint sign flip, and for a repeated
singular value (e.g. one-hot labels with equally many samples per class, where Xᵀ Y has all
singular values √(n/c)) only up to a joint rotation of the singular subspace. Flipping or
rotating a_i and b_i together leaves V* unchanged, so the test searches over these choices:
for a tied group with M = X A_g (orthonormal columns) it looks for an orthogonal Q with
M Q ≥ 0, which exists iff the nonzero rows of M point in exactly k mutually orthogonal
directions (nonnegative orthonormal vectors have disjoint supports).

:func:`whiten` produces data with X Xᵀ = I: it sets every singular value of X to one (the polar
factor X (XᵀX)^{+½}, "ZCA" form, or the principal-component scores, "PCA" form).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numbers

import numpy as np

from .._validate import as_beta, as_data, as_targets, check_choice
from ..geometry.arrangements import RANK_RTOL
from ..errors import InvalidInputError
from ..networks.network import ReLUNetwork

__all__ = ["closed_form", "ClosedFormSolution", "whiten", "Whitening", "is_whitened"]


# --------------------------------------------------------------------------- whitening
@dataclass(frozen=True)
class Whitening:
    """Result of :func:`whiten`.

    Attributes
    ----------
    X : ndarray, shape (n, k)
        The whitened data. For n ≤ d (and ``eps = 0``) its rows are orthonormal: X Xᵀ = I.
    W : ndarray, shape (d, k)
        The linear map: ``X = (X_in − mean) @ W``.
    mean : ndarray of shape (d,) or None
        Column means subtracted first (only when ``center=True``).
    method : str
        ``"zca"`` (k = d, X = U Vᵀ) or ``"pca"`` (k = rank, X = U).
    eps : float
        Regularization added to the squared singular values.
    singular_values : ndarray
        Singular values of the (centered) input.
    """

    X: np.ndarray
    W: np.ndarray
    mean: np.ndarray | None
    method: str
    eps: float
    singular_values: np.ndarray

    def transform(self, X_new) -> np.ndarray:
        """Apply the same whitening map to new samples (e.g. a test set)."""
        X_new = as_data(X_new, "X_new")
        if X_new.shape[1] != self.W.shape[0]:
            raise InvalidInputError(
                f"X_new has {X_new.shape[1]} features but the whitening was fitted on "
                f"{self.W.shape[0]}; pass samples with the same features."
            )
        if self.mean is not None:
            X_new = X_new - self.mean
        return X_new @ self.W


def whiten(X, method: str = "zca", eps: float = 0.0, center: bool = False,
           rtol: float = RANK_RTOL) -> Whitening:
    """Whiten the *samples* of X so that X Xᵀ = I (the condition of Theorem 2).

    With the thin SVD X = U S Vᵀ, every nonzero singular value is set to one:

    - ``"zca"``: X_w = U Vᵀ = X · V S⁻¹ Vᵀ = X (XᵀX)^{+½}, same d features (zero-phase);
    - ``"pca"``: X_w = U = X · V S⁻¹, one feature per principal component.

    For n ≤ d of full row rank both give X_w X_wᵀ = U Uᵀ = I, i.e. orthonormal rows: that is
    sample whitening, what Theorem 2 needs (such X is spike-free). For n > d the same map gives
    X_wᵀ X_w = I (ordinary feature whitening, with XᵀX rather than XᵀX/n normalized to I);
    then X Xᵀ ≠ I and Theorem 2 does not apply.

    Parameters
    ----------
    X : array-like, shape (n, d)
    method : {"zca", "pca"}
    eps : float, default 0
        Added to the squared singular values: s ↦ s / √(s² + eps). With ``eps = 0`` the result
        is exact and X must have full rank min(n, d); with ``eps > 0`` rank deficiency is
        allowed but X_w X_wᵀ is only approximately I (not spike-free in general).
    center : bool, default False
        Subtract the column means first. Centering makes 1ᵀX = 0, so rank X ≤ n − 1 and
        X Xᵀ = I becomes impossible for n ≤ d unless ``eps > 0``; leave it off for Theorem 2.
    rtol : float, default :data:`cvxrelu.geometry.arrangements.RANK_RTOL` (1e-8)
        Singular values at most ``rtol · s_max`` count as zero (rank deficiency); the
        default is the package's one rank tolerance, the one the rank reduction uses.
    """
    X = as_data(X)
    check_choice(method, ("zca", "pca"), "method")
    if isinstance(rtol, bool) or not isinstance(rtol, (numbers.Real, np.floating)) \
            or not np.isfinite(rtol) or not 0 <= rtol < 1:
        raise InvalidInputError(f"rtol must be a real number in [0, 1); got {rtol!r}.")
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise InvalidInputError(f"eps must be a nonnegative number; got {eps!r}.") from None
    if not np.isfinite(eps) or eps < 0:
        raise InvalidInputError(f"eps must be a nonnegative finite number; got {eps}.")
    mean = None
    if center:
        mean = X.mean(axis=0)
        X = X - mean
    n, d = X.shape
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    smax = s[0] if s.size else 0.0
    if smax <= 0:
        raise InvalidInputError("X is identically zero; it cannot be whitened.")
    rank = int(np.sum(s > rtol * smax))
    if eps == 0:
        if rank < min(n, d):
            extra = (" Centering (center=True) removes one rank; pass center=False."
                     if center and n <= d else "")
            raise InvalidInputError(
                f"X has rank {rank} < min(n, d) = {min(n, d)}, so whitening cannot make "
                f"{'X Xᵀ' if n <= d else 'Xᵀ X'} = I. Remove duplicate or linearly dependent "
                f"samples (use at most {rank} samples), or pass eps > 0 for an approximate, "
                f"regularized whitening.{extra}"
            )
        scale = 1.0 / s
    else:
        scale = 1.0 / np.sqrt(s ** 2 + eps)
    if method == "pca":
        keep = s > rtol * smax
        W = Vt[keep].T * scale[keep]
    else:
        W = (Vt.T * scale) @ Vt
    Xw = X @ W
    if eps == 0 and method == "zca":
        Xw = U @ Vt  # the same matrix, without the rounding of X @ W
    elif eps == 0:
        Xw = U.copy()
    return Whitening(X=Xw, W=W, mean=mean, method=method, eps=eps, singular_values=s)


def is_whitened(X, tol: float = 1e-7) -> bool:
    """Whether n ≤ d and max |X Xᵀ − I| ≤ tol (sample whitening, Theorem 2's assumption)."""
    X = as_data(X)
    n, d = X.shape
    if n > d:
        return False
    return float(np.max(np.abs(X @ X.T - np.eye(n)))) <= tol


# --------------------------------------------------------------------------- closed form
@dataclass
class ClosedFormSolution:
    """Result of :func:`closed_form`.

    Attributes
    ----------
    network : ReLUNetwork
        The network built from the soft-thresholded SVD (one neuron per σ_i > β; when the
        condition fails, the better of two realizations, see ``reason``).
    value : float
        p* when ``exact``: ½‖Y‖² − ½Σ(σ_i − β)_+². Otherwise the network's primal objective (5),
        an upper bound on p*.
    exact : bool
        True only when X Xᵀ = I (to ``tol``, n ≤ d) and X a_i ≥ 0 for every σ_i > β, for some
        admissible choice of signs / rotations of the singular vectors.
    bound : str
        ``"exact"`` or ``"upper"``.
    reason : str or None
        Why the solution is not certified exact (None when exact).
    lower_bound : float or None
        ½‖Y‖² − ½Σ(σ_i − β)_+², a certified lower bound on p* whenever X is whitened
        (nuclear-norm relaxation of (15)); None when X is not whitened.
    network_objective : float
        The primal objective (5) of ``network`` (equals ``value`` when exact, up to rounding).
    V : ndarray, shape (d, c)
        The soft-thresholded SVD Σ (σ_i − β)_+ a_i b_iᵀ.
    singular_values : ndarray
        σ_i of Xᵀ Y, descending.
    beta : float
    timings : dict
        Seconds for "check" (whitening test), "svd", "condition" (cone test) and "total".
    """

    network: ReLUNetwork
    value: float
    exact: bool
    bound: str
    reason: str | None
    lower_bound: float | None
    network_objective: float
    V: np.ndarray
    singular_values: np.ndarray
    beta: float
    timings: dict = field(default_factory=dict)

    @property
    def time(self) -> float:
        """Total wall-clock seconds."""
        return self.timings.get("total", float("nan"))

    def __repr__(self) -> str:
        return (f"ClosedFormSolution(value={self.value:.6g}, exact={self.exact}, "
                f"bound={self.bound!r}, neurons={self.network.n_neurons}, "
                f"time={self.time:.3g}s)")


def _orient_group(M: np.ndarray, tol: float):
    """Orthogonal Q with M Q ≥ −tol for M (n×k, orthonormal columns), or None.

    Nonnegative orthonormal vectors have disjoint supports, so if M Q = E ≥ 0 every row of
    M = E Qᵀ is a nonnegative multiple of one column of Q: the normalized nonzero rows fall
    into exactly k orthogonal directions, which are the columns of Q.
    """
    n, k = M.shape
    if k == 1:
        col = M[:, 0]
        if col.min() >= -tol:
            return np.ones((1, 1))
        if col.max() <= tol:
            return -np.ones((1, 1))
        return None
    norms = np.linalg.norm(M, axis=1)
    big = norms > max(tol, 1e-12) * max(1.0, norms.max())
    rows = M[big] / norms[big, None]
    weights = norms[big]
    dirs = []
    assigned = np.zeros(rows.shape[0], dtype=bool)
    for i in range(rows.shape[0]):
        if assigned[i]:
            continue
        close = (rows @ rows[i] >= 1.0 - 1e-6) & ~assigned
        assigned |= close
        dirs.append((rows[close] * weights[close, None]).sum(axis=0))
        if len(dirs) > k:
            return None
    if len(dirs) != k:
        return None
    D = np.array(dirs)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    if np.max(np.abs(D @ D.T - np.eye(k))) > 1e-6:
        return None
    P, _, Rt = np.linalg.svd(D.T)  # nearest orthogonal matrix (polar factor)
    Q = P @ Rt
    if (M @ Q).min() < -tol:
        return None
    return Q


def _objective(W1, W2, X, Y, beta) -> float:
    F = np.maximum(X @ W1, 0.0) @ W2
    return 0.5 * float(np.sum((F - Y) ** 2)) + 0.5 * beta * (float(np.sum(W1 ** 2))
                                                            + float(np.sum(W2 ** 2)))


def closed_form(X, Y, beta, tol: float = 1e-7) -> ClosedFormSolution:
    """Train a two-layer ReLU network on whitened data in closed form (Theorem 2).

    Parameters
    ----------
    X : array-like, shape (n, d)
        Data; the result is exact only if X Xᵀ = I (see :func:`whiten`), which needs n ≤ d.
    Y : array-like, shape (n, c) or (n,)
        Targets (squared loss).
    beta : float
        Weight decay β > 0 of the primal (5).
    tol : float, default 1e-7
        Tolerance of the tests max|X Xᵀ − I| ≤ tol and X a_i ≥ −tol (‖X a_i‖ = 1).

    Returns
    -------
    ClosedFormSolution
        ``value`` is p* when ``exact``; otherwise the returned network's objective, an upper
        bound (``bound == "upper"``) with ``reason`` saying which assumption failed.

    Examples
    --------
    >>> import numpy as np
    >>> sol = closed_form(np.eye(3), np.eye(3), beta=0.1)
    >>> sol.exact, round(sol.value, 6)
    (True, 0.285)
    """
    t0 = time.perf_counter()
    X = as_data(X)
    n, d = X.shape
    Y = as_targets(Y, n)
    beta = as_beta(beta)
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        raise InvalidInputError(f"tol must be a positive number; got {tol!r}.") from None
    if not np.isfinite(tol) or tol <= 0:
        raise InvalidInputError(f"tol must be a positive finite number; got {tol}.")
    c = Y.shape[1]

    # 1. is X whitened (X Xᵀ = I, n ≤ d)?
    t = time.perf_counter()
    reasons = []
    if n > d:
        whitened = False
        reasons.append(f"X has n = {n} > d = {d} rows, so X Xᵀ = I is impossible "
                       "(Theorem 2 needs whitened data with n ≤ d)")
    else:
        err = float(np.max(np.abs(X @ X.T - np.eye(n))))
        whitened = err <= tol
        if not whitened:
            reasons.append(f"X is not whitened: max|X Xᵀ − I| = {err:.3g} > tol = {tol:g} "
                           "(use cvxrelu.whiten(X).X)")
    t_check = time.perf_counter() - t

    # 2. soft-thresholded SVD of Xᵀ Y
    t = time.perf_counter()
    A, sig, Bt = np.linalg.svd(X.T @ Y, full_matrices=False)
    B = Bt.T
    act = sig > beta
    shrink = np.where(act, sig - beta, 0.0)
    V = (A * shrink) @ Bt
    t_svd = time.perf_counter() - t

    # 3. cone test X a_i ≥ 0 over admissible signs / rotations of tied singular vectors
    t = time.perf_counter()
    # singular values within rounding of β give (σ_i − β)_+ ≈ 0: no neuron, no condition
    gtol = 1e-9 * (sig[0] if sig.size else 0.0)
    k_act = int(np.sum(sig - beta > gtol))
    A_act, B_act, s_act = A[:, :k_act].copy(), B[:, :k_act].copy(), sig[:k_act].copy()
    ok = np.ones(k_act, dtype=bool)
    i = 0
    while i < k_act:
        j = i + 1
        while j < k_act and s_act[i] - s_act[j] <= gtol:
            j += 1
        Ag, Bg = A_act[:, i:j], B_act[:, i:j]
        M = X @ Ag
        scale = np.linalg.norm(M, axis=0).max() if M.size else 1.0
        Q = _orient_group(M, tol * max(scale, 1e-300))
        if Q is not None:
            A_act[:, i:j], B_act[:, i:j] = Ag @ Q, Bg @ Q
            if j - i > 1:
                s_act[i:j] = s_act[i:j].mean()
        else:
            ok[i:j] = False
            for col in range(i, j):  # best single sign, for the upper-bound network
                if (X @ A_act[:, col]).sum() < 0:
                    A_act[:, col] *= -1
                    B_act[:, col] *= -1
        i = j
    cone_ok = bool(ok.all())
    if not cone_ok:
        bad = np.flatnonzero(~ok)
        reasons.append(
            f"Theorem 2's condition X a_i ≥ 0 fails for {bad.size} of the {k_act} singular "
            f"vectors with σ_i > β (indices {bad.tolist()[:10]}), for both signs"
            f"{' and every rotation among tied σ_i' if k_act > 1 else ''}"
        )
    t_cond = time.perf_counter() - t

    exact = whitened and cone_ok
    root = np.sqrt(np.maximum(s_act - beta, 0.0))
    W1 = A_act * root
    W2 = (B_act * root).T
    if not cone_ok:
        # a neuron whose X a_i changes sign can also be realized as a linear unit by the pair
        # (u, v), (−u, −v); keep whichever network has the smaller primal objective
        lin_W1 = np.concatenate([W1[:, ok], W1[:, ~ok], -W1[:, ~ok]], axis=1)
        lin_W2 = np.concatenate([W2[ok], W2[~ok], -W2[~ok]], axis=0)
        if _objective(lin_W1, lin_W2, X, Y, beta) < _objective(W1, W2, X, Y, beta):
            W1, W2 = lin_W1, lin_W2
            reasons.append("failing singular vectors are realized as linear units (±u, ±v)")
    zero_value = 0.5 * float(np.sum(Y ** 2))
    if not exact and W1.shape[1] and _objective(W1, W2, X, Y, beta) > zero_value:
        W1, W2 = W1[:, :0], W2[:0]
        reasons.append("the formula's network is worse than the zero network, which is returned")
    if W1.shape[1] == 0:
        W1, W2 = np.zeros((d, 0)), np.zeros((0, c))
    network = ReLUNetwork(W1, W2)
    net_obj = _objective(W1, W2, X, Y, beta)
    lower = 0.5 * float(np.sum(Y ** 2)) - 0.5 * float(np.sum(shrink ** 2))
    if exact:
        value, bound, reason = lower, "exact", None
    else:
        value, bound = net_obj, "upper"
        tail = (f"; the relaxation value {lower:.6g} is a lower bound on p*" if whitened else
                "; the soft-thresholded SVD is not a certified solution")
        reason = "; ".join(reasons) + tail + f"; value {net_obj:.6g} is only an upper bound."
    total = time.perf_counter() - t0
    return ClosedFormSolution(
        network=network, value=value, exact=exact, bound=bound, reason=reason,
        lower_bound=lower if whitened else None, network_objective=net_obj, V=V,
        singular_values=sig, beta=beta,
        timings={"check": t_check, "svd": t_svd, "condition": t_cond, "total": total},
    )
