"""Item-file schema discovery: which column of an unknown item file is which item field.

:func:`propose_fields` reads the column names and the values: the column whose cells are
micro-values of the taxonomy, the one whose cells are two polarity words (express/
suppress, +1/-1, positive/negative, support/oppose, ...), the long texts (the action:
one per row; the scenario: shared by the rows of one scenario), a short scenario id, and
country/topic by name. Without a scenario id column, the id is derived from the
scenario text. :func:`~vatjax.collect.load_items` applies the proposal when the file's
columns are not the item fields and no ``fields=`` names them; ``fields=`` (``--field
THEIR=ITEM`` on the command line) corrects any part of it.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"country": ["Egypt"] * 2, "topic": ["Religion"] * 2,
    ...     "scenario": ["A family plans a wedding during a holy month."] * 2,
    ...     "value": ["Devout", "Wealth"], "polarity": ["positive", "negative"],
    ...     "action": ["They postpone it to honour the fast.", "They sell tickets."]})
    >>> p = propose_fields(df)
    >>> p.fields
    {'scenario': 'scenario_text', 'action': 'action', 'value': 'micro_value', 'polarity': 'polarity', 'country': 'country', 'topic': 'topic'}
    >>> p.polarity_labels
    {'positive': 'express', 'negative': 'suppress'}
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

import pandas as pd

from vatjax.data.signs import sign_of
from vatjax.data.table import cell_text, read_table
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["POLARITY_WORDS", "FieldProposal", "polarity_of", "propose_fields", "scenario_id"]

POLARITY_WORDS = {
    **dict.fromkeys(
        ["positive", "pos", "support", "supports", "promote", "promotes", "uphold",
         "upholds", "aligned", "consistent", "for", "pro", "expresses", "reinforces"],
        "express",
    ),
    **dict.fromkeys(
        ["negative", "neg", "oppose", "opposes", "violate", "violates", "undermine",
         "undermines", "misaligned", "inconsistent", "against", "anti", "con",
         "suppresses", "contradicts"],
        "suppress",
    ),
}  # fmt: skip
"""Polarity words read besides the sign vocabulary (express/suppress, +1/-1, ...)."""

_NAMES = {
    "scenario": ("scenario_id", "scenarioid", "scene_id", "sid", "situation_id", "case_id",
                 "vignette_id", "scenario", "id"),
    "scenario_text": ("scenario_text", "scenario", "situation", "context", "scene", "story",
                      "vignette", "description", "prompt", "text", "case"),
    "action": ("action", "action_text", "behavior", "behaviour", "response", "option",
               "choice", "decision", "conduct", "act"),
    "micro_value": ("micro_value", "microvalue", "value_item", "item", "value", "values"),
    "polarity": ("polarity", "sign", "label", "stance", "direction", "valence", "effect"),
    "country": ("country", "nation", "region", "culture", "locale"),
    "topic": ("topic", "domain", "social_domain", "category", "theme", "area"),
}  # fmt: skip
_LONG = 20  # a text column: mean length above this many characters


def _name(col: str) -> str:
    """Column name as a lookup key: its last dotted part, lower case, '_' for separators."""
    return re.sub(r"[^a-z0-9]+", "_", str(col).rsplit(".", 1)[-1].casefold()).strip("_")


def _rank(col: str, item_field: str) -> int:
    """How well a column's name fits an item field (0 best; 99 no fit)."""
    names = _NAMES[item_field]
    key = _name(col)
    return names.index(key) if key in names else 99


def polarity_of(label: str) -> str | None:
    """'express' or 'suppress' for a sign or a polarity word; None for any other label.

    Example:
        >>> polarity_of("-1"), polarity_of("Supports"), polarity_of("maybe")
        ('suppress', 'express', None)
    """
    sign = sign_of(label)
    if sign is not None:
        return "express" if sign > 0 else "suppress"
    return POLARITY_WORDS.get(label.casefold())


@dataclass
class FieldProposal:
    """A proposed mapping of a file's columns onto item fields.

    ``fields`` maps their column -> item field (the ``fields=`` of
    :func:`~vatjax.collect.load_items`); ``derived_scenario`` is True when the scenario
    id is derived from the scenario text; ``polarity_labels`` maps polarity words outside
    the sign vocabulary; ``reasons`` says why, per item field; ``missing`` lists the item
    fields no column fits.
    """

    fields: dict[str, str] = field(default_factory=dict)
    derived_scenario: bool = False
    polarity_labels: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"  {src!r} -> {dst} ({self.reasons.get(dst, 'named so')})"
                 for src, dst in self.fields.items()]  # fmt: skip
        if self.derived_scenario:
            lines.append("  scenario ids derived from the scenario text (no id column)")
        if self.missing:
            lines.append(f"  no column found for {self.missing}")
        return "proposed item fields:\n" + "\n".join(lines)

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        """The table with its columns renamed (and scenario ids derived), ready to load."""
        out = df.drop(columns=[c for c in self.fields.values() if c in df.columns
                               and c not in self.fields]).rename(columns=self.fields)  # fmt: skip
        if self.derived_scenario:
            out["scenario"] = out["scenario_text"].map(scenario_id)
        return out


def scenario_id(text) -> str:
    """A stable id for a scenario text (the same text gives the same id in any file).

    Example:
        >>> scenario_id("A scene.") == scenario_id(" A scene. ")
        True
    """
    return "scn-" + hashlib.sha256(cell_text(text).strip().encode()).hexdigest()[:10]


def _profile(s: pd.Series, taxonomy: Taxonomy) -> dict:
    """Shares of micro-values and polarity words, mean length and distinct share."""
    text = s.dropna().map(cell_text).map(str.strip)
    text = text[text != ""]
    if text.empty:
        return {"micro": 0.0, "polarity": 0.0, "two": False, "length": 0.0, "distinct": 0.0,
                "labels": {}}  # fmt: skip
    uniq = pd.unique(text)
    canon = {u: taxonomy.canonical(u) for u in uniq}
    micro = {u for u, c in canon.items() if c is not None and c in taxonomy.micro_values}
    labels = {u: polarity_of(u) for u in uniq}
    pol = {u for u, p in labels.items() if p is not None}
    return {
        "micro": float(text.isin(micro).mean()),
        "polarity": float(text.isin(pol).mean()),
        "two": len({p for p in labels.values() if p is not None}) == 2,
        "length": float(text.str.len().mean()),
        "distinct": len(uniq) / len(text),
        "labels": {u: p for u, p in labels.items() if p is not None},
    }


def _pick(cands: list[str], item_field: str, key=None) -> str | None:
    """The best candidate: by name fit, then by ``key`` (higher first)."""
    if not cands:
        return None
    return min(cands, key=lambda c: (_rank(c, item_field), -(key(c) if key else 0)))


def propose_fields(
    source: str | os.PathLike | pd.DataFrame,
    taxonomy: Taxonomy = SCHWARTZ,
    *,
    actions: bool = True,
) -> FieldProposal:
    """Propose which column is which item field, from the column names and values.

    ``source``: an item file (read as :func:`~vatjax.collect.load_items` reads it) or a
    DataFrame; ``print()`` the proposal to see it with its reasons.

    ``actions=False``: the table holds no action (judged documents of another tool), so
    its long text is the scenario.

    Example:
        >>> df = pd.DataFrame({"id": ["a", "b"], "situation": ["A long enough scene text."] * 2,
        ...     "what_they_do": ["They do the first thing.", "They do some other thing."],
        ...     "svs_item": ["wealth", "Honest"], "sign": [1, -1]})
        >>> propose_fields(df).fields
        {'id': 'scenario', 'situation': 'scenario_text', 'what_they_do': 'action', 'svs_item': 'micro_value', 'sign': 'polarity'}
    """
    df = read_table(source, as_written=True)
    prof = {c: _profile(df[c], taxonomy) for c in df.columns}
    p, taken = FieldProposal(), set()

    def take(col, item_field, why):
        if col is not None:
            p.fields[col], p.reasons[item_field] = item_field, why
            taken.add(col)

    micro = [c for c in df.columns if prof[c]["micro"] >= 0.8]
    take(_pick(micro, "micro_value", lambda c: prof[c]["micro"]), "micro_value",
         "its cells are micro-values")  # fmt: skip
    pol = [c for c in df.columns if c not in taken and prof[c]["polarity"] >= 0.95
           and (prof[c]["two"] or _rank(c, "polarity") < 99)]  # fmt: skip
    col = _pick(pol, "polarity")
    take(col, "polarity", "its cells are two polarity words")
    if col is not None:
        p.polarity_labels = {k: v for k, v in prof[col]["labels"].items() if sign_of(k) is None}
    texts = [c for c in df.columns if c not in taken and prof[c]["length"] > _LONG]
    named = [c for c in df.columns if c not in taken and _rank(c, "action") < 99]
    action = _pick(named, "action") or (
        max(texts, key=lambda c: prof[c]["distinct"]) if texts else None
    )
    if not actions:
        action = None
    take(action, "action", "a long text, one per row" if _rank(action or "", "action") == 99
         else "named so")  # fmt: skip
    texts = [c for c in texts if c != action]
    scene = _pick(texts, "scenario_text", lambda c: -prof[c]["distinct"])
    take(scene, "scenario_text", "a long text shared by several rows")
    ids = [c for c in df.columns if c not in taken and _rank(c, "scenario") < 99
           and prof[c]["length"] <= _LONG]  # fmt: skip
    take(_pick(ids, "scenario"), "scenario", "a short id")
    p.derived_scenario = "scenario" not in p.fields.values() and scene is not None
    for item_field in ("country", "topic"):
        named = [c for c in df.columns if c not in taken and _rank(c, item_field) < 99]
        take(_pick(named, item_field), item_field, "named so")
    have = set(p.fields.values()) | ({"scenario"} if p.derived_scenario else set())
    p.missing = [f for f in ("scenario", "scenario_text", "action", "micro_value", "polarity")
                 if f not in have and (actions or f != "action")]  # fmt: skip
    order = ["scenario", "scenario_text", "action", "micro_value", "polarity", "country", "topic"]
    p.fields = dict(sorted(p.fields.items(), key=lambda kv: order.index(kv[1])))
    return p
