"""Two-layer ReLU networks f(X) = relu(X W1) W2 and their training objective (5).

A :class:`ReLUNetwork` is what every solver of cvxrelu returns, and what
:func:`cvxrelu.certify` accepts. Its :meth:`~ReLUNetwork.objective` evaluates the primal
problem (5) of Sahiner et al. (ICLR 2021) on the library-wide scale

    ½‖relu(X W1) W2 − Y‖²_F + (β/2)(‖W1‖²_F + ‖W2‖²_F)

(summed over samples, never divided by n), so that any network's value is an upper bound on
the global optimum p* and can be compared directly with a convex program's value.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_beta, as_data, as_real_matrix, as_targets
from ..errors import InvalidInputError
from ..losses import get_loss

__all__ = ["ReLUNetwork"]


class ReLUNetwork:
    """A bias-free two-layer ReLU network ``relu(X @ W1) @ W2``.

    Parameters
    ----------
    W1 : array-like, shape (d, m)
        First-layer weights; column j is neuron u_j.
    W2 : array-like, shape (m, c) or (m,)
        Second-layer weights; row j is v_j.
    """

    def __init__(self, W1, W2):
        W2 = np.asarray(W2) if not isinstance(W2, np.ndarray) else W2
        if W2.ndim == 1:
            W2 = W2.reshape(-1, 1)
        W1 = as_real_matrix(W1, "W1", allow_empty=True)
        W2 = as_real_matrix(W2, "W2", allow_empty=True)
        if W1.shape[0] == 0:
            raise InvalidInputError("W1 has d = 0 input features; it must have shape (d, m), d ≥ 1.")
        if W2.shape[1] == 0:
            raise InvalidInputError("W2 has c = 0 outputs; it must have shape (m, c), c ≥ 1.")
        if W1.shape[1] != W2.shape[0]:
            raise InvalidInputError(
                f"W1 has {W1.shape[1]} neurons (columns) but W2 has {W2.shape[0]} rows; "
                "they must match."
            )
        self.W1 = W1
        self.W2 = W2

    # ----------------------------------------------------------------- shape
    @property
    def n_features(self) -> int:
        return self.W1.shape[0]

    @property
    def n_neurons(self) -> int:
        """m, the number of hidden neurons."""
        return self.W1.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.W2.shape[1]

    def __repr__(self) -> str:
        return (f"ReLUNetwork(d={self.n_features}, m={self.n_neurons}, "
                f"c={self.n_outputs})")

    # -------------------------------------------------------------- evaluate
    def _check_X(self, X) -> np.ndarray:
        X = as_data(X)
        if X.shape[1] != self.n_features:
            raise InvalidInputError(
                f"X has {X.shape[1]} features but the network expects {self.n_features}."
            )
        return X

    def hidden(self, X) -> np.ndarray:
        """The hidden activations relu(X W1), shape (n, m)."""
        return np.maximum(self._check_X(X) @ self.W1, 0.0)

    def predict(self, X) -> np.ndarray:
        """The network output relu(X W1) W2, shape (n, c)."""
        return self.hidden(X) @ self.W2

    def weight_decay(self) -> float:
        """½(‖W1‖²_F + ‖W2‖²_F), the regularizer of (5) without β."""
        return 0.5 * (float(np.sum(self.W1 ** 2)) + float(np.sum(self.W2 ** 2)))

    def path_norm(self) -> float:
        """Σ_j ‖u_j‖‖v_j‖: the weight decay after optimal rescaling of each neuron (25)."""
        return float(np.sum(np.linalg.norm(self.W1, axis=0) * np.linalg.norm(self.W2, axis=1)))

    def loss(self, X, Y, loss="squared") -> float:
        """The data-fitting term ℓ(f(X), Y) (squared: ½‖f(X) − Y‖²_F; (5), (76)).

        Parameters
        ----------
        X : array-like (n, d)
        Y : array-like (n,) or (n, c)
            Targets, prepared by the loss (:meth:`cvxrelu.losses.Loss.prepare_targets`):
            e.g. integer class labels (n,) for ``"cross_entropy"`` become one-hot rows with
            one column per network output.
        loss : str, callable or cvxrelu.losses.Loss, default "squared"
            Resolved by :func:`cvxrelu.losses.get_loss`.
        """
        lo = get_loss(loss)
        X = self._check_X(X)
        c = self.n_outputs
        Y = as_targets(lo.prepare_targets(Y, n_classes=c if c >= 2 else None), X.shape[0])
        if Y.shape[1] != c:
            raise InvalidInputError(
                f"Y has {Y.shape[1]} columns but the network has {c} outputs."
            )
        F = np.maximum(X @ self.W1, 0.0) @ self.W2
        return float(lo.value(F, Y))

    def objective(self, X, Y, beta, loss="squared") -> float:
        """The primal training objective (5): loss + (β/2)(‖W1‖²_F + ‖W2‖²_F).

        This is an upper bound on the global optimum p* of any network with the same loss
        and β; equality with a convex program's exact value certifies global optimality.
        ``Y`` and ``loss`` are as in :meth:`loss` (integer labels work for classification
        losses: ``net.objective(X, labels, beta, "cross_entropy")``).
        """
        beta = as_beta(beta)
        return self.loss(X, Y, loss) + beta * self.weight_decay()

    # ------------------------------------------------------------- transform
    def balanced(self) -> "ReLUNetwork":
        """Rescale each neuron so ‖u_j‖ = ‖v_j‖ (same function, minimal weight decay).

        ReLU is positively homogeneous, so (u, v) → (s u, v/s) keeps f; the weight decay
        ½(‖u‖²+‖v‖²) is minimal, equal to ‖u‖‖v‖, when the two norms agree.
        """
        nu = np.linalg.norm(self.W1, axis=0)
        nv = np.linalg.norm(self.W2, axis=1)
        keep = (nu > 0) & (nv > 0)
        s = np.sqrt(nv[keep] / nu[keep])
        return ReLUNetwork(self.W1[:, keep] * s, self.W2[keep] / s[:, None])

    def pruned(self, tol: float = 1e-9) -> "ReLUNetwork":
        """Drop neurons whose contribution ‖u_j‖‖v_j‖ is at most tol times the largest."""
        contrib = np.linalg.norm(self.W1, axis=0) * np.linalg.norm(self.W2, axis=1)
        if contrib.size == 0 or contrib.max() <= 0:
            return ReLUNetwork(np.zeros((self.n_features, 0)), np.zeros((0, self.n_outputs)))
        keep = contrib > tol * contrib.max()
        return ReLUNetwork(self.W1[:, keep], self.W2[keep])

    # ---------------------------------------------------------------- torch
    def to_torch(self, device="cpu", dtype=None):
        """A ``torch.nn.Sequential(Linear(d, m, bias=False), ReLU(), Linear(m, c, bias=False))``
        computing the same function (requires the ``torch`` extra)."""
        from ..integrations._torch import require_torch

        torch = require_torch()
        dtype = dtype or torch.float64
        d, m, c = self.n_features, self.n_neurons, self.n_outputs
        model = torch.nn.Sequential(
            torch.nn.Linear(d, m, bias=False),
            torch.nn.ReLU(),
            torch.nn.Linear(m, c, bias=False),
        ).to(device=device, dtype=dtype)
        with torch.no_grad():
            model[0].weight.copy_(torch.as_tensor(self.W1.T, dtype=dtype, device=device))
            model[2].weight.copy_(torch.as_tensor(self.W2.T, dtype=dtype, device=device))
        return model

    @classmethod
    def from_torch(cls, module) -> "ReLUNetwork":
        """Read a ``Sequential(Linear(bias=False), ReLU(), Linear(bias=False))`` into numpy."""
        from ..integrations._torch import sequential_weights

        W1, W2 = sequential_weights(module)
        return cls(W1, W2)
