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

from .._validate import as_data, as_real_matrix
from ..errors import InvalidInputError
from .network_base import TwoLayerNetwork, as_output_weights

__all__ = ["ReLUNetwork"]


class ReLUNetwork(TwoLayerNetwork):
    """A bias-free two-layer ReLU network ``relu(X @ W1) @ W2``.

    The objective (5), balancing, pruning and the path norm come from
    :class:`~cvxrelu.networks.network_base.TwoLayerNetwork`.

    Parameters
    ----------
    W1 : array-like, shape (d, m)
        First-layer weights; column j is neuron u_j.
    W2 : array-like, shape (m, c) or (m,)
        Second-layer weights; row j is v_j.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxrelu import ReLUNetwork
    >>> net = ReLUNetwork([[1.0, -1.0]], [1.0, 1.0])      # f(x) = |x|
    >>> net.predict([[-2.0], [3.0]]).ravel().tolist()
    [2.0, 3.0]
    >>> net.objective([[-2.0], [3.0]], [2.0, 3.0], beta=0.5)   # ½·0 + ½·½·(2 + 2)
    1.0
    """

    def __init__(self, W1, W2):
        W1 = as_real_matrix(W1, "W1", allow_empty=True)
        if W1.shape[0] == 0:
            raise InvalidInputError("W1 has d = 0 input features; it must have shape (d, m), d ≥ 1.")
        W2 = as_output_weights(W2, "W2")
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
        """d, the number of input features."""
        return self.W1.shape[0]

    @property
    def neuron_weights(self) -> np.ndarray:
        """W1 itself: column j is u_j."""
        return self.W1

    def __repr__(self) -> str:
        return (f"ReLUNetwork(d={self.n_features}, m={self.n_neurons}, "
                f"c={self.n_outputs})")

    def _from_neurons(self, U, W2) -> "ReLUNetwork":
        return ReLUNetwork(U, W2)

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

    # ---------------------------------------------------------------- torch
    def to_torch(self, device="cpu", dtype=None):
        """A ``torch.nn.Sequential(Linear(d, m, bias=False), ReLU(), Linear(m, c, bias=False))``
        computing the same function (float64 by default; requires the ``torch`` extra)."""
        return super().to_torch(device=device, dtype=dtype)

    def _torch_layout(self, torch):
        d, m, c = self.n_features, self.n_neurons, self.n_outputs
        model = torch.nn.Sequential(
            torch.nn.Linear(d, m, bias=False),
            torch.nn.ReLU(),
            torch.nn.Linear(m, c, bias=False),
        )
        return model, [(0, self.W1.T), (2, self.W2.T)]

    @classmethod
    def from_torch(cls, module) -> "ReLUNetwork":
        """Read a ``Sequential(Linear(bias=False), ReLU(), Linear(bias=False))`` into numpy."""
        from .._torch import sequential_weights

        W1, W2 = sequential_weights(module)
        return cls(W1, W2)
