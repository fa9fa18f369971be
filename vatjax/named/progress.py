"""The progress bar of long resampling runs (rich, on stderr, gone when done).

Example:
    >>> bar, advance = progress_bar(True, 10, "demo")
    >>> with bar:
    ...     advance(10)
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar", "progress_spinner"]


def progress_bar(quiet: bool, total: int, what: str) -> tuple[Progress, Callable[[int], None]]:
    """A rich progress bar (a context manager) and the callback that advances it."""
    progress = Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=quiet,
    )
    task = progress.add_task(what, total=total)
    return progress, lambda count: progress.advance(task, count)


def progress_spinner(quiet: bool, what: str) -> Progress:
    """One line with a spinner and the time elapsed, for work that cannot report its
    progress (chains running in parallel inside one XLA call); a context manager.

    Example:
        >>> with progress_spinner(True, "demo"):
        ...     pass
    """
    progress = Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{what}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=quiet,
    )
    progress.add_task(what, total=None)
    return progress
