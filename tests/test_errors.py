"""errors: the exception hierarchy (every user-triggered error is a CvxReluError, and also the
builtin a generic handler expects) and that bad input surfaces as one, not as a dependency's
exception."""

import numpy as np
import pytest

import cvxrelu as cr
from cvxrelu import errors

BUILTIN = {
    "InvalidInputError": ValueError,
    "UnsupportedError": ValueError,
    "PatternLimitError": MemoryError,
    "SolverError": RuntimeError,
    "SolverNotInstalledError": RuntimeError,
    "CertificateError": RuntimeError,
}


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_hierarchy(name):
    cls = getattr(errors, name)
    assert issubclass(cls, errors.CvxReluError)
    assert issubclass(cls, BUILTIN[name])
    assert getattr(cr, name) is cls                       # exported at the top level


def test_all_is_complete():
    public = {n for n, v in vars(errors).items()
              if isinstance(v, type) and issubclass(v, Exception) and v.__module__ == errors.__name__}
    assert public == set(errors.__all__)


def test_solver_not_installed_is_a_solver_error():
    assert issubclass(errors.SolverNotInstalledError, errors.SolverError)


@pytest.mark.parametrize("call,arg", [
    (lambda: cr.ReLUNetwork(np.ones((2, 2)), np.ones((3, 1))), "W2"),
    (lambda: cr.sign_patterns(np.full((3, 2), np.nan)), "X"),
    (lambda: cr.ReLUNetwork(np.ones((2, 2)), np.ones((2, 1))).objective(
        np.ones((3, 2)), np.ones((3, 1)), beta=-1.0), "beta"),
])
def test_bad_input_raises_a_cvxrelu_error_naming_the_argument(call, arg):
    with pytest.raises(errors.CvxReluError, match=arg):
        call()
