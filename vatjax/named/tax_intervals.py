"""The debiased tax and its intervals for a block of cells, from the resampled coupling
(the method and why: :mod:`vatjax.core.tax_intervals`), and the note that says why a
cell's interval is missing.

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=40)
    >>> ds = vatjax.bootstrap(vatjax.shifts(vatjax.load_judgments(s.table)),
    ...                       n_resamples=200, quiet=True)
    >>> bool((ds["nvat_debiased"].sel(stat="lower") <= ds["nvat_debiased"].sel(stat="estimate")).all())
    True
"""

from __future__ import annotations

import numpy as np

from vatjax.core.debias import pair_counts, r_squared_noise
from vatjax.core.intervals import intervals
from vatjax.core.metrics import FLOAT_METRICS, gini, stat_size, unpack
from vatjax.core.tax_intervals import norm_intervals, squared_norm_weights

__all__ = ["TAX_INTERVAL", "debiased_block", "interval_notes"]

TAX_INTERVAL = (
    "unified (Feldman-Cousins) interval of the debiased square, its se from the resampled "
    "coupling's covariance; the norm's interval is its square root (vatjax.core.tax_intervals)"
)


def _extra_bias(scheme: str, n: np.ndarray, fraction: float) -> np.ndarray:
    """The noise a resample adds to each squared correlation on top of the sample's."""
    if scheme != "subsample":
        return 1.0 / np.maximum(n - 1.0, 1.0)
    m = np.floor(fraction * n)
    return 1.0 / np.maximum(m - 1.0, 1.0) - 1.0 / np.maximum(n - 1.0, 1.0)


def debiased_block(est, reps, table, x, scale, *, level, include_diagonal, scheme, fraction,
                   max_nan_fraction):  # fmt: skip
    """The debiased tax of a block of cells: (stat, cell, 2 + V) for nVAT, VAT(u) and
    centralization (estimate, lower, upper, se, replicate_sd), and the unified bounds
    written into ``table``'s nvat and vat lower/upper (stat, cell, S) in place.

    ``est`` (cell, S) and ``reps`` (replicate, cell, S) are stat vectors, ``x`` (cell,
    scenario, value) the shifts, ``scale`` (cell,) the subsampling factor.
    """
    n_values = x.shape[-1]
    pairs, weights = squared_norm_weights(n_values)
    iu = (pairs[:, 0], pairs[:, 1])
    coupling = unpack(np.asarray(est, np.float64), n_values)["coupling"][..., iu[0], iu[1]]
    rep_coupling = unpack(reps, n_values)["coupling"][..., iu[0], iu[1]]
    n_pair = np.asarray(pair_counts(x), np.float64)[..., iu[0], iu[1]]
    bias = np.asarray(r_squared_noise(coupling, n_pair), np.float64)
    boundary = 1.0 if include_diagonal else 0.0
    tax = norm_intervals(coupling, bias, rep_coupling, weights, level=level, scale=scale,
                         boundary=boundary, max_nan_fraction=max_nan_fraction)  # fmt: skip
    at = unpack(np.arange(stat_size(FLOAT_METRICS, n_values)), n_values)
    cols = np.concatenate([[at["nvat"]], at["vat"]])
    table[1][:, cols] = tax["lower"]
    table[2][:, cols] = tax["upper"]
    out = np.full((5, len(coupling), 2 + n_values), np.nan)
    out[:3, :, : 1 + n_values] = np.stack([tax[k] for k in ("estimate", "lower", "upper")])
    out[3:, :, : 1 + n_values] = table[3:][:, :, cols]
    out[:, :, -1] = _centralization(tax["estimate"][:, 1:], rep_coupling, bias, weights[1:],
                                    boundary, scale, level, _extra_bias(scheme, n_pair, fraction))  # fmt: skip
    return out, tax["replicates"]


def _centralization(vat, rep_coupling, bias, row_weights, boundary, scale, level, extra):
    """Gini of the debiased VAT(u) with a percentile interval of the replicates' Gini,
    each replicate debiased for the sample's noise and its own (``extra``)."""
    sq = np.einsum("up,bcp->bcu", row_weights, rep_coupling**2 - bias - extra)
    rep_vat = np.sqrt(np.maximum(sq, boundary))
    rep = np.asarray(gini(rep_vat.astype(np.float32)), np.float64)
    est = np.asarray(gini(vat.astype(np.float32)), np.float64)
    stats, _ = intervals(est, rep, None, interval="percentile", level=level,
                         scale=np.asarray(scale, np.float64) * np.ones(len(est)),
                         max_nan_fraction=0.05)  # fmt: skip
    return stats


def interval_notes(n_samples, estimate, complete, n_resamples: int, names,
                   max_nan_fraction: float) -> np.ndarray:  # fmt: skip
    """Why a cell's tax interval is missing ('' where it exists), per cell.

    ``estimate`` (cell, V) the coupling's diagonal (NaN for a constant value), ``complete``
    (cell,) the resamples with every coupling entry defined, ``names`` the values.
    """
    notes = []
    for n, diag, k in zip(n_samples, estimate, complete, strict=True):
        if n == 0:
            notes.append("no samples in this cell")
        elif n < 4:
            notes.append(f"only {int(n)} samples: a rank correlation needs at least 4")
        elif np.isnan(diag).any():
            flat = ", ".join(str(v) for v, d in zip(names, diag, strict=True) if np.isnan(d))
            notes.append(f"no variation in the shifts of {flat}: its coupling is undefined")
        elif k < max(20, (1 - max_nan_fraction) * n_resamples):
            notes.append(
                f"only {int(k)} of {n_resamples} resamples have every coupling defined (a "
                f"value is constant in the others), more than max_nan_fraction="
                f"{max_nan_fraction:g} lost: collect more samples or raise max_nan_fraction"
            )
        else:
            notes.append("")
    return np.array(notes, dtype=object)
