"""Per-call cost of the dual oracle ω(Z) = max_{‖u‖≤1} ‖Zᵀ(Xu)_+‖ (dual (11), issue 13).

Measures, for residual-like Z (Z = Y − F with F a ridge fit on 50 random ReLU features of X,
as in the middle of a column-generation run; and Z = Y − mean(Y), the first iteration):

(a) rank 3, Gaussian data d = 3, c = 3, n = 50 … 1000 (and --big: 10 000): the certified
    branch and bound (``DualOracle.bound``) against the old cell enumeration
    (``DualOracle._rank3_candidates``, n ≤ 200 only: it is O(n³));
(b) rank 4: standardized iris, one-hot targets (n = 150, c = 3);
(c) rank 5: Gaussian teacher data n = 80, d = 5, c = 2;
(d) the per-iteration heuristic (``DualOracle.__call__``, rank ≥ 4) on (b) and (c), with its
    value relative to the certified one;
(e) a node budget on breast cancer (rank 30) and digits 3-vs-8: the anytime bound ω̄ and
    its gap to ω_lo;
(g) rank 3 per call at n = 1 000 (and --big: 10 000): the exact search
    (``method="exact"``, the branch and bound) against ``method="auto"``, which above
    ``RANK3_EXACT_ROWS`` rows is the ascent (``exact_s`` / ``heur_s``, ``heur/omega``);
(h) rank 2, the 3-class spiral at n = 10⁵: one call ``reduced(Z, 8)`` (``call_s``; the arc
    closed form ``_Circle.top_arcs``);
(f) all ten digits (75 % split, n = 1347, rank 61, c = 10, as in the classifier): the
    heuristic's time per call and ``bound(Z, time_limit=0.2)``'s wall time (``bound_s``:
    the limit is honoured within the set-up of one chunk of nodes).

Prints a table and writes ``benchmarks/results/oracle.json``. Times are wall-clock on the
machine it runs on (noisy on a shared machine: compare ratios within one run).

Usage::

    python benchmarks/oracle.py            # about a minute (most of it the old enumeration)
    python benchmarks/oracle.py --big      # adds rank 3 at n = 10 000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import print_table, write_json  # noqa: E402  (sets sys.path)

from cvxrelu.geometry.oracle import DualOracle  # noqa: E402


def residual(X, Y, seed=0, m=50, ridge=1e-2):
    rng = np.random.default_rng(seed)
    H = np.maximum(X @ rng.standard_normal((X.shape[1], m)), 0.0)
    A = H.T @ H + ridge * np.eye(m)
    return Y - H @ np.linalg.solve(A, H.T @ Y)


def teacher(n, d, c, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = np.maximum(X @ rng.standard_normal((d, 10)), 0.0) @ rng.standard_normal((10, c))
    return X, Y


def standardized(X):
    X = np.asarray(X, dtype=float)
    s = X.std(axis=0)
    keep = s > 0
    return (X[:, keep] - X[:, keep].mean(axis=0)) / s[keep]


def bound_row(name, X, Z, time_limit=None, node_budget=None, heuristic=False):
    orc = DualOracle(X, seed=0)
    t0 = time.perf_counter()
    b = orc.bound(Z, time_limit=time_limit, node_budget=node_budget)
    t = time.perf_counter() - t0
    row = {"instance": name, "n": X.shape[0], "rank": orc.rank, "c": Z.shape[1],
           "omega_lo": b.lower, "omega_up": b.upper,
           "rel_gap": (b.upper - b.lower) / max(b.upper, 1e-300), "exact": b.exact,
           "nodes": b.nodes, "method": b.method, "bound_s": t}
    if heuristic:
        orc(Z)  # warm-up
        t0 = time.perf_counter()
        reps = 5
        for _ in range(reps):
            h = orc(Z)
        row["heur_s"] = (time.perf_counter() - t0) / reps
        row["heur/omega"] = h.value / b.upper
    return row, orc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="add rank 3 at n = 10 000")
    ap.add_argument("--budget", type=int, default=20_000,
                    help="node budget of the high-rank anytime rows")
    args = ap.parse_args()
    rows = []
    # (a) rank 3
    sizes = [50, 100, 200, 400, 1000] + ([10_000] if args.big else [])
    for n in sizes:
        X, Y = teacher(n, 3, 3, seed=n)
        Z = residual(X, Y)
        row, orc = bound_row(f"gauss d=3 n={n}", X, Z)
        if n <= 200:
            t0 = time.perf_counter()
            U = orc._rank3_candidates(Z, 1)
            row["enum_s"] = time.perf_counter() - t0
            U = U / np.linalg.norm(U, axis=0)
            ref = float(np.max(np.linalg.norm(Z.T @ np.maximum(orc.Xr @ U, 0.0), axis=0)))
            row["enum/omega"] = ref / row["omega_up"]
        rows.append(row)
        print(row, flush=True)
    # (g) rank 3 per call: exact search against the ascent of method="auto"
    for n in [1000] + ([10_000] if args.big else []):
        X, Y = teacher(n, 3, 3, seed=n)
        Z = residual(X, Y)
        ex = DualOracle(X, method="exact", seed=0)
        au = DualOracle(X, seed=0)
        t0 = time.perf_counter()
        e = ex(Z, 8)
        t_ex = time.perf_counter() - t0
        t0 = time.perf_counter()
        h = au(Z, 8)
        t_h = time.perf_counter() - t0
        row = {"instance": f"per call d=3 n={n}", "n": n, "rank": 3, "c": 3,
               "omega_up": e.value, "exact_s": t_ex, "heur_s": t_h,
               "heur/omega": h.value / e.value, "method": "exact vs auto (ascent)"}
        rows.append(row)
        print(row, flush=True)
    # (h) rank 2 per call at n = 1e5 (spiral)
    from cvxrelu.datasets import spiral

    Xs, Ys = spiral(n_per_class=33334)
    orc = DualOracle(Xs)
    Zs = Ys - Ys.mean(axis=0)
    orc.reduced(Zs, 8)
    t0 = time.perf_counter()
    for _ in range(5):
        v, _ = orc.reduced(Zs, 8)
    row = {"instance": "per call spiral n=1e5", "n": Xs.shape[0], "rank": 2, "c": 3,
           "omega_up": float(v[0]), "call_s": (time.perf_counter() - t0) / 5,
           "method": "exact (arcs)"}
    rows.append(row)
    print(row, flush=True)
    # (b) iris, (c) Gaussian rank 5
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris

    iris = load_iris()
    Xi = standardized(iris.data)
    Yi = np.eye(3)[iris.target]
    for tag, Z in (("Y-mean", Yi - Yi.mean(axis=0)), ("residual", residual(Xi, Yi))):
        row, _ = bound_row(f"iris {tag}", Xi, Z, heuristic=True)
        rows.append(row)
        print(row, flush=True)
    Xg, Yg = teacher(80, 5, 2, seed=5)
    for tag, Z in (("Y-mean", Yg - Yg.mean(axis=0)), ("residual", residual(Xg, Yg))):
        row, _ = bound_row(f"gauss d=5 n=80 {tag}", Xg, Z, heuristic=True)
        rows.append(row)
        print(row, flush=True)
    # (e) high rank, anytime under a node budget
    bc = load_breast_cancer()
    Xb = standardized(bc.data)
    Yb = np.eye(2)[bc.target]
    dg = load_digits()
    keep = np.isin(dg.target, (3, 8))
    Xd = standardized(dg.data[keep])
    Yd = (dg.target[keep] == 8).astype(float)[:, None]
    for name, X, Y in (("breast cancer", Xb, Yb), ("digits 3-vs-8", Xd, Yd)):
        row, _ = bound_row(f"{name} residual", X, residual(X, Y), node_budget=args.budget,
                           heuristic=True)
        rows.append(row)
        print(row, flush=True)
    # (f) all digits, the classifier's setting: heuristic per call, bound under 0.2 s
    from sklearn.model_selection import train_test_split

    Xa, _, ya, _ = train_test_split(dg.data, dg.target, train_size=0.75, random_state=0)
    Xa = standardized(Xa)
    Ya = np.eye(10)[ya]
    for tag, Z in (("Y-mean", Ya - Ya.mean(axis=0)), ("residual", residual(Xa, Ya))):
        row, _ = bound_row(f"digits 10-class {tag} (0.2 s)", Xa, Z, time_limit=0.2,
                           heuristic=True)
        rows.append(row)
        print(row, flush=True)
    print()
    print_table(rows, ["instance", "n", "rank", "c", "omega_up", "rel_gap", "nodes", "bound_s",
                       "enum_s", "exact_s", "heur_s", "heur/omega", "call_s", "method"])
    write_json("oracle", {"rows": rows})


if __name__ == "__main__":
    main()
