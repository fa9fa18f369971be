"""Power of a study design by simulation: many studies of one cell, vmapped and sharded.

The cell is the model of :mod:`vatjax.core.shift_model`: true shifts N(mean, shift_sd^2
Omega) plus rating noise N(0, noise^2 I), on the grid of ``step``. Its observed shifts
before rounding are N(mean, Sigma) with Sigma = shift_sd^2 Omega + noise^2 I, so
:func:`draw_shifts` draws them in one go (one normal per shift, not two) from the
project's Threefry words (:func:`vatjax.core.random.random_words`) by Box-Muller. A study
of the largest n is drawn once and its first n samples are the study of each smaller n,
so the curves over n share their random numbers (smooth, and monotone up to little
noise). Study i of a stream uses key ``split(stream, n_studies)[i]`` whatever the
chunking or the number of devices.

- :func:`tax_draws`: each study's nVAT, its debiased square and debiased nVAT at every n.
- :func:`gain_rejections`: whether a t-test of the target's shifts (paired, two
  strategies on the same samples; or one-sample, against no change) rejects at every n.
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

import functools
import math
from collections.abc import Callable, Sequence
from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from vatjax.core.debias import debiased_tax
from vatjax.core.grid_ranks import grid_levels, prefix_spearman
from vatjax.core.metrics import vat_from_coupling
from vatjax.core.random import random_words
from vatjax.core.ranks import spearman

__all__ = [
    "covariance_root",
    "detection_power",
    "draw_shifts",
    "gain_rejections",
    "n_for_power",
    "normals",
    "run_studies",
    "tax_draws",
]

_probit = NormalDist().inv_cdf

DEFAULT_MEMORY = 256 << 20
"""Bytes of working memory the studies of one call may use on each device (about)."""


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


def _tax_study(key, root, step, lo, *, ns, n_levels):
    x = draw_shifts(key, ns[-1], root, 0.0, step)
    if n_levels:
        r = prefix_spearman(grid_levels(x, step, lo, n_levels), n_levels, ns)
    else:  # continuous shifts (or a grid too fine): sort every prefix
        r = jnp.stack([spearman(x[:n], jnp.ones(n, x.dtype), pairwise=False) for n in ns])
    n_pair = jnp.broadcast_to(jnp.asarray(ns, jnp.float32)[:, None, None], r.shape)
    d = debiased_tax(r, n_pair)
    return jnp.stack([vat_from_coupling(r)[1], d.nvat_sq, d.nvat], axis=-1)


def _gain_study(key, root, means, step, crit, *, ns, paired):
    x = draw_shifts(key, ns[-1], root, means, step)
    d = x[:, 0] - x[:, 1] if paired else x[:, 0]
    out = []
    for j, n in enumerate(ns):
        m = jnp.mean(d[:n])
        s = jnp.sqrt(jnp.sum((d[:n] - m) ** 2) / (n - 1.0) / n)  # the se of the mean
        t = jnp.where(s > 0, m / jnp.where(s > 0, s, 1.0), jnp.where(m != 0, jnp.inf, 0.0))
        out.append(jnp.abs(t) > crit[j])
    return jnp.stack(out)


@functools.lru_cache(maxsize=32)
def _compiled(study: Callable, static: tuple, n_args: int, device_ids: tuple[int, ...]) -> Callable:
    """vmap(study) over a block of keys, sharded over the devices; one cache entry per
    study function, static keyword arguments and devices."""
    study = functools.partial(study, **dict(static))
    by_id = {d.id: d for d in jax.devices()}
    mesh = Mesh(np.array([by_id[i] for i in device_ids]), ("study",))
    batched = jax.vmap(study, in_axes=(0,) + (None,) * n_args)
    return jax.jit(
        jax.shard_map(
            batched,
            mesh=mesh,
            in_specs=(P("study"),) + (P(),) * n_args,
            out_specs=P("study"),
            check_vma=False,
        )
    )


def run_studies(
    study: Callable,
    keys,
    args: Sequence,
    static: dict,
    *,
    bytes_per_study: int,
    devices: Sequence | None = None,
    max_memory: int = DEFAULT_MEMORY,
) -> np.ndarray:
    """``study(key, *args, **static)`` for every key, in blocks sized by ``max_memory``,
    sharded over ``devices`` (default: all); the results stacked on a leading study axis,
    on the host. The compiled program is reused for the same ``study`` (a module-level
    function), ``static`` (hashable values) and devices.
    """
    devices = list(devices) if devices is not None else jax.devices()
    n_dev = len(devices)
    per_device = int(np.clip(max_memory // max(bytes_per_study, 1), 1, 256))
    n_keys = keys.shape[0]
    per_device = min(per_device, -(-n_keys // n_dev))
    block = per_device * n_dev
    run = _compiled(study, tuple(sorted(static.items())), len(args), tuple(d.id for d in devices))
    out = []
    for start in range(0, n_keys, block):
        chunk = keys[start : start + block]
        short = block - chunk.shape[0]
        if short:  # pad the last block with repeats (their results are dropped)
            chunk = jnp.concatenate([chunk, jnp.repeat(chunk[-1:], short, axis=0)])
        out.append(np.asarray(run(chunk, *args))[: block - short])
    return np.concatenate(out)


def tax_draws(
    keys,
    omega,
    *,
    ns: tuple[int, ...],
    shift_sd: float,
    noise: float,
    step: float,
    grid: tuple[np.ndarray, int] | None,
    devices: Sequence | None = None,
    max_memory: int = DEFAULT_MEMORY,
) -> np.ndarray:
    """(study, n, 3): nVAT, the debiased square nVAT_d^2 (unclipped) and the debiased nVAT
    of the first n samples of each simulated study (circumplex or any Omega; zero means).

    ``grid`` = (lowest levels, number of levels) from
    :func:`~vatjax.core.grid_ranks.grid_bounds` ranks by counting; None sorts.
    """
    lo, n_levels = grid if grid is not None else (np.zeros(1, np.int32), 0)
    static = {"ns": tuple(int(n) for n in ns), "n_levels": int(n_levels)}
    v = np.shape(omega)[-1]
    cov = shift_sd**2 * np.asarray(omega, np.float64) + noise**2 * np.eye(v)
    args = (jnp.asarray(covariance_root(cov)), jnp.float32(step), jnp.asarray(lo, jnp.int32))
    per_study = ns[-1] * v * 4 * (12 if n_levels else 30)
    return run_studies(_tax_study, keys, args, static, bytes_per_study=per_study, devices=devices,
                       max_memory=max_memory)  # fmt: skip


def gain_rejections(
    keys,
    cov,
    means,
    *,
    ns: tuple[int, ...],
    step: float,
    alpha: float,
    paired: bool,
    devices: Sequence | None = None,
    max_memory: int = DEFAULT_MEMORY,
) -> np.ndarray:
    """(study, n) booleans: a two-sided t-test at ``alpha`` of the first n samples rejects.

    Each study draws the observed target shifts of two strategies on the same samples,
    normal with means ``means`` and covariance ``cov`` (2 x 2), on the grid of ``step``.
    ``paired``: the test of the difference a - b; otherwise the one-sample test of a.
    """
    from scipy.stats import t as student_t

    crit = student_t.ppf(1 - alpha / 2, np.asarray(ns) - 1.0)
    static = {"ns": tuple(int(n) for n in ns), "paired": bool(paired)}
    args = (jnp.asarray(covariance_root(cov)), jnp.asarray(means, jnp.float32),
            jnp.float32(step), jnp.asarray(crit, jnp.float32))  # fmt: skip
    return run_studies(_gain_study, keys, args, static, bytes_per_study=ns[-1] * 2 * 4 * 12,
                       devices=devices, max_memory=max_memory)  # fmt: skip


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
