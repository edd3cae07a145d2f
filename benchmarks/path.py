"""Benchmark: a regularization path re-using one compiled problem vs rebuilding per β.

For the 3-class spiral (X ∈ R^{60×2}, P = 114) and the Figure-1 instance (X ∈ R^{25×2},
c = 5, P = 50), solve the bi-dual (12) (form "auto": extreme rays, exact) for 20 values of β
in three ways:

- ``path``: :func:`cvxrelu.integrations.path.regularization_path` (build + compile once, then only the
  β parameter changes);
- ``rebuild``: a fresh ``cr.bidual(X, Y, b).solve()`` per β (patterns, cell rays, operator
  and canonicalization every time);
- ``rebuild_patterns_given``: a fresh ``cr.bidual(X, Y, b, patterns=arr)`` per β with the
  sign patterns computed once (isolates the builder + canonicalization cost).

Networks are not recovered (recover=False), so only build/compile/solve time is compared.
It also times the default driver engine (``method="cutting_plane"``, tol 1e-8, certified)
with and without warm starts (``driver_warm``/``driver_cold``).
With ``--scs`` it also times SCS (eps 1e-6) along the path with and without warm start.
Prints a table and writes benchmarks/results/path.json.

Run: ``python benchmarks/path.py [--betas 20] [--scs]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

import cvxrelu as cr
from cvxrelu.integrations.path import regularization_path


def _count_compiles():
    """Patch SolvingChain.apply (run only when CVXPY canonicalizes) to count compilations."""
    from cvxpy.reductions.solvers.solving_chain import SolvingChain

    counter = {"n": 0}
    original = SolvingChain.apply

    def counting(self, problem, verbose=False):
        counter["n"] += 1
        return original(self, problem, verbose)

    SolvingChain.apply = counting
    return counter


def run_instance(name, X, Y, betas, counter, scs=False):
    rows = {}
    # path: one build, one compilation
    c0 = counter["n"]
    t = time.perf_counter()
    res = regularization_path(X, Y, betas, method="bidual", recover=False)
    rows["path"] = {"time_s": time.perf_counter() - t, "compilations": counter["n"] - c0,
                    "values": res.values.tolist(), "build_s": res.build_time,
                    "first_solve_s": float(res.solve_times[0]),
                    "median_resolve_s": float(np.median(res.solve_times[1:]))}
    # rebuild everything per β
    c0 = counter["n"]
    t = time.perf_counter()
    vals = [cr.bidual(X, Y, b).solve() for b in betas]
    rows["rebuild"] = {"time_s": time.perf_counter() - t, "compilations": counter["n"] - c0,
                       "values": vals}
    # rebuild per β with the sign patterns computed once
    arr = cr.sign_patterns(X)
    c0 = counter["n"]
    t = time.perf_counter()
    vals = [cr.bidual(X, Y, b, patterns=arr).solve() for b in betas]
    rows["rebuild_patterns_given"] = {"time_s": time.perf_counter() - t,
                                      "compilations": counter["n"] - c0, "values": vals}
    if scs:  # SCS along the path, warm-started from the previous β or not
        for ws in (True, False):
            t = time.perf_counter()
            res = regularization_path(X, Y, betas, method="bidual", recover=False,
                                      solver="SCS", warm_start=ws,
                                      solver_opts={"eps_abs": 1e-6, "eps_rel": 1e-6})
            rows[f"path_scs_{'warm' if ws else 'cold'}"] = {
                "time_s": time.perf_counter() - t, "compilations": res.n_compilations,
                "values": res.values.tolist()}
    # the driver engine (no CVXPY): from the largest β down, warm-started or cold; its values
    # are the networks' objectives, certified to a relative gap of 1e-8 (rank 2)
    for ws in (True, False):
        t = time.perf_counter()
        res = regularization_path(X, Y, betas, tol=1e-8, warm_start=ws)
        rows[f"driver_{'warm' if ws else 'cold'}"] = {
            "time_s": time.perf_counter() - t, "compilations": 0,
            "values": res.values.tolist(), "iterations": int(res.iterations.sum()),
            "all_certified": bool(np.all(res.certified))}
    ref = np.asarray(rows["rebuild"]["values"])
    for r in rows.values():
        r["max_rel_diff_vs_rebuild"] = float(np.max(np.abs(np.asarray(r["values"]) - ref)
                                                    / np.abs(ref)))
        r["speedup_vs_rebuild"] = rows["rebuild"]["time_s"] / r["time_s"]
    f = cr.bidual(X, Y, betas[0])
    return {"instance": name, "n": X.shape[0], "d": X.shape[1], "c": Y.shape[1],
            "n_patterns": f.arrangement.n_patterns, "form": f.form, "bound": f.bound,
            "n_betas": len(betas), "betas": list(map(float, betas)), "methods": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--betas", type=int, default=20, help="number of β values")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "path.json"))
    parser.add_argument("--scs", action="store_true",
                        help="also time SCS paths with and without warm start (slow)")
    args = parser.parse_args()
    counter = _count_compiles()
    betas = np.logspace(-3, 0, args.betas)
    instances = [("spiral", *cr.datasets.spiral()), ("figure1", *cr.datasets.figure1())]
    results = []
    print(f"{'instance':9s} {'P':>4s} {'method':24s} {'time s':>8s} {'compiles':>8s} "
          f"{'speed-up':>8s} {'max rel diff':>12s}")
    for name, X, Y in instances:
        out = run_instance(name, X, Y, betas, counter, scs=args.scs)
        results.append(out)
        for method, r in out["methods"].items():
            print(f"{name:9s} {out['n_patterns']:4d} {method:24s} {r['time_s']:8.2f} "
                  f"{r['compilations']:8d} {r['speedup_vs_rebuild']:8.2f} "
                  f"{r['max_rel_diff_vs_rebuild']:12.2e}")
        p = out["methods"]["path"]
        print(f"{'':9s} {'':4s} path: build {p['build_s']:.2f} s, first solve (with compile) "
              f"{p['first_solve_s']:.2f} s, median re-solve {p['median_resolve_s']:.2f} s")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "cvxpy": __import__("cvxpy").__version__,
            "solver": "CLARABEL", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "results": results}, fh, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
