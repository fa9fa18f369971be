"""Pure, jitted array kernels of the VAT metrics (VAT_SPEC sections 2-3).

Core dims come last: shifts are ``(..., scenario, value)``, sample weights
``(..., scenario)``. Any number of leading batch dims (model, intervention, resample)
broadcast. Every kernel takes sample weights, so one code path serves the point estimate
(all ones) and every resampling scheme (counts, 0/1, Dirichlet): a Spearman correlation
on a resample is the weighted Pearson correlation of weighted average ranks, exact with
ties, and the sort order of the data is computed once, not per resample.

Missing shifts are NaN. The coupling drops them pairwise (each pair of values uses the
samples where both are present) when ``pairwise=True``; with no NaN at all the faster
``pairwise=False`` gives the same numbers.

Example:
    >>> import jax.numpy as jnp
    >>> from vatjax.kernels import spearman
    >>> x = jnp.array([[1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    >>> float(spearman(x, jnp.ones(3))[0, 1])
    -1.0
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

__all__ = [
    "VatMetrics",
    "gain_gnd",
    "gini",
    "spearman",
    "vat_from_coupling",
    "vat_metrics",
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


def _spearman_core(x, w, pairwise: bool):
    index = rank_index(x)
    valid = (~jnp.isnan(x).T).astype(x.dtype)  # (value, scenario)
    n_values = x.shape[-1]
    if pairwise:
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

        corr = jax.lax.map(row, (*index, valid))
    else:
        wv = jnp.broadcast_to(w, valid.shape)
        ranks = weighted_midranks(index, wv)
        total = jnp.sum(w)
        centred = ranks - (ranks @ w / total)[:, None]
        cov = (centred * w) @ centred.T
        sd = jnp.sqrt(jnp.diag(cov))
        corr = jnp.where(sd[:, None] * sd[None, :] > 0, cov / jnp.outer(sd, sd), jnp.nan)
    eye = jnp.eye(n_values, dtype=bool)
    return jnp.where(eye & ~jnp.isnan(corr), 1.0, corr).astype(x.dtype)


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


@jax.jit
def gini(x: Float[Array, "*batch value"]) -> Float[Array, "*batch"]:
    """Gini coefficient sum_ij |x_i - x_j| / (2 n^2 mean(x)); 0 when all are equal.

    Example:
        >>> float(gini(jnp.array([1.0, 1.0, 1.0])))
        0.0
    """
    n = x.shape[-1]
    mad = jnp.sum(jnp.abs(x[..., :, None] - x[..., None, :]), axis=(-2, -1))
    mean = jnp.mean(x, axis=-1)
    return jnp.where(mad == 0, 0.0 * mean, mad / (2 * n * n * jnp.where(mad == 0, 1.0, mean)))


@partial(jax.jit, static_argnames="include_diagonal")
def vat_from_coupling(
    coupling: Float[Array, "*batch value value2"], *, include_diagonal: bool = False
) -> tuple[Float[Array, "*batch value"], Float[Array, "*batch"], Float[Array, "*batch"]]:
    """VAT(u) (row L2 norms), nVAT (Frobenius / sqrt(V)) and centralization (Gini of VAT).

    ``include_diagonal=False`` (the default convention) leaves R[u, u] out of the norms.
    """
    n = coupling.shape[-1]
    eye = jnp.eye(n, dtype=bool)
    sq = jnp.where(eye, 1.0 if include_diagonal else 0.0, coupling) ** 2
    vat = jnp.sqrt(jnp.sum(sq, axis=-1))
    nvat = jnp.sqrt(jnp.sum(sq, axis=(-2, -1)) / n)
    return vat, nvat, gini(vat)


def _gain_gnd_core(x, w, target_mask, direction, eps):
    valid = ~jnp.isnan(x)
    xz = jnp.where(valid, x, 0.0)
    wv = w[:, None] * valid.astype(x.dtype)
    col_w = jnp.sum(wv, axis=0)
    col_mean = jnp.sum(wv * xz, axis=0) / jnp.where(col_w > 0, col_w, jnp.nan)
    mask = target_mask.astype(x.dtype)
    t_count = valid.astype(x.dtype) @ mask
    t_has = t_count > 0
    t_shift = (xz @ mask) / jnp.where(t_has, t_count, 1.0)
    t_w = jnp.sum(w * t_has.astype(x.dtype))
    gain_raw = jnp.sum(w * jnp.where(t_has, t_shift, 0.0)) / jnp.where(t_w > 0, t_w, jnp.nan)
    gain = direction * gain_raw
    small = ~(jnp.abs(gain) >= eps)
    gnd = jnp.where(small, jnp.nan, col_mean / jnp.abs(gain))
    gnd = jnp.where(target_mask & ~small, jnp.sign(gain), gnd)
    return gain, gain_raw, small, gnd


@jax.jit
def gain_gnd(
    x: Float[Array, "*batch scenario value"],
    weights: Float[Array, "*batch scenario"],
    target_mask: Bool[Array, "*batch value"],
    direction: Float[Array, "*batch"],
    eps: float = 1e-3,
) -> tuple[
    Float[Array, "*batch"],
    Float[Array, "*batch"],
    Bool[Array, "*batch"],
    Float[Array, "*batch value"],
]:
    """Gain (oriented by direction), raw gain, the |Gain| < eps flag, and GND per value.

    The target's shift per sample is the mean of x over the entries in ``target_mask``
    (one value, or the micro-values of the target value). GND_t(w) = weighted mean of
    x[:, w] / |Gain|; GND at the target is sign(Gain); NaN (never inf) where the flag is set.
    """
    return jnp.vectorize(_gain_gnd_core, signature="(n,v),(n),(v),(),()->(),(),(),(v)")(
        x, weights, target_mask, direction, eps
    )


class VatMetrics(NamedTuple):
    """Every metric of one or many (model, intervention) cells; a pytree."""

    gain: Float[Array, "*batch"]
    gain_raw: Float[Array, "*batch"]
    gain_below_eps: Bool[Array, "*batch"]
    gnd: Float[Array, "*batch value"]
    coupling: Float[Array, "*batch value value2"]
    vat: Float[Array, "*batch value"]
    nvat: Float[Array, "*batch"]
    centralization: Float[Array, "*batch"]
    n_samples: Float[Array, "*batch"]


@partial(jax.jit, static_argnames=("include_diagonal", "pairwise"))
def vat_metrics(
    x: Float[Array, "*batch scenario value"],
    weights: Float[Array, "*batch scenario"],
    target_mask: Bool[Array, "*batch value"],
    direction: Float[Array, "*batch"],
    eps: float = 1e-3,
    *,
    include_diagonal: bool = False,
    pairwise: bool = True,
) -> VatMetrics:
    """The whole VAT suite in one call, batched over leading dims.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.array([[0.5, 0.0], [1.0, 0.5], [0.0, -0.5]])
        >>> m = vat_metrics(x, jnp.ones(3), jnp.array([True, False]), 1.0)
        >>> round(float(m.gain), 3), float(m.coupling[0, 1])
        (0.5, 1.0)
    """
    gain, gain_raw, small, gnd = gain_gnd(x, weights, target_mask, direction, eps)
    coupling = spearman(x, weights, pairwise=pairwise)
    vat, nvat, central = vat_from_coupling(coupling, include_diagonal=include_diagonal)
    present = jnp.any(~jnp.isnan(x), axis=-1)
    n_samples = jnp.sum(weights * present.astype(weights.dtype), axis=-1)
    return VatMetrics(gain, gain_raw, small, gnd, coupling, vat, nvat, central, n_samples)
