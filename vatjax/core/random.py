"""Random bits: the unrolled Threefry-2x32 hash and uniform words from a JAX key.

Every random draw of vatjax (resampling weights, permutations, jackknife groups) comes
from one generator family, Threefry-2x32, keyed by ``jax.random.key(seed)``.

Example:
    >>> import jax
    >>> w = random_words(jax.random.key(0), (2, 3))
    >>> w.shape, str(w.dtype)
    ((2, 3), 'uint32')
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

__all__ = ["host_words", "random_words", "threefry2x32"]

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
        words = _threefry_words(jax.random.key_data(key), shape, jnp)
    return jax.lax.optimization_barrier(words)


def host_words(key, shape: tuple[int, ...]) -> np.ndarray:
    """:func:`random_words` computed by numpy on the host (bit for bit the same words,
    nothing to compile): for small host-side draws such as the jackknife groups.

    Example:
        >>> import jax
        >>> bool((host_words(jax.random.key(3), (5,)) == random_words(jax.random.key(3), (5,))).all())
        True
    """
    with np.errstate(over="ignore"):  # uint32 arithmetic wraps, as in the hash
        return _threefry_words(np.asarray(jax.random.key_data(key)), shape, np)


def _threefry_words(k, shape: tuple[int, ...], xp):
    """Both words of the Threefry-2x32 blocks for key data ``k``, in ``xp`` (jnp or np)."""
    size = math.prod(shape)
    half = (size + 1) // 2
    count = xp.arange(half, dtype=xp.uint32)
    # counters (j, j + half); an odd size pads the last pair with 0, as JAX does
    y1, y2 = threefry2x32(k[0], k[1], count, (count + np.uint32(half)) % np.uint32(size))
    return xp.concatenate([y1, y2 if size % 2 == 0 else y2[:-1]]).reshape(shape)
