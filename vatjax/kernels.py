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
import numpy as np
from jaxtyping import Array, Bool, Float, Int

__all__ = [
    "GroupPlan",
    "VatMetrics",
    "gain_gnd",
    "gini",
    "group_plan",
    "spearman",
    "spearman_many",
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


def correlation_from_cross(
    cross: Float[Array, "*batch value value2"],
) -> Float[Array, "*batch value value2"]:
    """Correlations from the cross-products of centred columns; NaN where a column is
    constant, 1 on the diagonal of the others."""
    d = jnp.diagonal(cross, axis1=-2, axis2=-1)
    return _correlation(cross, d[..., :, None] * d[..., None, :])


def _correlation(cross, denom):
    """cross / sqrt(denom), NaN where denom is 0; 1 on the diagonal unless NaN."""
    corr = jnp.where(denom > 0, cross / jnp.sqrt(jnp.where(denom > 0, denom, 1.0)), jnp.nan)
    return _unit_diagonal(corr)


def _unit_diagonal(corr):
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
    return ranks - (ranks @ w / jnp.sum(w))[:, None]


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

        return _unit_diagonal(jax.lax.map(row, (*index, valid))).astype(x.dtype)
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
    mask = target_mask.astype(x.dtype)
    t_count = valid.astype(x.dtype) @ mask
    t_has = t_count > 0
    t_shift = jnp.where(t_has, (xz @ mask) / jnp.where(t_has, t_count, 1.0), 0.0)
    # every weighted sum is one product with w, so a batch of weight vectors is one GEMM
    n_values = x.shape[-1]
    t_has_f = t_has.astype(x.dtype)[:, None]
    cols = jnp.concatenate([valid.astype(x.dtype), xz, t_has_f, t_shift[:, None]], -1)
    sums = w @ cols
    col_w, col_sum = sums[..., :n_values], sums[..., n_values : 2 * n_values]
    t_w, t_sum = sums[..., -2], sums[..., -1]
    col_mean = col_sum / jnp.where(col_w > 0, col_w, jnp.nan)
    gain_raw = t_sum / jnp.where(t_w > 0, t_w, jnp.nan)
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


class GroupPlan(NamedTuple):
    """The tie groups of every value, for Spearman over many weight vectors at once.

    Built once per data set by :func:`group_plan`; see :func:`spearman_many`.
    """

    ops: Float[Array, "*batch scenario group"]
    gidx: Int[Array, "*batch value scenario"]
    valid: Float[Array, "*batch scenario value"]


def group_plan(x: np.ndarray, dtype=jnp.float32) -> GroupPlan:
    """Tie groups of each value (host-side numpy; the data are fixed, the weights vary).

    Per value v with distinct levels l_1 < ... < l_K, sample i in group g: the rank operator
    ``ops[i, off_v + a]`` is 1 if g < a, 1/2 if g == a, 0 if g > a or x[i, v] is NaN, so
    ``w @ ops`` is every group's weighted midrank (weight strictly below + half the weight
    tied). ``gidx[v, i]`` is the column of sample i's group. Groups are padded to a multiple
    of 64 columns over the batch. ``dtype=jnp.int8`` stores ``2 ops`` (0, 1, 2): for
    integer weights the rank product is then an int8 GEMM with int32 sums, exact and about
    twice as fast as bfloat16 on CPUs with int8 dot units.

    Example:
        >>> plan = group_plan(np.array([[0.0, 1.0], [0.0, 2.0], [1.0, 2.0]]))
        >>> plan.ops.shape, [int(i) for i in plan.gidx[0]]
        ((3, 64), [0, 0, 1])
    """
    x = np.asarray(x, np.float64)
    *batch, n, n_values = x.shape
    cells = x.reshape(-1, n, n_values)
    groups = []
    for cell in cells:
        per_value = []
        for col in cell.T:
            ok = ~np.isnan(col)
            levels = np.unique(col[ok])
            per_value.append((np.searchsorted(levels, np.where(ok, col, np.inf)), ok, len(levels)))
        groups.append(per_value)
    width = max(1, max(sum(k for *_, k in per_value) for per_value in groups))
    width = -(-width // 64) * 64
    # built in place in the final dtype: ops is the largest array of a bootstrap
    doubled = jnp.issubdtype(dtype, jnp.integer)
    ops = np.zeros((len(cells), n, width), np.int8 if doubled else np.float32)
    gidx = np.zeros((len(cells), n_values, n), np.int32)
    for c, per_value in enumerate(groups):
        off = 0
        for v, (g, ok, k) in enumerate(per_value):
            cols = np.arange(k)
            block = 2 * (g[:, None] < cols) + (g[:, None] == cols)  # 2 ops: 0, 1, 2
            block = np.where(ok[:, None], block, 0)
            ops[c, :, off : off + k] = block if doubled else 0.5 * block
            gidx[c, v] = off + np.where(ok, g, 0)
            off += k
    valid = (~np.isnan(cells)).astype(np.float32)
    return GroupPlan(
        jnp.asarray(ops.reshape(*batch, n, width), dtype),
        jnp.asarray(gidx.reshape(*batch, n_values, n)),
        jnp.asarray(valid.reshape(*batch, n, n_values)),
    )


def _rank_product(w, ops):
    """w @ ops in float32; for int8 ops (2 ops), an int8 GEMM (the caller checks w < 128)."""
    if jnp.issubdtype(ops.dtype, jnp.integer):
        twice = jnp.dot(w.astype(ops.dtype), ops, preferred_element_type=jnp.int32)
        return twice.astype(jnp.float32) * 0.5
    return jnp.dot(w.astype(ops.dtype), ops, preferred_element_type=jnp.float32)


def _spearman_many_core(ops, gidx, valid, w, pairwise: bool, slice_size: int):
    """One cell, a stack of weight vectors w (m, scenario) -> (m, value, value2)."""
    f32 = jnp.float32
    wf = w.astype(f32)
    m, (n_values, n) = w.shape[0], gidx.shape
    flat = gidx.reshape(-1)
    if pairwise:
        vw = jnp.swapaxes(valid[None] * wf[:, :, None], 1, 2)  # (m, given, scenario)
        tot = vw @ valid  # (m, given, value): weight where both are present
        ranks = _rank_product(vw, ops)
        # y[., g, u, i]: centred midrank of u among the samples where g and u are present
        y = jnp.take(ranks, flat, axis=-1).reshape(m, n_values, n_values, n)
        y = jax.lax.optimization_barrier(y - 0.5 * tot[..., None])
        e = vw[:, :, None, :] * valid.T[None, None]
        cross = jnp.sum(e * y * jnp.swapaxes(y, 1, 2), axis=-1)
        var = jnp.sum(e * y * y, axis=-1)
        return _correlation(cross, var * jnp.swapaxes(var, 1, 2))
    # the weighted mean of weighted midranks is exactly total / 2: centre at group level
    ranks = _rank_product(wf, ops) - 0.5 * jnp.sum(wf, axis=-1, keepdims=True)

    def covariances(args):
        r, wi = args
        # y sqrt(w): the covariances are one symmetric product; the barrier keeps XLA
        # from fusing the gather into the product (5x slower)
        y = jnp.take(r, flat).reshape(n_values, n) * jnp.sqrt(wi)
        y = jax.lax.optimization_barrier(y)
        return y @ y.T

    # the rank GEMM takes the whole stack (it reads ops once); the gathered ranks
    # (V N floats per vector) go in slices that stay in cache
    cross = jax.lax.map(covariances, (ranks, wf), batch_size=slice_size)
    return correlation_from_cross(cross)


@partial(jax.jit, static_argnames=("pairwise", "slice_size"))
def spearman_many(
    plan: GroupPlan,
    weights: Float[Array, "*batch resample scenario"],
    *,
    pairwise: bool = True,
    slice_size: int = 32,
) -> Float[Array, "*batch resample value value2"]:
    """:func:`spearman` for a stack of weight vectors over the same data, by matrix products.

    The group midranks of every weight vector are one matrix product ``weights @ ops``
    (batched over resamples, it is a GEMM); each sample takes its group's rank; the
    covariances are a second product. Equal to :func:`spearman` (exact, ties and pairwise
    NaN included); cost O(N (K + V^2)) per weight vector for K tie groups in all, so it
    pays where ties are the rule (Likert shifts) and K is far below N V. Without NaN, the
    gathered ranks (V N floats per vector) are built ``slice_size`` vectors at a time.

    Example:
        >>> x = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
        >>> float(spearman_many(group_plan(x), jnp.ones((5, 3)), pairwise=False)[4, 0, 1])
        -1.0
    """
    core = jnp.vectorize(
        partial(_spearman_many_core, pairwise=pairwise, slice_size=slice_size),
        signature="(n,k),(v,n),(n,v),(m,n)->(m,v,v)",
    )
    if not jnp.issubdtype(plan.ops.dtype, jnp.integer):
        return core(plan.ops, plan.gidx, plan.valid, weights)
    # int8 weights hold integers 0..127; anything else takes the exact float32 product
    fits = jnp.all((weights >= 0) & (weights <= 127) & (weights == jnp.round(weights)))
    return jax.lax.cond(
        fits,
        lambda: core(plan.ops, plan.gidx, plan.valid, weights),
        lambda: core(plan.ops.astype(jnp.float32) * 0.5, plan.gidx, plan.valid, weights),
    )
