"""The progress bar of long resampling runs (rich, on stderr, gone when done).

Example:
    >>> bar, advance = progress_bar(True, 10, "demo")
    >>> with bar:
    ...     advance(10)
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["progress_bar"]


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
