"""One options style for every driver: explicit keywords, validated once into
:class:`DriverOptions` (a frozen dataclass) by :func:`driver_options`.

The drivers (:func:`~cvxrelu.cutting_plane`, :func:`~cvxrelu.frank_wolfe`,
:func:`~cvxrelu.certify`, :func:`~cvxrelu.drivers.loss_driver.loss_cutting_plane`,
:func:`~cvxrelu.drivers.conv_cutting_plane.conv_cutting_plane`) take their options as
keyword-only arguments after ``(X, Y, beta)`` and pass them here; a bad value raises
:class:`~cvxrelu.errors.InvalidInputError` naming the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validate import as_positive, check_choice

__all__ = ["DriverOptions", "driver_options", "ORACLES"]

ORACLES = ("auto", "exact", "heuristic")


@dataclass(frozen=True)
class DriverOptions:
    """Validated stopping and oracle options of a driver.

    Attributes
    ----------
    tol : float
        Relative gap (upper − lower)/|upper| at which a run is optimal.
    max_iters : int or None
    n_cuts : int or None
        Columns (cuts, atoms) added per round.
    time_limit : float or None
        Seconds for the whole run (iterations and final certificate).
    oracle : {"auto", "exact", "heuristic"}
        The iterations' dual oracle (:class:`~cvxrelu.geometry.oracle.DualOracle`).
    oracle_time_limit : float or None
        Seconds per certified bound ω̄ (:meth:`~cvxrelu.geometry.oracle.DualOracle.bound`).
    oracle_budget : int or None
        Branch-and-bound nodes per certified bound ω̄.
    """

    tol: float
    max_iters: int | None = None
    n_cuts: int | None = None
    time_limit: float | None = None
    oracle: str = "auto"
    oracle_time_limit: float | None = None
    oracle_budget: int | None = None


_UNUSED = object()  # an option the driver does not have


def _optional(value, name, integer=False):
    return None if value is None else as_positive(value, name, integer=integer)


def _counted(value, name):
    return None if value is _UNUSED else as_positive(value, name, integer=True)


def driver_options(*, tol, max_iters=_UNUSED, n_cuts=_UNUSED, time_limit=None,
                   oracle="auto", oracle_time_limit=None,
                   oracle_budget=None) -> DriverOptions:
    """Validate a driver's options in this order: positive numbers (``tol``, the limits;
    ``None`` = no limit), positive integers (``max_iters``, ``n_cuts`` — required when the
    driver passes them), a known ``oracle``."""
    return DriverOptions(
        tol=as_positive(tol, "tol"),
        max_iters=_counted(max_iters, "max_iters"),
        n_cuts=_counted(n_cuts, "n_cuts"),
        time_limit=_optional(time_limit, "time_limit"),
        oracle_time_limit=_optional(oracle_time_limit, "oracle_time_limit"),
        oracle_budget=_optional(oracle_budget, "oracle_budget", integer=True),
        oracle=check_choice(oracle, ORACLES, "oracle"),
    )
