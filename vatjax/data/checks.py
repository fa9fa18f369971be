"""The checks of a judgments table, on coded columns: each distinct cell is checked once
and the answer reaches the rows through the codes, so every problem is found (with its
1-based rows) at the cost of a few vectorised passes, whatever the number of rows.

Example:
    >>> import pandas as pd
    >>> from vatjax.data.columns import read_coded
    >>> problems = []
    >>> key = text_key(read_coded(pd.DataFrame({"model": ["a", " ", "a"]}))["model"],
    ...                "model", problems)
    >>> key.codes.tolist(), key.names, problems
    ([0, 1, 0], ['a', ''], ["column 'model' is empty in row 2; fill it in"])
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import numpy as np
import pandas as pd

from vatjax.data.columns import Coded, first_rows, small_codes
from vatjax.data.signs import sign_of
from vatjax.data.table import cell_text, format_rows
from vatjax.errors import VatInputError, option, plain
from vatjax.taxonomy import Taxonomy

__all__ = [
    "Key",
    "missing_labels",
    "parse_polarity",
    "parse_rating",
    "parse_repeat",
    "raise_problems",
    "text_key",
    "type_of",
    "uncoded_columns",
    "unit_key",
]

_MISSING_TEXT = ("", "nan", "none", "null")
_CELLS = {
    "rating": "a number (the rating)",
    "polarity": "a sign (express/suppress or +1/-1)",
    "direction": "a sign (+1/reinforce or -1/suppress)",
    "repeat": "a whole number",
}
"""What one cell of a column holds; any other column holds a name (text or a number)."""


class Key(NamedTuple):
    """A key column as codes into distinct names (-1 where the name is unusable)."""

    codes: np.ndarray
    names: list[str]


def type_of(col: Coded, label: object) -> str:
    """The type to name for a cell: the column's type, or the cell's own where the
    column holds Python objects of any type."""
    generic = not col.dtype or col.dtype.startswith(("object", "category"))
    return type(label).__name__ if generic else col.dtype


def uncoded_columns(cols: dict, names, problems: list[str], where: str = "") -> set[str]:
    """The columns among ``names`` whose cells are not single values (lists, structs,
    maps): one problem each, naming the type found, what a cell must hold and the fix
    (``where`` names the table when it is not the long one)."""
    bad = {n for n in names if n in cols and cols[n].labels is None}
    for name in sorted(bad, key=list(cols).index):
        col = cols[name]
        shown = repr(col.example)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        problems.append(
            f"column {name!r}{where} has type {col.dtype} (e.g. {shown}), but each cell must hold "
            f"{_CELLS.get(name, 'a name (text or a whole number)')}; store one plain value "
            "per cell (unpack the list or struct into its own columns before saving)"
        )
    return bad


def _merge(col: Coded, texts: list, missing_text: str | None) -> Key:
    """Codes of ``col`` re-pointed at the distinct ``texts`` (one per label), in order of
    first appearance; a missing cell reads as ``missing_text`` (or stays -1)."""
    if missing_text is not None:
        texts = [*texts, missing_text]
    uniq_codes, uniq = pd.factorize(pd.Series(texts, dtype=object))
    remap = uniq_codes if missing_text is not None else np.append(uniq_codes, -1)
    codes = small_codes(remap[col.codes], len(uniq))
    first = first_rows(codes, len(uniq))
    used = np.flatnonzero(first < len(codes))  # labels no row uses are dropped
    order = used[np.argsort(first[used], kind="stable")]
    rank = np.full(len(uniq) + 1, -1, np.int64)
    rank[order] = np.arange(len(order))
    return Key(small_codes(rank[codes], len(order)), [uniq[i] for i in order])


def text_key(col: Coded, name: str, problems: list[str]) -> Key:
    """A model, condition or scenario column as text names; empty cells are a problem."""
    key = _merge(col, [cell_text(x) for x in col.labels], "")
    blank = key.codes == key.names.index("") if "" in key.names else None
    if blank is not None and blank.any():
        problems.append(f"column '{name}' is empty in {format_rows(blank)}; fill it in")
    return key


def unit_key(cols: dict, has_micro: bool, tax: Taxonomy, problems: list[str]) -> Key:
    """Micro-values (or values) as canonical names of the taxonomy; codes -1 where
    unknown. An unknown name is a problem with its rows and a did-you-mean hint."""
    name_col = "micro_value" if has_micro else "value"
    key = _merge(cols[name_col], [cell_text(x) for x in cols[name_col].labels], "nan")
    known = tax.micro_values if has_micro else tax.values
    canon = [tax.canonical(n) for n in key.names]
    canon = [c if c in known else None for c in canon]
    for k, (name, c) in enumerate(zip(key.names, canon, strict=True)):
        if c is None:
            problems.append(_unknown_unit(name, has_micro, tax, format_rows(key.codes == k)))
    merged = _merge(Coded(key.codes, key.names), [c or "" for c in canon], None)
    codes = merged.codes.copy()
    if "" in merged.names:
        gone = merged.names.index("")
        codes[codes == gone] = -1
        codes[codes > gone] -= 1
    units = Key(codes, [n for n in merged.names if n])
    if has_micro and "value" in cols:
        _check_value_column(cols["value"], units, tax, problems)
    return units


def _unknown_unit(name: str, has_micro: bool, tax: Taxonomy, rows: str) -> str:
    """The problem of a name that is no unit of its column: a micro-value in the 'value'
    column (or a value in 'micro_value') is told as such, with the column it belongs in."""
    name_col, kind = ("micro_value", "micro-value") if has_micro else ("value", "value")
    canon = tax.canonical(name)
    if canon in tax.micro_values and not has_micro:
        return (
            f"{name!r} in column 'value' ({rows}) is a micro-value (one of the items of the "
            f"value {tax.micro_values[canon]!r}), not a value: put micro-values in a column "
            "named 'micro_value' (rename the column if it holds micro-values only); the "
            "'value' column, if kept, names their values"
        )
    if canon in tax.values and has_micro:
        return (
            f"{name!r} in column 'micro_value' ({rows}) is a value, not a micro-value: name "
            f"micro-values there (those of {canon!r}: {_micro_of(tax, canon)}), or, if the "
            "table rates whole values, rename the column to 'value'"
        )
    return (
        f"unknown {kind} {name!r} in column '{name_col}', {rows}{tax.suggest(name)}; use a "
        f"name of the {tax.name} taxonomy"
    )


def _micro_of(tax: Taxonomy, value: str) -> str:
    """The micro-values of a value, the first few named."""
    micro = [u for u, v in tax.micro_values.items() if v == value]
    return ", ".join(micro[:4]) + (", ..." if len(micro) > 4 else "")


def _check_value_column(col: Coded, units: Key, tax: Taxonomy, problems: list[str]) -> None:
    """The 'value' column beside 'micro_value' must name the micro-value's value."""
    given = [tax.canonical(cell_text(x)) for x in col.labels] + [tax.canonical("nan")]
    owner = [tax.value_of(u) for u in units.names]
    n_given = len(given)
    given_codes = np.where(col.codes < 0, n_given - 1, col.codes).astype(np.int64)
    pair = np.where(units.codes < 0, -1, units.codes.astype(np.int64) * n_given + given_codes)
    seen = np.flatnonzero(np.bincount(pair[pair >= 0], minlength=len(owner) * n_given))
    bad = np.zeros(len(owner) * n_given + 1, bool)
    for p in seen:
        bad[p] = given[p % n_given] != owner[p // n_given]
    clash = bad[pair]
    if clash.any():
        first = units.names[units.codes[int(np.argmax(clash))]]
        problems.append(
            f"column 'value' disagrees with the value of 'micro_value' in "
            f"{format_rows(clash)} (e.g. {first!r} belongs to {tax.value_of(first)!r}); "
            "drop the 'value' column or fix it"
        )


def raise_problems(problems: list[str]):
    """Raise every problem of the judgments table at once."""
    raise VatInputError(
        f"{len(problems)} problem(s) in the judgments table (rows counted from 1, header excluded)",
        problems,
    )


def parse_polarity(col: Coded, problems: list[str]) -> np.ndarray:
    """Polarity per row as int8 +1/-1 (0 where the label is not a sign)."""
    signs = np.array([sign_of(x) or 0 for x in col.labels], np.int8)
    polarity = col.lookup(signs, sign_of(None) or 0)
    bad = polarity == 0
    if bad.any():
        i = int(np.argmax(bad))
        label = col.labels[col.codes[i]] if col.codes[i] >= 0 else None
        empty = label is None or (isinstance(label, float | np.floating) and np.isnan(label))
        shown = "an empty cell" if empty else plain(label)
        typed = "" if label is None or isinstance(label, str) else f", type {type_of(col, label)}"
        problems.append(
            f"column 'polarity' is not one of express/suppress/+1/-1 in "
            f"{format_rows(bad)} (e.g. {shown}{typed})"
        )
    return polarity


def _is_text_or_number(x: object) -> bool:
    """Text, a number (a bool is none) or nothing: what a rating label may be."""
    number = isinstance(x, int | float | Decimal | np.number) and not isinstance(x, bool)
    return x is None or number or isinstance(x, str)


def _label_numbers(labels: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each label as a number (NaN if none); whether it is text that is not a number; and
    whether it is neither text nor a number (a bool, a date, bytes)."""
    other = ~np.array([_is_text_or_number(x) for x in labels], bool)
    number = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    number = number.to_numpy(dtype=float, na_value=np.nan)
    text = [str(x).strip().casefold() for x in labels]
    not_number = np.isnan(number) & ~np.isin(text, _MISSING_TEXT) & ~other
    return number, not_number, other


def missing_labels(labels: list) -> np.ndarray:
    """Which labels of a rating column are empty: nothing, NaN, or text such as "null".

    Example:
        >>> missing_labels([3, None, "null", "x", float("nan")]).tolist()
        [False, True, True, False, True]
    """
    number, not_number, other = _label_numbers(labels)
    return np.isnan(number) & ~not_number & ~other


def parse_rating(col: Coded, lo: int, hi: int, problems: list[str]) -> np.ndarray:
    """Each label's rating (float32, NaN when missing): numbers on the scale, whole."""
    number, not_number, other = _label_numbers(col.labels)
    number = np.where(other, np.nan, number)  # a bool or a date is no rating, whatever its value
    off = ~np.isnan(number) & ((number < lo) | (number > hi))
    frac = ~np.isnan(number) & ~off & (number != np.round(number))
    checks = [
        (other, "has type {type}, not a number,", True, f"; store the ratings as numbers "
         f"from {lo} to {hi} (integers, floats, or text such as '3')"),
        (not_number, "is not a number", True,
         f"; write a number from {lo} to {hi}, and leave a missing rating empty"),
        (off, f"is off the {lo}..{hi} scale", False, None),
        (frac, "is not a whole number", False, "; ratings are Likert points"),
    ]  # fmt: skip
    for bad_label, what, show_label, hint in checks:
        rows = col.lookup(bad_label, False) if bad_label.any() else None
        if rows is not None and rows.any():  # a label no row uses is no problem
            k = col.codes[int(np.argmax(rows))]
            shown = plain(col.labels[k] if show_label else number[k])
            what = what.format(type=type_of(col, col.labels[k]))
            hint = _scale_hint(col, number, lo, hi) if hint is None else hint
            problems.append(f"column 'rating' {what} in {format_rows(rows)} (e.g. {shown}){hint}")
    return np.where(not_number | off | frac | other, np.nan, number).astype(np.float32)


def _scale_hint(col: Coded, number: np.ndarray, lo: int, hi: int) -> str:
    """The fix of off-scale ratings: the scale that holds every whole rating given."""
    used = np.zeros(len(number) + 1, bool)
    used[col.codes] = True  # code -1 marks the extra slot
    whole = number[used[:-1] & ~np.isnan(number) & np.isfinite(number)]
    whole = whole[whole == np.round(whole)]
    low, high = min(lo, int(whole.min(initial=lo))), max(hi, int(whole.max(initial=hi)))
    return (
        f"; every rating fits the scale {low}..{high}: if that is the scale, declare it with "
        f"{option('scale', (low, high))}, else fix the ratings off the scale"
    )


def parse_repeat(col: Coded | None, n_rows: int, problems: list[str]) -> tuple[Key, np.ndarray]:
    """The repeat column as codes into its distinct whole numbers (0 when absent)."""
    if col is None:
        return Key(np.zeros(n_rows, np.int8), [0]), np.zeros(1, np.int64)
    number, _, _ = _label_numbers(col.labels)
    bad_label = np.isnan(number) | (number != np.round(number))
    bad = col.lookup(bad_label, True)
    if bad.any():
        problems.append(f"column 'repeat' is not a whole number in {format_rows(bad)}")
    whole = np.where(bad_label, 0, number).astype(np.int64).tolist()
    key = _merge(col, whole, 0)
    return key, np.array(key.names, np.int64)
