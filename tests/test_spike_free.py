"""builders.spike_free: the single-pattern programs (15)/(20) on spike-free data.

References: the full bi-dual (12) over every sign pattern (another program) and the closed
form of Theorem 2 for whitened data; off spike-free data the single pattern restricts the
program, so its value may only lie above p*.
"""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.programs.spike_free import SpikeFreeWarning, is_spike_free


def _whitened(rng, n=4, d=6):
    Q, _ = np.linalg.qr(rng.standard_normal((d, n)))
    return Q.T                                             # X Xᵀ = I, n ≤ d


def test_whitened_value_equals_full_bidual_and_closed_form(rng):
    X, Y, beta = _whitened(rng), rng.standard_normal((4, 2)), 0.3
    assert is_spike_free(X)[0]
    f = cr.spike_free(X, Y, beta)
    value = f.solve()
    assert f.bound == "exact"
    ref = cr.bidual(X, Y, beta).solve()                    # all patterns
    assert value == pytest.approx(ref, rel=1e-5)
    sol = cr.closed_form(X, Y, beta)
    if sol.exact:
        assert value == pytest.approx(sol.value, rel=1e-5)
    assert f.network().objective(X, Y, beta) == pytest.approx(value, rel=1e-5)


def test_copositive_program_20_agrees(rng):
    X, Y, beta = _whitened(rng, n=3, d=5), rng.standard_normal((3, 1)), 0.2
    a = cr.spike_free(X, Y, beta).solve()
    b = cr.spike_free(X, Y, beta, program="copositive").solve()
    assert b == pytest.approx(a, rel=1e-5)


def test_diagonal_data_is_spike_free():
    assert is_spike_free(np.diag([1.0, 2.0, 3.0]))[0]


def test_non_spike_free_is_an_upper_bound_with_a_warning(rng):
    X = np.abs(rng.standard_normal((6, 2))) + 0.1            # D = I is a cell (X u > 0 at u = 1)
    Y, beta = rng.standard_normal((6, 1)), 0.1
    assert not is_spike_free(X)[0]
    with pytest.warns(UserWarning) as record:              # also "1 given sign pattern"
        f = cr.spike_free(X, Y, beta)
    assert any(issubclass(w.category, SpikeFreeWarning) for w in record)
    value = f.solve()
    assert f.bound == "upper"
    assert value >= cr.bidual(X, Y, beta).solve() * (1 - 1e-6)
