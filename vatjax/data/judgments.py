"""Judgments: the long table of ratings -> a validated xarray.Dataset.

The long table has one row per rating with columns ``model, condition, scenario,
micro_value`` (or ``value``), ``polarity, rating``, an optional ``repeat``, and the
condition metadata ``strategy, target, direction`` (as columns or as a separate table).
Every check appends to one list of problems, so all of them are reported at once.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=5)
    >>> judgments = vatjax.load_judgments(study.table)
    >>> judgments["rating"].dims
    ('model', 'condition', 'item')
"""

from __future__ import annotations

import os
from importlib.metadata import version

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.data.signs import sign_of
from vatjax.data.table import cell_text, format_rows, read_table
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["CONDITION_COLUMNS", "KEY", "check_judgments", "load_judgments"]

KEY = ["model", "condition", "scenario", "micro_value", "polarity", "repeat"]
"""The columns that name one rating."""
CONDITION_COLUMNS = ["strategy", "target", "direction"]
"""The condition metadata."""


def _as_str(col: pd.Series) -> pd.Series:
    return col.map(cell_text)


def _parse_signs(col: pd.Series) -> pd.Series:
    """Labels like 'express' / +1 / '-1' -> +1/-1; unknown labels become <NA>."""
    return col.map(sign_of).astype("Int8")


def _conditions_from_table(conditions, problems: list[str]) -> pd.DataFrame:
    """The separate conditions table, one row per condition."""
    meta = read_table(conditions)
    if "condition" not in meta.columns:
        problems.append(
            "the conditions table has no 'condition' column; give columns "
            "condition, strategy, target, direction"
        )
        return pd.DataFrame(columns=["condition", *CONDITION_COLUMNS])
    meta = meta.assign(condition=_as_str(meta["condition"]))
    dup = meta["condition"].duplicated(keep=False)
    if dup.any():
        names = sorted(meta.loc[dup, "condition"].unique())
        problems.append(f"the conditions table lists {names} more than once; list each once")
    return meta


def _conditions_from_columns(df: pd.DataFrame, baseline: str, problems: list[str]):
    """The condition metadata columns of the long table, one row per condition."""
    present = [c for c in CONDITION_COLUMNS if c in df.columns]
    meta = df[["condition", *present]].copy()
    for col in present:
        meta[col] = meta[col].where(meta[col].notna(), None)
    nunique = meta.groupby("condition", sort=False)[present].nunique(dropna=False)
    for col in present:
        bad = nunique.index[(nunique[col] > 1) & (nunique.index != baseline)]
        for cond in bad:
            vals = sorted(map(str, meta.loc[meta["condition"] == cond, col].unique()))
            problems.append(
                f"column '{col}' has several values for condition {cond!r}: {vals}; "
                "a condition has one strategy, target and direction"
            )
    return meta.drop_duplicates("condition")


def _condition_table(df, conditions, baseline: str, problems: list[str]) -> pd.DataFrame:
    """One row per condition: strategy, target, direction (the baseline's are fixed)."""
    if conditions is not None:
        meta = _conditions_from_table(conditions, problems)
    else:
        meta = _conditions_from_columns(df, baseline, problems)
    for col in CONDITION_COLUMNS:
        if col not in meta.columns:
            meta[col] = None
    return meta[["condition", *CONDITION_COLUMNS]].reset_index(drop=True)


def _check_columns(df: pd.DataFrame, problems: list[str]) -> bool:
    """Raise on missing columns; report empty names. Whether micro-values are named."""
    has_micro = "micro_value" in df.columns
    need = ["model", "condition", "scenario", "micro_value" if has_micro else "value"]
    need += ["polarity", "rating"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        alt = "" if has_micro or "value" in df.columns else " (or 'value')"
        raise VatInputError(
            f"missing column(s) {missing}{alt}; the table has {list(df.columns)}. "
            "Rename your columns or pass a DataFrame with these names"
        )
    for col in ["model", "condition", "scenario"]:
        empty = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if empty.any():
            problems.append(f"column '{col}' is empty in {format_rows(empty)}; fill it in")
        df[col] = _as_str(df[col])
    return has_micro


def _check_names(df, has_micro: bool, taxonomy: Taxonomy, problems: list[str]) -> None:
    """Micro-values (or values) against the taxonomy; sets micro_value and value."""
    name_col = "micro_value" if has_micro else "value"
    names = _as_str(df[name_col])
    known = taxonomy.micro_values if has_micro else taxonomy.values
    canon = {n: taxonomy.canonical(n) for n in names.unique()}
    canon = {n: (c if c in known else None) for n, c in canon.items()}
    for name, c in canon.items():
        if c is None:
            kind = "micro-value" if has_micro else "value"
            problems.append(
                f"unknown {kind} {name!r} in column '{name_col}', {format_rows(names == name)}"
                f"{taxonomy.suggest(name)}; use a name of the {taxonomy.name} taxonomy"
            )
    df["micro_value"] = names.map(canon)
    df["value"] = df["micro_value"].map({c: taxonomy.value_of(c) for c in canon.values() if c})
    if has_micro and "value" in df.columns:
        given = _as_str(df["value"]).map(taxonomy.canonical)
        clash = df["micro_value"].notna() & (given != df["value"])
        if clash.any():
            problems.append(
                f"column 'value' disagrees with the value of 'micro_value' in "
                f"{format_rows(clash)} (e.g. {df.loc[clash, 'micro_value'].iloc[0]!r} "
                f"belongs to {df.loc[clash, 'value'].iloc[0]!r}); drop the 'value' column "
                "or fix it"
            )


def _check_ratings(df: pd.DataFrame, lo: int, hi: int, problems: list[str]) -> None:
    """Polarity, rating (numbers on the scale, whole) and repeat; parses them in place."""
    polarity = _parse_signs(df["polarity"])
    if polarity.isna().any():
        problems.append(
            f"column 'polarity' is not one of express/suppress/+1/-1 in "
            f"{format_rows(polarity.isna())} (e.g. {df.loc[polarity.isna(), 'polarity'].iloc[0]!r})"
        )
    df["polarity"] = polarity
    rating = pd.to_numeric(df["rating"], errors="coerce")
    text = df["rating"].astype(str).str.strip().str.casefold()
    not_number = rating.isna() & df["rating"].notna() & ~text.isin(["", "nan", "none", "null"])
    if not_number.any():
        problems.append(
            f"column 'rating' is not a number in {format_rows(not_number)} "
            f"(e.g. {df.loc[not_number, 'rating'].iloc[0]!r}); leave a missing rating empty"
        )
    off = rating.notna() & ((rating < lo) | (rating > hi))
    if off.any():
        problems.append(
            f"column 'rating' is off the {lo}..{hi} scale in {format_rows(off)} "
            f"(e.g. {rating[off].iloc[0]:g}); declare the scale with scale=(low, high)"
        )
    frac = rating.notna() & ~off & (rating != np.round(rating))
    if frac.any():
        problems.append(
            f"column 'rating' is not a whole number in {format_rows(frac)} "
            f"(e.g. {rating[frac].iloc[0]:g}); ratings are Likert points"
        )
    df["rating"] = rating.astype(float)
    if "repeat" in df.columns:
        rep = pd.to_numeric(df["repeat"], errors="coerce")
        bad = rep.isna() | (rep != np.round(rep))
        if bad.any():
            problems.append(f"column 'repeat' is not a whole number in {format_rows(bad)}")
        df["repeat"] = rep.fillna(0).astype(int)
    else:
        df["repeat"] = 0


def _intervention_meta(cond: str, row, taxonomy: Taxonomy, problems: list[str]):
    """(strategy, target, direction) of one intervention's conditions-table row."""
    t = row["target"]
    t_canon = None if pd.isna(t) or str(t).strip() == "" else taxonomy.canonical(str(t))
    if t_canon is None or t_canon not in taxonomy.values:
        shown = "no target" if pd.isna(t) or str(t).strip() == "" else f"target {t!r}"
        problems.append(
            f"intervention {cond!r} has {shown}: column 'target' must name a value "
            f"of {list(taxonomy.values)}" + (taxonomy.suggest(str(t)) if not pd.isna(t) else "")
        )
    d = _parse_signs(pd.Series([row["direction"]])).iloc[0]
    if pd.isna(d):
        problems.append(
            f"intervention {cond!r} has direction {row['direction']!r}: column 'direction' "
            "must be +1/reinforce or -1/suppress"
        )
    s = row["strategy"]
    strategy = cond if pd.isna(s) or str(s).strip() == "" else str(s)
    return strategy, t_canon or "", 0 if pd.isna(d) else int(d)


def _check_design(df, meta, baseline: str, taxonomy: Taxonomy, problems: list[str]) -> dict:
    """Conditions against their metadata and the baseline: {condition: (strategy, target,
    direction)} of every intervention."""
    conds_in_data = pd.unique(df["condition"])
    listed = set(meta["condition"])
    unlisted = [c for c in conds_in_data if c not in listed and c != baseline]
    if unlisted:
        problems.append(f"conditions {unlisted} are not in the conditions table; add them")
    meta = meta[meta["condition"].isin(conds_in_data)].set_index("condition")
    out = {
        cond: _intervention_meta(cond, meta.loc[cond], taxonomy, problems)
        for cond in conds_in_data
        if cond != baseline and cond in meta.index
    }
    has_base = set(df.loc[df["condition"] == baseline, "model"])
    for model in pd.unique(df["model"]):
        if model not in has_base:
            problems.append(
                f"model {model!r} has interventions but no baseline condition {baseline!r}; "
                f"add its {baseline!r} ratings or pass baseline= the name you used"
            )
    if not any(c != baseline for c in conds_in_data):
        problems.append(f"there is no intervention: every row is the baseline {baseline!r}")
    return out


def load_judgments(
    source: pd.DataFrame | str | os.PathLike,
    *,
    scale: tuple[int, int] = (1, 5),
    conditions: pd.DataFrame | str | os.PathLike | None = None,
    baseline: str = "pre",
    taxonomy: Taxonomy = SCHWARTZ,
) -> xr.Dataset:
    """Validate a long table of ratings and return the Judgments Dataset.

    Every problem is reported at once in one :class:`~vatjax.VatInputError`, with row
    numbers (1-based, header excluded) and column names. Missing ratings (empty/NaN) are
    allowed and stay NaN.

    Args:
        source: DataFrame or path (.csv, .parquet, .jsonl, .json).
        scale: (lowest, highest) whole-number rating; the midpoint is their mean.
        conditions: optional table with columns condition, strategy, target, direction
            (instead of those columns in ``source``).
        baseline: name of the baseline condition.
        taxonomy: values and micro-values the names must come from.

    Returns:
        Dataset with ``rating[model, condition, item]``; item coords ``scenario,
        micro_value, value, polarity, repeat``; condition coords ``strategy, target,
        direction``.

    Example:
        >>> import pandas as pd, vatjax
        >>> t = pd.DataFrame({"model": "m", "condition": ["pre", "x"], "scenario": "s1",
        ...     "micro_value": "Wealth", "polarity": "express", "rating": [2, 4],
        ...     "target": [None, "Power"], "direction": [None, 1]})
        >>> vatjax.load_judgments(t)["rating"].shape
        (1, 2, 1)
    """
    lo, hi = (int(scale[0]), int(scale[1]))
    if not hi > lo:
        raise VatInputError(f"scale {scale} must be (lowest, highest) with highest > lowest")
    df = read_table(source).reset_index(drop=True)
    problems: list[str] = []
    if df.empty:
        raise VatInputError("the judgments table is empty; it needs one row per rating")
    has_micro = _check_columns(df, problems)
    _check_names(df, has_micro, taxonomy, problems)
    _check_ratings(df, lo, hi, problems)
    dup = df.duplicated(KEY, keep=False) & df["micro_value"].notna() & df["polarity"].notna()
    if dup.any():
        problems.append(
            f"duplicate (model, condition, scenario, micro_value, polarity) rows: "
            f"{format_rows(dup)}; keep one rating per key, or number repeated ratings in a "
            "'repeat' column"
        )
    meta = _condition_table(df, conditions, baseline, problems)
    interventions = _check_design(df, meta, baseline, taxonomy, problems)
    if problems:
        raise VatInputError(
            f"{len(problems)} problem(s) in the judgments table (rows counted from 1, "
            "header excluded)",
            problems,
        )
    return _to_dataset(df, baseline, interventions, (lo, hi), taxonomy)


def _to_dataset(df, baseline, interventions: dict, scale, taxonomy) -> xr.Dataset:
    """Pivot the validated long table to rating[model, condition, item]."""
    models = list(pd.unique(df["model"]))
    conds = [baseline] + [c for c in pd.unique(df["condition"]) if c != baseline]
    item_cols = ["scenario", "micro_value", "polarity", "repeat"]
    items = df[item_cols].drop_duplicates().reset_index(drop=True)
    items["item"] = np.arange(len(items))
    df = df.merge(items, on=item_cols, how="left")
    m_idx = pd.Index(models).get_indexer(df["model"])
    c_idx = pd.Index(conds).get_indexer(df["condition"])
    rating = np.full((len(models), len(conds), len(items)), np.nan)
    rating[m_idx, c_idx, df["item"].to_numpy()] = df["rating"].to_numpy()
    lo, hi = scale
    meta = [interventions.get(c, ("baseline", "", 0)) for c in conds]
    return xr.Dataset(
        {"rating": (("model", "condition", "item"), rating, {"long_name": "Likert rating"})},
        coords={
            "model": models,
            "condition": conds,
            "item": items["item"].to_numpy(),
            "scenario": ("item", items["scenario"].to_numpy(dtype=str)),
            "micro_value": ("item", items["micro_value"].to_numpy(dtype=str)),
            "value": ("item", items["micro_value"].map(taxonomy.value_of).to_numpy(dtype=str)),
            "polarity": ("item", items["polarity"].to_numpy(dtype=np.int8)),
            "repeat": ("item", items["repeat"].to_numpy(dtype=np.int64)),
            "strategy": ("condition", [m[0] for m in meta]),
            "target": ("condition", [m[1] for m in meta]),
            "direction": ("condition", np.array([m[2] for m in meta], np.int8)),
        },
        attrs={
            "scale_min": lo,
            "scale_max": hi,
            "midpoint": (lo + hi) / 2,
            "baseline": baseline,
            "taxonomy": taxonomy.to_json(),
            "vatjax_version": version("vatjax"),
        },
    )


def check_judgments(judgments: object) -> None:
    """Raise unless ``judgments`` is the Dataset of :func:`load_judgments`.

    Example:
        >>> check_judgments([1, 2])
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: expected the Dataset returned by vatjax.load_judgments (with a 'rating' variable), got list
    """
    if not isinstance(judgments, xr.Dataset) or "rating" not in judgments:
        raise VatInputError(
            "expected the Dataset returned by vatjax.load_judgments (with a 'rating' variable), "
            f"got {type(judgments).__name__}"
        )
