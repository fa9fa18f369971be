"""The design of a judgments table: its conditions, their metadata (strategy, target,
direction, as columns of the long table or as a conditions table) and the baseline.

Example:
    >>> import pandas as pd
    >>> from vatjax.data.columns import read_coded
    >>> from vatjax.data.checks import text_key
    >>> cols = read_coded(pd.DataFrame({"condition": ["pre", "x"], "target": [None, "Power"],
    ...                                 "direction": [None, -1]}))
    >>> problems = []
    >>> meta = condition_table(cols, text_key(cols["condition"], "condition", problems), None,
    ...                        "pre", problems)
    >>> meta["condition"].tolist(), problems
    (['pre', 'x'], [])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vatjax.data.checks import Key, raise_problems, uncoded_columns
from vatjax.data.columns import first_rows, read_coded
from vatjax.data.signs import sign_of
from vatjax.data.table import cell_text, read_table
from vatjax.errors import option, plain
from vatjax.taxonomy import Taxonomy

__all__ = ["CONDITION_COLUMNS", "check_design", "condition_table"]

CONDITION_COLUMNS = ["strategy", "target", "direction"]
"""The condition metadata."""


def _conditions_from_table(conditions, problems: list[str]) -> pd.DataFrame:
    """The separate conditions table, one row per condition."""
    meta = read_table(conditions)
    where = " of the conditions table"
    if uncoded_columns(read_coded(meta), ["condition", *CONDITION_COLUMNS], problems, where):
        raise_problems(problems)  # the design checks need these columns
    if "condition" not in meta.columns:
        problems.append(
            "the conditions table has no 'condition' column; give columns "
            "condition, strategy, target, direction"
        )
        return pd.DataFrame(columns=["condition", *CONDITION_COLUMNS])
    meta = meta.assign(condition=meta["condition"].map(cell_text))
    dup = meta["condition"].duplicated(keep=False)
    if dup.any():
        names = sorted(meta.loc[dup, "condition"].unique())
        problems.append(f"the conditions table lists {names} more than once; list each once")
    return meta


def _conditions_from_columns(cols: dict, cond: Key, baseline: str, problems: list[str]):
    """The condition metadata columns of the long table, one row per condition: each
    condition's first row, and a problem where a condition has several values."""
    first = first_rows(cond.codes, len(cond.names))
    meta = {"condition": cond.names}
    for col in (c for c in CONDITION_COLUMNS if c in cols):
        coded = cols[col]
        labels = [None if _blank(x) else x for x in coded.labels] + [None]
        n_lab = len(labels)
        pair = cond.codes.astype(np.int64) * n_lab + np.where(coded.codes < 0, n_lab - 1,
                                                              coded.codes)  # fmt: skip
        seen = np.flatnonzero(np.bincount(pair[cond.codes >= 0], minlength=len(first) * n_lab))
        for k, name in enumerate(cond.names):
            vals = [labels[p % n_lab] for p in seen if p // n_lab == k]
            if len(set(vals)) > 1 and name != baseline:
                problems.append(
                    f"column '{col}' has several values for condition {name!r}: "
                    f"{sorted(map(str, vals))}; a condition has one strategy, target and "
                    "direction"
                )
        meta[col] = [labels[coded.codes[i]] if coded.codes[i] >= 0 else None for i in first]
    return pd.DataFrame(meta)


def condition_table(cols, cond: Key, conditions, baseline: str, problems) -> pd.DataFrame:
    """One row per condition: strategy, target, direction (the baseline's are fixed)."""
    if conditions is not None:
        meta = _conditions_from_table(conditions, problems)
    else:
        meta = _conditions_from_columns(cols, cond, baseline, problems)
    for col in CONDITION_COLUMNS:
        if col not in meta.columns:
            meta[col] = None
    return meta[["condition", *CONDITION_COLUMNS]].reset_index(drop=True)


def _intervention_meta(cond: str, row, taxonomy: Taxonomy, problems: list[str]):
    """(strategy, target, direction) of one intervention's conditions-table row."""
    t = row["target"]
    empty = _blank(t)
    t_canon = None if empty else taxonomy.canonical(str(t))
    if t_canon is None or t_canon not in taxonomy.values:
        shown = "no target" if empty else f"target {plain(t)}"
        problems.append(
            f"intervention {cond!r} has {shown}: column 'target' must name a value "
            f"of {list(taxonomy.values)}" + ("" if empty else taxonomy.suggest(str(t)))
        )
    d = sign_of(row["direction"])
    if d is None:
        given = row["direction"]
        shown = "no direction" if _blank(given) else f"direction {plain(given)}"
        problems.append(
            f"intervention {cond!r} has {shown}: column 'direction' must be +1/reinforce or "
            "-1/suppress"
        )
    s = row["strategy"]
    strategy = cond if _blank(s) else str(s)
    return strategy, t_canon or "", 0 if d is None else int(d)


def check_design(cond: Key, model: Key, meta, baseline: str, taxonomy, problems) -> dict:
    """Conditions against their metadata and the baseline: {condition: (strategy, target,
    direction)} of every intervention."""
    conds_in_data = cond.names
    listed = set(meta["condition"])
    unlisted = [c for c in conds_in_data if c not in listed and c != baseline]
    if unlisted:
        problems.append(f"conditions {unlisted} are not in the conditions table; add them")
    meta = meta[meta["condition"].isin(conds_in_data)].set_index("condition")
    meta = meta[~meta.index.duplicated()]  # a condition listed twice is a problem already
    if baseline not in conds_in_data:
        problems.append(_no_baseline(baseline, conds_in_data, meta))
        guesses = set(_untargeted(conds_in_data, meta))  # no problem for their metadata
    else:
        guesses = set()
        at_base = cond.codes == conds_in_data.index(baseline)
        present = np.bincount(model.codes[at_base].astype(np.int64), minlength=len(model.names))
        for name in (m for m, n in zip(model.names, present, strict=True) if not n):
            problems.append(
                f"model {name!r} has interventions but no baseline condition {baseline!r}; "
                f"add its {baseline!r} ratings, or drop the model's rows"
            )
    if not any(c != baseline for c in conds_in_data):
        problems.append(f"there is no intervention: every row is the baseline {baseline!r}")
    return {
        c: _intervention_meta(c, meta.loc[c], taxonomy, [] if c in guesses else problems)
        for c in conds_in_data
        if c != baseline and c in meta.index
    }


def _untargeted(conds: list[str], meta: pd.DataFrame) -> list[str]:
    """The conditions with no target: those that may be the baseline."""
    targets = [meta.loc[c, "target"] if c in meta.index else None for c in conds]
    return [c for c, t in zip(conds, targets, strict=True) if _blank(t)]


def _no_baseline(baseline: str, conds: list[str], meta: pd.DataFrame) -> str:
    """The problem of a baseline name that no row has, with the condition it may be."""
    guesses = _untargeted(conds, meta)
    fix = (
        f"if {guesses[0]!r} (the one condition with no target) is the baseline, say so with "
        f"{option('baseline', guesses[0])}"
        if len(guesses) == 1
        else f"name the baseline you used with {option('baseline')}"
    )
    return f"no baseline condition {baseline!r} in column 'condition' (it holds {_names(conds)}): {fix}"


def _blank(x: object) -> bool:
    """Whether a metadata cell is empty: missing, NaN or blank text."""
    return (pd.api.types.is_scalar(x) and pd.isna(x)) or str(x).strip() == ""


def _names(names: list[str], most: int = 8) -> str:
    """A list of names for a message, the first ``most`` of them."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(map(repr, names[:most])) + more
