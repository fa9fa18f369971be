"""Simulate shift vectors from the ``mvn-marginal`` generative model, with known truth:
``d_s = Delta_s + e_s``, ``Delta_s ~ MVN(gamma, diag(tau) Omega diag(tau))``,
``e_s ~ MVN(0, D_s)``. For recovery tests, SBC and benchmarks.

Example:
    >>> sim = simulate_shifts(0, n_models=1, n_interventions=2, n_samples=50)
    >>> sim.d.shape, sim.truth["nvat"].shape
    ((1, 2, 50, 10), (1, 2))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["SimulatedShifts", "coupling_with_nvat", "simulate_shifts"]


class SimulatedShifts(NamedTuple):
    d: np.ndarray  # (model, intervention, sample, value) observed shifts, NaN where missing
    noise: np.ndarray  # same shape: the rating-noise variance D_s of each entry
    truth: dict  # gamma, tau, omega, nvat, nvat_spearman (noise-free), per cell


def _nvat(omega: np.ndarray) -> np.ndarray:
    off = omega * (1 - np.eye(omega.shape[-1]))
    return np.sqrt((off**2).sum((-2, -1)) / omega.shape[-1])


def coupling_with_nvat(rng, n_values: int, nvat: float) -> np.ndarray:
    """A random correlation matrix with the given nVAT: (1 - a) I + a R0, R0 the
    correlation of a two-factor structure."""
    b = rng.normal(size=(n_values, 2))
    cov = b @ b.T + 0.3 * np.eye(n_values)
    r0 = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    return (1 - nvat / _nvat(r0)) * np.eye(n_values) + nvat / _nvat(r0) * r0


def simulate_shifts(
    seed: int,
    *,
    n_models: int = 4,
    n_interventions: int = 12,
    n_samples: int = 9002,
    n_values: int = 10,
    nvat: tuple[float, float] = (0.1, 0.3),
    tau: float = 0.12,
    rating_sd: float = 0.35,
    n_patterns: int = 1,
    missing_rate: float = 0.0,
) -> SimulatedShifts:
    """Shift vectors of every cell, the noise-free truth drawn per cell (nVAT uniform in
    ``nvat``). Each sample has one of ``n_patterns`` item-count patterns (3-9 ratings per
    value), so D_s = 2 rating_sd^2 / n_s; entries go missing at ``missing_rate``."""
    rng = np.random.default_rng(seed)
    lead = (n_models, n_interventions)
    target = rng.uniform(*nvat, size=lead)
    omega = np.stack([coupling_with_nvat(rng, n_values, t) for t in target.ravel()])
    omega = omega.reshape(*lead, n_values, n_values)
    gamma = rng.normal(0, 0.1, size=(*lead, n_values))
    taus = tau * rng.uniform(0.7, 1.3, size=(*lead, n_values))
    chol = np.linalg.cholesky(omega * taus[..., :, None] * taus[..., None, :])
    z = rng.standard_normal((*lead, n_samples, n_values))
    delta = gamma[..., None, :] + np.einsum("mivw,misw->misv", chol, z)
    counts = rng.integers(3, 10, size=(n_patterns, n_values))
    which = rng.integers(0, n_patterns, size=(*lead, n_samples))
    noise = 2 * rating_sd**2 / counts[which]
    d = delta + np.sqrt(noise) * rng.standard_normal(delta.shape)
    d[rng.random(d.shape) < missing_rate] = np.nan
    rho_s = 6 / np.pi * np.arcsin(omega / 2)
    truth = {"gamma": gamma, "tau": taus, "omega": omega, "nvat": _nvat(omega),
             "nvat_spearman": _nvat(rho_s)}  # fmt: skip
    return SimulatedShifts(d, noise, truth)
