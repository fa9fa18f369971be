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

from typing import NamedTuple

import numpy as np
import pandas as pd

from vatjax.data.columns import Coded, first_rows, small_codes
from vatjax.data.signs import sign_of
from vatjax.data.table import cell_text, format_rows
from vatjax.taxonomy import Taxonomy

__all__ = ["Key", "parse_polarity", "parse_rating", "parse_repeat", "text_key", "unit_key"]

_MISSING_TEXT = ("", "nan", "none", "null")


class Key(NamedTuple):
    """A key column as codes into distinct names (-1 where the name is unusable)."""

    codes: np.ndarray
    names: list[str]


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
            kind = "micro-value" if has_micro else "value"
            problems.append(
                f"unknown {kind} {name!r} in column '{name_col}', {format_rows(key.codes == k)}"
                f"{tax.suggest(name)}; use a name of the {tax.name} taxonomy"
            )
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


def parse_polarity(col: Coded, problems: list[str]) -> np.ndarray:
    """Polarity per row as int8 +1/-1 (0 where the label is not a sign)."""
    signs = np.array([sign_of(x) or 0 for x in col.labels], np.int8)
    polarity = col.lookup(signs, sign_of(None) or 0)
    bad = polarity == 0
    if bad.any():
        i = int(np.argmax(bad))
        shown = col.labels[col.codes[i]] if col.codes[i] >= 0 else None
        problems.append(
            f"column 'polarity' is not one of express/suppress/+1/-1 in "
            f"{format_rows(bad)} (e.g. {shown!r})"
        )
    return polarity


def _label_numbers(labels: list) -> tuple[np.ndarray, np.ndarray]:
    """Each label as a number (NaN if none) and whether it is text that is not a number."""
    number = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    number = number.to_numpy(dtype=float, na_value=np.nan)
    text = [str(x).strip().casefold() for x in labels]
    not_number = np.isnan(number) & ~np.isin(text, _MISSING_TEXT)
    return number, not_number


def parse_rating(col: Coded, lo: int, hi: int, problems: list[str]) -> np.ndarray:
    """Each label's rating (float32, NaN when missing): numbers on the scale, whole."""
    number, not_number = _label_numbers(col.labels)
    off = ~np.isnan(number) & ((number < lo) | (number > hi))
    frac = ~np.isnan(number) & ~off & (number != np.round(number))
    checks = [
        (not_number, "is not a number", "{!r}", "; leave a missing rating empty"),
        (off, f"is off the {lo}..{hi} scale", "{:g}",
         "; declare the scale with scale=(low, high)"),
        (frac, "is not a whole number", "{:g}", "; ratings are Likert points"),
    ]  # fmt: skip
    for bad_label, what, fmt, hint in checks:
        if bad_label.any():
            rows = col.lookup(bad_label, False)
            k = col.codes[int(np.argmax(rows))]
            shown = fmt.format(col.labels[k] if fmt == "{!r}" else number[k])
            problems.append(f"column 'rating' {what} in {format_rows(rows)} (e.g. {shown}){hint}")
    return np.where(not_number | off | frac, np.nan, number).astype(np.float32)


def parse_repeat(col: Coded | None, n_rows: int, problems: list[str]) -> tuple[Key, np.ndarray]:
    """The repeat column as codes into its distinct whole numbers (0 when absent)."""
    if col is None:
        return Key(np.zeros(n_rows, np.int8), [0]), np.zeros(1, np.int64)
    number, _ = _label_numbers(col.labels)
    bad_label = np.isnan(number) | (number != np.round(number))
    bad = col.lookup(bad_label, True)
    if bad.any():
        problems.append(f"column 'repeat' is not a whole number in {format_rows(bad)}")
    whole = np.where(bad_label, 0, number).astype(np.int64).tolist()
    key = _merge(col, whole, 0)
    return key, np.array(key.names, np.int64)
