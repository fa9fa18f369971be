"""Intervals of the observed-scale tax (numpy, float64): the debiased squared norm, its
standard error from the resampled coupling, and the unified interval of a parameter
bounded below.

Why this method. nVAT^2 and VAT(u)^2 are sums of squared correlations, so resampling
replicates sit above the estimate by the sampling variance again (a bootstrap replicate
r* = r + e carries E[e^2] on top of r^2, which already carries it on top of rho^2):
percentile intervals lie above the estimate and BCa's bias correction collapses. The
debiased square Q = sum_p a_p (r_p^2 - b_p) (:mod:`vatjax.core.debias`) is close to
normal, with mean the true figure's square and, for r ~ N(rho, Sigma),

    Var(Q) = 4 (a o rho)' Sigma (a o rho) + 2 sum_pq a_p a_q Sigma_pq^2,

the second term's off-diagonal entries being second order (0 without coupling).

Sigma, the covariance of the coupling entries, is what resampling estimates well under
every scheme (bootstrap, Bayesian bootstrap, and subsampling rescaled by m / (n - m)).
The variance is modelled as noise + slope mu in the true square mu: the noise term from
the diagonal, the slope from the first term (plugging r for rho adds
4 sum a_p^2 Sigma_pp^2 on average, which is taken out). The interval for the square is
then the unified (Feldman-Cousins) interval of a normal mean bounded below (by 0, or by the
diagonal's 1 with ``include_diagonal``): it has its nominal coverage at the boundary as
well as away from it, where a clipped or percentile interval over- or under-covers; it is
inverted on a grid of mu with the sd at each mu, so a low estimate does not shorten it.
The norm's interval is the square root of the square's.

Example:
    >>> lo, hi = unified_bounds(np.array([0.0, 5.0]), 0.9)
    >>> [round(float(v), 2) for v in lo], [round(float(v), 2) for v in hi]
    ([0.0, 3.36], [1.64, 6.64])
"""

from __future__ import annotations

import functools
from statistics import NormalDist

import numpy as np
from scipy.special import ndtr as _phi

__all__ = ["norm_intervals", "squared_norm_weights", "unified_bounds"]

_MU_MAX = 40.0


@functools.lru_cache(maxsize=16)
def _acceptance(level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mu and the acceptance region [x1(mu), x2(mu)] of x ~ N(mu, 1), mu >= 0, ordered by
    the likelihood ratio L(x | mu) / L(x | max(x, 0)) (Feldman and Cousins 1998)."""
    mu = np.concatenate([[0.0], np.geomspace(1e-5, _MU_MAX, 6000)])
    lo, hi = mu.copy(), mu + 12.0
    for _ in range(80):  # bisection on x2: the coverage grows with it
        x2 = 0.5 * (lo + hi)
        x1 = _lower_end(mu, x2)
        cover = _phi(x2 - mu) - _phi(x1 - mu)
        too_much = cover > level
        hi = np.where(too_much, x2, hi)
        lo = np.where(too_much, lo, x2)
    x2 = 0.5 * (lo + hi)
    return mu, _lower_end(mu, x2), x2


def _lower_end(mu: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """The x below mu with the same likelihood ratio as x2 (log R = -(x - mu)^2 / 2 for
    x >= 0, x mu - mu^2 / 2 below 0)."""
    mirror = 2 * mu - x2
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.where(mu > 0, (mu**2 - (x2 - mu) ** 2) / (2 * mu), -np.inf)
    return np.where(mirror >= 0, mirror, below)


def unified_bounds(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The unified interval [lower, upper] of mu >= 0 from x ~ N(mu, 1), per entry of x.

    It contains max(x, 0), starts at 0 while x is below the one-sided ``level`` quantile,
    and has coverage ``level`` at every mu. NaN in, NaN out.
    """
    x = np.asarray(x, np.float64)
    mu, x1, x2 = _acceptance(float(level))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    far = x > _MU_MAX - 6
    with np.errstate(invalid="ignore"):
        lower = np.where(x <= x2[0], 0.0, np.interp(x, x2, mu))
        upper = np.interp(x, x1[1:], mu[1:])
    lower = np.where(far, x - z, lower)
    upper = np.where(far, x + z, upper)
    nan = np.isnan(x)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def _invert(excess, noise, slope, level, size: int = 1000):
    """The unified interval of mu >= 0 from D ~ N(mu, noise + slope mu): the mu on a grid
    whose acceptance region (:func:`_acceptance`, in units of the sd at that mu) holds D.
    A variance that grows with mu keeps a low D from making the interval too short."""
    mu_tab, x1_tab, x2_tab = _acceptance(float(level))
    x1_tab = np.where(np.isinf(x1_tab), -1e12, x1_tab)
    d = np.maximum(excess, 0.0)[..., None]
    sd_hat = np.sqrt(noise + slope * d[..., 0])[..., None]
    t = np.linspace(0.0, 1.0, size)
    top = d + 12 * np.sqrt(noise[..., None] + slope[..., None] * (d + 12 * sd_hat))
    mu = np.concatenate([top * t**2, np.maximum(d + sd_hat * (24 * t - 12), 0.0)], -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(noise[..., None] + slope[..., None] * mu)
        m, x = mu / sd, excess[..., None] / sd
        ok = (x >= np.interp(m, mu_tab, x1_tab)) & (x <= np.interp(m, mu_tab, x2_tab))
    ok &= np.isfinite(sd) & (sd > 0)
    lower = np.where(ok.any(-1), np.where(ok, mu, np.inf).min(-1), np.nan)
    upper = np.where(ok.any(-1), np.where(ok, mu, -np.inf).max(-1), np.nan)
    exact = np.isfinite(noise) & (noise == 0) & (slope == 0)  # every replicate equal
    return np.where(exact, excess, lower), np.where(exact, excess, upper)


def squared_norm_weights(n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs u < w and the weights a (1 + V, pair) that make nVAT^2 (row 0) and
    VAT(u)^2 (row 1 + u) sums of a_p r_p^2 over the pairs.

    Example:
        >>> pairs, a = squared_norm_weights(3)
        >>> pairs.tolist(), a[0].tolist(), a[1].tolist()
        ([[0, 1], [0, 2], [1, 2]], [0.6666666666666666, 0.6666666666666666, 0.6666666666666666], [1.0, 1.0, 0.0])
    """
    pairs = np.array(np.triu_indices(n_values, 1)).T
    a = np.zeros((1 + n_values, len(pairs)))
    a[0] = 2.0 / n_values
    for p, (u, w) in enumerate(pairs):
        a[1 + u, p] = a[1 + w, p] = 1.0
    return pairs, a


def norm_intervals(
    r: np.ndarray,
    bias: np.ndarray,
    reps: np.ndarray,
    weights: np.ndarray,
    *,
    level: float,
    scale: np.ndarray | float = 1.0,
    boundary: float = 0.0,
    min_replicates: int = 20,
    max_nan_fraction: float = 1.0,
) -> dict[str, np.ndarray]:
    """Debiased squared norms and their unified intervals, per cell.

    Args:
        r: (cell, pair) the coupling entries of the sample.
        bias: (cell, pair) their noise (:func:`vatjax.core.debias.r_squared_noise`).
        reps: (replicate, cell, pair) the same entries on each resample; a replicate with
            a NaN entry is left out for that cell.
        weights: (stat, pair) from :func:`squared_norm_weights`.
        level: the confidence level.
        scale: (cell,) the factor that brings the replicates' spread to the full sample
            (sqrt(m / (n - m)) for subsampling, 1 otherwise).
        boundary: the least value of the square (0, or 1 with the diagonal kept).
        min_replicates, max_nan_fraction: fewer complete replicates than
            ``min_replicates``, or a larger share of incomplete ones than
            ``max_nan_fraction``, give a NaN se and interval.

    Returns:
        ``square`` (cell, stat): the debiased square (boundary added, unclipped);
        ``se_square``: its standard error; ``estimate``, ``lower``, ``upper``: the clipped
        norm and its interval; ``replicates``: complete replicates per cell.
    """
    r = np.asarray(r, np.float64)
    reps = np.asarray(reps, np.float64)
    ok = ~np.isnan(reps).any(-1)  # (replicate, cell)
    k = ok.sum(0)
    filled = np.where(ok[..., None], reps, 0.0)
    mean = filled.sum(0) / np.maximum(k, 1)[:, None]
    dev = np.where(ok[..., None], reps - mean, 0.0)
    cov = np.einsum("bcp,bcq->cpq", dev, dev) / np.maximum(k - 1, 1)[:, None, None]
    cov = cov * (np.asarray(scale, np.float64) ** 2).reshape(-1, 1, 1)
    # Sigma_pp^2, unbiased under normality (E[S_pp^2] = Sigma_pp^2 (B + 1) / (B - 1)). Only
    # the diagonal: an off-diagonal S_pq carries the sample's own noise (about
    # S_pp S_qq / n, summed over ~P^2 pairs it would double the noise term at n = 80),
    # while the true Sigma_pq^2 are 0 without coupling and second order with it.
    kk = np.maximum(k, 2).astype(np.float64)[:, None]
    diag_sq = np.diagonal(cov, axis1=-2, axis2=-1) ** 2 * (kk - 1) / (kk + 1)
    ar = weights[None] * r[:, None, :]  # (cell, stat, pair)
    signal = 4 * np.einsum("csp,cpq,csq->cs", ar, cov, ar)
    raw = np.einsum("sp,cp->cs", weights, r**2)
    noise = 2 * np.einsum("sp,cp->cs", weights**2, diag_sq)
    # Var(Q) at a true square mu (above the boundary) ~ noise + slope * mu; the slope is a
    # ratio of quadratic forms in r, free of r's scale, so it holds at the noise floor too
    square = boundary + np.einsum("sp,cp->cs", weights, r**2 - bias)
    excess = square - boundary
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(raw > 0, signal / raw, 0.0)
        # the ratio mixes r's noise (not amplified by Sigma's structure) into both forms;
        # well above the floor, the noise-free ratio is the better (and larger) one
        clean = (signal - 2 * noise) / excess
    slope = np.where(excess > 3 * np.sqrt(noise), np.maximum(slope, clean), slope)
    enough = (k >= min_replicates) & (k >= (1 - max_nan_fraction) * len(reps))
    noise = np.where(enough[:, None], noise, np.nan)
    se = np.sqrt(noise + slope * np.maximum(excess, 0.0))
    lo, hi = _invert(excess, noise, slope, level)
    lower, upper = np.sqrt(boundary + lo), np.sqrt(boundary + hi)
    estimate = np.sqrt(np.maximum(square, boundary))  # maximum keeps a NaN square NaN
    return {"square": square, "se_square": se, "estimate": estimate, "lower": lower,
            "upper": upper, "replicates": k}  # fmt: skip
