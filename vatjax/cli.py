"""The ``vatjax`` command line: simulate, vat, demo (and the commands later issues add).

Every command prints a clear message and exits with code 2 on bad input, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import typer
from rich.console import Console

from vatjax.errors import VatInputError

app = typer.Typer(
    name="vatjax",
    help="Measure the Value Alignment Tax of LLM alignment interventions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def friendly_errors[F: Callable](func: F) -> F:
    """Turn bad-input exceptions into a one-paragraph message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (VatInputError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def main() -> None:
    """Entry point of the ``vatjax`` script."""
    app(prog_name="vatjax")


if __name__ == "__main__":
    sys.exit(main())
