"""Spearman over many weight vectors at once, by tie groups and matrix products.

For Likert shifts (ties are the rule) the coupling of a whole stack of resamples is two
matrix products: the group midranks of every weight vector are ``weights @ ops``, each
sample takes its group's rank, and the covariances are a second product.

Example:
    >>> import numpy as np, jax.numpy as jnp
    >>> x = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    >>> float(spearman_many(group_plan(x), jnp.ones((5, 3)), pairwise=False)[4, 0, 1])
    -1.0
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from vatjax.core.ranks import correlation, correlation_from_cross

__all__ = ["GroupPlan", "group_plan", "n_levels", "spearman_many"]


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
        return correlation(cross, var * jnp.swapaxes(var, 1, 2))
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


def n_levels(x: np.ndarray) -> int:
    """The most tie groups (distinct non-NaN levels, summed over values) of any cell of x
    (*cell, scenario, value): the width of the :func:`group_plan` before padding.

    Example:
        >>> n_levels(np.array([[0.0, 1.0], [0.0, 2.0], [1.0, 2.0]]))
        4
    """
    cells = np.asarray(x).reshape(-1, *np.shape(x)[-2:])
    return max(
        (sum(len(np.unique(col[~np.isnan(col)])) for col in cell.T) for cell in cells), default=0
    )
