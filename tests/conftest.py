import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


#: docstring examples (``--doctest-modules``, see pyproject.toml) that take well over 1 s on
#: 2 cores: they run with ``pytest -m slow`` (the default suite stays fast). Names are the
#: doctest item names, ``module.object``.
SLOW_DOCTESTS = {
    "cvxrelu.integrations.estimators.ConvexReLURegressor",
    "cvxrelu.integrations.estimators.ConvexReLUClassifier",
    "cvxrelu.integrations.estimators.ConvexReLURegressorCV",
    "cvxrelu.integrations.estimators.ConvexReLUClassifierCV",
    "cvxrelu.integrations.path.regularization_path",
    "cvxrelu.drivers.conv_cutting_plane.conv_cutting_plane",
}


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)


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
