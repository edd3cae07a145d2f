"""Builders: data → CVXPY problem for each convex reformulation of the paper."""
