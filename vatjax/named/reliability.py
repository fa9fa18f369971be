"""Judge reliability (test-retest) with named dims: the Judgments Dataset in, a Dataset out.

Repeated judgments are the ``repeat`` item coord of the Judgments Dataset (the table's
``repeat`` column) or a second judgment of the baseline as its own condition (``pre-2``
beside ``pre``). Each is a rating occasion; the kernels are in
:mod:`vatjax.core.reliability`.

Example:
    >>> sorted(RELIABILITY_SCHEMA)[:3]
    ['alpha_ordinal', 'icc2', 'icc3']
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.core.reliability import alpha_ordinal, group_means, icc
from vatjax.errors import VatInputError, option, plain
from vatjax.named.vat import vat
from vatjax.taxonomy import taxonomy_of

__all__ = ["RELIABILITY_SCHEMA", "reliability", "reliability_table"]

RELIABILITY_SCHEMA = {
    "icc2": ("ICC(2,1): two-way random effects, absolute agreement, single rating "
             "(pingouin ICC2, ICC(A,1))", "1"),
    "icc3": ("ICC(3,1): two-way mixed effects, consistency, single rating "
             "(pingouin ICC3, ICC(C,1))", "1"),
    "alpha_ordinal": ("Krippendorff's alpha, ordinal metric", "1"),
    "n_items": ("items (scenario x micro-value x polarity) rated on every repeat", "count"),
    "n_repeats": ("repeated judgments (rating occasions) with at least one rating", "count"),
    "nvat_judge_noise": ("nVAT of the baseline judged twice (pre vs pre): the judge-noise "
                         "floor", "1"),
    "nvat_judge_noise_debiased": ("nVAT of the baseline judged twice, less sampling noise "
                                  "(observed-scale)", "1"),
}  # fmt: skip
"""Every output variable: long name and units."""

_NO_REPEATS = (
    "no repeated judgments: add a `repeat` column (0, 1, ...) to the judgments table, or "
    "judge the baseline twice as condition {retest!r}"
)


class _Layout(NamedTuple):
    """Where each item of the Judgments Dataset goes: its target (scenario x micro-value x
    polarity) and rating occasion, per kept condition."""

    conditions: list[str]  # the conditions measured (the retest folded into the baseline)
    cond_index: np.ndarray  # their positions in the Dataset's condition dim
    retest_index: int | None
    base_pos: int  # the baseline's position in ``conditions``
    target: np.ndarray  # (item,) target code
    occasion: np.ndarray  # (item,) repeat code
    n_targets: int
    n_repeats: int  # distinct repeat values


def _check(judgments, retest: str | None, level: str) -> tuple[str, str]:
    """Validate the arguments; return the baseline and retest condition names."""
    need = ("scenario", "micro_value", "value", "polarity")
    if (
        not isinstance(judgments, xr.Dataset)
        or "rating" not in judgments
        or judgments["rating"].dims != ("model", "condition", "item")
        or any(c not in judgments.coords for c in need)
        or "baseline" not in judgments.attrs
    ):
        raise VatInputError(
            "expected the Judgments Dataset returned by vatjax.load_judgments (rating[model, "
            f"condition, item]), got {type(judgments).__name__}"
        )
    if level not in ("value", "micro_value"):
        raise VatInputError(
            f"{option('level', bare=True)} must be 'value' or 'micro_value', got {plain(level)}"
        )
    base = str(judgments.attrs["baseline"])
    conds = [str(c) for c in judgments["condition"].values]
    if retest is not None and (retest not in conds or retest == base):
        raise VatInputError(
            f"{option('retest', retest)} is not a second baseline of these judgments; their "
            f"conditions are {conds} (baseline {base!r}): name the condition that judges the "
            f"baseline again with {option('retest')}, or leave it out"
        )
    return base, retest if retest is not None else f"{base}-2"


def _layout(judgments: xr.Dataset, base: str, retest: str) -> _Layout:
    """Number the targets and occasions; raise when nothing is judged twice."""
    conds = [str(c) for c in judgments["condition"].values]
    has_retest = retest in conds
    repeat = judgments["repeat"].values if "repeat" in judgments.coords else None
    values, occasion = np.unique(
        np.zeros(judgments.sizes["item"], np.int64) if repeat is None else repeat,
        return_inverse=True,
    )
    if len(values) < 2 and not has_retest:
        raise VatInputError(_NO_REPEATS.format(retest=retest))
    codes = [pd.factorize(judgments[c].values)[0].astype(np.int64)
             for c in ("scenario", "micro_value", "polarity")]  # fmt: skip
    key = (codes[0] * (codes[1].max(initial=0) + 1) + codes[1]) * 2 + codes[2]
    target, uniq = pd.factorize(key)
    kept = [c for c in conds if not (has_retest and c == retest)]
    return _Layout(
        conditions=kept,
        cond_index=np.array([conds.index(c) for c in kept], np.int64),
        retest_index=conds.index(retest) if has_retest else None,
        base_pos=kept.index(base),
        target=target.astype(np.int64),
        occasion=occasion.astype(np.int64),
        n_targets=len(uniq),
        n_repeats=len(values),
    )


def _occasions(rating: np.ndarray, lay: _Layout) -> np.ndarray:
    """x[condition, target, occasion] of one model (NaN where not rated); the retest's
    repeats follow the baseline's."""
    n_occ = lay.n_repeats * (2 if lay.retest_index is not None else 1)
    x = np.full((len(lay.conditions), lay.n_targets, n_occ), np.nan)
    x[:, lay.target, lay.occasion] = rating[lay.cond_index]
    if lay.retest_index is not None:
        x[lay.base_pos, lay.target, lay.n_repeats + lay.occasion] = rating[lay.retest_index]
    return x


def reliability(
    judgments: xr.Dataset,
    *,
    retest: str | None = None,
    level: str = "value",
    include_diagonal: bool = False,
) -> xr.Dataset:
    """Test-retest reliability of the judge, per model and condition, and the judge-noise
    floor of the tax (the baseline judged twice: a "pre vs pre" null intervention).

    Targets are the rated items (scenario x micro-value x polarity); raters are the
    repeated judgments: the ``repeat`` values of a condition, and for the baseline also
    those of the ``retest`` condition (default ``"<baseline>-2"``, e.g. ``pre-2``), which
    is folded into the baseline and not reported on its own. ``icc2`` is ICC(2,1)
    (two-way random, absolute agreement: a judge that rates higher the second time
    lowers it) and ``icc3`` is ICC(3,1) (consistency), named as pingouin names them
    (pingouin >= 0.7 calls them ICC(A,1) and ICC(C,1)); items missing a rating are left
    out of the ICC (listwise). ``alpha_ordinal`` is Krippendorff's alpha with the ordinal
    metric over the scale's levels; it pairs whatever ratings an item has.

    The judge-noise floor is the tax of the shifts between the first two judgments of the
    baseline (repeat 1 minus repeat 0, or the retest minus the baseline): nVAT and its
    debiased twin (as :func:`vatjax.vat` computes them), which no intervention can be
    told apart from (NaN where fewer than 3 scenarios have both judgments).

    Args:
        judgments: from :func:`vatjax.load_judgments`.
        retest: the condition that judges the baseline again (default ``<baseline>-2``,
            used when present).
        level: the level of the judge-noise shifts: "value" or "micro_value".
        include_diagonal: keep R[u, u] = 1 in the judge-noise nVAT (as in :func:`vatjax.vat`).

    Returns:
        Dataset with ``icc2, icc3, alpha_ordinal, n_items, n_repeats`` (model, condition;
        the conditions with repeated judgments) and ``nvat_judge_noise,
        nvat_judge_noise_debiased`` (model).

    Example:
        >>> import pandas as pd, vatjax
        >>> t = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20).table
        >>> pre = t[t["condition"] == "pre"]  # judged again: half the ratings change
        >>> again = pre.assign(rating=pre["rating"].where(pre.index % 2 > 0, 3), repeat=1)
        >>> rel = vatjax.reliability(vatjax.load_judgments(pd.concat([t.assign(repeat=0), again])))
        >>> rel["icc2"].dims, rel["condition"].values.tolist(), rel["n_repeats"].values.tolist()
        (('model', 'condition'), ['pre'], [[2]])
        >>> rel.icc2.item() < 1, rel.nvat_judge_noise.item() > rel.nvat_judge_noise_debiased.item()
        (True, True)
    """
    base, retest = _check(judgments, retest, level)
    lay = _layout(judgments, base, retest)
    rating = judgments["rating"].values
    lo, hi = int(judgments.attrs["scale_min"]), int(judgments.attrs["scale_max"])
    levels = np.arange(lo, hi + 1, dtype=np.float64)
    fields: dict[str, list] = {k: [] for k in ("icc2", "icc3", "n_items", "n_repeats", "alpha")}
    pre = []
    for m in range(rating.shape[0]):  # one model at a time bounds the memory
        x = _occasions(rating[m], lay)
        r = icc(x)
        for name, val in zip(("icc2", "icc3", "n_items", "n_repeats"), r, strict=True):
            fields[name].append(val)
        fields["alpha"].append(alpha_ordinal(x, levels))
        pre.append(x[lay.base_pos])
    out = {k: np.stack(v) for k, v in fields.items()}
    keep = out["n_repeats"].max(axis=0) >= 2
    _check_enough(out["n_items"][:, keep])
    noise = _judge_noise(judgments, np.stack(pre), lay, level, include_diagonal)
    return _dataset(judgments, out, keep, noise, lay, retest, level, include_diagonal)


def _check_enough(n_items: np.ndarray) -> None:
    """Raise when no model x condition has two items judged on every occasion."""
    most = int(n_items.max(initial=0))
    if most >= 2:
        return
    what = "no item was" if most == 0 else "only one item was"
    raise VatInputError(
        f"{what} judged on every repeat of any model x condition; ICC and alpha need at least "
        "2 items judged again: repeat the same (scenario, micro_value, polarity) items"
    )


def _judge_noise(judgments, pre: np.ndarray, lay: _Layout, level, include_diagonal):
    """nVAT and debiased nVAT (model,) of the shifts between the baseline's first two
    occasions that have ratings; and a note of which two."""
    present = np.flatnonzero(~np.isnan(pre).all(axis=(0, 1)))
    n_models = pre.shape[0]
    if len(present) < 2:
        return np.full(n_models, np.nan), np.full(n_models, np.nan), "no second judgment"
    tax = taxonomy_of(judgments)
    order = list(tax.values) if level == "value" else list(tax.micro_values)
    first = np.unique(lay.target, return_index=True)[1]
    labels = judgments[level].values[first]
    groups = [g for g in order if g in set(labels)]
    scenario_names = judgments["scenario"].values[first]
    scenarios = pd.unique(scenario_names)
    cell = (pd.Index(scenarios).get_indexer(scenario_names) * len(groups)
            + pd.Index(groups).get_indexer(labels))  # fmt: skip
    mid = (judgments.attrs["scale_min"] + judgments.attrs["scale_max"]) / 2
    phi = (pre[..., present[:2]] - mid) / (mid - judgments.attrs["scale_min"])
    signed = judgments["polarity"].values[first][:, None] * phi
    score = group_means(np.moveaxis(signed, -1, 1), cell, len(scenarios) * len(groups))
    delta = np.round(score[:, 1] - score[:, 0], 10)
    delta = delta.reshape(n_models, 1, len(scenarios), len(groups))
    both = int((~np.isnan(delta)).any(axis=(0, 1, 3)).sum())
    note = _occasion_names(judgments, lay, present[:2])
    if both < 3:
        return np.full(n_models, np.nan), np.full(n_models, np.nan), note
    shifts = xr.DataArray(
        delta,
        dims=("model", "intervention", "scenario", level),
        coords={"model": judgments["model"].values, "intervention": [note],
                "scenario": scenarios.astype(str), level: np.array(groups, dtype=str),
                "target": ("intervention", [tax.value_of(groups[0])]),
                "direction": ("intervention", np.array([1], np.int8))},
        attrs={"taxonomy": judgments.attrs.get("taxonomy", ""), "scale_min": judgments.attrs[
            "scale_min"], "scale_max": judgments.attrs["scale_max"]},
    )  # fmt: skip
    res = vat(shifts, include_diagonal=include_diagonal)
    return res["nvat"].values[:, 0], res["nvat_debiased"].values[:, 0], note


def _occasion_names(judgments, lay: _Layout, which: np.ndarray) -> str:
    """'pre-2 minus pre', 'pre repeat 1 minus pre repeat 0', ... for two occasions."""
    base = str(judgments.attrs["baseline"])
    conds = judgments["condition"].values
    values = np.unique(judgments["repeat"].values) if "repeat" in judgments.coords else [0]
    names = []
    for occ in which:
        cond = base if occ < lay.n_repeats else str(conds[lay.retest_index])
        rep = values[occ % lay.n_repeats]
        names.append(cond if lay.n_repeats == 1 else f"{cond} repeat {rep}")
    return f"{names[1]} minus {names[0]}"


def _dataset(judgments, out, keep, noise, lay: _Layout, retest, level, include_diagonal):
    """The result Dataset: the kept conditions, one variable per schema entry."""
    cond_coords = {
        k: ("condition", judgments[k].values[lay.cond_index][keep])
        for k in ("strategy", "target", "direction")
        if k in judgments.coords
    }
    data = {
        "icc2": out["icc2"][:, keep],
        "icc3": out["icc3"][:, keep],
        "alpha_ordinal": out["alpha"][:, keep],
        "n_items": out["n_items"][:, keep].astype(np.int64),
        "n_repeats": out["n_repeats"][:, keep].astype(np.int64),
    }
    two = ("model", "condition")
    ds = xr.Dataset(
        {
            **{k: (two, v) for k, v in data.items()},
            "nvat_judge_noise": ("model", noise[0]),
            "nvat_judge_noise_debiased": ("model", noise[1]),
        },
        coords={
            "model": judgments["model"].values,
            "condition": np.array(lay.conditions, dtype=str)[keep],
            **cond_coords,
        },
    )
    for name, (long_name, units) in RELIABILITY_SCHEMA.items():
        ds[name].attrs = {"long_name": long_name, "units": units}
    ds.attrs = {
        "baseline": str(judgments.attrs["baseline"]),
        "retest": retest if lay.retest_index is not None else "",
        "judge_noise_shifts": noise[2],
        "level": level,
        "include_diagonal": int(include_diagonal),
        "icc_convention": "Shrout-Fleiss two-way ANOVA; targets = items, raters = repeats; "
        "items missing a repeat left out (listwise)",
        "alpha_convention": "Krippendorff, ordinal metric over the scale's levels; "
        "missing ratings pair less",
        **{k: judgments.attrs[k] for k in ("scale_min", "scale_max", "taxonomy")
           if k in judgments.attrs},
    }  # fmt: skip
    return ds


def reliability_table(result: xr.Dataset) -> pd.DataFrame:
    """One row per model x condition with repeats; the judge-noise nVAT on the baseline's
    row (NaN on the others).

    Example:
        >>> ds = xr.Dataset({"icc2": (("model", "condition"), [[0.5]]),
        ...     "nvat_judge_noise": ("model", [0.1])}, coords={"model": ["m"],
        ...     "condition": ["pre"]}, attrs={"baseline": "pre"})
        >>> reliability_table(ds).columns.tolist()
        ['model', 'condition', 'icc2', 'nvat_judge_noise']
    """
    two = [v for v in result.data_vars if result[v].dims == ("model", "condition")]
    table = result[two].reset_coords(drop=True).to_dataframe().reset_index()
    at_base = table["condition"] == result.attrs["baseline"]
    for name in (v for v in result.data_vars if result[v].dims == ("model",)):
        per_model = result[name].to_series()
        table[name] = np.where(at_base, table["model"].map(per_model), np.nan)
    return table
