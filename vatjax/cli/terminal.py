"""Tables on the terminal: the decision columns first, fitted to the terminal's width.

A table prints the columns that fit, in their order, and names the ones left out (``--wide``
or the CSV has them all). Text columns are never cut: a model or intervention name prints
whole. :func:`vat_view` turns a VAT table into its decision columns, an estimate and its
interval in one cell.

Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"model": ["m"], "intervention": ["a"], "gain": [0.4],
    ...                   "gain_lower": [0.3], "gain_upper": [0.5], "nvat": [0.2]})
    >>> list(vat_view(t).columns)
    ['model', 'intervention', 'gain [95% CI]', 'nvat']
    >>> vat_view(t)["gain [95% CI]"][0]
    '0.400 [0.300, 0.500]'
"""

from __future__ import annotations

import math

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from vatjax.cli.common import console as stdout_console

__all__ = ["fitted_columns", "print_table", "vat_view"]

_PADDING, _EDGES = 2, 2
"""Characters each column adds to its widest cell (the gap to the next), and the table's
edges: what rich draws with ``box.SIMPLE_HEAD`` and collapsed padding."""


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _width(column, cells: list[str]) -> int:
    return max([len(str(column)), *map(len, cells)]) + _PADDING


def fitted_columns(table: pd.DataFrame, width: int) -> list[str]:
    """The leading columns of ``table`` whose cells fit in ``width`` characters (at least
    the first two, so every row is named).

    Example:
        >>> fitted_columns(pd.DataFrame({"a": ["x" * 8], "b": [1.0], "c": [2.0]}), 18)
        ['a', 'b']
    """
    kept, used = [], _EDGES
    for column in table.columns:
        need = _width(column, [_cell(v) for v in table[column].tolist()])
        if used + need > width and len(kept) >= 2:
            break
        kept.append(column)
        used += need
    return kept


def print_table(
    table: pd.DataFrame, title: str, *, wide: bool = False, out: Console | None = None
) -> None:
    """Print ``table`` (floats to 3 decimals, NaN as n/a): the columns that fit the terminal,
    or every column with ``wide``; a caption names the columns left out."""
    out = stdout_console if out is None else out
    shown = list(table.columns) if wide else fitted_columns(table, out.width)
    hidden = [c for c in table.columns if c not in shown]
    caption = None
    if hidden:
        names = ", ".join(hidden[:6]) + (", ..." if len(hidden) > 6 else "")
        caption = f"{len(hidden)} more column(s) ({names}): --wide, or write the CSV with --out"
    grid = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False,
                 collapse_padding=True)  # fmt: skip
    for col in shown:
        numeric = table[col].dtype.kind in "fiu"
        grid.add_column(str(col), justify="right" if numeric else "left", no_wrap=True)
    for row in table[shown].itertuples(index=False):
        grid.add_row(*(_cell(v) for v in row))
    needed = sum(_width(c, [_cell(v) for v in table[c].tolist()]) for c in shown)
    if wide and needed > out.width:  # wider than the terminal: let it wrap, never cut
        out = Console(file=out.file, width=needed, force_terminal=out.is_terminal)
    out.print(grid, highlight=False)


_DECISION = {"gain": "gain", "nvat_debiased": "nvat_debiased", "above_floor": "above floor",
             "nvat_p": "p", "nvat": "nvat", "nvat_floor": "floor",
             "centralization": "centralization", "n_samples": "n"}  # fmt: skip
"""The decision columns of a VAT table after model and intervention, in print order (the
first ones are kept on a narrow terminal), and their headers."""


def vat_view(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The decision columns of a VAT table, an estimate and its interval in one cell
    (gain's interval beside gain; the tax interval beside the debiased nVAT, whose
    quantity it covers)."""
    label = f"{confidence:.0%}"
    view = table[["model", "intervention"]].copy()
    bounds = {"gain": "gain", "nvat_debiased": "nvat"}
    for col, header in ((c, h) for c, h in _DECISION.items() if c in table.columns):
        lo, hi = f"{bounds.get(col)}_lower", f"{bounds.get(col)}_upper"
        if col in bounds and lo in table.columns and hi in table.columns:
            view[f"{header} [{label} CI]"] = [
                f"{_cell(v)} [{_cell(a)}, {_cell(b)}]"
                for v, a, b in zip(table[col], table[lo], table[hi], strict=True)
            ]
        else:
            view[header] = table[col]
    return view
