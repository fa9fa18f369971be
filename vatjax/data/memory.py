"""Free memory, and the problem to report when a large array will not fit in it.

The loader and the scorer ask before their large allocations, so a study too large for
the machine is told in a message rather than by a MemoryError or the out-of-memory killer.
:func:`available_bytes` is the one place that reads the machine (tests replace it).

Example:
    >>> size_text(3 * 2**30), size_text(1536)
    ('3.0 GiB', '1.5 KiB')
"""

from __future__ import annotations

import os

__all__ = ["available_bytes", "memory_problem", "size_text"]


def _meminfo() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (Linux), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _free_pages() -> int | None:
    """Free physical pages times the page size (POSIX systems that report them), or None."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def available_bytes() -> int | None:
    """Memory a new allocation can take: MemAvailable, else the free pages; None where
    the system says neither (then nothing is checked)."""
    found = _meminfo()
    return found if found is not None else _free_pages()


def size_text(n: float) -> str:
    """Bytes in binary units, with one decimal above a KiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    k = 0
    while abs(n) >= 1024 and k < len(units) - 1:
        n, k = n / 1024, k + 1
    return f"{n:.0f} B" if k == 0 else f"{n:.1f} {units[k]}"


def memory_problem(what: str, needed: int, fix: str) -> str | None:
    """The problem to report when ``needed`` bytes are more than are available; None
    when they fit or the system does not say.

    Example:
        >>> memory_problem("a thing", 2**70, "use less") is not None
        True
    """
    free = available_bytes()
    if free is None or needed <= free:
        return None
    return f"{what} needs {size_text(needed)} of memory and {size_text(free)} is available; {fix}"
