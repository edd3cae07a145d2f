"""Figure 5 of Sahiner et al. (ICLR 2021): ReLU vs linear two-layer networks on whitened data.

For whitened X (X Xᵀ = I, n ≤ d) the convex ReLU program (15) is the linear network's
nuclear-norm problem plus the cone constraint X u ≥ 0 on every rank-one term. The paper asks
whether a linear network would then do as well, and finds that the ReLU network generalizes
better on labels produced by a random ReLU "teacher" network (App. A.1.2).

Here, for each β:
- linear network, globally optimal in closed form: min ½‖XW − Y‖² + β‖W‖_* (equal to the
  two-layer linear network with weight decay (β/2)(‖W1‖² + ‖W2‖²)), solved by singular value
  soft-thresholding of Xᵀ Y (cvxrelu.linear_network). Its value is also a certified LOWER
  bound on the ReLU optimum p* (the relaxation of (15) without the cone constraint);
- ReLU network: Theorem 2 (cvxrelu.programs.closed_form) certifies p* only when X a_i ≥ 0 for every
  σ_i > β, which fails for generic continuous labels (then the ReLU and linear optima differ),
  so, as in the paper, the ReLU network is trained with SGD (full batch, momentum 0.95, lr
  halved on plateaus) and its objective is an upper bound on p*.
Train and test losses are ½‖f(X) − Y‖²_F summed over samples (the SPEC scale).

STAND-IN DATA: CIFAR-10 cannot be downloaded here; scikit-learn's digits (pixels and their
degree-2 products, d = 2144) replace it. The training images are sample-whitened with the PCA
form of cvxrelu.whiten (X = U, d = n features), which is the ZCA form rotated by an orthogonal
map (X_zca = X_pca Vᵀ), so every network problem, label and loss is the same up to that
rotation and training is cheaper. The labels come from a random two-layer ReLU teacher (4000
hidden units, as in the paper; 1000 with --quick) applied to the whitened train and test images.

Run:  python examples/fig5_relu_vs_linear.py [--quick] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

try:
    import cvxrelu  # noqa: F401
except ImportError:  # running from a source checkout without installation
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from cvxrelu.networks.baselines import linear_network, train_sgd  # noqa: E402
from cvxrelu.programs.closed_form import closed_form, whiten  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits_poly(n_train: int, seed: int):
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    X = X / 16.0
    iu = np.triu_indices(X.shape[1])
    X = np.hstack([X, (X[:, :, None] * X[:, None, :])[:, iu[0], iu[1]]])
    idx = np.random.default_rng(seed).permutation(len(X))
    return X[idx[:n_train]], X[idx[n_train:]]


def sq(F, Y) -> float:
    return 0.5 * float(np.sum((F - Y) ** 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (< 20 s)")
    parser.add_argument("--out", default=os.path.join(HERE, "figures", "fig5_relu_vs_linear.png"))
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--teacher", type=int, default=None, help="teacher hidden units")
    parser.add_argument("--neurons", type=int, default=None, help="ReLU student neurons (SGD)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    n_train = args.n_train or (100 if args.quick else 300)
    m_teacher = args.teacher or (1000 if args.quick else 4000)
    m = args.neurons or (100 if args.quick else 500)
    epochs = args.epochs or (100 if args.quick else 400)
    betas = [0.01, 0.3, 30.0] if args.quick else [0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]

    Xtr, Xte = load_digits_poly(n_train, args.seed)
    w = whiten(Xtr, method="pca")
    X, Xt = w.X, w.transform(Xte)
    rng = np.random.default_rng(args.seed + 1)
    W1t = rng.standard_normal((X.shape[1], m_teacher))
    W2t = rng.standard_normal((m_teacher, 10)) / np.sqrt(m_teacher)
    Y = np.maximum(X @ W1t, 0.0) @ W2t
    Yt = np.maximum(Xt @ W1t, 0.0) @ W2t
    zero_train, zero_test = sq(0.0, Y), sq(0.0, Yt)
    print("STAND-IN DATA: scikit-learn digits replace CIFAR-10 (no download possible here).")
    print(f"whitened digits: n = {X.shape[0]} (X Xᵀ = I), {Xt.shape[0]} test images, c = 10; "
          f"teacher ReLU net with {m_teacher} hidden units; student {m} neurons, {epochs} epochs")
    print(f"zero network: train loss {zero_train:.6g}, test loss {zero_test:.6g}")
    print()
    header = (f"{'beta':>7}{'lin obj':>11}{'ReLU obj':>11}{'Thm2':>6}{'lin train':>11}"
              f"{'ReLU train':>11}{'lin test':>11}{'ReLU test':>11}")
    print(header)
    print("-" * len(header))
    train_sgd(X[:5], Y[:5], 1.0, m=2, epochs=1, seed=0)  # torch warm-up
    rows = []
    for beta in betas:
        lin = linear_network(X, Y, beta)
        cf = closed_form(X, Y, beta)
        res = train_sgd(X, Y, beta, m=m, epochs=epochs, seed=args.seed)
        relu = res.network
        if cf.exact and cf.value < res.objective:
            relu, relu_obj = cf.network, cf.value  # Theorem 2 certifies the global optimum
        else:
            relu_obj = res.objective
        row = dict(beta=beta, lin_obj=lin.value, relu_obj=relu_obj, exact=cf.exact,
                   lin_train=sq(X @ lin.W, Y), relu_train=sq(relu.predict(X), Y),
                   lin_test=sq(Xt @ lin.W, Yt), relu_test=sq(relu.predict(Xt), Yt))
        rows.append(row)
        print(f"{beta:>7g}{row['lin_obj']:>11.5g}{row['relu_obj']:>11.5g}"
              f"{'yes' if cf.exact else 'no':>6}{row['lin_train']:>11.5g}"
              f"{row['relu_train']:>11.5g}{row['lin_test']:>11.5g}{row['relu_test']:>11.5g}")
    print("(lin obj = min ½‖XW−Y‖² + β‖W‖_*: the linear optimum and a lower bound on the ReLU "
          "optimum p*; ReLU obj: SGD, an upper bound, or p* where Theorem 2 applies.)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = np.array(betas)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.loglog(b, [r["lin_train"] for r in rows], "s-", label="linear (optimal)")
    ax1.loglog(b, [r["relu_train"] for r in rows], "o-", label="ReLU (SGD)")
    ax1.set_title("training loss ½‖f(X) − Y‖²")
    ax2.loglog(b, [r["lin_test"] for r in rows], "s-", label="linear (optimal)")
    ax2.loglog(b, [r["relu_test"] for r in rows], "o-", label="ReLU (SGD)")
    ax2.axhline(zero_test, color="gray", ls=":", label="zero network")
    ax2.set_title("test loss ½‖f(X_test) − Y_test‖²")
    for ax in (ax1, ax2):
        ax.set_xlabel("β")
        ax.legend()
    fig.suptitle("whitened digits (stand-in for CIFAR-10), labels from a random ReLU teacher")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    print(f"figure written to {args.out}")

    best_lin = min(r["lin_test"] for r in rows)
    best_relu = min(r["relu_test"] for r in rows)
    lower_ok = all(r["relu_obj"] >= r["lin_obj"] * (1 - 1e-9) for r in rows)
    print(f"RESULT best_linear_test_loss={best_lin:.6g} best_relu_test_loss={best_relu:.6g} "
          f"zero_test_loss={zero_test:.6g} relu_over_linear={best_relu / best_lin:.4f} "
          f"relu_obj_ge_linear_obj={lower_ok} n_beta={len(rows)}")
    return {"rows": rows, "best_linear_test_loss": best_lin, "best_relu_test_loss": best_relu,
            "zero_test_loss": zero_test, "relu_obj_ge_linear_obj": lower_ok}


if __name__ == "__main__":
    main()
