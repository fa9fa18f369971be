"""The simulator's generative model: its drawn parameters, latent states and ratings.

Per model a latent value profile per sample, theta[s, v] ~ N(profile[v], 1); per
intervention a latent shift per sample, Delta[s, :] ~ MVN(mu, tau^2 Omega). A judgment of
micro-value u (value v, item effect beta[u]) with polarity sigma is
r ~ OrderedLogistic(sigma * theta[s, v] + beta[u], cutpoints[model]) before the
intervention and sigma * (theta + Delta)[s, v] + beta[u] after it. Everything is drawn
from one :func:`numpy.random.default_rng` stream.

Example:
    >>> expected_phi(np.array([0.0]), np.array([-1.0, 1.0])).round(6).tolist()
    [0.0]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vatjax.data.scoring import phi_levels

__all__ = ["LAYOUTS", "Design", "expected_phi", "latent", "linear_predictor", "value_scores"]

LAYOUTS = ("one-per-micro-value", "both-polarities")
"""Sample layouts: one judgment per micro-value with a polarity drawn per sample, or every
micro-value judged in both polarities."""


class Design(NamedTuple):
    """The drawn parameters of one simulated study and its fixed design."""

    values: np.ndarray  # (value,) names
    micro: np.ndarray  # (micro_value,) names
    micro_v: np.ndarray  # (micro_value,) value index
    item_u: np.ndarray  # (item,) micro-value index of each judgment slot of a sample
    item_sigma: np.ndarray | None  # (item,) fixed polarity, or None: drawn per sample
    interventions: list  # (name, strategy, target, direction, strategy index)
    models: list[str]
    beta: np.ndarray  # (micro_value,) item effects
    omega: np.ndarray  # (intervention, value, value) coupling of the latent shifts
    mu: np.ndarray  # (model, intervention, value) shift means
    cuts: np.ndarray  # (model, cutpoint)
    profile: np.ndarray  # (model, value)
    shift_sd: float
    polarity_rate: float  # P(sigma = +1) where polarities are drawn

    @property
    def item_v(self) -> np.ndarray:
        return self.micro_v[self.item_u]


def latent(rng, d: Design, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latent states of n fresh samples: theta (model, sample, value), Delta (model,
    intervention, sample, value) and the polarities sigma (sample, item) as int8."""
    n_models, n_int, n_values = d.mu.shape
    theta = d.profile[:, None, :] + rng.normal(size=(n_models, n, n_values))
    chol = np.linalg.cholesky(d.omega + 1e-9 * np.eye(n_values))
    z = rng.normal(size=(n_models, n_int, n, n_values))
    delta = d.mu[:, :, None, :] + d.shift_sd * np.einsum("nvw,mnsw->mnsv", chol, z)
    if d.item_sigma is None:
        sigma = np.where(rng.random((n, len(d.item_u))) < d.polarity_rate, 1, -1)
    else:
        sigma = np.broadcast_to(d.item_sigma, (n, len(d.item_u)))
    return theta, delta, sigma.astype(np.int8)


def linear_predictor(d: Design, theta_m, delta_m, sigma) -> np.ndarray:
    """eta (condition, sample, item) of one model: the baseline, then each intervention."""
    states = np.concatenate([theta_m[None], theta_m[None] + delta_m], axis=0)
    return sigma * states[..., d.item_v] + d.beta[d.item_u]


def ordered_logistic(rng, eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Ratings 1..K (int8): the number of cutpoints below eta + logistic noise, plus one."""
    noisy = eta + rng.logistic(size=eta.shape)
    out = np.ones(eta.shape, np.int8)
    for c in cuts:
        out += noisy > c
    return out


def expected_phi(eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """E[phi(r)] under OrderedLogistic(eta, cuts) on a 1..K scale (no rating noise), in
    the dtype of eta.

    E[phi] = sum_j P(r = j) phi_j = phi_K - sum_{j<K} P(r <= j) (phi_{j+1} - phi_j).
    """
    levels = phi_levels(1, len(cuts) + 1).astype(eta.dtype)
    out = np.full(eta.shape, levels[-1], dtype=eta.dtype)
    for c, step in zip(cuts.astype(eta.dtype), np.diff(levels), strict=True):
        out -= step / (1 + np.exp(eta - c))
    return out


def value_scores(d: Design, evidence: np.ndarray) -> np.ndarray:
    """Mean of the signed evidence (..., item) over each value's items: (..., value)."""
    onehot = np.eye(len(d.values))[d.item_v]
    count = onehot.sum(0)
    weights = onehot / np.where(count > 0, count, np.nan)
    return evidence @ weights.astype(evidence.dtype)
