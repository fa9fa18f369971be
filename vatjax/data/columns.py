"""Coded columns: a long table read as integer codes into a few distinct labels.

A column of 26 million ratings holds a handful of distinct cells. :func:`read_coded` reads
a table (DataFrame, Parquet, CSV, or any format :func:`~vatjax.data.read_table` reads)
into one :class:`Coded` per column: codes from pandas categoricals, Parquet dictionaries
or a C-level factorisation, never per-row Python. The loader checks and parses each
distinct label once and broadcasts the answer to the rows through the codes.

Example:
    >>> import pandas as pd
    >>> c = read_coded(pd.DataFrame({"a": ["x", None, "x", "y"]}))["a"]
    >>> c.codes.tolist(), c.labels
    ([0, -1, 0, 1], ['x', 'y'])
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from vatjax.data.table import read_table
from vatjax.errors import VatInputError

__all__ = ["Coded", "first_rows", "read_coded", "small_codes"]

_FIRST_ROWS_BY_SCAN = 64
"""Up to this many codes, the first row of each is found by one scan per code."""


class Coded(NamedTuple):
    """A column as codes into its distinct labels; code -1 is a missing cell. ``labels``
    is None where the cells are not single values (lists, structs, maps): such a column
    cannot be coded, and ``example`` holds one of its cells for the message."""

    codes: np.ndarray  # (row,) signed integers, -1 missing
    labels: list | None  # distinct cells as Python objects
    dtype: str = ""  # the column's type, as its reader names it
    example: object = None

    def lookup(self, table: np.ndarray, missing) -> np.ndarray:
        """Per-row values of a per-label table; ``missing`` where the cell is missing."""
        ext = np.append(np.asarray(table), np.asarray(missing, dtype=np.asarray(table).dtype))
        return ext[self.codes]


def _uncoded(n_rows: int, dtype: str, example: object) -> Coded:
    """A column whose cells are not single values: every row missing, no labels."""
    return Coded(np.full(n_rows, -1, np.int8), None, dtype, example)


def small_codes(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Codes in the smallest signed integer type that holds -1 .. n_labels - 1."""
    return codes.astype(np.min_scalar_type(-max(n_labels, 1)), copy=False)


def first_rows(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Index of the first row with each code (len(codes) where a code never occurs)."""
    n = len(codes)
    if n_labels <= _FIRST_ROWS_BY_SCAN:
        out = np.full(n_labels, n, dtype=np.int64)
        for k in range(n_labels):
            hit = codes == k
            i = int(np.argmax(hit))
            if hit[i]:
                out[k] = i
        return out
    out = np.full(n_labels, n, dtype=np.int64)
    valid = codes >= 0
    np.minimum.at(out, codes[valid], np.flatnonzero(valid))
    return out


def _first_unhashable(col: pd.Series) -> object:
    """The first cell that cannot be a label (a list, dict or array); the scan stops there."""
    for x in col:
        try:
            hash(x)
        except TypeError:
            return x
    return None


def _from_series(col: pd.Series) -> Coded:
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        return Coded(small_codes(col.cat.codes.to_numpy(), len(cats)), list(cats), str(cats.dtype))
    try:
        codes, uniques = pd.factorize(_bools_apart(col), use_na_sentinel=True)
    except TypeError:  # unhashable cells: lists, dicts, arrays
        cell = _first_unhashable(col)
        return _uncoded(len(col), f"{col.dtype} holding {type(cell).__name__}", cell)
    labels = list(uniques.tolist() if hasattr(uniques, "tolist") else uniques)
    labels = [True if x is _TRUE else False if x is _FALSE else x for x in labels]
    return Coded(small_codes(codes, len(labels)), labels, str(col.dtype))


_TRUE, _FALSE = object(), object()
"""Stand-ins for True and False while a column of mixed objects is factorised."""


def _bools_apart(col: pd.Series):
    """A column of mixed objects with its bools as stand-ins, so that True and 1 (equal to
    a hash) stay two labels; any other column as it is. Only such a column is scanned
    cell by cell."""
    if col.dtype != object or not pd.api.types.infer_dtype(col, skipna=True).startswith("mixed"):
        return col
    values = col.to_numpy(dtype=object, copy=True)
    is_bool = np.fromiter((isinstance(x, bool | np.bool_) for x in values), bool, len(values))
    if is_bool.any():
        values[is_bool] = np.where(values[is_bool].astype(bool), _TRUE, _FALSE)
    return values


def _from_arrow(col) -> Coded:
    """A pyarrow ChunkedArray, dictionary-encoded or not, as codes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    is_dict = pa.types.is_dictionary(col.type)
    dtype = str(col.type.value_type if is_dict else col.type)
    if not is_dict:
        try:
            col = pc.dictionary_encode(col)
        except pa.ArrowNotImplementedError:  # lists, structs, maps: no single value
            cells = col.drop_null()
            return _uncoded(len(col), dtype, cells[0].as_py() if len(cells) else None)
    col = col.unify_dictionaries() if col.num_chunks > 1 else col
    chunks = col.chunks
    if not chunks:
        return Coded(np.zeros(0, np.int8), [], dtype)
    labels = chunks[0].dictionary.to_pylist()
    parts = [pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) for c in chunks]
    codes = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return Coded(small_codes(codes, len(labels)), labels, dtype)


class _Codebook:
    """Codes of one column read batch by batch, each batch's dictionary mapped onto one
    growing list of labels (the labels are few; the rows never pass through Python)."""

    def __init__(self) -> None:
        self.index: dict = {}
        self.parts: list[np.ndarray] = []

    def add(self, arr) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_dictionary(arr.type):  # a column its header did not name as text
            arr = pc.dictionary_encode(pc.cast(arr, pa.string()))
        remap = np.array(
            [self.index.setdefault(x, len(self.index)) for x in arr.dictionary.to_pylist()] + [-1],
            dtype=np.int64,
        )
        idx = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False)
        self.parts.append(small_codes(remap[idx], len(self.index)))

    def coded(self) -> Coded:
        codes = np.concatenate(self.parts) if self.parts else np.zeros(0, np.int8)
        return Coded(small_codes(codes, len(self.index)), list(self.index), "string")


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV file from its first lines: one of comma, semicolon, tab and
    pipe (:class:`csv.Sniffer`, else the one the header line holds most of; comma if none).

    Example:
        >>> sniff_delimiter("model;condition;rating\\nm;pre;3\\n"), sniff_delimiter("a\\n1\\n")
        (';', ',')
    """
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = sample.partition("\n")[0]
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 1 << 14
"""The delimiters a CSV file may use, and how much of its start tells which."""


def _csv_coded(path: Path) -> dict[str, Coded]:
    """A CSV file as coded columns, streamed in blocks: every cell is read as text into a
    dictionary (so a text cell in a number column is reported, not a parse error), and
    memory holds one block plus the codes. The delimiter is sniffed from the start."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    with path.open("rb") as fh:
        sample = fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [line for line in sample.splitlines() if line.strip()]  # as pyarrow skips them
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        sample = "\n".join(lines[:-1])  # the last line may be cut short
    delimiter = sniff_delimiter(sample)
    text = pa.dictionary(pa.int32(), pa.string())
    names = next(csv.reader(lines[:1], delimiter=delimiter), [])
    _unique_names(names)
    convert = pcsv.ConvertOptions(column_types=dict.fromkeys(names, text),
                                  strings_can_be_null=True)  # fmt: skip
    reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 25),
                           parse_options=pcsv.ParseOptions(delimiter=delimiter),
                           convert_options=convert)  # fmt: skip
    books = {name: _Codebook() for name in reader.schema.names}
    for batch in reader:
        for name, arr in zip(batch.schema.names, batch.columns, strict=True):
            books[name].add(arr)
    return {name: book.coded() for name, book in books.items()}


def _arrow_table(path: Path):
    """Parquet as a pyarrow Table (text columns as dictionaries), or None otherwise."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        schema = pq.read_schema(path)
        text = [f.name for f in schema if pa.types.is_string(f.type) or
                pa.types.is_large_string(f.type)]  # fmt: skip
        return pq.read_table(path, read_dictionary=text)
    return None


def read_coded(source: pd.DataFrame | str | os.PathLike) -> dict[str, Coded]:
    """Every column of a table as :class:`Coded`, in the table's column order.

    Parquet and CSV are read by pyarrow (text columns straight to dictionaries; CSV
    cells all as text, in blocks), a
    DataFrame column by column (categoricals as they are), other formats through
    :func:`~vatjax.data.read_table`.
    """
    if isinstance(source, pd.DataFrame):
        _unique_names(source.columns)
        return {str(k): _from_series(source.iloc[:, i]) for i, k in enumerate(source.columns)}
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        if path.suffix.lower() == ".csv":
            return _csv_coded(path)
        table = _arrow_table(path)
    except VatInputError:
        raise
    except (ValueError, OSError) as exc:  # pyarrow's errors derive from these
        raise VatInputError(f"cannot parse {path}: {exc}") from exc
    if table is None:
        return read_coded(read_table(path))
    _unique_names(table.column_names)
    return {name: _from_arrow(table.column(i)) for i, name in enumerate(table.column_names)}


def _unique_names(names) -> None:
    """Raise when two columns share a name (the loader could not tell which one to read)."""
    seen = pd.Series([str(n) for n in names])
    twice = sorted(set(seen[seen.duplicated()]))
    if twice:
        raise VatInputError(
            f"the table has several columns named {', '.join(map(repr, twice))}: give each "
            "column its own name (rename or drop the extra ones)"
        )
