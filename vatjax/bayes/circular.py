"""The circular (circumplex) coupling of the ``ordinal-circular`` preset.

Omega = (1 - c) I + c C with C_uw = sum_k w_k cos(k (theta_u - theta_w)), k = 1..K: the
cosine model of ``vatjax.circumplex`` as a prior structure on the latent coupling, with
the angles theta fixed at the taxonomy's. Each cosine kernel is PSD with a unit
diagonal, so C (w on the simplex) is a correlation matrix and so is Omega for c in [0, 1);
its smallest eigenvalue is at least 1 - c. Math: ``models/README.md``.

Example:
    >>> import numpy as np
    >>> theta = np.arange(4) * np.pi / 2
    >>> omega = circular_coupling(0.5, np.array([1.0, 0.0]), theta)
    >>> (np.round(np.asarray(omega[0]), 3) + 0.0).tolist()
    [1.0, 0.0, -0.5, 0.0]
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import xarray as xr

from vatjax.taxonomy import taxonomy_of

__all__ = ["chol_of", "circular_chol", "circular_coupling", "sample_circular", "value_angles"]

JITTER = 1e-4
"""Omega is shrunk to (Omega + JITTER I) / (1 + JITTER) before its Cholesky factor is
taken: still a unit-diagonal circular coupling (c scaled by 1 / (1 + JITTER)), but with
eigenvalues bounded away from 0 as c -> 1."""


def circular_coupling(strength, weights, angles) -> jnp.ndarray:
    """Omega (..., value, value2) from c (...), w (..., harmonic) and the angles (value,)."""
    angles = jnp.asarray(angles)
    weights = jnp.asarray(weights)
    k = jnp.arange(1, weights.shape[-1] + 1, dtype=angles.dtype)
    diff = angles[:, None] - angles[None, :]
    kernels = jnp.cos(k[:, None, None] * diff)  # (harmonic, value, value2)
    circle = jnp.einsum("...k,kuw->...uw", weights, kernels)
    c = jnp.asarray(strength)[..., None, None]
    return (1 - c) * jnp.eye(len(angles), dtype=circle.dtype) + c * circle


def circular_chol(strength, weights, angles) -> jnp.ndarray:
    """The Cholesky factor of the (jittered, still unit-diagonal) circular Omega."""
    omega = circular_coupling(strength, weights, angles)
    eye = jnp.eye(omega.shape[-1], dtype=omega.dtype)
    return jnp.linalg.cholesky((omega + JITTER * eye) / (1 + JITTER))


def value_angles(judgments: xr.Dataset, values: list[str]) -> np.ndarray:
    """The taxonomy's angle (radians) of each of ``values`` (the fit's, circumplex order).

    Example:
        >>> from types import SimpleNamespace
        >>> a = value_angles(SimpleNamespace(attrs={}), ["Power", "Benevolence"])
        >>> np.round(a.astype(float) / np.pi, 3).tolist()
        [0.8, 1.6]
    """
    tax = taxonomy_of(judgments)
    return np.asarray([tax.angles[tax.values.index(v)] for v in values], np.float32)


def sample_circular(s, cov: tuple[str, ...], harmonics: int) -> None:
    """Sample c ~ Beta(a, b) and, with K > 1, w ~ Dirichlet(concentration) per coupling
    cell (the plates ``cov``); ``s`` is the model's site recorder."""
    with s.plates(*cov):
        s.sample(
            "coupling_strength",
            dist.Beta(s.pr["coupling_strength_a"], s.pr["coupling_strength_b"]),
        )
        if harmonics > 1:
            s.sample(
                "coupling_weight",
                dist.Dirichlet(jnp.full(harmonics, s.pr["coupling_weight_concentration"])),
                infer={"event_dims": ["harmonic"]},
            )


def chol_of(raw: dict, d: dict, lead: tuple[int, ...], harmonics: int) -> jnp.ndarray:
    """The Cholesky factors (lead..., value, value2) of the sampled circular couplings."""
    strength = raw["coupling_strength"]
    weights = raw.get("coupling_weight", jnp.ones((*strength.shape, harmonics), strength.dtype))
    v = d["value_angle"].shape[0]
    return circular_chol(strength, weights, d["value_angle"]).reshape(*lead, v, v)
