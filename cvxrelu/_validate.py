"""Shared input checks: shapes, finiteness, beta, memory estimates.

Every public entry point calls these so that bad input fails early with an
:class:`~cvxrelu.errors.InvalidInputError` naming the argument and the fix.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidInputError

__all__ = ["as_data", "as_targets", "as_beta", "check_choice", "as_seed_rng", "as_real_matrix",
           "as_positive_int"]


def _as_float_array(value, name: str) -> np.ndarray:
    if value is None:
        raise InvalidInputError(f"{name} is None; pass a numeric array.")
    raw = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if np.iscomplexobj(raw):
        raise InvalidInputError(
            f"{name} is complex; pass real-valued data (e.g. {name}.real or abs({name}))."
        )
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{name} could not be converted to a float array ({exc}); pass numeric data."
        ) from None
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InvalidInputError(
            f"{name} contains {bad} NaN or infinite entries; remove or impute them first."
        )


def as_data(X, name: str = "X") -> np.ndarray:
    """Return X as a finite float array of shape (n, d) with n >= 1 and d >= 1."""
    arr = _as_float_array(X, name)
    if arr.ndim != 2:
        hint = " Use X.reshape(-1, 1) for a single feature." if arr.ndim == 1 else ""
        raise InvalidInputError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got shape "
            f"{arr.shape}.{hint}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError(f"{name} is empty (shape {arr.shape}); pass at least one sample "
                                "and one feature.")
    _check_finite(arr, name)
    return arr


def as_targets(Y, n: int, name: str = "Y") -> np.ndarray:
    """Return Y as a finite float array of shape (n, c); a 1-D Y becomes one column."""
    arr = _as_float_array(Y, name)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InvalidInputError(
            f"{name} must have shape (n,) or (n, c); got shape {arr.shape}."
        )
    if arr.shape[0] != n:
        raise InvalidInputError(
            f"{name} has {arr.shape[0]} rows but X has {n}; pass one target row per sample."
        )
    if arr.shape[1] == 0:
        raise InvalidInputError(f"{name} has no columns; pass at least one output.")
    _check_finite(arr, name)
    return arr


def as_beta(beta, name: str = "beta") -> float:
    """Return beta as a positive finite float (a real number or a 0-d/size-1 real array)."""
    if not isinstance(beta, (numbers.Real, np.floating, np.integer)):
        arr = np.asarray(beta) if not isinstance(beta, (str, bytes)) else np.asarray(None)
        if arr.size != 1 or arr.dtype.kind not in "iuf":
            raise InvalidInputError(
                f"{name} must be a positive real number; got {beta!r}."
            )
        beta = arr.item()
    if isinstance(beta, (bool, np.bool_)):
        raise InvalidInputError(f"{name} must be a positive real number, not a bool ({beta!r}).")
    beta = float(beta)
    if not np.isfinite(beta) or beta <= 0:
        raise InvalidInputError(
            f"{name} must be a positive finite number (the weight-decay strength); got {beta}. "
            "Use a small value such as 1e-3 for little regularization."
        )
    return beta


def check_choice(value, choices, name: str) -> str:
    """Return value if it is one of choices, else raise naming the valid options."""
    if value not in choices:
        raise InvalidInputError(
            f"unknown {name} {value!r}; choose one of {', '.join(repr(c) for c in choices)}."
        )
    return value


def as_seed_rng(seed) -> np.random.Generator:
    """A numpy Generator from None, an int, or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise InvalidInputError(f"seed must be None, an int or a numpy Generator; got {seed!r}.")
    return np.random.default_rng(seed)


#: default ceiling for one dense array a builder allocates (bytes)
MEMORY_LIMIT_BYTES = 4 * 2 ** 30


def check_memory(n_bytes: float, what: str, fix: str, limit: float | None = None) -> None:
    """Raise PatternLimitError before allocating more than ``limit`` bytes."""
    from .errors import PatternLimitError

    limit = MEMORY_LIMIT_BYTES if limit is None else limit
    if n_bytes > limit:
        raise PatternLimitError(
            f"{what} would need about {n_bytes / 2 ** 30:.1f} GiB (limit "
            f"{limit / 2 ** 30:.1f} GiB); {fix}"
        )


def as_real_matrix(value, name: str, allow_empty: bool = False) -> np.ndarray:
    """A finite real 2-D float array (weights, constraint matrices, rays)."""
    arr = _as_float_array(value, name)
    if arr.ndim != 2:
        raise InvalidInputError(f"{name} must be a 2-D array; got shape {arr.shape}.")
    if not allow_empty and 0 in arr.shape:
        raise InvalidInputError(f"{name} has an empty dimension (shape {arr.shape}).")
    _check_finite(arr, name)
    return arr


def as_positive(value, name: str, integer: bool = False):
    """A positive finite number (or positive integer) for the argument ``name``, else
    InvalidInputError naming it."""
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(
        value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not ok or not np.isfinite(value) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise InvalidInputError(f"{name} must be {kind}; got {value!r}.")
    return int(value) if integer else float(value)


def as_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


#: bytes per nonzero of the canonicalized problem that CVXPY's SCIPY backend and Clarabel
#: hold at their peak (measured: 217–221 B on sampled-pattern bi-duals, n = 100, P = 400)
BYTES_PER_NONZERO = 220.0
#: Clarabel needs minutes beyond this many nonzeros here (measured: 2.2e6 nonzeros, 119 s)
MAX_NONZEROS = 5e6
#: CVXPY canonicalizes a stacked PSD constraint of B blocks in memory ∝ B² (measured on the
#: CNN program (50), c = 2: 34 MB at B = 496, 262 MB at 1 384, 998 MB at 2 720 blocks)
BYTES_PER_BLOCK_PAIR = 140.0


def program_nonzeros(n: int, P: int, r: int, c: int, form: str, rows: int | None = None) -> float:
    """Nonzeros of the canonicalized bi-dual (12)/(50) with n samples (``rows`` rows of the
    pattern matrix, n·K for the CNN), P patterns of rank r and c outputs: the dense fit
    operator (n × P r per output), plus, for the "inner" form without extreme rays (r > 3),
    the cone constraints of both signs (2 rows·r per pattern and output) and for the "paper"
    form the rows²/2 · r(r+1)/2 entries of A_i W A_iᵀ ≥ 0 per pattern."""
    rows = n if rows is None else rows
    nnz = float(n) * P * r * c
    if form == "paper":
        nnz += P * rows * (rows + 1) / 2 * r * (r + 1) / 2
    elif r > 3:
        nnz += 2.0 * P * rows * r * c
    nnz += P * (r + c) * (r + c + 1) * 2.0          # lifted blocks (rays/simplicial)
    return nnz


def check_program_size(n: int, P: int, r: int, c: int, form: str, what: str,
                       rows: int | None = None, blocks=(), limit: float | None = None,
                       arrangement=None) -> None:
    """Raise PatternLimitError before CVXPY canonicalizes a program that would need more
    than ``limit`` bytes (default :data:`MEMORY_LIMIT_BYTES`) or more than
    :data:`MAX_NONZEROS` nonzeros (minutes of solver time). ``blocks``: the sizes of the
    stacked PSD constraints (lifted blocks per ray count), whose canonicalization is
    quadratic in their number."""
    from .errors import PatternLimitError

    limit = MEMORY_LIMIT_BYTES if limit is None else limit
    nnz = program_nonzeros(n, P, r, c, form, rows)
    est = BYTES_PER_NONZERO * nnz + BYTES_PER_BLOCK_PAIR * float(sum(b * b for b in blocks))
    if est > limit or nnz > MAX_NONZEROS:
        note = ""
        if arrangement is not None and arrangement.method == "sample":
            from .geometry.arrangements import max_patterns_bound

            note = (f" (exact enumeration is hopeless: up to "
                    f"{max_patterns_bound(rows or n, r):.3g} patterns for rank {r}; these "
                    f"are {P} sampled ones)")
        raise PatternLimitError(
            f"{what} with P = {P} sign patterns{note} (n = {n}, rank {r}, c = {c}, form {form!r}) "
            f"would need about {est / 2 ** 30:.1f} GiB inside CVXPY and the solver (limit "
            f"{limit / 2 ** 30:.1f} GiB) and {nnz:.2g} nonzeros (at most {MAX_NONZEROS:.0e} "
            "solve in minutes). Use the drivers, which never build it: "
            "cr.cutting_plane(X, Y, beta) (certified bounds), or fewer patterns: "
            "patterns=cr.sign_patterns(X, method='sample', n_samples=...) (an upper bound).")


def lifted_block_counts(cells, form: str, r: int) -> list:
    """Numbers of lifted PSD blocks per ray count that the "rays"/"simplicial" forms stack
    (one per cell, or one per simplex of each cell's triangulation)."""
    if cells is None or form not in ("rays", "simplicial"):
        return []
    k = np.asarray(cells.n_rays)
    if form == "rays":
        return [int(np.sum(k == v)) for v in np.unique(k)]
    return [int(np.sum(np.maximum(k - r + 1, 1)))]


def warn_sampled(arrangement, what: str) -> None:
    """The UserWarning of a program over an incomplete set of sign patterns."""
    import warnings

    if not arrangement.exact:
        warnings.warn(
            f"{what} is built over {arrangement.n_patterns} sampled/given sign patterns, not "
            "all of them: its value is an UPPER bound on the training optimum (or, for a "
            "relaxation, no bound at all). Use cr.cutting_plane(X, Y, beta) for certified "
            "bounds.", UserWarning, stacklevel=4)
