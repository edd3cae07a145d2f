"""What every two-layer ReLU network of cvxrelu shares: neurons (u_j, v_j), objective (5)/(6).

Both the dense network f(X) = Σ_j (X u_j)_+ v_jᵀ of (5) and the CNN with global pooling
f(X) = Σ_j pool_k (X_k u_j)_+ v_jᵀ of (6), (50) (Sahiner et al., ICLR 2021) are sums of m
neurons, each a first-layer vector u_j ∈ R^h (a column of W1, or a flattened filter) and a
row v_j ∈ R^c of the second layer W2. Everything that only depends on that structure lives in
:class:`TwoLayerNetwork`:

* the regularizer ½ Σ_j (‖u_j‖² + ‖v_j‖²) and the path norm Σ_j ‖u_j‖‖v_j‖ (25);
* the objective on the library-wide scale, ℓ(f(X), Y) + (β/2) Σ_j (‖u_j‖² + ‖v_j‖²), with
  any loss of :mod:`cvxrelu.losses` (squared: ½‖f(X) − Y‖²_F, summed over samples);
* balancing: ReLU is positively homogeneous, (u_j, v_j) → (s u_j, v_j / s) keeps f, and the
  weight decay ½(‖u_j‖² + ‖v_j‖²) ≥ ‖u_j‖‖v_j‖ is minimal when ‖u_j‖ = ‖v_j‖ (the rescaling
  argument behind (25) and Lemma 1 / the equivalence of (5) and (7));
* pruning of neurons whose contribution ‖u_j‖‖v_j‖ is negligible;
* validation of the second layer and the torch conversion plumbing.

A subclass says how the first layer acts on its input (:meth:`TwoLayerNetwork.hidden`), how
its first-layer vectors are stored (:attr:`TwoLayerNetwork.neuron_weights`,
:meth:`TwoLayerNetwork._from_neurons`) and which torch layers hold the weights
(:meth:`TwoLayerNetwork._torch_layout`).

Examples
--------
>>> import numpy as np
>>> from cvxrelu import ReLUNetwork
>>> net = ReLUNetwork([[2.0, 0.0], [0.0, 1.0]], [[1.0], [0.0]])
>>> net.n_neurons, net.pruned().n_neurons
(2, 1)
>>> b = net.balanced()
>>> float(b.weight_decay()), net.path_norm()
(2.0, 2.0)
"""

from __future__ import annotations

import numpy as np

from .._validate import as_beta, as_real_matrix, as_targets
from ..errors import InvalidInputError
from ..losses import get_loss

__all__ = ["TwoLayerNetwork", "as_output_weights"]


def as_output_weights(W2, name: str = "W2") -> np.ndarray:
    """The second layer as a finite real (m, c) array: rows v_j, c ≥ 1 (1-D → one column).

    Raises
    ------
    InvalidInputError
        Naming ``name`` when W2 is not numeric, not 1-D/2-D, not finite or has no column.
    """
    if W2 is not None and not isinstance(W2, np.ndarray):
        W2 = np.asarray(W2)
    if isinstance(W2, np.ndarray) and W2.ndim == 1:
        W2 = W2.reshape(-1, 1)
    W2 = as_real_matrix(W2, name, allow_empty=True)
    if W2.shape[1] == 0:
        raise InvalidInputError(f"{name} has c = 0 outputs; it must have shape (m, c), c ≥ 1.")
    return W2


class TwoLayerNetwork:
    """Base of the bias-free two-layer ReLU networks f = Σ_j a_j(X; u_j) v_jᵀ.

    Subclasses store the second layer as ``self.W2`` (shape (m, c), rows v_j) and implement
    :meth:`hidden`, :attr:`neuron_weights`, :meth:`_from_neurons` and :meth:`_torch_layout`.
    Every transform (:meth:`balanced`, :meth:`pruned`) returns a new network of the same
    class; the objective of any network is an upper bound on the global optimum p* of its
    training problem, (5) for dense and (6) for convolutional networks.
    """

    W2: np.ndarray

    # ----------------------------------------------------- subclass interface
    @property
    def neuron_weights(self) -> np.ndarray:
        """U ∈ R^{h×m}: column j is the first-layer vector u_j of neuron j."""
        raise NotImplementedError

    def hidden(self, X) -> np.ndarray:
        """The (pooled) hidden activations a_j(X), shape (n, m)."""
        raise NotImplementedError

    def _from_neurons(self, U: np.ndarray, W2: np.ndarray) -> "TwoLayerNetwork":
        """A network of the same architecture with first-layer vectors U (h × m') and W2."""
        raise NotImplementedError

    def _torch_layout(self, torch):
        """(model, [(layer index, weight array), ...]): the torch module and its weights."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shape
    @property
    def n_neurons(self) -> int:
        """m, the number of hidden neurons (filters)."""
        return self.W2.shape[0]

    @property
    def n_outputs(self) -> int:
        """c, the number of outputs."""
        return self.W2.shape[1]

    @staticmethod
    def _check_neuron_count(m: int, W2: np.ndarray, first: str, what: str) -> None:
        """Raise unless W2 has one row per neuron of the first layer (``first`` has m)."""
        if m != W2.shape[0]:
            raise InvalidInputError(
                f"{first} has {m} {what} but W2 has {W2.shape[0]} rows; they must match "
                "(one row of W2 per neuron)."
            )

    # --------------------------------------------------------------- evaluate
    def predict(self, X) -> np.ndarray:
        """The network output f(X) = hidden(X) W2, shape (n, c)."""
        return self.hidden(X) @ self.W2

    def neuron_norms(self) -> tuple[np.ndarray, np.ndarray]:
        """(‖u_j‖₂, ‖v_j‖₂) for every neuron j, two arrays of length m."""
        return (np.linalg.norm(self.neuron_weights, axis=0),
                np.linalg.norm(self.W2, axis=1))

    def weight_decay(self) -> float:
        """½ Σ_j (‖u_j‖² + ‖v_j‖²) = ½(‖W1‖²_F + ‖W2‖²_F), the regularizer of (5)/(6)
        without β."""
        return 0.5 * (float(np.sum(self.neuron_weights ** 2)) + float(np.sum(self.W2 ** 2)))

    def path_norm(self) -> float:
        """Σ_j ‖u_j‖‖v_j‖: the weight decay after optimal rescaling of each neuron (25)."""
        nu, nv = self.neuron_norms()
        return float(np.sum(nu * nv))

    def loss(self, X, Y, loss="squared") -> float:
        """The data-fitting term ℓ(f(X), Y), summed over samples (squared: ½‖f(X) − Y‖²_F;
        (5), (76)).

        Parameters
        ----------
        X : array-like
            The network's input (data (n, d) or images (n, C, H, W)).
        Y : array-like (n,) or (n, c)
            Targets, prepared by the loss (:meth:`cvxrelu.losses.Loss.prepare_targets`):
            e.g. integer class labels (n,) for ``"cross_entropy"`` become one-hot rows with
            one column per network output.
        loss : str, callable or cvxrelu.losses.Loss, default "squared"
            Resolved by :func:`cvxrelu.losses.get_loss`.
        """
        lo = get_loss(loss)
        F = self.predict(X)
        c = self.n_outputs
        Y = as_targets(lo.prepare_targets(Y, n_classes=c if c >= 2 else None), F.shape[0])
        if Y.shape[1] != c:
            raise InvalidInputError(
                f"Y has {Y.shape[1]} columns but the network has {c} outputs."
            )
        return float(lo.value(F, Y))

    def objective(self, X, Y, beta, loss="squared") -> float:
        """The primal training objective (5)/(6): loss + (β/2)(‖W1‖²_F + ‖W2‖²_F).

        This is an upper bound on the global optimum p* of any network of the same
        architecture, loss and β; equality with a convex program's exact value certifies
        global optimality. ``Y`` and ``loss`` are as in :meth:`loss` (integer labels work for
        classification losses: ``net.objective(X, labels, beta, "cross_entropy")``).
        """
        beta = as_beta(beta)
        return self.loss(X, Y, loss) + beta * self.weight_decay()

    # -------------------------------------------------------------- transform
    def balanced(self):
        """Rescale each neuron so ‖u_j‖ = ‖v_j‖ (same function, minimal weight decay).

        ReLU is positively homogeneous, so (u, v) → (s u, v/s) keeps f; the weight decay
        ½(‖u‖²+‖v‖²) is minimal, equal to ‖u‖‖v‖, when the two norms agree. Neurons with
        u_j = 0 or v_j = 0 (which contribute nothing to f) are dropped.
        """
        nu, nv = self.neuron_norms()
        keep = (nu > 0) & (nv > 0)
        s = np.sqrt(nv[keep] / nu[keep])
        return self._from_neurons(self.neuron_weights[:, keep] * s, self.W2[keep] / s[:, None])

    def pruned(self, tol: float = 1e-9):
        """Drop neurons whose contribution ‖u_j‖‖v_j‖ is at most tol times the largest
        (all of them when every contribution is zero)."""
        nu, nv = self.neuron_norms()
        contrib = nu * nv
        if contrib.size == 0 or contrib.max() <= 0:
            keep = np.zeros(contrib.size, dtype=bool)
        else:
            keep = contrib > tol * contrib.max()
        return self._from_neurons(self.neuron_weights[:, keep], self.W2[keep])

    # ------------------------------------------------------------------ torch
    def to_torch(self, device="cpu", dtype=None):
        """The network as a ``torch.nn.Sequential`` computing the same function
        (float64 by default; requires the ``torch`` extra)."""
        from .._torch import require_torch

        torch = require_torch()
        dtype = dtype or torch.float64
        model, weights = self._torch_layout(torch)
        model = model.to(device=device, dtype=dtype)
        with torch.no_grad():
            for index, array in weights:
                model[index].weight.copy_(torch.as_tensor(array, dtype=dtype, device=device))
        return model

    @staticmethod
    def _torch_weight(layer) -> np.ndarray:
        """A torch layer's weight as a float64 numpy array (a copy, on the CPU)."""
        return layer.weight.detach().cpu().double().numpy().copy()
