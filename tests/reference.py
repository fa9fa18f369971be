"""Independent reference implementations (scipy.stats and plain numpy loops) for the tests."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.stats


def spearman_pairwise(x: np.ndarray) -> np.ndarray:
    """Coupling matrix by scipy.stats.spearmanr, NaNs dropped pair by pair."""
    n_values = x.shape[1]
    r = np.full((n_values, n_values), np.nan)
    for u in range(n_values):
        for w in range(n_values):
            keep = ~np.isnan(x[:, u]) & ~np.isnan(x[:, w])
            if keep.sum() < 2:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant input -> NaN, as documented
                r[u, w] = scipy.stats.spearmanr(x[keep, u], x[keep, w]).statistic
    return r


def gini(x: np.ndarray) -> float:
    """Mean-absolute-difference Gini, by a double loop."""
    n = len(x)
    total = sum(abs(a - b) for a in x for b in x)
    return 0.0 if total == 0 else total / (2 * n * n * np.mean(x))


def vat_reference(
    x: np.ndarray,
    target: list[int],
    direction: int,
    *,
    include_diagonal: bool = False,
    eps: float = 1e-3,
) -> dict:
    """Every metric of one cell: x is (scenario, value) with NaNs; target lists columns."""
    r = spearman_pairwise(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices -> NaN
        per_sample = np.nanmean(x[:, target], axis=1)
        gain_raw = np.nanmean(per_sample)
        col_mean = np.nanmean(x, axis=0)
    gain = direction * gain_raw
    if abs(gain) >= eps:
        gnd = col_mean / abs(gain)
        gnd[target] = np.sign(gain)
    else:
        gnd = np.full(x.shape[1], np.nan)
    sq = r.copy()
    np.fill_diagonal(sq, 1.0 if include_diagonal else 0.0)
    vat = np.sqrt(np.sum(sq**2, axis=1))
    nvat = np.linalg.norm(sq) / np.sqrt(x.shape[1])
    return {
        "gain": gain,
        "gain_raw": gain_raw,
        "gain_below_eps": not abs(gain) >= eps,
        "gnd": gnd,
        "coupling": r,
        "vat": vat,
        "nvat": nvat,
        "centralization": gini(vat),
        "n_samples": np.sum(np.any(~np.isnan(x), axis=1)),
    }


def tied_shifts(rng: np.random.Generator, shape, nan_rate: float = 0.1) -> np.ndarray:
    """Shifts on a coarse grid (heavy ties) with NaNs, no value constant."""
    x = rng.integers(-4, 5, size=shape).astype(float) / 4
    x[rng.random(shape) < nan_rate] = np.nan
    return x
