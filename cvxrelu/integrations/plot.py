"""Plots of regularization paths and of certificates (upper/lower bounds and gap).

matplotlib is an optional extra (``pip install cvxrelu[plot]``); it is imported only when a
function here is called. Every function draws on ``ax`` (a new figure when None) and returns
the Axes.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError

__all__ = ["path", "certificate"]

_HISTORY_KEYS = ("iteration", "upper", "lower", "time")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "cvxrelu.integrations.plot needs matplotlib; install it with `pip install cvxrelu[plot]` "
            "(or `pip install matplotlib`)."
        ) from None
    return plt


def _axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots()
    else:
        _pyplot()
    return ax


def path(result, ax=None, gap: bool = False):
    """Plot a regularization path vs β: the convex value and the recovered network's objective
    (CVXPY engines), or the network's objective and the certified lower bound (driver path).

    Parameters
    ----------
    result : PathResult
        From :func:`cvxrelu.integrations.path.regularization_path` (anything with ``betas``, ``values``
        and optionally ``upper`` arrays).
    ax : matplotlib Axes, optional
    gap : bool
        Also draw ``upper − value`` (absolute) on a log-y twin axis.

    Returns
    -------
    matplotlib.axes.Axes
        One line for the value, one for the upper bound when any is finite (log-x).
    """
    for key in ("betas", "values"):
        if not hasattr(result, key):
            raise InvalidInputError(
                f"result has no attribute {key!r}; pass the PathResult of regularization_path."
            )
    ax = _axes(ax)
    betas = np.asarray(result.betas, dtype=float)
    values = np.asarray(result.values, dtype=float)
    order = np.argsort(betas)
    upper = np.asarray(getattr(result, "upper", np.full_like(values, np.nan)), dtype=float)
    lower = getattr(result, "lower", None)
    if lower is not None:       # a driver path: network objective and certified lower bound
        lower = np.asarray(lower, dtype=float)
        ax.plot(betas[order], upper[order], "x-", label="network objective (upper)")
        ok = np.isfinite(lower[order])
        if np.any(ok):
            ax.plot(betas[order][ok], lower[order][ok], "o--", label="certified lower bound")
        ref = lower
    else:
        ax.plot(betas[order], values[order], "o-", label="convex value")
        if np.any(np.isfinite(upper)):
            ax.plot(betas[order], upper[order], "x--", label="network objective (upper)")
        ref = values
    if gap and np.any(np.isfinite(upper - ref)):
        twin = ax.twinx()
        g = np.abs(upper - ref)[order]
        twin.semilogy(betas[order], np.where(np.isfinite(g), g, np.nan) + 1e-16, ":",
                      color="gray", label="|gap|")
        twin.set_ylabel("|upper − lower|" if lower is not None else "|upper − value|")
    ax.set_xscale("log")
    ax.set_xlabel("β")
    ax.set_ylabel("objective")
    ax.legend()
    return ax


def _history_rows(history):
    rows = getattr(history, "history", history)
    if rows is None:
        raise InvalidInputError("history is None; pass a driver result with .history or a list.")
    try:
        rows = list(rows)
    except TypeError:
        raise InvalidInputError(
            "history must be a driver result with .history, or a list of dicts/objects with "
            "iteration, upper, lower and time."
        ) from None
    if not rows:
        raise InvalidInputError("history is empty; nothing to plot.")
    table = {k: [] for k in _HISTORY_KEYS}
    for i, row in enumerate(rows):
        for k in _HISTORY_KEYS:
            if isinstance(row, dict):
                v = row.get(k, i if k == "iteration" else np.nan)
            else:
                v = getattr(row, k, i if k == "iteration" else np.nan)
            table[k].append(np.nan if v is None else float(v))
    return {k: np.asarray(v, dtype=float) for k, v in table.items()}


def certificate(history, ax=None, x: str = "iteration"):
    """Plot the upper and lower bounds and the gap of an iterative driver.

    Parameters
    ----------
    history : driver result with ``.history``, or a list of dicts/objects
        Each entry has ``iteration``, ``upper``, ``lower`` and ``time`` (missing or None
        entries are skipped).
    ax : matplotlib Axes, optional
    x : {"iteration", "time"}
        Horizontal axis.

    Returns
    -------
    matplotlib.axes.Axes
        Lines "upper" and "lower" on ``ax`` (when they have finite values) and "gap"
        (upper − lower, log scale) on a twin axis, reachable as ``ax.gap_axes``.
    """
    if x not in ("iteration", "time"):
        raise InvalidInputError(f"x must be 'iteration' or 'time'; got {x!r}.")
    h = _history_rows(history)
    ax = _axes(ax)
    t = h[x]
    for key, style in (("upper", "-"), ("lower", "--")):
        ok = np.isfinite(h[key])
        if np.any(ok):
            ax.plot(t[ok], h[key][ok], style, label=f"{key} bound")
    ax.set_xlabel("iteration" if x == "iteration" else "time (s)")
    ax.set_ylabel("objective")
    gap = h["upper"] - h["lower"]
    ok = np.isfinite(gap)
    twin = ax.twinx()
    if np.any(ok):
        twin.semilogy(t[ok], np.maximum(gap[ok], 1e-16), ":", color="gray", label="gap")
    twin.set_ylabel("gap (upper − lower)")
    ax.gap_axes = twin
    ax.legend(loc="upper right")
    return ax
