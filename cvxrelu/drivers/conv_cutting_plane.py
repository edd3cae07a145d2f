"""Column generation for the convex CNN program (50), (51) — no CVXPY.

A two-layer CNN with global pooling, f = Σ_j Σ_k (X_k u_j)_+ v_jᵀ (patches X_k ∈ R^{n×h},
k = 1..K, h = C·kh·kw; see :mod:`cvxrelu.geometry.patches`), trains to the global optimum of (50),
whose semi-infinite dual is the dual (11) with the feature map of a filter u replaced by

    a(u) = Σ_k (X_k u)_+ ∈ R^n          (sum pooling; mean pooling uses the patches X_k / K):

    p*_conv = max_Z −½‖Z − Y‖² + ½‖Y‖²   s.t.   ‖Σ_k Zᵀ(X_k u)_+‖₂ ≤ β  for all ‖u‖₂ ≤ 1.

With M = [X_1; …; X_K] ∈ R^{nK×h} and Z̃ = [Z; …; Z] (Z repeated once per patch) the
constraint reads ‖Z̃ᵀ(M u)_+‖ ≤ β: it is the dual oracle of (11) on the stacked patch matrix,
:class:`~cvxrelu.geometry.oracle.DualOracle` (exact for rank(M) ≤ 3, i.e. h ≤ 3).

Exact compression. Rows of M that are zero contribute nothing and equal rows share the value
(m u)_+, so Z̃ᵀ(M u)_+ = (S Z)ᵀ(M_u u)_+ with M_u the q distinct nonzero rows of M and
S ∈ R^{q×n} the sparse count matrix S[j, i] = #{k : row k of image i equals M_u[j]}. The oracle
and the features a(u) = Sᵀ(M_u u)_+ are computed on (M_u, S): identical values, fewer rows
(on the 1 797 scikit-learn digits with 2×2 kernels q = 21 881 instead of nK = 88 053).

Kelley / column generation (App. A.5), as :func:`~cvxrelu.cutting_plane` does for (11), on
the shared engine (:mod:`cvxrelu.drivers.engine`): a :class:`~cvxrelu.drivers.engine.Run`
holds the bounds, history, progress and stopping rule, and
:meth:`~cvxrelu.drivers.engine.Run.finish` → :func:`~cvxrelu.drivers.result.conclude` gives
the final certificate and the :class:`~cvxrelu.drivers.result.Status`. The master is the group
lasso over the collected unit filters' features (:class:`~cvxrelu.drivers.columns.Columns`
with the :class:`~cvxrelu.drivers.columns.PatchFeatures` map, the same columns as the dense
drivers; :func:`~cvxrelu.drivers.group_lasso.solve_group_lasso` on the Gram matrix), its
residual Z = Y − A V is the next query point. The oracle is :class:`PatchOracle`: ω(S Z) on
the compressed patch matrix, so the engine certifies the CNN as it does a dense network.

The loop is the driver's own (not :func:`~cvxrelu.drivers.engine.column_generation`, whose
rounds always call the oracle and whose heuristic lower bounds need a certified refinement at
the end): each round first tries a cheap local ascent from the current filters (partial
pricing: any violated filter is a valid cut, but gives no bound); only when it finds none is
the oracle called (a "global round"), which gives

* an UPPER bound: the objective (6) of a real :class:`~cvxrelu.ConvReLUNetwork` (filters
  u_k √‖v_k‖, output weights v_k/√‖v_k‖: ``TwoLayerNetwork.balanced``);
* a certified LOWER bound: Z scaled into dual feasibility, ``scaled_dual_bound(Z, Y, β, ω̄)``
  with ω̄ ≥ ω(Z) certified — the exact oracle's value for h ≤ 3 (``DualOracle.__call__``,
  which also returns several cuts), :meth:`DualOracle.bound`'s ω̄ for h ≥ 4 (one call: its
  attained end ω_lo and direction are the heuristic value and the cut; every violated
  column of its optional ``candidates`` field is a cut too).

For h ≥ 4 the certified bound is as tight as :meth:`DualOracle.bound` is for rank(M) ≥ 4
(branch and bound, anytime: loose when stopped early); the driver stops when no violated
filter is found or the heuristic gap (ω_lo in place of ω̄) is closed, and the final status
follows the certified gap: ``Status.OPTIMAL`` (≤ tol) or ``Status.GAP``; the heuristic gap
is reported separately, never as a bound. Every round's lower bound is certified, so a
violated filter found by the final certificate only means that the run was cut short: the
status stays ``MAX_ITERS`` / ``TIME_LIMIT`` (never ``ORACLE_FAILED``).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from .._torch import is_torch_module
from .._validate import as_beta, as_targets, check_choice
from ..networks.conv_network import ConvReLUNetwork
from ..errors import InvalidInputError, UnsupportedError
from ..geometry.arrangements import numerical_rank
from ..geometry.oracle import DualOracle, OracleBound
from ..geometry.oracle_ascent import distinct_top
from ..geometry.patches import as_images, as_pair, patches
from .columns import Columns, PatchFeatures
from .engine import Budget, Run, certified_cuts
from .group_lasso import _single_thread
from .options import driver_options
from .result import IterationRecord, SolveResult, Status, scaled_dual_bound

__all__ = ["conv_cutting_plane", "conv_beta_max"]

logger = logging.getLogger("cvxrelu")

#: seconds of a certified bound ω̄ without a time_limit (the bound is anytime: a shorter
#: budget gives a looser bound, never a wrong one)
_ORACLE_SECONDS = 60.0


# ------------------------------------------------------------------ patch data
class _PatchData:
    """The stacked patch matrix M = [X_1; …; X_K], exactly compressed to its distinct nonzero
    rows M_u (q × h) and the count matrix S (q × n): Z̃ᵀ(M u)_+ = (S Z)ᵀ(M_u u)_+ and
    a(u) = Σ_k (X_k u)_+ = Sᵀ(M_u u)_+."""

    def __init__(self, Pk: np.ndarray):
        K, n, h = Pk.shape
        M = Pk.reshape(K * n, h)
        nz = np.flatnonzero(np.any(M != 0.0, axis=1))
        self.n, self.h, self.n_patches = n, h, K
        if nz.size == 0:
            self.rows = np.zeros((0, h))
            self.S = sp.csr_matrix((0, n))
        else:
            rows, inv = np.unique(M[nz], axis=0, return_inverse=True)
            # csr sums duplicate (row, image) entries: S[j, i] = number of patches of image i
            # equal to rows[j]
            self.rows = rows
            self.S = sp.csr_matrix((np.ones(nz.size), (np.ravel(inv), nz % n)),
                                   shape=(rows.shape[0], n))
        self.ST = self.S.T.tocsr()

    def features(self, U: np.ndarray) -> np.ndarray:
        """a(u) = Σ_k (X_k u)_+ for each column u of U (h, m); shape (n, m)."""
        return np.asarray(self.ST @ np.maximum(self.rows @ U, 0.0))

    def aggregate(self, Z: np.ndarray) -> np.ndarray:
        """S Z (q, c): the oracle's matrix for the stacked residual Z̃ = [Z; …; Z]."""
        return np.asarray(self.S @ Z)


class PatchOracle:
    """The dual oracle of (50) at an image residual Z (n, c): ω_conv(Z) =
    max_{‖u‖≤1} ‖Σ_k Zᵀ(X_k u)_+‖ = ω(S Z), the :class:`~cvxrelu.geometry.oracle.DualOracle`
    of the compressed stacked patch matrix M_u asked at the aggregated residual S Z.

    It has what the engine uses of an oracle (``exact``, ``rank``, ``__call__``, ``bound``),
    so :meth:`~cvxrelu.drivers.engine.Run.finish` and
    :func:`~cvxrelu.drivers.result.conclude` certify the CNN exactly as the dense drivers:
    ``scaled_dual_bound(Z, Y, β, ω̄)`` with ω̄ ≥ ω(S Z). Directions live in patch space
    R^h (the filters u)."""

    def __init__(self, data: _PatchData, method: str = "auto", seed=None):
        self.data = data
        self.dual = DualOracle(data.rows, method=method, seed=seed)
        self.exact, self.rank = self.dual.exact, self.dual.rank

    def __call__(self, Z, n_candidates: int = 1, warm=None):
        """:meth:`DualOracle.__call__` at S Z (filters in R^h)."""
        return self.dual(self.data.aggregate(Z), n_candidates, warm=warm)

    def value_bound(self, Z, value: float) -> float:
        """:meth:`DualOracle.value_bound` at S Z: ω̄ from an exact value."""
        return self.dual.value_bound(self.data.aggregate(Z), value)

    def bound(self, Z, **kw) -> OracleBound:
        """:meth:`DualOracle.bound` at S Z: a certified bracket of ω_conv(Z)."""
        return self.dual.bound(self.data.aggregate(Z), **kw)


def _prepare(images, Y, beta, kernel_size, stride, padding, pooling):
    """Validate like :func:`~cvxrelu.conv_bidual` and build the (scaled) patches."""
    imgs = as_images(images)
    n = imgs.shape[0]
    Y = as_targets(Y, n)
    beta = as_beta(beta)
    check_choice(pooling, ("sum", "mean"), "pooling")
    Pk = patches(imgs, kernel_size=kernel_size, stride=stride, padding=padding)   # (K, n, h)
    if pooling == "mean":
        Pk = Pk / Pk.shape[0]   # mean pooling = sum pooling over the patches X_k / K
    return imgs, Y, beta, Pk


# ------------------------------------------------------------ local pricing
def _relu_values(rows: np.ndarray, Zc: np.ndarray, U: np.ndarray) -> np.ndarray:
    """‖Zcᵀ(rows u)_+‖ for each column u of U (two GEMMs)."""
    return np.linalg.norm(np.maximum(rows @ U, 0.0).T @ Zc, axis=1)


def _local_search(rows: np.ndarray, Zc: np.ndarray, U: np.ndarray, n_jumps: int = 10,
                  n_steps: int = 30):
    """Local ascent of ω_u = ‖Zcᵀ(rows u)_+‖ on the unit sphere from the columns of U.

    Two phases, each vectorized over the starts:

    * pattern jumps: with the pattern D = 1[rows u > 0] fixed, ω_u = ‖G u‖ with
      G = Zcᵀ D rows; the top right singular vector of G (signed for the larger true value)
      replaces u when it increases the true value (one GEMM DᵀW with W = [z_j ⊗ x_j]_j);
    * projected gradient ascent with a per-start step size, which also follows the faces of
      the cells (where the pattern jumps, which ignore the cell, stop).

    A LOCAL search: it only proposes cuts; the bounds and the stopping rule come from
    :class:`~cvxrelu.geometry.oracle.DualOracle`. Returns (values (s,), unit directions (h, s)).
    """
    q, h = rows.shape
    c = Zc.shape[1]
    U = U / np.maximum(np.linalg.norm(U, axis=0), 1e-300)
    W = (Zc[:, :, None] * rows[:, None, :]).reshape(q, c * h)
    P = rows @ U                                        # (q, s), kept in step with U
    vals = np.linalg.norm(np.maximum(P, 0.0).T @ Zc, axis=1)
    for _ in range(n_jumps):
        G = ((P > 0.0).T.astype(float) @ W).reshape(-1, c, h)
        _, E = np.linalg.eigh(np.einsum("sci,scj->sij", G, G))
        Un = E[:, :, -1].T
        Pn = rows @ Un
        fp = np.linalg.norm(np.maximum(Pn, 0.0).T @ Zc, axis=1)
        fm = np.linalg.norm(np.maximum(-Pn, 0.0).T @ Zc, axis=1)
        sign = np.where(fp >= fm, 1.0, -1.0)
        fn = np.maximum(fp, fm)
        better = fn > vals * (1 + 1e-12)
        if not np.any(better):
            break
        U[:, better] = (Un * sign)[:, better]
        P[:, better] = (Pn * sign)[:, better]
        vals[better] = fn[better]
    # gradient of ½ω_u²: rowsᵀ (D ⊙ Zc Zcᵀ(rows u)_+), tangent part, adaptive steps
    step = np.full(U.shape[1], 0.1)
    for _ in range(n_steps):
        Wv = np.maximum(P, 0.0).T @ Zc                  # (s, c) = Zcᵀ(rows u)_+
        grad = rows.T @ ((P > 0.0) * (Zc @ Wv.T))       # (h, s)
        grad -= U * np.sum(U * grad, axis=0)
        gn = np.linalg.norm(grad, axis=0)
        if not np.any(gn > 1e-12 * np.maximum(vals * vals, 1e-300)):
            break
        Un = U + step * grad / np.maximum(gn, 1e-300)
        Un /= np.linalg.norm(Un, axis=0)
        Pn = rows @ Un
        fn = np.linalg.norm(np.maximum(Pn, 0.0).T @ Zc, axis=1)
        better = fn > vals * (1 + 1e-14)
        U[:, better], P[:, better], vals[better] = Un[:, better], Pn[:, better], fn[better]
        step = np.where(better, np.minimum(1.5 * step, 1.0), 0.5 * step)
        if np.all(step < 1e-8):
            break
    return vals, U


def _starts(rows, Zc, U_keep, rng, n_random=128, n_best=16):
    """Starting directions: the best n_best of the given ones (current filters, last oracle
    candidates) and the best n_best of n_random random ones."""
    R = rng.standard_normal((rows.shape[1], n_random))
    R /= np.linalg.norm(R, axis=0)
    v = _relu_values(rows, Zc, R)
    if U_keep.shape[1] > n_best:
        U_keep = U_keep[:, np.argsort(-_relu_values(rows, Zc, U_keep))[:n_best]]
    return np.hstack([U_keep, R[:, np.argsort(-v)[:n_best]]])


def _warm_filters(warm_start, C: int, kernel: tuple) -> np.ndarray:
    """Flattened filters (h, m) of a warm start (ConvReLUNetwork, SolveResult or torch)."""
    net = getattr(warm_start, "network", warm_start)
    if is_torch_module(net):
        net = ConvReLUNetwork.from_torch(net)
    if not isinstance(net, ConvReLUNetwork):
        raise InvalidInputError(
            "warm_start must be a cvxrelu.ConvReLUNetwork, a SolveResult holding one, or its "
            f"torch export; got {type(warm_start)!r}.")
    if (net.in_channels, *net.kernel_size) != (C, *kernel):
        raise InvalidInputError(
            f"warm_start has filters of shape {(net.in_channels, *net.kernel_size)} (C, kh, kw) "
            f"but the images and kernel_size give {(C, *kernel)}; pass a network with the same "
            "kernel_size and number of channels.")
    return net.patch_weights


def _network(filters, W2, C, kernel, stride, padding, pooling) -> ConvReLUNetwork:
    return ConvReLUNetwork.from_patch_weights(filters, W2, kernel, in_channels=C, stride=stride,
                                              padding=padding, pooling=pooling)


# ------------------------------------------------------------------ β_max
def conv_beta_max(images, Y, *, kernel_size, stride=1, padding=0, pooling="sum",
                  seed=None) -> OracleBound:
    """The smallest β at which the zero CNN is optimal for (50): β_max = ω(Y).

    The zero network is optimal iff Z = Y is dual feasible, i.e. iff
    ‖Σ_k Yᵀ(X_k u)_+‖ ≤ β for all ‖u‖ ≤ 1 (one oracle call at the targets).

    Returns
    -------
    OracleBound
        ``lower`` ≤ β_max ≤ ``upper`` (:meth:`DualOracle.bound`): both exact for h ≤ 3; for
        h ≥ 4 ``lower`` is attained by a filter (so β < ``lower`` certainly gives a nonzero
        optimum) and ``upper`` is a certified, possibly loose, bound.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.ones((2, 1, 1, 3)); Y = np.array([1.0, 2.0])
    >>> b = conv_beta_max(images, Y, kernel_size=(1, 1))   # 3 patches of value 1: a = 3·u_+
    >>> bool(abs(b.upper - 9.0) <= 1e-9 * 9.0), b.exact   # ω(Y) = (1 + 2)·3 at u = 1
    (True, True)
    """
    imgs, Y, _, Pk = _prepare(images, Y, 1.0, kernel_size, stride, padding, pooling)
    data = _PatchData(Pk)
    if data.rows.shape[0] == 0:
        return OracleBound(0.0, 0.0, np.zeros(data.h), True, 0, "zero data")
    return PatchOracle(data, seed=seed).bound(Y, time_limit=_ORACLE_SECONDS)


# ------------------------------------------------------------------ the driver
def conv_cutting_plane(images, Y, beta, *, kernel_size, stride=1, padding=0,
                       pooling: str = "sum", tol: float = 1e-6, max_iters: int = 500,
                       n_cuts: int = 8, time_limit: float | None = None, warm_start=None,
                       progress: bool = True, seed=None, oracle: str = "auto",
                       local_search: bool = True) -> SolveResult:
    """Train a two-layer CNN with global pooling to the global optimum of (50) by column
    generation on its dual (Kelley's cutting planes, App. A.5), without CVXPY.

    Parameters
    ----------
    images : array-like, shape (n, C, H, W) or (n, H, W)
    Y : array-like, shape (n, c) or (n,)
    beta : float
        Weight decay β > 0 of (6): loss ½‖f − Y‖² summed over samples plus
        (β/2)(‖filters‖² + ‖W2‖²).
    kernel_size, stride, padding : int or pair
        As in ``torch.nn.Conv2d`` (and :func:`~cvxrelu.conv_bidual`).
    pooling : {"sum", "mean"}
        Global pooling: "sum" is (50); "mean" is the same program over the patches X_k / K.
    tol : float
        Stop when (upper − lower) ≤ tol·upper, lower from the oracle (certified for h ≤ 3).
    max_iters : int
    n_cuts : int
        Filters (cuts) added per round: the best distinct oracle candidates.
    time_limit : float, optional
        Seconds; checked once per round (a round is one oracle call and one master solve).
        For h ≥ 4 a global round's certified bound may use all the time left; a final
        certificate, when one is needed, gets at least 10 % of it
        (:meth:`~cvxrelu.drivers.engine.Run.finish`), so a run may exceed it by one oracle
        call.
    warm_start : ConvReLUNetwork, SolveResult or torch.nn.Sequential, optional
        Its filters' directions are the initial columns of the master. With the same
        architecture (kernel, stride, padding, pooling) the result is never worse than it.
    progress : bool
        tqdm bar with the bounds; when False each iteration is logged at DEBUG level on the
        ``"cvxrelu"`` logger.
    seed : None or int
        Randomness of the heuristic oracle (h ≥ 4).
    oracle : {"auto", "exact", "heuristic"}
        :class:`~cvxrelu.geometry.oracle.DualOracle` method on the stacked patch matrix.
    local_search : bool
        Partial pricing: each round first runs a cheap local ascent of
        ‖Σ_k Zᵀ(X_k u)_+‖ (pattern jumps, then projected gradient steps) from the current
        filters, the last oracle candidates and the best 16 of 128 random directions;
        filters it finds violated by more than max(10·tol, 1e-9) relative are added without
        calling the (global, more expensive) oracle. Bounds and the stopping rule always come
        from the oracle, which is called whenever the local search finds no such filter.
        For h ≥ 4 it also finds violated filters that the heuristic oracle misses (its
        pattern jumps stop at cell interiors). ``False``: the oracle every round.

    Returns
    -------
    SolveResult
        ``network`` is a :class:`~cvxrelu.ConvReLUNetwork` (balanced) and ``upper`` its
        objective (6) on ``images``. ``lower`` is always certified (``certified`` is True,
        ``exact_oracle`` is True: every ``history[k].lower`` is certified): the best
        ``scaled_dual_bound(Z, Y, β, ω̄)`` over the global rounds and the final certificate
        (:meth:`~cvxrelu.drivers.engine.Run.finish`: one ``DualOracle.bound`` at
        the best network's residual, skipped when the last global round was there), with
        ω̄ ≥ ω(Z) certified (exact for h ≤ 3; for h ≥ 4 ``DualOracle.bound(S Z).upper``, as
        tight as that bound is). ``status`` is a :class:`~cvxrelu.drivers.result.Status`, as
        for :func:`~cvxrelu.cutting_plane`: "optimal" when that certified relative gap is
        ≤ tol; "gap" when the oracle found no violated filter (or the heuristic gap closed)
        but the certified gap is larger (h ≥ 4); else "max_iters", "time_limit" or
        "stalled" (``message`` says why). ``info`` holds ``beta_max`` (the oracle value ω(Y)
        when the oracle was called at Z = Y, else NaN; see :func:`conv_beta_max`),
        ``oracle_exact``, ``rank``, ``oracle_bound`` (the
        :class:`~cvxrelu.geometry.oracle.OracleBound` of the final certificate) and its alias
        ``omega_bound``, ``heuristic_lower`` (h ≥ 4, as for :func:`~cvxrelu.cutting_plane`:
        the best heuristic value, −inf when none; NOT a bound), ``heuristic_rel_gap`` (its
        relative gap to ``upper``, None when it is not finite), ``heuristic_history`` (the
        global rounds' heuristic values), ``certified_refinements`` (h ≥ 4, always 0: the
        rounds are certified), ``oracle_calls``, ``local_rounds``, ``n_columns``,
        ``n_patches``, ``patch_size``, ``n_distinct_patches`` and the seconds
        ``oracle_time`` (with the final certificate), ``local_time``, ``master_time``.

    Examples
    --------
    >>> import numpy as np
    >>> import cvxrelu as cr
    >>> from cvxrelu.drivers.conv_cutting_plane import conv_cutting_plane
    >>> rng = np.random.default_rng(0)
    >>> images = rng.standard_normal((6, 1, 3, 3))
    >>> Y = rng.standard_normal((6, 2))
    >>> res = conv_cutting_plane(images, Y, 0.1, kernel_size=(1, 3), progress=False)
    >>> str(res.status), res.certified                 # h = 3: exact oracle
    ('optimal', True)
    >>> abs(res.network.objective(images, Y, 0.1) - res.upper) <= 1e-9 * res.upper
    True
    """
    t0 = time.perf_counter()
    imgs, Y, beta, Pk = _prepare(images, Y, beta, kernel_size, stride, padding, pooling)
    opt = driver_options(tol=tol, max_iters=max_iters, n_cuts=n_cuts, time_limit=time_limit,
                         oracle=oracle)
    tol, max_iters, n_cuts, time_limit, oracle = (opt.tol, opt.max_iters, opt.n_cuts,
                                                  opt.time_limit, opt.oracle)
    C = imgs.shape[1]
    kernel = as_pair(kernel_size, "kernel_size")
    arch = dict(C=C, kernel=kernel, stride=stride, padding=padding, pooling=pooling)
    warm = None if warm_start is None else _warm_filters(warm_start, C, kernel)
    with _single_thread():
        return _solve(imgs, Y, beta, Pk, arch, tol, max_iters, n_cuts, time_limit, warm,
                      progress, seed, oracle, bool(local_search), t0)


def _solve(imgs, Y, beta, Pk, arch, tol, max_iters, n_cuts, time_limit, warm, progress,
           seed, oracle, local_search, t0):
    """Column generation for (50) on the shared :class:`~.engine.Run` state.

    Not :func:`~.engine.column_generation`: a round prices first by the local search
    (:func:`_local_search`: cuts without any bound) and asks the oracle only when that finds
    no violated filter (a *global round*); for h ≥ 4 every global round is the certified
    search ``DualOracle.bound`` itself (certified lower bound, its direction and violated
    candidates as cuts), so no heuristic-to-certified refinement is needed. The bounds,
    history, stopping rule (:meth:`Run.done`) and the final certificate (:meth:`Run.finish`
    → :func:`~cvxrelu.drivers.result.conclude`) are the engine's.
    """
    data = _PatchData(Pk)
    cols = Columns(PatchFeatures(data), Y, beta, keep_features=True)
    desc = "conv_cutting_plane"
    info = {"n_patches": data.n_patches, "patch_size": data.h,
            "n_distinct_patches": data.rows.shape[0]}
    if data.rows.shape[0] == 0:
        return _zero_data_result(Y, beta, arch, desc, info, t0)
    try:
        orc = PatchOracle(data, method=oracle, seed=seed)
    except UnsupportedError:
        raise UnsupportedError(
            f"oracle='exact' needs patches of rank <= 3 (h = C·kh·kw <= 3); these patches have "
            f"rank {numerical_rank(data.rows)} (h = {data.h}). Use oracle='auto': the "
            "lower bound then comes from DualOracle.bound and stays certified.") from None
    run = Run(orc, Y, beta, tol=tol, max_iters=max_iters, time_limit=time_limit,
              progress=progress, desc=desc)
    # the rounds may use the whole time limit (their bounds are certified already); the
    # final certificate is skipped when the last global round was at the best network
    run.budget = Budget(time_limit, 0.0, t0)
    run.history_certified = True     # every record's lower bound is certified (ω̄ per round)
    bounds = run.bounds
    bounds.offer_lower(0.0, certified=True)    # Z = 0 is dual feasible
    info.update(oracle_exact=orc.exact, oracle_calls=0, local_rounds=0)
    rng = np.random.default_rng(seed)

    def network():   # the master's network, balanced (Remark 5.1; zero columns dropped)
        return _network(cols.U, cols.V, **arch).balanced()

    if warm is not None and cols.add(warm):
        cols.solve(accurate=True)
    Z = cols.residual()
    heur = []                           # h ≥ 4: heuristic values of the global rounds
    retried, force_global = False, False
    last_dirs = np.zeros((data.h, 0))
    clock = {"oracle": 0.0, "local": 0.0, "master": 0.0}
    # a local cut is used instead of a global oracle call only when it is violated by more
    # than this relative amount (smaller violations cannot move the gap much beyond tol)
    local_margin = max(10.0 * tol, 1e-9)
    while True:
        bounds.offer_network(cols.upper(Z), network, Z, False)
        cuts, omega = None, float("nan")
        if local_search and not force_global:
            tl = time.perf_counter()
            cuts = _local_cuts(data, Z, np.hstack([cols.U, last_dirs]), rng, beta,
                               local_margin, n_cuts)
            info["local_rounds"] += int(cuts is not None)
            clock["local"] += time.perf_counter() - tl
        force_global = False
        global_round = cuts is None
        if global_round:
            to = time.perf_counter()
            ob, values, last_dirs = _global_pricing(orc, Z, cols, n_cuts, run.budget)
            clock["oracle"] += time.perf_counter() - to
            info["oracle_calls"] += 1
            omega = float(values[0])
            if cols.K == 0:
                info.setdefault("beta_max", omega)   # ω(Y): the zero network's residual
            run.last_bound = (Z, ob)      # Run.finish reuses it when Z is the best network's
            bounds.offer_lower(scaled_dual_bound(Z, Y, beta, ob.upper)[0], certified=True)
            violated = values > beta * (1 + 1e-12)
            cuts = last_dirs[:, violated]
            if not orc.exact:
                # every violated candidate of the certified search is a cut too
                cuts = np.hstack([cuts, certified_cuts(ob, np.eye(data.h), beta)])
                # the heuristic end ω_lo ≤ ω(Z): its dual value is no bound, only a stop test
                hl = scaled_dual_bound(Z, Y, beta, omega)[0]
                heur.append(hl)
                bounds.offer_lower(hl, certified=False)
        run.record(cols.K, omega)
        if run.done():
            break
        if global_round and not orc.exact and not np.any(violated):
            # the certified search finds no violated filter: the iterations are done;
            # Run.finish decides "optimal" or "gap" by the certified gap
            run.status = Status.OPTIMAL
            break
        tm = time.perf_counter()
        added = cols.add(cuts) if cuts.shape[1] else 0
        if added == 0:
            if global_round:            # the oracle points at existing columns
                if retried:
                    run.status = Status.STALLED
                    break
                # the master is not accurate enough: re-solve it accurately
                retried = True
                cols.solve(accurate=True)
                Z = cols.residual()
            force_global = True         # local cuts already present: ask the oracle
            clock["master"] += time.perf_counter() - tm
            continue
        retried = False
        cols.solve(target=min(1e-3, max(1e-9, 1e-2 * bounds.rel_gap())))
        Z = cols.residual()
        cols.screen(cols.cut_values(Z))
        clock["master"] += time.perf_counter() - tm
    info.update(n_columns=cols.K)
    tf = time.perf_counter()
    # a violated filter found by the final certificate means the run was cut short (its
    # rounds' oracle is the certified search itself): the status stays max_iters /
    # time_limit, never oracle_failed
    res = run.finish(imgs, oracle_time_limit=None, oracle_budget=None,
                     warm=cols.U if cols.K else None, info=info, exhausted=False)
    clock["oracle"] += time.perf_counter() - tf
    res.info.update(omega_bound=res.info["oracle_bound"],
                    **{f"{k}_time": v for k, v in clock.items()})
    res.info.setdefault("beta_max", float("nan"))
    if not orc.exact:
        h = res.info["heuristic_lower"]
        res.info.update(heuristic_rel_gap=(res.upper - h) / max(abs(res.upper), 1e-300)
                        if np.isfinite(h) else None, heuristic_history=heur)
    return res


def _local_cuts(data, Z, U_keep, rng, beta, margin, n_cuts):
    """Partial pricing: up to ``n_cuts`` distinct filters that the local search finds violated
    by more than ``margin`` (relative), or None."""
    Zc = data.aggregate(Z)
    lv, lU = _local_search(data.rows, Zc, _starts(data.rows, Zc, U_keep, rng))
    viol = lv > beta * (1 + margin)
    if not np.any(viol):
        return None
    lv, lU = lv[viol], lU[:, viol]
    return lU[:, distinct_top(lv, lU, n_cuts, tol=1e-9)]


def _global_pricing(orc, Z, cols, n_cuts, budget):
    """A global round: the dual oracle on the stacked patch matrix, (11) for (50).

    Returns (certified bracket ω_lo ≤ ω(Z) ≤ ω̄, values, directions (h, k)): for h ≤ 3 the
    exact oracle's ``n_cuts`` best filters (ω̄ = ω); for h ≥ 4 one ``DualOracle.bound`` call
    (anytime, all the time left or 60 s): its attained end ω_lo and its direction."""
    warm = cols.U if cols.K else None
    if orc.exact:
        res = orc(Z, n_cuts, warm=warm)
        omega = float(res.value)
        up = orc.value_bound(Z, omega)   # + the rank reduction's slack (0 at exact rank)
        return (OracleBound(omega, up, res.direction, True, 1, "exact"), res.values,
                res.directions)
    left = budget.left()
    ob = orc.bound(Z, time_limit=_ORACLE_SECONDS if left is None else max(1e-3, left),
                   warm=warm)
    return ob, np.array([float(ob.lower)]), np.asarray(ob.direction, dtype=float)[:, None]


def _zero_data_result(Y, beta, arch, desc, info, t0) -> SolveResult:
    """Every patch is zero: every CNN outputs 0 and p* = ½‖Y‖², attained by the zero network
    (Z = Y is dual feasible for every β since ω ≡ 0)."""
    h = arch["C"] * arch["kernel"][0] * arch["kernel"][1]
    net = _network(np.zeros((h, 0)), np.zeros((0, Y.shape[1])), **arch)
    p = 0.5 * float(np.sum(Y * Y))
    t = time.perf_counter() - t0
    return SolveResult(network=net, upper=p, lower=p, status=Status.OPTIMAL, exact_oracle=True,
                       history=[IterationRecord(1, p, p, t, 0, 0.0)], method=desc, beta=beta,
                       time=t, info={**info, "beta_max": 0.0, "oracle_exact": True})
