"""The convex programs of Sahiner et al. (ICLR 2021) as CVXPY problems: gauge sets, one Formulation class per program, recovery of the network, solver policy."""
