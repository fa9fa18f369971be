"""The resumable judgment store: an SQLite database, one row per judgment.

A judgment is keyed by (condition, item, repeat): ``conditions`` holds each (model,
condition) with its strategy, target and direction, ``items`` each (scenario,
micro_value, polarity) with its value, and ``judgments`` one row per key under the
integer primary key ``cond << 44 | item << 20 | repeat`` (:func:`pack_key`), with the
status (0 ok, 1 answered without a rating, 2 failed, 3 requested in a batch), the
rating, the prompt's hash, the raw answer, the error and a JSON ``detail`` (timing,
attempts, served model, ...). The index ``judgments_status (status, key, prompt,
rating)`` covers resume (done keys and prompts) and export: neither reads the texts, and
each reads two numbers a row into numpy arrays. An answer replaces what its key held; a
failure replaces only a failure or a request (a rerun retries failures).

Durability (WAL mode): ``fsync=True`` runs ``synchronous=FULL``, so a commit returns once
the WAL is fsynced and a counted answer survives a power cut; ``fsync=False`` runs
``synchronous=NORMAL``, safe from a kill or Ctrl-C (a power cut may lose the last commits,
never the database). A transaction is all or nothing, so a kill leaves no half row.
Concurrent answers share commits (:meth:`JudgmentStore.append_async`: one commit at a
time, in a thread, for all waiting answers).

A JSON-lines store of earlier versions (``*.jsonl``) is still read
(:func:`~vatjax.collect.table.read_store`, :func:`~vatjax.collect.table.store_to_table`);
opening it to collect migrates it into ``<name>.sqlite`` beside it, leaving it unchanged.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "judgments.sqlite"
    >>> with JudgmentStore(path) as store:
    ...     store.append({"model": "m", "condition": "pre", "scenario": "s1",
    ...                   "micro_value": "Wealth", "polarity": "express", "repeat": 0,
    ...                   "strategy": "baseline", "target": "", "direction": 0,
    ...                   "rating": 4.0, "status": "ok", "raw": "4"})
    >>> from vatjax.collect.table import read_store
    >>> [(r["scenario"], r["rating"], r["status"]) for r in read_store(path)]
    [('s1', 4.0, 'ok')]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import sqlite3
from pathlib import Path

import numpy as np

from vatjax.collect.legacy import SUFFIXES as LEGACY_SUFFIXES
from vatjax.collect.legacy import read_jsonl
from vatjax.errors import VatInputError

try:  # advisory lock so two collectors never write to one store (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DONE_STATUSES",
    "KEY_FIELDS",
    "STATUS",
    "JudgmentStore",
    "pack_key",
    "prompt_int",
    "unpack_key",
]

KEY_FIELDS = ("model", "condition", "scenario", "micro_value", "polarity", "repeat")
"""The fields that identify one judgment."""
STATUS = {"ok": 0, "unparsed": 1, "error": 2, "requested": 3}
"""Status names and their codes in the ``judgments`` table."""
STATUS_NAMES = tuple(STATUS)
DONE_STATUSES = ("ok", "unparsed")
"""Statuses of an answered request; ``error`` and ``requested`` keys are asked again."""
SUFFIXES = (".sqlite", ".sqlite3", ".db")
COND_COLUMNS = ("model", "condition", "strategy", "target", "direction")
ITEM_COLUMNS = ("scenario", "micro_value", "polarity", "value")
_ROW_COLS = ("status", "rating", "prompt_sha", "raw", "error")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS conditions (id INTEGER PRIMARY KEY, model TEXT NOT NULL,
    condition TEXT NOT NULL, strategy TEXT, target TEXT, direction INTEGER,
    scale_low INTEGER, scale_high INTEGER, UNIQUE (model, condition));
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, scenario TEXT NOT NULL,
    micro_value TEXT NOT NULL, polarity TEXT NOT NULL, value TEXT,
    UNIQUE (scenario, micro_value, polarity));
CREATE TABLE IF NOT EXISTS judgments (key INTEGER PRIMARY KEY, status INTEGER NOT NULL,
    rating REAL, prompt INTEGER, raw TEXT, error TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS judgments_status ON judgments (status, key, prompt, rating);
"""
UPSERT = """INSERT INTO judgments (key, status, rating, prompt, raw, error, detail)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET status = excluded.status,
rating = excluded.rating, prompt = excluded.prompt, raw = excluded.raw,
error = excluded.error, detail = excluded.detail
WHERE excluded.status < 2 OR excluded.status <= judgments.status"""
"""Write one row: an answer always; a failure or request only over a failure or request."""


def pack_key(cond: int, item: int, repeat: int) -> int:
    """The ``judgments`` primary key of (condition id, item id, repeat).

    Example:
        >>> unpack_key(pack_key(3, 7, 2))
        (3, 7, 2)
    """
    if not (0 <= repeat < 1 << 20 and 0 <= item < 1 << 24 and 0 <= cond < 1 << 19):
        raise VatInputError(f"repeat {repeat} or the store's item/condition count is too large")
    return cond << 44 | item << 20 | repeat


def unpack_key(key):
    """(condition id, item id, repeat) of a key (ints or numpy arrays)."""
    return key >> 44, (key >> 20) & 0xFFFFFF, key & 0xFFFFF


def prompt_int(sha: str | None) -> int | None:
    """A prompt hash (hex) as the 60-bit int stored (its first 15 hex digits).

    Example:
        >>> f"{prompt_int('0123456789abcdef'):015x}"
        '0123456789abcde'
    """
    return None if not sha else int(str(sha)[:15], 16)


def connect(path: Path, *, write: bool = True) -> sqlite3.Connection:
    """A connection to a store, its schema put in place if ``write``; bad files say so.
    A reader never writes: a file another process is still creating reads as empty."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    try:
        if write:
            conn.execute("PRAGMA journal_mode=WAL")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        what = "cannot be read" if isinstance(exc, sqlite3.OperationalError) else "is not"
        raise VatInputError(
            f"{path} {what} a vatjax judgment store ({exc}); give another --out file"
        ) from None
    if tables and "judgments" not in tables:
        conn.close()
        raise VatInputError(
            f"{path} is an SQLite database but not a vatjax judgment store (it has no "
            "judgments table); give another --out file"
        )
    if not write:
        if "meta" not in tables or "judgments" not in tables:
            conn.close()
            return connect(Path(":memory:"))
        return conn
    conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
    if conn.execute("SELECT value FROM meta WHERE name = 'store_id'").fetchone() is None:
        conn.execute("INSERT INTO meta VALUES ('store_id', ?)", (secrets.token_hex(4),))
    return conn


def _clean(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


class JudgmentStore:
    """The SQLite judgment store (see the module docstring).

    Args:
        path: ``*.sqlite`` (``.sqlite3``, ``.db``): created if missing, resumed if not. An
            existing ``*.jsonl`` store is migrated into ``<name>.sqlite`` (``migrated``
            then names the JSON-lines file); ``path`` is then the SQLite file.
        fsync: ``synchronous=FULL`` (True) or ``NORMAL`` (False).

    An advisory lock refuses a second collector on the same file.
    """

    def __init__(self, path: str | os.PathLike, *, fsync: bool = True):
        self.path, self.migrated = _resolve(Path(path))
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.path)
        try:
            self.conn = connect(self.path)
        except BaseException:
            os.close(self._lock_fd)
            raise
        self.conn.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self.store_id = self.conn.execute(
            "SELECT value FROM meta WHERE name='store_id'"
        ).fetchone()[0]
        self._load_ids()
        self._queue: list[dict] = []
        self._queued = self._committed = 0
        self._commit: asyncio.Future | None = None
        if (
            self.migrated is not None
            and not self.conn.execute("SELECT 1 FROM meta WHERE name = 'migrated_from'").fetchone()
        ):
            self._migrate(self.migrated)

    def _migrate(self, source: Path) -> None:
        records = read_jsonl(source)
        with self.transaction():
            self.conn.executemany(UPSERT, (self.row(r) for r in records))
            self.conn.execute(
                "INSERT INTO meta VALUES ('migrated_from', ?)",
                (f"{source.name}:{source.stat().st_size}",),
            )

    def _load_ids(self) -> None:
        """The id caches of conditions and items, as the database holds them."""
        self._conds = {tuple(r[1:3]): r[0] for r in self.conn.execute("SELECT * FROM conditions")}
        self._items = {tuple(r[1:4]): r[0] for r in self.conn.execute("SELECT * FROM items")}

    @contextlib.contextmanager
    def transaction(self):
        """``with store.transaction() as conn:`` one committed write (all rolled back on error)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            self._load_ids()
            raise
        self.conn.execute("COMMIT")

    def condition_id(self, model, condition, strategy="", target="", direction=0) -> int:
        """The id of (model, condition), added with its strategy, target, direction if new."""
        key = (str(model), str(condition))
        if key not in self._conds:
            cur = self.conn.execute(
                "INSERT INTO conditions (model, condition, strategy, target, direction) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, strategy or "", target or "", int(direction or 0)),
            )
            self._conds[key] = cur.lastrowid
        return self._conds[key]

    def item_id(self, scenario, micro_value, polarity, value=None) -> int:
        """The id of (scenario, micro_value, polarity), added with its value if new."""
        key = (str(scenario), str(micro_value), str(polarity))
        if key not in self._items:
            cur = self.conn.execute(
                "INSERT INTO items (scenario, micro_value, polarity, value) VALUES (?, ?, ?, ?)",
                (*key, value),
            )
            self._items[key] = cur.lastrowid
        return self._items[key]

    def key(self, record: dict) -> int:
        """The packed key of a record (its condition and item added if new)."""
        missing = [k for k in KEY_FIELDS if k not in record]
        if missing:
            raise VatInputError(f"a store record needs the key fields {missing}")
        g = record.get
        cond = self.condition_id(
            g("model"), g("condition"), g("strategy"), g("target"), g("direction")
        )
        item = self.item_id(g("scenario"), g("micro_value"), g("polarity"), g("value"))
        return pack_key(cond, item, int(record["repeat"]))

    def row(self, record: dict) -> tuple:
        """The ``judgments`` row of a record (in the column order of :data:`UPSERT`)."""
        status = STATUS.get(record.get("status", "error"))
        if status is None:
            raise VatInputError(f"status {record.get('status')!r} is not one of {list(STATUS)}")
        skip = {*KEY_FIELDS, *COND_COLUMNS, *ITEM_COLUMNS, *_ROW_COLS}
        detail = {k: _clean(v) for k, v in record.items() if k not in skip}
        rating = _clean(record.get("rating"))
        return (
            self.key(record),
            status,
            None if rating is None else float(rating),
            prompt_int(record.get("prompt_sha")),
            record.get("raw"),
            record.get("error"),
            json.dumps(detail, ensure_ascii=False, allow_nan=False) if detail else None,
        )

    def done_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Answered keys (sorted int64) and their prompt hashes (0 if none): resume's query."""
        cur = self.conn.execute(
            "SELECT key, IFNULL(prompt, 0) FROM judgments WHERE status IN (0, 1)"
        )
        arr = fetch_numeric(cur, [("key", "i8"), ("prompt", "i8")])
        order = np.argsort(arr["key"], kind="stable")  # two sorted runs: a merge
        return arr["key"][order], arr["prompt"][order]

    def append(self, record: dict) -> None:
        """Write one record now (one committed transaction)."""
        self.append_many([record])

    def append_many(self, records) -> None:
        """Write records in one committed transaction."""
        with self.transaction():
            self.conn.executemany(UPSERT, [self.row(r) for r in records])

    async def append_async(self, record: dict) -> None:
        """Queue one record; return once a commit holding it has finished.

        Concurrent callers share commits (one runs at a time, in a thread), so the event
        loop never waits on the disk and many answers cost one fsync.
        """
        self._queue.append(record)
        self._queued += 1
        target = self._queued
        while self._committed < target:
            if self._commit is None or self._commit.done():
                batch, self._queue = self._queue, []
                self._commit = asyncio.ensure_future(self._commit_batch(batch))
            await asyncio.shield(self._commit)

    async def _commit_batch(self, batch: list[dict]) -> None:
        await asyncio.to_thread(self.append_many, batch)
        self._committed += len(batch)

    async def drain(self) -> None:
        """Wait for a running commit, then commit what is queued (before closing)."""
        if self._commit is not None and not self._commit.done():
            await asyncio.wait([self._commit])
        if self._commit is not None and not self._commit.cancelled():
            self._commit.exception()  # retrieved: never logged as unretrieved
        if self._queue:
            batch, self._queue = self._queue, []
            await self._commit_batch(batch)

    def close(self) -> None:
        if self._lock_fd >= 0:
            try:
                if self._queue:
                    self.append_many(self._queue)
                    self._queue = []
            finally:
                self.conn.close()
                os.close(self._lock_fd)  # releases the lock
                self._lock_fd = -1

    def __enter__(self) -> JudgmentStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fetch_numeric(cur: sqlite3.Cursor, dtype, chunk: int = 1 << 18) -> np.ndarray:
    """A query's rows as a structured array of ``dtype`` (one field per column, numbers
    only, no NULL), read in chunks: no Python object per row outlives its chunk."""
    parts = []
    while rows := cur.fetchmany(chunk):
        parts.append(np.fromiter(rows, dtype=dtype, count=len(rows)))
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _resolve(path: Path) -> tuple[Path, Path | None]:
    """(the SQLite file, the JSON-lines store it migrates or None) for a store path."""
    if path.is_dir():
        raise VatInputError(f"the judgment store {path} is a directory; name a file")
    suffix = path.suffix.lower()
    if suffix in LEGACY_SUFFIXES:
        if not path.exists():
            raise VatInputError(
                f"new judgment stores are SQLite files: name it {path.with_suffix('.sqlite')} "
                "(--out); JSON-lines stores of earlier versions are read and migrated"
            )
        target = path.with_suffix(".sqlite")
        if target.exists():
            _check_migrated(target, path)
        return target, path
    if suffix not in SUFFIXES:
        raise VatInputError(
            f"the judgment store {path.name!r} must be an SQLite file: name it *.sqlite "
            "(write a table in another format with --table / store_to_table)"
        )
    return path, None


def _check_migrated(target: Path, source: Path) -> None:
    """Refuse a JSON-lines store that grew after its migration (or was never migrated)."""
    conn = connect(target, write=False)
    try:
        row = conn.execute("SELECT value FROM meta WHERE name = 'migrated_from'").fetchone()
    finally:
        conn.close()
    if row is None or row[0] != f"{source.name}:{source.stat().st_size}":
        raise VatInputError(
            f"both {source} and {target} exist, and {target} does not hold {source} as it is "
            f"now; pass --out {target} to resume it, or move one of them away"
        )


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise VatInputError(
                f"another collector is writing to {path}; wait for it to finish "
                "or write to another file"
            ) from None
    return fd
