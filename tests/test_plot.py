"""Plot helpers: they return Axes with the expected lines (Agg backend)."""

import sys
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from cvxrelu.integrations import plot  # noqa: E402
from cvxrelu.errors import InvalidInputError  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_path_plot_lines():
    res = SimpleNamespace(betas=np.array([1.0, 0.1, 0.01]), values=np.array([3.0, 1.0, 0.2]),
                          upper=np.array([3.0, 1.0, 0.2 + 1e-9]))
    ax = plot.path(res)
    assert len(ax.get_lines()) == 2
    assert ax.get_xscale() == "log"
    x, y = ax.get_lines()[0].get_data()
    np.testing.assert_array_equal(x, [0.01, 0.1, 1.0])          # sorted by β
    np.testing.assert_array_equal(y, [0.2, 1.0, 3.0])


def test_path_plot_without_upper_on_given_axes():
    import matplotlib.pyplot as plt

    _, ax0 = plt.subplots()
    res = SimpleNamespace(betas=[0.1, 1.0], values=[1.0, 2.0], upper=[np.nan, np.nan])
    ax = plot.path(res, ax=ax0)
    assert ax is ax0 and len(ax.get_lines()) == 1


def test_path_plot_real_result():
    import cvxrelu as cr
    from cvxrelu.integrations.path import regularization_path

    X, Y = cr.datasets.figure1(n=8, d=2, c=1, m=5, seed=1)
    res = regularization_path(X, Y, [0.1, 1.0])
    ax = plot.path(res, gap=True)
    assert len(ax.get_lines()) == 2


@dataclass
class Record:
    iteration: int
    upper: float
    lower: float
    time: float


def test_certificate_from_dicts_and_result():
    rows = [{"iteration": k, "upper": 2.0 / k + 1.0, "lower": 1.0 - 1.0 / k, "time": 0.1 * k}
            for k in range(1, 6)]
    ax = plot.certificate(rows)
    assert [ln.get_label() for ln in ax.get_lines()] == ["upper bound", "lower bound"]
    assert len(ax.gap_axes.get_lines()) == 1
    gap = ax.gap_axes.get_lines()[0].get_ydata()
    np.testing.assert_allclose(gap, [r["upper"] - r["lower"] for r in rows])

    result = SimpleNamespace(history=[Record(k, 2.0, 1.0, 0.1 * k) for k in range(1, 4)])
    ax2 = plot.certificate(result, x="time")
    assert len(ax2.get_lines()) == 2
    np.testing.assert_allclose(ax2.get_lines()[0].get_xdata(), [0.1, 0.2, 0.3])


def test_certificate_missing_lower():
    rows = [{"iteration": 1, "upper": 2.0, "lower": None, "time": 0.0}]
    ax = plot.certificate(rows)
    assert len(ax.get_lines()) == 1
    assert len(ax.gap_axes.get_lines()) == 0


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="history"):
        plot.certificate([])
    with pytest.raises(InvalidInputError, match="betas"):
        plot.path(object())
    with pytest.raises(InvalidInputError, match="x must"):
        plot.certificate([{"upper": 1, "lower": 0}], x="wall")


def test_missing_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="cvxrelu\\[plot\\]"):
        plot.certificate([{"upper": 1, "lower": 0}])
