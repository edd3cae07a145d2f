"""Figure 3 of Sahiner et al. (ICLR 2021): four ways to the optimum on the spiral, across β.

Data: the 3-class spiral, X ∈ R^{60×2}, one-hot Y (``cvxrelu.datasets.spiral``, P = 114).
For each β on a log grid from 1e-3 to 1e2:

- **bi-dual (12)** (``cvxrelu.bidual``, Clarabel): the exact global optimum p* here (rank 2,
  all patterns, cells with ≤ 4 extreme rays);
- **Frank-Wolfe** (``cvxrelu.frank_wolfe``, Algorithm 1 of App. A.4 in its fully corrective
  variant): a real network (upper bound) and a certified dual lower bound, to ``--fw-tol``;
- **SGD** (``cvxrelu.train_sgd``, the paper's protocol, many neurons): an upper bound;
- **copositive relaxation (19)** (``cvxrelu.copositive(..., form="paper")``): a lower bound.
  It costs n² linear constraints per pattern and is slow (minutes on the full spiral with
  Clarabel), so by default it is solved on a SUBSAMPLED spiral (8 points per class, n = 24;
  5 with --quick), next to the bi-dual of that same subsample; ``--relax-full`` uses the full
  spiral. If Clarabel fails (e.g. "inaccurate") SCS is tried (20 s limit); a point where both
  fail is reported as failed and not plotted.

Printed: a table over β and a last line ``RESULT key=value ...``.

Run:  python examples/fig3_spiral_beta_sweep.py [--quick] [--out PATH] [--relax-full]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

try:
    import cvxrelu  # noqa: F401
except ImportError:  # running from a source checkout without installation
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import cvxrelu as cr  # noqa: E402
from cvxrelu.errors import SolverError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, os.pardir, "docs", "figures",
                                            "fig3_spiral_beta_sweep.png"))


def get_frank_wolfe():
    fn = getattr(cr, "frank_wolfe", None)
    if fn is None:
        from cvxrelu.drivers import frank_wolfe as fn
    return fn


def solve_relaxation(X, Y, beta):
    """(value, solver, status) of the copositive relaxation (19); NaN when every solver fails."""
    f = cr.copositive(X, Y, beta, form="paper")
    for solver, kwargs in (("CLARABEL", {}),
                           ("SCS", dict(eps=1e-6, normalize=False, time_limit_secs=20))):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = f.solve(solver=solver, **kwargs)
            return value, solver, f.status, f.bound
        except SolverError as exc:
            print(f"  relaxation (19) with {solver} failed at beta = {beta:g}: "
                  f"{str(exc).splitlines()[0][:90]}")
    return float("nan"), "-", "failed", f.bound


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (< 20 s)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--n-beta", type=int, default=None, help="β values on the log grid")
    parser.add_argument("--neurons", type=int, default=None, help="SGD hidden neurons")
    parser.add_argument("--epochs", type=int, default=None, help="SGD epochs")
    parser.add_argument("--fw-tol", type=float, default=None, help="Frank-Wolfe relative gap")
    parser.add_argument("--relax-full", action="store_true",
                        help="solve the relaxation on the full spiral (slow: minutes per β)")
    parser.add_argument("--relax-per-class", type=int, default=None,
                        help="points per class of the subsampled spiral for the relaxation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.quick:
        betas = np.array([1e-2, 1e-1, 1.0])
    else:
        betas = np.logspace(-3, 2, args.n_beta or 8)
    if args.quick and args.n_beta:
        betas = np.logspace(-3, 2, args.n_beta)
    m = args.neurons or (300 if args.quick else 1000)
    epochs = args.epochs or (500 if args.quick else 4000)
    fw_tol = args.fw_tol or (1e-3 if args.quick else 1e-4)
    per_class = args.relax_per_class or (5 if args.quick else 8)
    frank_wolfe = get_frank_wolfe()

    X, Y = cr.datasets.spiral()
    if args.relax_full:
        Xs, Ys, relax_note = X, Y, "full spiral (n = 60)"
    else:
        Xs, Ys = cr.datasets.spiral(n_per_class=per_class)
        relax_note = f"SUBSAMPLED spiral ({per_class} points per class, n = {Xs.shape[0]})"
    print(f"3-class spiral: n = {X.shape[0]}, d = 2, c = 3; {len(betas)} values of beta")
    print(f"bi-dual (12), Frank-Wolfe (tol {fw_tol:g}) and SGD ({m} neurons, {epochs} epochs) on "
          f"the full spiral; the copositive relaxation (19) on the {relax_note}, compared with "
          "the bi-dual of the same points.")

    cr.train_sgd(X[:5], Y[:5], 1.0, m=2, epochs=1, seed=0)  # torch warm-up
    header = (f"{'beta':>9}{'bi-dual':>13}{'FW upper':>13}{'FW lower':>13}{'SGD':>13}"
              f"{'|sub: bi-dual':>15}{'relax (19)':>13}{'solver':>10}")
    print()
    print(header)
    print("-" * len(header))
    rows = []
    times = {"bidual": 0.0, "fw": 0.0, "sgd": 0.0, "relax": 0.0}
    for beta in betas:
        t = time.perf_counter()
        f = cr.bidual(X, Y, beta)
        p = f.solve()
        times["bidual"] += time.perf_counter() - t
        t = time.perf_counter()
        fw = frank_wolfe(X, Y, beta, tol=fw_tol, progress=False, time_limit=20.0)
        times["fw"] += time.perf_counter() - t
        res = cr.train_sgd(X, Y, beta, m=m, epochs=epochs, seed=args.seed)
        times["sgd"] += res.time
        t = time.perf_counter()
        ps = p if args.relax_full else cr.bidual(Xs, Ys, beta).solve()
        relax, solver, status, rbound = solve_relaxation(Xs, Ys, beta)
        times["relax"] += time.perf_counter() - t
        rows.append(dict(beta=beta, bidual=p, bound=f.bound, fw_upper=fw.upper,
                         fw_lower=fw.lower, fw_status=fw.status, fw_certified=fw.certified,
                         sgd=res.objective, sub_bidual=ps, relax=relax, relax_solver=solver,
                         relax_status=status, relax_bound=rbound))
        print(f"{beta:>9.3g}{p:>13.7g}{fw.upper:>13.7g}{fw.lower:>13.7g}{res.objective:>13.7g}"
              f"{ps:>15.7g}{relax:>13.7g}{solver:>10}")
    print(f"(bi-dual bound: {rows[0]['bound']!r}; FW/SGD values are networks' objectives (upper "
          f"bounds), FW lower is its certified dual bound; relaxation bound: "
          f"{rows[0]['relax_bound']!r})")
    print("times [s]: " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    b = np.array([r["beta"] for r in rows])
    ax.loglog(b, [r["bidual"] for r in rows], "k-", lw=1.5, label="bi-dual (12), exact")
    ax.loglog(b, [r["fw_upper"] for r in rows], "o", mfc="none", ms=9,
              label="Frank-Wolfe (Alg. 1)")
    ax.loglog(b, [r["sgd"] for r in rows], "x", ms=8, label=f"SGD ({m} neurons)")
    ok = [r for r in rows if np.isfinite(r["relax"])]
    if not args.relax_full:
        ax.loglog(b, [r["sub_bidual"] for r in rows], "-", color="gray", lw=1,
                  label=f"bi-dual, subsample n = {Xs.shape[0]}")
    ax.loglog([r["beta"] for r in ok], [r["relax"] for r in ok], "s", mfc="none", ms=6,
              color="tab:red", label="copositive relaxation (19)"
              + ("" if args.relax_full else f", subsample n = {Xs.shape[0]}"))
    ax.set_xlabel("β")
    ax.set_ylabel("training objective (5)")
    ax.set_title("Figure 3: spiral, objective vs β")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=90)
    plt.close(fig)
    print(f"figure written to {args.out}")

    rel = lambda a, ref: (a - ref) / ref  # noqa: E731
    fw_gap = max(rel(r["fw_upper"], r["bidual"]) for r in rows)
    fw_lower_excess = max(rel(r["fw_lower"], r["bidual"]) for r in rows)
    sgd_min = min(rel(r["sgd"], r["bidual"]) for r in rows)
    sgd_max = max(rel(r["sgd"], r["bidual"]) for r in rows)
    relax_excess = max((rel(r["relax"], r["sub_bidual"]) for r in ok), default=float("nan"))
    relax_min = min((rel(r["relax"], r["sub_bidual"]) for r in ok), default=float("nan"))
    print(f"RESULT n_beta={len(rows)} fw_tol={fw_tol:g} fw_max_rel_gap={fw_gap:.4e} "
          f"fw_lower_max_excess={fw_lower_excess:.4e} "
          f"fw_certified={all(r['fw_certified'] for r in rows)} "
          f"sgd_min_rel={sgd_min:.4e} sgd_max_rel={sgd_max:.4e} "
          f"relax_max_excess={relax_excess:.4e} relax_min_rel={relax_min:.4e} "
          f"relax_n={Xs.shape[0]} relax_failed={len(rows) - len(ok)} "
          f"bidual_bound={rows[0]['bound']}")
    return rows


if __name__ == "__main__":
    main()
