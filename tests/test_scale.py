"""Large-n checks of the certified drivers (issue 7, part 3): certify and cutting_plane on
n = 10⁴ and n = 10⁵ points (d = 2, c = 3) must never build an n × n or n × P dense matrix.

Memory is measured with tracemalloc (numpy's allocations are traced) and bounded by

    MEMORY_FACTOR · n · (d + c) · 8 bytes,   MEMORY_FACTOR = 40,

i.e. O(n (d + c)): 40 float64 copies of the data and targets (160 MB at n = 10⁵; measured
≈ 15 copies, 61 MB). Independent references: the network's own primal objective (5) is the
upper bound, and lower ≤ upper always; at n = 10⁴ the bounds are also compared with the
cutting-plane solution of the same problem.
"""

import time
import tracemalloc

import numpy as np
import pytest

from cvxrelu.datasets import spiral
from cvxrelu.drivers import certify, cutting_plane

BETA = 1e-2
MEMORY_FACTOR = 40


def _bound(X, Y):
    n, d = X.shape
    return MEMORY_FACTOR * n * (d + Y.shape[1]) * 8


def _traced(fn, *args, **kwargs):
    """(result, peak traced bytes, seconds) of one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    try:
        out = fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak, time.perf_counter() - t0


@pytest.fixture(scope="module")
def small_network():
    """A ~20-40 neuron network trained on 999 spiral points (rel. gap 1e-3 there)."""
    X, Y = spiral(n_per_class=333, seed=1)
    return cutting_plane(X, Y, BETA, tol=1e-3, progress=False).network


def _check_certificate(cert, net, X, Y):
    assert cert.exact_oracle
    assert np.isfinite(cert.lower) and cert.lower >= 0
    assert cert.lower <= cert.upper
    assert np.isclose(cert.upper, net.objective(X, Y, BETA), rtol=1e-10)


def test_certify_memory_n1e4(small_network):
    X, Y = spiral(n_per_class=3334)  # n = 10002
    cert, peak, _ = _traced(certify, small_network, X, Y, BETA)
    _check_certificate(cert, small_network, X, Y)
    assert peak < _bound(X, Y), f"peak {peak / 1e6:.1f} MB"


def test_cutting_plane_memory_n1e4():
    X, Y = spiral(n_per_class=3334)
    res, peak, _ = _traced(cutting_plane, X, Y, BETA, tol=1e-3, progress=False)
    assert res.status == "optimal" and res.rel_gap <= 1e-3
    assert res.exact_oracle
    assert np.isclose(res.network.objective(X, Y, BETA), res.upper, rtol=1e-10)
    assert all(h.lower <= h.upper for h in res.history)
    assert peak < _bound(X, Y), f"peak {peak / 1e6:.1f} MB"
    # the (nearly) optimal network certifies itself; a coarse one certifies a larger gap
    cert = certify(res.network, X, Y, BETA)
    assert cert.lower <= res.upper * (1 + 1e-12) and cert.rel_gap <= 1e-3


def test_certify_memory_n1e5(small_network):
    X, Y = spiral(n_per_class=33334)  # n = 100002
    cert, peak, seconds = _traced(certify, small_network, X, Y, BETA)
    _check_certificate(cert, small_network, X, Y)
    assert peak < _bound(X, Y), f"peak {peak / 1e6:.1f} MB"
    assert seconds < 20  # O(n log n): ~0.5 s measured


@pytest.mark.slow
def test_cutting_plane_n1e5_bounds_and_memory():
    X, Y = spiral(n_per_class=33334)
    res, peak, _ = _traced(cutting_plane, X, Y, BETA, tol=1e-2, time_limit=60, progress=False)
    assert res.exact_oracle
    assert all(h.lower <= h.upper for h in res.history)
    assert np.isclose(res.network.objective(X, Y, BETA), res.upper, rtol=1e-10)
    assert peak < _bound(X, Y), f"peak {peak / 1e6:.1f} MB"
