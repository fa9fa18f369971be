"""Tables: the one reader of long tables and item banks, and how rows are named in errors.

Example:
    >>> import pandas as pd
    >>> read_table(pd.DataFrame({"a": [1]})).shape
    (1, 1)
    >>> format_rows([False, True, True])
    'rows 2, 3'
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from vatjax.errors import VatInputError

__all__ = ["MAX_ROWS_SHOWN", "cell_text", "format_rows", "read_table"]

MAX_ROWS_SHOWN = 8
"""How many row numbers an error message lists before '... and N more'."""


def format_rows(mask) -> str:
    """'rows 3, 9 and 5 more' for a boolean mask (1-based data rows, header excluded).

    Example:
        >>> format_rows([True] + [False] * 3)
        'row 1'
        >>> format_rows([True] * 10)
        'rows 1, 2, 3, 4, 5, 6, 7, 8 and 2 more'
    """
    idx = np.flatnonzero(np.asarray(mask)) + 1
    shown = ", ".join(str(i) for i in idx[:MAX_ROWS_SHOWN])
    more = f" and {len(idx) - MAX_ROWS_SHOWN} more" if len(idx) > MAX_ROWS_SHOWN else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"


def cell_text(x: object) -> str:
    """A cell as text: integral floats as integers (a CSV's 3.0 means 3), strings stripped.

    Example:
        >>> cell_text(3.0), cell_text(" Power "), cell_text(2.5)
        ('3', 'Power', '2.5')
    """
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x).strip()


def _json_records(path: Path) -> list:
    """Records of a .json file: a list, or an object holding exactly one list."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise VatInputError(f"cannot parse {path} as JSON: {exc}") from exc
    if isinstance(data, dict):
        lists = {k: v for k, v in data.items() if isinstance(v, list)}
        if len(lists) != 1:
            raise VatInputError(
                f"{path.name}: a JSON item file must be a list of records, or an object "
                f"holding one list of records; found keys {sorted(data)[:10]}"
            )
        data = next(iter(lists.values()))
    if not isinstance(data, list):
        raise VatInputError(f"{path.name}: expected a list of records, got {type(data).__name__}")
    return data


def _jsonl_records(path: Path) -> list:
    """Records of a JSON-lines file; every unparseable line is reported at once."""
    records, bad = [], []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                bad.append(f"line {lineno} is not valid JSON ({exc.msg})")
    if bad:
        raise VatInputError(f"cannot parse {path.name}", bad)
    return records


def _records_frame(read: Callable[[Path], list]) -> Callable[[Path], pd.DataFrame]:
    """A reader of JSON records as a frame; nested objects become dotted columns."""

    def frame(path: Path) -> pd.DataFrame:
        records = read(path)
        not_obj = [i + 1 for i, r in enumerate(records) if not isinstance(r, dict)]
        if not_obj:
            raise VatInputError(
                f"{path.name}: records {not_obj[:MAX_ROWS_SHOWN]} are not JSON objects; "
                "each item must be an object with named fields"
            )
        return pd.json_normalize(records) if records else pd.DataFrame()

    return frame


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"scenario": str})


def _csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _jsonl(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True, dtype=False)


def _json(path: Path) -> pd.DataFrame:
    return pd.read_json(path, dtype=False)


# suffix -> (reader with parsed cells, reader with cells as written or None)
_READERS: dict[str, tuple[Callable[[Path], pd.DataFrame], Callable | None]] = {
    ".csv": (_csv, _csv_text),
    ".csv.gz": (_csv, None),
    ".parquet": (pd.read_parquet, pd.read_parquet),
    ".pq": (pd.read_parquet, pd.read_parquet),
    ".jsonl": (_jsonl, _records_frame(_jsonl_records)),
    ".ndjson": (_jsonl, _records_frame(_jsonl_records)),
    ".jsonl.gz": (_jsonl, None),
    ".json": (_json, _records_frame(_json_records)),
}


def read_table(
    source: pd.DataFrame | str | os.PathLike, *, as_written: bool = False
) -> pd.DataFrame:
    """Read a table from a DataFrame, CSV, Parquet, JSON-lines or JSON file (parsed, never run).

    Args:
        source: a DataFrame (copied) or a path; the suffix names the format.
        as_written: keep cells as written, as the item bank does: CSV cells as text,
            JSON read record by record (a list, or an object holding one list; every bad
            line reported at once; nested objects become dotted columns such as
            ``"meta.country"``). Compressed files are read only without it.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = path.write_text("scenario,rating\\n007,3\\n")
        >>> read_table(path)["scenario"].tolist(), read_table(path, as_written=True)["rating"].tolist()
        (['007'], ['3'])
    """
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    readers = {k: r[as_written] for k, r in _READERS.items() if r[as_written] is not None}
    if suffix not in readers:
        raise VatInputError(
            f"cannot read {path.name!r}: unknown file type {suffix!r}; "
            f"use one of {sorted(readers)} or pass a pandas DataFrame"
        )
    try:
        return readers[suffix](path)
    except VatInputError:
        raise
    except (ValueError, OSError) as exc:
        raise VatInputError(f"cannot parse {path}: {exc}") from exc
