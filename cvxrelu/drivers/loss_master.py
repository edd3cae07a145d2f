"""The column-generation master for a general convex loss: a group lasso over fixed neurons.

With unit first-layer directions u_1..u_K fixed and features a_k = (X u_k)_+, the rescaled
training problem (25) with a loss ℓ convex in the predictions ((76), App. A.6) becomes

    min_V  ℓ(A V, Y) + β Σ_k ‖v_k‖₂,        A = [a_1 … a_K] ∈ R^{n×K},  V ∈ R^{K×c},     (M)

a group lasso with loss ℓ. Its Fenchel dual is the dual (79) restricted to the K cuts,

    max_Z −ℓ*(Z)  s.t.  ‖Zᵀ a_k‖₂ ≤ β,  k = 1..K,

with Z = ∇ℓ(A V) at the optimum, so the master's duality gap (and the KKT residual below)
certifies its accuracy. Every iterate V is a real network (neurons u_k √‖v_k‖, v_k/√‖v_k‖)
whose objective (5) with loss ℓ equals the value of (M) at V.

Algorithm (no CVXPY)
--------------------
Active-set Newton (smooth losses with a Hessian, the default):

1. Zero groups that violate their KKT condition ‖g_k‖ ≤ β enter the support by one block
   proximal-gradient step (the entry test is exact; Newton then sets the magnitudes).
2. Newton's method on the nonzero groups S, as below. On a support with s·c > 120 and
   n·(s·c)² > 2e7 the Newton system is solved by truncated preconditioned CG (Newton-CG)
   with Hessian-vector products H D = A_Sᵀ[H_i (A_S D)_i]_i + penalty term (no (n, s, c, c)
   temporary, O(n s c) a product), a class-block Cholesky preconditioner (diagonal H_i) or
   the group-block diagonal (cross-entropy), and the forcing term η = min(0.1, √(KKT
   residual)).
3. Repeat until the KKT residual is below ``tol``; a round without progress falls back to
   FISTA.

Accelerated proximal gradient (FISTA; user losses without a Hessian, and the fallback):

1. Accelerated proximal gradient (FISTA) with backtracking on the step 1/L, started from the
   Lipschitz bound ``loss.lipschitz_bound(Y)·‖A‖₂²`` and allowed to shrink, and adaptive
   (gradient) restarts (O'Donoghue & Candès 2015). The proximal step is the group
   soft-threshold v_k ← (1 − τ/‖w_k‖)_+ w_k, which sets whole neurons to zero. It identifies
   the support.
2. Newton's method on the nonzero groups S, where (M) is smooth: the Hessian is
   Σ_i (a_iS a_iSᵀ) ⊗ H_i (H_i = ∇²ℓ's block of sample i, ``loss.hessian_blocks``) plus
   β/‖v_k‖ (I − v̂_k v̂_kᵀ) per group, with Armijo backtracking; a group whose Newton line
   passes through zero is set to zero (it leaves S). Quadratic convergence once S is right.
3. Repeat 1–2 until the KKT residual

       max( max_{v_k = 0} (‖g_k‖/β − 1)_+ ,  max_{v_k ≠ 0} ‖g_k + β v_k/‖v_k‖‖/β ),
       g = Aᵀ ∇ℓ(A V),

   is below ``tol``. Its first term is the dual infeasibility of Z = ∇ℓ(A V) on the K
   cuts, the quantity the drivers' lower bound pays for when it scales Z into feasibility.

Nonsmooth losses (hinge, absolute) are solved through their smoothing ``loss.smoothed(mu)``
(the driver chooses μ); user losses without a Hessian use step 1 only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError

__all__ = ["LossMasterSolution", "solve_loss_master", "group_soft_threshold",
           "master_kkt_residual"]


@dataclass
class LossMasterSolution:
    """Solution of the master (M).

    Attributes
    ----------
    V : ndarray, shape (K, c)
        Second-layer weights of the K fixed neurons (rows exactly zero off the support).
    objective : float
        ℓ(A V, Y) + β Σ_k ‖v_k‖₂ for the loss that was minimized.
    kkt : float
        KKT residual relative to β (see the module docstring).
    dual_value : float
        −ℓ*(s Z) at Z = ∇ℓ(A V) scaled into the restricted dual's feasibility (a lower bound
        on the master's optimum); ``nan`` when the loss has no conjugate.
    iterations : int
        Proximal-gradient iterations plus Newton steps.
    status : str
        ``"optimal"`` (kkt ≤ tol), ``"max_iter"`` or ``"time_limit"``.
    """

    V: np.ndarray
    objective: float
    kkt: float
    dual_value: float
    iterations: int
    status: str

    @property
    def gap(self) -> float:
        """objective − dual_value: the master's duality gap (≥ 0)."""
        return self.objective - self.dual_value


def group_soft_threshold(W: np.ndarray, tau: float) -> np.ndarray:
    """The proximal operator of τ Σ_k ‖w_k‖₂ (rows): w_k ← (1 − τ/‖w_k‖)_+ w_k."""
    nrm = np.linalg.norm(W, axis=1)
    scale = np.where(nrm > tau, 1.0 - tau / np.maximum(nrm, 1e-300), 0.0)
    return W * scale[:, None]


def master_kkt_residual(G: np.ndarray, V: np.ndarray, beta: float) -> float:
    """KKT residual of (M) relative to β, from the gradient G = Aᵀ∇ℓ(A V) of the loss term."""
    if V.shape[0] == 0:
        return 0.0
    nv = np.linalg.norm(V, axis=1)
    ng = np.linalg.norm(G, axis=1)
    nz = nv > 0
    res = 0.0
    if np.any(~nz):
        res = max(res, float(np.max(ng[~nz])) / beta - 1.0)
    if np.any(nz):
        stat = G[nz] + beta * V[nz] / nv[nz, None]
        res = max(res, float(np.max(np.linalg.norm(stat, axis=1))) / beta)
    return max(res, 0.0)


def _spectral_norm_sq(A: np.ndarray) -> float:
    if A.size == 0:
        return 0.0
    if A.shape[0] * A.shape[1] <= 4_000_000:
        return float(np.linalg.norm(A, 2)) ** 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal(A.shape[1])
    for _ in range(30):
        x = A.T @ (A @ x)
        x /= np.linalg.norm(x)
    return float(np.linalg.norm(A @ x)) ** 2 * 1.05


class _Master:
    """Objective pieces of (M) for one (A, Y, β, loss)."""

    def __init__(self, A, Y, beta, loss):
        self.A, self.Y, self.beta, self.loss = A, Y, beta, loss

    def f(self, F):
        return self.loss.value(F, self.Y)

    def grad(self, F):
        return self.A.T @ self.loss.gradient(F, self.Y)

    def objective(self, V, F):
        return self.f(F) + self.beta * float(np.sum(np.linalg.norm(V, axis=1)))


def _fista(m: _Master, V, L, max_iter, tol, check_every=10, deadline=None):
    """FISTA with backtracking and gradient restarts; returns (V, L, iterations, kkt).

    Stops early (without error) when backtracking cannot find a decrease any more: the
    objective is then flat to rounding around V."""
    A, beta = m.A, m.beta
    F = A @ V
    W, FW = V.copy(), F  # extrapolated point and its predictions
    t = 1.0
    kkt = np.inf
    it = 0
    L_cap = 1e12 * L
    for it in range(1, max_iter + 1):
        fW = m.f(FW)
        GW = m.grad(FW)
        while True:
            Vn = group_soft_threshold(W - GW / L, beta / L)
            D = Vn - W
            Fn = A @ Vn
            fn = m.f(Fn)
            if fn <= fW + float(np.sum(GW * D)) + 0.5 * L * float(np.sum(D * D)) + \
                    1e-13 * abs(fW):
                break
            L *= 2.0
            if L > L_cap:
                break
        if L > L_cap:  # rounding floor: no decrease can be certified by backtracking
            kkt = master_kkt_residual(m.grad(F), V, beta)
            return V, L_cap / 1e12, it, kkt
        if float(np.sum((W - Vn) * (Vn - V))) > 0:  # gradient restart
            t = 1.0
            W = Vn
        else:
            tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            W = Vn + ((t - 1.0) / tn) * (Vn - V)
            t = tn
        V, F = Vn, Fn
        FW = A @ W  # recomputed (an incremental update drifts and breaks backtracking)
        L *= 0.9  # let the step grow again where the loss is flatter
        if it % check_every == 0 or it == max_iter:
            kkt = master_kkt_residual(m.grad(F), V, beta)
            if kkt <= tol:
                break
            if deadline is not None and time.perf_counter() > deadline:
                break
    return V, L, it, kkt


#: "auto" forms and factorizes the Newton system when s·c ≤ DIRECT_MAX or when forming it
#: costs n·(s·c)² ≤ DIRECT_MAX_WORK (small n: cheaper than ~100 Hessian-vector products)
DIRECT_MAX = 120
DIRECT_MAX_WORK = 2e7


def _hessian_direct(AS, Hb, beta, nS, Vh, grad):
    """The Newton step from the explicit (s·c)² Hessian (small supports; the reference path).

    Σ_i (a_iS a_iSᵀ) ⊗ H_i is one BLAS product A_Sᵀ [a_i ⊗ H_i]_i of shape (s, s, c, c)."""
    s, c = grad.shape
    W = (AS[:, :, None, None] * Hb[:, None, :, :]).reshape(AS.shape[0], -1)
    H4 = (AS.T @ W).reshape(s, s, c, c).transpose(0, 2, 1, 3).copy()
    ar = np.arange(s)
    H4[ar, :, ar, :] += (beta / nS)[:, None, None] * (
        np.eye(c)[None] - Vh[:, :, None] * Vh[:, None, :])
    H = H4.reshape(s * c, s * c)
    H[np.diag_indices_from(H)] += 1e-13 * max(np.trace(H) / H.shape[0], 1e-300)
    try:
        return np.linalg.solve(H, grad.ravel()).reshape(s, c)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(H, grad.ravel(), rcond=None)[0].reshape(s, c)


def _hessian_cg(AS, Hb, beta, nS, Vh, grad, forcing, max_cg=None):
    """The Newton step by truncated preconditioned conjugate gradients (Newton-CG).

    Solves H p = g, H = A_Sᵀ blockdiag(H_i) A_S (⊗ per sample) + β/‖v_k‖ (I − v̂_k v̂_kᵀ)
    per group, with Hessian-vector products only: H D = A_Sᵀ [H_i (A_S D)_i]_i + penalty
    term, O(n·s·c + n·c²) each (no (n, s, c, c) temporary), preconditioned by
    :func:`_class_block_preconditioner`. CG stops at the relative residual
    ``forcing`` (an inexact Newton method: superlinear when forcing → 0 with the gradient)
    or on nonpositive curvature (H is PSD: rounding only)."""
    s, c = grad.shape
    pen = (beta / nS)[:, None, None] * (np.eye(c)[None] - Vh[:, :, None] * Vh[:, None, :])

    def hv(D):
        G = AS @ D                                        # (n, c)
        return AS.T @ np.matmul(Hb, G[:, :, None])[:, :, 0] + \
            np.matmul(pen, D[:, :, None])[:, :, 0]

    prec = _class_block_preconditioner(AS, Hb, pen)
    x = np.zeros_like(grad)
    r = grad.copy()
    z = prec(r)
    d = z.copy()
    rz = float(np.sum(r * z))
    g_norm = float(np.linalg.norm(grad))
    stop = forcing * g_norm
    max_cg = max_cg or max(10, min(s * c, 500))
    for _ in range(max_cg):
        Hd = hv(d)
        curv = float(np.sum(d * Hd))
        if not curv > 0:
            if not np.any(x):
                x = z  # first direction: the preconditioned gradient
            break
        a = rz / curv
        x += a * d
        r -= a * Hd
        if float(np.linalg.norm(r)) <= stop:
            break
        z = prec(r)
        rz_new = float(np.sum(r * z))
        d = z + (rz_new / rz) * d
        rz = rz_new
    return x


#: supports up to this many neurons get the class-block preconditioner; wider, block Jacobi
CLASS_BLOCK_MAX = 1500


def _class_block_preconditioner(AS, Hb, pen):
    """An approximate inverse of the support's Hessian for Newton-CG.

    Losses with diagonal blocks H_i (squared, logistic, Huber) and up to
    :data:`CLASS_BLOCK_MAX` neurons: the Hessian without the penalty's off-diagonal terms
    splits into c blocks A_Sᵀ diag(H_i,jj) A_S + diag(penalty) of size s × s (one
    Cholesky factorization each, O(n s² c)). Otherwise (cross-entropy's coupled H_i, where
    the diagonal approximation measured worse) the group-block diagonal of H (s blocks
    c × c). Returns R ↦ P⁻¹R."""
    import scipy.linalg as sla

    s, c = pen.shape[0], pen.shape[1]
    Hd = np.diagonal(Hb, axis1=1, axis2=2)                # (n, c)
    diagonal = c == 1 or not np.any(Hb - Hd[:, :, None] * np.eye(c)[None])
    if diagonal and s <= CLASS_BLOCK_MAX:
        pdiag = np.diagonal(pen, axis1=1, axis2=2)        # (s, c)
        facs = []
        for j in range(c):
            M = AS.T @ (AS * Hd[:, j:j + 1])
            M[np.diag_indices_from(M)] += pdiag[:, j] + 1e-12 * max(
                float(np.trace(M)) / s, 1e-300)
            try:
                facs.append(sla.cho_factor(M, check_finite=False))
            except np.linalg.LinAlgError:
                facs = None
                break
        if facs is not None:
            def apply(R):
                return np.column_stack([sla.cho_solve(f, R[:, j], check_finite=False)
                                        for j, f in enumerate(facs)])
            return apply
    P = np.einsum("is,icd->scd", AS * AS, Hb) + pen       # group-block Jacobi, (s, c, c)
    P[:, np.arange(c), np.arange(c)] += 1e-12 * max(
        float(np.max(np.trace(P, axis1=1, axis2=2))) / c, 1e-300)
    try:
        Pinv = np.linalg.inv(P)
    except np.linalg.LinAlgError:
        Pinv = np.linalg.pinv(P)
    return lambda R: np.matmul(Pinv, R[:, :, None])[:, :, 0]


def _newton(m: _Master, V, tol, max_iter=50, solver="auto"):
    """Newton's method on the nonzero groups (see the module docstring); returns (V, steps).

    ``solver``: "direct" forms and factorizes the (s·c)² Hessian; "cg" uses Newton-CG
    (:func:`_hessian_cg`); "auto" is direct for s·c ≤ :data:`DIRECT_MAX` or
    n·(s·c)² ≤ :data:`DIRECT_MAX_WORK`, CG otherwise."""
    A, beta, loss, Y = m.A, m.beta, m.loss, m.Y
    c = V.shape[1]
    steps = 0
    for _ in range(max_iter):
        nr = np.linalg.norm(V, axis=1)
        S = np.flatnonzero(nr > 0)
        if S.size == 0:
            break
        F = A @ V
        VS, nS = V[S], nr[S]
        Vh = VS / nS[:, None]
        AS = A[:, S]
        grad = AS.T @ loss.gradient(F, Y) + beta * Vh
        gmax = float(np.max(np.linalg.norm(grad, axis=1)))
        if gmax <= 1e-3 * tol * beta:
            break
        Hb = loss.hessian_blocks(F, Y)  # (n, c, c)
        s = S.size
        if solver == "direct" or (solver == "auto" and (
                s * c <= DIRECT_MAX or A.shape[0] * (s * c) ** 2 <= DIRECT_MAX_WORK)):
            step = _hessian_direct(AS, Hb, beta, nS, Vh, grad)
        else:
            # forcing term η = min(0.1, √(residual/β)): superlinear as the residual → 0
            eta = min(0.1, max(np.sqrt(gmax / beta), 1e-10))
            step = _hessian_cg(AS, Hb, beta, nS, Vh, grad, eta)
        dec = float(np.sum(grad * step))
        if not dec > 0:
            break
        steps += 1
        # a group whose line v_k − a d_k passes (nearly) through 0 before a = 1 blocks the
        # step: stop there and set it to 0 (it leaves S; FISTA may bring it back)
        dd = np.sum(step * step, axis=1)
        vs = np.sum(VS * step, axis=1)
        astar = vs / np.maximum(dd, 1e-300)
        block = (astar > 0) & (astar < 1) & (nS ** 2 - astar * vs <= 1e-2 * nS ** 2)
        amax = float(astar[block].min()) if np.any(block) else 1.0
        f0 = m.objective(V, F)
        accepted = False
        if np.any(block) and amax < 1:
            # first try the full step with EVERY blocking group set to 0 at once (groups
            # that entered together usually leave together); kept if it decreases φ enough
            Vt = V.copy()
            Vt[S] = VS - step
            Vt[S[block]] = 0.0
            ft = m.objective(Vt, A @ Vt)
            accepted = ft <= f0 - 1e-4 * amax * dec
        a = amax
        while not accepted and a > 1e-9 * amax:
            Vt = V.copy()
            Vt[S] = VS - a * step
            if a == amax and np.any(block):
                lead = S[block & (astar <= amax * (1 + 1e-12))]
                Vt[lead] = 0.0
            ft = m.objective(Vt, A @ Vt)
            if ft <= f0 - 1e-4 * a * dec:
                accepted = True
                break
            if a == 1.0 and dec <= 1e-11 * abs(f0) and ft <= f0 + 1e-13 * abs(f0):
                # the predicted decrease is at rounding level (an inexact CG step near the
                # optimum): Armijo cannot see it; take the full step (φ unchanged to rounding)
                accepted = True
                break
            if a < 1e-3 * amax and abs(f0 - ft) < 1e-14 * abs(f0):
                break  # the decrease is below rounding: nothing left to gain here
            a *= 0.5
        if not accepted:
            break
        V = Vt
        if dec <= 1e-15 * max(abs(f0), 1e-300):
            break
    return V, steps


def _enter(m: _Master, V, lip):
    """Let the zero groups that violate their KKT condition (‖g_k‖ > β) enter the support
    with one joint block proximal-gradient step (step 1/(ℓ's Lipschitz bound·‖a_k‖²)),
    halved until the objective decreases. Returns (V, number entered)."""
    A, beta = m.A, m.beta
    F = A @ V
    G = m.grad(F)
    zero = ~np.any(V != 0.0, axis=1)
    ng = np.linalg.norm(G, axis=1)
    idx = np.flatnonzero(zero & (ng > beta * (1 + 1e-14)))
    if idx.size == 0:
        return V, 0
    Lk = lip * np.maximum(np.sum(A[:, idx] ** 2, axis=0), 1e-300)
    D = -(1.0 - beta / ng[idx])[:, None] * G[idx] / Lk[:, None]
    f0 = m.objective(V, F)
    a = 1.0
    for _ in range(60):
        Vt = V.copy()
        Vt[idx] = a * D
        if m.objective(Vt, A @ Vt) < f0:
            return Vt, idx.size
        a *= 0.5
    return V, 0


def solve_loss_master(A, Y, beta, loss, *, V0=None, tol: float = 1e-9,
                      max_iter: int = 20000, newton: bool | str = True,
                      time_limit: float | None = None) -> LossMasterSolution:
    """Solve the master (M) ``min_V ℓ(A V, Y) + β Σ_k ‖v_k‖₂`` to a KKT residual ``tol``.

    With a Hessian (every smooth built-in loss and every smoothing): an active-set Newton
    method — violating zero groups enter by a proximal-gradient step, Newton's method runs on
    the support (groups whose Newton line crosses zero leave) — repeated until the KKT
    residual is ≤ ``tol``; FISTA takes over if a round makes no progress. Without a Hessian
    (user losses): FISTA with backtracking and restarts only.

    Parameters
    ----------
    A : ndarray, shape (n, K)
        Features a_k = (X u_k)_+ of the fixed unit neurons.
    Y : ndarray, shape (n, c)
        Prepared targets (``loss.prepare_targets``).
    beta : float
        Weight decay β > 0 (the penalty of (25)).
    loss : cvxrelu.losses.Loss
        A smooth loss (``loss.smooth``); for a nonsmooth loss pass ``loss.smoothed(mu)``.
    V0 : ndarray, shape (K, c), optional
        Warm start (e.g. the previous master with zero rows for new columns).
    tol : float
        KKT residual relative to β at which to stop (module docstring).
    max_iter : int
        Proximal-gradient iterations plus Newton steps, in all.
    newton : bool or {"auto", "cg", "direct"}
        Use the active-set Newton method when the loss has a Hessian (True = "auto"), and
        how its Newton system is solved: "cg" by truncated Newton-CG with Hessian-vector
        products (no (n, s, c, c) temporary; :func:`_hessian_cg`), "direct" by forming and
        factorizing the (s·c)² Hessian, "auto" direct for s·c ≤ ``DIRECT_MAX`` (= 120) or
        n·(s·c)² ≤ ``DIRECT_MAX_WORK`` (= 2e7), CG otherwise. False: FISTA only.
    time_limit : float, optional
        Seconds.

    Returns
    -------
    LossMasterSolution
    """
    A = np.asarray(A, dtype=float)
    Y = np.asarray(Y, dtype=float)
    n, K = A.shape
    c = Y.shape[1]
    if not loss.smooth:
        raise InvalidInputError(
            f"the master needs a smooth loss; pass loss.smoothed(mu) for {loss.name!r}.")
    V = np.zeros((K, c)) if V0 is None else np.array(V0, dtype=float, copy=True)
    if V.shape != (K, c):
        raise InvalidInputError(f"V0 must have shape {(K, c)}; got {V.shape}.")
    if newton is True:
        newton = "auto"
    if newton is not False and newton not in ("auto", "cg", "direct"):
        raise InvalidInputError(
            f"newton must be True, False, 'auto', 'cg' or 'direct'; got {newton!r}.")
    m = _Master(A, Y, beta, loss)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    has_hessian = newton is not False
    if has_hessian:
        try:
            loss.hessian_blocks(np.zeros((1, c)), Y[:1])
        except Exception:  # noqa: BLE001 - user losses have no Hessian
            has_hessian = False
    if K == 0:
        F = np.zeros_like(Y)
        return LossMasterSolution(V, m.objective(V, F), 0.0, _dual_value(m, V, F), 0,
                                  "optimal")
    lip = loss.lipschitz_bound(Y)
    lip = lip if np.isfinite(lip) else 1.0
    L = lip * max(_spectral_norm_sq(A), 1e-300)
    iters = 0
    status = "max_iter"
    kkt = np.inf
    f_prev = np.inf
    kkt_prev = np.inf
    while iters < max_iter:
        if has_hessian:
            V, entered = _enter(m, V, lip)
            V, steps = _newton(m, V, tol, solver=newton)
            iters += steps + 1
            F = A @ V
            kkt = master_kkt_residual(m.grad(F), V, beta)
            f = m.objective(V, F)
            slow = kkt > 0.5 * kkt_prev  # e.g. the piecewise Hessians of a smoothing
            kkt_prev = kkt
            if kkt > tol and (slow or not f < f_prev - 1e-15 * abs(f)):
                # no progress from the active-set round: proximal-gradient steps instead
                V, L, it, kkt = _fista(m, V, L, min(100, max_iter - iters), tol,
                                       deadline=deadline)
                iters += it
                f = m.objective(V, A @ V)
            f_prev = min(f, f_prev)
        else:
            V, L, it, kkt = _fista(m, V, L, max_iter - iters, tol, deadline=deadline)
            iters += it
        if kkt <= tol:
            status = "optimal"
            break
        if deadline is not None and time.perf_counter() > deadline:
            status = "time_limit"
            break
    F = A @ V
    return LossMasterSolution(V, m.objective(V, F), kkt, _dual_value(m, V, F), iters, status)


def _dual_value(m: _Master, V, F) -> float:
    """−ℓ*(sZ) at Z = ∇ℓ(F), s = min(1, β / max_k ‖Zᵀa_k‖): the restricted dual (79)."""
    loss = m.loss
    if not loss.supports_conjugate:
        return float("nan")
    Z = loss.into_domain(loss.dual_point(F, m.Y), m.Y)
    w = float(np.max(np.linalg.norm(m.A.T @ Z, axis=1), initial=0.0))
    s = 1.0 if w <= m.beta else m.beta / w
    return loss.dual_objective(s * Z, m.Y)
