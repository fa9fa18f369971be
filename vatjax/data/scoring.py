"""Scoring: phi of a rating, the mean per group, value scores E and shifts delta.

phi(r) = (r - mid) / (mid - low) (VAT_SPEC section 1); a value score is the mean of the
polarity-signed phi over a sample's judgments of the value. :func:`phi` and
:func:`group_mean` use array operators only, so the Bayesian models call them on JAX
arrays and the loader on NumPy arrays.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=5)
    >>> vatjax.shifts(vatjax.load_judgments(study.table)).dims
    ('model', 'intervention', 'scenario', 'value')
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.data.judgments import check_judgments
from vatjax.data.memory import memory_problem
from vatjax.errors import VatInputError, option, plain
from vatjax.taxonomy import taxonomy_of

__all__ = [
    "GroupIndex",
    "group_mean",
    "names_values_only",
    "phi",
    "phi_levels",
    "scores",
    "shifts",
]

TIE_DECIMALS = 10
"""Shifts are rounded to this many decimals so that equal shifts tie exactly."""
_SCORE_CELL_BYTES, _SCORE_ITEM_BYTES, _SCORE_OUT_BYTES = 32, 48, 24
"""Peak bytes of :func:`scores` per rating cell (float64 copies of the ratings and the
signed scores, masks), per item (its scenario and group indices) and per score (sums,
counts and means)."""


def phi(rating, scale_min: float, scale_max: float):
    """phi(r) = (r - mid) / (mid - low): the rating centred and scaled to -1..1.

    Example:
        >>> phi(np.array([1, 3, 5]), 1, 5).tolist()
        [-1.0, 0.0, 1.0]
    """
    mid = (scale_min + scale_max) / 2
    return (rating - mid) / (mid - scale_min)


def phi_levels(scale_min: int, scale_max: int) -> np.ndarray:
    """phi of every point of the scale, lowest first.

    Example:
        >>> phi_levels(1, 5).tolist()
        [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    return phi(np.arange(scale_min, scale_max + 1), scale_min, scale_max)


class GroupIndex:
    """Group ids of the last axis, used as a 0/1 matrix: ``x @ GroupIndex(ids, n)``.

    Sums the last axis of ``x`` into ``n`` groups with :func:`numpy.bincount`, row by row:
    the sparse, fast form of ``x @ one_hot(ids, n)`` (each group summed in index order).

    Example:
        >>> (np.array([[1.0, 2.0, 4.0]]) @ GroupIndex(np.array([0, 1, 0]), 2)).tolist()
        [[5.0, 2.0]]
    """

    __array_ufunc__ = None  # numpy defers ``x @ self`` to __rmatmul__

    def __init__(self, ids: np.ndarray, n_groups: int):
        self.ids, self.n_groups = np.asarray(ids), int(n_groups)

    def __rmatmul__(self, x) -> np.ndarray:
        x = np.asarray(x)
        rows = x.reshape(-1, x.shape[-1])
        sums = [np.bincount(self.ids, row, minlength=self.n_groups) for row in rows]
        out = np.stack(sums) if sums else np.zeros((0, self.n_groups))
        return out.reshape(*x.shape[:-1], self.n_groups)


def group_mean(values, mask, groups, *, xp=np):
    """Mean of ``values`` over the last axis within each group, counting only where ``mask``.

    Args:
        values: (..., n) numbers; where ``mask`` is False they are ignored (NaN allowed).
        mask: (..., n) booleans.
        groups: (n, g) 0/1 matrix (or :class:`GroupIndex`) that sums the n into g groups.
        xp: the array namespace (``numpy`` or ``jax.numpy``).

    Returns:
        (mean, count): mean (..., g), NaN where a group has no value (never zero), and
        the number of values behind each.

    Example:
        >>> mean, count = group_mean(np.array([1.0, 3.0, np.nan]), np.array([True, True,
        ...     False]), np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        >>> mean.tolist(), count.tolist()
        ([2.0, nan], [2.0, 0.0])
    """
    count = mask.astype(values.dtype) @ groups
    total = xp.where(mask, values, 0) @ groups
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = xp.where(count > 0, total / xp.where(count > 0, count, 1), xp.nan)
    return mean, count


def names_values_only(judgments: xr.Dataset) -> bool:
    """Whether the judgments name values only (a table with no 'micro_value' column): its
    items' micro-values are then the values themselves.

    Example:
        >>> import vatjax
        >>> names_values_only(vatjax.load_judgments(vatjax.simulate_study(seed=0,
        ...     n_models=1, n_scenarios=3).table))
        False
    """
    tax = taxonomy_of(judgments)
    return not set(pd.unique(judgments["micro_value"].to_numpy())) <= set(tax.micro_values)


def _check_memory(shape: tuple[int, ...], n_scenarios: int, n_groups: int, level: str) -> None:
    """Raise before scoring when its float64 arrays will not fit in memory."""
    n_m, n_c, n_i = shape
    n_out = n_m * n_c * n_scenarios * n_groups
    needed = (_SCORE_CELL_BYTES * n_m * n_c + _SCORE_ITEM_BYTES) * n_i + _SCORE_OUT_BYTES * n_out
    what = (
        f"scoring {n_m:,} models x {n_c:,} conditions x {n_i:,} items into {n_out:,} "
        f"scores ({n_scenarios:,} scenarios x {n_groups:,} {level}s)"
    )
    fix = (
        "score fewer models or conditions at a time (judgments.sel(model=[...])), or use "
        "a machine with more memory"
    )
    problem = memory_problem(what, needed, fix)
    if problem:
        raise VatInputError(problem)


def scores(judgments: xr.Dataset, level: str = "value") -> xr.DataArray:
    """Value scores E[model, condition, scenario, level] (VAT_SPEC section 1).

    phi(r) = (r - mid) / (mid - low); e = polarity * phi; E = mean of e over a sample's
    judgments whose micro-value belongs to the value (level="value") or is the
    micro-value (level="micro_value"). No judgment gives NaN, never zero.

    Example:
        >>> import vatjax
        >>> j = vatjax.load_judgments(vatjax.simulate_study(seed=0, n_models=1,
        ...     n_scenarios=4).table)
        >>> vatjax.scores(j).sel(condition="pre").dims
        ('model', 'scenario', 'value')
    """
    check_judgments(judgments)
    if level not in ("value", "micro_value"):
        raise VatInputError(
            f"{option('level', bare=True)} must be 'value' or 'micro_value', got {plain(level)}"
        )
    tax = taxonomy_of(judgments)
    if level == "micro_value" and names_values_only(judgments):
        raise VatInputError(
            f"{option('level', 'micro_value')} needs micro-values, but these judgments name "
            "values only (the table has a 'value' column and no 'micro_value' column): use "
            f"{option('level', 'value')}, or load a table with a 'micro_value' column"
        )
    lo, hi = judgments.attrs["scale_min"], judgments.attrs["scale_max"]
    order = list(tax.values) if level == "value" else list(tax.micro_values)
    labels = judgments[level].to_numpy()
    present = set(labels)
    groups = [g for g in order if g in present]
    scenarios = pd.unique(judgments["scenario"].to_numpy())
    _check_memory(judgments["rating"].shape, len(scenarios), len(groups), level)
    rating = judgments["rating"].to_numpy().astype(np.float64, copy=False)  # float32 stored
    signed = judgments["polarity"].to_numpy() * phi(rating, lo, hi)
    s_idx = pd.Index(scenarios).get_indexer(judgments["scenario"].to_numpy())
    g_idx = pd.Index(groups).get_indexer(labels)
    cells = GroupIndex(s_idx * len(groups) + g_idx, len(scenarios) * len(groups))
    mean, _ = group_mean(signed, ~np.isnan(signed), cells)
    mean = mean.reshape(*signed.shape[:-1], len(scenarios), len(groups))
    cond_coords = {k: judgments[k] for k in ("strategy", "target", "direction")}
    return xr.DataArray(
        mean,
        dims=("model", "condition", "scenario", level),
        coords={
            "model": judgments["model"].to_numpy(),
            "condition": judgments["condition"].to_numpy(),
            "scenario": scenarios.astype(str),
            level: np.array(groups, dtype=str),
            **cond_coords,
        },
        name="score",
        attrs={
            **{k: judgments.attrs[k] for k in ("scale_min", "scale_max", "midpoint", "baseline")},
            "taxonomy": judgments.attrs["taxonomy"],
            "units": "phi (centred rating, -1..1), polarity-signed",
            "long_name": "value score E",
        },
    )


def shifts(data: xr.Dataset | xr.DataArray, level: str = "value") -> xr.DataArray:
    """Shifts delta[model, intervention, scenario, level] = E_post - E_pre, paired.

    Shifts are rounded to 10 decimals: sums of Likert points are rationals with small
    denominators, and rounding removes the float noise that would break their ties.

    Args:
        data: Judgments from :func:`load_judgments`, or scores from :func:`scores`.
        level: "value" or "micro_value" (ignored when ``data`` are scores).

    Example:
        >>> import vatjax
        >>> j = vatjax.load_judgments(vatjax.simulate_study(seed=0, n_models=1,
        ...     n_scenarios=4).table)
        >>> vatjax.shifts(j).coords["target"].values[::3].tolist()
        ['Security', 'Power', 'Hedonism', 'Stimulation']
    """
    score = data if isinstance(data, xr.DataArray) else scores(data, level)
    if score.name != "score" or "condition" not in score.dims:
        raise VatInputError(
            "shifts() takes the Judgments Dataset or the scores DataArray from vatjax.scores"
        )
    base = score.attrs["baseline"]
    pre = score.sel(condition=base, drop=True)
    post = score.drop_sel(condition=base).rename(condition="intervention")
    # Round away float noise so that equal shifts tie exactly (ranks depend on ties).
    delta = (post - pre).round(TIE_DECIMALS)
    delta.name = "shift"
    delta.attrs = {
        **score.attrs,
        "units": "phi (centred rating), post minus pre",
        "long_name": "shift delta",
    }
    level_dim = score.dims[-1]
    return delta.transpose("model", "intervention", "scenario", level_dim)
