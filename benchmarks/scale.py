"""Scaling of the certified drivers in n (issue 7 part 3 "Large n", issue 4).

For n ∈ {10³, 3·10³, 10⁴, 3·10⁴, 10⁵} spiral points (d = 2, c = 3, β = 1e-2) measures time and
peak traced memory (tracemalloc; numpy's allocations are traced) of

(a) ``certify`` of one fixed network (trained by ``cutting_plane`` to a relative gap of 1e-3
    on 999 points of the same spiral, different noise seed), and
(b) ``cutting_plane`` to a certified relative gap of 1e-6, with a time limit per run (the
    gap reached is reported when the limit hits),

prints a table (times from untraced runs, peak memory from separate traced runs), fits the growth exponents of time and memory in n (log-log least squares),
and writes ``benchmarks/results/scale.json``. Memory is also reported as a multiple of
n·(d + c)·8 bytes, the size of the data and targets.

Usage::

    python benchmarks/scale.py                       # all sizes, 120 s per run
    python benchmarks/scale.py --sizes 1000 10000 --time-limit 60
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from _common import print_table, write_json  # noqa: E402  (sets sys.path)

from cvxrelu.datasets import spiral  # noqa: E402
from cvxrelu.drivers import certify, cutting_plane  # noqa: E402

BETA = 1e-2


def traced(fn, *args, **kwargs):
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    try:
        out = fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, time.perf_counter() - t0, peak


def untraced(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0, None


def exponent(ns, ys):
    ns, ys = np.asarray(ns, float), np.asarray(ys, float)
    ok = np.isfinite(ys) & (ys > 0)
    if ok.sum() < 2:
        return None
    return float(np.polyfit(np.log(ns[ok]), np.log(ys[ok]), 1)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 3000, 10000, 30000, 100000])
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--mem-time-limit", type=float, default=30.0,
                    help="time limit of the traced (memory) run of cutting_plane")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)

    Xs, Ys = spiral(n_per_class=333, seed=1)
    net = cutting_plane(Xs, Ys, BETA, tol=1e-3, progress=False).network
    print(f"fixed network for certify: {net!r}\n")

    rows = []
    for n in args.sizes:
        X, Y = spiral(n_per_class=max(1, n // 3))
        unit = X.shape[0] * (X.shape[1] + Y.shape[1]) * 8
        # time without tracemalloc (it slows allocation-heavy Python code ~3×); memory from
        # a separate traced run (cutting_plane: capped at --mem-time-limit seconds, enough to
        # reach its O(n) steady state)
        cert, t, _ = untraced(certify, net, X, Y, BETA)
        _, _, peak = traced(certify, net, X, Y, BETA)
        rows.append({"n": X.shape[0], "run": "certify", "time_s": t, "peak_MB": peak / 1e6,
                     "peak/n(d+c)8": peak / unit, "rel_gap": cert.rel_gap,
                     "status": cert.status, "iterations": 1, "neurons": net.n_neurons})
        res, t, _ = untraced(cutting_plane, X, Y, BETA, tol=args.tol,
                             time_limit=args.time_limit, max_iters=100_000, progress=False)
        _, _, peak = traced(cutting_plane, X, Y, BETA, tol=args.tol,
                            time_limit=min(args.time_limit, args.mem_time_limit),
                            max_iters=100_000, progress=False)
        rows.append({"n": X.shape[0], "run": "cutting_plane", "time_s": t,
                     "peak_MB": peak / 1e6, "peak/n(d+c)8": peak / unit,
                     "rel_gap": res.rel_gap, "status": res.status,
                     "iterations": res.iterations, "neurons": res.network.n_neurons,
                     "upper": res.upper, "lower": res.lower})
        for r in rows[-2:]:
            print(f"n={r['n']:>6} {r['run']:>13}: {r['time_s']:8.2f} s  "
                  f"{r['peak_MB']:7.1f} MB  rel gap {r['rel_gap']:.1e}  {r['status']}",
                  flush=True)

    print()
    print_table(rows, ["n", "run", "time_s", "peak_MB", "peak/n(d+c)8", "rel_gap", "status",
                       "iterations", "neurons"])
    exps = {}
    for run in ("certify", "cutting_plane"):
        sel = [r for r in rows if r["run"] == run]
        ns = [r["n"] for r in sel]
        conv = [r for r in sel if r["status"].startswith("optimal") or run == "certify"]
        exps[run] = {
            "time": exponent([r["n"] for r in conv], [r["time_s"] for r in conv]),
            "memory": exponent(ns, [r["peak_MB"] for r in sel]),
            "time_points": len(conv),
        }
    print("\nfitted growth exponents in n (time: converged runs only):")
    for run, e in exps.items():
        t = "n/a" if e["time"] is None else f"n^{e['time']:.2f}"
        m = "n/a" if e["memory"] is None else f"n^{e['memory']:.2f}"
        print(f"  {run:>13}: time {t} ({e['time_points']} points), peak memory {m}")
    if not args.no_save:
        write_json("scale", {"beta": BETA, "tol": args.tol, "time_limit": args.time_limit,
                             "mem_time_limit": args.mem_time_limit,
                             "data": "cvxrelu.datasets.spiral(n_per_class=n//3), d=2, c=3",
                             "certified_network": repr(net), "rows": rows,
                             "growth_exponent": exps})


if __name__ == "__main__":
    main()
