"""Image patches X_k of the convolutional model (6), (50), (51).

Sahiner et al. (ICLR 2021), Section 4 / Appendix (6), (50), (51), write a two-layer CNN with
global pooling on n images as

    f = Σ_k Σ_j (X_k u_j)_+ v_jᵀ,   X_k ∈ R^{n×h},  k = 1, …, K,

where row i of X_k is the k-th patch of image i flattened to h = C·kh·kw numbers and u_j ∈ R^h
is the j-th filter flattened the same way. :func:`patches` builds the stack
``(X_1, …, X_K)`` as an array of shape ``(K, n, h)``; :func:`patch_matrix` stacks it into
M = [X_1; …; X_K] ∈ R^{nK×h}, whose sign patterns D_ik define the convex program (51).

Conventions (identical to :func:`torch.nn.functional.unfold` and to ``torch.nn.Conv2d``):

* inside a patch the entries are ordered channel-major, then kernel row, then kernel column,
  so ``filters[j].reshape(-1)`` of a ``(m, C, kh, kw)`` weight tensor is u_j;
* the patch index k runs over the output positions row-major: k = r·W_out + s for the
  patch whose top-left corner is at padded pixel (r·stride_h, s·stride_w);
* padding adds zeros on all four sides.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validate import _as_float_array, _check_finite
from ..errors import InvalidInputError

__all__ = ["patches", "patch_matrix", "patch_grid_shape", "as_images", "as_pair"]


def as_pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """Return an int or a pair of ints as ``(int, int)``, each at least ``minimum``.

    Parameters
    ----------
    value : int or tuple of two ints
        ``kernel_size``, ``stride`` or ``padding`` in the convention of ``torch.nn.Conv2d``.
    name : str
        Argument name used in error messages.
    minimum : int
        Smallest allowed value (1 for kernel sizes and strides, 0 for padding).
    """
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            items = tuple(value)
        except TypeError:
            items = None
        if (
            items is None
            or len(items) != 2
            or any(isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer))
                   for v in items)
        ):
            raise InvalidInputError(
                f"{name} must be an int or a pair of ints (height, width); got {value!r}."
            )
        pair = (int(items[0]), int(items[1]))
    if min(pair) < minimum:
        what = "positive" if minimum >= 1 else "non-negative"
        raise InvalidInputError(
            f"{name} must be {what} (at least {minimum}); got {value!r}."
        )
    return pair


def as_images(images, name: str = "images") -> np.ndarray:
    """Return images as a finite float array of shape (n, C, H, W).

    A 3-D array of shape (n, H, W) is read as single-channel images (C = 1).
    """
    arr = _as_float_array(images, name)
    if arr.ndim == 3:
        arr = arr[:, None, :, :]
    if arr.ndim != 4:
        raise InvalidInputError(
            f"{name} must have shape (n, C, H, W), or (n, H, W) for one channel; got shape "
            f"{arr.shape}. Use images[None] for a single image."
        )
    if 0 in arr.shape:
        raise InvalidInputError(
            f"{name} is empty (shape {arr.shape} as (n, C, H, W)); pass at least one image "
            "with one channel and one pixel."
        )
    _check_finite(arr, name)
    return arr


def patch_grid_shape(height: int, width: int, kernel_size=3, stride=1, padding=0
                     ) -> tuple[int, int]:
    """The output grid (H_out, W_out) of a convolution; K = H_out·W_out patches.

    ``H_out = ⌊(H + 2·padding_h − kh) / stride_h⌋ + 1`` and likewise for the width, the same
    as ``torch.nn.Conv2d``.

    Raises
    ------
    InvalidInputError
        If the kernel is larger than the padded image, or an argument is not a valid size.
    """
    kh, kw = as_pair(kernel_size, "kernel_size")
    sh, sw = as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding", minimum=0)
    Hp, Wp = int(height) + 2 * ph, int(width) + 2 * pw
    if kh > Hp or kw > Wp:
        raise InvalidInputError(
            f"kernel_size ({kh}, {kw}) is larger than the padded image ({Hp}, {Wp}) "
            f"(image {int(height)}×{int(width)}, padding ({ph}, {pw})); use a smaller "
            "kernel_size or more padding."
        )
    return (Hp - kh) // sh + 1, (Wp - kw) // sw + 1


def patches(images, kernel_size=3, stride=1, padding=0) -> np.ndarray:
    """The patch matrices X_1, …, X_K of (6), (50) as one array of shape (K, n, h).

    Parameters
    ----------
    images : array-like, shape (n, C, H, W) or (n, H, W)
        A batch of images; a 3-D array is read as C = 1.
    kernel_size : int or (int, int)
        Filter size (kh, kw).
    stride : int or (int, int)
        Step between patches, positive.
    padding : int or (int, int)
        Zeros added on each side (top/bottom, left/right), non-negative.

    Returns
    -------
    ndarray, shape (K, n, h)
        ``P[k, i]`` is patch k of image i, h = C·kh·kw, K = H_out·W_out. It equals
        ``torch.nn.functional.unfold(images, kernel_size, padding=padding,
        stride=stride)[i, :, k]`` exactly: channel-major, then row, then column inside a
        patch; k runs over output positions row-major.

    Raises
    ------
    InvalidInputError
        Wrong number of dimensions, non-finite values, a kernel larger than the padded
        image (the message names ``kernel_size``), or a non-positive stride.

    Notes
    -----
    Built with a strided view of the padded images and one copy; no Python loop over
    samples or positions. Memory is K·n·h floats.

    Examples
    --------
    One 1×3 image, kernel 1×2: K = 2 patches of h = 2 pixels each.

    >>> import numpy as np
    >>> patches(np.array([[[[1.0, 2.0, 3.0]]]]), (1, 2)).tolist()
    [[[1.0, 2.0]], [[2.0, 3.0]]]
    """
    X = as_images(images)
    kh, kw = as_pair(kernel_size, "kernel_size")
    sh, sw = as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding", minimum=0)
    n, C, H, W = X.shape
    Ho, Wo = patch_grid_shape(H, W, (kh, kw), (sh, sw), (ph, pw))
    if ph or pw:
        X = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    # windows[i, c, r, s, a, b] = X[i, c, r + a, s + b]
    windows = np.lib.stride_tricks.sliding_window_view(X, (kh, kw), axis=(2, 3))
    windows = windows[:, :, : (Ho - 1) * sh + 1 : sh, : (Wo - 1) * sw + 1 : sw]
    # → (Ho, Wo, n, C, kh, kw) → (K, n, h)
    out = windows.transpose(2, 3, 0, 1, 4, 5).reshape(Ho * Wo, n, C * kh * kw)
    return np.ascontiguousarray(out)


def patch_matrix(P) -> np.ndarray:
    """Stack patch matrices into M = [X_1; …; X_K] ∈ R^{nK×h} (the matrix of (51)).

    Parameters
    ----------
    P : array-like, shape (K, n, h)
        Output of :func:`patches`.

    Returns
    -------
    ndarray, shape (K·n, h)
        Block k (rows ``k·n`` to ``(k+1)·n − 1``) holds patch k of all n samples:
        ``M[k*n + i] == P[k, i]``. A sign pattern of M therefore splits into the n×n diagonal
        blocks D_ik, one per patch k, in the same order.
    """
    P = _as_float_array(P, "P")
    if P.ndim != 3:
        raise InvalidInputError(
            f"P must have shape (K, n, h) as returned by patches(); got shape {P.shape}."
        )
    K, n, h = P.shape
    return P.reshape(K * n, h)
