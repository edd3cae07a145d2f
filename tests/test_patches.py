"""Patches X_k of (6), (50): compared with torch.nn.functional.unfold and a naive loop."""

import numpy as np
import pytest

from cvxrelu.errors import InvalidInputError
from cvxrelu.geometry.patches import patch_grid_shape, patch_matrix, patches

CASES = [
    # (C, H, W, kernel_size, stride, padding)
    (1, 5, 5, 3, 1, 0),
    (3, 6, 7, 3, 1, 1),
    (2, 7, 6, (2, 3), (2, 1), (1, 0)),
    (3, 8, 8, (3, 1), 2, (0, 2)),
    (1, 4, 4, 4, 1, 0),          # one patch: the whole image
    (2, 5, 9, (1, 1), (1, 3), 0),
    (2, 6, 5, (3, 2), 3, 2),     # stride not dividing the padded size
]


@pytest.mark.parametrize("C,H,W,k,s,p", CASES)
def test_patches_equal_torch_unfold(C, H, W, k, s, p):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, C, H, W))
    P = patches(x, kernel_size=k, stride=s, padding=p)
    ref = torch.nn.functional.unfold(torch.from_numpy(x), k, padding=p, stride=s).numpy()
    # ref has shape (n, h, K); P[k, i] = ref[i, :, k]
    assert P.shape == (ref.shape[2], ref.shape[0], ref.shape[1])
    np.testing.assert_array_equal(P, ref.transpose(2, 0, 1))
    Ho, Wo = patch_grid_shape(H, W, k, s, p)
    assert Ho * Wo == P.shape[0]


def test_patches_equal_naive_loop():
    """Independent of torch: patch k = r·W_out + s of image i, channel-major then row."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 6, 5))
    kh, kw, sh, sw, ph, pw = 2, 3, 2, 1, 1, 2
    P = patches(x, (kh, kw), (sh, sw), (ph, pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = (6 + 2 * ph - kh) // sh + 1, (5 + 2 * pw - kw) // sw + 1
    assert P.shape == (Ho * Wo, 3, 2 * kh * kw)
    for i in range(3):
        for r in range(Ho):
            for s in range(Wo):
                win = xp[i, :, r * sh:r * sh + kh, s * sw:s * sw + kw]
                np.testing.assert_array_equal(P[r * Wo + s, i], win.reshape(-1))


def test_three_dimensional_input_is_one_channel():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 6))
    np.testing.assert_array_equal(patches(x, 2), patches(x[:, None], 2))
    assert patches(x, 2).shape == (4 * 5, 3, 4)


def test_patch_matrix_row_order():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 2, 5, 5))
    P = patches(x, 3, padding=1)
    M = patch_matrix(P)
    K, n, h = P.shape
    assert M.shape == (K * n, h)
    for k in (0, 7, K - 1):
        np.testing.assert_array_equal(M[k * n:(k + 1) * n], P[k])
    with pytest.raises(InvalidInputError, match="P"):
        patch_matrix(M)


def test_kernel_larger_than_image_raises():
    x = np.zeros((2, 1, 4, 4))
    with pytest.raises(InvalidInputError, match="kernel_size"):
        patches(x, kernel_size=5)
    with pytest.raises(InvalidInputError, match="kernel_size"):
        patches(x, kernel_size=(3, 7), padding=1)
    # padding can make it fit
    assert patches(x, kernel_size=5, padding=1).shape == (4, 2, 25)


@pytest.mark.parametrize("kwargs,word", [
    ({"stride": 0}, "stride"),
    ({"stride": (1, -1)}, "stride"),
    ({"padding": -1}, "padding"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"kernel_size": (2, 2, 2)}, "kernel_size"),
    ({"kernel_size": 2.5}, "kernel_size"),
    ({"kernel_size": True}, "kernel_size"),
])
def test_bad_sizes_raise(kwargs, word):
    with pytest.raises(InvalidInputError, match=word):
        patches(np.zeros((1, 1, 4, 4)), **kwargs)


def test_bad_images_raise():
    with pytest.raises(InvalidInputError, match="images"):
        patches(np.zeros((4, 4)))
    with pytest.raises(InvalidInputError, match="images"):
        patches(np.zeros((1, 1, 1, 4, 4)))
    with pytest.raises(InvalidInputError, match="empty"):
        patches(np.zeros((0, 1, 4, 4)), 2)
    x = np.zeros((2, 1, 4, 4))
    x[1, 0, 2, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        patches(x, 2)
