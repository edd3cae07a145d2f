"""The general-loss driver on the 60-point spiral (issue 11: "cross-entropy driver on the
60-point spiral: certified 1e-6 in ≤ 1 s").

For each loss, ``cr.cutting_plane(X, Y, β, loss=...)`` (column generation on the dual (79),
any-loss master) to a relative gap of 1e-6, timed after one warm-up call (imports), next to
``cr.bidual(X, Y, β, loss=...)`` (the exact convex program (79) over all 114 sign patterns,
Clarabel) as the independent reference value.

Usage::

    python benchmarks/loss_driver.py            # table + benchmarks/results/loss_driver.json
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import cvxrelu as cr
from _common import print_table, write_json

LOSSES = ("cross_entropy", "logistic", "huber", "squared")


def _targets(loss, Y):
    # one-hot Y for the multi-class losses; logistic is binary: class 0 against the rest
    return Y[:, 0] if loss == "logistic" else Y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beta", type=float, default=0.1)
    args = ap.parse_args()
    X, Y = cr.datasets.spiral()
    cr.cutting_plane(X, Y, 1.0, loss="cross_entropy", progress=False)  # warm the imports
    rows = []
    for loss in LOSSES:
        T = _targets(loss, Y)
        t0 = time.perf_counter()
        res = cr.cutting_plane(X, T, args.beta, loss=loss, tol=1e-6, progress=False)
        t_drv = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = cr.bidual(X, T, args.beta, loss=loss).solve()
        t_ref = time.perf_counter() - t0
        rows.append({"loss": loss, "driver_s": t_drv, "status": str(res.status),
                     "certified_rel_gap": res.certified_rel_gap, "upper": res.upper,
                     "bidual_s": t_ref, "bidual_value": ref,
                     "rel_diff": abs(res.upper - ref) / max(abs(ref), 1e-300)})
    print_table(rows, ["loss", "driver_s", "status", "certified_rel_gap", "upper", "bidual_s",
                       "bidual_value", "rel_diff"])
    write_json("loss_driver", {"rows": rows, "beta": args.beta,
                               "target": "cross_entropy certified 1e-6 in <= 1 s"})


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
