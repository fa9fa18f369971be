"""Ranks and Spearman correlation with sample weights (VAT_SPEC section 3), pure and jitted.

Core dims come last: shifts are ``(..., scenario, value)``, sample weights
``(..., scenario)``. Any number of leading batch dims (model, intervention, resample)
broadcast. A Spearman correlation on a resample is the weighted Pearson correlation of
weighted average ranks, exact with ties, and the sort order of the data is computed once,
not per resample.

Missing shifts are NaN. The coupling drops them pairwise (each pair of values uses the
samples where both are present) when ``pairwise=True``; with no NaN at all the faster
``pairwise=False`` gives the same numbers.

Example:
    >>> import jax.numpy as jnp
    >>> x = jnp.array([[1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    >>> float(spearman(x, jnp.ones(3))[0, 1])
    -1.0
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = [
    "RankIndex",
    "centred_midranks",
    "correlation",
    "correlation_from_cross",
    "rank_index",
    "spearman",
    "unit_diagonal",
    "weighted_midranks",
]


class RankIndex(NamedTuple):
    """Per value: the sort order of the samples and each sample's tie-group bounds."""

    order: Float[Array, "value scenario"]
    lower: Float[Array, "value scenario"]
    upper: Float[Array, "value scenario"]


def rank_index(x: Float[Array, "scenario value"]) -> RankIndex:
    """Sort once per value; NaNs sort last (they always carry zero weight)."""
    cols = jnp.where(jnp.isnan(x), jnp.inf, x).T
    order = jnp.argsort(cols, axis=-1, stable=True)
    xs = jnp.take_along_axis(cols, order, axis=-1)
    ss = jax.vmap(partial(jnp.searchsorted, method="sort"), in_axes=(0, 0, None))
    left = ss(xs, xs, "left")
    right = ss(xs, xs, "right")
    inverse = jnp.argsort(order, axis=-1)
    return RankIndex(
        order,
        jnp.take_along_axis(left, inverse, axis=-1),
        jnp.take_along_axis(right, inverse, axis=-1),
    )


def weighted_midranks(
    index: RankIndex, weights: Float[Array, "*batch value scenario"]
) -> Float[Array, "*batch value scenario"]:
    """Rank of each sample = weight strictly below it + half the weight tied with it.

    ``weights`` may differ per value (pairwise masks); integer weights give the average
    rank of the materialised resample, minus 1/2 (a shift Pearson ignores).
    """
    w_sorted = jnp.take_along_axis(weights, jnp.broadcast_to(index.order, weights.shape), -1)
    cum = jnp.cumsum(w_sorted, axis=-1)
    cum = jnp.concatenate([jnp.zeros_like(cum[..., :1]), cum], axis=-1)
    below = jnp.take_along_axis(cum, jnp.broadcast_to(index.lower, weights.shape), -1)
    upto = jnp.take_along_axis(cum, jnp.broadcast_to(index.upper, weights.shape), -1)
    return 0.5 * (below + upto)


def _weighted_corr(a, b, w):
    """Weighted Pearson correlation along the last axis (NaN for zero variance)."""
    total = jnp.sum(w, axis=-1)
    ma = jnp.sum(w * a, axis=-1, keepdims=True) / total[..., None]
    mb = jnp.sum(w * b, axis=-1, keepdims=True) / total[..., None]
    da, db = a - ma, b - mb
    cov = jnp.sum(w * da * db, axis=-1)
    var = jnp.sum(w * da * da, axis=-1) * jnp.sum(w * db * db, axis=-1)
    return jnp.where(var > 0, cov / jnp.sqrt(jnp.where(var > 0, var, 1.0)), jnp.nan)


def correlation_from_cross(
    cross: Float[Array, "*batch value value2"],
) -> Float[Array, "*batch value value2"]:
    """Correlations from the cross-products of centred columns; NaN where a column is
    constant, 1 on the diagonal of the others."""
    d = jnp.diagonal(cross, axis1=-2, axis2=-1)
    return correlation(cross, d[..., :, None] * d[..., None, :])


def correlation(cross, denom):
    """cross / sqrt(denom), NaN where denom is 0; 1 on the diagonal unless NaN."""
    corr = jnp.where(denom > 0, cross / jnp.sqrt(jnp.where(denom > 0, denom, 1.0)), jnp.nan)
    return unit_diagonal(corr)


def unit_diagonal(corr):
    """1 on the diagonal, except for a constant value (a NaN row stays NaN)."""
    eye = jnp.eye(corr.shape[-1], dtype=bool)
    return jnp.where(eye & ~jnp.isnan(corr), 1.0, corr)


def centred_midranks(
    x: Float[Array, "scenario value"], w: Float[Array, " scenario"]
) -> Float[Array, "value scenario"]:
    """Weighted midranks of each value minus their weighted mean (x has no NaN where w > 0).

    Example:
        >>> r = centred_midranks(jnp.array([[1.0], [2.0], [2.0]]), jnp.ones(3))
        >>> [float(v) for v in r[0]]
        [-1.0, 0.5, 0.5]
    """
    ranks = weighted_midranks(rank_index(x), jnp.broadcast_to(w, x.T.shape))
    centred = ranks - (ranks @ w / jnp.sum(w))[:, None]
    # a constant value's ranks are all equal; rounding in the mean must not leave a residue
    # that a correlation would read as perfect (or any) coupling
    kept = w > 0
    top = jnp.max(jnp.where(kept, ranks, -jnp.inf), axis=-1)
    bottom = jnp.min(jnp.where(kept, ranks, jnp.inf), axis=-1)
    return jnp.where((top == bottom)[:, None], 0.0, centred)


def _spearman_core(x, w, pairwise: bool):
    if pairwise:
        index = rank_index(x)
        valid = (~jnp.isnan(x).T).astype(x.dtype)  # (value, scenario)

        # One row u at a time (memory O(V N), not O(V^2 N)): for each v, the weights keep
        # the samples where both u and v are present.
        def row(args):
            order_u, lower_u, upper_u, valid_u = args
            pair_w = w * valid_u * valid  # (value2, scenario)
            index_u = RankIndex(
                *(jnp.broadcast_to(a, pair_w.shape) for a in (order_u, lower_u, upper_u))
            )
            ranks_u = weighted_midranks(index_u, pair_w)
            ranks_v = weighted_midranks(index, pair_w)
            return _weighted_corr(ranks_u, ranks_v, pair_w)

        return unit_diagonal(jax.lax.map(row, (*index, valid))).astype(x.dtype)
    centred = centred_midranks(x, w)
    return correlation_from_cross((centred * w) @ centred.T).astype(x.dtype)


@partial(jax.jit, static_argnames="pairwise")
def spearman(
    x: Float[Array, "*batch scenario value"],
    weights: Float[Array, "*batch scenario"],
    *,
    pairwise: bool = True,
) -> Float[Array, "*batch value value2"]:
    """Weighted Spearman correlation matrix across samples (average ranks for ties).

    Args:
        x: shifts, NaN where missing.
        weights: non-negative sample weights (ones for the plain estimate).
        pairwise: drop NaNs pair by pair; ``False`` is faster and exact when x has no NaN.

    Returns:
        The coupling matrix R, unit diagonal, NaN where a value has no variance.
    """
    return jnp.vectorize(partial(_spearman_core, pairwise=pairwise), signature="(n,v),(n)->(v,v)")(
        x, weights
    )
