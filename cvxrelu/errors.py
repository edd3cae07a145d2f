"""Exception hierarchy of cvxrelu.

Every error a user can trigger derives from :class:`CvxReluError`; messages say what was
wrong *and what to change*. Input errors also derive from ``ValueError`` and solver errors
from ``RuntimeError`` so that generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "CvxReluError",
    "InvalidInputError",
    "UnsupportedError",
    "PatternLimitError",
    "SolverError",
    "SolverNotInstalledError",
    "CertificateError",
]


class CvxReluError(Exception):
    """Base class of every error raised on purpose by cvxrelu."""


class InvalidInputError(CvxReluError, ValueError):
    """An argument has the wrong shape, type or value (NaN/inf, beta <= 0, empty data, ...)."""


class UnsupportedError(CvxReluError, ValueError):
    """A valid argument in a combination that is not supported (e.g. a loss for a builder)."""


class PatternLimitError(CvxReluError, MemoryError):
    """Enumerating or storing the sign patterns would exceed the memory limit."""


class SolverError(CvxReluError, RuntimeError):
    """A conic solver failed, stopped early, or returned a status that proves nothing."""


class SolverNotInstalledError(SolverError):
    """The requested solver is not installed or not licensed."""


class CertificateError(CvxReluError, RuntimeError):
    """A certificate could not be produced (e.g. the dual oracle is not exact)."""
