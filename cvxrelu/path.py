"""Regularization paths: the convex program solved for many β with ONE compiled problem.

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

from ._validate import as_beta, as_data, check_choice
from .arrangements import Arrangement
from .builders.bidual import bidual, prepare_targets, resolve_patterns
from .errors import InvalidInputError, SolverError

__all__ = ["PathResult", "regularization_path"]

_METHODS = ("bidual", "copositive")


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
    from .builders.copositive import copositive

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


def _check_betas(betas) -> np.ndarray:
    try:
        arr = np.asarray(betas, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InvalidInputError(f"betas must be a sequence of positive numbers; got {betas!r}.") \
            from None
    if arr.size == 0:
        raise InvalidInputError("betas is empty; pass at least one weight decay, e.g. "
                                "np.logspace(-3, 0, 20).")
    for b in arr:
        as_beta(b, "betas")
    return arr


def _check_n_jobs(n_jobs) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 \
            or n_jobs < -1:
        raise InvalidInputError(
            f"n_jobs must be a positive integer or -1 (all cores); got {n_jobs!r}."
        )
    return int(n_jobs)


def regularization_path(X, Y, betas, method: str = "bidual", form: str = "auto", patterns=None,
                        loss="squared", n_jobs: int = 1, solver=None, solver_opts=None,
                        warm_start: bool = True, recover: bool = True, refit: bool = True,
                        keep_networks: bool = False, on_error: str = "raise") -> PathResult:
    """Solve the convex training program for every β of ``betas`` re-using one built problem.

    Parameters
    ----------
    X : array-like (n, d)
    Y : array-like (n,) or (n, c)
    betas : sequence of float > 0
        Weight decays, solved in the given order (sort them for better warm starts).
    method : {"bidual", "copositive"}
        The builder: :func:`cvxrelu.bidual` (12) or :func:`cvxrelu.copositive` (17).
    form : str
        Passed to the builder (e.g. "auto", "rays", "inner").
    patterns : None, Arrangement or bool array (n, P)
        Sign patterns, computed ONCE here (None: :func:`cvxrelu.sign_patterns` with
        ``method="auto"``) and shared by every worker, so all β use the same program.
    loss : str
        "squared" or a loss of :mod:`cvxrelu.losses` (bidual only).
    n_jobs : int
        Number of contiguous β chunks solved in parallel by joblib workers (−1: one per
        core); each worker builds and compiles its problem once. The joblib backend in
        effect is used (``with joblib.parallel_backend("dask"): ...`` for a cluster).
    solver : str, optional
        Conic solver (default Clarabel).
    solver_opts : dict, optional
        Extra solver keyword arguments.
    warm_start : bool
        Warm-start each solve from the previous β where the solver supports it (SCS).
    recover, refit : bool
        Recover a network after each solve (``refit`` re-optimizes its second layer) to get
        the upper bound and the gap. ``recover=False`` also skips the verification of
        "exact" values against a real network (see :meth:`Formulation.solve`).
    keep_networks : bool
        Keep the recovered networks in ``result.networks``.
    on_error : {"raise", "nan"}
        What a failed solve does: raise the SolverError, or record NaN and go on.

    Returns
    -------
    PathResult

    Examples
    --------
    >>> import numpy as np, cvxrelu as cr
    >>> from cvxrelu.path import regularization_path
    >>> X, Y = cr.datasets.figure1()
    >>> res = regularization_path(X, Y, np.logspace(-2, 0, 5))
    >>> res.n_compilations
    1
    """
    t_start = time.perf_counter()
    X = as_data(X)
    check_choice(method, _METHODS, "method")
    check_choice(on_error, ("raise", "nan"), "on_error")
    betas = _check_betas(betas)
    n_jobs = _check_n_jobs(n_jobs)
    if solver_opts is not None and not isinstance(solver_opts, dict):
        raise InvalidInputError(
            f"solver_opts must be None or a dict; got {type(solver_opts).__name__}."
        )
    if method == "copositive" and loss != "squared":
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
