"""Regularization paths: the training problem (5)/(76) solved for many β.

Two engines. The default, ``method="cutting_plane"``, runs the column-generation driver
(App. A.5, :func:`cvxrelu.cutting_plane`) from β_max down a geometric grid, glmnet style: β_max
is the smallest β at which the zero network is optimal (:func:`beta_max`, one oracle call),
and every β starts from the network of the previous (larger) β, whose neurons seed the master.
Each point carries the driver's certificate (upper bound = the network's objective, a lower
bound when the oracle certifies it). ``method="bidual"``/``"copositive"`` solve the CVXPY
programs (12)/(17), described next.

Every builder of cvxrelu stores β in a ``cp.Parameter`` and its programs are DPP
(β multiplies a convex penalty), so CVXPY compiles the problem once and afterwards only
re-applies the parameter (``Problem._cache``); a path over β therefore pays the builder
(sign patterns, cell rays, the stacked operator) and the canonicalization once. Solvers that
support it are warm-started from the previous β (SCS: ``warm_start=True``; Clarabel has no
warm start).

``n_jobs > 1`` splits the β grid into contiguous chunks; each chunk is solved by one joblib
worker that builds its problem once. The worker backend is joblib's, so a Dask or Ray cluster
is used with ``with joblib.parallel_backend("dask"): regularization_path(..., n_jobs=-1)``
(after ``from dask.distributed import Client; Client(...)``) or
``ray.util.joblib.register_ray(); with joblib.parallel_backend("ray"): ...``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._validate import as_beta, as_data, check_choice
from ..geometry.arrangements import Arrangement
from ..programs.bidual import bidual, prepare_targets, resolve_patterns
from ..errors import InvalidInputError, SolverError, UnsupportedError
from ..losses import SquaredLoss, get_loss

__all__ = ["PathResult", "regularization_path", "beta_max"]

_METHODS = ("cutting_plane", "bidual", "copositive")
#: branch-and-bound nodes the certified end of β_max may use: a node budget, not a time
#: limit, so that the attained end (which ``alpha`` scales) does not depend on the machine's
#: load and a seeded fit is reproducible (0.3 s on digits, rank 65)
_BETA_MAX_NODES = 16
#: seconds: only a safety net; the node budget binds first on real data
_BETA_MAX_TIME = 30.0


@dataclass
class PathResult:
    """Per-β results of :func:`regularization_path` (arrays in the order of ``betas``).

    Attributes
    ----------
    betas : ndarray (k,)
    values : ndarray (k,)
        Optimal values of the convex program (NaN where the solve failed).
    upper : ndarray (k,)
        Training objective (5) of the recovered network: an upper bound on p* (NaN if no
        network was recovered).
    gaps : ndarray (k,)
        ``upper − values``. For ``bound == "exact"`` this is a certificate: ≈ 0 (solver
        accuracy) means the network is globally optimal. With sampled patterns (bound
        "upper") it can be negative: the refit over the recovered neurons may beat the
        restricted program.
    bounds : list of str
        What each value is relative to p* ("exact", "lower", "upper", "unknown").
    n_neurons : ndarray of int (k,)
        Hidden neurons of each recovered network (−1 where none was recovered).
    solve_times : ndarray (k,)
        Seconds per solve (compilation included for the first β of each worker).
    recover_times : ndarray (k,)
        Seconds spent recovering (and refitting) each network.
    statuses : list of str
        CVXPY status per β ("failed: ..." for a solve that raised with ``on_error="nan"``).
    n_compilations : int
        Times CVXPY canonicalized a problem, summed over workers (1 per worker when the
        parameter re-use works).
    n_workers : int
        Number of chunks (each built its problem once).
    build_time : float
        Seconds spent in the builder, summed over workers.
    total_time : float
        Wall-clock seconds of the whole call.
    networks : list
        The recovered ReLUNetworks (``keep_networks=True``), else empty.

    Driver paths (``method="cutting_plane"``) fill these too (None/NaN for the CVXPY
    engines); there ``values`` = ``upper`` (the network's objective), ``bounds`` is "exact"
    where the certified relative gap is ≤ tol and "upper" elsewhere, and ``gaps`` =
    ``upper − lower`` where the lower bound is certified (NaN elsewhere).

    lower : ndarray (k,)
        Certified lower bound on p* per β (−inf where the oracle did not certify one).
    certified : ndarray of bool (k,)
        Whether ``lower`` is certified.
    alphas : ndarray (k,)
        ``betas / beta_max``.
    beta_max, beta_max_upper : float
        Attained and certified ends of β_max (:func:`beta_max`).
    iterations : ndarray of int (k,)
        Driver rounds per β.
    losses : ndarray (k,)
        Data-fitting term ℓ(f(X), Y) of each network.
    path_norms : ndarray (k,)
        Σ_j ‖u_j‖‖v_j‖ of each network (= its weight decay ½(‖W1‖² + ‖W2‖²): the driver's
        networks are balanced); the penalty of (5) is β times it.
    results : list of SolveResult
        The driver's results (``keep_networks=True``), else empty.
    """

    betas: np.ndarray
    values: np.ndarray
    upper: np.ndarray
    gaps: np.ndarray
    bounds: list
    n_neurons: np.ndarray
    solve_times: np.ndarray
    recover_times: np.ndarray
    statuses: list
    n_compilations: int
    n_workers: int
    build_time: float
    total_time: float
    method: str = "bidual"
    form: str = "auto"
    solver: str | None = None
    networks: list = field(default_factory=list, repr=False)
    lower: np.ndarray | None = None
    certified: np.ndarray | None = None
    alphas: np.ndarray | None = None
    beta_max: float = float("nan")
    beta_max_upper: float = float("nan")
    iterations: np.ndarray | None = None
    losses: np.ndarray | None = None
    path_norms: np.ndarray | None = None
    results: list = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.betas)

    def to_records(self) -> list:
        """One dict per β (JSON-friendly), e.g. for ``pandas.DataFrame(result.to_records())``."""
        return [
            {"beta": float(b), "value": float(v), "upper": float(u), "gap": float(g),
             "bound": bd, "n_neurons": int(m), "solve_time": float(t), "status": s}
            for b, v, u, g, bd, m, t, s in zip(self.betas, self.values, self.upper, self.gaps,
                                                self.bounds, self.n_neurons, self.solve_times,
                                                self.statuses)
        ]


def _compiled(problem, before) -> bool:
    """Whether the last solve canonicalized the problem: CVXPY keeps the parametrized
    program in ``problem._cache.param_prog`` and replaces it only when it compiles."""
    after = getattr(getattr(problem, "_cache", None), "param_prog", None)
    return before is None or after is not before


def _build(method, X, Y, beta, arrangement, form, loss):
    if method == "bidual":
        return bidual(X, Y, beta, patterns=arrangement, form=form, loss=loss)
    from ..programs.copositive import copositive

    return copositive(X, Y, beta, patterns=arrangement, form=form, loss=loss)


def _solve_chunk(method, X, Y, betas, arrangement, form, loss, solver, solver_opts,
                 warm_start, recover, refit, keep_networks, on_error):
    """Build once, then solve every β of the chunk in order (runs inside a worker)."""
    t0 = time.perf_counter()
    f = _build(method, X, Y, betas[0], arrangement, form, loss)
    build_time = time.perf_counter() - t0
    opts = dict(solver_opts or {})
    if warm_start and solver is not None and str(solver).upper() == "SCS":
        opts.setdefault("warm_start", True)
    out = {"values": [], "upper": [], "n_neurons": [], "solve_times": [], "recover_times": [],
           "statuses": [], "networks": [], "bound": f.bound, "form": f.form,
           "n_compilations": 0, "build_time": build_time}
    for b in betas:
        f.beta.value = float(b)
        solved = f.solve_problem_for(solver)          # the problem solve() compiles
        before = getattr(getattr(solved, "_cache", None), "param_prog", None)
        t = time.perf_counter()
        try:
            # verification recovers a network; with recover=False the values are unverified
            value = f.solve(solver=solver, verify=recover, **opts)
            status = f.status                    # of the problem solve() ran
        except SolverError as exc:
            if on_error == "raise":
                raise
            value, status = np.nan, f"failed: {exc}"
        out["solve_times"].append(time.perf_counter() - t)
        out["n_compilations"] += int(_compiled(solved, before))
        out["values"].append(value)
        out["statuses"].append(status)
        upper, m, net = np.nan, -1, None
        t = time.perf_counter()
        if recover and np.isfinite(value):
            try:
                net = f.network(refit=refit, solver=solver)
                upper = net.objective(f.X, f.Y, float(b), loss=loss)
                m = net.n_neurons
            except SolverError:
                if on_error == "raise":
                    raise
        out["recover_times"].append(time.perf_counter() - t)
        out["upper"].append(upper)
        out["n_neurons"].append(m)
        out["networks"].append(net if keep_networks else None)
    return out


# ------------------------------------------------------------------ the driver engine
def _loss_gradient(loss, F: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """∇ℓ(F) of a loss of :mod:`cvxrelu.losses` (summed over samples)."""
    return np.asarray(get_loss(loss).gradient(F, Y), dtype=float)


def beta_max(X, Y, loss="squared", seed=None, time_limit: float = _BETA_MAX_TIME):
    """β_max = ω(Z₀), Z₀ = −∇ℓ(0): the smallest β at which the zero network is optimal.

    By the optimality condition of the group lasso (25) over all neurons at V = 0, the zero
    network is optimal for (5)/(76) iff ‖Z₀ᵀ(Xu)_+‖₂ ≤ β for every ‖u‖₂ ≤ 1, i.e. iff
    β ≥ ω(Z₀), the dual oracle of (11) at Z₀ (squared loss: Z₀ = Y). It is glmnet's λ_max
    for this problem; one oracle call.

    Parameters
    ----------
    X : array-like (n, d)
        Data as the network sees it (with the constant column when an intercept is fitted).
    Y : array-like (n, c)
        Prepared targets (e.g. centred ones for the squared loss with an output intercept).
    loss : str, callable or cvxrelu.losses.Loss
    seed : None or int
        Randomness of the heuristic oracle (rank ≥ 4).
    time_limit : float
        Safety limit (seconds) on :meth:`~cvxrelu.geometry.oracle.DualOracle.bound`. The
        search stops after 16 branch-and-bound nodes, which bind first on real data (0.3 s on
        digits); a node budget rather than a time limit keeps ``lower`` (what ``alpha``
        scales) independent of the machine's load, so seeded fits are reproducible.

    Returns
    -------
    (lower, upper) : tuple of float
        ``lower`` is attained (a direction u with ‖Z₀ᵀ(Xu)_+‖ = lower exists), so for every
        β < lower the zero network is provably NOT optimal; ``upper`` ≥ β_max is certified
        (:meth:`DualOracle.bound`), so for β ≥ upper the zero network is provably optimal.
        For rank(X) ≤ 3 both are the exact β_max. ``alpha`` scales are relative to ``lower``
        (the attained end: close to β_max and stable; for rank ≥ 4 the certified end may be
        the loose spectral bound ‖Z₀‖₂‖X‖₂). (0, 0) when Z₀ = 0 (the zero network is
        optimal for every β).
    """
    from ..geometry.oracle import DualOracle

    X = as_data(X)
    Y = np.asarray(Y, dtype=float)
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    Z0 = -_loss_gradient(loss, np.zeros_like(Y), Y)
    if not np.any(Z0):
        return 0.0, 0.0
    # the attained end is what alpha scales; the certified end gets a small budget
    b = DualOracle(X, seed=seed).bound(Z0, time_limit=time_limit, node_budget=_BETA_MAX_NODES)
    return float(b.lower), float(b.upper)


def _fit_driver(X, Y, beta, loss="squared", warm_start=None, *, tol=1e-4, max_iters=200,
                time_limit=None, n_cuts=None, seed=None, oracle_time_limit=None,
                oracle_budget=None):
    """One call of the column-generation driver for ``loss``; returns its SolveResult.

    The single switch point between :func:`cvxrelu.cutting_plane` (squared loss) and the
    general-loss driver ``cvxrelu.drivers.loss_driver.loss_cutting_plane``; used by the
    estimators and by the driver path. ``warm_start`` (a ReLUNetwork) seeds the master with
    its neurons, so the result is never worse than it; ``oracle_time_limit`` caps the final
    certificate's oracle and ``oracle_budget`` its nodes.
    """
    loss = get_loss(loss)
    if isinstance(loss, SquaredLoss):
        from ..drivers.cutting_plane import cutting_plane as driver
        kw = {}
    else:
        try:
            from ..drivers.loss_driver import loss_cutting_plane as driver
        except ImportError:
            raise UnsupportedError(
                f"loss={loss.name!r} needs the general-loss driver "
                "(cvxrelu.drivers.loss_driver), which this installation lacks; use "
                "loss='squared'."
            ) from None
        kw = {"loss": loss}
    kw.update(tol=tol, max_iters=max_iters, time_limit=time_limit, progress=False, seed=seed)
    if n_cuts is not None:
        kw["n_cuts"] = n_cuts
    kw.update(warm_start=warm_start, oracle_time_limit=oracle_time_limit,
              oracle_budget=oracle_budget)  # both drivers take all three (None: default)
    return driver(X, Y, beta, **kw)


def _driver_chunk(X, Y, betas, loss, warm_start, tol, max_iters, time_limit, n_cuts, seed,
                  keep, oracle_time_limit=None):
    """Solve the β of a chunk in order (largest first), each warm-started from the last."""
    out = {k: [] for k in ("upper", "lower", "certified", "status", "iterations", "time",
                           "n_neurons", "loss", "path_norm", "rel_gap", "results")}
    prev = None
    for b in betas:
        res = _fit_driver(X, Y, float(b), loss, prev if warm_start else None, tol=tol,
                          max_iters=max_iters, time_limit=time_limit, n_cuts=n_cuts, seed=seed,
                          oracle_time_limit=oracle_time_limit)
        net = res.network
        prev = net if net.n_neurons > 0 else None
        cert = bool(res.certified)
        lower = float(res.lower) if cert else -np.inf
        out["upper"].append(float(res.upper))
        out["lower"].append(lower)
        out["certified"].append(cert)
        out["status"].append(str(getattr(res.status, "value", res.status)))
        out["iterations"].append(res.iterations)
        out["time"].append(res.time)
        out["n_neurons"].append(net.n_neurons)
        out["loss"].append(net.loss(X, Y, loss))
        out["path_norm"].append(net.path_norm())
        out["rel_gap"].append((res.upper - lower) / max(abs(res.upper), 1e-300))
        out["results"].append(res if keep else None)
    return out


def _driver_path(X, Y, betas, alphas, n_alphas, alpha_min, loss, n_jobs, warm_start, tol,
                 max_iters, time_limit, n_cuts, seed, keep_networks, t_start,
                 oracle_time_limit=None):
    Y = prepare_targets(Y, X.shape[0], loss)
    bmax, bmax_up = beta_max(X, Y, loss, seed=seed)
    if betas is None:
        if alphas is None:
            if isinstance(n_alphas, bool) or not isinstance(n_alphas, (int, np.integer)) \
                    or n_alphas < 1:
                raise InvalidInputError(f"n_alphas must be a positive integer; got {n_alphas!r}.")
            as_beta(alpha_min, "alpha_min")
            alphas = np.geomspace(1.0, alpha_min, int(n_alphas))
        alphas = _check_betas(alphas, "alphas")
        betas = alphas * (bmax if bmax > 0 else 1.0)
    else:
        betas = _check_betas(betas)
    order = np.argsort(-betas, kind="stable")       # from β_max down (glmnet)
    args = (loss, warm_start, tol, max_iters, time_limit, n_cuts, seed, keep_networks,
            oracle_time_limit)
    if n_jobs == 1 or len(betas) == 1:
        chunks = [order]
        outs = [_driver_chunk(X, Y, betas[order], *args)]
    else:
        import joblib

        workers = joblib.effective_n_jobs(n_jobs)
        chunks = [c for c in np.array_split(order, min(workers, len(betas))) if c.size]
        outs = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(_driver_chunk)(X, Y, betas[c], *args) for c in chunks)
    idx = np.concatenate(chunks)
    inv = np.empty_like(idx)
    inv[idx] = np.arange(idx.size)

    def gather(key, dtype=float):
        return np.concatenate([np.asarray(o[key], dtype=dtype) for o in outs])[inv]

    def gather_list(key):
        flat = [v for o in outs for v in o[key]]
        return [flat[i] for i in inv]

    upper, lower = gather("upper"), gather("lower")
    certified = gather("certified", bool)
    rel_gap = gather("rel_gap")
    results = gather_list("results") if keep_networks else []
    return PathResult(
        betas=betas, values=upper.copy(), upper=upper,
        gaps=np.where(certified, upper - lower, np.nan),
        bounds=["exact" if c and g <= tol else "upper" for c, g in zip(certified, rel_gap)],
        n_neurons=gather("n_neurons", int), solve_times=gather("time"),
        recover_times=np.zeros(len(betas)), statuses=gather_list("status"), n_compilations=0,
        n_workers=len(chunks), build_time=0.0, total_time=time.perf_counter() - t_start,
        method="cutting_plane", form="", solver=None,
        networks=[r.network for r in results] if keep_networks else [],
        lower=lower, certified=certified,
        alphas=betas / bmax if bmax > 0 else np.full(len(betas), np.nan), beta_max=bmax,
        beta_max_upper=bmax_up, iterations=gather("iterations", int), losses=gather("loss"),
        path_norms=gather("path_norm"), results=results)


def _check_betas(betas, name="betas") -> np.ndarray:
    try:
        arr = np.asarray(betas, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a sequence of positive numbers; got "
                                f"{betas!r}.") from None
    if arr.size == 0:
        raise InvalidInputError(f"{name} is empty; pass at least one value, e.g. "
                                "np.logspace(-3, 0, 20).")
    for b in arr:
        as_beta(b, name)
    return arr


def _check_n_jobs(n_jobs) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 \
            or n_jobs < -1:
        raise InvalidInputError(
            f"n_jobs must be a positive integer or -1 (all cores); got {n_jobs!r}."
        )
    return int(n_jobs)


def regularization_path(X, Y, betas=None, method: str = "cutting_plane", form: str = "auto",
                        patterns=None, loss="squared", n_jobs: int = 1, solver=None,
                        solver_opts=None, warm_start: bool = True, recover: bool = True,
                        refit: bool = True, keep_networks: bool = False,
                        on_error: str = "raise", *, alphas=None, n_alphas: int = 10,
                        alpha_min: float = 1e-3, tol: float = 1e-4, max_iters: int = 200,
                        time_limit=None, n_cuts=None, seed=None,
                        oracle_time_limit=None) -> PathResult:
    """Solve the training problem for every β of a grid (warm-started / one compiled problem).

    Parameters
    ----------
    X : array-like (n, d)
    Y : array-like (n,) or (n, c)
    betas : sequence of float > 0, optional
        Absolute weight decays. The driver engine solves them from the largest down (each
        warm-started from the previous network) and returns them in the given order; the
        CVXPY engines solve them in the given order. Default (driver engine only): the grid
        ``alphas · β_max``.
    method : {"cutting_plane", "bidual", "copositive"}
        ``"cutting_plane"`` (default): the column-generation driver (App. A.5) for each β,
        glmnet-style from β_max down, no CVXPY; each point has the driver's certificate.
        ``"bidual"``/``"copositive"``: the CVXPY programs :func:`cvxrelu.bidual` (12) or
        :func:`cvxrelu.copositive` (17), built and compiled once (the parameters ``form``,
        ``patterns``, ``solver``, ``solver_opts``, ``recover``, ``refit``, ``on_error``
        apply to these engines only).
    alphas : sequence of float > 0, optional
        Driver engine: the grid as fractions of β_max (:func:`beta_max`); ignored when
        ``betas`` is given. Default ``np.geomspace(1, alpha_min, n_alphas)``.
    n_alphas, alpha_min :
        The default grid: ``n_alphas`` points from 1 down to ``alpha_min`` (geometric).
    tol, max_iters, time_limit, n_cuts, seed, oracle_time_limit :
        Driver engine: settings of each driver call (relative gap, rounds, seconds per β,
        cuts per round, randomness of the heuristic oracle for rank ≥ 4, seconds for the
        final certificate's oracle).
    form : str
        Passed to the builder (e.g. "auto", "rays", "inner").
    patterns : None, Arrangement or bool array (n, P)
        Sign patterns, computed ONCE here (None: :func:`cvxrelu.sign_patterns` with
        ``method="auto"``) and shared by every worker, so all β use the same program.
    loss : str, callable or cvxrelu.losses.Loss
        "squared" or a loss of :mod:`cvxrelu.losses` (not for method="copositive"), by name
        or as an instance; resolved once by ``get_loss``.
    n_jobs : int
        Number of contiguous β chunks solved in parallel by joblib workers (−1: one per
        core); each worker builds and compiles its problem once. The joblib backend in
        effect is used (``with joblib.parallel_backend("dask"): ...`` for a cluster).
    solver : str, optional
        Conic solver (default Clarabel).
    solver_opts : dict, optional
        Extra solver keyword arguments.
    warm_start : bool
        Driver engine: start each β from the previous β's network (its neurons seed the
        master). CVXPY engines: warm-start the solver where it supports it (SCS).
    recover, refit : bool
        Recover a network after each solve (``refit`` re-optimizes its second layer) to get
        the upper bound and the gap. ``recover=False`` also skips the verification of
        "exact" values against a real network (see :meth:`Formulation.solve`).
    keep_networks : bool
        Keep the recovered networks in ``result.networks`` (driver engine: also the
        SolveResults in ``result.results``).
    on_error : {"raise", "nan"}
        What a failed solve does: raise the SolverError, or record NaN and go on.

    Returns
    -------
    PathResult

    Examples
    --------
    >>> import numpy as np, cvxrelu as cr
    >>> from cvxrelu.integrations.path import regularization_path
    >>> X, Y = cr.datasets.figure1()
    >>> res = regularization_path(X, Y, alphas=[1.0, 0.1, 0.01])   # driver, from β_max down
    >>> bool(res.n_neurons[0] == 0 and res.n_neurons[-1] > 0)
    True
    >>> res = regularization_path(X, Y, np.logspace(-2, 0, 5), method="bidual")
    >>> res.n_compilations
    1
    """
    t_start = time.perf_counter()
    X = as_data(X)
    loss = get_loss(loss)                              # resolved once (a Loss from here on)
    check_choice(method, _METHODS, "method")
    check_choice(on_error, ("raise", "nan"), "on_error")
    n_jobs = _check_n_jobs(n_jobs)
    if method == "cutting_plane":
        return _driver_path(X, Y, betas, alphas, n_alphas, alpha_min, loss, n_jobs,
                            warm_start, tol, max_iters, time_limit, n_cuts, seed,
                            keep_networks, t_start, oracle_time_limit)
    if betas is None:
        raise InvalidInputError(f"method={method!r} needs betas (a sequence of weight "
                                "decays); alphas are for method='cutting_plane'.")
    betas = _check_betas(betas)
    if solver_opts is not None and not isinstance(solver_opts, dict):
        raise InvalidInputError(
            f"solver_opts must be None or a dict; got {type(solver_opts).__name__}."
        )
    if method == "copositive" and not isinstance(loss, SquaredLoss):
        raise InvalidInputError("method='copositive' supports only loss='squared'; use "
                                "method='bidual' for other losses.")
    Y = prepare_targets(Y, X.shape[0], loss)
    arrangement = patterns if isinstance(patterns, Arrangement) else resolve_patterns(X, patterns)
    args = (arrangement, form, loss, solver, solver_opts, warm_start, recover, refit,
            keep_networks, on_error)

    if n_jobs == 1 or len(betas) == 1:
        chunks = [np.arange(len(betas))]
        outs = [_solve_chunk(method, X, Y, betas, *args)]
    else:
        import joblib

        workers = joblib.effective_n_jobs(n_jobs)
        chunks = [c for c in np.array_split(np.arange(len(betas)), min(workers, len(betas)))
                  if c.size]
        outs = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(_solve_chunk)(method, X, Y, betas[c], *args) for c in chunks)

    def gather(key, dtype=float):
        return np.concatenate([np.asarray(o[key], dtype=dtype) for o in outs])

    values, upper = gather("values"), gather("upper")
    bounds = [o["bound"] for o, c in zip(outs, chunks) for _ in c]
    networks = [n for o in outs for n in o["networks"]] if keep_networks else []
    return PathResult(
        betas=betas, values=values, upper=upper, gaps=upper - values, bounds=bounds,
        n_neurons=gather("n_neurons", int), solve_times=gather("solve_times"),
        recover_times=gather("recover_times"),
        statuses=[s for o in outs for s in o["statuses"]],
        n_compilations=int(sum(o["n_compilations"] for o in outs)), n_workers=len(chunks),
        build_time=float(sum(o["build_time"] for o in outs)),
        total_time=time.perf_counter() - t_start, method=method, form=outs[0]["form"],
        solver=solver, networks=networks)
