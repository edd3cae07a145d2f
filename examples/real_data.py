"""Real data: cvxrelu's ConvexReLUClassifier vs scikit-learn's MLPClassifier and Adam.

scikit-learn's bundled data sets (iris, wine, breast cancer, digits with all 10 classes),
standardized on the training part of a stratified 75/25 split. Three ways to train a
two-layer ReLU network:

- ``ConvexReLUClassifier()`` with its defaults (``alpha = β/β_max = 1e-2``): an L-BFGS local
  solve of (5) (``init="auto"``: these data sets have rank ≥ 4) warm-starts the cutting-plane
  driver on the convex program (App. A.5; the general-loss program (76)–(79) for
  cross-entropy). It reports a certificate: the network's objective (upper bound), a lower
  bound and whether that bound is certified (valid, but loose at these ranks);
- ``MLPClassifier(max_iter=1000)`` (100 hidden units, Adam, scikit-learn's own averaged loss
  and L2 penalty);
- ``cr.train_sgd(..., optimizer="adam")`` (100 neurons) directly on cvxrelu's objective.

All networks are scored on the SAME training objective, the one the classifier minimizes:
ℓ(relu([X, 1] W1) W2, Y) + (β/2)(‖W1‖² + ‖W2‖²) with the classifier's loss and β (summed over
samples, SPEC (5)). The MLP's biases are written into that form exactly: the hidden biases
become the last row of W1 (the constant feature) and the output bias one extra neuron on the
constant feature; each network is then rebalanced (‖u_j‖ = ‖v_j‖, same function, smallest
weight decay), so its objective is a fair upper bound on the global optimum p*.

Prints one row per data set (fit time, test accuracy, training objective, certificate),
draws a figure (``--out``) and ends with a ``RESULT key=value ...`` line.

Run:  python examples/real_data.py [--quick] [--out PATH] [--datasets iris,wine,...]
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
from cvxrelu.integrations.estimators import ConvexReLUClassifier  # noqa: E402
from cvxrelu.networks.network import ReLUNetwork  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = ("iris", "wine", "breast_cancer", "digits")
#: --quick: at most this many samples per data set (stratified)
QUICK_N = {"iris": 100, "wine": 100, "breast_cancer": 100, "digits": 200}


def load(name: str, max_n=None, seed: int = 0, max_classes=None):
    """(X, y) of a scikit-learn data set, optionally only its first ``max_classes`` classes and
    a stratified subsample of max_n rows."""
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    if max_classes is not None:
        keep = y < max_classes
        X, y = X[keep], y[keep]
    if max_n is not None and max_n < len(y):
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(X, y, train_size=max_n, stratify=y, random_state=seed)
    return X, y


def split(X, y, seed: int = 0):
    """Stratified 75/25 split, standardized with the training part's statistics."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def augment(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])


def mlp_as_network(mlp) -> ReLUNetwork:
    """The MLP's function as a bias-free ReLUNetwork on [X, 1], balanced.

    Hidden biases → last row of W1; the output bias → one extra neuron on the constant
    feature (relu(s·1) = s); a binary MLP's single logit z → scores [0, z] (same softmax).
    """
    W1 = np.vstack([mlp.coefs_[0], mlp.intercepts_[0][None, :]])
    W2, b2 = mlp.coefs_[1], mlp.intercepts_[1]
    if W2.shape[1] == 1:                     # binary: logistic on one logit
        W2 = np.hstack([np.zeros_like(W2), W2])
        b2 = np.array([0.0, b2[0]])
    d = W1.shape[0]
    bias_neuron = np.zeros((d, 1))
    bias_neuron[-1, 0] = 1.0
    net = ReLUNetwork(np.hstack([W1, bias_neuron]), np.vstack([W2, b2[None, :]]))
    return net.balanced()


def compare(name: str, quick: bool = False, seed: int = 0, adam_epochs=None, adam_m: int = 100,
            with_sgd: bool = False, cvx_params=None, with_adam: bool = True):
    """Fit the models on one data set; returns a dict of measurements.

    ``with_sgd`` also trains ``cr.train_sgd`` with the paper's SGD protocol (m = adam_m);
    ``with_adam=False`` skips Adam (and PyTorch: its start-up alone takes seconds);
    ``cvx_params`` are passed to ``ConvexReLUClassifier`` (default: its defaults).
    """
    from sklearn.neural_network import MLPClassifier

    # --quick: digits with 3 classes (10 classes need more than a few seconds)
    X, y = load(name, QUICK_N[name] if quick else None, seed,
                max_classes=3 if quick and name == "digits" else None)
    Xtr, Xte, ytr, yte = split(X, y, seed)
    Xa = augment(Xtr)
    row = {"dataset": name, "n_train": len(ytr), "d": X.shape[1],
           "classes": int(len(np.unique(y)))}

    t = time.perf_counter()
    clf = ConvexReLUClassifier(random_state=seed, **dict(cvx_params or {})).fit(Xtr, ytr)
    row["time_cvx"] = time.perf_counter() - t
    loss, beta = clf.loss, clf.beta_
    Y = np.eye(len(clf.classes_))[np.searchsorted(clf.classes_, ytr)] - clf.intercept_
    cert = clf.certificate_
    row.update(acc_cvx=clf.score(Xte, yte), obj_cvx=clf.objective_, beta=beta, loss=loss,
               alpha=clf.alpha, neurons_cvx=clf.n_neurons_, iters_cvx=clf.n_iter_,
               certified=bool(cert.certified), status=str(getattr(cert.status, "value",
                                                                  cert.status)),
               lower=float(cert.lower) if cert.certified else float("-inf"),
               rel_gap=float(cert.rel_gap) if cert.certified else float("nan"))

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(max_iter=1000, random_state=seed).fit(Xtr, ytr)
    row["time_mlp"] = time.perf_counter() - t
    row["acc_mlp"] = mlp.score(Xte, yte)
    row["obj_mlp"] = mlp_as_network(mlp).objective(Xa, Y, beta, loss=loss)

    epochs = adam_epochs or (100 if quick else 1000)
    row.update(time_adam=float("nan"), acc_adam=float("nan"), obj_adam=float("nan"))
    if with_adam:
        t = time.perf_counter()
        adam = cr.train_sgd(Xa, Y, beta, m=adam_m, epochs=epochs, optimizer="adam", loss=loss,
                            seed=seed)
        row["time_adam"] = time.perf_counter() - t
        F = adam.network.predict(augment(Xte)) + clf.intercept_
        row["acc_adam"] = float(np.mean(clf.classes_[F.argmax(1)] == yte))
        row["obj_adam"] = adam.objective

    best_other = row["obj_adam"] if with_adam else float("inf")
    if with_sgd:
        t = time.perf_counter()
        sgd = cr.train_sgd(Xa, Y, beta, m=adam_m, epochs=epochs, optimizer="sgd", loss=loss,
                           seed=seed)
        row["time_sgd"] = time.perf_counter() - t
        F = sgd.network.predict(augment(Xte)) + clf.intercept_
        row["acc_sgd"] = float(np.mean(clf.classes_[F.argmax(1)] == yte))
        row["obj_sgd"] = sgd.objective
        best_other = min(best_other, sgd.objective)
    row["time_ratio"] = row["time_cvx"] / row["time_mlp"]
    # ≤ 1: cvxrelu's network is better than the best gradient-trained one on the same objective
    row["obj_ratio"] = row["obj_cvx"] / best_other if np.isfinite(best_other) else float("nan")
    best_other = min(best_other, row["obj_mlp"])      # any network bounds p* from above
    # a certified lower bound above ANY network's objective would be a bug, never noise
    row["lower_ok"] = (not row["certified"]) or row["lower"] <= min(
        row["obj_cvx"], best_other) * (1 + 1e-9)
    return row


def figure(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["dataset"] for r in rows]
    x = np.arange(len(rows))
    w = 0.27
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("time", "fit time (s)", True), ("acc", "test accuracy", False),
              ("obj", "training objective (5) / cvxrelu's", False))
    for ax, (key, label, log) in zip(axes, panels):
        for k, (who, lab) in enumerate((("cvx", "cvxrelu"), ("mlp", "MLPClassifier"),
                                        ("adam", "Adam (train_sgd)"))):
            vals = [r[f"{key}_{who}"] / (r["obj_cvx"] if key == "obj" else 1.0) for r in rows]
            ax.bar(x + (k - 1) * w, vals, w, label=lab)
        ax.set_xticks(x, names, rotation=15)
        ax.set_title(label)
        if log:
            ax.set_yscale("log")
    axes[1].set_ylim(0.5, 1.02)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


COLUMNS = ("dataset", "n_train", "time_cvx", "time_mlp", "time_adam", "time_ratio", "acc_cvx",
           "acc_mlp", "acc_adam", "obj_cvx", "obj_mlp", "obj_adam", "obj_ratio", "certified",
           "status")


def print_rows(rows):
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    widths = [max(len(c), *(len(fmt(r[c])) for r in rows)) for c in COLUMNS]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)))
    for r in rows:
        print("  ".join(fmt(r[c]).ljust(w) for c, w in zip(COLUMNS, widths)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="subsampled data, digits with 3 classes, 3 s per fit, no Adam "
                             "(a smoke run)")
    parser.add_argument("--no-adam", action="store_true", help="skip Adam (train_sgd)")
    parser.add_argument("--out", default=os.path.join(HERE, "figures", "real_data.png"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="ConvexReLUClassifier time_limit (default: its own; --quick: 3 s)")
    args = parser.parse_args(argv)
    time_limit = args.time_limit or (3.0 if args.quick else None)
    cvx_params = {} if time_limit is None else {"time_limit": time_limit}
    if args.quick:
        cvx_params["oracle_time_limit"] = 0.2
    names = [s for s in args.datasets.split(",") if s]
    for s in names:
        if s not in DATASETS:
            parser.error(f"unknown data set {s!r}; choose from {', '.join(DATASETS)}")

    rows = []
    for name in names:
        rows.append(compare(name, quick=args.quick, seed=args.seed, cvx_params=cvx_params,
                            with_adam=not (args.quick or args.no_adam)))
        r = rows[-1]
        print(f"{name}: cvxrelu {r['time_cvx']:.2f}s acc {r['acc_cvx']:.3f} obj "
              f"{r['obj_cvx']:.4g} ({r['status']}) | MLP {r['time_mlp']:.2f}s acc "
              f"{r['acc_mlp']:.3f} obj {r['obj_mlp']:.4g} | Adam {r['time_adam']:.2f}s acc "
              f"{r['acc_adam']:.3f} obj {r['obj_adam']:.4g}", flush=True)
    print()
    print_rows(rows)
    figure(rows, args.out)
    print(f"figure: {args.out}")
    items = [f"n_datasets={len(rows)}", f"loss={rows[0]['loss']}",
             f"lower_ok={all(r['lower_ok'] for r in rows)}",
             f"max_time_ratio={max(r['time_ratio'] for r in rows):.4g}",
             f"min_acc_margin={min(r['acc_cvx'] - r['acc_mlp'] for r in rows):.4g}",
             f"max_obj_ratio={max(r['obj_ratio'] for r in rows):.4g}"]
    for r in rows:
        n = r["dataset"]
        items += [f"{n}_acc_cvx={r['acc_cvx']:.4g}", f"{n}_acc_mlp={r['acc_mlp']:.4g}",
                  f"{n}_time_ratio={r['time_ratio']:.4g}", f"{n}_obj_ratio={r['obj_ratio']:.4g}",
                  f"{n}_certified={r['certified']}"]
    print("RESULT " + " ".join(items))


if __name__ == "__main__":
    main()
