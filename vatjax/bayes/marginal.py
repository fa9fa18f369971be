"""The ``mvn-marginal`` model: per-sample shifts integrated out, sufficient statistics in.

For each sample s of a cell (model m, intervention i), the observed shift vector (post
minus pre value scores, phi scale) is ``d_s = Delta_s + e_s`` with the noise-free shift
``Delta_s ~ MVN(gamma, Sigma)``, ``Sigma = diag(tau) Omega diag(tau)``, and the rating
noise of the sample's mean scores ``e_s ~ MVN(0, D_s)``, ``D_s`` diagonal and known from
the data (:mod:`vatjax.bayes.marginal_data`). Integrating Delta_s out,
``d_s ~ MVN(gamma, Sigma + D_s)``. Samples that share a noise pattern (the same D_s and the
same missing values) share that law, so the cell's log-likelihood is a function of each
pattern's count, mean and scatter matrix: one evaluation costs O(patterns x V^3), whatever
the number of samples. Missing values are marginalised (the sub-covariance of the
observed ones). Math: ``models/README.md``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> d = rng.normal(size=(1, 1, 50, 3))
    >>> stats = pattern_stats(d, np.full(d.shape, 0.1))
    >>> stats.count.shape, float(stats.count.sum())
    ((1, 1, 1), 50.0)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from scipy.special import gammaln

from vatjax.bayes.likelihood import LKJCholesky

__all__ = ["PatternStats", "marginal_log_lik", "marginal_model", "pattern_stats", "prior_coupling"]

LOG_2PI = float(np.log(2 * np.pi))


class PatternStats(NamedTuple):
    """Sufficient statistics per (model, intervention, pattern); padding has count 0."""

    count: np.ndarray  # (model, intervention, pattern) samples in the pattern
    mean: np.ndarray  # (..., pattern, value) mean shift, 0 where missing
    scatter: np.ndarray  # (..., pattern, value, value2) sum of (d - mean)(d - mean)^T
    noise: np.ndarray  # (..., pattern, value) rating-noise variance D of each sample
    observed: np.ndarray  # (..., pattern, value) bool: the value is observed


def _cell_patterns(d: np.ndarray, noise: np.ndarray):
    """Group the samples of one cell (d, noise: (sample, value)) by (noise, missingness)."""
    seen = ~np.isnan(d)
    key = np.where(seen, noise, -1.0)  # the missing mask is part of the pattern
    keep = seen.any(axis=1)
    patterns, inverse = np.unique(key[keep], axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    x = np.where(seen, d, 0.0)[keep]
    n_pat = len(patterns)
    count = np.bincount(inverse, minlength=n_pat).astype(np.float64)
    total = np.zeros((n_pat, d.shape[1]))
    np.add.at(total, inverse, x)
    mean = total / count[:, None]
    r = x - mean[inverse]
    scatter = np.zeros((n_pat, d.shape[1], d.shape[1]))
    np.add.at(scatter, inverse, r[:, :, None] * r[:, None, :])
    observed = patterns >= 0
    return count, mean, scatter, np.where(observed, patterns, 0.0), observed


def pattern_stats(d: np.ndarray, noise: np.ndarray) -> PatternStats:
    """Sufficient statistics of the shifts ``d`` (model, intervention, sample, value; NaN
    where missing) with rating-noise variances ``noise`` (same shape), grouped by pattern.

    Example:
        >>> d = np.array([[[[0.1, np.nan], [0.3, 0.2], [0.0, 0.1]]]])
        >>> s = pattern_stats(d, np.full(d.shape, 0.05))
        >>> s.count.tolist(), s.observed[0, 0].tolist()
        ([[[1.0, 2.0]]], [[True, False], [True, True]])
    """
    d = np.asarray(d, np.float64)
    noise = np.asarray(noise, np.float64)
    lead, n_values = d.shape[:2], d.shape[-1]
    cells = [_cell_patterns(d[m, i], noise[m, i]) for m in range(lead[0]) for i in range(lead[1])]
    n_pat = max(len(c[0]) for c in cells)

    def stack(k, shape):
        out = np.zeros((len(cells), n_pat, *shape), bool if k == 4 else np.float64)
        for c, cell in enumerate(cells):
            out[c, : len(cell[k])] = cell[k]
        return out.reshape(*lead, n_pat, *shape)

    v, vv = (n_values,), (n_values, n_values)
    return PatternStats(stack(0, ()), stack(1, v), stack(2, vv), stack(3, v), stack(4, v))


def marginal_log_lik(gamma, cov, stats) -> jnp.ndarray:
    """Log-likelihood of every (model, intervention, pattern) group of samples.

    Args:
        gamma: (model, intervention, value) shift means.
        cov: (model, intervention, value, value2) covariance Sigma of the noise-free shifts.
        stats: :class:`PatternStats` (arrays or their jnp copies).

    Returns:
        (model, intervention, pattern): sum over the pattern's samples of
        log MVN(d_s | gamma_o, Sigma_oo + D_o), o the observed values.
    """
    obs = jnp.asarray(stats.observed)
    o = obs.astype(cov.dtype)
    both = o[..., :, None] * o[..., None, :]
    eye = jnp.eye(cov.shape[-1], dtype=cov.dtype)
    # observed block: Sigma_oo + D; a missing value gets a unit variance, no covariance and
    # a zero residual, so it adds nothing to the log-determinant or the quadratic form
    c = cov[..., None, :, :] * both + eye * (stats.noise * o + (1 - o))[..., None, :]
    r = (stats.mean - gamma[..., None, :]) * o
    a = stats.scatter + stats.count[..., None, None] * r[..., :, None] * r[..., None, :]
    chol = jnp.linalg.cholesky(c)
    logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    solved = jax.scipy.linalg.cho_solve((chol, True), a)
    quad = jnp.trace(solved, axis1=-2, axis2=-1)
    k = jnp.sum(o, axis=-1)
    return -0.5 * (stats.count * (k * LOG_2PI + logdet) + quad)


def concentration_prior(priors: dict) -> tuple[float, float]:
    """(location, scale) of log(eta), the LKJ concentration; scale 0: eta is fixed."""
    return float(np.log(priors["lkj_concentration"])), priors.get("lkj_concentration_log_sd", 0.0)


GRID_SDS, GRID_POINTS = 6.0, 481


def concentration_grid(priors: dict, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """The prior of eta as a fine grid (trapezoid rule over log eta, +-6 sd, 481 points):
    the nodes eta_k and log(w_k c(eta_k)), w_k the prior weight and c(eta) the LKJ
    normaliser (the density of LKJCholesky(eta) at the identity). A fixed eta is one node.

    Example:
        >>> eta, log_wc = concentration_grid({"lkj_concentration": 400.0,
        ...                                   "lkj_concentration_log_sd": 1.5}, 10)
        >>> eta.shape, round(float(np.exp(np.log(eta).mean())))
        ((481,), 400)
    """
    loc, scale = concentration_prior(priors)
    if scale == 0:
        log_eta, log_w = np.array([loc]), np.zeros(1)
    else:
        log_eta = loc + scale * np.linspace(-GRID_SDS, GRID_SDS, GRID_POINTS)
        log_w = -0.5 * ((log_eta - loc) / scale) ** 2
        log_w[[0, -1]] += np.log(0.5)  # trapezoid end points
        log_w -= np.logaddexp.reduce(log_w)
    eta = np.exp(log_eta)
    return eta, log_w + lkj_log_normaliser(eta, n_values)


def lkj_log_normaliser(eta: np.ndarray, n_values: int) -> np.ndarray:
    """log c(eta) of LKJ(eta) on V x V correlation matrices (numpy, float64), as in
    NumPyro's ``LKJCholesky``: the density of its Cholesky factor at the identity."""
    p = n_values - 1
    alpha = eta + 0.5 * p
    multigamma = p * (p - 1) / 4 * np.log(np.pi) + sum(
        gammaln(alpha - 0.5 + (1 - j) / 2) for j in range(1, p + 1)
    )
    return -(0.5 * p * np.log(np.pi) + multigamma - p * gammaln(alpha))


def coupling_log_prior(chol, eta: np.ndarray, log_wc: np.ndarray):
    """log p(L) of the Cholesky factor of Omega under LKJ(eta) mixed over eta's prior,
    exactly (up to the grid): J(L) + logsumexp_k[log w_k c(eta_k) + (eta_k - 1) logdet
    Omega], J the eta-free part of LKJCholesky's density. Integrating eta out this way
    leaves no funnel between eta and Omega for the sampler to cross."""
    n_values = chol.shape[-1]
    diag = jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1))
    logdet = 2 * jnp.sum(diag, -1)
    jacobian = jnp.sum(jnp.arange(n_values - 1, -1, -1, dtype=diag.dtype) * diag, -1)
    per_node = log_wc + (eta - 1) * logdet[..., None]
    return jacobian + jax.scipy.special.logsumexp(per_node, axis=-1)


def concentration_given(chol, eta: np.ndarray, log_wc: np.ndarray):
    """E[eta | Omega] (the posterior mean of the LKJ concentration given the coupling)."""
    logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), -1)
    per_node = log_wc + (eta - 1) * logdet[..., None]
    return jnp.sum(jax.nn.softmax(per_node, axis=-1) * eta, -1)


def data_scales(stats: PatternStats) -> dict[str, np.ndarray]:
    """Moment estimates and their standard errors per cell, the centre and scale of the
    sampler's coordinates (an exact affine reparameterisation: the posterior is the same,
    but every coordinate is about unit scale, so NUTS needs short trees at any sample size).
    """
    from numpyro.distributions.transforms import CorrCholeskyTransform

    n_p, o = stats.count[..., None], stats.observed.astype(np.float64)
    n_v = np.maximum((n_p * o).sum(-2), 1)
    mean = (n_p * stats.mean * o).sum(-2) / n_v
    r = (stats.mean - mean[..., None, :]) * o
    pair = np.maximum((n_p[..., None] * o[..., :, None] * o[..., None, :]).sum(-3), 1)
    outer = stats.scatter + n_p[..., None] * r[..., :, None] * r[..., None, :]
    cov = outer.sum(-3) / pair
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    tau2 = np.maximum(var - (n_p * stats.noise * o).sum(-2) / n_v, 0.1 * var) + 1e-12
    corr = np.clip(cov /
                   np.sqrt(tau2[..., :, None] * tau2[..., None, :]), -0.5, 0.5)  # fmt: skip
    eye = np.eye(corr.shape[-1])
    corr = corr * (1 - eye) + eye
    while np.linalg.eigvalsh(corr).min() < 0.05:  # shrink toward I until well conditioned
        corr = 0.7 * corr + 0.3 * eye
    with jax.numpy_dtype_promotion("standard"):
        y = np.asarray(CorrCholeskyTransform().inv(jnp.asarray(np.linalg.cholesky(corr))))
    inflate = var / tau2  # 1 / reliability: rating noise inflates every standard error
    n = np.maximum(n_v.max(-1), 1)
    return {
        "gamma_loc": mean, "gamma_scale": np.sqrt(var / n_v),
        "log_tau_loc": 0.5 * np.log(tau2), "log_tau_scale": np.minimum(inflate / np.sqrt(2 * n_v), 1.0),
        "chol_loc": y, "chol_scale": np.minimum(inflate.mean(-1) / np.sqrt(n), 0.5)[..., None],
    }  # fmt: skip


def _cell_parameters(d: dict, priors: dict, n_values: int):
    """gamma, tau and the Cholesky factor of Omega of every cell, in unit-scale coordinates
    centred on the data's moment estimates, with the preset's priors as factors (the LKJ
    concentration integrated out on a grid, :func:`coupling_log_prior`)."""
    from numpyro.distributions.transforms import CorrCholeskyTransform

    flat = dist.ImproperUniform(dist.constraints.real_vector, (), (n_values,))
    n_chol = n_values * (n_values - 1) // 2
    z = numpyro.sample("shift_mean_z", flat)
    u = numpyro.sample("shift_sd_z", flat)
    w = numpyro.sample(
        "coupling_z", dist.ImproperUniform(dist.constraints.real_vector, (), (n_chol,))
    )
    gamma = numpyro.deterministic("shift_mean", d["gamma_loc"] + d["gamma_scale"] * z)
    log_tau = d["log_tau_loc"] + d["log_tau_scale"] * u
    tau = numpyro.deterministic("shift_sd", jnp.exp(log_tau))
    y = d["chol_loc"] + d["chol_scale"] * w
    transform = CorrCholeskyTransform()
    chol = numpyro.deterministic("coupling_chol", transform(y))
    eta, log_wc = concentration_grid(priors, n_values)
    numpyro.deterministic("lkj_concentration", concentration_given(chol, eta, log_wc))
    prior = dist.Normal(0.0, priors["shift_mean_sd"]).log_prob(gamma).sum(-1)
    prior += (dist.HalfNormal(priors["shift_sd"]).log_prob(tau) + log_tau).sum(-1)
    prior += coupling_log_prior(chol, eta, log_wc) + transform.log_abs_det_jacobian(y, chol)
    numpyro.factor("prior", prior)
    return gamma, tau, chol


def marginal_model(d: dict, priors: dict) -> None:
    """NumPyro model of every cell at once (plates model x intervention).

    ``d`` holds the :class:`PatternStats` fields and :func:`data_scales` as jnp arrays.
    Omega ~ LKJ(eta) with log(eta) ~ Normal (favouring large eta, i.e. weak coupling),
    eta per cell and integrated out (:func:`coupling_log_prior`); scale 0 fixes eta.
    """
    n_models, n_int, _, n_values = d["mean"].shape
    with numpyro.plate("model", n_models, dim=-2), numpyro.plate("intervention", n_int, dim=-1):
        gamma, tau, chol = _cell_parameters(d, priors, n_values)
    cov = coupling_of(chol) * tau[..., :, None] * tau[..., None, :]
    stats = PatternStats(*(d[k] for k in PatternStats._fields))
    numpyro.factor("shifts", jnp.sum(marginal_log_lik(gamma, cov, stats)))


def coupling_of(chol):
    """Omega = L L^T, its diagonal set to exactly 1."""
    omega = chol @ jnp.swapaxes(chol, -1, -2)
    eye = jnp.eye(chol.shape[-1], dtype=bool)
    return jnp.where(eye, 1.0, omega)


def prior_coupling(key, priors: dict, n_values: int, n_draws: int) -> tuple:
    """Draws of (eta, Omega) from the prior: eta from its log-normal (or fixed), then
    Omega ~ LKJ(eta); shapes (n_draws,) and (n_draws, V, V)."""
    loc, scale = concentration_prior(priors)
    k_eta, k_omega = jax.random.split(key)
    eta = jnp.exp(loc + scale * jax.random.normal(k_eta, (n_draws,)))
    chol = LKJCholesky(n_values, eta).sample(k_omega)
    return eta, coupling_of(chol)
