import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session")
def spiral_data():
    from cvxrelu.datasets import spiral

    return spiral()


@pytest.fixture(scope="session")
def figure1_data():
    from cvxrelu.datasets import figure1

    return figure1()


@pytest.fixture(scope="session")
def linnerud_data():
    from sklearn.datasets import load_linnerud

    d = load_linnerud()
    X = (d.data - d.data.mean(0)) / d.data.std(0)
    Y = (d.target - d.target.mean(0)) / d.target.std(0)
    return X, Y


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
