"""Benchmark of the CNN driver :func:`cvxrelu.drivers.conv_cutting_plane.conv_cutting_plane`
(column generation for program (50), no CVXPY).

Cases (scikit-learn digits, 8×8, one channel, pixels / 16, one-hot targets, sum pooling):

1. all 1 797 images, all 10 classes, 2×2 kernels (h = 4, K = 49 patches), β = α·β_max with
   β_max = ω(Y) (the oracle value at the targets: the smallest β at which the zero CNN is
   optimal). h = 4 means the per-round oracle is the heuristic one; the certified lower
   bound comes from ``DualOracle.bound`` (loose for rank 4 until an exact rank-4 bound is
   merged) — both the certified and the heuristic gap are reported.
2. the 80-image digits 0-vs-1 case of ``benchmarks/cnn.py`` (3×3 kernels, stride 2, β = 1),
   which ``conv_bidual`` with 193 sampled patterns builds and solves in 37 s (recorded in
   ``results/cnn.json``): the driver against ``conv_bidual`` in the same process.

Run:  python benchmarks/cnn_driver.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import print_table, write_json

import cvxrelu as cr
from cvxrelu.drivers.conv_cutting_plane import conv_beta_max, conv_cutting_plane


def _row(label, images, Y, beta, res, extra=None):
    net = res.network
    acc = float(np.mean(np.argmax(net.predict(images), axis=1) == np.argmax(Y, axis=1)))
    row = {"case": label, "n": images.shape[0], "beta": beta, "time_s": res.time,
           "status": res.status, "upper": res.upper, "lower_cert": res.lower,
           "rel_gap_cert": res.rel_gap,
           "lower_heur": res.info.get("heuristic_lower"),
           "rel_gap_heur": res.info.get("heuristic_rel_gap"),
           "omega_bound": res.info["omega_bound"].method,
           "filters": net.n_filters, "iters": res.iterations, "train_acc": acc,
           "oracle_calls": res.info["oracle_calls"], "oracle_s": res.info["oracle_time"],
           "local_s": res.info["local_time"], "master_s": res.info["master_time"],
           "cnn_objective": net.objective(images, Y, beta)}
    row.update(extra or {})
    return row


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--alpha", type=float, default=0.01, help="β / β_max for case 1")
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args(argv)
    from sklearn.datasets import load_digits

    d = load_digits()
    rows = []

    # 1. all digits (or 300 in --quick), 2×2 kernels
    n1 = 300 if args.quick else d.images.shape[0]
    images = d.images[:n1][:, None] / 16.0
    Y = np.eye(10)[d.target[:n1]]
    t0 = time.perf_counter()
    bmax = conv_beta_max(images, Y, kernel_size=2, seed=0)
    t_bmax = time.perf_counter() - t0
    beta = args.alpha * bmax.lower
    print(f"... digits n={n1} 2x2: beta_max in [{bmax.lower:.6g}, {bmax.upper:.6g}] "
          f"({t_bmax:.1f}s), beta = {beta:.6g}", flush=True)
    res = conv_cutting_plane(images, Y, beta, kernel_size=2, seed=0, progress=False,
                             time_limit=args.time_limit or (60.0 if args.quick else 300.0))
    rows.append(_row("digits k2", images, Y, beta, res,
                     {"alpha": args.alpha, "beta_max_lo": bmax.lower,
                      "beta_max_hi": bmax.upper, "beta_max_s": t_bmax}))
    print(res.summary(), flush=True)

    # 2. digits 0-vs-1, 3×3 kernels, stride 2, β = 1: driver vs conv_bidual (sampled)
    n2, samples = (20, 50) if args.quick else (80, 200)
    keep = np.flatnonzero(d.target < 2)[:n2]
    images = d.images[keep][:, None] / 16.0
    Y = np.eye(2)[d.target[keep]]
    print(f"... digits 0/1 n={n2} 3x3 stride 2: conv_bidual ({samples} samples)", flush=True)
    t0 = time.perf_counter()
    f = cr.conv_bidual(images, Y, 1.0, kernel_size=3, stride=2, n_samples=samples, seed=0)
    value = f.solve()
    cnn = f.network()
    t_cvx = time.perf_counter() - t0
    rows.append({"case": "k3 s2 conv_bidual", "n": n2, "beta": 1.0, "time_s": t_cvx,
                 "status": f.bound, "upper": cnn.objective(images, Y, 1.0),
                 "convex_value": value, "filters": cnn.n_filters,
                 "patterns": f.arrangement.n_patterns})
    print("... driver", flush=True)
    res = conv_cutting_plane(images, Y, 1.0, kernel_size=3, stride=2, seed=0, progress=False,
                             time_limit=60.0)
    rows.append(_row("k3 s2 driver", images, Y, 1.0, res,
                     {"speedup_vs_conv_bidual": t_cvx / res.time}))
    print(res.summary(), flush=True)

    print_table(rows, ["case", "n", "beta", "time_s", "oracle_s", "status", "upper",
                       "lower_cert", "rel_gap_cert", "rel_gap_heur", "filters", "iters",
                       "train_acc"])
    write_json("cnn_driver_quick" if args.quick else "cnn_driver", {"rows": rows})


if __name__ == "__main__":
    main()
