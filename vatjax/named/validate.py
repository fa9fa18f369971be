"""The one validation module of the named layer: shifts in, checked, as the engine's
cells; the shared checks of resampling arguments.

Example:
    >>> import vatjax
    >>> sh = vatjax.shifts(vatjax.load_judgments(
    ...     vatjax.simulate_study(seed=0, n_models=1, n_scenarios=10).table))
    >>> check_shifts(sh)
    'value'
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

from vatjax.engine import Cells
from vatjax.errors import VatInputError, option, plain
from vatjax.taxonomy import taxonomy_of

__all__ = [
    "ShiftCells",
    "check_confidence",
    "check_count",
    "check_resampling",
    "check_shifts",
    "shift_cells",
    "target_inputs",
]


def check_shifts(shifts: xr.DataArray) -> str:
    """Validate a shifts DataArray; return its level dim ('value' or 'micro_value')."""
    if not isinstance(shifts, xr.DataArray) or shifts.ndim < 2:
        raise VatInputError(
            "expected the shifts DataArray from vatjax.shifts (dims model, intervention, "
            f"scenario, value), got {type(shifts).__name__}"
        )
    level = shifts.dims[-1]
    missing = [d for d in ("model", "intervention", "scenario") if d not in shifts.dims] + [
        c for c in ("target", "direction") if c not in shifts.coords
    ]
    if level not in ("value", "micro_value") or missing:
        raise VatInputError(
            f"the shifts have dims {shifts.dims} and coords {list(shifts.coords)}; they need "
            "dims (model, intervention, scenario, value|micro_value) and coords target, "
            "direction: make them with vatjax.shifts"
        )
    if shifts.sizes["scenario"] < 3:
        raise VatInputError(
            f"only {shifts.sizes['scenario']} scenario(s): a rank correlation across samples "
            "needs at least 3"
        )
    return level


def target_inputs(shifts: xr.DataArray) -> tuple[xr.DataArray, np.ndarray, np.ndarray, bool]:
    """Shifts with core dims last, the target mask, the direction, and whether NaNs occur."""
    level = check_shifts(shifts)
    x = shifts.transpose(..., "scenario", level)
    tax = taxonomy_of(shifts)
    owner = np.array([tax.value_of(str(n)) for n in x[level].values])
    targets = x["target"].transpose(*[d for d in x.dims if d in x["target"].dims]).values
    mask = np.asarray(targets)[..., None] == owner
    if "intervention" in x["target"].dims and not mask.any(axis=-1).all():
        lost = sorted({str(t) for t, m in zip(targets, mask.any(-1), strict=False) if not m})
        raise VatInputError(
            f"target(s) {lost} have no judgments in these shifts; collect ratings of the target "
            "value or drop those interventions"
        )
    direction = x["direction"].values.astype(np.float32)
    return x, mask, direction, bool(np.isnan(x.values).any())


class ShiftCells(NamedTuple):
    """Shifts as the engine's cells, plus the named layout to map results back."""

    cells: Cells
    layout: xr.DataArray  # the transposed shifts: dims (*cells, scenario, value)

    def unflatten(self, arr: np.ndarray, n_leading: int = 0) -> np.ndarray:
        """(*leading, cell, *core) -> (*leading, *cell dims, *core)."""
        arr = np.asarray(arr)
        cell_shape = self.layout.shape[:-2]
        return arr.reshape(*arr.shape[:n_leading], *cell_shape, *arr.shape[n_leading + 1 :])


def shift_cells(shifts: xr.DataArray) -> ShiftCells:
    """Validate ``shifts`` and flatten them to cells (model x intervention)."""
    x, mask, direction, _ = target_inputs(shifts)
    values = np.asarray(x.values, np.float32)
    n, v = values.shape[-2:]
    cell_shape = values.shape[:-2]
    mask = np.broadcast_to(mask, (*cell_shape, v)).reshape(-1, v)
    direction = np.broadcast_to(direction, cell_shape).reshape(-1)
    return ShiftCells(Cells.from_arrays(values.reshape(-1, n, v), mask, direction), x)


def check_resampling(max_memory: int, devices) -> None:
    """The arguments every resampling function shares."""
    if not isinstance(max_memory, int | np.integer) or max_memory < 1 << 20:
        raise VatInputError(f"max_memory must be at least 1 MiB (in bytes), got {max_memory!r}")
    if devices is not None and len(devices) == 0:
        raise VatInputError("devices must name at least one JAX device (or be None for all)")


def check_count(label: str, n: object, least: int) -> None:
    """A count of resamples or permutations (``label`` in :data:`vatjax.errors.OPTIONS`):
    a whole number, at least ``least``.

    Example:
        >>> check_count("n_resamples", -5, 2)
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: n_resamples must be a whole number >= 2, got -5
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < least:
        raise VatInputError(
            f"{option(label, bare=True)} must be a whole number >= {least}, got {plain(n)}"
        )


def check_confidence(level: float) -> None:
    """The confidence level of an interval: in (0, 1); a percentage is told as such.

    Example:
        >>> check_confidence(95)
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: level must lie in (0, 1), got 95: did you mean 0.95?
    """
    if not 0 < level < 1:
        hint = f": did you mean {plain(level / 100)}?" if 1 < level < 100 else ", e.g. 0.95"
        raise VatInputError(
            f"{option('confidence', bare=True)} must lie in (0, 1), got {plain(level)}{hint}"
        )
