"""Independent references used across tests (deliberately not using cvxrelu's code paths)."""

import numpy as np


def adam_objective(X, Y, beta, m, steps=3000, lr=2e-2, seeds=(0,), loss="squared"):
    """Best primal objective (5) reached by plain Adam in torch over several seeds."""
    import torch

    best = np.inf
    Xt = torch.as_tensor(X, dtype=torch.float64)
    Yt = torch.as_tensor(Y, dtype=torch.float64)
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        W1 = (torch.randn(X.shape[1], m, generator=g, dtype=torch.float64) / np.sqrt(X.shape[1]))
        W2 = (torch.randn(m, Y.shape[1], generator=g, dtype=torch.float64) / np.sqrt(m))
        W1.requires_grad_(True)
        W2.requires_grad_(True)
        opt = torch.optim.Adam([W1, W2], lr=lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=steps // 3, gamma=0.3)
        for _ in range(steps):
            opt.zero_grad()
            F = torch.relu(Xt @ W1) @ W2
            if loss == "squared":
                fit = 0.5 * ((F - Yt) ** 2).sum()
            else:
                fit = torch.nn.functional.cross_entropy(F, Yt.argmax(1), reduction="sum")
            obj = fit + 0.5 * beta * ((W1 ** 2).sum() + (W2 ** 2).sum())
            obj.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            F = torch.relu(Xt @ W1) @ W2
            if loss == "squared":
                fit = 0.5 * ((F - Yt) ** 2).sum()
            else:
                fit = torch.nn.functional.cross_entropy(F, Yt.argmax(1), reduction="sum")
            obj = fit + 0.5 * beta * ((W1 ** 2).sum() + (W2 ** 2).sum())
        best = min(best, float(obj))
    return best


def tiny_instance(rank, seed=0):
    """Data X (10, rank), targets Y (10, 2), β = 0.2·ω(Y) (so the optimum has neurons) and
    the CVXPY bi-dual (12) for it, solved: (X, Y, beta, formulation, p*)."""
    import cvxrelu as cr
    from cvxrelu.geometry.oracle import DualOracle

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((10, rank))
    Y = rng.standard_normal((10, 2))
    beta = 0.2 * DualOracle(X)(Y).value
    f = cr.bidual(X, Y, beta)
    return X, Y, beta, f, f.solve()
