"""Composing cvxrelu with your own CVXPY: constraints, other solvers, hand-written models.

Every builder returns a :class:`cvxrelu.Formulation` whose ``problem`` is an ordinary
``cvxpy.Problem``, whose ``variables`` expose the program's CVXPY variables/expressions and
whose ``beta`` is a ``cvxpy.Parameter``. This script

1. solves the bi-dual (12) on the spiral (the exact global optimum p*);
2. adds a bound on the network's outputs, |F| ≤ 0.8 elementwise (``f.variables["F"]``),
   with ``f.with_constraints([...])`` and re-solves with SCS: the value rises (the bound of a
   restricted program is "upper"), and the factorized network respects the output bound;
3. forbids half of the sign patterns (a block of ``f.variables["V"]`` set to zero): again a
   restriction, still an upper bound attained by a real network;
4. changes β through the parameter and re-solves without rebuilding;
5. writes the bi-dual of Figure 1's data BY HAND from ``cvxrelu.sign_patterns`` and one
   ``cvxrelu.cone_gauge`` per pattern, and checks that it matches ``cvxrelu.bidual``.

Printed: a table of values, bounds and networks, and a last line ``RESULT key=value ...``.
No figure (``--out`` is accepted for uniformity and ignored).

Run:  python examples/compose_with_cvxpy.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import cvxpy as cp
import numpy as np

try:
    import cvxrelu  # noqa: F401
except ImportError:  # running from a source checkout without installation
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import cvxrelu as cr  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(same size; kept for the tests)")
    parser.add_argument("--out", default=None, help="(no figure; ignored)")
    parser.add_argument("--beta", type=float, default=1e-2)
    parser.add_argument("--bound", type=float, default=0.8, help="output bound |F| ≤ bound")
    args = parser.parse_args(argv)
    beta = args.beta

    t0 = time.perf_counter()
    X, Y = cr.datasets.spiral()
    rows = []

    # 1. the exact program
    f = cr.bidual(X, Y, beta)
    p_star = f.solve()
    net = f.network()
    rows.append(("bi-dual (12), Clarabel", f.bound, p_star, net.objective(X, Y, beta),
                 net.n_neurons, np.abs(net.predict(X)).max()))

    # 2. a bound on the outputs, solved with SCS
    F = f.variables["F"]
    g = f.with_constraints([cp.abs(F) <= args.bound])
    v_bounded = g.solve(solver="SCS", eps=1e-6, max_iters=100_000)
    net_b = g.network(refit=False, solver="SCS")   # the factorization: no refit, keeps |F| ≤ b
    rows.append((f"+ |F| <= {args.bound:g}, SCS", g.bound, v_bounded,
                 net_b.objective(X, Y, beta), net_b.n_neurons, np.abs(net_b.predict(X)).max()))

    # 3. sparsity: no neuron in the first half of the sign patterns
    V = f.variables["V"]
    r = f.info["rank"]
    half = f.arrangement.n_patterns // 2
    h = f.with_constraints([V[: half * r, :] == 0])
    v_sparse = h.solve()
    net_s = h.network()
    rows.append((f"+ V_1..V_{half} = 0", h.bound, v_sparse, net_s.objective(X, Y, beta),
                 net_s.n_neurons, np.abs(net_s.predict(X)).max()))

    # 4. β is a cvxpy.Parameter: change it and re-solve the same (compiled) problem
    f.beta.value = 10 * beta
    v_beta = f.solve()
    net_10 = f.network()
    rows.append((f"beta -> {10 * beta:g} (same problem)", f.bound, v_beta,
                 net_10.objective(X, Y, 10 * beta), net_10.n_neurons,
                 np.abs(net_10.predict(X)).max()))
    f.beta.value = beta

    header = f"{'program':<30}{'bound':>7}{'value':>14}{'network obj.':>14}{'neurons':>9}" \
             f"{'max|f(X)|':>11}"
    print(f"3-class spiral, beta = {beta}: p* = {p_star:.10g}")
    print()
    print(header)
    print("-" * len(header))
    for name, bound, value, obj, m, fmax in rows:
        print(f"{name:<30}{bound:>7}{value:>14.8g}{obj:>14.8g}{m:>9}{fmax:>11.4f}")
    print("(value: the convex program's optimum; network obj.: the primal objective (5) of the "
          "recovered network, an upper bound on that program's optimum)")

    # 5. the bi-dual (12) written by hand from sign patterns and cone gauges
    X1, Y1 = cr.datasets.figure1()
    arr = cr.sign_patterns(X1)
    n, d = X1.shape
    c = Y1.shape[1]
    Vs, cons, penalty, fit = [], [], 0, 0
    for i in range(arr.n_patterns):
        Di = arr.masks[:, i].astype(float)
        Vi = cp.Variable((d, c))
        term = cr.cone_gauge(Vi, A=(2 * Di - 1)[:, None] * X1)   # γ_i(V_i) of (13)
        Vs.append(Vi)
        cons += term.constraints
        penalty = penalty + term.expr
        fit = fit + (Di[:, None] * X1) @ Vi                       # D_i X V_i
    b = cp.Parameter(nonneg=True, value=beta)
    hand = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(fit - Y1) + b * penalty), cons)
    with warnings.catch_warnings():      # CVXPY's notes on the 3-D lifted variables
        warnings.simplefilter("ignore")
        v_hand = hand.solve(solver="CLARABEL")
    v_lib = cr.bidual(X1, Y1, beta).solve()
    print()
    print(f"hand-written bi-dual of Figure 1's data ({arr.n_patterns} cone_gauge terms, form "
          f"{term.form!r}, bound {term.bound!r}): {v_hand:.10g}; cr.bidual: {v_lib:.10g}; "
          f"relative difference {abs(v_hand - v_lib) / v_lib:.1e}")

    print(f"total time {time.perf_counter() - t0:.1f} s")
    print(f"RESULT p_star={p_star:.10g} bounded_value={v_bounded:.10g} "
          f"bounded_max_output={np.abs(net_b.predict(X)).max():.6f} "
          f"bounded_network={net_b.objective(X, Y, beta):.10g} "
          f"sparse_value={v_sparse:.10g} sparse_network={net_s.objective(X, Y, beta):.10g} "
          f"beta10_value={v_beta:.10g} hand_value={v_hand:.10g} library_value={v_lib:.10g} "
          f"hand_rel_diff={abs(v_hand - v_lib) / v_lib:.3e}")
    return rows


if __name__ == "__main__":
    main()
