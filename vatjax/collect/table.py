"""Reading a judgment store: the long table :func:`vatjax.load_judgments` takes, or records.

The export reads only the key, status and rating of each judgment (the store's covering
index), in chunks, into numpy arrays; the text columns are looked up from the small
``conditions`` and ``items`` tables, and the rows are sorted by integer ranks, so a store
of tens of millions of judgments exports in seconds, not minutes.

Example:
    >>> rec = {"model": "m", "condition": "pre", "scenario": "s1", "micro_value": "Wealth",
    ...        "polarity": "express", "repeat": 0, "status": "ok", "rating": 4.0}
    >>> store_to_table([rec, {**rec, "scenario": "s0", "status": "error", "rating": None}])[
    ...     ["scenario", "rating"]].values.tolist()
    [['s0', nan], ['s1', 4.0]]
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from vatjax.collect.legacy import SUFFIXES as LEGACY_SUFFIXES
from vatjax.collect.legacy import read_jsonl
from vatjax.collect.store import (
    COND_COLUMNS,
    ITEM_COLUMNS,
    STATUS_NAMES,
    JudgmentStore,
)
from vatjax.collect.store import unpack_key as _unpack
from vatjax.collect.store_file import connect, fetch_numeric

__all__ = ["TABLE_COLUMNS", "open_readonly", "read_store", "store_to_table"]

TABLE_COLUMNS = (
    "model",
    "condition",
    "strategy",
    "target",
    "direction",
    "scenario",
    "micro_value",
    "polarity",
    "repeat",
    "rating",
)
"""Columns of :func:`store_to_table` (the long table of ``load_judgments``)."""
_DETAIL_COLUMNS = ("status", "raw", "error", "attempts", "latency_s", "served_model")
_NAN = -1.0e308  # stands for a missing rating in the numeric fetch


def store_to_table(
    source: str | os.PathLike | list[dict], *, details: bool = False, failed: bool = True
) -> pd.DataFrame:
    """The long table of ratings in a store: one row per key, ready for ``load_judgments``.

    An answer with no rating in it has rating NaN. Keys whose requests failed give a NaN
    row when ``failed`` is True (the judgment is missing) and no row otherwise; keys only
    requested in a batch give no row.

    Args:
        source: a store path (SQLite, or JSON lines of earlier versions) or records.
        details: add the columns status, raw, error, attempts, latency_s, served_model.
        failed: keep keys whose requests all failed, with rating NaN.

    Returns:
        DataFrame with columns model, condition, strategy, target, direction, scenario,
        micro_value, polarity, repeat, rating, sorted by the key.
    """
    if isinstance(source, list):
        conn = memory_store(source).conn
    else:
        conn = open_readonly(source)
    try:
        return _export(conn, details, failed)
    finally:
        conn.close()


def _lookup(conn: sqlite3.Connection, table: str, cols: tuple[str, ...]) -> pd.DataFrame:
    """A dimension table indexed by id, with ``rank``: its order by ``cols``."""
    df = pd.read_sql(f"SELECT id, {', '.join(cols)} FROM {table}", conn, index_col="id")
    df["rank"] = np.argsort(np.lexsort([df[c].astype(str) for c in reversed(cols)]))
    return df


def _export(conn: sqlite3.Connection, details: bool, failed: bool) -> pd.DataFrame:
    conds = _lookup(conn, "conditions", ("model", "condition"))
    conds = conds.join(pd.read_sql("SELECT id, strategy, target, direction FROM conditions",
                                   conn, index_col="id"))  # fmt: skip
    conds["direction"] = pd.to_numeric(conds["direction"]).fillna(0).astype(np.int64)
    conds[["strategy", "target"]] = conds[["strategy", "target"]].fillna("")
    items = _lookup(conn, "items", ("scenario", "micro_value", "polarity"))
    statuses = "0, 1, 2" if failed else "0, 1"
    cur = conn.execute(
        f"SELECT key, IFNULL(rating, {_NAN!r}) FROM judgments WHERE status IN ({statuses})"
    )
    arr = fetch_numeric(cur, [("key", "i8"), ("rating", "f8")])
    ci, ii, r, order = _sorted_positions(arr["key"], conds, items)
    keys = arr["key"][order] if details else None
    rating = arr["rating"][order]
    del arr, order
    out = {col: _take(conds[col], ci) for col in ("model", "condition", "strategy", "target")}
    out["direction"] = conds["direction"].to_numpy()[ci]
    out.update({col: _take(items[col], ii) for col in ("scenario", "micro_value", "polarity")})
    del ci, ii
    out["repeat"] = r.astype(np.int64)
    out["rating"] = np.where(rating == _NAN, np.nan, rating)
    df = pd.DataFrame(out)
    if details:
        df = df.join(_details(conn, keys))
    return df


def _sorted_positions(keys: np.ndarray, conds: pd.DataFrame, items: pd.DataFrame):
    """(condition rows, item rows, repeats, order) of ``keys`` in the table's order: by
    model, condition, scenario, micro_value, polarity, repeat (ranks, not strings)."""

    def positions(ids: np.ndarray, table: pd.DataFrame) -> np.ndarray:
        lookup = np.zeros(int(table.index.max()) + 1, np.int32)
        lookup[table.index.to_numpy()] = np.arange(len(table), dtype=np.int32)
        return lookup[ids]

    c, i, r = _unpack(keys)
    ci, ii = positions(c, conds), positions(i, items)
    del c, i
    rank = conds["rank"].to_numpy().astype(np.int64)[ci] << 44
    rank |= items["rank"].to_numpy().astype(np.int64)[ii] << 20
    rank |= r
    order = np.argsort(rank, kind="stable")
    del rank
    return ci[order], ii[order], r[order], order


def _take(values: pd.Series, codes: np.ndarray):
    """``values`` at ``codes`` as a column of pandas' default string dtype, built by
    pyarrow's ``take`` (no Python object per row) when that dtype is arrow-backed."""
    dtype = pd.Series(["x"]).dtype
    strings = values.astype(str).to_numpy(dtype=object)
    if getattr(dtype, "storage", None) != "pyarrow":
        return strings[codes]
    import pyarrow as pa

    return pd.array(pa.array(strings, type=pa.string()).take(pa.array(codes)), dtype=dtype)


def _details(conn: sqlite3.Connection, keys: np.ndarray) -> pd.DataFrame:
    """The detail columns of ``keys`` (in that order): reads every row's texts (slow)."""
    rows = {}
    for key, status, raw, error, detail in conn.execute(
        "SELECT key, status, raw, error, detail FROM judgments"
    ):
        d = json.loads(detail) if detail else {}
        rows[key] = (STATUS_NAMES[status], raw, error, d.get("attempts"), d.get("latency_s"),
                     d.get("served_model"))  # fmt: skip
    return pd.DataFrame([rows[k] for k in keys.tolist()], columns=list(_DETAIL_COLUMNS))


def open_readonly(path: str | os.PathLike) -> sqlite3.Connection:
    """A connection to a store to read (JSON lines: loaded into an in-memory store)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such judgment store: {path}")
    if path.suffix.lower() in LEGACY_SUFFIXES:
        return memory_store(read_jsonl(path)).conn
    return connect(path, write=False)


def read_store(path: str | os.PathLike) -> list[dict]:
    """All records of a store (SQLite, or JSON lines of earlier versions), by key.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.jsonl"
        >>> _ = p.write_text('{"model": "m"')          # a line cut short
        >>> read_store(p)
        []
    """
    conn = open_readonly(path)
    try:
        conds = {r[0]: dict(zip(COND_COLUMNS, r[1:], strict=True)) for r in conn.execute(
            f"SELECT id, {', '.join(COND_COLUMNS)} FROM conditions")}  # fmt: skip
        items = {r[0]: dict(zip(ITEM_COLUMNS, r[1:], strict=True)) for r in conn.execute(
            f"SELECT id, {', '.join(ITEM_COLUMNS)} FROM items")}  # fmt: skip
        out = []
        for key, status, rating, prompt, raw, error, detail in conn.execute(
            "SELECT key, status, rating, prompt, raw, error, detail FROM judgments ORDER BY key"
        ):
            c, i, r = _unpack(key)
            rec = {**conds[c], **items[i], "repeat": r, "status": STATUS_NAMES[status]}
            rec.update(rating=rating, raw=raw, error=error)
            rec["prompt_sha"] = None if prompt is None else f"{prompt:015x}"
            rec.update(json.loads(detail) if detail else {})
            out.append(rec)
        return out
    finally:
        conn.close()


def memory_store(records: list[dict]) -> JudgmentStore:
    """An in-memory store holding ``records`` (to read or export a list of records)."""
    store = JudgmentStore.__new__(JudgmentStore)
    store.path, store.migrated, store._lock_fd = Path(":memory:"), None, -1
    store.conn, store._conds, store._items = connect(Path(":memory:")), {}, {}
    store.append_many(records)
    return store
