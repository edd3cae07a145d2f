"""Quickstart: train a two-layer ReLU network on the 3-class spiral to its *global* optimum.

The bi-dual (12) of Sahiner et al. (ICLR 2021) is a convex program whose optimal value equals
the lowest training objective any two-layer ReLU network can reach. We build it, solve it with
Clarabel, recover a real network from the solution, and certify it: the network's training
objective (an upper bound on the optimum), the convex value (exact here: rank-2 data, all
sign patterns) and a dual-feasible lower bound (cr.certify, from the dual (11)) agree up to the
printed gaps.

Run:  python examples/quickstart.py [--beta 0.01]
"""

from __future__ import annotations

import argparse
import time

import cvxrelu as cr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beta", type=float, default=1e-2, help="weight decay β")
    parser.add_argument("--quick", action="store_true", help="(same size; kept for the test suite)")
    args = parser.parse_args(argv)

    X, Y = cr.datasets.spiral()                      # 60 points, 3 classes, one-hot targets
    t0 = time.perf_counter()
    f = cr.bidual(X, Y, beta=args.beta)              # convex program (12), all 114 patterns
    t_build = time.perf_counter() - t0
    p_star = f.solve()                               # Clarabel
    t_solve = time.perf_counter() - t0 - t_build
    net = f.network()                                # a real ReLU network (Remark 5.1)
    upper = net.objective(X, Y, args.beta)           # its training objective (5)
    cert = cr.certify(net, X, Y, args.beta)          # dual-feasible point: a lower bound (11)
    gap = upper - p_star
    accuracy = float((net.predict(X).argmax(1) == Y.argmax(1)).mean())

    print("3-class spiral: n = 60, d = 2, c = 3, beta =", args.beta)
    print(f"  sign patterns P           : {f.arrangement.n_patterns} (complete: {f.arrangement.exact})")
    print(f"  convex program (12)       : form={f.form!r}, bound={f.bound!r}")
    print(f"  build / solve time        : {t_build:.3f} s / {t_solve:.3f} s")
    print(f"  global optimum p* (convex): {p_star:.10f}")
    print(f"  recovered network         : {net.n_neurons} neurons, objective {upper:.10f}")
    print(f"  training accuracy         : {accuracy:.3f}")
    print(f"  gap to the convex optimum : {gap:.3e} (relative {gap / p_star:.1e})")
    print(f"  dual lower bound (certify): {cert.lower:.10f} (certified: {cert.certified})")
    print(f"  certified gap (upper-lower): {cert.gap:.3e} (relative {cert.rel_gap:.1e})")
    if f.bound == "exact" and abs(gap) <= 1e-5 * p_star and cert.lower <= p_star + 1e-7 * p_star:
        print("  => the recovered network is globally optimal (certified).")
    print(f"RESULT p_star={p_star:.10g} upper={upper:.10g} lower={cert.lower:.10g} "
          f"rel_gap={gap / p_star:.3e} cert_rel_gap={cert.rel_gap:.3e} neurons={net.n_neurons}")
    return p_star, upper


if __name__ == "__main__":
    main()
