"""Spearman correlation of shifts on a grid (ratings are discrete), without a sort.

When every shift is a multiple of ``step`` it has a level k (an integer), and the average
rank of a sample is a function of its level alone: the number of samples on lower levels
plus half of those on its own level, plus 1/2. So the ranks need only the count of each
level, not a sort, and the counts of a prefix of the samples grow by adding the next
block: :func:`prefix_spearman` gives the coupling of the first n samples for several n at
the cost of one pass (a scatter-add per block, a gather and a product per n). Exact, ties
included: the same numbers as :func:`vatjax.core.ranks.spearman` (to float rounding).

Levels come from :func:`grid_bounds` (a static number of levels that covers ``mean +- 10
sd``; a shift further out, with probability below 1e-22 for normal shifts, joins the end
level) and :func:`grid_levels`.

Example:
    >>> import jax.numpy as jnp
    >>> x = jnp.array([[0.0, 0.5], [0.25, 0.25], [0.25, 0.0], [0.5, 0.0]])
    >>> lo, k = grid_bounds(0.0, 0.25, 0.25)
    >>> r = prefix_spearman(grid_levels(x, 0.25, lo, k), k, (3, 4))
    >>> [round(float(v), 3) for v in r[:, 0, 1]]
    [-0.866, -0.833]
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from vatjax.core.ranks import correlation_from_cross

__all__ = ["fits_grid", "grid_bounds", "grid_levels", "prefix_spearman"]

REACH = 10.0
"""The grid covers mean +- REACH sd of the shifts."""


def grid_bounds(mean, sd: float, step: float) -> tuple[np.ndarray, int]:
    """The lowest level of each value and a number of levels that covers mean +- 10 sd
    (host-side: the number of levels is a static shape, rounded up to a multiple of 32).

    Example:
        >>> lo, k = grid_bounds(0.0, 0.5, 0.25)
        >>> int(lo[0]), k
        (-20, 64)
    """
    mean = np.atleast_1d(np.asarray(mean, np.float64))
    lo = np.floor((mean - REACH * sd) / step).astype(np.int32)
    hi = np.ceil((mean + REACH * sd) / step).astype(np.int32)
    levels = int(np.max(hi - lo)) + 1
    return lo, -(-levels // 32) * 32  # a multiple of 32: fewer shapes to compile


@partial(jax.jit, static_argnames="n_levels")
def grid_levels(
    x: Float[Array, "*batch scenario value"], step: float, lo, n_levels: int
) -> Int[Array, "*batch scenario value"]:
    """The level of each shift (0 .. n_levels - 1), x a multiple of ``step``."""
    k = jnp.round(x / step).astype(jnp.int32) - jnp.asarray(lo, jnp.int32)
    return jnp.clip(k, 0, n_levels - 1)


def _prefix_core(levels, n_levels: int, ns: tuple[int, ...]):
    n_values = levels.shape[-1]
    rows = jnp.arange(n_values)[None, :]
    counts = jnp.zeros((n_values, n_levels), jnp.float32)
    out, done = [], 0
    for n in ns:
        counts = counts.at[rows, levels[done:n]].add(1.0)
        done = n
        below = jnp.cumsum(counts, axis=-1) - counts
        centred = below + 0.5 * (counts + 1.0) - 0.5 * (n + 1.0)  # average rank - its mean
        ranks = jnp.take_along_axis(centred, levels[:n].T, axis=-1)  # (value, n)
        out.append(correlation_from_cross(ranks @ ranks.T))
    return jnp.stack(out)


@partial(jax.jit, static_argnames=("n_levels", "ns"))
def prefix_spearman(
    levels: Int[Array, "*batch scenario value"], n_levels: int, ns: tuple[int, ...]
) -> Float[Array, "*batch n value value2"]:
    """The Spearman coupling of the first n samples, for each n in ``ns`` (increasing).

    Args:
        levels: from :func:`grid_levels`.
        n_levels: the number of levels (static).
        ns: the prefix lengths, increasing, at most the number of samples (static).

    Returns:
        R of each prefix, unit diagonal, NaN where a value is constant.
    """
    if list(ns) != sorted(set(ns)) or ns[0] < 1 or ns[-1] > levels.shape[-2]:
        raise ValueError(f"ns must increase within 1..{levels.shape[-2]}, got {ns}")
    core = partial(_prefix_core, n_levels=n_levels, ns=tuple(int(n) for n in ns))
    return jnp.vectorize(core, signature="(s,v)->(j,v,v)")(levels)


def fits_grid(sd: float, step: float, max_levels: int = 4096) -> bool:
    """Whether shifts of this sd on this grid suit :func:`prefix_spearman` (else sort).

    Example:
        >>> fits_grid(0.7, 0.25), fits_grid(0.7, 0.0)
        (True, False)
    """
    return step > 0 and math.isfinite(sd) and 2 * REACH * sd / step + 2 <= max_levels
