"""Two-layer convolutional ReLU networks with global pooling, model (6), (50), (51).

Sahiner et al. (ICLR 2021) write a two-layer CNN with global pooling as (50)

    f(X) = Σ_j Σ_k (X_k u_j)_+ v_jᵀ,

where X_k ∈ R^{n×h} is the k-th patch of every image (see :mod:`cvxrelu.geometry.patches`), u_j ∈ R^h
is the j-th filter flattened channel-major and v_j ∈ R^c its output weights: a convolution,
a ReLU, a **sum** over the K spatial positions, then a linear layer. Its training problem (6)
is, on the library-wide scale (sums, never means),

    ½‖f(X) − Y‖²_F + (β/2) Σ_j (‖u_j‖² + ‖v_j‖²),

whose convex reformulation (51) uses the sign patterns of M = [X_1; …; X_K].

:class:`ConvReLUNetwork` stores such a network, evaluates it and its objective, and converts
to and from ``torch.nn.Sequential(Conv2d, ReLU, pool, Flatten, Linear)``.

Mean pooling
------------
``pooling="mean"`` divides the sum over patches by K (global average pooling, the usual CNN
layer). Since ReLU is positively homogeneous it is sum pooling in disguise, in two ways:

* the same function: mean pooling with (u_j, v_j) equals sum pooling with (u_j, v_j / K)
  (:meth:`ConvReLUNetwork.sum_pooling_equivalent`);
* the same objective: mean pooling with (u_j, v_j) on images X equals sum pooling with the
  same (u_j, v_j) on images X / K, because (X_k u / K)_+ = (X_k u)_+ / K and the patches are
  linear in the images; so (51) solved on patches X_k / K gives the mean-pooling optimum with
  unchanged weight decay.

K = H_out·W_out depends on the image size, so the two agree only for images of one size.
"""

from __future__ import annotations

import numpy as np

from .._validate import _as_float_array, _check_finite, check_choice
from ..errors import InvalidInputError, UnsupportedError
from .network_base import TwoLayerNetwork, as_output_weights
from ..geometry.patches import as_images, as_pair, patch_grid_shape, patches

# ``GlobalSumPool2d`` (a torch module) is created on first access and is left out of
# ``__all__`` so that ``from cvxrelu.networks.conv_network import *`` works without torch.
__all__ = ["ConvReLUNetwork"]

_POOLINGS = ("sum", "mean")


class ConvReLUNetwork(TwoLayerNetwork):
    """A bias-free two-layer CNN ``pool_k relu(conv(X)) @ W2`` with global pooling (50).

    Neuron j is the flattened filter u_j and the row v_j of W2; the objective (6),
    balancing, pruning and the path norm come from
    :class:`~cvxrelu.networks.network_base.TwoLayerNetwork`.

    Parameters
    ----------
    filters : array-like, shape (m, C, kh, kw)
        Convolution filters (the ``weight`` of ``torch.nn.Conv2d(C, m, (kh, kw))``); filter j
        flattened, ``filters[j].reshape(-1)``, is u_j ∈ R^h with h = C·kh·kw.
    W2 : array-like, shape (m, c) or (m,)
        Second-layer weights; row j is v_j.
    stride : int or (int, int)
        Convolution stride.
    padding : int or (int, int)
        Zero padding on each side.
    pooling : {"sum", "mean"}
        Global pooling over the K spatial positions. ``"sum"`` (default) is formula (50) of
        the paper; ``"mean"`` is global average pooling, equal to ``"sum"`` with W2 / K
        (see the module docstring).

    Notes
    -----
    ``predict(images)[i] = Σ_j pool_k (⟨X_k(images)[i], u_j⟩)_+ v_jᵀ``.

    Examples
    --------
    One 1×2 filter that sums neighbouring pixels, on one 1×3 image (K = 2 patches):

    >>> import numpy as np
    >>> from cvxrelu import ConvReLUNetwork
    >>> net = ConvReLUNetwork(np.ones((1, 1, 1, 2)), [1.0])
    >>> net.predict(np.array([[[[1.0, 2.0, -5.0]]]])).tolist()  # (1+2)_+ + (2−5)_+
    [[3.0]]
    """

    def __init__(self, filters, W2, stride=1, padding=0, pooling="sum"):
        filters = _as_float_array(filters, "filters")  # None, complex, non-numeric: refused
        if filters.ndim != 4:
            raise InvalidInputError(
                "filters must have shape (m, C, kh, kw) like torch.nn.Conv2d.weight; got shape "
                f"{filters.shape}. Use filters[:, None] for single-channel (m, kh, kw) filters."
            )
        if min(filters.shape[1:]) < 1:
            raise InvalidInputError(
                f"filters has an empty channel or kernel dimension (shape {filters.shape}); "
                "pass at least one channel and a kernel of at least 1×1."
            )
        _check_finite(filters, "filters")
        W2 = as_output_weights(W2, "W2")
        self._check_neuron_count(filters.shape[0], W2, "filters", "filters")
        self.filters = filters
        self.W2 = W2
        self.stride = as_pair(stride, "stride")
        self.padding = as_pair(padding, "padding", minimum=0)
        self.pooling = check_choice(pooling, _POOLINGS, "pooling")

    # ----------------------------------------------------------------- shape
    @property
    def n_filters(self) -> int:
        """m, the number of filters (hidden channels)."""
        return self.filters.shape[0]

    @property
    def in_channels(self) -> int:
        """C, the number of input channels."""
        return self.filters.shape[1]

    @property
    def kernel_size(self) -> tuple[int, int]:
        """(kh, kw)."""
        return int(self.filters.shape[2]), int(self.filters.shape[3])

    @property
    def patch_size(self) -> int:
        """h = C·kh·kw, the length of a patch and of a flattened filter."""
        return int(np.prod(self.filters.shape[1:]))

    @property
    def patch_weights(self) -> np.ndarray:
        """U ∈ R^{h×m}: column j is the flattened filter u_j (ordering of :func:`patches`)."""
        return self.filters.reshape(self.n_filters, self.patch_size).T

    @property
    def neuron_weights(self) -> np.ndarray:
        """Alias of :attr:`patch_weights` (the first-layer vectors u_j as columns)."""
        return self.patch_weights

    @classmethod
    def from_patch_weights(cls, U, W2, kernel_size, in_channels=1, stride=1, padding=0,
                           pooling="sum") -> "ConvReLUNetwork":
        """Build from U ∈ R^{h×m} (columns u_j, as a convex solver of (51) returns them).

        Parameters
        ----------
        U : array-like, shape (h, m)
            Flattened filters, h = in_channels·kh·kw, channel-major then row then column.
        W2 : array-like, shape (m, c) or (m,)
            Rows v_j.
        kernel_size, in_channels, stride, padding, pooling
            As for the constructor.
        """
        U = np.asarray(U, dtype=float)
        kh, kw = as_pair(kernel_size, "kernel_size")
        C = int(in_channels)
        if U.ndim != 2 or U.shape[0] != C * kh * kw:
            raise InvalidInputError(
                f"U must have shape (h, m) with h = in_channels·kh·kw = {C * kh * kw}; got "
                f"shape {U.shape}. Check kernel_size and in_channels."
            )
        filters = U.T.reshape(U.shape[1], C, kh, kw)
        return cls(filters, W2, stride=stride, padding=padding, pooling=pooling)

    def n_patches(self, height: int, width: int) -> int:
        """K, the number of patches (spatial positions) of an H×W image."""
        Ho, Wo = patch_grid_shape(height, width, self.kernel_size, self.stride, self.padding)
        return Ho * Wo

    def __repr__(self) -> str:
        return (f"ConvReLUNetwork(m={self.n_filters}, C={self.in_channels}, "
                f"kernel_size={self.kernel_size}, c={self.n_outputs}, stride={self.stride}, "
                f"padding={self.padding}, pooling={self.pooling!r})")

    def _replace(self, filters, W2, pooling=None) -> "ConvReLUNetwork":
        return ConvReLUNetwork(filters, W2, stride=self.stride, padding=self.padding,
                               pooling=self.pooling if pooling is None else pooling)

    def _from_neurons(self, U, W2) -> "ConvReLUNetwork":
        return self._replace(U.T.reshape((U.shape[1],) + self.filters.shape[1:]), W2)

    # -------------------------------------------------------------- evaluate
    def _check_images(self, images) -> np.ndarray:
        X = as_images(images)
        if X.shape[1] != self.in_channels:
            raise InvalidInputError(
                f"images have {X.shape[1]} channels but the filters expect "
                f"{self.in_channels}; pass images of shape (n, {self.in_channels}, H, W)."
            )
        return X

    def hidden(self, images) -> np.ndarray:
        """The pooled activations pool_k (X_k u_j)_+, shape (n, m)."""
        X = self._check_images(images)
        P = patches(X, self.kernel_size, self.stride, self.padding)  # (K, n, h)
        A = np.maximum(P @ self.patch_weights, 0.0)  # (K, n, m)
        return A.sum(axis=0) if self.pooling == "sum" else A.mean(axis=0)

    def predict(self, images) -> np.ndarray:
        """The network output (50), shape (n, c)."""
        return self.hidden(images) @ self.W2

    # ------------------------------------------------------------- transform
    def sum_pooling_equivalent(self, image_shape) -> "ConvReLUNetwork":
        """The sum-pooling network computing the same function on images of this size.

        For ``pooling="mean"`` this divides W2 by K = :meth:`n_patches`; for ``"sum"`` it
        returns a copy. ``image_shape`` is (H, W) or the shape of an image batch (…, H, W).
        """
        H, W = (int(s) for s in tuple(image_shape)[-2:])
        scale = 1.0 / self.n_patches(H, W) if self.pooling == "mean" else 1.0
        return self._replace(self.filters.copy(), self.W2 * scale, pooling="sum")

    # ---------------------------------------------------------------- torch
    def to_torch(self, device="cpu", dtype=None):
        """``Sequential(Conv2d(C, m, k, stride, padding, bias=False), ReLU(), pool,
        Flatten(), Linear(m, c, bias=False))`` computing the same function (float64 default).

        ``pool`` is ``AdaptiveAvgPool2d(1)`` for mean pooling and :class:`GlobalSumPool2d`
        for sum pooling (requires the ``torch`` extra).
        """
        return super().to_torch(device=device, dtype=dtype)

    def _torch_layout(self, torch):
        m, C, c = self.n_filters, self.in_channels, self.n_outputs
        pool = (torch.nn.AdaptiveAvgPool2d(1) if self.pooling == "mean"
                else _global_sum_pool_class()())
        model = torch.nn.Sequential(
            torch.nn.Conv2d(C, m, self.kernel_size, stride=self.stride, padding=self.padding,
                            bias=False),
            torch.nn.ReLU(),
            pool,
            torch.nn.Flatten(),
            torch.nn.Linear(m, c, bias=False),
        )
        return model, [(0, self.filters), (4, self.W2.T)]

    @classmethod
    def from_torch(cls, module) -> "ConvReLUNetwork":
        """Read ``Sequential(Conv2d(bias=False), ReLU(), pool, Flatten(), Linear(bias=False))``.

        ``pool`` must be ``AdaptiveAvgPool2d(1)`` (mean) or :class:`GlobalSumPool2d` (sum);
        the convolution must have dilation 1, groups 1, zero padding given as ints.
        """
        from .._torch import require_torch

        torch = require_torch()
        nn = torch.nn
        layers = list(module.children()) if isinstance(module, nn.Module) else []
        expected = ("module must be torch.nn.Sequential(Conv2d(C, m, k, bias=False), ReLU(), "
                    "AdaptiveAvgPool2d(1) or GlobalSumPool2d(), Flatten(), "
                    f"Linear(m, c, bias=False)); got {module!r}.")
        ok = (
            len(layers) == 5
            and isinstance(layers[0], nn.Conv2d)
            and isinstance(layers[1], nn.ReLU)
            and isinstance(layers[3], nn.Flatten)
            and isinstance(layers[4], nn.Linear)
        )
        if not ok:
            raise InvalidInputError(expected)
        conv, pool, flat, lin = layers[0], layers[2], layers[3], layers[4]
        if isinstance(pool, nn.AdaptiveAvgPool2d) and _size_pair(pool.output_size) == (1, 1):
            pooling = "mean"
        elif isinstance(pool, _global_sum_pool_class()):
            pooling = "sum"
        else:
            raise InvalidInputError(expected)
        if flat.start_dim != 1 or flat.end_dim != -1:
            raise InvalidInputError(expected)
        if conv.bias is not None or lin.bias is not None:
            raise UnsupportedError(
                "the two-layer CNN of the paper has no biases; build Conv2d and Linear with "
                "bias=False; with padding=0, a constant-1 input channel models a first-layer "
                "bias."
            )
        string_padding = isinstance(conv.padding, str)
        if (tuple(conv.dilation) != (1, 1) or conv.groups != 1
                or conv.padding_mode != "zeros"
                or (string_padding and conv.padding != "valid")):
            raise UnsupportedError(
                "only Conv2d with dilation=1, groups=1, padding_mode='zeros' and integer (or "
                f"'valid') padding is supported; got {conv!r}."
            )
        padding = (0, 0) if string_padding else tuple(int(p) for p in conv.padding)
        filters = cls._torch_weight(conv)
        W2 = cls._torch_weight(lin).T.copy()
        return cls(filters, W2, stride=tuple(int(t) for t in conv.stride), padding=padding,
                   pooling=pooling)


def _size_pair(size):
    """(a, b) for an int or a pair (AdaptiveAvgPool2d.output_size); None if neither."""
    if isinstance(size, int):
        return (size, size)
    try:
        return tuple(size)
    except TypeError:
        return None


_GLOBAL_SUM_POOL = None


def _global_sum_pool_class():
    """Create (once) the torch module class summing over all spatial positions."""
    global _GLOBAL_SUM_POOL
    if _GLOBAL_SUM_POOL is None:
        from .._torch import require_torch

        torch = require_torch()

        class GlobalSumPool2d(torch.nn.Module):
            """Sum over the spatial positions: (n, m, H, W) → (n, m, 1, 1).

            The global sum pooling of (50), the counterpart of ``AdaptiveAvgPool2d(1)``.
            """

            def forward(self, x):
                return x.sum(dim=(-2, -1), keepdim=True)

        GlobalSumPool2d.__module__ = __name__
        GlobalSumPool2d.__qualname__ = "GlobalSumPool2d"
        _GLOBAL_SUM_POOL = GlobalSumPool2d
        globals()["GlobalSumPool2d"] = GlobalSumPool2d
    return _GLOBAL_SUM_POOL


def __getattr__(name):
    # PEP 562: create the torch-dependent class on first access, so this module imports
    # without torch and pickled models still resolve ``cvxrelu.networks.conv_network.GlobalSumPool2d``.
    if name == "GlobalSumPool2d":
        return _global_sum_pool_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
