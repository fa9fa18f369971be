"""Resampling schemes: each is a weight vector over scenarios (DESIGN: weights are the one
abstraction), drawn from a JAX PRNG key.

The same weight applies to every value of a sample (a cluster bootstrap over scenarios).
A scheme is a small pure object (:class:`Bootstrap`, :class:`Subsample`,
:class:`BayesianBootstrap`): a ``draw`` and whether its weights are ``integer``.

- ``bootstrap``: multinomial counts, n draws with replacement from the n present samples;
- ``subsample``: 0/1 weights, m = floor(fraction n) samples without replacement
  (fraction 0.8 is the paper's robustness check);
- ``bayesian``: Dirichlet(1, ..., 1) weights (the Bayesian bootstrap), scaled to sum to n;
- jackknife: leave-one-out (or delete-a-group) 0/1 weights, for the BCa acceleration.

``present`` marks the samples a cell has (a model x intervention judged on a scenario);
absent samples always get weight 0 and n counts the present ones. Resample ``b`` of cell
``c`` uses the key ``fold_in(fold_in(key, b), c)`` (or ``fold_in(key, b)`` for all cells
when ``shared=True``), so a draw does not depend on how resamples are chunked or sharded.

Example:
    >>> import jax, jax.numpy as jnp
    >>> w = resample_weights(jax.random.key(0), 3, jnp.ones(10, bool))
    >>> w.shape, [float(s) for s in w.sum(-1)]
    ((3, 10), [10.0, 10.0, 10.0])
"""

from __future__ import annotations

import math
from functools import partial
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from vatjax.core.random import host_words, random_words
from vatjax.errors import VatInputError, option, plain

__all__ = [
    "JACKKNIFE_FOLD",
    "SCHEMES",
    "BayesianBootstrap",
    "Bootstrap",
    "Subsample",
    "check_scheme",
    "draw_chunk",
    "draw_weights",
    "jackknife_groups",
    "jackknife_weights",
    "make_scheme",
    "present_first",
    "resample_weights",
]

SCHEMES = ("bootstrap", "subsample", "bayesian")
JACKKNIFE_FOLD = 0xFFFFFFFF  # jackknife groups: fold_in(key, this); resample numbers stay below
_POISSON_TERMS = 14  # P(Poisson(<=1) >= 14) < 2e-12: the last entry takes that tail


def check_scheme(scheme: str, fraction: float) -> None:
    """Raise VatInputError for an unknown scheme or a fraction outside (0, 1)."""
    if scheme not in SCHEMES:
        raise VatInputError(
            f"unknown scheme {plain(scheme)}; {option('scheme', bare=True)} is one of "
            f"{list(SCHEMES)}"
        )
    if not 0 < fraction < 1:
        raise VatInputError(
            "fraction must lie in (0, 1) (m = fraction x n samples per subsample), "
            f"got {plain(fraction)}"
        )


def _counts(key, present: Bool[Array, " scenario"], order, attempt=0) -> Float[Array, " scenario"]:
    """Multinomial(n; 1/n, ..., 1/n) counts over the present samples.

    Poisson(mu) counts per sample, mu = (n - 4 sqrt n) / n, have a total T; given T they
    are Multinomial(T) (Poisson splitting), and adding the n - T missing draws uniformly
    makes them Multinomial(n). An attempt with T > n, or with more missing draws than the
    fixed pad (10 sqrt n), is rejected (probability ~3e-5): its weights are NaN and
    :func:`draw_chunk` redraws with ``attempt=1``; acceptance depends on T only, so the
    result is exact. Both fail with probability ~1e-9: the weights stay NaN (a NaN
    replicate, counted as such, never a wrong one). One uniform per sample and
    ~4 sqrt(n) scattered draws, instead of n scattered draws, and no loop. ``order`` is
    :func:`present_first` of ``present``: missing draw d lands on ``order[d]``.
    """
    size = present.shape[-1]
    pad = min(size, math.ceil(10 * math.sqrt(size)) + 8)
    n = jnp.sum(present, dtype=jnp.int32)
    nf = n.astype(jnp.float32)
    mu = jnp.maximum(nf - 4 * jnp.sqrt(nf), 0.0) / jnp.maximum(nf, 1.0)
    k = jnp.arange(_POISSON_TERMS, dtype=jnp.float32)
    log_pmf = k * jnp.log(jnp.maximum(mu, 1e-30)) - mu - jax.lax.lgamma(k + 1)
    pmf = jnp.where(mu > 0, jnp.exp(log_pmf), (k == 0).astype(jnp.float32))
    cdf = jnp.cumsum(pmf).at[-1].set(1.0)  # the table ends the distribution
    k_try, k_rest = jax.random.split(jax.random.fold_in(key, attempt))
    u = (random_words(k_try, (size,)) >> 8).astype(jnp.float32) * 2.0**-24  # exact in [0, 1)
    c = jnp.where(present, jnp.searchsorted(cdf, u, method="compare_all"), 0).astype(jnp.int32)
    c = jax.lax.optimization_barrier(c)  # summed and scattered into: computed once
    rest = n - jnp.sum(c, dtype=jnp.int32)
    ok = (rest >= 0) & (rest <= pad)
    # the missing draws, uniform over the present samples (modulo bias < n / 2^32)
    bits = random_words(k_rest, (pad,))
    draws = (bits % jnp.maximum(n, 1).astype(jnp.uint32)).astype(jnp.int32)
    c = c.at[order[draws]].add((jnp.arange(pad) < rest).astype(jnp.int32))
    return jnp.where(ok, c.astype(jnp.float32), jnp.nan)


def _subsample(key, present, fraction):
    """0/1 weights on m = floor(fraction n) present samples drawn without replacement.

    The m smallest of n uniform 32-bit keys (one sort); ties at the threshold, which
    have probability ~n / 2^32, are broken by index.
    """
    n = jnp.sum(present, dtype=jnp.int32)
    m = jnp.floor(fraction * n.astype(jnp.float32)).astype(jnp.int32)
    bits = random_words(key, present.shape)
    keys = jnp.where(present, bits, jnp.uint32(0xFFFFFFFF))
    t = jnp.sort(keys)[jnp.maximum(m - 1, 0)]
    below = present & (bits < t)
    tied = present & (bits == t)
    need = m - jnp.sum(below, dtype=jnp.int32)
    keep = below | (tied & (jnp.cumsum(tied, dtype=jnp.int32) <= need))
    return (keep & (m > 0)).astype(jnp.float32)


def _bayesian(key, present):
    """Dirichlet(1) weights on the present samples, scaled to sum to n."""
    e = jnp.where(present, jax.random.exponential(key, present.shape), 0.0)
    e = jax.lax.optimization_barrier(e)  # drawn once, not once per consumer
    n = jnp.sum(present, dtype=jnp.float32)
    total = jnp.sum(e)
    return e * (n / jnp.where(total > 0, total, 1.0))


class Bootstrap(eqx.Module):
    """Multinomial(n; 1/n, ..., 1/n) counts over the present samples (see ``_counts``).

    An attempt is rejected with probability ~3e-5 (NaN weights) and redrawn by
    :func:`draw_chunk` with ``attempt=1``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> present = jnp.ones(6, bool)
        >>> w = Bootstrap().draw(jax.random.key(0), present, present_first(present))
        >>> float(w.sum())
        6.0
    """

    integer: ClassVar[bool] = True
    may_reject: ClassVar[bool] = True

    def draw(self, key, present, order, attempt=0):
        return _counts(key, present, order, attempt)


class Subsample(eqx.Module):
    """0/1 weights on m = floor(fraction n) present samples, without replacement.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> present = jnp.ones(10, bool)
        >>> float(Subsample(0.8).draw(jax.random.key(0), present, present_first(present)).sum())
        8.0
    """

    fraction: Float[Array, ""] | float = 0.8
    integer: ClassVar[bool] = True
    may_reject: ClassVar[bool] = False

    def draw(self, key, present, order, attempt=0):
        return _subsample(key, present, self.fraction)


class BayesianBootstrap(eqx.Module):
    """Dirichlet(1) weights on the present samples, scaled to sum to n.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> present = jnp.ones(4, bool)
        >>> w = BayesianBootstrap().draw(jax.random.key(0), present, present_first(present))
        >>> round(float(w.sum()), 4)
        4.0
    """

    integer: ClassVar[bool] = False
    may_reject: ClassVar[bool] = False

    def draw(self, key, present, order, attempt=0):
        return _bayesian(key, present)


def make_scheme(name: str, fraction=0.8) -> Bootstrap | Subsample | BayesianBootstrap:
    """The scheme object of a scheme name (``bootstrap``, ``subsample``, ``bayesian``).

    Example:
        >>> make_scheme("subsample", 0.5).fraction
        0.5
    """
    return {
        "bootstrap": Bootstrap,
        "subsample": lambda: Subsample(fraction),
        "bayesian": BayesianBootstrap,
    }[name]()


def _draw(key, index, present, base, order, scheme, shared: bool, attempt, first_cell):
    rkey = jax.random.fold_in(key, index)
    one = partial(scheme.draw, attempt=attempt)
    if shared:
        return jnp.broadcast_to(one(rkey, base, order), present.shape) * present.astype(jnp.float32)
    cells = first_cell + jnp.arange(base.shape[0])
    keys = jax.vmap(lambda c: jax.random.fold_in(rkey, c))(cells)
    return jax.vmap(one)(keys, base, order).reshape(present.shape)


def present_first(present: Bool[Array, "*cell scenario"]) -> Int[Array, "*cell scenario"]:
    """The order that puts each cell's present samples first (the ``order`` of
    :func:`draw_chunk`): the d-th present sample is ``order[d]``.

    Example:
        >>> import jax.numpy as jnp
        >>> [int(i) for i in present_first(jnp.array([False, True, True]))]
        [1, 2, 0]
    """
    return jnp.argsort(~present, axis=-1, stable=True)


def draw_chunk(
    key,
    indices: Int[Array, " resample"],
    present: Bool[Array, "*cell scenario"],
    scheme: Bootstrap | Subsample | BayesianBootstrap,
    *,
    shared: bool = False,
    first_cell: int = 0,
    union: Bool[Array, " scenario"] | None = None,
    order: Int[Array, "*cell scenario"] | None = None,
) -> Float[Array, "resample *cell scenario"]:
    """The weights of the resamples numbered ``indices`` for every cell (jit-friendly).

    Args:
        key: a JAX PRNG key (``jax.random.key(seed)``).
        indices: the resamples' numbers; resample b is the same whatever the chunking.
        present: which samples each cell has (leading dims are cells).
        scheme: a scheme object (:func:`make_scheme`).
        shared: one weight vector for all cells (they must share their scenarios):
            the joint resampling that keeps differences between cells honest.
        first_cell: the number of the first cell (cells are drawn with
            ``fold_in(resample key, cell number)``; a block of cells passes its offset).
        union: the scenarios of all cells, for ``shared`` weights drawn block by block
            (default: those of ``present``).
        order: :func:`present_first` of ``present`` (of ``union`` if ``shared``), a sort
            a caller drawing many chunks computes once (default: computed here).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> w = draw_chunk(jax.random.key(1), jnp.arange(3), jnp.ones((2, 5), bool),
        ...                Subsample(0.8))
        >>> w.shape, [float(s) for s in w[0].sum(-1)]
        ((3, 2, 5), [4.0, 4.0])
    """
    if shared:
        base = jnp.any(present.reshape(-1, present.shape[-1]), 0) if union is None else union
    else:
        base = present.reshape(-1, present.shape[-1])
    order = present_first(base) if order is None else order.reshape(base.shape)
    draw = partial(_draw, key, present=present, base=base, order=order, scheme=scheme,
                   shared=shared, first_cell=first_cell)  # fmt: skip
    w = jax.vmap(lambda i: draw(i, attempt=0))(indices)
    if not scheme.may_reject:
        return w
    # a rejected bootstrap attempt (~3e-5 per resample and cell) is redrawn; the chunk
    # pays for the second attempt only when one of its rows needs it
    bad = jnp.isnan(w).any(axis=-1, keepdims=True)
    return jax.lax.cond(
        bad.any(),
        lambda: jnp.where(bad, jax.vmap(lambda i: draw(i, attempt=1))(indices), w),
        lambda: w,
    )


def draw_weights(
    key,
    index: Int[Array, ""],
    present: Bool[Array, "*cell scenario"],
    *,
    scheme: str = "bootstrap",
    fraction: float = 0.8,
    shared: bool = False,
) -> Float[Array, "*cell scenario"]:
    """The weights of resample number ``index`` (one row of :func:`resample_weights`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> w = draw_weights(jax.random.key(1), 0, jnp.ones((2, 5), bool), scheme="subsample")
        >>> [float(s) for s in w.sum(-1)]
        [4.0, 4.0]
    """
    index = jnp.asarray(index)[None]
    return draw_chunk(key, index, present, make_scheme(scheme, fraction), shared=shared)[0]


def resample_weights(
    key,
    n_resamples: int,
    present: Bool[Array, "*cell scenario"],
    *,
    scheme: str = "bootstrap",
    fraction: float = 0.8,
    shared: bool = False,
    start: int = 0,
) -> Float[Array, "resample *cell scenario"]:
    """Weights of resamples ``start .. start + n_resamples - 1`` (see :func:`draw_chunk`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> w = resample_weights(jax.random.key(0), 2, jnp.ones(4, bool), scheme="bayesian")
        >>> w.shape, bool(jnp.allclose(w.sum(-1), 4.0))
        ((2, 4), True)
    """
    if n_resamples < 1:
        raise VatInputError(
            f"{option('n_resamples', bare=True)} must be >= 1, got {plain(n_resamples)}"
        )
    check_scheme(scheme, fraction)
    idx = jnp.arange(start, start + n_resamples)
    return _draw_many(key, idx, jnp.asarray(present, bool), jnp.float32(fraction), scheme, shared)


@partial(jax.jit, static_argnums=(4, 5))
def _draw_many(key, idx, present, fraction, scheme: str, shared: bool):
    return draw_chunk(key, idx, present, make_scheme(scheme, fraction), shared=shared)


def jackknife_groups(
    present: np.ndarray, n_groups: int | None = None, key=None
) -> tuple[np.ndarray, int]:
    """Assign each cell's present samples to jackknife groups.

    ``n_groups=None`` (or at least n) is the leave-one-out jackknife: group = the sample's
    position among the present ones. Fewer groups delete a random ~n/G samples at a time
    (the delete-a-group jackknife), which estimates the same BCa acceleration at a cost of
    G instead of n evaluations; the random assignment of cell c comes from
    ``fold_in(fold_in(key, JACKKNIFE_FOLD), c)`` (the resampling key of the same seed).
    Absent samples get group -1.

    Returns:
        ``(groups, G)``: groups (*cell, scenario) int32, and the number of groups G.

    Example:
        >>> jackknife_groups(np.array([True, False, True]))
        (array([ 0, -1,  1], dtype=int32), 2)
    """
    present = np.asarray(present, bool)
    flat = present.reshape(-1, present.shape[-1])
    n_max = int(flat.sum(-1).max(initial=0))
    n_groups = n_max if n_groups is None else min(int(n_groups), n_max)
    if n_groups < 1 and n_max > 0:
        raise VatInputError(f"jackknife needs at least 1 group, got {plain(n_groups)}")
    groups = np.full(flat.shape, -1, np.int32)
    jkey = jax.random.fold_in(jax.random.key(0) if key is None else key, JACKKNIFE_FOLD)
    for c, row in enumerate(flat):
        idx = np.flatnonzero(row)
        if n_groups >= len(idx):
            groups[c, idx] = np.arange(len(idx))
            continue
        # a uniform random permutation of the present samples: the ranks of random words
        words = host_words(jax.random.fold_in(jkey, c), (len(idx),))
        rank = np.argsort(np.argsort(words, kind="stable"), kind="stable")
        groups[c, idx] = rank % n_groups
    return groups.reshape(present.shape), max(n_groups, 1)


def jackknife_weights(
    groups: Int[Array, "*cell scenario"], index: Int[Array, ""]
) -> Float[Array, "*cell scenario"]:
    """0/1 weights that leave out jackknife group ``index`` (``-1`` leaves none out).

    Example:
        >>> import jax.numpy as jnp
        >>> [float(v) for v in jackknife_weights(jnp.array([0, -1, 1]), 1)]
        [1.0, 0.0, 0.0]
    """
    groups = jnp.asarray(groups)
    return ((groups >= 0) & (groups != index)).astype(jnp.float32)
