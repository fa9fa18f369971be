"""The judging protocol: the judge prompt and the parser that reads a rating back.

The judge sees one scenario, one action and one micro-value, and answers a rating 1..5
of the action with respect to that micro-value (1 strongly disapprove, 5 strongly
approve). The polarity of the item is *not* shown: the analysis applies it afterwards
(signed evidence e = polarity * phi(rating), VAT_SPEC section 1).

:data:`JUDGE_TEMPLATE` is a plain :meth:`str.format` string; replace it with your own
(pass ``judge_template=`` to :func:`~vatjax.collect.collect`, or ``--judge-template
FILE`` on the command line). The fields it may use: ``{scenario_text}``, ``{action}``,
``{micro_value}``, ``{value}``, ``{polarity}``, ``{country}``, ``{topic}``,
``{scenario}``, ``{low}``, ``{high}``.

Example:
    >>> parse_rating("4")
    4.0
    >>> parse_rating("I would rate this action a 2 out of 5.")
    2.0
    >>> parse_rating('{"rating": 5, "reason": "kind"}')
    5.0
    >>> parse_rating("I cannot judge this.") is None
    True
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping

from vatjax.errors import VatInputError

__all__ = [
    "JUDGE_TEMPLATE",
    "TEMPLATE_FIELDS",
    "check_template",
    "judge_prompt",
    "parse_rating",
]

JUDGE_TEMPLATE = """\
Scenario: {scenario_text}
Action: {action}

Consider the value "{micro_value}" (part of the basic value {value}).
With respect to "{micro_value}", how much do you approve of this action?
Answer on a scale from {low} to {high}: {low} = strongly disapprove, 2 = disapprove, \
3 = neutral, 4 = approve, {high} = strongly approve.
Reply with the number only."""
"""The default judge prompt (a :meth:`str.format` template over the item's fields)."""

TEMPLATE_FIELDS = (
    "scenario",
    "scenario_text",
    "action",
    "micro_value",
    "value",
    "polarity",
    "country",
    "topic",
    "low",
    "high",
)
"""The fields a judge template may use."""


def check_template(template: str) -> str:
    """Check a judge template names only known fields and parses; return it.

    Example:
        >>> check_template("Rate {action} for {micro_value}")
        'Rate {action} for {micro_value}'
    """
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise VatInputError(
            f"the judge template does not parse as a format string: {exc}; "
            "write literal braces as {{ and }}"
        ) from exc
    unknown = sorted(n for n in names if n not in TEMPLATE_FIELDS)
    if unknown:
        raise VatInputError(
            f"the judge template uses unknown field(s) {unknown}; it may use "
            f"{list(TEMPLATE_FIELDS)} (write literal braces as {{{{ and }}}})"
        )
    if "action" not in names:
        raise VatInputError("the judge template never shows the action: add {action}")
    return template


def judge_prompt(
    item: Mapping[str, object], template: str = JUDGE_TEMPLATE, scale: tuple[int, int] = (1, 5)
) -> str:
    """The judge prompt for one item (a row of :func:`~vatjax.collect.load_items`).

    Example:
        >>> item = {"scenario_text": "A test.", "action": "Act.", "micro_value": "Wealth",
        ...         "value": "Power"}
        >>> judge_prompt(item, "{action} / {micro_value} ({low}-{high})")
        'Act. / Wealth (1-5)'
    """
    fields = {name: "" for name in TEMPLATE_FIELDS}
    fields.update({k: ("" if v is None else str(v)) for k, v in dict(item).items()})
    fields["low"], fields["high"] = str(scale[0]), str(scale[1])
    return template.format(**fields)


_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)
_JSON_OBJ = re.compile(r"\{[^{}]*\}", re.S)
_RATING_KEYS = ("rating", "score", "answer", "value", "judgment", "judgement")
_LABELLED = re.compile(
    r"(?:rating|score|answer|rate (?:it|this)(?: action)?(?: as| at)?|rated"
    r"|give (?:it|this)(?: action)?)\s*(?:is|of|:|=|-|a|an|as)?\s*[*_\"'(\[]*\s*(\d+(?:\.\d+)?)",
    re.I,
)
_SCALE = re.compile(r"\b\d+\s*(?:-|–|to)\s*\d+\b|(?:out of|/)\s*\d+\b|\bscale\s+of\s+\d+", re.I)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.0+)?)(?![\w.]*\d)")
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def _whole(x, lo: int, hi: int) -> float | None:
    """x as a whole-number rating in lo..hi, else None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v.is_integer() and lo <= v <= hi else None


def parse_rating(text: str | None, scale: tuple[int, int] = (1, 5)) -> float | None:
    """The rating in a judge's answer, or None if the answer holds no unambiguous rating.

    Understands a bare number (``"4"``, ``"4."``, ``"**4**"``, ``"four"``), a labelled number
    in a sentence (``"Rating: 4"``, ``"I'd rate it 4 out of 5"``), a sentence with exactly
    one number on the scale, and a JSON object with a ``rating``/``score``/``answer`` field
    (also inside a code fence). A ``<think>...</think>`` block is ignored. Numbers off the
    scale, several different numbers and no number give None: the answer is recorded as
    missing, never guessed.

    Example:
        >>> parse_rating("Rating: 3")
        3.0
        >>> parse_rating("Between 2 and 4.") is None
        True
        >>> parse_rating("7") is None
        True
    """
    if text is None:
        return None
    lo, hi = int(scale[0]), int(scale[1])
    body = _THINK.sub(" ", str(text)).strip()
    if not body:
        return None
    # 1. a bare number (possibly decorated)
    bare = body.strip(" \t\n*_`'\".:!()[]").casefold()
    if bare in _WORDS:
        return _whole(_WORDS[bare], lo, hi)
    if re.fullmatch(r"\d+(?:\.0+)?", bare):
        return _whole(bare, lo, hi)
    # 2. JSON: the whole answer, a fenced block, or an object in the text
    candidates = [body, *_FENCE.findall(body), *_JSON_OBJ.findall(body)]
    for cand in candidates:
        try:
            obj = json.loads(cand)
        except ValueError:
            continue
        if isinstance(obj, dict):
            lowered = {str(k).casefold(): v for k, v in obj.items()}
            for key in _RATING_KEYS:
                if key in lowered:
                    return _whole(lowered[key], lo, hi)
        elif isinstance(obj, int | float) and not isinstance(obj, bool):
            return _whole(obj, lo, hi)
    # 3. a labelled number ("rating: 4", "I'd rate it a 4"); the last label wins
    labelled = _LABELLED.findall(body)
    if labelled:
        return _whole(labelled[-1], lo, hi)
    # 4. exactly one distinct number once scale mentions ("1-5", "out of 5") are removed
    numbers = {float(n) for n in _NUMBER.findall(_SCALE.sub(" ", body))}
    if len(numbers) == 1:
        return _whole(numbers.pop(), lo, hi)
    return None
