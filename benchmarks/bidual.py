"""Benchmark of the bi-dual (12): build / compile+solve time per form and per solver.

Instances: the 3-class spiral (n = 60, P = 114) and the Figure-1 instance (n = 25, P = 50),
β = 1e-2. For each form ("rays", "inner", "paper") and solver (Clarabel, SCS; MOSEK when
licensed) it measures the builder time, the first solve (CVXPY compilation + solver), the
solver's own time, and a second solve at another β through the β parameter (no rebuild),
then prints the ratio of each form's total time to the "paper" form's. Solves run with
``verify=False``; the network recovery (which ``solve()`` does by default to verify an exact
value) is timed separately as ``recover_s``, with the recovered network's relative gap.

Run:  python benchmarks/bidual.py [--quick]   (--quick skips the slow "paper" form on the spiral)
"""

from __future__ import annotations

import argparse
import time

from _common import print_table, write_json

import cvxrelu as cr
from cvxrelu.programs.solvers import mosek_available


def run_case(name, X, Y, beta, form, solver, kwargs):
    t0 = time.perf_counter()
    f = cr.bidual(X, Y, beta, form=form)
    t_build = time.perf_counter() - t0
    row = {"instance": name, "form": f.form, "bound": f.bound, "solver": solver,
           "P": f.arrangement.n_patterns, "build_s": t_build}
    try:
        t1 = time.perf_counter()
        value = f.solve(solver=solver, verify=False, **kwargs)
        row["first_solve_s"] = time.perf_counter() - t1
        row["solver_s"] = f.solve_problem_for(solver).solver_stats.solve_time
        row["total_s"] = t_build + row["first_solve_s"]
        row["value"] = value
        t_rec = time.perf_counter()
        net = f.network()
        row["recover_s"] = time.perf_counter() - t_rec
        row["net_rel_gap"] = (net.objective(X, Y, beta) - value) / value
        f.beta.value = 2 * beta
        t2 = time.perf_counter()
        f.solve(solver=solver, verify=False, **kwargs)
        row["resolve_s"] = time.perf_counter() - t2
        f.beta.value = beta
    except cr.SolverError as exc:
        row["error"] = str(exc)[:80]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    solvers = {"CLARABEL": {}, "SCS": {"eps_abs": 1e-7, "eps_rel": 1e-7, "max_iters": 100000}}
    if mosek_available():
        solvers["MOSEK"] = {}
    instances = {"spiral": cr.datasets.spiral(), "figure1": cr.datasets.figure1()}
    cr.bidual(*instances["figure1"], 1e-2).solve()          # warm-up: imports, BLAS threads
    rows = []
    for name, (X, Y) in instances.items():
        for form in ("rays", "inner", "paper"):
            for solver, kw in solvers.items():
                if form == "paper" and (solver == "SCS" or (args.quick and name == "spiral")):
                    continue      # the paper form is the slow baseline: Clarabel only
                print(f"... {name} {form} {solver}", flush=True)
                rows.append(run_case(name, X, Y, 1e-2, form, solver, kw))
    for r in rows:
        base = next((b for b in rows if b["instance"] == r["instance"] and b["form"] == "paper"
                     and b["solver"] == "CLARABEL" and "total_s" in b), None)
        if base and "total_s" in r:
            r["paper_over_this"] = base["total_s"] / r["total_s"]
    print()
    print_table(rows, ["instance", "form", "bound", "solver", "P", "build_s", "first_solve_s",
                       "solver_s", "total_s", "resolve_s", "paper_over_this", "value", "recover_s",
                       "net_rel_gap", "error"])
    write_json("bidual", {"rows": rows, "beta": 1e-2})


if __name__ == "__main__":
    main()
