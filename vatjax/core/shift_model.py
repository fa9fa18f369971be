"""A model of one cell's observed shifts, for power, coverage and sample-size studies.

Each sample's true shift vector is Delta ~ N(mean, shift_sd^2 Omega), Omega a correlation
matrix (the noise-free coupling); the judge adds rating noise, x = Delta + noise * eps,
and the observed shifts come on a grid of ``step`` (ratings are discrete, so shifts tie;
``step=0`` keeps them continuous). :func:`circumplex_coupling` gives the Omega of
Schwartz's circle at a strength c. The observed-scale tax of such a cell (the figure on
infinitely many of its samples) has no closed form once shifts tie, so
:func:`observed_tax` computes it on a large sample, and :func:`strength_for_nvat` finds the
c that gives a wanted observed-scale nVAT.

Example:
    >>> import jax
    >>> x = simulate_shifts(jax.random.key(0), 50, circumplex_coupling(10, 0.5))
    >>> x.shape
    (50, 10)
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from vatjax.core.debias import debiased_tax
from vatjax.core.grid_ranks import fits_grid, grid_bounds, grid_levels, prefix_spearman
from vatjax.core.ranks import spearman

__all__ = ["circumplex_coupling", "observed_tax", "simulate_shifts", "strength_for_nvat"]


def circumplex_coupling(n_values: int, strength: float) -> np.ndarray:
    """Omega = (1 - c) I + c C with C_uw = cos(angle_u - angle_w), equal angles: values
    near on the circle move together, opposite ones against each other (c in [0, 1]).

    Example:
        >>> round(float(circumplex_coupling(4, 0.5)[0, 2]), 3)
        -0.5
    """
    angle = 2 * np.pi * np.arange(n_values) / n_values
    circle = np.cos(angle[:, None] - angle[None, :])
    return (1 - strength) * np.eye(n_values) + strength * circle


@partial(jax.jit, static_argnames=("n",))
def simulate_shifts(
    key,
    n: int,
    omega: Float[Array, "value value2"],
    mean: Float[Array, " value"] | float = 0.0,
    shift_sd: float = 0.5,
    noise: float = 0.5,
    step: float = 0.25,
) -> Float[Array, "scenario value"]:
    """``n`` samples of observed shifts (vmap over keys for many studies)."""
    evals, evecs = jnp.linalg.eigh(jnp.asarray(omega, jnp.float32))
    chol = evecs * jnp.sqrt(jnp.clip(evals, 0.0))  # a square root; Omega may be singular
    k1, k2 = jax.random.split(key)
    true = jax.random.normal(k1, (n, omega.shape[-1])) @ chol.T * shift_sd + jnp.asarray(mean, jnp.float32)
    x = true + noise * jax.random.normal(k2, (n, omega.shape[-1]))
    return jnp.where(step > 0, jnp.round(x / jnp.where(step > 0, step, 1.0)) * step, x)


def observed_tax(
    omega: np.ndarray,
    *,
    shift_sd: float = 0.5,
    noise: float = 0.5,
    step: float = 0.25,
    n: int = 400_000,
    seed: int = 0,
) -> tuple[float, np.ndarray]:
    """The observed-scale nVAT and VAT(u) of the model, debiased, on ``n`` samples (sd
    about 0.001 on nVAT at 400,000 samples).

    Example:
        >>> round(observed_tax(np.eye(3), n=20_000)[0], 2)
        0.0
    """
    x = simulate_shifts(jax.random.key(seed), n, jnp.asarray(omega), 0.0, shift_sd, noise, step)
    sd = math.sqrt(shift_sd**2 * float(np.max(np.diag(omega))) + noise**2)
    if fits_grid(sd, step):  # the same R as the sort, by counting the grid's levels
        lo, n_levels = grid_bounds(0.0, sd, step)
        r = prefix_spearman(grid_levels(x, step, lo, n_levels), n_levels, (n,))[0]
    else:
        r = spearman(x, jnp.ones(n, jnp.float32), pairwise=False)
    d = debiased_tax(r, jnp.full(r.shape, float(n)))  # less the 1 / (n - 1) of each r^2
    return float(d.nvat), np.asarray(d.vat)


def strength_for_nvat(
    nvat: float,
    n_values: int = 10,
    *,
    shift_sd: float = 0.5,
    noise: float = 0.5,
    step: float = 0.25,
    n: int = 400_000,
    seed: int = 0,
) -> float:
    """The circumplex strength c whose observed-scale nVAT is ``nvat`` (bisection).

    Raises ValueError when even c = 1 does not reach it (rating noise caps the tax).
    """
    def tax(c: float) -> float:
        omega = circumplex_coupling(n_values, c)
        return observed_tax(omega, shift_sd=shift_sd, noise=noise, step=step, n=n, seed=seed)[0]

    if nvat <= 0:
        return 0.0
    top = tax(1.0)
    if nvat > top:
        raise ValueError(
            f"an observed-scale nVAT of {nvat} is out of reach: with shift_sd={shift_sd} and "
            f"noise={noise} the strongest circumplex coupling gives {top:.3f}"
        )
    lo, hi = 0.0, 1.0
    for _ in range(18):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if tax(mid) < nvat else (lo, mid)
    return 0.5 * (lo + hi)
