"""Item banks: scenario-action items to be judged, loaded and validated.

An item is one action in one scenario, labelled with the micro-value it bears on and its
polarity (``express``: the action supports the micro-value; ``suppress``: it goes against
it). Columns after loading::

    scenario, scenario_text, action, micro_value, value, polarity, country, topic

Example:
    >>> from vatjax.collect import load_items, demo_items_path
    >>> items = load_items(demo_items_path())
    >>> sorted(items["polarity"].unique())
    ['express', 'suppress']
    >>> items["value"].nunique()
    10
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from vatjax.collect.item_schema import propose_fields
from vatjax.data.signs import POLARITY_NAMES, SIGNS, sign_of
from vatjax.data.table import cell_text, format_rows, read_table
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = [
    "ITEM_FIELDS",
    "OPTIONAL_FIELDS",
    "demo_items_path",
    "load_items",
    "split_items",
]

ITEM_FIELDS = ("scenario", "scenario_text", "action", "micro_value", "polarity")
"""Required item fields."""
OPTIONAL_FIELDS = ("country", "topic")
"""Optional item fields (empty string when absent)."""


def demo_items_path() -> Path:
    """Path of the small item bank shipped with vatjax (12 scenarios, 10 values).

    Example:
        >>> demo_items_path().name
        'items_demo.jsonl'
    """
    return Path(str(files("vatjax").joinpath("data", "assets", "items_demo.jsonl")))


def _text(x) -> str:
    """A cell as text: None/NaN -> '', 3.0 -> '3', strings stripped."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    return cell_text(x)


def _check_mapping(df: pd.DataFrame, fields: Mapping[str, str]) -> None:
    """A ``fields`` mapping names columns the file has, onto item fields."""
    known = (*ITEM_FIELDS, *OPTIONAL_FIELDS)
    problems = []
    for src, dst in fields.items():
        if dst not in known:
            problems.append(
                f"fields maps {src!r} onto {dst!r}, which is not an item field; "
                f"map the file's column names onto {list(known)}"
            )
        elif src not in df.columns:
            hint = difflib.get_close_matches(str(src), [str(c) for c in df.columns], n=1)
            problems.append(
                f"fields names column {src!r}, which the file does not have"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; its columns are {list(df.columns)}"
            )
    if problems:
        raise VatInputError("bad `fields` mapping", problems)


def _discover(df: pd.DataFrame, fields: Mapping[str, str], taxonomy: Taxonomy):
    """Propose the item fields the file lacks from its other columns; apply the proposal."""
    given = set(fields.values())
    proposal = propose_fields(df.drop(columns=[c for c in given if c in df.columns]), taxonomy)
    proposal.fields = {s: d for s, d in proposal.fields.items() if d not in given}
    proposal.derived_scenario &= "scenario" not in given
    return proposal.apply(df), proposal


def _map_fields(df: pd.DataFrame, fields, where: str, taxonomy: Taxonomy):
    """Rename the file's columns onto item fields (``fields``, then a proposal for the
    fields still missing); raise on a bad mapping or fields no column fits."""
    fields = dict(fields or {})
    if fields:
        _check_mapping(df, fields)
        clash = [c for c in fields.values() if c in df.columns and c not in fields]
        df = df.drop(columns=clash).rename(columns=fields)
    proposal = None
    if any(c not in df.columns for c in ITEM_FIELDS):
        df, proposal = _discover(df, fields, taxonomy)
    missing = [c for c in ITEM_FIELDS if c not in df.columns]
    if missing:
        hints = []
        for m in missing:
            close = difflib.get_close_matches(m, [str(c) for c in df.columns], n=1, cutoff=0.5)
            if close:
                hints.append(f"{close[0]!r} -> {m!r}")
        hint = f"; e.g. fields={{{', '.join(hints)}}}" if hints else ""
        raise VatInputError(
            f"the item bank{where} has no column(s) {missing}, and none of its columns "
            f"{list(df.columns)} looks like them. Name the file's columns with "
            f"fields={{'their_name': 'item_field'}} (--field THEIR=ITEM){hint}\n{proposal}"
        )
    return df, proposal


def _check_micro_values(out, df, taxonomy: Taxonomy, problems: list[str]) -> None:
    """Micro-values against the taxonomy (sets micro_value and value); a 'value' column
    must agree."""
    canon: dict[str, str | None] = {}
    for raw in out["micro_value"].unique():
        if raw == "":
            continue
        c = taxonomy.canonical(raw)
        if c is not None and c in taxonomy.values:
            problems.append(
                f"column 'micro_value' names the value {c!r} instead of one of its "
                f"micro-values in {format_rows(out['micro_value'] == raw)}; use one of "
                f"{[u for u, v in taxonomy.micro_values.items() if v == c]}"
            )
            c = None
        elif c is None:
            problems.append(
                f"unknown micro-value {raw!r} in column 'micro_value', "
                f"{format_rows(out['micro_value'] == raw)}{taxonomy.suggest(raw)}; use a "
                f"micro-value of the {taxonomy.name} taxonomy"
            )
        canon[raw] = c
    out["micro_value"] = out["micro_value"].map(lambda r: canon.get(r) or "")
    out["value"] = out["micro_value"].map(lambda u: taxonomy.micro_values.get(u, ""))
    if "value" in df.columns:
        given = df["value"].map(lambda v: taxonomy.canonical(_text(v)))
        clash = (out["value"] != "") & (given != out["value"])
        if clash.any():
            first = clash.idxmax()
            problems.append(
                f"column 'value' disagrees with the value of 'micro_value' in "
                f"{format_rows(clash)} (e.g. {out.loc[first, 'micro_value']!r} belongs to "
                f"{out.loc[first, 'value']!r}, not {df.loc[first, 'value']!r}); "
                "drop the 'value' column or fix it"
            )


def _check_polarity(out, polarity_labels, problems: list[str]) -> None:
    """Polarity labels -> 'express'/'suppress' (the sign vocabulary plus polarity_labels)."""
    table = {label: POLARITY_NAMES[sign] for label, sign in SIGNS.items()}
    for label, target in (polarity_labels or {}).items():
        sign = sign_of(_text(target))
        if sign is None:
            raise VatInputError(
                f"polarity_labels maps {label!r} onto {target!r}; map labels onto "
                "'express' or 'suppress'"
            )
        table[_text(label).casefold()] = POLARITY_NAMES[sign]
    pol = out["polarity"].str.casefold().map(table)
    bad = pol.isna() & (out["polarity"] != "")
    if bad.any():
        first = bad.idxmax()
        problems.append(
            f"column 'polarity' is not one of express/suppress/+1/-1 in {format_rows(bad)} "
            f"(e.g. {out.loc[first, 'polarity']!r}); fix it or pass "
            "polarity_labels={'your label': 'express' or 'suppress'}"
        )
    out["polarity"] = pol.fillna("")


def _check_scenarios(out, problems: list[str]) -> None:
    """One text per scenario id, one action per (scenario, micro_value, polarity)."""
    texts = out[out["scenario_text"] != ""].groupby("scenario", sort=False)["scenario_text"]
    for sid, n in texts.nunique().items():
        if n > 1:
            problems.append(
                f"scenario {sid!r} has {n} different texts in "
                f"{format_rows(out['scenario'] == sid)}; give each scenario one text and one id"
            )
    key = ["scenario", "micro_value", "polarity"]
    valid = (out[key] != "").all(axis=1)
    dup = out.duplicated(key, keep=False) & valid
    if dup.any():
        first = dup.idxmax()
        problems.append(
            f"duplicate (scenario, micro_value, polarity) items in {format_rows(dup)} (e.g. "
            f"{tuple(out.loc[first, key])}); a judgment is keyed by these three, so keep "
            "one action per key"
        )


def load_items(
    source: str | os.PathLike | pd.DataFrame,
    *,
    fields: Mapping[str, str] | None = None,
    polarity_labels: Mapping[str, str | int] | None = None,
    taxonomy: Taxonomy = SCHWARTZ,
) -> pd.DataFrame:
    """Load and validate an item bank from JSON, JSON lines, CSV or Parquet.

    Every problem is reported at once in one :class:`~vatjax.errors.VatInputError`, with
    row numbers (1-based) and column names: missing columns, empty cells, unknown
    micro-values (with a did-you-mean hint), polarity not express/suppress/+1/-1,
    duplicate (scenario, micro_value, polarity) items, one scenario id with two texts.

    Args:
        source: a path (.json, .jsonl/.ndjson, .csv, .parquet) or a DataFrame. A .json
            file holds a list of records (or an object with one such list); nested
            objects become dotted column names such as ``"meta.country"``.
        fields: maps the file's column names onto item fields, e.g.
            ``{"scene_id": "scenario", "scene": "scenario_text", "value_item":
            "micro_value", "label": "polarity"}``. Item fields: ``scenario,
            scenario_text, action, micro_value, polarity`` and optional ``country,
            topic``. The item fields that neither the file's column names nor
            ``fields`` give are proposed from the columns' names and values
            (:func:`~vatjax.collect.item_schema.propose_fields`); the proposal is in
            the result's ``attrs["fields"]`` (and ``attrs["proposal"]``, as text).
        polarity_labels: maps other polarity labels onto express/suppress, e.g.
            ``{"support": "express", "violate": "suppress"}``.
        taxonomy: micro-values must come from it.

    Returns:
        DataFrame with columns scenario, scenario_text, action, micro_value, value,
        polarity ('express'/'suppress'), country, topic; micro-values spelled as in the
        taxonomy.

    Example:
        >>> import pandas as pd
        >>> raw = pd.DataFrame({"id": ["s1"], "scene": ["A test."], "action": ["Act."],
        ...                     "item": ["wealth"], "sign": [-1]})
        >>> items = load_items(raw, fields={"id": "scenario", "scene": "scenario_text",
        ...                                 "item": "micro_value", "sign": "polarity"})
        >>> items.loc[0, ["micro_value", "value", "polarity"]].tolist()
        ['Wealth', 'Power', 'suppress']
        >>> raw["scene"] = "A neighbour asks to borrow money."
        >>> load_items(raw).attrs["fields"]  # proposed from the names and values
        {'id': 'scenario', 'scene': 'scenario_text', 'action': 'action', 'item': 'micro_value', 'sign': 'polarity'}
    """
    df = read_table(source, as_written=True).reset_index(drop=True)
    name = getattr(source, "name", None) if not isinstance(source, pd.DataFrame) else None
    where = f" in {name}" if name else ""
    if df.empty:
        raise VatInputError(
            f"the item bank{where} is empty; it needs one item (scenario, action, "
            "micro_value, polarity) per row"
        )
    df, proposal = _map_fields(df, fields, where, taxonomy)
    if proposal is not None:
        polarity_labels = {**proposal.polarity_labels, **(polarity_labels or {})}
    problems: list[str] = []
    out = pd.DataFrame(index=df.index)
    for col in (*ITEM_FIELDS, *OPTIONAL_FIELDS):
        out[col] = df[col].map(_text) if col in df.columns else ""
    for col in ITEM_FIELDS:
        empty = out[col] == ""
        if empty.any():
            problems.append(f"column '{col}' is empty in {format_rows(empty)}; fill it in")
    _check_micro_values(out, df, taxonomy, problems)
    _check_polarity(out, polarity_labels, problems)
    _check_scenarios(out, problems)
    if problems:
        raise VatInputError(f"{len(problems)} problem(s) in the item bank{where}", problems)
    cols = ["scenario", "scenario_text", "action", "micro_value", "value", "polarity"]
    items = out[[*cols, *OPTIONAL_FIELDS]].reset_index(drop=True)
    if proposal is not None:
        items.attrs["fields"] = dict(proposal.fields)
        items.attrs["proposal"] = str(proposal)
    return items


def split_items(
    items: pd.DataFrame, holdout: float = 0.3, *, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split an item bank by scenario into (evaluation items, held-out example pool).

    Whole scenarios are held out (as the paper split its data by scenario), so a few-shot
    example never shares a scenario with an evaluated item. The split depends only on the
    scenario ids, ``holdout`` and ``seed``: a rerun holds out the same scenarios.

    Example:
        >>> items = load_items(demo_items_path())
        >>> evaluate, pool = split_items(items, 0.25)
        >>> pool["scenario"].nunique(), evaluate["scenario"].nunique()
        (3, 9)
    """
    import hashlib

    if not 0 < holdout < 1:
        raise VatInputError(f"holdout must be a fraction between 0 and 1, got {holdout}")
    scenarios = list(pd.unique(items["scenario"]))
    if len(scenarios) < 2:
        raise VatInputError(
            f"cannot hold out few-shot examples from {len(scenarios)} scenario(s); the item "
            "bank needs at least 2 scenarios, or pass a separate example file"
        )
    order = sorted(scenarios, key=lambda s: hashlib.sha256(f"{seed}:{s}".encode()).hexdigest())
    n_hold = min(max(1, round(holdout * len(scenarios))), len(scenarios) - 1)
    held = set(order[:n_hold])
    mask = items["scenario"].isin(held)
    return items[~mask].reset_index(drop=True), items[mask].reset_index(drop=True)
