"""Power of a study design by simulation: the kernels of one simulated study, and the
maths of power from many (:mod:`vatjax.engine.studies` runs them in blocks over devices).

The cell is the model of :mod:`vatjax.core.shift_model`: true shifts N(mean, shift_sd^2
Omega) plus rating noise N(0, noise^2 I), on the grid of ``step``. Its observed shifts
before rounding are N(mean, Sigma) with Sigma = shift_sd^2 Omega + noise^2 I, so
:func:`draw_shifts` draws them in one go (one normal per shift, not two) from the
project's Threefry words (:func:`vatjax.core.random.random_words`) by Box-Muller. A study
of the largest n is drawn once and its first n samples are the study of each smaller n,
so the curves over n share their random numbers (smooth, and monotone up to little
noise).

- :func:`tax_study`: a study's nVAT, its debiased square and debiased nVAT at every n.
- :func:`gain_study`: whether a t-test of the target's shifts (paired, two strategies on
  the same samples; or one-sample, against no change) rejects at every n.
- :func:`detection_power`: the noise floor (the (1 - alpha) quantile of null studies) and
  the share of studies above it, with its Monte Carlo standard error.
- :func:`n_for_power`: the n where a power curve crosses a target, interpolated in log n
  (on the log signal-to-noise scale of power).

Example:
    >>> import numpy as np
    >>> n, status = n_for_power(np.array([100, 400]), np.array([0.5, 0.9]), 0.8, 0.05)
    >>> int(n), status
    (271, 'interpolated')
"""

from __future__ import annotations

import math
from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np

from vatjax.core.debias import debiased_tax
from vatjax.core.grid_ranks import grid_levels, prefix_spearman
from vatjax.core.metrics import vat_from_coupling
from vatjax.core.random import random_words
from vatjax.core.ranks import spearman

__all__ = [
    "covariance_root",
    "detection_power",
    "draw_shifts",
    "gain_study",
    "n_for_power",
    "normals",
    "tax_study",
]

_probit = NormalDist().inv_cdf


def covariance_root(cov) -> np.ndarray:
    """A square root L (L L^T = cov) of a symmetric PSD matrix, float32 (eigh, float64).

    Example:
        >>> root = covariance_root(np.array([[1.0, 0.5], [0.5, 1.0]]))
        >>> np.allclose(root @ root.T, [[1.0, 0.5], [0.5, 1.0]])
        True
    """
    evals, evecs = np.linalg.eigh(np.asarray(cov, np.float64))
    return (evecs * np.sqrt(np.clip(evals, 0.0, None))).astype(np.float32)


def normals(key, shape: tuple[int, ...]):
    """Standard normals by Box-Muller from :func:`~vatjax.core.random.random_words`
    (24-bit uniforms: |z| < 5.8).

    Example:
        >>> import jax
        >>> z = normals(jax.random.key(0), (3, 2))
        >>> z.shape, str(z.dtype)
        ((3, 2), 'float32')
    """
    size = math.prod(shape)
    half = (size + 1) // 2
    w = random_words(key, (2, half))
    u = jax.lax.bitcast_convert_type((w >> 9) | np.uint32(0x3F800000), jnp.float32) - 1.0
    radius = jnp.sqrt(-2.0 * jnp.log1p(-u[0]))  # 1 - u in (0, 1]
    angle = np.float32(2 * np.pi) * u[1]
    z = jnp.concatenate([radius * jnp.cos(angle), radius * jnp.sin(angle)])
    return z[:size].reshape(shape)


def draw_shifts(key, n: int, root, mean, step):
    """``n`` observed shift vectors N(mean, root root^T) on the grid of ``step`` (0: none).

    With root from :func:`covariance_root` of shift_sd^2 Omega + noise^2 I this is the
    model of :func:`~vatjax.core.shift_model.simulate_shifts`, one normal per shift.
    """
    x = normals(key, (n, root.shape[-1])) @ root.T + mean
    return jnp.where(step > 0, jnp.round(x / jnp.where(step > 0, step, 1.0)) * step, x)


def tax_study(key, root, step, lo, *, ns: tuple[int, ...], n_levels: int):
    """One study: (n, 3) nVAT, the debiased square nVAT_d^2 (unclipped) and the debiased
    nVAT of its first n samples for each n in ``ns``, drawn at ``ns[-1]`` with zero means.

    ``lo``, ``n_levels``: the grid from :func:`~vatjax.core.grid_ranks.grid_bounds` (ranks
    by counting); ``n_levels=0`` sorts instead (continuous shifts, or a grid too fine).
    """
    x = draw_shifts(key, ns[-1], root, 0.0, step)
    if n_levels:
        r = prefix_spearman(grid_levels(x, step, lo, n_levels), n_levels, ns)
    else:  # continuous shifts (or a grid too fine): sort every prefix
        r = jnp.stack([spearman(x[:n], jnp.ones(n, x.dtype), pairwise=False) for n in ns])
    n_pair = jnp.broadcast_to(jnp.asarray(ns, jnp.float32)[:, None, None], r.shape)
    d = debiased_tax(r, n_pair)
    return jnp.stack([vat_from_coupling(r)[1], d.nvat_sq, d.nvat], axis=-1)


def gain_study(key, root, means, step, crit, *, ns: tuple[int, ...], paired: bool):
    """One study: (n,) booleans, whether a two-sided t-test of its first n samples rejects
    (|t| > ``crit``, one critical value per n). The study draws the observed target shifts
    of two strategies on the same samples, N(means, root root^T) on the grid of ``step``;
    ``paired`` tests a - b, otherwise a against 0.
    """
    x = draw_shifts(key, ns[-1], root, means, step)
    d = x[:, 0] - x[:, 1] if paired else x[:, 0]
    out = []
    for j, n in enumerate(ns):
        m = jnp.mean(d[:n])
        s = jnp.sqrt(jnp.sum((d[:n] - m) ** 2) / (n - 1.0) / n)  # the se of the mean
        t = jnp.where(s > 0, m / jnp.where(s > 0, s, 1.0), jnp.where(m != 0, jnp.inf, 0.0))
        out.append(jnp.abs(t) > crit[j])
    return jnp.stack(out)


def detection_power(
    alt: np.ndarray, null: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The floor (the 1 - alpha quantile of the null studies), the power (the share of
    ``alt`` studies strictly above it) and the power's Monte Carlo se, per column.

    The se adds the floor's own noise to the binomial part: with f and g the densities of
    the alternative and the null at the floor, Var = p (1 - p) / m + (f / g)^2 alpha
    (1 - alpha) / m0; f / g is the share of alternative studies over the share of null
    studies between the null's 1 - alpha -+ delta quantiles. NaN studies (a constant
    value at a tiny n) are never detections and never set the floor.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> floor, p, se = detection_power(rng.normal(size=(4000, 1)),
        ...                                rng.normal(size=(4000, 1)), 0.05)
        >>> abs(float(p[0]) - 0.05) < 4 * float(se[0])
        True
    """
    m, m0 = alt.shape[0], np.sum(~np.isnan(null), axis=0)
    floor = np.nanquantile(null, 1 - alpha, axis=0)
    p = np.mean(alt > floor, axis=0)
    delta = min(0.05, alpha / 2, (1 - alpha) / 2)
    lo, hi = np.nanquantile(null, [1 - alpha - delta, 1 - alpha + delta], axis=0)
    share_alt = np.mean((alt >= lo) & (alt <= hi), axis=0)
    share_null = np.maximum(np.mean((null >= lo) & (null <= hi), axis=0), 1 / np.maximum(m0, 1))
    ratio = share_alt / share_null
    se = np.sqrt(p * (1 - p) / m + ratio**2 * alpha * (1 - alpha) / m0)
    return floor, p, se


def n_for_power(
    ns: np.ndarray, power: np.ndarray, target: float, alpha: float, n_studies: int = 1000
) -> tuple[float, str]:
    """The n where the power curve first reaches ``target``, interpolated in log n between
    the two sample sizes around the crossing, rounded up; NaN with the reason if the curve
    starts at or above the target ('at or below the smallest n') or never reaches it ('not
    reached').

    The interpolation runs on the scale y = log(probit(power) - probit(alpha)), the log of
    a test's signal-to-noise: it is a straight line in log n when the signal grows as a
    power of n (slope 1/2 for a t-test, near 1 for the tax), where power itself and its
    probit bend. Powers are clipped to [0.5, n_studies - 0.5] / n_studies; where the lower
    one is too close to alpha for the log, the probit scale is used.

    Example:
        >>> n, status = n_for_power(np.array([100, 400]), np.array([0.5, 0.9]), 0.8, 0.05)
        >>> int(n), status
        (271, 'interpolated')
    """
    above = np.flatnonzero(np.asarray(power) >= target)
    if above.size == 0:
        return math.nan, "not reached"
    j = int(above[0])
    if j == 0:
        return math.nan, "at or below the smallest n"
    edge = 0.5 / n_studies
    y0, y1, yt = (_probit(min(max(float(p), edge), 1 - edge))
                  for p in (power[j - 1], power[j], target))  # fmt: skip
    floor = _probit(alpha)
    if y0 - floor > 0.05:  # the signal-to-noise scale
        y0, y1, yt = (math.log(y - floor) for y in (y0, y1, yt))
    x0, x1 = math.log(ns[j - 1]), math.log(ns[j])
    x = x0 + (yt - y0) / (y1 - y0) * (x1 - x0) if y1 > y0 else x1
    return float(math.ceil(math.exp(x))), "interpolated"
