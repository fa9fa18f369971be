"""The flags of a command, read from its typer options, and checks of flag values that
can fail before any file is read.

:func:`flags_of` tells :func:`vatjax.errors.command_line` which flags a command has, so
that a message names the flag of that command (``--bootstrap`` in ``vat``,
``--resamples`` in ``demo``). :func:`check_resampling_flags` runs the checks of
:func:`vatjax.bootstrap` and :func:`vatjax.noise_floor` on the flag values alone, so a
command rejects them at once rather than after loading and scoring a study.

Example:
    >>> from vatjax.cli.vat import vat_command
    >>> sorted(f for f in flags_of(vat_command) if f in {"--bootstrap", "--null", "--out"})
    ['--bootstrap', '--null', '--out']
"""

from __future__ import annotations

import typing
from collections.abc import Callable

from typer.models import OptionInfo

__all__ = ["check_resampling_flags", "flags_of"]


def flags_of(command: Callable) -> frozenset[str]:
    """The long flags (``--name``) of a typer command function's options."""
    try:
        hints = typing.get_type_hints(command, include_extras=True)
    except (NameError, TypeError):  # annotations that do not resolve: no option is known
        return frozenset()
    flags = set()
    for name, hint in hints.items():
        info = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, OptionInfo)),
                    None)  # fmt: skip
        if info is None:
            continue
        decls = [info.default, *info.param_decls]  # typer keeps the first flag as `default`
        named = [d for d in decls if isinstance(d, str) and d.startswith("--")]
        flags.update(named or ["--" + name.replace("_", "-")])
    return frozenset(flags)


def check_resampling_flags(
    *,
    n_resamples: int,
    n_permutations: int,
    scheme: str = "bootstrap",
    interval: str = "bca",
    confidence: float = 0.95,
    eps: float = 1e-3,
) -> None:
    """Raise :class:`~vatjax.VatInputError` for resampling flags that the resampling
    would reject; with 0 resamples or permutations none is run, and only the names of
    ``--scheme`` and ``--interval`` and the ``--confidence`` are checked.

    Example:
        >>> from vatjax.errors import command_line
        >>> with command_line({"--null"}):
        ...     check_resampling_flags(n_resamples=0, n_permutations=1)
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: --null 1 is too few permutations: ...
    """
    from vatjax.named.bootstrap import check_bootstrap_arguments
    from vatjax.named.noise_floor import check_noise_floor_arguments

    # 0 resamples runs none: the counts are not checked, the names and the level still are
    check_bootstrap_arguments(n_resamples or 2, scheme, interval, confidence, eps)
    if n_permutations:
        check_noise_floor_arguments(n_permutations)
