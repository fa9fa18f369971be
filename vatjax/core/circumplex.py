"""The randomization test of hypothesized order relations (RTHOR) on coupling matrices.

Values on a circle predict an order of their correlations: of two value pairs at different
circular distances, the nearer pair should correlate more (Hubert and Arabie 1987; the
RANDALL and RTHOR programs). Each such pair of pairs is a prediction (800 for 10 equally
spaced values). The correspondence index is
``CI = (agreements - disagreements) / predictions``, a tie (equal correlations) counting in
the denominator only. Its p-value comes from permuting the value labels (rows and columns
together): the share of relabellings with at least as many agreements (RTHOR's statistic;
the same order as CI's when nothing ties), the identity
counted: exact over all V! relabellings when there are few enough (RTHOR's own test), else
over ``n_permutations`` drawn with a seed plus the identity.

Kernels take the coupling's upper triangle, pairs last (``pairs``: (..., P) with
P = V (V - 1) / 2, in :func:`pair_index` order), and a (V, V) distance matrix.

Example:
    >>> import numpy as np
    >>> dist = circular_distances(np.arange(4) * np.pi / 2)
    >>> r = np.array([[1, .5, 0, .5], [.5, 1, .5, 0], [0, .5, 1, .5], [.5, 0, .5, 1]])
    >>> iu, ju = pair_index(4)
    >>> [int(c) for c in order_counts(r[iu, ju], hypothesis(dist[iu, ju]))]
    [8, 0, 0]
"""

from __future__ import annotations

import itertools
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

__all__ = [
    "circular_distances",
    "hypothesis",
    "order_counts",
    "pair_index",
    "permuted_agreements",
    "relabellings",
]


def pair_index(n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each value pair u < w, in the order kernels expect."""
    return np.triu_indices(n_values, k=1)


def circular_distances(angles) -> np.ndarray:
    """Angular distance between values on the circle, in [0, pi], rounded to 1e-9 rad so
    that equal spacings tie exactly.

    Example:
        >>> circular_distances([0.0, np.pi / 2, np.pi]).round(3).tolist()[0]
        [0.0, 1.571, 3.142]
    """
    a = np.asarray(angles, dtype=np.float64)
    gap = np.abs(a[:, None] - a[None, :]) % (2 * np.pi)
    return np.round(np.minimum(gap, 2 * np.pi - gap), 9)


def hypothesis(pair_distances) -> np.ndarray:
    """(P, P) predictions: ``h[p, q]`` when pair p is nearer on the circle than pair q, so
    that p should correlate more."""
    d = np.asarray(pair_distances)
    return d[..., :, None] < d[..., None, :]


@jax.jit
def order_counts(
    pairs: Float[Array, "... pair"], h: Float[Array, "pair pair2"]
) -> tuple[Array, Array, Array]:
    """Agreements, disagreements and ties of the predictions ``h`` (NaN pairs count as
    neither: the caller reports such a cell as NaN)."""
    diff = pairs[..., :, None] - pairs[..., None, :]
    h = jnp.asarray(h, bool)
    count = lambda mask: jnp.sum(h & mask, axis=(-2, -1))  # noqa: E731
    return count(diff > 0), count(diff < 0), count(diff == 0)


def relabellings(n_values: int, n_permutations: int, seed: int) -> tuple[np.ndarray, bool]:
    """Relabellings of the values for the p-value: all ``n_values!`` of them when there are
    no more than ``n_permutations`` (the exact test, as RTHOR computes it), else
    ``n_permutations`` drawn with ``seed`` plus the identity first. Returns them (K, V)
    and whether they are exhaustive.

    Example:
        >>> perms, exact = relabellings(3, 100, seed=0)
        >>> perms.shape, exact
        ((6, 3), True)
    """
    if math.factorial(n_values) <= n_permutations:
        return np.array(list(itertools.permutations(range(n_values)))), True
    rng = np.random.default_rng(seed)
    drawn = rng.permuted(np.tile(np.arange(n_values), (n_permutations, 1)), axis=1)
    return np.concatenate([np.arange(n_values)[None], drawn]), False


@partial(jax.jit, static_argnames=("chunk",))
def permuted_agreements(
    pairs: Float[Array, "cell pair"], dist: Float[Array, "value value2"],
    perms: Array, chunk: int = 500,
) -> Float[Array, "cell permutation"]:  # fmt: skip
    """The agreements of each cell's matrix with rows and columns permuted together by each
    of ``perms`` (K, V) (computed by relabelling the hypothesis instead), ``chunk``
    relabellings at a time. Agreements are RTHOR's test statistic."""
    iu, ju = pair_index(dist.shape[0])
    sign = (pairs[:, :, None] > pairs[:, None, :]).astype(jnp.float32)  # (cell, P, P)
    n_perm = perms.shape[0]
    n_chunks = -(-n_perm // chunk)
    padded = jnp.concatenate([perms, jnp.repeat(perms[:1], n_chunks * chunk - n_perm, 0)])

    def one_chunk(perm):
        inv = jnp.argsort(perm, axis=-1)  # R[perm][:, perm] meets the hypothesis relabelled
        d = dist[inv[:, iu], inv[:, ju]]  # (chunk, P) by the inverse relabelling
        h = (d[:, :, None] < d[:, None, :]).astype(sign.dtype)
        return jnp.einsum("kpq,cpq->ck", h, sign)

    out = jax.lax.map(one_chunk, padded.reshape(n_chunks, chunk, -1))  # (chunk#, cell, chunk)
    return jnp.moveaxis(out, 0, 1).reshape(pairs.shape[0], -1)[:, :n_perm]
