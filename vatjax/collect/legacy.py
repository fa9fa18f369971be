"""Reading the JSON-lines judgment stores of earlier versions (one JSON object per answer).

Such a store is read whole: a last line without its newline (a write cut short by a
kill) is ignored, and any other line that is not a JSON object with the key fields is an
error naming its line. :class:`~vatjax.collect.store.JudgmentStore` migrates one into
SQLite; :func:`~vatjax.collect.store.read_store` and
:func:`~vatjax.collect.table.store_to_table` read one as they read a SQLite store.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "old.jsonl"
    >>> _ = p.write_text('{"model": "m", "condition": "pre", "scenario": "s", '
    ...                  '"micro_value": "Wealth", "polarity": "express", "repeat": 0}\\n{"mo')
    >>> [r["scenario"] for r in read_jsonl(p)]
    ['s']
"""

from __future__ import annotations

import json
from pathlib import Path

from vatjax.errors import VatInputError

__all__ = ["SUFFIXES", "read_jsonl"]

SUFFIXES = (".jsonl", ".ndjson")
"""File name endings of a JSON-lines store."""
_KEY_FIELDS = ("model", "condition", "scenario", "micro_value", "polarity", "repeat")


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines store, in the order written (see the module docstring)."""
    lines = Path(path).read_bytes().split(b"\n")
    lines.pop()  # b"" when the file ends with a newline; else a line cut short by a kill
    records, problems = [], []
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except ValueError as exc:
            problems.append(f"line {lineno} is not valid JSON ({exc})")
            continue
        if not isinstance(rec, dict):
            problems.append(f"line {lineno} is not a JSON object")
            continue
        missing = [k for k in _KEY_FIELDS if k not in rec]
        if missing:
            problems.append(f"line {lineno} has no {missing}")
            continue
        records.append(rec)
    if problems:
        raise VatInputError(
            f"{path} is not a vatjax judgment store (or was edited by hand)", problems[:20]
        )
    return records
