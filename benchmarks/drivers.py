"""Benchmark of the certified drivers (issue 4).

Time to a certified relative gap of 1e-6 versus n (d = 2, c = 3, spiral data) for
``cutting_plane`` (Kelley), ``frank_wolfe`` (fully corrective) and the CVXPY bi-dual (12);
and SGD / Adam in torch (time to come within 1e-3 of p*) on the paper's two instances
(the 60-point spiral and the Figure-1 instance). Prints a table, fits the growth exponent
in n, and writes ``benchmarks/results/drivers.json``.

Usage::

    python benchmarks/drivers.py            # n = 60 … 5000
    python benchmarks/drivers.py --quick    # n = 60, 100, 300
    python benchmarks/drivers.py --sizes 60 1000 10000 --time-limit 120

Note: all objectives are on the library's scale (sums, ½‖·‖²); β = 1e-2 throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import cvxrelu as cr  # noqa: E402
from cvxrelu.datasets import figure1, spiral  # noqa: E402
from cvxrelu.drivers import cutting_plane, frank_wolfe  # noqa: E402

BETA = 1e-2


def _spiral_n(n, seed=0):
    return spiral(n_per_class=max(1, n // 3), seed=seed)


def run_driver(name, X, Y, time_limit):
    t0 = time.perf_counter()
    if name == "cutting_plane":
        res = cutting_plane(X, Y, BETA, tol=1e-6, time_limit=time_limit, progress=False)
    elif name == "frank_wolfe":
        res = frank_wolfe(X, Y, BETA, tol=1e-6, time_limit=time_limit, progress=False)
    else:
        raise ValueError(name)
    return {"time": time.perf_counter() - t0, "upper": res.upper, "lower": res.lower,
            "rel_gap": res.rel_gap, "status": res.status, "iterations": res.iterations,
            "neurons": res.network.n_neurons}


def run_bidual(X, Y):
    t0 = time.perf_counter()
    f = cr.bidual(X, Y, BETA)
    val = f.solve()
    return {"time": time.perf_counter() - t0, "value": float(val), "status": str(f.status)}


def time_to_target(X, Y, p_star, optimizer, m, max_epochs, seed=0, rel=1e-3):
    from cvxrelu.networks.baselines import train_sgd

    target = p_star * (1 + rel)
    state = {"hit": None}
    t0 = time.perf_counter()

    def cb(epoch, obj):
        if obj <= target and state["hit"] is None:
            state["hit"] = (epoch, time.perf_counter() - t0)
            return True
        return False

    res = train_sgd(X, Y, BETA, m=m, epochs=max_epochs, optimizer=optimizer, seed=seed,
                    callback=cb)
    out = {"optimizer": optimizer, "m": m, "best": float(res.objective),
           "rel_to_opt": float(res.objective / p_star - 1), "epochs_run": int(res.epochs),
           "total_time": float(res.time)}
    if state["hit"] is not None:
        out["reached"] = True
        out["epoch"], out["time"] = state["hit"]
    else:
        out["reached"] = False
        out["time"] = None
    return out


def fit_exponent(ns, ts):
    ns, ts = np.asarray(ns, float), np.asarray(ts, float)
    ok = np.isfinite(ts) & (ts > 0)
    if ok.sum() < 2:
        return None
    return float(np.polyfit(np.log(ns[ok]), np.log(ts[ok]), 1)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[60, 100, 300, 1000, 3000, 5000])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--time-limit", type=float, default=120.0,
                    help="seconds per driver run (runs that hit it are reported as such)")
    ap.add_argument("--bidual-max-n", type=int, default=1000)
    ap.add_argument("--sgd-epochs", type=int, default=20000)
    ap.add_argument("--no-sgd", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "drivers.json"))
    args = ap.parse_args(argv)
    sizes = [60, 100, 300] if args.quick else args.sizes

    rows = []
    print(f"{'n':>6} {'method':>14} {'time [s]':>10} {'rel gap':>9} {'iters':>6} "
          f"{'neurons':>7}  status")
    for n in sizes:
        X, Y = _spiral_n(n)
        for name in ("cutting_plane", "frank_wolfe"):
            r = run_driver(name, X, Y, args.time_limit)
            r.update(n=int(X.shape[0]), method=name)
            rows.append(r)
            print(f"{r['n']:>6} {name:>14} {r['time']:>10.3f} {r['rel_gap']:>9.1e} "
                  f"{r['iterations']:>6} {r['neurons']:>7}  {r['status']}", flush=True)
        if X.shape[0] <= args.bidual_max_n:
            try:
                b = run_bidual(X, Y)
                ref = [r for r in rows if r["n"] == X.shape[0] and r["method"] == "cutting_plane"]
                b.update(n=int(X.shape[0]), method="bidual_cvxpy",
                         agrees=abs(b["value"] - ref[0]["upper"]) / ref[0]["upper"])
                rows.append(b)
                print(f"{b['n']:>6} {'bidual_cvxpy':>14} {b['time']:>10.3f} "
                      f"{'':>9} {'':>6} {'':>7}  |value − cutting_plane|/value = "
                      f"{b['agrees']:.1e}", flush=True)
            except Exception as exc:  # pragma: no cover - report and continue
                print(f"{X.shape[0]:>6} {'bidual_cvxpy':>14} failed: {exc}")

    exps = {}
    for name in ("cutting_plane", "frank_wolfe", "bidual_cvxpy"):
        pts = [(r["n"], r["time"]) for r in rows if r["method"] == name and r["n"] >= 100
               and (name == "bidual_cvxpy" or r["status"].startswith("optimal"))]
        if len(pts) >= 2:
            exps[name] = fit_exponent(*zip(*pts))
    print("\nfitted growth exponent of time in n (n >= 100, converged runs):")
    for k, v in exps.items():
        print(f"  {k:>14}: n^{v:.2f}")

    sgd = []
    if not args.no_sgd:
        try:
            import torch  # noqa: F401
            have_torch = True
        except ImportError:  # pragma: no cover
            have_torch = False
        if have_torch:
            print("\nSGD / Adam (torch) vs certified drivers: time to within 1e-3 of p*")
            for label, (X, Y), m in (("spiral60", spiral(), 1000), ("figure1", figure1(), 50)):
                cp_res = cutting_plane(X, Y, BETA, tol=1e-6, progress=False)
                p_star = cp_res.lower  # certified: p* ∈ [lower, upper], gap ≤ 1e-6
                fw_res = frank_wolfe(X, Y, BETA, tol=1e-6, progress=False)
                line = {"instance": label, "p_star_lower": cp_res.lower,
                        "p_star_upper": cp_res.upper, "cutting_plane_time": cp_res.time,
                        "frank_wolfe_time": fw_res.time, "runs": []}
                for opt in ("sgd", "adam"):
                    r = time_to_target(X, Y, p_star, opt, m, args.sgd_epochs)
                    line["runs"].append(r)
                    t = f"{r['time']:.2f} s" if r["reached"] else \
                        f"not reached in {r['epochs_run']} epochs ({r['total_time']:.1f} s; " \
                        f"best {r['rel_to_opt']:.1e} above p*)"
                    print(f"  {label:>9} {opt:>5} (m={m}): {t}")
                print(f"  {label:>9} cutting_plane (gap 1e-6): {cp_res.time:.2f} s, "
                      f"frank_wolfe: {fw_res.time:.2f} s")
                sgd.append(line)

    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "python": platform.python_version()},
           "beta": BETA, "data": "cvxrelu.datasets.spiral(n_per_class=n//3), d=2, c=3",
           "rows": rows, "growth_exponent": exps, "sgd": sgd}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=2, default=float)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
