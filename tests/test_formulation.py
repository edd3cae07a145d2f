"""formulation: the Formulation base — bounds, verification against a certificate, and the
accessors' guards. Values are checked against independent quantities: the recovered real
network's objective (5) (an upper bound on p*) and the certified dual bound (a lower bound).
"""

import cvxpy as cp
import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu.errors import InvalidInputError
from cvxrelu.programs.formulation import combine_bounds, verify_rtol


@pytest.mark.parametrize("set_bound,exact,expected", [
    ("exact", True, "exact"), ("lower", True, "lower"), ("upper", True, "upper"),
    # fewer patterns restrict the program: its value can only go up
    ("exact", False, "upper"), ("upper", False, "upper"), ("lower", False, "unknown"),
])
def test_combine_bounds(set_bound, exact, expected):
    assert combine_bounds(set_bound, exact) == expected


def test_verify_rtol_per_solver():
    assert verify_rtol("scs") >= verify_rtol("CLARABEL") > 0
    assert verify_rtol(None) == verify_rtol("CLARABEL")
    assert verify_rtol("SOMETHING_ELSE") == 1e-5


@pytest.fixture(scope="module")
def solved():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((9, 2)), rng.standard_normal((9, 2))
    f = cr.bidual(X, Y, 0.2)
    value = f.solve()
    return f, X, Y, value


def test_certificate_brackets_the_value(solved):
    f, X, Y, value = solved
    cert = f.certificate
    assert f.bound == "exact" and cert.certified
    tol = verify_rtol("CLARABEL") * abs(value)
    assert cert.lower - tol <= value <= cert.upper + tol
    net = f.network()
    assert cert.upper == pytest.approx(net.objective(X, Y, 0.2), rel=1e-12)
    # the problem itself is the reported program: same value from CVXPY directly
    assert f.problem.solve(solver="CLARABEL") == pytest.approx(value, rel=1e-6)


def test_verification_refuses_a_wrong_value(solved):
    f, X, Y, value = solved
    above = f._verify(value * 1.01, 0.2, "CLARABEL")
    below = f._verify(value * 0.99, 0.2, "CLARABEL")
    assert above is not None and "above" in above
    assert below is not None and "below" in below
    assert f._verify(value, 0.2, "CLARABEL") is None


def test_with_constraints_turns_exact_into_upper(solved):
    f, X, Y, value = solved
    V = f.variables["V"]
    g = f.with_constraints([V == 0])                          # only the zero network left
    assert g.bound == "upper" and f.bound == "exact"
    assert g.solve() == pytest.approx(0.5 * float(np.sum(Y ** 2)), rel=1e-6)


def test_network_guards():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((6, 2)), rng.standard_normal((6, 1))
    f = cr.bidual(X, Y, 0.3)
    with pytest.raises(InvalidInputError, match="solve"):
        f.network()
    f.solve()
    f.beta.value = 0.5
    with pytest.raises(InvalidInputError, match="beta"):
        f.network()
    assert f.beta in f.problem.parameters() and f.problem.is_dpp()
    assert isinstance(f.problem, cp.Problem)
