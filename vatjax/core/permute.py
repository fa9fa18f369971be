"""The permutation null of the coupling (VAT_SPEC section 4): each value's shifts shuffled
across a cell's present scenarios independently, drawn from a JAX key.

Example:
    >>> import jax, jax.numpy as jnp, numpy as np
    >>> present = jnp.ones((1, 5), bool)
    >>> src = permutation_sources(jax.random.key(0), 0, present, inverse_order(present), 2)
    >>> sorted(int(i) for i in src[0, 1])
    [0, 1, 2, 3, 4]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from vatjax.core.metrics import NULL_METRICS, pack, vat_from_coupling
from vatjax.core.random import random_words
from vatjax.core.ranks import centred_midranks, correlation_from_cross, spearman

__all__ = ["inverse_order", "permutation_sources", "permuted_stats"]


def inverse_order(present: np.ndarray) -> np.ndarray:
    """The inverse of the order that puts each cell's present scenarios first (host numpy):
    slot i of a permutation takes the (inverse[i])-th entry of that order.

    Example:
        >>> [int(i) for i in inverse_order(np.array([False, True, True]))]
        [2, 0, 1]
    """
    first = np.argsort(~np.asarray(present), axis=-1, kind="stable")
    return np.argsort(first, axis=-1, kind="stable").astype(np.int32)


def permutation_sources(
    key,
    index: Int[Array, ""],
    present: Bool[Array, "cell scenario"],
    inverse: Int[Array, "cell scenario"],
    n_values: int,
    first_cell: Int[Array, ""] | int = 0,
) -> Int[Array, "cell value scenario"]:
    """The scenario whose shift each slot takes in permutation ``index``: values 1..V-1
    each shuffled across the cell's present scenarios, independently; index -1 is the
    observed data. Value 0 keeps its order: the coupling is unchanged by one permutation
    applied to every value, so shuffling V - 1 values gives the same null as shuffling all
    V. Permutation p of cell c uses ``fold_in(fold_in(key, p), first_cell + c)``.

    A permutation is the sort order of random 32-bit keys, packed with the slot's number
    in the low bits (one-operand sort, about 2.5x faster than sorting keys with an index);
    the slot numbers are put through a random affine map first, so the rare equal
    high bits (probability ~2^-18 per pair at 9,002 scenarios) are broken in random order.
    """
    n_cells, n = present.shape
    bits = max(1, int(n - 1).bit_length())
    low = jnp.uint32((1 << bits) - 1)
    pkey = jax.random.fold_in(key, jnp.maximum(index, 0))
    iota = jnp.arange(n, dtype=jnp.uint32)

    def one_cell(c, pc, inv):
        words = random_words(jax.random.fold_in(pkey, c), (n_values, n))
        a, b = words[-1, 0] | jnp.uint32(1), words[-1, 1]  # a random affine map of slots
        a_inv = a  # the inverse of an odd number mod 2^32, by Newton's iteration
        for _ in range(5):
            a_inv = a_inv * (jnp.uint32(2) - a * a_inv)
        slot = (a * iota + b) & low
        # present scenarios first, in random order (their high bits stay below all ones),
        # then the absent ones (all-NaN rows, interchangeable: absent slots take absent rows)
        top = jnp.minimum(words[:-1] & ~low, ~low - (low + jnp.uint32(1)))
        keys = jnp.where(pc, top, ~low) | slot
        perm = (a_inv * ((jnp.sort(keys, axis=-1) & low) - b)) & low
        src = jnp.take(perm, inv, axis=-1).astype(jnp.int32)
        return jnp.concatenate([jnp.arange(n, dtype=jnp.int32)[None], src])

    cells = first_cell + jnp.arange(n_cells)
    src = jax.vmap(one_cell)(cells, present, inverse)
    return jnp.where(index < 0, jnp.arange(n, dtype=jnp.int32), src)


def permuted_stats(
    x: Float[Array, "cell scenario value"],
    present: Bool[Array, "cell scenario"],
    sources: Int[Array, "permutation cell value scenario"],
    *,
    pairwise: bool,
    include_diagonal: bool,
) -> Float[Array, "permutation cell stat"]:
    """Stat vectors (:data:`~vatjax.core.metrics.NULL_METRICS`, packed) of the permuted
    data: slot i of value v takes the shift of scenario ``sources[p, c, v, i]`` (see
    :func:`permutation_sources`). Without NaN inside scenarios (``pairwise=False``) a
    value's midranks move with its shifts: the data are ranked once and the ranks permuted.
    """
    w = present.astype(jnp.float32)

    def stats(coupling):
        vat, nvat, central = vat_from_coupling(coupling, include_diagonal=include_diagonal)
        fields = {"coupling": coupling, "vat": vat, "nvat": nvat, "centralization": central}
        return pack(fields, NULL_METRICS)

    if pairwise:  # NaN inside scenarios: rank every permuted data set pair by pair

        def one(src):
            permuted = jnp.take_along_axis(x, jnp.swapaxes(src, 1, 2), axis=1)
            return stats(spearman(permuted, w, pairwise=True))

        return jax.lax.map(one, sources)
    scaled = jax.vmap(centred_midranks)(x, w) * jnp.sqrt(w)[:, None, :]

    def one(src):
        y = jnp.take_along_axis(scaled, src, axis=-1)
        return stats(correlation_from_cross(y @ jnp.swapaxes(y, -1, -2)))

    return jax.vmap(one)(sources)
