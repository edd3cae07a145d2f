"""Internal rescaling of the data so that solvers see numbers of order one.

Training is invariant under X → aX', Y → bY' in the following sense (rescaled form (25)):
a neuron u of the original problem is u'/a of the scaled one, so for the squared loss

    p*(X, Y, β) = b² · p*(X/a, Y/b, β/(a b)),

and for any other loss (not homogeneous in Y) p*(X, Y, β) = p*(X/a, Y, β/a). Builders solve
the scaled program and report values, variables and networks on the original scale, so data
measured in 1e-6 or 1e6 units still solve accurately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..losses import SquaredLoss, get_loss
from ..networks.network import ReLUNetwork

__all__ = ["DataScale", "data_scale"]


@dataclass(frozen=True)
class DataScale:
    """X = x · X_scaled, Y = y · Y_scaled (y = 1 for losses other than squared)."""

    x: float = 1.0
    y: float = 1.0

    def beta_internal(self, beta: float) -> float:
        return float(beta) / (self.x * self.y)

    @property
    def value(self) -> float:
        """Factor from the scaled program's value to the original one."""
        return self.y ** 2

    def unscale_weights(self, W1: np.ndarray, W2: np.ndarray):
        """Weights on the original scale: f(X) = y · f_scaled(X / x)."""
        return W1 / self.x, W2 * self.y

    def unscale_network(self, net: ReLUNetwork) -> ReLUNetwork:
        W1, W2 = self.unscale_weights(net.W1, net.W2)
        return ReLUNetwork(W1, W2).balanced()


def _positive_scale(s: float) -> float:
    return float(s) if np.isfinite(s) and s > 0 else 1.0


def data_scale(X: np.ndarray, Y: np.ndarray, loss="squared") -> DataScale:
    """x = the largest row norm of X; y = the root-mean-square row norm of Y (squared loss
    only, otherwise 1: the other losses are not homogeneous in Y).

    ``loss`` is a name, callable or :class:`cvxrelu.losses.Loss` (resolved by ``get_loss``)."""
    x = _positive_scale(np.max(np.linalg.norm(X.reshape(X.shape[0], -1), axis=1)))
    y = 1.0
    if isinstance(get_loss(loss), SquaredLoss):
        y = _positive_scale(np.sqrt(np.sum(Y ** 2) / Y.shape[0]))
    return DataScale(x=x, y=y)
