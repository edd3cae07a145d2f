"""Certified gaps of the drivers on data of every rank (issue 13, "Benchmark").

Runs ``cutting_plane`` (Kelley) on each instance below with a time limit and reports the
CERTIFIED relative gap (the final lower bound uses the oracle's certified ω̄,
:meth:`cvxrelu.geometry.oracle.DualOracle.bound`), the time, the status, the certificate's method and
node count, and the heuristic value of the iterations (never a bound). On the real data
sets it also runs the driver warm-started from an Adam network (m = 100, torch) and reports
the Adam objective beside it.

| instance | target (issue 13) |
|---|---|
| standardized iris, one-hot, β = 1 (n = 150, r = 4, c = 3) | ≤ 1e-4 in ≤ 60 s |
| Gaussian teacher data, n = 80, d = 5, c = 2 | ≤ 1e-4 in ≤ 120 s |
| Gaussian teacher data, n = 100, d = 8, c = 3 | ≤ 1e-3 in ≤ 600 s |
| breast cancer / digits 3-vs-8 (d = 30 / 64), budget | report |
| rank 3 Gaussian teacher data, d = 3, c = 3, n = 1 000 / 10 000 | ≤ 1e-6 in ≤ 10 / 120 s |
| rank 2 spiral-like data, 3 classes, n = 10⁵ | ≤ 1e-6 in ≤ 5 s |

With the oracle of today (exact for rank ≤ 3, a spectral ω̄ above) the rank ≥ 4 rows show
large certified gaps: that is the honest state; a better ``DualOracle.bound`` is picked up
without changes here.

Teacher data: X ~ N(0, 1), Y = relu(X W1) W2 + 0.1·noise with a random 10-neuron teacher;
β = 1 everywhere except the teacher rows of rank 4–8 (β = 0.1). Losses are summed (5).

Usage::

    python benchmarks/highrank.py --quick          # small sizes, 20 s per run

The time limit is checked between oracle calls: one call of today's exact rank-3 oracle
costs ≈ 0.6 / 2.4 / 16 s at n = 50 / 100 / 200 (issue 13), so rank-3 runs can overshoot it
by one call.
    python benchmarks/highrank.py                  # the sizes above, --time-limit 600
    python benchmarks/highrank.py --only iris teacher_d5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import print_table, write_json  # noqa: E402  (sets sys.path)

import cvxrelu as cr  # noqa: E402
from cvxrelu.datasets import spiral  # noqa: E402


def _standardize(X):
    X = X - X.mean(axis=0)
    sd = X.std(axis=0)
    return X / np.where(sd > 0, sd, 1.0)


def sklearn_set(name, n_max=None, seed=0):
    from sklearn import datasets

    if name == "iris":
        X, y = datasets.load_iris(return_X_y=True)
    elif name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    else:  # digits 3 vs 8
        X, y = datasets.load_digits(return_X_y=True)
        keep = (y == 3) | (y == 8)
        X, y = X[keep], y[keep]
    if n_max is not None and X.shape[0] > n_max:
        idx = np.random.default_rng(seed).choice(X.shape[0], n_max, replace=False)
        X, y = X[idx], y[idx]
    X = _standardize(X)
    if name == "iris":
        Y = np.eye(3)[y]
    else:
        Y = np.where(y == y.max(), 1.0, -1.0)[:, None]
    return X, Y


def teacher(n, d, c, seed=0, m=10, noise=0.1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W1 = rng.standard_normal((d, m)) / np.sqrt(d)
    W2 = rng.standard_normal((m, c)) / np.sqrt(m)
    Y = np.maximum(X @ W1, 0.0) @ W2 + noise * rng.standard_normal((n, c))
    return X, Y


def instances(quick):
    """(name, loader, beta, time budget factor, real data?)."""
    if quick:
        return [
            ("iris", lambda: sklearn_set("iris"), 1.0, True),
            ("teacher_d5", lambda: teacher(40, 5, 2), 0.1, False),
            ("teacher_d8", lambda: teacher(50, 8, 3), 0.1, False),
            ("breast_cancer", lambda: sklearn_set("breast_cancer", n_max=150), 1.0, True),
            ("digits_3v8", lambda: sklearn_set("digits_3v8", n_max=150), 1.0, True),
            ("rank3_n100", lambda: teacher(100, 3, 3), 1.0, False),
            ("rank3_n200", lambda: teacher(200, 3, 3), 1.0, False),
            ("rank2_spiral_n3000", lambda: spiral(n_per_class=1000), 1.0, False),
        ]
    return [
        ("iris", lambda: sklearn_set("iris"), 1.0, True),
        ("teacher_d5", lambda: teacher(80, 5, 2), 0.1, False),
        ("teacher_d8", lambda: teacher(100, 8, 3), 0.1, False),
        ("breast_cancer", lambda: sklearn_set("breast_cancer"), 1.0, True),
        ("digits_3v8", lambda: sklearn_set("digits_3v8"), 1.0, True),
        ("rank3_n1000", lambda: teacher(1000, 3, 3), 1.0, False),
        ("rank3_n10000", lambda: teacher(10000, 3, 3), 1.0, False),
        ("rank2_spiral_n1e5", lambda: spiral(n_per_class=33334), 1.0, False),
    ]


def run(X, Y, beta, time_limit, warm=None):
    t0 = time.perf_counter()
    res = cr.cutting_plane(X, Y, beta, tol=1e-6, time_limit=time_limit,
                           oracle_time_limit=max(1.0, 0.25 * time_limit), progress=False,
                           seed=0, warm_start=warm)
    elapsed = time.perf_counter() - t0
    ob = res.info.get("oracle_bound")
    return {"time_s": elapsed, "status": res.status.value, "upper": res.upper,
            "lower": res.lower, "cert_rel_gap": res.certified_rel_gap,
            "heuristic_lower": res.info.get("heuristic_lower"),
            "iterations": res.iterations, "neurons": res.network.n_neurons,
            "bound_method": "iterations (exact)" if ob is None else ob.method,
            "bound_nodes": None if ob is None else ob.nodes,
            "omega_bar": None if ob is None else ob.upper,
            "omega_lo": None if ob is None else ob.lower,
            # distinct directions of the final certified call that violate ‖Zᵀ(Xu)_+‖ ≤ β
            # (OracleBound.candidates: each one a cut the driver could add)
            "violated_candidates": None if ob is None or ob.candidate_values is None
            else int(np.sum(ob.candidate_values > beta * (1 + 1e-9))),
            "exact_oracle": res.exact_oracle, "message": res.message}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 20 s per run")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds per driver run (default 600, 20 with --quick)")
    ap.add_argument("--only", nargs="*", default=None, help="instance names to run")
    ap.add_argument("--no-warm", action="store_true", help="skip the Adam warm-start rows")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    limit = args.time_limit or (20.0 if args.quick else 600.0)
    rows = []
    for name, load, beta, real in instances(args.quick):
        if args.only and name not in args.only:
            continue
        X, Y = load()
        n, d = X.shape
        r = int(np.linalg.matrix_rank(X))
        base = {"instance": name, "n": n, "d": d, "r": r, "c": Y.shape[1], "beta": beta}
        row = dict(base, run="cold", **run(X, Y, beta, limit))
        rows.append(row)
        print(f"{name:>20} cold: {row['time_s']:7.1f} s  cert gap {row['cert_rel_gap']:.2e}  "
              f"{row['status']}", flush=True)
        if real and not args.no_warm:
            from cvxrelu.networks.baselines import train_sgd

            t0 = time.perf_counter()
            adam = train_sgd(X, Y, beta, m=100, epochs=300 if args.quick else 1000,
                             optimizer="adam", seed=0).network
            t_adam = time.perf_counter() - t0
            row = dict(base, run="warm(adam)", adam_objective=adam.objective(X, Y, beta),
                       adam_time_s=t_adam, **run(X, Y, beta, limit, warm=adam))
            rows.append(row)
            print(f"{name:>20} warm: {row['time_s']:7.1f} s  cert gap "
                  f"{row['cert_rel_gap']:.2e}  {row['status']}  (Adam "
                  f"{row['adam_objective']:.6g} in {t_adam:.1f} s, driver {row['upper']:.6g})",
                  flush=True)
    print()
    print_table(rows, ["instance", "n", "r", "c", "run", "time_s", "cert_rel_gap", "status",
                       "upper", "lower", "heuristic_lower", "adam_objective", "bound_method",
                       "bound_nodes", "violated_candidates", "iterations"])
    if not args.no_save:
        write_json("highrank_quick" if args.quick else "highrank",
                   {"time_limit": limit, "tol": 1e-6, "quick": args.quick, "rows": rows})


if __name__ == "__main__":
    main()
