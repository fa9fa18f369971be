"""What every command shares: the two consoles, the error guard, table printing, parsing.

Example:
    >>> parse_scale("1,7")
    (1, 7)
    >>> split_names("model-1, model-2,")
    ['model-1', 'model-2']
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vatjax.cli.flags import flags_of
from vatjax.errors import VatInputError, command_line

__all__ = [
    "console",
    "err_console",
    "friendly_errors",
    "parse_scale",
    "print_table",
    "split_names",
    "stage",
]

console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def friendly_errors[F: Callable](func: F) -> F:
    """Turn bad-input exceptions into a one-paragraph message and exit code 2; inside the
    command, messages name options by the command's flags (:func:`vatjax.errors.option`).

    Example:
        >>> import typer
        >>> @friendly_errors
        ... def broken():
        ...     raise VatInputError("no such thing")
        >>> try:
        ...     broken()
        ... except typer.Exit as exc:
        ...     print(exc.exit_code)
        2
    """

    flags = flags_of(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with command_line(flags):
                return func(*args, **kwargs)
        except (VatInputError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def print_table(table: pd.DataFrame, title: str) -> None:
    """Print a table (floats to 3 decimals) on the console with rich."""
    out = Table(title=title, show_lines=False)
    for col in table.columns:
        out.add_column(col, justify="right" if table[col].dtype.kind in "fiu" else "left")
    for row in table.itertuples(index=False):
        out.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(out)


def parse_scale(text: str) -> tuple[int, int]:
    """The rating scale of ``--scale LOW,HIGH``: two whole numbers, HIGH above LOW; a bad
    one is a :class:`VatInputError`.

    Example:
        >>> parse_scale("7,1")
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: --scale must be LOW,HIGH with HIGH above LOW, like 1,5; got '7,1'
    """
    try:
        lo, hi = (int(p) for p in text.split(","))
    except ValueError:
        lo = hi = None
    if lo is None or hi <= lo:
        raise VatInputError(f"--scale must be LOW,HIGH with HIGH above LOW, like 1,5; got {text!r}")
    return lo, hi


def split_names(text: str | None) -> list[str] | None:
    """The names of a comma-separated option (None stays None: every name)."""
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@contextlib.contextmanager
def stage(what: str) -> Iterator[None]:
    """One progress line per stage of a long command, on stderr: what, then its wall time.

    Example:
        >>> with stage("nothing"):
        ...     pass
    """
    err_console.print(f"[dim]{what} ...[/]", highlight=False)
    start = time.perf_counter()
    yield
    err_console.print(
        f"[dim]{what}: done in {time.perf_counter() - start:.1f} s[/]", highlight=False
    )


def write_result(result, table: pd.DataFrame, out) -> None:
    """Write a command's result: every variable to .nc, or its table to .csv/.json."""
    from vatjax.data import save, write_table

    if out.suffix.lower() in (".nc", ".nc4"):
        save(result, out)
    else:
        write_table(table, out)
    console.print(f"results written to {out}")
