"""Value taxonomies: the values in circumplex order, their angles, and their micro-values.

The default is the 10 basic Schwartz values with the 56 Schwartz Value Survey items
(VAT_SPEC section 6). Any other taxonomy (the 19 refined Schwartz values, Moral
Foundations, ...) goes through the same :class:`Taxonomy`.

Example:
    >>> from vatjax import SCHWARTZ
    >>> SCHWARTZ.value_of("Wealth")
    'Power'
    >>> len(SCHWARTZ.values), len(SCHWARTZ.micro_values)
    (10, 56)
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field

from vatjax.errors import VatInputError

__all__ = ["SCHWARTZ", "Taxonomy", "taxonomy_of"]


def _key(name: str) -> str:
    """Case, space and hyphen-insensitive lookup key for a name."""
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


@dataclass(frozen=True)
class Taxonomy:
    """Values in circumplex order, their angles (radians) and micro-values.

    Args:
        values: value names in circumplex order.
        micro_values: mapping micro-value name -> value name.
        angles: one angle in radians per value; default equal spacing from 0.
        name: a label stored with results.

    Example:
        >>> mft = Taxonomy(("Care", "Fairness", "Loyalty"), {"Kindness": "Care"}, name="mini")
        >>> round(mft.angles[1], 6)  # 2 pi / 3
        2.094395
    """

    values: tuple[str, ...]
    micro_values: dict[str, str]
    angles: tuple[float, ...] = ()
    name: str = "custom"
    _lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = tuple(str(v) for v in self.values)
        if not values:
            raise VatInputError("a taxonomy needs at least one value")
        if len({_key(v) for v in values}) != len(values):
            raise VatInputError(f"taxonomy values are not unique: {values}")
        micro = {str(k): str(v) for k, v in dict(self.micro_values).items()}
        unknown = sorted({v for v in micro.values() if v not in values})
        if unknown:
            raise VatInputError(
                f"micro-values map to values not in the taxonomy: {unknown}; "
                f"the values are {list(values)}"
            )
        angles = tuple(float(a) for a in self.angles) or tuple(
            2 * math.pi * i / len(values) for i in range(len(values))
        )
        if len(angles) != len(values):
            raise VatInputError(
                f"{len(angles)} angles given for {len(values)} values; give one angle per value"
            )
        lookup = {_key(n): n for n in (*values, *micro)}
        if len(lookup) != len(values) + len(micro):
            raise VatInputError("value and micro-value names must be distinct from each other")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "micro_values", micro)
        object.__setattr__(self, "angles", angles)
        object.__setattr__(self, "_lookup", lookup)

    def canonical(self, name: str) -> str | None:
        """The taxonomy's spelling of a value or micro-value name, or None if unknown."""
        return self._lookup.get(_key(name))

    def suggest(self, name: str) -> str:
        """A 'did you mean' hint for an unknown name ('' if nothing is close)."""
        close = difflib.get_close_matches(str(name), [*self.values, *self.micro_values], n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def value_of(self, name: str) -> str:
        """The value a micro-value (or value) belongs to."""
        canon = self.canonical(name)
        if canon is None:
            raise VatInputError(f"unknown value or micro-value {name!r}{self.suggest(name)}")
        return canon if canon in self.values else self.micro_values[canon]

    def to_json(self) -> str:
        """Serialise (stored in the attrs of every result)."""
        return json.dumps(
            {
                "name": self.name,
                "values": list(self.values),
                "angles": list(self.angles),
                "micro_values": self.micro_values,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Taxonomy:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        return cls(tuple(d["values"]), d["micro_values"], tuple(d["angles"]), d["name"])


_SCHWARTZ_ITEMS = {
    "Power": [
        "Social Power",
        "Authority",
        "Wealth",
        "Preserving my Public Image",
        "Social Recognition",
    ],
    "Achievement": [
        "Successful",
        "Capable",
        "Ambitious",
        "Influential",
        "Intelligent",
        "Self-Respect",
    ],
    "Hedonism": ["Pleasure", "Enjoying Life"],
    "Stimulation": ["Daring", "A Varied Life", "An Exciting Life"],
    "Self-direction": [
        "Creativity",
        "Curious",
        "Freedom",
        "Choosing Own Goals",
        "Independent",
    ],
    "Universalism": [
        "Protecting the Environment",
        "A World of Beauty",
        "Broad-Minded",
        "Social Justice",
        "Wisdom",
        "Equality",
        "A World at Peace",
        "Inner Harmony",
        "Unity With Nature",
    ],
    "Benevolence": [
        "Helpful",
        "Honest",
        "Forgiving",
        "Loyal",
        "Responsible",
        "True Friendship",
        "A Spiritual Life",
        "Mature Love",
        "Meaning in Life",
    ],
    "Tradition": [
        "Devout",
        "Accepting my Portion in Life",
        "Humble",
        "Moderate",
        "Respect for Tradition",
        "Detachment",
    ],
    "Conformity": [
        "Politeness",
        "Honoring of Parents and Elders",
        "Obedient",
        "Self-Discipline",
    ],
    "Security": [
        "Clean",
        "National Security",
        "Social Order",
        "Family Security",
        "Reciprocation of Favors",
        "Healthy",
        "Sense of Belonging",
    ],
}

SCHWARTZ = Taxonomy(
    values=(
        "Self-direction",
        "Stimulation",
        "Hedonism",
        "Achievement",
        "Power",
        "Security",
        "Conformity",
        "Tradition",
        "Benevolence",
        "Universalism",
    ),
    micro_values={item: value for value, items in _SCHWARTZ_ITEMS.items() for item in items},
    name="schwartz-10",
)
"""The 10 basic Schwartz values (circumplex order, equal angles) and 56 SVS items."""


def taxonomy_of(obj: object) -> Taxonomy:
    """The taxonomy stored in the ``attrs`` of a result (SCHWARTZ if none).

    Example:
        >>> from types import SimpleNamespace
        >>> taxonomy_of(SimpleNamespace(attrs={"taxonomy": SCHWARTZ.to_json()})).name
        'schwartz-10'
        >>> taxonomy_of(SimpleNamespace(attrs={})) is SCHWARTZ
        True
    """
    text = obj.attrs.get("taxonomy")  # type: ignore[attr-defined]
    return Taxonomy.from_json(text) if text else SCHWARTZ
