"""The memory model of the resampling engine: which coupling kernel, how many resamples per
chunk, how many gathered-rank vectors at once, all under a byte budget.

Example:
    >>> s = size_chunks(n_cells=4, n=80, n_values=10, levels=60, has_nan=False,
    ...                 permute=False, float_weights=False, n_reps_total=2000, n_devices=1,
    ...                 max_memory=1 << 30)
    >>> s.grouped, s.chunk
    (True, 128)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vatjax.core.metrics import FLOAT_METRICS, stat_size

__all__ = ["CHUNKS_PER_CALL", "DEFAULT_MAX_MEMORY", "Sizing", "size_chunks", "use_groups"]

DEFAULT_MAX_MEMORY = 2 << 30  # bytes: working set of the resampling chunks, plan and replicates
MAX_CHUNK = 128  # resamples per device and chunk: one rank GEMM reads the plan once
CHUNKS_PER_CALL = 4  # chunks per device in one compiled call (a loop on the device)
MAX_GATHER_SLICE = 32  # resamples whose gathered ranks (V N floats each) exist at once


class Sizing(NamedTuple):
    """What the budget decided."""

    grouped: bool  # the tie-group kernel (spearman_many) runs the coupling
    chunk: int  # resamples per device and chunk
    gather_slice: int  # weight vectors per slice of gathered ranks (spearman_many)


def use_groups(levels: int, n: int, n_values: int, plan_bytes: int, max_memory: int) -> bool:
    """Whether the tie-group kernel (spearman_many) runs the coupling.

    K tie groups cost 2 N K flops per resample and an N x K plan: a win where ties are the
    rule (Likert shifts), not where nearly every level is distinct (continuous shifts),
    which go to the per-vector sort-based :func:`vatjax.core.ranks.spearman`.

    Example:
        >>> use_groups(60, 80, 10, 10_000, 1 << 30), use_groups(800, 80, 10, 10_000, 1 << 30)
        (True, False)
    """
    return levels <= max(512, n * n_values // 4) and plan_bytes <= max_memory // 4


def _plan_width(levels: int) -> int:
    return -(-max(levels, 1) // 64) * 64


def size_chunks(
    *,
    n_cells: int,
    n: int,
    n_values: int,
    levels: int,
    has_nan: bool,
    permute: bool,
    float_weights: bool,
    n_reps_total: int,
    n_devices: int,
    max_memory: int,
    force_groups: bool | None = None,
) -> Sizing:
    """Chunk sizes for ``n_cells`` cells of ``n`` samples x ``n_values`` values, with
    ``levels`` tie groups (see :func:`vatjax.core.groups.n_levels`), under ``max_memory``.

    The cells of a chunk run one after the other, so the temporaries are one cell's.
    Bytes per resample: weights and draws, and the gathered ranks and their products
    (x V with pairwise NaN); without NaN the gathered ranks exist for one slice of
    resamples at a time, which takes at most a quarter of a device's budget. Each device
    holds its own copy of the plan (every cell's). ``force_groups`` overrides the kernel
    choice.
    """
    plan_bytes, grouped = 0, False
    if not permute and n * n_values > 0:
        plan_bytes = n_cells * n * _plan_width(levels) * 2
        grouped = use_groups(levels, n, n_values, plan_bytes, max_memory)
        grouped = grouped if force_groups is None else bool(force_groups)
    if grouped:  # int8 plan for integer weights, float32 otherwise
        plan_bytes = n_cells * n * _plan_width(levels) * (4 if float_weights else 1)
    sliced = grouped and not has_nan
    if sliced:
        per = n * 4 * 4
    elif grouped:
        per = n * 4 * (4 + 3 * n_values) * n_values
    else:
        per = n * 4 * 12 * n_values * (2 if has_nan else 1)
    reps = n_reps_total * n_cells * stat_size(FLOAT_METRICS, n_values) * 4
    budget = max(max_memory - n_devices * plan_bytes - reps, max_memory // 4) // n_devices
    gather_slice = 1
    if sliced:
        gathered = n * 4 * 2 * n_values  # per resample of the slice
        gather_slice = int(np.clip(budget // 4 // gathered, 1, MAX_GATHER_SLICE))
        budget -= gather_slice * gathered
    chunk = int(min(max(budget // (2 * per), 1), MAX_CHUNK))
    return Sizing(grouped, chunk, gather_slice)
