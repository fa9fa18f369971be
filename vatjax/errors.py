"""The one exception type vatjax raises for bad input."""

from __future__ import annotations

__all__ = ["VatInputError"]


class VatInputError(ValueError):
    """Bad input: the message names the problem, where it is, and the fix.

    ``problems`` holds every problem found (validation reports them all at once).

    Example:
        >>> err = VatInputError("2 problems", problems=["a", "b"])
        >>> err.problems
        ['a', 'b']
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems) if problems else [message]
        if problems:
            message = message + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)
