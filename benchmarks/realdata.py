"""Benchmark: ConvexReLUClassifier() on real data vs MLPClassifier and train_sgd/Adam.

Issue 11's targets, on scikit-learn's digits (all 10 classes, 1 797 images), breast cancer and
wine (standardized, stratified 75/25 split), default settings, same process:

- fit time of ``ConvexReLUClassifier()`` ≤ 3 × that of ``MLPClassifier(max_iter=1000)``;
- test accuracy ≥ MLP's − 0.01;
- training objective ≤ the best of ``cr.train_sgd`` (SGD, the paper's protocol) and Adam
  (100 neurons each, 1000 epochs) on the same objective (the classifier's loss and β, SPEC (5)).

The measurements come from :func:`examples.real_data.compare` (the example's code, so the
two cannot drift apart). Prints a table and writes benchmarks/results/realdata.json.

Run: ``python benchmarks/realdata.py [--quick] [--datasets digits,breast_cancer,wine]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from _common import print_table, write_json

ROOT = Path(__file__).resolve().parents[1]


def _example():
    spec = importlib.util.spec_from_file_location("real_data_example",
                                                  ROOT / "examples" / "real_data.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subsampled data (smoke run)")
    parser.add_argument("--datasets", default="digits,breast_cancer,wine")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ex = _example()
    rows = []
    for name in [s for s in args.datasets.split(",") if s]:
        r = ex.compare(name, quick=args.quick, seed=args.seed, with_sgd=True,
                       cvx_params={"time_limit": 4.0} if args.quick else None)
        r["target_time"] = r["time_ratio"] <= 3.0
        r["target_acc"] = r["acc_cvx"] >= r["acc_mlp"] - 0.01
        r["target_obj"] = r["obj_ratio"] <= 1.0
        rows.append(r)
        print(f"{name}: done ({r['time_cvx']:.1f} s)", flush=True)
    print()
    print_table(rows, ["dataset", "n_train", "time_cvx", "time_mlp", "time_ratio",
                       "target_time", "acc_cvx", "acc_mlp", "target_acc", "obj_cvx",
                       "obj_sgd", "obj_adam", "obj_ratio", "target_obj", "neurons_cvx",
                       "iters_cvx", "certified", "status"])
    write_json("realdata" + ("_quick" if args.quick else ""),
               {"description": __doc__.splitlines()[0], "quick": args.quick,
                "settings": "ConvexReLUClassifier() defaults; MLPClassifier(max_iter=1000); "
                            "train_sgd m=100 (sgd and adam), 1000 epochs (200 with --quick)",
                "rows": rows})


if __name__ == "__main__":
    main()
