"""Benchmark of the convex CNN builder (50): build and solve time against the number of
images n and of sampled sign patterns P.

Data: scikit-learn digits 0 vs 1 (8×8, one channel), 3×3 kernel, stride 2 (K = 9 patches,
h = 9, so patterns are sampled and the value is an upper bound attained by a real CNN);
plus an exactly enumerable case (2-channel 3×3 images, 1×1 kernel: h = 2).

Run:  python benchmarks/cnn.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import print_table, write_json

import cvxrelu as cr


def case(label, images, Y, beta, **kw):
    t0 = time.perf_counter()
    f = cr.conv_bidual(images, Y, beta, **kw)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    value = f.solve()
    t_solve = time.perf_counter() - t1
    net = f.network()
    return {"case": label, "n": images.shape[0], "P": f.arrangement.n_patterns,
            "form": f.form, "bound": f.bound, "build_s": t_build, "solve_s": t_solve,
            "value": value, "cnn_objective": net.objective(images, Y, beta),
            "filters": net.n_filters}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.flatnonzero(d.target < 2)
    rows = []
    ns = (10, 20) if args.quick else (10, 20, 40, 80)
    samples = (25, 50) if args.quick else (25, 50, 100, 200)
    for n in ns:
        images = d.images[keep[:n]][:, None] / 16.0
        Y = np.eye(2)[d.target[keep[:n]]]
        for s in samples:
            print(f"... digits n={n} samples={s}", flush=True)
            rows.append(case("digits k3 s2", images, Y, 1.0, kernel_size=3, stride=2,
                             n_samples=s, seed=0))
    rng = np.random.default_rng(0)
    for n in ((8, 16) if args.quick else (8, 16, 32)):
        images = rng.standard_normal((n, 2, 3, 3))
        Y = rng.standard_normal((n, 2))
        print(f"... exact n={n}", flush=True)
        rows.append(case("exact h=2", images, Y, 0.1, kernel_size=1))
    print_table(rows, ["case", "n", "P", "form", "bound", "build_s", "solve_s", "value",
                       "cnn_objective", "filters"])
    write_json("cnn", {"rows": rows})


if __name__ == "__main__":
    main()
