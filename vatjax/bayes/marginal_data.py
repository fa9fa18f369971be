"""The data of the ``mvn-marginal`` model: shift vectors, their rating noise, patterns.

From the Judgments: per sample s of a cell (model, intervention) the shift vector
``d_s = E_post - E_pre`` (the value scores of :func:`vatjax.scores`, phi scale, as
:func:`vatjax.shifts`), and the variance of its rating noise,
``D_s[v] = sigma2[v] (1 / n_pre[s, v] + 1 / n_post[s, v])``, n the ratings behind each
score. ``sigma2`` (one rating's noise variance) comes from the spread of the item-level
paired shifts (post minus pre signed phi of one item) within a sample and value, after
removing each item's (micro-value x polarity) mean shift over samples: a pooled
within-sample variance with ``sum(n - 1)`` degrees of freedom (tens of thousands at the
paper's size, so it is known to within a percent and plugged in). The samples are then
grouped by noise pattern (:func:`vatjax.bayes.marginal.pattern_stats`); the arrays kept
are O(patterns), not O(samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.bayes.data import CellLabels, select_cells
from vatjax.bayes.marginal import PatternStats, data_scales, pattern_stats
from vatjax.data.scoring import phi
from vatjax.errors import VatInputError
from vatjax.taxonomy import taxonomy_of

__all__ = ["MarginalData", "prepare_marginal"]

MIN_SAMPLES = 3


@dataclass(frozen=True)
class MarginalData(CellLabels):
    """The labels and sufficient statistics of one ``mvn-marginal`` fit."""

    stats: PatternStats  # (model, intervention, pattern, ...)
    rating_var: np.ndarray  # (model, intervention, value) sigma2, one rating's noise variance
    n_samples: np.ndarray  # (model, intervention) samples with a shift

    def arrays(self) -> dict:
        """The model's arrays (jnp), the PatternStats fields by name."""
        import jax.numpy as jnp

        arrays = self.stats._asdict() | data_scales(self.stats)
        return {k: jnp.asarray(v) for k, v in arrays.items()}

    def observed(self) -> xr.Dataset:
        """The data the model saw: the statistics per pattern, sigma2, the sample counts."""
        cell, vdim = ("model", "intervention"), ("value",)
        s = self.stats
        return xr.Dataset(
            {
                "pattern_count": ((*cell, "pattern"), s.count),
                "pattern_mean": ((*cell, "pattern", *vdim), s.mean),
                "pattern_scatter": ((*cell, "pattern", *vdim, "value2"), s.scatter),
                "pattern_noise": ((*cell, "pattern", *vdim), s.noise),
                "pattern_observed": ((*cell, "pattern", *vdim), s.observed),
                "rating_var": ((*cell, *vdim), self.rating_var, {"units": "phi^2"}),
                "n_samples": (cell, self.n_samples),
            },
            coords={"model": self.models, "intervention": self.interventions,
                    "value": self.values, "value2": self.values},
        )  # fmt: skip


def _sums(x: np.ndarray, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of x (row, item): count, sum and sum of squares of the non-NaN entries over
    the groups idx (item,) in 0..n-1."""
    rows = x.shape[0]
    flat = (np.arange(rows)[:, None] * n + idx[None, :]).ravel()
    seen = ~np.isnan(x)
    xz = np.where(seen, x, 0.0).ravel()
    size = rows * n
    out = [np.bincount(flat, w, minlength=size).reshape(rows, n) for w in (seen.ravel(), xz)]
    return out[0], out[1], np.bincount(flat, xz * xz, minlength=size).reshape(rows, n)


def _rating_var(paired: np.ndarray, cell: np.ndarray, slot: np.ndarray, shape) -> np.ndarray:
    """sigma2 per (intervention, value): half the pooled within-sample variance of the
    item-level paired shifts, each item's mean over samples removed."""
    n_int, n_scen, n_values = shape
    n_slots = int(slot.max()) + 1
    k, tot, _ = _sums(paired, slot, n_slots)
    slot_mean = np.where(k > 0, tot / np.maximum(k, 1), 0.0)
    resid = paired - np.take_along_axis(slot_mean, np.broadcast_to(slot, paired.shape), 1)
    k, tot, sq = _sums(resid, cell, n_scen * n_values)
    ss = np.where(k > 0, sq - tot**2 / np.maximum(k, 1), 0.0).reshape(n_int, n_scen, n_values)
    df = np.maximum(k - 1, 0).reshape(n_int, n_scen, n_values).sum(1)
    value_of_slot = np.zeros(n_slots, np.int64)
    value_of_slot[slot] = cell % n_values
    df = df - np.maximum(np.bincount(value_of_slot, minlength=n_values) - 1, 0)
    pooled = ss.sum((1, 2)) / np.maximum(df.sum(1), 1)  # the cell's, for values with no df
    var = np.where(df > 0, ss.sum(1) / np.maximum(df, 1), pooled[:, None])
    return np.maximum(var, 1e-6) / 2


def _model_shifts(x: np.ndarray, cell: np.ndarray, slot: np.ndarray, shape) -> tuple:
    """Shifts d, noise variances D (intervention, scenario, value) and sigma2 of one model
    from its signed phi x (condition, item), the baseline first."""
    _, n_scen, n_values = shape
    count, total, _ = _sums(x, cell, n_scen * n_values)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (total / count).reshape(-1, n_scen, n_values)
        count = count.reshape(-1, n_scen, n_values)
        d = score[1:] - score[:1]
        paired = np.where(np.isnan(x[:1]), np.nan, x[1:] - x[:1])
        sigma2 = _rating_var(paired, cell, slot, shape)
        noise = sigma2[:, None, :] * (1 / count[1:] + 1 / count[:1])
    return d, np.where(np.isnan(d), np.nan, noise), sigma2


def _labels(sub: xr.Dataset, models, interventions) -> dict:
    tax = taxonomy_of(sub)
    present = set(sub["value"].values.astype(str))
    values = [v for v in tax.values if v in present]
    targets = [str(t) for t in sub["target"].values[1:]]
    missing = sorted({t for t in targets if t not in values})
    if missing:
        raise VatInputError(f"target value(s) {missing} have no ratings in the data to fit")
    return dict(
        models=models, interventions=interventions, values=values,
        strategy=[str(s) for s in sub["strategy"].values[1:]], target=targets,
        direction=sub["direction"].values[1:].astype(np.float32),
        target_index=np.array([values.index(t) for t in targets], np.int32),
    )  # fmt: skip


Names = Sequence[str] | None


def prepare_marginal(judgments: xr.Dataset, *, models: Names = None,
                     interventions: Names = None, scenarios: Names = None) -> MarginalData:  # fmt: skip
    """Shifts, rating noise and pattern statistics of every selected cell (numpy, one
    model at a time, no per-row Python).

    Example:
        >>> import vatjax
        >>> j = vatjax.load_judgments(vatjax.simulate_study(seed=0, n_scenarios=4).table)
        >>> data = prepare_marginal(j, models=["model-1"])
        >>> data.stats.mean.shape[:2], int(data.n_samples[0, 0])
        ((1, 12), 4)
    """
    sub, _, model_names, int_names = select_cells(judgments, models, interventions, scenarios)
    labels = _labels(sub, model_names, int_names)
    values = labels["values"]
    scen = pd.unique(sub["scenario"].values.astype(str))
    if len(scen) < MIN_SAMPLES:
        raise VatInputError(f"only {len(scen)} sample(s): the model needs at least {MIN_SAMPLES}")
    s_idx = pd.Index(scen).get_indexer(sub["scenario"].values.astype(str))
    cell = s_idx * len(values) + pd.Index(values).get_indexer(sub["value"].values.astype(str))
    keys = pd.MultiIndex.from_arrays([sub["micro_value"].values, sub["polarity"].values])
    slot = pd.factorize(keys)[0]
    lo, hi = judgments.attrs["scale_min"], judgments.attrs["scale_max"]
    sign = sub["polarity"].values.astype(np.float64)
    shape = (len(int_names), len(scen), len(values))
    parts = [
        _model_shifts(sign * phi(sub["rating"].values[m].astype(np.float64), lo, hi), cell, slot,
                      shape)
        for m in range(len(model_names))
    ]  # fmt: skip
    d, noise, sigma2 = (np.stack(p) for p in zip(*parts, strict=True))
    return MarginalData(
        **labels,
        stats=pattern_stats(d, noise),
        rating_var=sigma2,
        n_samples=(~np.isnan(d)).any(-1).sum(-1),
    )


def from_shifts(
    d: np.ndarray, noise: np.ndarray, values: Sequence[str] | None = None
) -> MarginalData:
    """MarginalData of shift vectors ``d`` (model, intervention, sample, value; NaN where
    missing) with known rating-noise variances ``noise``; placeholder labels, the target
    of intervention i being value i mod V (simulations, SBC, benchmarks).

    Example:
        >>> d = np.random.default_rng(0).normal(size=(1, 2, 20, 3))
        >>> from_shifts(d, np.full(d.shape, 0.1)).interventions
        ['intervention-1', 'intervention-2']
    """
    n_models, n_int, _, n_values = d.shape
    values = list(values or [f"value-{v + 1}" for v in range(n_values)])
    target_index = np.arange(n_int) % n_values
    return MarginalData(
        models=[f"model-{m + 1}" for m in range(n_models)],
        interventions=[f"intervention-{i + 1}" for i in range(n_int)],
        values=values, strategy=["simulated"] * n_int,
        target=[values[t] for t in target_index], direction=np.ones(n_int, np.float32),
        target_index=target_index.astype(np.int32), stats=pattern_stats(d, noise),
        rating_var=np.full((n_models, n_int, n_values), np.nan),
        n_samples=(~np.isnan(d)).any(-1).sum(-1),
    )  # fmt: skip
