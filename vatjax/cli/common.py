"""What every command shares: the consoles, the error guard, stages, parsing, output checks.

Example:
    >>> parse_scale("1,7")
    (1, 7)
    >>> split_names("model-1, model-2,")
    ['model-1', 'model-2']
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from vatjax.cli.flags import flags_of
from vatjax.errors import VatInputError, command_line

__all__ = [
    "RESULT_SUFFIXES",
    "Stages",
    "check_folder",
    "check_out",
    "console",
    "err_console",
    "friendly_errors",
    "parse_scale",
    "split_names",
    "stage",
]

def _width(stream) -> int | None:
    """The console's width: the terminal's (or $COLUMNS), else 200 for logs and pipes."""
    return None if stream.isatty() or os.environ.get("COLUMNS", "").isdigit() else 200


console = Console(width=_width(sys.stdout), emoji=False)
err_console = Console(stderr=True, width=_width(sys.stderr), emoji=False)


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


class Stages:
    """A command's stages, one line each on stdout once done: what ran and its wall time.

    While a stage runs, a terminal shows a spinner (``spinner=False`` for a stage that
    draws its own progress bar); warnings raised inside it print after its line as
    ``warning: message`` on stderr (no source path). ``seconds`` keeps each stage's time.

    Example:
        >>> stages = Stages()
        >>> with stages("nothing", name="idle"):
        ...     pass
        nothing: 0.0 s
        >>> list(stages.seconds)
        ['idle']
    """

    def __init__(self, *, quiet: bool = False):
        self.quiet = quiet
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, what: str, *, name: str | None = None, spinner: bool = True):
        live = spinner and not self.quiet and console.is_terminal
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            with console.status(what) if live else contextlib.nullcontext():
                yield
        took = time.perf_counter() - start
        self.seconds[name or what] = round(took, 2)
        if not self.quiet:
            console.print(f"{what}: {took:.1f} s", highlight=False, soft_wrap=True)
        for message in dict.fromkeys(str(w.message) for w in caught):
            err_console.print(f"warning: {escape(message)}", highlight=False, soft_wrap=True)


def stage(what: str, *, spinner: bool = True):
    """One stage of a simple command (see :class:`Stages`)."""
    return Stages()(what, spinner=spinner)


def write_result(result, table: pd.DataFrame, out) -> None:
    """Write a command's result: every variable to .nc, or its table to .csv/.json."""
    from vatjax.data import save, write_table

    if out.suffix.lower() in (".nc", ".nc4"):
        save(result, out)
    else:
        write_table(table, out)
    console.print(f"results written to {out}")


RESULT_SUFFIXES = (".nc", ".nc4", ".csv", ".json", ".jsonl", ".parquet")
"""What ``--out`` of a table-making command accepts: netCDF (every variable) or a table."""


def check_out(out: Path | None, suffixes=RESULT_SUFFIXES, *, flag: str = "--out") -> None:
    """Refuse an output path before any computing: a suffix the command cannot write, or a
    folder that cannot be created or written to.

    Example:
        >>> check_out(Path("results.xlsx"))
        Traceback (most recent call last):
        vatjax.errors.VatInputError: --out results.xlsx: ... .nc, .nc4, .csv, ...
    """
    if out is None:
        return
    if suffixes and out.suffix.lower() not in suffixes:
        raise VatInputError(
            f"{flag} {out}: cannot write a {out.suffix or 'suffix-less'} file; give a path "
            f"ending in {', '.join(suffixes)}"
        )
    check_folder(out.parent if suffixes else out, flag=flag)


def check_folder(folder: Path, *, flag: str = "--out") -> None:
    """Create ``folder`` (and its parents) and check that files can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vatjax-write-check"):
            pass
    except OSError as exc:
        raise VatInputError(
            f"{flag} {folder}: cannot write there ({exc.strerror or exc}); choose a folder you "
            "can write to"
        ) from None
