"""The cosine (Fourier) model of a coupling against angular distance on the circle.

``R_uw ~ b0 + sum_{k=1..K} b_k cos(k (theta_u - theta_w))`` over the off-diagonal pairs
(each once), the circular stochastic process model of Browne (1992) without its
communalities, as CircE and ``circumplex::cpm_fit`` fit it in R. With the angles fixed the
fit is linear least squares; with them free the residual is minimised over the angles
(the first held at 0 against rotation; BFGS from the given angles, the coefficients
solved exactly for each try). ``r2`` is the share of the off-diagonal variance explained.

Example:
    >>> import numpy as np
    >>> theta = np.arange(6) * np.pi / 3
    >>> iu, ju = np.triu_indices(6, 1)
    >>> r = 0.1 + 0.5 * np.cos(theta[iu] - theta[ju])
    >>> coef, r2 = cosine_fit(r, theta[iu] - theta[ju], 2)
    >>> [round(float(b), 3) for b in coef], round(float(r2), 3)
    ([0.1, 0.5, 0.0], 1.0)
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax.scipy.optimize import minimize
from jaxtyping import Array, Float

__all__ = ["cosine_design", "cosine_fit", "cosine_fit_free"]


def cosine_design(delta: Float[Array, " pair"], harmonics: int) -> Float[Array, "pair coef"]:
    """Columns 1, cos(delta), ..., cos(K delta)."""
    delta = jnp.asarray(delta)
    k = jnp.arange(harmonics + 1, dtype=delta.dtype)
    return jnp.cos(delta[:, None] * k[None, :])


def _least_squares(pairs, design):
    coef = pairs @ jnp.linalg.pinv(design).T
    resid = pairs - coef @ design.T
    return coef, jnp.sum(resid**2, axis=-1)


def _r2(pairs, ss_res):
    ss_tot = jnp.sum((pairs - pairs.mean(-1, keepdims=True)) ** 2, axis=-1)
    return 1.0 - ss_res / ss_tot


@partial(jax.jit, static_argnames="harmonics")
def cosine_fit(
    pairs: Float[Array, "... pair"], delta: Float[Array, " pair"], harmonics: int = 2
) -> tuple[Float[Array, "... coef"], Float[Array, "*batch"]]:
    """Coefficients b0..bK and r2 of the cosine model at fixed angle differences ``delta``
    (NaN where a pair is NaN)."""
    coef, ss_res = _least_squares(pairs, cosine_design(delta, harmonics))
    return coef, _r2(pairs, ss_res)


@partial(jax.jit, static_argnames=("harmonics", "max_iter"))
def cosine_fit_free(
    pairs: Float[Array, "cell pair"], start: Float[Array, " value"], harmonics: int = 2,
    max_iter: int = 200,
) -> tuple[Float[Array, "cell value"], Float[Array, "cell coef"], Float[Array, " cell"]]:  # fmt: skip
    """Angles (the first fixed at ``start[0]``), coefficients and r2 with the angles free."""
    n = start.shape[0]
    iu, ju = jnp.triu_indices(n, 1)

    def angles(free):
        return jnp.concatenate([start[:1], free])

    def loss(free, r):
        theta = angles(free)
        return _least_squares(r, cosine_design(theta[iu] - theta[ju], harmonics))[1]

    def one(r):
        free = minimize(loss, start[1:], args=(r,), method="BFGS",
                        options={"maxiter": max_iter}).x  # fmt: skip
        theta = angles(free)
        coef, ss_res = _least_squares(r, cosine_design(theta[iu] - theta[ju], harmonics))
        return jnp.mod(theta, 2 * jnp.pi), coef, _r2(r, ss_res)

    return jax.vmap(one)(pairs)
