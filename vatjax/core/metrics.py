"""The VAT metrics (VAT_SPEC sections 2-3) as pure, jitted array kernels.

Gain and GND, VAT(u), nVAT and centralization, in one pytree (:class:`VatMetrics`), with
core dims last and any leading batch dims. Every kernel takes sample weights, so one code
path serves the point estimate (all ones) and every resampling scheme. :func:`pack` and
:func:`unpack` flatten the metrics into one stat vector per cell and back: the one
layout the resampling engine and the named layer share.

Example:
    >>> import jax.numpy as jnp
    >>> vat, nvat, central = vat_from_coupling(jnp.array([[1.0, 0.5], [0.5, 1.0]]))
    >>> [float(v) for v in vat], float(nvat), float(central)
    ([0.5, 0.5], 0.5, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from vatjax.core.ranks import spearman

__all__ = [
    "FLOAT_METRICS",
    "NULL_METRICS",
    "VatMetrics",
    "gain_gnd",
    "gini",
    "pack",
    "stat_size",
    "unpack",
    "vat_from_coupling",
    "vat_metrics",
]


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


Shifts = Float[Array, "*batch scenario value"]
Weights = Float[Array, "*batch scenario"]
ValueMask = Bool[Array, "*batch value"]
PerCell = Float[Array, "*batch"]


@jax.jit
def gain_gnd(
    x: Shifts, weights: Weights, target_mask: ValueMask, direction: PerCell, eps: float = 1e-3
) -> tuple[PerCell, PerCell, Bool[Array, "*batch"], Float[Array, "*batch value"]]:
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
    x: Shifts,
    weights: Weights,
    target_mask: ValueMask,
    direction: PerCell,
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


FLOAT_METRICS = ("gain", "gain_raw", "gnd", "coupling", "vat", "nvat", "centralization")
"""The float metrics that resampling estimates, in the order of a stat vector."""
NULL_METRICS = ("coupling", "vat", "nvat", "centralization")
"""The metrics a permutation null changes (gain and GND do not move under it)."""
_CORE_RANK = {
    "gain": 0,
    "gain_raw": 0,
    "gnd": 1,
    "coupling": 2,
    "vat": 1,
    "nvat": 0,
    "centralization": 0,
}


def stat_size(names: Sequence[str], n_values: int) -> int:
    """The length of a stat vector of ``names`` for V = ``n_values``.

    Example:
        >>> stat_size(FLOAT_METRICS, 10)
        124
    """
    return sum(n_values ** _CORE_RANK[name] for name in names)


def pack(metrics: VatMetrics | Mapping[str, Array], names: Sequence[str] = FLOAT_METRICS):
    """One stat vector (..., S) per cell: the metrics ``names``, each flattened, in order.

    Example:
        >>> import jax.numpy as jnp
        >>> m = vat_metrics(jnp.array([[0.5, 0.0], [1.0, 0.5], [0.0, -0.5]]), jnp.ones(3),
        ...                 jnp.array([True, False]), 1.0)
        >>> pack(m).shape
        (12,)
    """
    fields = metrics._asdict() if isinstance(metrics, VatMetrics) else metrics
    lead = jnp.shape(fields["nvat"])
    return jnp.concatenate([jnp.reshape(fields[n], (*lead, -1)) for n in names], axis=-1)


def unpack(stats, n_values: int, names: Sequence[str] = FLOAT_METRICS) -> dict:
    """The inverse of :func:`pack` along the last axis (numpy or jax arrays).

    Example:
        >>> import numpy as np
        >>> parts = unpack(np.arange(12.0), 2)
        >>> parts["coupling"].shape, float(parts["nvat"])
        ((2, 2), 10.0)
    """
    out, at = {}, 0
    for name in names:
        rank = _CORE_RANK[name]
        size = n_values**rank
        part = stats[..., at : at + size]
        out[name] = part.reshape((*stats.shape[:-1], *(n_values,) * rank))
        at += size
    return out
