"""Interval maths on replicates (numpy, float64): quantiles, percentile and BCa intervals,
permutation p-values and floors, Benjamini-Hochberg q-values.

Replicates come in as (replicate, column) arrays; every function works column by column,
NaN replicates left out.

Example:
    >>> import numpy as np
    >>> reps = np.arange(1.0, 101.0)[:, None]
    >>> out, _ = intervals(np.array([50.0]), reps, None, interval="percentile", level=0.9,
    ...                    scale=np.ones(1), max_nan_fraction=0.05)
    >>> [round(float(v), 2) for v in out[1:3, 0]]
    [5.95, 95.05]
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = [
    "INTERVALS",
    "STATS",
    "acceleration",
    "bh",
    "intervals",
    "permutation_floor",
    "permutation_p_value",
    "quantile",
]

INTERVALS = ("bca", "percentile")
STATS = ("estimate", "lower", "upper", "se", "replicate_sd")
_normal = NormalDist()


def _ndtri(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, np.float64)
    out = np.full(p.shape, np.nan)
    inside = (p > 0) & (p < 1)
    out[inside] = [_normal.inv_cdf(v) for v in p[inside]]
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    return out


def _ndtr(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    out = np.full(z.shape, np.nan)
    ok = ~np.isnan(z)
    out[ok] = [0.5 * math.erfc(-v / math.sqrt(2)) for v in z[ok]]
    return out


def quantile(sorted_reps: np.ndarray, k: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles per column of column-sorted replicates (NaN last)."""
    with np.errstate(invalid="ignore"):
        pos = probs * (k - 1)
    ok = np.isfinite(pos) & (k > 0)
    pos = np.where(ok, np.clip(pos, 0, np.maximum(k - 1, 0)), 0.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
    a = np.take_along_axis(sorted_reps, lo[None], axis=0)[0]
    b = np.take_along_axis(sorted_reps, hi[None], axis=0)[0]
    return np.where(ok, a + (pos - lo) * (b - a), np.nan)


def acceleration(jack: np.ndarray) -> np.ndarray:
    """BCa acceleration from jackknife values (group, column); NaN entries left out."""
    ok = ~np.isnan(jack)
    m = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, jack, 0.0).sum(0) / m
        d = np.where(ok, mean - jack, 0.0)
        num = (d**3).sum(0)
        den = (d**2).sum(0)
        return np.where(den > 0, num / (6 * den**1.5), 0.0)


def intervals(
    est: np.ndarray,
    reps: np.ndarray,
    jack: np.ndarray | None,
    *,
    interval: str,
    level: float,
    scale: np.ndarray,
    max_nan_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(stat, column) estimate, lower, upper, se, replicate_sd and the NaN fraction.

    ``scale`` stretches the replicates about the estimate (the subsampling correction,
    1 for the bootstrap). NaN replicates are dropped; where more than
    ``max_nan_fraction`` of them are NaN the interval and se are NaN.
    """
    reps = reps.astype(np.float64)
    est = est.astype(np.float64)
    nan = np.isnan(reps)
    k = (~nan).sum(0)
    nan_fraction = nan.mean(0)
    raw_sd = np.nanstd(np.where(k > 1, reps, 0.0), axis=0, ddof=1) if len(reps) > 1 else 0 * est
    scaled = np.where(scale == 1, reps, est + scale * (reps - est))
    se = scale * raw_sd
    srt = np.sort(scaled, axis=0)
    alpha = (1 - level) / 2
    if interval == "percentile":
        p_lo = np.full(est.shape, alpha)
        p_hi = np.full(est.shape, 1 - alpha)
    else:
        below = (scaled < est).sum(0) + (scaled <= est).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            z0 = _ndtri(below / (2.0 * k))
        a = acceleration(jack) if jack is not None else np.zeros(est.shape)
        z = _normal.inv_cdf(alpha)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_lo = _ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
            p_hi = _ndtr(z0 + (z0 - z) / (1 - a * (z0 - z)))
    lower = quantile(srt, k, p_lo)
    upper = quantile(srt, k, p_hi)
    bad = (nan_fraction > max_nan_fraction) | (k < 2)
    lower, upper, se = (np.where(bad, np.nan, v) for v in (lower, upper, se))
    return np.stack([est, lower, upper, se, raw_sd]), nan_fraction


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis (NaN p-values left out)."""
    q = np.full(p.shape, np.nan)
    for idx in np.ndindex(p.shape[:-1]):
        row = p[idx]
        ok = np.flatnonzero(~np.isnan(row))
        if len(ok) == 0:
            continue
        order = ok[np.argsort(row[ok], kind="stable")]
        m = len(order)
        adj = row[order] * m / np.arange(1, m + 1)
        adj = np.minimum.accumulate(adj[::-1])[::-1]
        q[idx][order] = np.minimum(adj, 1.0)
    return q


def permutation_p_value(observed: np.ndarray, null: np.ndarray, two_sided: bool = False):
    """(1 + #{null >= observed}) / (1 + draws) per column (on |.| when two-sided); NaN
    where the observed figure is NaN.

    Example:
        >>> float(permutation_p_value(np.array(0.5), np.array([0.1, 0.6, 0.2])))
        0.5
    """
    if two_sided:
        observed, null = np.abs(observed), np.abs(null)
    with np.errstate(invalid="ignore"):
        p = (1 + (null >= observed).sum(0)) / (1 + len(null))
    return np.where(np.isnan(observed), np.nan, p)


def permutation_floor(null: np.ndarray, level: float) -> np.ndarray:
    """The ``level`` quantile of the null draws (draw, ...) per entry, NaN draws left out.

    Example:
        >>> float(permutation_floor(np.arange(101.0), 0.95))
        95.0
    """
    null = np.asarray(null, np.float64)
    flat = np.sort(null.reshape(len(null), -1), axis=0)
    count = (~np.isnan(flat)).sum(0)
    return quantile(flat, count, np.full(count.shape, level)).reshape(null.shape[1:])
