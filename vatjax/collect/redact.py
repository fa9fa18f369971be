"""Keep the API key out of every server text the collector prints or stores.

A server's error body may quote the key it was sent, whole ("Incorrect API key provided:
sk-abc123...") or masked, as OpenAI does ("sk-abc1****************wxyz"). The
:class:`Redactor` replaces, in any text:

* the key itself;
* any run of :data:`MIN_FRAGMENT` (8) or more consecutive characters of it (a truncated or
  partly masked echo) -- a key of up to 8 characters is only replaced whole;
* a masked echo: a word holding a run of mask characters (``*``, ``•``, ``…``, ``x``; at
  least 3) that starts with the key's first 4 characters or ends with its last 4 (trailing
  punctuation aside), for a key of 8 or more characters. Shorter pieces are left alone:
  every OpenAI key starts with ``sk-``, and 4 characters alone identify no key.

Each is replaced by :data:`REDACTED`.

Example:
    >>> r = Redactor("sk-abc123def456wxyz")
    >>> r("Incorrect API key provided: sk-abc123def456wxyz. See the docs.")
    'Incorrect API key provided: [API key redacted]. See the docs.'
    >>> r("Incorrect API key provided: sk-a*************wxyz.")
    'Incorrect API key provided: [API key redacted].'
    >>> r("key sk-abc123de... is not valid")
    'key [API key redacted]... is not valid'
    >>> Redactor("")("nothing to hide")
    'nothing to hide'
"""

from __future__ import annotations

import re

__all__ = ["MIN_FRAGMENT", "REDACTED", "Redactor"]

REDACTED = "[API key redacted]"
"""What stands in for the key, or a piece of it, in a redacted text."""

MIN_FRAGMENT = 8
"""Shortest run of the key's characters that is redacted on its own."""

_EDGE = 4  # the key's first/last characters that mark a masked echo
_WORD = re.compile(r"[^\s\"'`,;()\[\]{}<>]+")
_MASK = re.compile(r"[*•…xX]{3,}")
_TRAIL = ".:!?"


class Redactor:
    """A callable that removes one API key (and the pieces servers echo) from a text.

    Args:
        key: the API key; empty or None: texts pass through unchanged.
    """

    def __init__(self, key: str | None):
        self.key = key or ""
        n = len(self.key)
        self._windows = (
            {self.key[i : i + MIN_FRAGMENT] for i in range(n - MIN_FRAGMENT + 1)}
            if n > MIN_FRAGMENT
            else set()
        )
        self._edges = (self.key[:_EDGE], self.key[-_EDGE:]) if n >= 2 * _EDGE else None

    def __call__(self, text: str | None) -> str | None:
        """``text`` with the key and its echoed pieces replaced by :data:`REDACTED`."""
        if not text or not self.key:
            return text
        text = text.replace(self.key, REDACTED)
        if self._windows and self._has_fragment(text):
            text = self._fragments(text)
        if self._edges and _MASK.search(text):
            text = _WORD.sub(self._masked_word, text)
        return text

    def _has_fragment(self, text: str) -> bool:
        """Whether any 8-character run of the key is in ``text`` (cheap for short texts:
        a set lookup per position, not a search per run of the key)."""
        n = len(text) - MIN_FRAGMENT + 1
        if n <= 0 or n > len(self._windows):
            return n > 0  # too short for a run, or long: let _fragments search it
        return not self._windows.isdisjoint([text[i : i + MIN_FRAGMENT] for i in range(n)])

    def _fragments(self, text: str) -> str:
        """Replace each maximal stretch covered by 8-character runs of the key."""
        covered = [False] * len(text)
        for w in self._windows:
            start = text.find(w)
            while start >= 0:
                covered[start : start + MIN_FRAGMENT] = [True] * MIN_FRAGMENT
                start = text.find(w, start + 1)
        if not any(covered):
            return text
        out, i = [], 0
        while i < len(text):
            if covered[i]:
                while i < len(text) and covered[i]:
                    i += 1
                out.append(REDACTED)
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def _masked_word(self, match: re.Match) -> str:
        word = match.group(0)
        core = word.rstrip(_TRAIL)
        if not _MASK.search(core):
            return word
        head, tail = self._edges
        if core.startswith(head) or core.endswith(tail):
            return REDACTED + word[len(core) :]
        return word
