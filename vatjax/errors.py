"""The one exception type vatjax raises for bad input, and the words its messages use.

A message names the option to change in the words of the interface in use: a keyword in
Python (``scale=(low, high)``), a flag on the command line (``--scale LOW,HIGH``). The
command line sets the interface around each command (:func:`command_line`, with the
flags that command has); a message spells an option with :func:`option`, from the one
table :data:`OPTIONS`, and shows a value with :func:`plain` (never a numpy repr).

Example:
    >>> option("scale"), option("n_resamples", 0)
    ('scale=(low, high)', 'n_resamples=0')
    >>> with command_line({"--bootstrap", "--scale"}):
    ...     option("scale"), option("n_resamples", 0), option("n_resamples", bare=True)
    ('--scale LOW,HIGH', '--bootstrap 0', '--bootstrap')
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple

__all__ = ["OPTIONS", "Option", "VatInputError", "command_line", "option", "plain"]


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


class Option(NamedTuple):
    """One option in both interfaces: its Python keyword and a placeholder for its value,
    its command-line flags (the first one a command has is used) and their placeholder."""

    keyword: str
    placeholder: str
    flags: tuple[str, ...]
    cli_placeholder: str


OPTIONS: dict[str, Option] = {
    "scale": Option("scale", "(low, high)", ("--scale",), "LOW,HIGH"),
    "baseline": Option("baseline", "NAME", ("--baseline",), "NAME"),
    "conditions": Option("conditions", "TABLE", ("--conditions",), "FILE"),
    "level": Option("level", "'value'", ("--level",), "value"),
    "n_resamples": Option("n_resamples", "N", ("--bootstrap", "--resamples"), "N"),
    "n_permutations": Option("n_permutations", "N", ("--null", "--permutations"), "N"),
    "confidence": Option("level", "0.95", ("--confidence",), "0.95"),
    "seed": Option("seed", "N", ("--seed",), "N"),
    "missing_rate": Option("missing_rate", "RATE", ("--missing-rate",), "RATE"),
    "eps": Option("eps", "EPS", ("--eps",), "EPS"),
    "interval": Option("interval", "'bca'", ("--interval",), "bca"),
    "scheme": Option("scheme", "'bootstrap'", ("--scheme",), "bootstrap"),
    "models": Option("models", "[NAMES]", ("--models",), "A,B"),
    "interventions": Option("interventions", "[NAMES]", ("--interventions",), "A,B"),
    "retest": Option("retest", "NAME", ("--retest",), "NAME"),
    "n_models": Option("n_models", "N", ("--models",), "N"),
    "n_scenarios": Option("n_scenarios", "N", ("--scenarios",), "N"),
    "preset": Option("model", "'mvn-marginal'", ("--model",), "mvn-marginal"),
    "draws": Option("draws", "N", ("--draws", "--fit-draws"), "N"),
    "warmup": Option("warmup", "N", ("--warmup", "--fit-warmup"), "N"),
    "chains": Option("chains", "N", ("--chains", "--fit-chains"), "N"),
    "order": Option("order", "[VALUES]", ("--order",), "V1,V2,..."),
    "angles": Option("angles", "[RADIANS]", ("--angles",), "DEGREES,..."),
    "harmonics": Option("harmonics", "K", ("--harmonics",), "K"),
}
"""Every option a message may name: a label (mostly the Python keyword; ``confidence``
is the ``level`` of an interval) -> its spelling in Python and on the command line."""

_FLAGS: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "vatjax_command_line_flags", default=None
)
"""The flags of the command running (None: the Python interface)."""


@contextlib.contextmanager
def command_line(flags: Iterable[str]) -> Iterator[None]:
    """Spell options as command-line flags inside the block; ``flags`` are those of the
    command running (an option with several flags takes the first of them it has)."""
    token = _FLAGS.set(frozenset(flags))
    try:
        yield
    finally:
        _FLAGS.reset(token)


def _cli_value(value: object) -> str:
    """A value as typed after a flag: a tuple or list joined by commas."""
    if isinstance(value, tuple | list):
        return ",".join(_cli_value(v) for v in value)
    return value if isinstance(value, str) else plain(value)


def option(label: str, value: object = None, *, bare: bool = False) -> str:
    """The option ``label`` of :data:`OPTIONS` in the words of the interface in use:
    with a placeholder for its value, with ``value``, or ``bare`` (its name alone).

    Example:
        >>> option("baseline"), option("baseline", "pre"), option("confidence", bare=True)
        ('baseline=NAME', "baseline='pre'", 'level')
        >>> with command_line({"--confidence"}):
        ...     option("baseline", "pre"), option("confidence", bare=True)
        ('--baseline pre', '--confidence')
    """
    opt = OPTIONS[label]
    flags = _FLAGS.get()
    if flags is None or not opt.flags:
        if bare:
            return opt.keyword
        return f"{opt.keyword}={opt.placeholder if value is None else plain(value)}"
    flag = next((f for f in opt.flags if f in flags), opt.flags[0])
    if bare:
        return flag
    return f"{flag} {opt.cli_placeholder if value is None else _cli_value(value)}"


def plain(value: object) -> str:
    """A value as a message shows it: numbers plainly (numpy scalars as Python numbers,
    NaN as NaN), text quoted, sequences of them in brackets.

    Example:
        >>> import numpy as np
        >>> plain(np.float64("nan")), plain(np.int64(3)), plain(2.50), plain("a")
        ('NaN', '3', '2.5', "'a'")
        >>> plain((1, np.float32(7.0)))
        '(1, 7)'
    """
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()  # a numpy scalar
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, tuple | list):
        inner = ", ".join(plain(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return repr(value)
