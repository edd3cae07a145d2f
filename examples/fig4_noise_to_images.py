"""Figure 4 of Sahiner et al. (ICLR 2021): fitting images from noise, relaxation (20) vs SGD.

The network's input is whitened Gaussian noise X ∈ R^{n×d} (n ≤ d, X Xᵀ = I, so X is
spike-free and only the pattern D = I matters); its targets Y are n images (one row of pixels
per image). For spike-free X the copositive program (17) reduces to (20),

    min_{U ∈ C} ½ tr(Yᵀ(I + 2 X U Xᵀ)⁻¹ Y) + β² tr U,

built by ``cvxrelu.spike_free(X, Y, beta, program="copositive")``; for whitened X it is an
n×n doubly-nonnegative program (W = X U Xᵀ), a certified LOWER bound on p* for n > 4. SGD
(the paper's protocol) and Adam give UPPER bounds (at small β the SGD protocol can stall far
above the optimum on this data; Adam does not, so both are shown). The paper finds that the
relaxation and the trained networks agree across β; the nuclear-norm value of Theorem 2's
relaxation (``closed_form(...).lower_bound``, a weaker lower bound) is shown for reference.

STAND-IN DATA: MNIST/CIFAR cannot be downloaded here; the images are scikit-learn's bundled
8×8 digits (pixels scaled to [0, 1], 64 outputs). The paper used 100 images; the n×n
program with the 64-column matrix fraction is solved with SCS (Clarabel took a minute on
n = 20 and SCS over ten minutes on n = 50 here), so this script uses n = 20 images (n = 10
with --quick).

Printed: a table over β and a last line ``RESULT key=value ...``. The figure shows the
objective vs β and, for one β, the target images beside the two networks' outputs.

Run:  python examples/fig4_noise_to_images.py [--quick] [--out PATH] [--n-images N]
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
                                            "fig4_noise_to_images.png"))


def solve_relaxation(f, solver, beta):
    """Solve (20) with SCS (its run time on these programs varies from one second to minutes
    with β; 30 s limit), then Clarabel. Returns (value, status); NaN when all fail."""
    attempts = [(solver, {})]
    if solver.upper() == "SCS":
        # eps = 1e-4 was seen to stop "optimal" 0.4 % above the optimum here: too loose
        # (when this SCS run fails, other SCS settings failed too: go to Clarabel)
        attempts = [("SCS", dict(eps=1e-5, normalize=False, time_limit_secs=30)),
                    ("CLARABEL", {})]
    for name, kwargs in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = f.solve(solver=name, **kwargs)
            return value, f"{f.status}/{name[:3]}"
        except SolverError as exc:
            print(f"  relaxation (20) with {name} {kwargs} failed at beta = {beta:g}: "
                  f"{str(exc).splitlines()[0][:90]}")
    return float("nan"), "failed"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (< 20 s)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--neurons", type=int, default=None, help="SGD hidden neurons")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--solver", default="SCS", help="conic solver for (20)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    n = args.n_images or (10 if args.quick else 20)
    m = args.neurons or (50 if args.quick else 200)
    epochs = args.epochs or (400 if args.quick else 1500)
    betas = [0.1, 1.0, 3.0] if args.quick else [0.03, 0.1, 0.3, 1.0, 3.0, 10.0]

    from sklearn.datasets import load_digits

    images = load_digits().images[:n].reshape(n, -1) / 16.0
    rng = np.random.default_rng(args.seed)
    X = cr.whiten(rng.standard_normal((n, 2 * n))).X       # X Xᵀ = I: spike-free
    Y = images
    print("STAND-IN DATA: scikit-learn 8×8 digits replace MNIST/CIFAR (no download possible).")
    print(f"noise → images: n = {n} images, X ∈ R^{n}×{2 * n} whitened Gaussian noise "
          f"(spike-free: {cr.is_spike_free(X)[0]}), Y ∈ R^{n}×{Y.shape[1]} pixels; "
          f"relaxation (20) with {args.solver}; SGD {m} neurons, {epochs} epochs")

    cr.train_sgd(X[:3], Y[:3], 1.0, m=2, epochs=1, seed=0)  # torch warm-up
    header = (f"{'beta':>7}{'relax (20)':>13}{'status':>14}{'nuclear lb':>13}{'SGD':>13}"
              f"{'Adam':>13}{'rel. diff':>11}{'t relax':>9}{'t train':>8}")
    print()
    print(header)
    print("-" * len(header))
    rows = []
    shown = None
    for beta in betas:
        t = time.perf_counter()
        f = cr.spike_free(X, Y, beta, program="copositive")
        relax, status = solve_relaxation(f, args.solver, beta)
        t_relax = time.perf_counter() - t
        cf = cr.closed_form(X, Y, beta)
        res = cr.train_sgd(X, Y, beta, m=m, epochs=epochs, seed=args.seed)
        adam = cr.train_sgd(X, Y, beta, m=m, epochs=epochs, seed=args.seed, optimizer="adam")
        best = min(res.objective, adam.objective)
        rows.append(dict(beta=beta, relax=relax, status=status, bound=f.bound,
                         nuclear=cf.lower_bound, sgd=res.objective, adam=adam.objective,
                         best=best, t_relax=t_relax, t_sgd=res.time + adam.time))
        diff = (best - relax) / best
        print(f"{beta:>7g}{relax:>13.7g}{status:>14}{cf.lower_bound:>13.7g}"
              f"{res.objective:>13.7g}{adam.objective:>13.7g}{diff:>11.2e}{t_relax:>9.2f}"
              f"{res.time + adam.time:>8.2f}")
        if shown is None and beta >= 0.3 and np.isfinite(relax):
            try:
                shown = (beta, f.network(), res.network)
            except SolverError:
                shown = (beta, None, res.network)
    print("(relax (20): a certified lower bound on p* (bound "
          f"{rows[0]['bound']!r}); SGD (paper's protocol) and Adam: upper bounds; rel. diff: "
          "(best of SGD/Adam − relax)/best; nuclear lb: Theorem 2's relaxation)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if np.isfinite(r["relax"])]
    fig = plt.figure(figsize=(10, 4))
    ax = fig.add_subplot(1, 2, 1)
    ax.loglog([r["beta"] for r in ok], [r["relax"] for r in ok], "o-",
              label="copositive relaxation (20)")
    ax.loglog([r["beta"] for r in rows], [r["sgd"] for r in rows], "x--",
              label=f"SGD ({m} neurons)")
    ax.loglog([r["beta"] for r in rows], [r["adam"] for r in rows], "+:", ms=9,
              label=f"Adam ({m} neurons)")
    ax.loglog([r["beta"] for r in rows], [r["nuclear"] for r in rows], ":", color="gray",
              label="nuclear-norm lower bound")
    ax.set_xlabel("β")
    ax.set_ylabel("training objective (5)")
    ax.set_title(f"noise → {n} digit images")
    ax.legend(fontsize=8)
    if shown is not None:
        beta_s, net_relax, net_sgd = shown
        k = min(n, 5)
        panels = [("target", Y)]
        if net_relax is not None:
            panels.append(("relax. net", net_relax.predict(X)))
        panels.append(("SGD net", net_sgd.predict(X)))
        for row, (name, imgs) in enumerate(panels):
            for j in range(k):
                a = fig.add_subplot(len(panels), 2 * k, row * 2 * k + k + j + 1)
                a.imshow(imgs[j].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
                a.set_xticks([])
                a.set_yticks([])
                if j == 0:
                    a.set_ylabel(name, fontsize=8)
        fig.text(0.75, 0.97, f"outputs at β = {beta_s:g}", ha="center", fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=90)
    plt.close(fig)
    print(f"figure written to {args.out}")

    rel = [(r["best"] - r["relax"]) / r["best"] for r in ok]
    rel_sgd = [(r["sgd"] - r["relax"]) / r["sgd"] for r in ok]
    lower_ok = all(r["relax"] <= r["best"] * (1 + 1e-4) for r in ok)
    print(f"RESULT n_images={n} n_beta={len(rows)} n_failed={len(rows) - len(ok)} "
          f"max_rel_diff={max(rel) if rel else float('nan'):.4e} "
          f"min_rel_diff={min(rel) if rel else float('nan'):.4e} "
          f"sgd_max_rel_diff={max(rel_sgd) if rel_sgd else float('nan'):.4e} "
          f"lower_le_upper={lower_ok} solver={args.solver}")
    return rows


if __name__ == "__main__":
    main()
