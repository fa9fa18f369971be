"""Resampling weights over scenarios, drawn from a JAX PRNG key (DESIGN: weights are the
one abstraction).

Every scheme is a weight vector over samples (the ``scenario`` dim), and the same weight
applies to every value of a sample (a cluster bootstrap over scenarios):

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

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from vatjax.errors import VatInputError

__all__ = [
    "SCHEMES",
    "draw_chunk",
    "draw_weights",
    "jackknife_groups",
    "jackknife_weights",
    "present_first",
    "random_words",
    "resample_weights",
    "threefry2x32",
]

SCHEMES = ("bootstrap", "subsample", "bayesian")
_POISSON_TERMS = 14  # P(Poisson(<=1) >= 14) < 2e-12: the last entry takes that tail


def check_scheme(scheme: str, fraction: float) -> None:
    """Raise VatInputError for an unknown scheme or a fraction outside (0, 1)."""
    if scheme not in SCHEMES:
        raise VatInputError(f"unknown scheme {scheme!r}; use one of {list(SCHEMES)}")
    if not 0 < fraction < 1:
        raise VatInputError(
            f"fraction must lie in (0, 1) (m = fraction x n samples per subsample), got {fraction}"
        )


_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds, Salmon et al. 2011), unrolled, on uint32 arrays.

    The same function as JAX's ``threefry2x32`` primitive (tests check it bit for bit);
    JAX lowers that primitive on the CPU as a rolled loop that XLA cannot fuse, which
    costs about 4 ns per word, while this fuses into the consumer's loop.

    Example:
        >>> import numpy as np, jax.numpy as jnp
        >>> y1, y2 = threefry2x32(np.uint32(0), np.uint32(0), jnp.zeros(2, jnp.uint32),
        ...                       jnp.zeros(2, jnp.uint32))
        >>> hex(int(y1[0])), hex(int(y2[0]))  # the Random123 known-answer test
        ('0x6b200159', '0x99ba4efe')
    """
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = x1 ^ ((x2 << np.uint32(r)) | (x2 >> np.uint32(32 - r)))
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def random_words(key, shape: tuple[int, ...]) -> Array:
    """Uniform uint32 words from a key: both words of every Threefry-2x32 block.

    Equal to ``jax.extend.random.threefry_2x32(key_data, arange(size))`` (JAX's
    non-partitionable layout: block j hashes counters (j, j + size / 2)). Where
    ``jax.random.bits`` spends a whole block per 32-bit word, this uses both, and the
    hash is unrolled (:func:`threefry2x32`). Keys of another implementation fall back
    to ``jax.random.bits``. The words are materialised (an optimisation barrier), so a
    draw used twice (a sum and a scatter) does not hash twice.

    Example:
        >>> import jax
        >>> w = random_words(jax.random.key(0), (2, 3))
        >>> w.shape, str(w.dtype)
        ((2, 3), 'uint32')
    """
    if str(jax.random.key_impl(key)) != "threefry2x32":
        words = jax.random.bits(key, shape, jnp.uint32)
    else:
        size = math.prod(shape)
        half = (size + 1) // 2
        k = jax.random.key_data(key)
        count = jnp.arange(half, dtype=jnp.uint32)
        # counters (j, j + half); an odd size pads the last pair with 0, as JAX does
        y1, y2 = threefry2x32(k[0], k[1], count, (count + np.uint32(half)) % np.uint32(size))
        words = jnp.concatenate([y1, y2 if size % 2 == 0 else y2[:-1]]).reshape(shape)
    return jax.lax.optimization_barrier(words)


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


def _one(key, present, order, scheme: str, fraction, attempt):
    if scheme == "bootstrap":
        return _counts(key, present, order, attempt)
    if scheme == "subsample":
        return _subsample(key, present, fraction)
    return _bayesian(key, present)


def _draw(key, index, present, base, order, scheme: str, fraction, shared: bool, attempt,
          first_cell):  # fmt: skip
    rkey = jax.random.fold_in(key, index)
    one = partial(_one, scheme=scheme, fraction=fraction, attempt=attempt)
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
    *,
    scheme: str = "bootstrap",
    fraction: float = 0.8,
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
        scheme: ``bootstrap``, ``subsample`` or ``bayesian``.
        fraction: m / n for ``subsample``.
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
        ...                scheme="subsample")
        >>> w.shape, [float(s) for s in w[0].sum(-1)]
        ((3, 2, 5), [4.0, 4.0])
    """
    if shared:
        base = jnp.any(present.reshape(-1, present.shape[-1]), 0) if union is None else union
    else:
        base = present.reshape(-1, present.shape[-1])
    order = present_first(base) if order is None else order.reshape(base.shape)
    draw = partial(
        _draw, key, present=present, base=base, order=order, scheme=scheme, fraction=fraction,
        shared=shared, first_cell=first_cell,
    )  # fmt: skip
    w = jax.vmap(lambda i: draw(i, attempt=0))(indices)
    if scheme != "bootstrap":
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
    """The weights of resample number ``index`` (one row of :func:`draw_chunk`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> w = draw_weights(jax.random.key(1), 0, jnp.ones((2, 5), bool), scheme="subsample")
        >>> [float(s) for s in w.sum(-1)]
        [4.0, 4.0]
    """
    index = jnp.asarray(index)[None]
    return draw_chunk(key, index, present, scheme=scheme, fraction=fraction, shared=shared)[0]


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
        raise VatInputError(f"n_resamples must be >= 1, got {n_resamples}")
    check_scheme(scheme, fraction)
    idx = jnp.arange(start, start + n_resamples)
    return _draw_many(key, idx, jnp.asarray(present, bool), jnp.float32(fraction), scheme, shared)


@partial(jax.jit, static_argnums=(4, 5))
def _draw_many(key, idx, present, fraction, scheme: str, shared: bool):
    return draw_chunk(key, idx, present, scheme=scheme, fraction=fraction, shared=shared)


def jackknife_groups(
    present: np.ndarray, n_groups: int | None = None, seed: int = 0
) -> tuple[np.ndarray, int]:
    """Assign each cell's present samples to jackknife groups (host-side numpy).

    ``n_groups=None`` (or at least n) is the leave-one-out jackknife: group = the sample's
    position among the present ones. Fewer groups delete a random ~n/G samples at a time
    (the delete-a-group jackknife), which estimates the same BCa acceleration at a cost of
    G instead of n evaluations. Absent samples get group -1.

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
        raise VatInputError(f"jackknife needs at least 1 group, got {n_groups}")
    rng = np.random.default_rng(seed)
    groups = np.full(flat.shape, -1, np.int32)
    for c, row in enumerate(flat):
        idx = np.flatnonzero(row)
        if n_groups >= len(idx):
            groups[c, idx] = np.arange(len(idx))
        else:
            groups[c, idx] = rng.permutation(len(idx)) % n_groups
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
