"""cvxrelu.drivers.options: driver_options() / DriverOptions, the one options style.

tests/test_engine.py checks one bad value per option; here: the defaults and the options a
driver does not have, the types accepted and returned, the frozen dataclass, that every
error is a CvxReluError naming the argument, that ORACLES are the oracle's own methods, and
that every driver listed in the module docstring routes its options through driver_options
(a bad value fails before any work, with the same message).
"""

import dataclasses

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.drivers.options import ORACLES, DriverOptions, driver_options
from cvxrelu.errors import CvxReluError, InvalidInputError
from cvxrelu.geometry.oracle import DualOracle


def test_defaults_and_options_a_driver_does_not_have():
    """Only ``tol`` is required; ``max_iters`` / ``n_cuts`` not passed (certify has
    neither) are None, the limits default to None (no limit), the oracle to "auto"."""
    opt = driver_options(tol=1e-4)
    assert opt == DriverOptions(tol=1e-4, max_iters=None, n_cuts=None, time_limit=None,
                                oracle="auto", oracle_time_limit=None, oracle_budget=None)
    with pytest.raises(TypeError):
        driver_options()                                  # tol is required
    with pytest.raises(TypeError):
        driver_options(1e-4)                              # keyword-only
    # a driver that has max_iters / n_cuts must pass a positive integer, never None
    for name in ("max_iters", "n_cuts"):
        with pytest.raises(InvalidInputError, match=name):
            driver_options(tol=1e-4, **{name: None})


def test_types_are_normalized():
    """NumPy scalars and ints are accepted and returned as Python float / int."""
    opt = driver_options(tol=np.float32(0.5), max_iters=np.int64(7), n_cuts=3, time_limit=2,
                         oracle="heuristic", oracle_time_limit=np.float64(1.5),
                         oracle_budget=np.int32(100))
    assert opt.tol == 0.5 and type(opt.tol) is float
    assert opt.max_iters == 7 and type(opt.max_iters) is int
    assert opt.time_limit == 2.0 and type(opt.time_limit) is float
    assert opt.oracle_time_limit == 1.5 and type(opt.oracle_time_limit) is float
    assert opt.oracle_budget == 100 and type(opt.oracle_budget) is int
    assert opt.oracle == "heuristic"


def test_options_are_frozen():
    opt = driver_options(tol=1e-6, max_iters=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.tol = 1.0


@pytest.mark.parametrize("kw, name", [
    (dict(tol=-1e-6), "tol"), (dict(tol=float("inf")), "tol"), (dict(tol="1e-6"), "tol"),
    (dict(max_iters=2.0), "max_iters"), (dict(max_iters=True), "max_iters"),
    (dict(max_iters=-3), "max_iters"), (dict(n_cuts=0), "n_cuts"),
    (dict(time_limit=0), "time_limit"), (dict(time_limit=float("inf")), "time_limit"),
    (dict(oracle_time_limit=-2.0), "oracle_time_limit"),
    (dict(oracle_budget=0), "oracle_budget"), (dict(oracle="Exact"), "oracle"),
    (dict(oracle=None), "oracle")])
def test_bad_values_are_cvxrelu_errors_naming_the_argument(kw, name):
    args = dict(tol=1e-6, max_iters=10, n_cuts=2)
    args.update(kw)
    with pytest.raises(CvxReluError) as info:
        driver_options(**args)
    assert isinstance(info.value, InvalidInputError) and isinstance(info.value, ValueError)
    msg = str(info.value)
    assert name in msg and repr(kw[list(kw)[0]]) in msg    # names the argument and value
    if name == "oracle":
        assert all(repr(o) in msg for o in ORACLES)         # lists the valid choices
    else:
        assert "positive" in msg                            # says what is expected


def test_oracles_are_the_dual_oracles_methods():
    """Every name in ORACLES builds a DualOracle, and "heuristic" / "exact" reach it as
    asked (rank-2 data: "auto" is exact)."""
    X = np.random.default_rng(0).standard_normal((12, 2))
    made = {o: DualOracle(X, method=o) for o in ORACLES}
    assert made["exact"].exact and made["auto"].exact and not made["heuristic"].exact


def _driver_call(driver, kw):
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((10, 2)), rng.standard_normal((10, 1))
    if driver == "cutting_plane":
        return cr.cutting_plane(X, Y, 0.1, progress=False, **kw)
    if driver == "frank_wolfe":
        return cr.frank_wolfe(X, Y, 0.1, progress=False, **kw)
    if driver == "certify":
        net = cr.ReLUNetwork(np.ones((2, 2)), np.ones((2, 1)))
        return cr.certify(net, X, Y, 0.1, **kw)
    if driver == "loss_cutting_plane":
        from cvxrelu.drivers.loss_driver import loss_cutting_plane

        return loss_cutting_plane(X, np.sign(Y), 0.1, loss="logistic", **kw)
    from cvxrelu.drivers.conv_cutting_plane import conv_cutting_plane

    images = rng.standard_normal((6, 1, 3, 3))
    return conv_cutting_plane(images, Y[:6], 0.1, kernel_size=2, progress=False, **kw)


DRIVERS = ["cutting_plane", "frank_wolfe", "certify", "loss_cutting_plane",
           "conv_cutting_plane"]


BAD_SHARED = [(dict(tol=0.0), "tol"), (dict(time_limit=-1.0), "time_limit"),
              (dict(oracle="fast"), "oracle")]


@pytest.mark.parametrize("driver, kw, name", [
    (driver, kw, name) for driver in DRIVERS for kw, name in BAD_SHARED
    if not (driver == "certify" and name == "time_limit")])    # certify has no time_limit
def test_every_driver_validates_through_driver_options(driver, kw, name):
    """The same bad option gives each driver the message driver_options gives."""
    with pytest.raises(InvalidInputError) as ref:
        driver_options(**dict(dict(tol=1e-6), **kw))
    with pytest.raises(InvalidInputError) as info:
        _driver_call(driver, kw)
    assert str(info.value) == str(ref.value) and name in str(info.value)


@pytest.mark.parametrize("driver, kw, name", [
    ("cutting_plane", dict(max_iters=0), "max_iters"),
    ("cutting_plane", dict(n_cuts=2.5), "n_cuts"),
    ("frank_wolfe", dict(n_atoms=0), "n_atoms"),
    ("frank_wolfe", dict(max_iters=1.5), "max_iters"),
    ("loss_cutting_plane", dict(n_cuts=-1), "n_cuts"),
    ("conv_cutting_plane", dict(max_iters=0), "max_iters")])
def test_counted_options_of_the_drivers(driver, kw, name):
    """Counts are positive integers in every driver (frank_wolfe's n_atoms is its n_cuts)."""
    with pytest.raises(InvalidInputError, match=name):
        _driver_call(driver, kw)
