"""Judgments: the long table of ratings -> a validated xarray.Dataset -> scores -> shifts.

The long table has one row per rating with columns ``model, condition, scenario,
micro_value`` (or ``value``), ``polarity, rating``, an optional ``repeat``, and the
condition metadata ``strategy, target, direction`` (as columns or as a separate table).

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=5)
    >>> judgments = vatjax.load_judgments(study.table)
    >>> vatjax.shifts(judgments).dims
    ('model', 'intervention', 'scenario', 'value')
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["load_judgments", "read_table", "scores", "shifts"]

KEY = ["model", "condition", "scenario", "micro_value", "polarity", "repeat"]
CONDITION_COLUMNS = ["strategy", "target", "direction"]
_POLARITY = {"express": 1, "suppress": -1, "+1": 1, "-1": -1, "1": 1, "1.0": 1, "-1.0": -1}
_DIRECTION = {
    "+1": 1,
    "1": 1,
    "1.0": 1,
    "reinforce": 1,
    "+": 1,
    "-1": -1,
    "-1.0": -1,
    "suppress": -1,
    "-": -1,
}
_MAX_ROWS_SHOWN = 8
_TIE_DECIMALS = 10


def read_table(source: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Read a long table from a DataFrame, CSV, Parquet, JSON-lines or JSON file.

    Example:
        >>> read_table(pd.DataFrame({"a": [1]})).shape
        (1, 1)
    """
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    readers = {
        ".csv": lambda p: pd.read_csv(p, dtype={"scenario": str}),
        ".csv.gz": lambda p: pd.read_csv(p, dtype={"scenario": str}),
        ".parquet": pd.read_parquet,
        ".pq": pd.read_parquet,
        ".jsonl": lambda p: pd.read_json(p, lines=True, dtype=False),
        ".ndjson": lambda p: pd.read_json(p, lines=True, dtype=False),
        ".jsonl.gz": lambda p: pd.read_json(p, lines=True, dtype=False),
        ".json": lambda p: pd.read_json(p, dtype=False),
    }
    if suffix not in readers:
        raise VatInputError(
            f"cannot read {path.name!r}: unknown file type {suffix!r}; "
            f"use one of {sorted(readers)} or pass a pandas DataFrame"
        )
    try:
        return readers[suffix](path)
    except (ValueError, OSError) as exc:
        raise VatInputError(f"cannot parse {path}: {exc}") from exc


def _rows(mask: np.ndarray | pd.Series) -> str:
    """'rows 3, 9 and 5 more' (1-based data rows, header excluded)."""
    idx = np.flatnonzero(np.asarray(mask)) + 1
    shown = ", ".join(str(i) for i in idx[:_MAX_ROWS_SHOWN])
    more = f" and {len(idx) - _MAX_ROWS_SHOWN} more" if len(idx) > _MAX_ROWS_SHOWN else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"


def _as_str(col: pd.Series) -> pd.Series:
    """Strings with integral floats shown as integers (a CSV's 3.0 means scenario 3)."""

    def fmt(x):
        if isinstance(x, float) and x.is_integer():
            return str(int(x))
        return str(x).strip()

    return col.map(fmt)


def _parse_signs(col: pd.Series, table: dict[str, int]) -> pd.Series:
    """Map labels like 'express' / +1 / '-1' to +1/-1; unknown labels become <NA>."""
    return _as_str(col).str.casefold().map(table).astype("Int8")


def _condition_table(
    df: pd.DataFrame, conditions: pd.DataFrame | None, baseline: str, problems: list[str]
) -> pd.DataFrame:
    """One row per condition: strategy, target, direction (the baseline's are fixed)."""
    if conditions is not None:
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
    else:
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
        meta = meta.drop_duplicates("condition")
    for col in CONDITION_COLUMNS:
        if col not in meta.columns:
            meta[col] = None
    return meta[["condition", *CONDITION_COLUMNS]].reset_index(drop=True)


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
            problems.append(f"column '{col}' is empty in {_rows(empty)}; fill it in")
        df[col] = _as_str(df[col])

    # names: micro-values (or values) against the taxonomy
    name_col = "micro_value" if has_micro else "value"
    names = _as_str(df[name_col])
    canon = {n: taxonomy.canonical(n) for n in names.unique()}
    if has_micro:
        canon = {n: (c if c in taxonomy.micro_values else None) for n, c in canon.items()}
    else:
        canon = {n: (c if c in taxonomy.values else None) for n, c in canon.items()}
    for name, c in canon.items():
        if c is None:
            kind = "micro-value" if has_micro else "value"
            problems.append(
                f"unknown {kind} {name!r} in column '{name_col}', {_rows(names == name)}"
                f"{taxonomy.suggest(name)}; use a name of the {taxonomy.name} taxonomy"
            )
    df["micro_value"] = names.map(canon)
    df["value"] = df["micro_value"].map({c: taxonomy.value_of(c) for c in canon.values() if c})
    if has_micro and "value" in df.columns:
        given = _as_str(df["value"]).map(taxonomy.canonical)
        clash = df["micro_value"].notna() & (given != df["value"])
        if clash.any():
            problems.append(
                f"column 'value' disagrees with the value of 'micro_value' in {_rows(clash)} "
                f"(e.g. {df.loc[clash, 'micro_value'].iloc[0]!r} belongs to "
                f"{df.loc[clash, 'value'].iloc[0]!r}); drop the 'value' column or fix it"
            )

    polarity = _parse_signs(df["polarity"], _POLARITY)
    if polarity.isna().any():
        problems.append(
            f"column 'polarity' is not one of express/suppress/+1/-1 in {_rows(polarity.isna())}"
            f" (e.g. {df.loc[polarity.isna(), 'polarity'].iloc[0]!r})"
        )
    df["polarity"] = polarity

    rating = pd.to_numeric(df["rating"], errors="coerce")
    text = df["rating"].astype(str).str.strip().str.casefold()
    not_number = rating.isna() & df["rating"].notna() & ~text.isin(["", "nan", "none", "null"])
    if not_number.any():
        problems.append(
            f"column 'rating' is not a number in {_rows(not_number)} "
            f"(e.g. {df.loc[not_number, 'rating'].iloc[0]!r}); leave a missing rating empty"
        )
    off = rating.notna() & ((rating < lo) | (rating > hi))
    if off.any():
        problems.append(
            f"column 'rating' is off the {lo}..{hi} scale in {_rows(off)} "
            f"(e.g. {rating[off].iloc[0]:g}); declare the scale with scale=(low, high)"
        )
    frac = rating.notna() & ~off & (rating != np.round(rating))
    if frac.any():
        problems.append(
            f"column 'rating' is not a whole number in {_rows(frac)} "
            f"(e.g. {rating[frac].iloc[0]:g}); ratings are Likert points"
        )
    df["rating"] = rating.astype(float)

    if "repeat" in df.columns:
        rep = pd.to_numeric(df["repeat"], errors="coerce")
        bad = rep.isna() | (rep != np.round(rep))
        if bad.any():
            problems.append(f"column 'repeat' is not a whole number in {_rows(bad)}")
        df["repeat"] = rep.fillna(0).astype(int)
    else:
        df["repeat"] = 0

    dup = df.duplicated(KEY, keep=False) & df["micro_value"].notna() & df["polarity"].notna()
    if dup.any():
        problems.append(
            f"duplicate (model, condition, scenario, micro_value, polarity) rows: {_rows(dup)}; "
            "keep one rating per key, or number repeated ratings in a 'repeat' column"
        )

    meta = _condition_table(df, conditions, baseline, problems)
    conds_in_data = pd.unique(df["condition"])
    listed = set(meta["condition"])
    unlisted = [c for c in conds_in_data if c not in listed and c != baseline]
    if unlisted:
        problems.append(f"conditions {unlisted} are not in the conditions table; add them")
    meta = meta[meta["condition"].isin(conds_in_data)].set_index("condition")
    strategy, target, direction = {}, {}, {}
    for cond in conds_in_data:
        if cond == baseline or cond not in meta.index:
            continue
        row = meta.loc[cond]
        t = row["target"]
        t_canon = None if pd.isna(t) or str(t).strip() == "" else taxonomy.canonical(str(t))
        if t_canon is None or t_canon not in taxonomy.values:
            shown = "no target" if pd.isna(t) or str(t).strip() == "" else f"target {t!r}"
            problems.append(
                f"intervention {cond!r} has {shown}: column 'target' must name a value "
                f"of {list(taxonomy.values)}" + (taxonomy.suggest(str(t)) if not pd.isna(t) else "")
            )
        d = _parse_signs(pd.Series([row["direction"]]), _DIRECTION).iloc[0]
        if pd.isna(d):
            problems.append(
                f"intervention {cond!r} has direction {row['direction']!r}: column 'direction' "
                "must be +1/reinforce or -1/suppress"
            )
        s = row["strategy"]
        strategy[cond] = cond if pd.isna(s) or str(s).strip() == "" else str(s)
        target[cond] = t_canon or ""
        direction[cond] = 0 if pd.isna(d) else int(d)

    has_base = set(df.loc[df["condition"] == baseline, "model"])
    for model in pd.unique(df["model"]):
        if model not in has_base:
            problems.append(
                f"model {model!r} has interventions but no baseline condition {baseline!r}; "
                f"add its {baseline!r} ratings or pass baseline= the name you used"
            )
    if not any(c != baseline for c in conds_in_data):
        problems.append(f"there is no intervention: every row is the baseline {baseline!r}")

    if problems:
        raise VatInputError(
            f"{len(problems)} problem(s) in the judgments table (rows counted from 1, "
            "header excluded)",
            problems,
        )
    return _to_dataset(df, baseline, strategy, target, direction, (lo, hi), taxonomy)


def _to_dataset(df, baseline, strategy, target, direction, scale, taxonomy) -> xr.Dataset:
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
            "strategy": ("condition", [strategy.get(c, "baseline") for c in conds]),
            "target": ("condition", [target.get(c, "") for c in conds]),
            "direction": ("condition", np.array([direction.get(c, 0) for c in conds], np.int8)),
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


def taxonomy_of(obj: xr.Dataset | xr.DataArray) -> Taxonomy:
    """The taxonomy stored in a result's attrs (SCHWARTZ if none)."""
    text = obj.attrs.get("taxonomy")
    return Taxonomy.from_json(text) if text else SCHWARTZ


def _check_judgments(judgments: xr.Dataset) -> None:
    if not isinstance(judgments, xr.Dataset) or "rating" not in judgments:
        raise VatInputError(
            "expected the Dataset returned by vatjax.load_judgments (with a 'rating' variable), "
            f"got {type(judgments).__name__}"
        )


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
    _check_judgments(judgments)
    if level not in ("value", "micro_value"):
        raise VatInputError(f"level must be 'value' or 'micro_value', got {level!r}")
    tax = taxonomy_of(judgments)
    lo, mid = judgments.attrs["scale_min"], judgments.attrs["midpoint"]
    signed = judgments["polarity"].to_numpy() * (judgments["rating"].to_numpy() - mid) / (mid - lo)
    order = list(tax.values) if level == "value" else list(tax.micro_values)
    labels = judgments[level].to_numpy()
    present = set(labels)
    groups = [g for g in order if g in present]
    scenarios = pd.unique(judgments["scenario"].to_numpy())
    s_idx = pd.Index(scenarios).get_indexer(judgments["scenario"].to_numpy())
    g_idx = pd.Index(groups).get_indexer(labels)
    cell = s_idx * len(groups) + g_idx
    n_cells = len(scenarios) * len(groups)
    valid = ~np.isnan(signed)
    flat = np.where(valid, signed, 0.0).reshape(-1, signed.shape[-1])
    sums = np.stack([np.bincount(cell, weights=row, minlength=n_cells) for row in flat])
    counts = np.stack(
        [np.bincount(cell, weights=row, minlength=n_cells) for row in valid.reshape(flat.shape)]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)
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
    delta = (post - pre).round(_TIE_DECIMALS)
    delta.name = "shift"
    delta.attrs = {
        **score.attrs,
        "units": "phi (centred rating), post minus pre",
        "long_name": "shift delta",
    }
    level_dim = score.dims[-1]
    return delta.transpose("model", "intervention", "scenario", level_dim)
