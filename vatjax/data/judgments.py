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
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.data.checks import (
    Key,
    parse_polarity,
    parse_rating,
    parse_repeat,
    raise_problems,
    text_key,
    uncoded_columns,
    unit_key,
)
from vatjax.data.columns import read_coded
from vatjax.data.coverage import coverage_problems, rating_counts
from vatjax.data.dense import (
    Items,
    dense_bytes,
    dense_rows,
    dense_tensor,
    item_coords,
    number_items,
)
from vatjax.data.design import CONDITION_COLUMNS, check_design, condition_table
from vatjax.data.memory import memory_problem
from vatjax.data.table import format_rows
from vatjax.errors import VatInputError, option, plain
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["CONDITION_COLUMNS", "KEY", "check_judgments", "load_judgments"]

KEY = ["model", "condition", "scenario", "micro_value", "polarity", "repeat"]
"""The columns that name one rating."""


def _check_columns(cols: dict) -> bool:
    """Raise on missing columns. Whether micro-values are named."""
    has_micro = "micro_value" in cols
    need = ["model", "condition", "scenario", "micro_value" if has_micro else "value"]
    need += ["polarity", "rating"]
    missing = [c for c in need if c not in cols]
    if missing:
        alt = "" if has_micro or "value" in cols else " (or 'value')"
        raise VatInputError(
            f"missing column(s) {missing}{alt}; the table has {list(cols)}. "
            "Rename your columns or pass a DataFrame with these names"
        )
    return has_micro


class _Parsed(NamedTuple):
    """The columns checked one by one (None where a column could not be read)."""

    keys: dict[str, Key]
    units: Key | None
    polarity: np.ndarray | None
    rating: np.ndarray | None
    repeat: Key | None
    repeat_values: np.ndarray | None


def _used_columns(has_conditions_table: bool) -> list[str]:
    """The columns of the long table the loader reads."""
    used = [*KEY, "value", "rating"]
    return used + ([] if has_conditions_table else CONDITION_COLUMNS)


def _parse_columns(cols, has_micro, scale, taxonomy, problems, skip: set) -> _Parsed:
    """Check and parse each column on its own, all but those in ``skip``."""
    names = ("model", "condition", "scenario")
    keys = {c: text_key(cols[c], c, problems) for c in names if c not in skip}
    unit_cols = {"micro_value", "value"} if has_micro else {"value"}
    units = None if unit_cols & skip else unit_key(cols, has_micro, taxonomy, problems)
    polarity = None if "polarity" in skip else parse_polarity(cols["polarity"], problems)
    rating = None if "rating" in skip else parse_rating(cols["rating"], *scale, problems)
    repeat, repeat_values = None, None
    if "repeat" not in skip:
        n_rows = len(next(iter(cols.values())).codes)
        repeat, repeat_values = parse_repeat(cols.get("repeat"), n_rows, problems)
    return _Parsed(keys, units, polarity, rating, repeat, repeat_values)


def _memory_problem(p: _Parsed, items: Items, taxonomy: Taxonomy) -> str | None:
    """The problem to report when the dense tensor will not fit in memory, told from the
    shape alone, before any array of that size is made."""
    n_m, n_c, n_i = items.shape
    n_rows, n_scenarios = len(p.polarity), len(p.keys["scenario"].names)
    longest = [max(map(len, names), default=0) for names in
               (p.keys["scenario"].names, p.units.names, taxonomy.values)]  # fmt: skip
    n_cells = n_m * n_c * n_i
    sparse = ""
    if n_cells and n_rows < n_cells / 2:
        sparse = (
            f"; the table has rows for only {n_rows:,} of those cells ({n_rows / n_cells:.0%}),"
            " as when models or conditions were judged on different scenarios"
        )
    what = (
        f"the rating tensor of {_count(n_m, 'model')} x {_count(n_c, 'condition')} x "
        f"{_count(n_i, 'item')} ({_count(n_scenarios, 'scenario')} x their micro-values and "
        f"polarities) = {n_cells:,} cells"
    )
    fix = (
        "load fewer models, conditions or scenarios at a time (filter the table first), "
        f"or use a machine with more memory{sparse}"
    )
    return memory_problem(what, dense_bytes(items.shape, n_rows, sum(longest)), fix)


def _row_problems(p: _Parsed, items: Items, rating, scale, taxonomy, problems: list[str]):
    """The problems of the rows as a whole (a tensor too big for memory, duplicate keys,
    conditions with no rating, mixed scales); the dense rows, or None when too big."""
    too_big = _memory_problem(p, items, taxonomy)
    if too_big:  # the other problems are found on the tensor's cells: not checked
        problems.append(too_big)
        return None
    rows = dense_rows(p.keys, items)
    if rows.duplicated.any():
        problems.append(
            f"duplicate (model, condition, scenario, micro_value, polarity) rows: "
            f"{format_rows(rows.duplicated)}; keep one rating per key, or number repeated "
            "ratings in a 'repeat' column"
        )
    model, cond = p.keys["model"], p.keys["condition"]
    problems += coverage_problems(rating_counts(model, cond, rating, p.rating, *scale), model,
                                  cond, scale[0])  # fmt: skip
    return rows


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _check_scale(scale) -> tuple[int, int]:
    """(lowest, highest) of ``scale``: two whole numbers, the highest above the lowest."""
    try:
        lo, hi = scale
        ok = all(float(x) == int(x) for x in (lo, hi)) and int(hi) > int(lo)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise VatInputError(
            f"{option('scale', bare=True)} must be the lowest and highest rating, two whole "
            f"numbers with the highest above the lowest (like {option('scale', (1, 5))}); "
            f"got {plain(scale)}"
        )
    return int(lo), int(hi)


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
    allowed and stay NaN, but not a condition left with no rating for a model, nor models
    or conditions that rate on a narrower scale than the rest (:mod:`~vatjax.data.coverage`).
    Columns are read as codes into their distinct cells (pandas
    categoricals, Parquet dictionaries, CSV read by pyarrow), each distinct cell is
    checked once, and the codes go straight into the dense tensor: 26 million rows load
    in seconds. Ratings are stored as float32 (whole numbers are exact; NaN is missing).
    A column of the wrong type (a list, a struct, a bool or a date for a rating) is a
    problem that names its type, and a study whose tensor will not fit in the memory
    available is told from its shape before the tensor is made.

    Args:
        source: DataFrame or path (.csv, .parquet, .jsonl, .json).
        scale: (lowest, highest) whole-number rating; the midpoint is their mean.
        conditions: optional table with columns condition, strategy, target, direction
            (instead of those columns in ``source``).
        baseline: name of the baseline condition.
        taxonomy: values and micro-values the names must come from.

    Returns:
        Dataset with ``rating[model, condition, item]`` (float32); item coords
        ``scenario, micro_value, value, polarity, repeat``; condition coords
        ``strategy, target, direction``.

    Example:
        >>> import pandas as pd, vatjax
        >>> t = pd.DataFrame({"model": "m", "condition": ["pre", "x"], "scenario": "s1",
        ...     "micro_value": "Wealth", "polarity": "express", "rating": [2, 4],
        ...     "target": [None, "Power"], "direction": [None, 1]})
        >>> vatjax.load_judgments(t)["rating"].shape
        (1, 2, 1)
    """
    lo, hi = _check_scale(scale)
    cols = read_coded(source)
    if not cols or len(next(iter(cols.values())).codes) == 0:
        raise VatInputError("the judgments table is empty; it needs one row per rating")
    has_micro = _check_columns(cols)
    problems: list[str] = []
    uncoded = uncoded_columns(cols, _used_columns(conditions is not None), problems)
    p = _parse_columns(cols, has_micro, (lo, hi), taxonomy, problems, uncoded)
    if uncoded:  # what needs the unreadable columns is not checked
        raise_problems(problems)
    items = number_items(p.keys, p.units, p.polarity, p.repeat)
    rows = _row_problems(p, items, cols["rating"], (lo, hi), taxonomy, problems)
    keys, units = p.keys, p.units
    meta = condition_table(cols, keys["condition"], conditions, baseline, problems)
    interventions = check_design(
        keys["condition"], keys["model"], meta, baseline, taxonomy, problems
    )
    if problems:
        raise_problems(problems)
    tensor, conds = dense_tensor(rows, cols["rating"], p.rating, keys["condition"], baseline)
    coords = item_coords(rows, keys["scenario"], units, p.polarity, p.repeat, p.repeat_values)
    unit_value = np.array([taxonomy.value_of(u) for u in units.names], dtype=str)
    coords["value"] = unit_value[units.codes[rows.item_first_row]]
    meta_rows = [interventions.get(c, ("baseline", "", 0)) for c in conds]
    return _dataset(tensor, keys["model"].names, conds, coords, meta_rows,
                    {"scale": (lo, hi), "baseline": baseline, "taxonomy": taxonomy})  # fmt: skip


def _dataset(tensor, models, conds, items: dict, meta_rows: list, info: dict) -> xr.Dataset:
    """The Judgments Dataset around the dense rating tensor."""
    (lo, hi), taxonomy = info["scale"], info["taxonomy"]
    return xr.Dataset(
        {"rating": (("model", "condition", "item"), tensor, {"long_name": "Likert rating"})},
        coords={
            "model": models,
            "condition": conds,
            "item": np.arange(tensor.shape[-1]),
            **{k: ("item", v) for k, v in items.items()},
            "strategy": ("condition", [m[0] for m in meta_rows]),
            "target": ("condition", [m[1] for m in meta_rows]),
            "direction": ("condition", np.array([m[2] for m in meta_rows], np.int8)),
        },
        attrs={
            "scale_min": lo,
            "scale_max": hi,
            "midpoint": (lo + hi) / 2,
            "baseline": info["baseline"],
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
