"""The debiased tax: VAT(u), nVAT and centralization with the sampling noise of the
squared correlations taken out (the observed-scale figure, VAT_SPEC section 3).

Spearman's r of two values is the Pearson correlation of their (average) ranks, two
fixed vectors once the samples are drawn. When the values are independent, the pairing
of those vectors is a uniformly random permutation, and for any two non-constant vectors
a and b of length n

    E[r^2] = E[(sum_i a_i b_pi(i))^2] / (|a|^2 |b|^2) = 1 / (n - 1)

(centre both: the i = j terms give |a|^2 |b|^2 / n, the i != j terms
|a|^2 |b|^2 / (n (n - 1))). Ties change the rank vectors, not the identity, so the
tie-aware bias is the same 1 / (n_pair - 1), with n_pair the samples where both values
are present. Hence, with R the coupling, V values and b_uw = 1 / (n_uw - 1):

    VAT_d(u)^2 = sum_{w != u} (R_uw^2 - b_uw),  nVAT_d^2 = sum_u VAT_d(u)^2 / V,

unbiased for the population figures when nothing is coupled. As |rho| grows, Var(r) falls
below 1 / (n - 1) (by 1.715 rho_s^2 / n to first order, David and Mallows 1961), so
:func:`r_squared_noise` takes c (1 - 1.715 (r^2 - c)) instead of c = 1 / (n - 1): still
exact in expectation without coupling, and right to first order with it. The squares can come out
negative; the norms clip them at 0 (at 1 with the diagonal kept), which biases the
clipped figure upward where the true tax is near 0 (see the intervals, which are built on
the unclipped squares).

Example:
    >>> import jax.numpy as jnp
    >>> r = jnp.array([[1.0, 0.5], [0.5, 1.0]])
    >>> d = debiased_tax(r, jnp.full((2, 2), 11.0))
    >>> round(float(d.nvat_sq), 3), round(float(d.nvat), 3)
    (0.176, 0.419)
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from vatjax.core.metrics import gini

__all__ = ["SPEARMAN_VARIANCE_SLOPE", "DebiasedTax", "debiased_tax", "pair_counts",
           "r_squared_noise"]


class DebiasedTax(NamedTuple):
    """The debiased tax of one or many cells; ``*_sq`` are the unclipped squares."""

    vat_sq: Float[Array, "*batch value"]
    nvat_sq: Float[Array, "*batch"]
    vat: Float[Array, "*batch value"]
    nvat: Float[Array, "*batch"]
    centralization: Float[Array, "*batch"]


@jax.jit
def pair_counts(x: Float[Array, "*batch scenario value"]) -> Float[Array, "*batch value value2"]:
    """The samples where both values of each pair are present (NaN marks missing).

    Example:
        >>> import jax.numpy as jnp
        >>> [[float(v) for v in row] for row in pair_counts(jnp.array([[1.0, jnp.nan], [2.0, 1.0]]))]
        [[2.0, 1.0], [1.0, 1.0]]
    """
    valid = (~jnp.isnan(x)).astype(jnp.float32)
    return jnp.swapaxes(valid, -1, -2) @ valid


SPEARMAN_VARIANCE_SLOPE = 1.715
"""n Var(r_s) = 1 - 1.5635 rho^2 + O(rho^4) for a bivariate normal (David and Mallows 1961),
1 - 1.715 rho_s^2 in Spearman's own rho_s (rho^2 = 1.0966 rho_s^2 near 0)."""


def r_squared_noise(r, n_pair):
    """The sampling noise in r^2 of each pair: 1 / (n - 1), exact without coupling (ties
    included), less its first-order fall with the coupling: c (1 - 1.715 (r^2 - c)), with
    c = 1 / (n_pair - 1). Unbiased for c wherever E[r^2] = c (no coupling), and for
    c (1 - 1.715 rho_s^2) to first order otherwise. NaN where a pair has < 2 samples.

    Example:
        >>> round(float(r_squared_noise(0.0, 11.0)), 4)
        0.1172
    """
    c = jnp.where(n_pair > 1, 1.0 / jnp.where(n_pair > 1, n_pair - 1.0, 1.0), jnp.nan)
    return c * (1.0 - SPEARMAN_VARIANCE_SLOPE * (jnp.square(r) - c))


@partial(jax.jit, static_argnames="include_diagonal")
def debiased_tax(
    coupling: Float[Array, "*batch value value2"],
    n_pair: Float[Array, "*batch value value2"],
    *,
    include_diagonal: bool = False,
) -> DebiasedTax:
    """VAT(u), nVAT and centralization of ``coupling`` less the noise of each squared
    correlation (:func:`r_squared_noise`); NaN where a pair has < 2 samples."""
    n = coupling.shape[-1]
    eye = jnp.eye(n, dtype=bool)
    bias = r_squared_noise(coupling, n_pair)
    term = jnp.where(eye, 1.0 if include_diagonal else 0.0, coupling**2 - bias)
    vat_sq = jnp.sum(term, axis=-1)
    nvat_sq = jnp.sum(vat_sq, axis=-1) / n
    floor = 1.0 if include_diagonal else 0.0
    vat = jnp.sqrt(jnp.maximum(vat_sq, floor))  # maximum keeps a NaN square NaN
    nvat = jnp.sqrt(jnp.maximum(nvat_sq, floor))
    return DebiasedTax(vat_sq, nvat_sq, vat, nvat, gini(vat))
