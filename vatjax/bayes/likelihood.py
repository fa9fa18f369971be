"""The cumulative-logit (ordered logistic) likelihood: log-probability, expectation, draws.

P(r <= k) = logistic(c_k - eta). For an observed category k with cutpoints c_{k-1} < c_k
(c_{-1} = -inf, c_{K-1} = +inf), P(r = k) = logistic(c_k - eta) - logistic(c_{k-1} - eta),
computed stably as log_sigmoid(c_k - eta) + log_sigmoid(eta - c_{k-1})
+ log1p(-exp(c_{k-1} - c_k)): two log-sigmoids per rating, no K-way softmax.

Example:
    >>> import jax.numpy as jnp
    >>> cuts = jnp.array([-1.0, 1.0])
    >>> p = jnp.exp(ordinal_log_prob(jnp.zeros(3), cuts, jnp.array([0, 1, 2])))
    >>> round(float(p.sum()), 5)
    1.0
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax import random
from jaxtyping import Array, Float, Int
from numpyro.distributions import constraints

_BIG = 1e4  # stands in for +-inf: log_sigmoid(1e4) == 0 and its gradient == 0 in float32


def _padded(cutpoints: Float[Array, "... k"]) -> tuple[Array, Array]:
    big = jnp.full_like(cutpoints[..., :1], _BIG)
    return jnp.concatenate([cutpoints, big], -1), jnp.concatenate([-big, cutpoints], -1)


def ordinal_bounds(cutpoints: Float[Array, "... k"], value: Int[Array, ...]) -> tuple:
    """The cutpoints around each observed category and the log-width term:
    (c_k, c_{k-1}, log1p(-exp(c_{k-1} - c_k))), +-1e4 standing in for +-inf."""
    upper, lower = _padded(cutpoints)
    gap = jnp.log1p(-jnp.exp(lower - upper))
    value = jnp.asarray(value)
    ndim = max(value.ndim, upper.ndim - 1)
    idx = jnp.clip(value, 0, upper.shape[-1] - 1).reshape((1,) * (ndim - value.ndim) + value.shape)

    def pick(a):
        a = a.reshape((1,) * (ndim + 1 - a.ndim) + a.shape)
        return jnp.take_along_axis(a, idx[..., None], axis=-1)[..., 0]

    return pick(upper), pick(lower), pick(gap)


def ordinal_log_prob(
    eta: Float[Array, ...], cutpoints: Float[Array, "... k"], value: Int[Array, ...]
) -> Float[Array, ...]:
    """log P(r = value) under OrderedLogistic(eta, cutpoints); value in 0..K-1.

    ``cutpoints`` has K-1 entries on its last axis and broadcasts against ``eta``.
    """
    upper, lower, gap = ordinal_bounds(cutpoints, value)
    return jax.nn.log_sigmoid(upper - eta) + jax.nn.log_sigmoid(eta - lower) + gap


def ordinal_log_prob_derivatives(eta, bounds) -> tuple[Array, Array, Array]:
    """log P(r | eta) and its first and second derivatives in eta (from two sigmoids):
    d/deta = s_u - s_l, d2/deta2 = -s_u (1 - s_u) - s_l (1 - s_l), with
    s_u = logistic(c_k - eta), s_l = logistic(eta - c_{k-1}). Concave in eta."""
    upper, lower, gap = bounds
    a, b = upper - eta, eta - lower
    s_u, s_l = jax.nn.sigmoid(a), jax.nn.sigmoid(b)
    log_p = jax.nn.log_sigmoid(a) + jax.nn.log_sigmoid(b) + gap
    return log_p, s_u - s_l, -(s_u * (1 - s_u) + s_l * (1 - s_l))


def ordinal_expected_phi(
    eta: Float[Array, ...], cutpoints: Float[Array, "... k"], phi: Float[Array, " K"]
) -> Float[Array, ...]:
    """E[phi(r)] under OrderedLogistic(eta, cutpoints): phi_K - sum_k (phi_{k+1} - phi_k) F_k."""
    cdf = jax.nn.sigmoid(cutpoints - eta[..., None])
    return phi[-1] - jnp.sum(jnp.diff(phi) * cdf, axis=-1)


class OrderedLogit(dist.Distribution):
    """Ordered logistic over categories 0..K-1 with a fast, stable ``log_prob``.

    Example:
        >>> d = OrderedLogit(jnp.zeros(2), jnp.array([-1.0, 1.0]))
        >>> d.batch_shape, d.sample(random.key(0)).shape
        ((2,), (2,))
    """

    arg_constraints: ClassVar[dict] = {
        "eta": constraints.real,
        "cutpoints": constraints.ordered_vector,
    }
    pytree_data_fields = ("eta", "cutpoints")
    has_enumerate_support = False

    def __init__(self, eta, cutpoints, *, validate_args=None):
        self.eta, self.cutpoints = eta, cutpoints
        batch_shape = jnp.broadcast_shapes(jnp.shape(eta), jnp.shape(cutpoints)[:-1])
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, jnp.shape(self.cutpoints)[-1])

    def sample(self, key, sample_shape=()):
        shape = tuple(sample_shape) + self.batch_shape
        latent = self.eta + random.logistic(key, shape, dtype=jnp.result_type(self.eta))
        return jnp.sum(latent[..., None] > self.cutpoints, axis=-1, dtype=jnp.int32)

    def log_prob(self, value):
        return ordinal_log_prob(self.eta, self.cutpoints, value)


class LKJCholesky(dist.LKJCholesky):
    """numpyro's LKJCholesky, usable under strict dtype promotion.

    numpyro 0.22 mixes Python floats with int32 ranges inside it (``0.5 * jnp.arange(d)``),
    which strict promotion (the test suite's setting) rejects; each method runs under
    standard promotion, nothing else changes.
    """

    def __init__(self, *args, **kwargs):
        with jax.numpy_dtype_promotion("standard"):
            super().__init__(*args, **kwargs)

    def sample(self, key, sample_shape=()):
        with jax.numpy_dtype_promotion("standard"):
            return super().sample(key, sample_shape)

    def log_prob(self, value):
        with jax.numpy_dtype_promotion("standard"):
            return super().log_prob(value)
