"""The one sign vocabulary: the words and numbers that mean +1 or -1.

A judgments table's ``polarity`` and ``direction``, an item bank's ``polarity`` and a
condition spec's DIRECTION all read signs through :data:`SIGNS`.

Example:
    >>> sign_of("Reinforce"), sign_of(-1.0), sign_of("away"), sign_of("sideways")
    (1, -1, -1, None)
"""

from __future__ import annotations

from types import MappingProxyType

from vatjax.data.table import cell_text

__all__ = ["POLARITY_NAMES", "SIGNS", "sign_of"]

SIGNS = MappingProxyType(
    {
        **dict.fromkeys(["+1", "1", "1.0", "+", "express", "reinforce", "up", "toward"], 1),
        **dict.fromkeys(["-1", "-1.0", "-", "suppress", "down", "away"], -1),
    }
)
"""Sign of each accepted label (casefolded text; a number such as 1.0 reads as '1')."""

POLARITY_NAMES = MappingProxyType({1: "express", -1: "suppress"})
"""The polarity word of each sign."""


def sign_of(label: object) -> int | None:
    """+1 or -1 for an accepted label (any case, numbers too); None for any other.

    Example:
        >>> sign_of(" Express "), sign_of(1), sign_of("-")
        (1, 1, -1)
    """
    return SIGNS.get(cell_text(label).casefold())
