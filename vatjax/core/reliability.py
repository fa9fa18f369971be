"""Test-retest reliability kernels (numpy, float64): the intraclass correlations ICC(2,1)
and ICC(3,1), Krippendorff's alpha with the ordinal metric, and group means.

Ratings come as ``x[..., target, rater]`` (NaN where missing), core dims last, any number
of leading batch dims (model, condition). Here the targets are the rated items (scenario
x micro-value x polarity) and the raters are the judge's repeated judgments of them.

float64 and numpy, like :mod:`~vatjax.core.intervals`: the sums of squares run over half a
million items per cell, and JAX computes in float32 unless x64 is enabled.

**ICC** (Shrout and Fleiss 1979; McGraw and Wong 1996), from the two-way ANOVA of n
targets x k raters without interaction, with MSR (targets), MSC (raters) and MSE
(residual) mean squares:

    ICC2 = ICC(2,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)
        two-way random effects, absolute agreement, single rating (McGraw-Wong ICC(A,1));
    ICC3 = ICC(3,1) = (MSR - MSE) / (MSR + (k-1) MSE)
        two-way mixed effects, consistency, single rating (ICC(C,1)).

A systematic difference between the judgments (a judge that rates everything half a point
higher the second time) lowers ICC2 and leaves ICC3 alone. A rater with no rating at all
does not count; a target missing any counting rater's rating is left out (listwise, as
``pingouin.intraclass_corr(..., nan_policy="omit")`` does).

**Krippendorff's alpha** = 1 - sum(o * d) / sum(e * d) on the coincidence matrix ``o``
over the K rating levels (each target with m >= 2 ratings adds its ordered pairs of
ratings from different raters, weighted 1 / (m - 1); missing ratings simply pair less),
``e`` the coincidences expected by chance from the level totals n_c, and the ordinal
distance d(c, k) = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2.

Example:
    >>> x = np.array([[1.0, 2.0], [3.0, 3.0], [5.0, 4.0], [2.0, 2.0]])
    >>> r = icc(x)
    >>> round(float(r.icc2), 4), round(float(r.icc3), 4), int(r.n_targets), int(r.n_raters)
    (0.8636, 0.8261, 4, 2)
    >>> round(float(alpha_ordinal(x, np.arange(1.0, 6.0))), 4)
    0.8892
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Float, Int

__all__ = ["Icc", "alpha_ordinal", "group_means", "icc"]


class Icc(NamedTuple):
    """The intraclass correlations of one or many cells and the counts behind them."""

    icc2: Float[np.ndarray, "*batch"]
    icc3: Float[np.ndarray, "*batch"]
    n_targets: Int[np.ndarray, "*batch"]  # targets with every counting rater's rating
    n_raters: Int[np.ndarray, "*batch"]  # raters with at least one rating


def icc(x: Float[np.ndarray, "*batch target rater"]) -> Icc:
    """ICC(2,1) and ICC(3,1) of ``x[..., target, rater]`` (NaN: missing); NaN where
    fewer than 2 complete targets or 2 raters, or where every rating is the same.

    Example:
        >>> x = np.array([[1.0, 1.0], [2.0, 3.0], [np.nan, 5.0], [4.0, 4.0]])
        >>> r = icc(x)
        >>> round(float(r.icc3), 4), int(r.n_targets)
        (0.9286, 3)
    """
    x = np.asarray(x, np.float64)
    ok = ~np.isnan(x)
    rater = ok.any(axis=-2)
    target = (ok | ~rater[..., None, :]).all(axis=-1) & rater.any(axis=-1)[..., None]
    used = target[..., :, None] & rater[..., None, :]
    n, k = target.sum(axis=-1), rater.sum(axis=-1)
    y = np.where(used, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = y.sum(axis=(-2, -1)) / (n * k)
        row = np.where(target, y.sum(axis=-1) / k[..., None], 0.0)
        col = np.where(rater, y.sum(axis=-2) / n[..., None], 0.0)
        g = grand[..., None]
        ss_rows = k * np.where(target, (row - g) ** 2, 0.0).sum(axis=-1)
        ss_cols = n * np.where(rater, (col - g) ** 2, 0.0).sum(axis=-1)
        resid = np.where(used, y - row[..., :, None] - col[..., None, :] + g[..., None], 0.0)
        ms_rows = ss_rows / (n - 1)
        ms_cols = ss_cols / (k - 1)
        ms_err = (resid**2).sum(axis=(-2, -1)) / ((n - 1) * (k - 1))
        icc3 = (ms_rows - ms_err) / (ms_rows + (k - 1) * ms_err)
        icc2 = (ms_rows - ms_err) / (ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n)
    valid = (n >= 2) & (k >= 2)
    return Icc(np.where(valid, icc2, np.nan), np.where(valid, icc3, np.nan), n, k)


def level_counts(
    x: Float[np.ndarray, "*batch target rater"], levels: Float[np.ndarray, " level"]
) -> Float[np.ndarray, "*batch target level"]:
    """How many raters gave each target each level (a value off the levels counts as
    missing).

    Example:
        >>> level_counts(np.array([[1.0, 2.0, 2.0]]), np.array([1.0, 2.0, 3.0])).tolist()
        [[1.0, 2.0, 0.0]]
    """
    x = np.asarray(x)
    counts = [(x == lv).sum(axis=-1) for lv in np.asarray(levels, x.dtype)]
    return np.stack(counts, axis=-1).astype(np.float64)


def coincidences(counts: Float[np.ndarray, "*batch target level"]):
    """The coincidence matrix o[..., c, k] of the level counts of each target.

    Example:
        >>> coincidences(np.array([[1.0, 1.0], [2.0, 0.0]])).tolist()
        [[2.0, 1.0], [1.0, 0.0]]
    """
    m = counts.sum(axis=-1)
    weighted = counts / (np.maximum(m, 2.0) - 1.0)[..., None]
    o = np.swapaxes(weighted, -1, -2) @ counts
    diag = np.arange(counts.shape[-1])
    o[..., diag, diag] -= weighted.sum(axis=-2)
    return o


def alpha_ordinal(
    x: Float[np.ndarray, "*batch target rater"], levels: Float[np.ndarray, " level"]
) -> Float[np.ndarray, "*batch"]:
    """Krippendorff's alpha, ordinal metric, of ``x[..., target, rater]`` over the rating
    ``levels`` (lowest first); NaN missing; NaN where no two ratings of a target pair up
    or only one level is used.

    Example:
        >>> x = np.array([[1.0, 1.0], [2.0, 3.0], [np.nan, 5.0], [4.0, 4.0]])
        >>> round(float(alpha_ordinal(x, np.arange(1.0, 6.0))), 4)
        0.9495
    """
    o = coincidences(level_counts(x, levels))
    n_v = o.sum(axis=-2)
    n = n_v.sum(axis=-1)
    cum = np.cumsum(n_v, axis=-1)
    below = cum - n_v
    between = np.maximum(cum[..., :, None], cum[..., None, :]) - np.minimum(
        below[..., :, None], below[..., None, :]
    )
    d = (between - (n_v[..., :, None] + n_v[..., None, :]) / 2) ** 2
    e = n_v[..., :, None] * n_v[..., None, :]
    diag = np.arange(n_v.shape[-1])
    e[..., diag, diag] -= n_v
    observed = (o * d).sum(axis=(-2, -1))
    expected = (e * d).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1) * observed / expected
    return np.where((expected > 0) & (n > 1), alpha, np.nan)


def group_means(
    values: Float[np.ndarray, "*batch n"], groups: Int[np.ndarray, " n"], n_groups: int
) -> Float[np.ndarray, "*batch group"]:
    """Mean of the last axis of ``values`` within each of ``n_groups`` groups, NaN ignored,
    NaN where a group has no value (one :func:`numpy.bincount` for every batch row).

    Example:
        >>> group_means(np.array([[1.0, 3.0, np.nan]]), np.array([0, 0, 1]), 2).tolist()
        [[2.0, nan]]
    """
    values = np.asarray(values, np.float64)
    rows = values.reshape(-1, values.shape[-1])
    ids = (np.arange(len(rows))[:, None] * n_groups + np.asarray(groups)[None, :]).ravel()
    ok = ~np.isnan(rows.ravel())
    size = len(rows) * n_groups
    total = np.bincount(ids[ok], rows.ravel()[ok], minlength=size)
    count = np.bincount(ids[ok], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean.reshape(*values.shape[:-1], n_groups)
