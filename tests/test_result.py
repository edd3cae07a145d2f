"""Tests of the result type and the status vocabulary (issue 13 item 3, issue 12 item 4):
``Status`` is a str Enum, ``lower`` is certified or −inf, a certified lower bound above the
network's objective is an error, and the final certificate uses the oracle's ω̄ only.
References: closed forms of the scaled dual bound and brute force over the scale s."""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.drivers import SolveResult, Status, as_network
from cvxrelu.drivers.result import conclude, dual_value, final_status, scaled_dual_bound
from cvxrelu.errors import CertificateError, InvalidInputError
from cvxrelu.geometry.oracle import DualOracle, OracleBound


def _net():
    return cr.ReLUNetwork(np.ones((2, 1)), np.ones((1, 1)))


def test_status_is_a_str_enum():
    assert Status.OPTIMAL == "optimal" and isinstance(Status.GAP, str)
    assert f"{Status.MAX_ITERS}" == "max_iters" and str(Status.STALLED) == "stalled"
    assert Status("time_limit") is Status.TIME_LIMIT
    assert "heuristic_gap_closed" not in {s.value for s in Status}
    res = SolveResult(_net(), 2.0, 1.0, "gap", True)
    assert res.status is Status.GAP


def test_uncertified_lower_is_minus_inf_and_kept_as_heuristic():
    res = SolveResult(_net(), 2.0, 1.5, "max_iters", exact_oracle=False)
    assert not res.certified and res.lower == -np.inf
    assert res.info["heuristic_lower"] == 1.5
    assert res.gap == np.inf and res.certified_rel_gap == np.inf and res.rel_gap == np.inf
    assert "NOT certified" in res.summary()
    # a float −inf keeps arithmetic and comparisons working
    assert res.lower < res.upper and res.upper - res.lower == np.inf


def test_certified_result_and_relative_gap():
    res = SolveResult(_net(), 4.0, 3.0, Status.GAP, exact_oracle=False, certified=True)
    assert res.certified and res.lower == 3.0
    assert res.certified_rel_gap == pytest.approx(0.25, rel=1e-15)
    assert "certified dual bound" in res.summary() and "SolveResult(" in repr(res)


def test_lower_above_upper_is_an_error_not_a_status():
    with pytest.raises(CertificateError, match="exceeds"):
        SolveResult(_net(), 1.0, 1.0 + 1e-6, Status.OPTIMAL, True)
    # rounding (1e-10 relative) is clipped, never reported as a negative gap
    res = SolveResult(_net(), 1.0, 1.0 + 1e-13, Status.OPTIMAL, True)
    assert res.lower == res.upper and res.gap == 0.0


def test_final_status():
    assert final_status(1e-7, 1e-6, True, "gap") is Status.OPTIMAL
    assert final_status(1e-3, 1e-6, True, "gap") is Status.GAP
    assert final_status(0.0, 1e-6, False, "gap") is Status.NOT_CERTIFIED


@pytest.mark.parametrize("seed", range(5))
def test_scaled_dual_bound_is_the_best_scale(seed):
    """Reference: brute force over s ∈ [0, β/ω] of the dual objective (11) at sZ."""
    rng = np.random.default_rng(seed)
    Z, Y = rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    beta, omega = rng.uniform(0.1, 2.0), rng.uniform(0.1, 5.0)
    val, s = scaled_dual_bound(Z, Y, beta, omega)
    grid = np.linspace(0.0, beta / omega, 20001)
    brute = max(dual_value(t * Z, Y) for t in grid)
    assert val >= brute - 1e-12 * max(1.0, abs(brute))
    assert 0.0 <= s <= beta / omega * (1 + 1e-15)
    assert np.isclose(val, dual_value(s * Z, Y), rtol=1e-12)


class _FakeOracle:
    """Returns a fixed bracket; records the keywords it was called with."""

    exact = False

    def __init__(self, lo, up):
        self.lo, self.up, self.calls = lo, up, []

    def bound(self, Z, time_limit=None, node_budget=None, tol=1e-9, warm=None):
        self.calls.append(dict(time_limit=time_limit, node_budget=node_budget, warm=warm))
        return OracleBound(self.lo, self.up, np.zeros(2), self.up - self.lo <= 1e-9, 3, "fake")


def test_conclude_uses_omega_bar_never_the_heuristic_value():
    rng = np.random.default_rng(1)
    Y = rng.standard_normal((6, 2))
    Z = 0.5 * Y
    beta = 1.0
    orc = _FakeOracle(lo=0.5, up=4.0)
    lower, status, msg, ob = conclude(orc, Z, Y, beta, upper=10.0, stop_status=Status.OPTIMAL,
                                      tol=1e-6, oracle_time_limit=7.0, oracle_budget=11)
    assert orc.calls == [dict(time_limit=7.0, node_budget=11, warm=None)]
    assert lower == scaled_dual_bound(Z, Y, beta, 4.0)[0]  # ω̄ = 4, not ω_lo = 0.5
    assert lower < scaled_dual_bound(Z, Y, beta, 0.5)[0]
    # the iterations' gap closed but the certified one did not: not "optimal"; the status
    # is decided by the certified gap (issue 13 item 3: "gap", was "not_certified")
    assert status is Status.GAP and "ω̄" in msg and ob.method == "fake"


def test_conclude_reports_an_oracle_failure():
    """ORACLE_FAILED only when the certified search shows a violated direction (ω_lo > β)
    and no budget was left to use it (issue 13 item 3); a heuristic value above the upper
    bound alone is no proof and does not decide the status."""
    Y = np.ones((4, 1))
    orc = _FakeOracle(lo=1.5, up=3.0)   # ω_lo = 1.5 > β = 1: a violated direction, certified
    lower, status, msg, _ = conclude(orc, 0.5 * Y, Y, 1.0, upper=1.0, heuristic_lower=1.2,
                                     stop_status=Status.MAX_ITERS, tol=1e-6, time_left=2.5,
                                     budget_exhausted=True)
    assert status is Status.ORACLE_FAILED and "failed to find" in msg and "1.5" in msg
    assert lower <= 1.0
    assert orc.calls[0]["time_limit"] == 2.5  # what is left of the driver's time limit
    # the same violated direction with budget left: the driver's own stop status
    _, status, _, _ = conclude(orc, 0.5 * Y, Y, 1.0, upper=1.0, stop_status=Status.STALLED,
                               tol=1e-6, time_left=2.5)
    assert status is Status.STALLED
    # the iterations stopped on the heuristic's word ("no violated direction") and the final
    # certified search contradicts it: an oracle failure too, not a mere "gap"
    _, status, msg, _ = conclude(orc, 0.5 * Y, Y, 1.0, upper=1.0, stop_status=Status.OPTIMAL,
                                 tol=1e-6, time_left=2.5)
    assert status is Status.ORACLE_FAILED and "1.5" in msg
    # ω_lo ≤ β (no violated direction found) with a heuristic value above upper: the
    # certified gap decides ("gap" after the iterations' own gap closed), not a failure
    orc2 = _FakeOracle(lo=1.0, up=3.0)
    _, status, msg, _ = conclude(orc2, 0.5 * Y, Y, 1.0, upper=1.0, heuristic_lower=1.2,
                                 stop_status=Status.OPTIMAL, tol=1e-6, budget_exhausted=True)
    assert status is Status.GAP and "discarded" in msg


def test_conclude_with_exact_oracle_and_other_statuses():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    Y = np.array([[1.0], [1.0], [0.0]])
    orc = DualOracle(X)
    lower, status, _, ob = conclude(orc, Y, Y, 0.1, upper=1.0, stop_status=Status.MAX_ITERS,
                                    tol=1e-6)
    assert ob.exact and np.isclose(ob.upper, np.sqrt(2.0))
    assert status is Status.MAX_ITERS and lower == scaled_dual_bound(Y, Y, 0.1, ob.upper)[0]
    # an exact oracle that already evaluated this Z is not called again
    lower2, status2, _, ob2 = conclude(orc, Y, Y, 0.1, upper=1.0, certified_lower=lower,
                                       stop_status=Status.MAX_ITERS, tol=1e-6,
                                       evaluated_exactly=True)
    assert ob2 is None and lower2 == lower and status2 is Status.MAX_ITERS


def test_as_network():
    net = _net()
    assert as_network(net) is net
    pair = as_network((np.ones((2, 3)), np.ones((3, 1))))
    assert pair.n_neurons == 3
    with pytest.raises(InvalidInputError, match="network must be"):
        as_network(3)
