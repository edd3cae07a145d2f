"""Figure 1 of Sahiner et al. (ICLR 2021): SGD with few neurons misses the global optimum.

Data (App. A.1): X ∈ R^{25×2} i.i.d. N(0, 1), Y = the outputs of a random two-layer ReLU
network with 100 hidden neurons and 5 outputs (``cvxrelu.datasets.figure1``), β = 1e-2.

- The global optimum p* of the training problem (5) is the value of the bi-dual (12)
  (``cvxrelu.bidual``); here it is exact (rank-2 data, all P = 50 sign patterns, cells with at
  most 4 extreme rays), and the network recovered from it attains p* (a certificate).
- SGD (``cvxrelu.train_sgd``: full batch, momentum 0.95, learning rate halved on plateaus,
  Kaiming-uniform initialization) is run with 10 and with 50 hidden neurons, several seeds
  each. Every SGD network is also certified with ``cvxrelu.certify``: its objective is an upper
  bound on p*, and its scaled residual gives a certified lower bound (exact dual oracle, d = 2).

The paper's finding, reproduced here: the 10-neuron runs stall visibly above p*, the 50-neuron
runs end close to it.

Printed: a table per run (final objective, relative gap to p*, certify's lower bound) and a last
line ``RESULT key=value ...``. The figure shows the objective vs epoch against p*.

Run:  python examples/fig1_sgd_vs_global.py [--quick] [--out PATH] [--trials 5] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

try:
    import cvxrelu  # noqa: F401
except ImportError:  # running from a source checkout without installation
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import cvxrelu as cr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, os.pardir, "docs", "figures",
                                            "fig1_sgd_vs_global.png"))


def get_certify():
    """``cvxrelu.certify`` if exported, else the driver module's, else None."""
    fn = getattr(cr, "certify", None)
    if fn is None:
        try:
            from cvxrelu.drivers import certify as fn
        except ImportError:  # pragma: no cover - drivers not installed
            fn = None
    return fn


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (< 20 s)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--beta", type=float, default=1e-2, help="weight decay β (paper: 1e-2)")
    parser.add_argument("--trials", type=int, default=None, help="SGD seeds per width")
    parser.add_argument("--epochs", type=int, default=None, help="SGD epochs")
    parser.add_argument("--widths", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--seed", type=int, default=0, help="seed of the data set")
    args = parser.parse_args(argv)

    trials = args.trials or (2 if args.quick else 5)
    epochs = args.epochs or (3000 if args.quick else 5000)
    beta = args.beta

    X, Y = cr.datasets.figure1(seed=args.seed)
    t0 = time.perf_counter()
    f = cr.bidual(X, Y, beta)
    p_star = f.solve()
    net_star = f.network()
    t_convex = time.perf_counter() - t0
    upper_star = net_star.objective(X, Y, beta)
    print(f"Figure 1 data: X ∈ R^{X.shape[0]}×{X.shape[1]} N(0,1), Y from a random 100-neuron "
          f"ReLU net with {Y.shape[1]} outputs, beta = {beta}")
    print(f"bi-dual (12): P = {f.arrangement.n_patterns} patterns, form {f.form!r}, "
          f"bound {f.bound!r}, solved in {t_convex:.2f} s")
    print(f"  p* = {p_star:.10g}; recovered network: {net_star.n_neurons} neurons, "
          f"objective {upper_star:.10g} (rel. gap {(upper_star - p_star) / p_star:.1e})")

    certify = get_certify()
    if certify is None:
        print("(cvxrelu.certify is not available: SGD networks are compared with p* only)")

    cr.train_sgd(X[:5], Y[:5], beta, m=2, epochs=1, seed=0)  # torch warm-up
    runs = {m: [] for m in args.widths}
    header = (f"{'neurons':>8}{'seed':>6}{'objective':>14}{'rel. gap':>11}"
              f"{'certified lower':>17}{'time [s]':>10}")
    print()
    print(header)
    print("-" * len(header))
    for m in args.widths:
        for s in range(trials):
            res = cr.train_sgd(X, Y, beta, m=m, epochs=epochs, seed=s)
            gap = (res.objective - p_star) / p_star
            lower = float("nan")
            if certify is not None:
                cert = certify(res.network, X, Y, beta)
                lower = cert.lower
            runs[m].append({"res": res, "gap": gap, "lower": lower})
            print(f"{m:>8}{s:>6}{res.objective:>14.8g}{gap:>11.3e}{lower:>17.8g}"
                  f"{res.time:>10.2f}")
    print(f"(global optimum p* = {p_star:.10g}; every SGD objective is an upper bound on it, "
          "every certified lower bound is below it)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    colors = {m: c for m, c in zip(args.widths, ["tab:red", "tab:blue", "tab:green",
                                                   "tab:purple"])}
    for m in args.widths:
        for k, run in enumerate(runs[m]):
            h = run["res"].history
            ep = np.arange(1, h.size + 1)
            label = f"SGD, {m} neurons" if k == 0 else None
            ax.plot(ep, h, color=colors.get(m), alpha=0.7, lw=1, label=label)
            ax2.plot(ep, np.maximum((np.minimum.accumulate(h) - p_star) / p_star, 1e-9),
                     color=colors.get(m), alpha=0.7, lw=1, label=label)
    ax.axhline(p_star, color="k", ls="--", lw=1.2, label="global optimum p* (bi-dual (12))")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(p_star * 0.9, max(r["res"].history[0] for m in runs for r in runs[m]) * 1.1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training objective (5)")
    ax.set_title(f"Figure 1: n = 25, d = 2, c = 5, β = {beta:g}")
    ax.legend()
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_ylim(bottom=1e-4)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("(best objective so far − p*) / p*")
    ax2.set_title("relative gap to the certified optimum")
    ax2.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=90)
    plt.close(fig)
    print(f"figure written to {args.out}")

    items = [f"p_star={p_star:.10g}", f"p_star_network={upper_star:.10g}",
             f"bound={f.bound}"]
    lower_ok = True
    for m in args.widths:
        gaps = np.array([r["gap"] for r in runs[m]])
        objs = np.array([r["res"].objective for r in runs[m]])
        lows = np.array([r["lower"] for r in runs[m]])
        if certify is not None:
            lower_ok &= bool(np.all(lows <= p_star * (1 + 1e-7))
                             and np.all(lows <= objs))
        items += [f"sgd{m}_best={objs.min():.10g}", f"sgd{m}_best_gap={gaps.min():.4e}",
                  f"sgd{m}_median_gap={np.median(gaps):.4e}",
                  f"sgd{m}_worst_gap={gaps.max():.4e}",
                  f"sgd{m}_best_lower={np.nanmax(lows) if certify else float('nan'):.10g}"]
    items += [f"lower_le_upper={lower_ok and upper_star >= p_star * (1 - 1e-6)}",
              f"trials={trials}", f"epochs={epochs}"]
    print("RESULT " + " ".join(items))
    return runs, p_star


if __name__ == "__main__":
    main()
