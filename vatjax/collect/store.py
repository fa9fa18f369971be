"""The resumable judgment store: an SQLite database, one row per judgment.

A judgment is keyed by (condition, item, repeat): ``conditions`` holds each (model,
condition) with its strategy, target and direction, ``items`` each (scenario,
micro_value, polarity) with its value, and ``judgments`` one row per key under the
integer primary key ``cond << 44 | item << 20 | repeat`` (:func:`pack_key`), with the
status (0 ok, 1 answered without a rating, 2 failed, 3 requested in a batch), the
rating, the prompt's hash, the raw answer, the error and a JSON ``detail`` (timing,
attempts, served model, ...). An answer replaces what its key held; a failure replaces
only a failure or a request (a rerun retries failures). Every write goes through
:meth:`JudgmentStore.write_rows`, which keeps the ``progress`` table
(:mod:`vatjax.collect.progress`) in step in the same transaction: resume reads that, a
few thousand rows, and export reads two numbers a judgment from the covering index
``judgments_status (status, key, prompt, rating)``; neither reads the texts.

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
from pathlib import Path

import numpy as np

from vatjax.collect.legacy import read_jsonl
from vatjax.collect.progress import answered, record_answers
from vatjax.collect.store_file import connect, fetch_numeric, lock, resolve
from vatjax.errors import VatInputError

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
COND_COLUMNS = ("model", "condition", "strategy", "target", "direction")
ITEM_COLUMNS = ("scenario", "micro_value", "polarity", "value")
_ROW_COLS = ("status", "rating", "prompt_sha", "raw", "error")
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
        self.path, self.migrated = resolve(Path(path))
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = lock(self.path)
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
        self._index_progress()
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
            self.write_rows([self.row(r) for r in records])
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

    def _index_progress(self) -> None:
        """Build the progress table of a store written before it existed (once)."""
        if self.conn.execute("SELECT 1 FROM meta WHERE name = 'progress'").fetchone():
            return
        with self.transaction():
            cur = self.conn.execute(
                "SELECT key, IFNULL(prompt, 0) FROM judgments WHERE status IN (0, 1)"
            )
            arr = fetch_numeric(cur, [("key", "i8"), ("prompt", "i8")])
            record_answers(self.conn, arr["key"], arr["prompt"], previous_prompts=dict)
            self.conn.execute("INSERT INTO meta VALUES ('progress', '1')")

    def lookup(self, keys) -> dict[int, tuple[int, int]]:
        """{key: (status code, prompt hash or 0)} of the keys (int64) the store holds."""
        found: dict[int, tuple[int, int]] = {}
        keys = np.unique(np.asarray(keys, np.int64)).tolist()
        for start in range(0, len(keys), 30_000):
            part = keys[start : start + 30_000]
            found.update(
                (k, (s, p))
                for k, s, p in self.conn.execute(
                    "SELECT key, status, IFNULL(prompt, 0) FROM judgments "
                    f"WHERE key IN ({','.join('?' * len(part))})",
                    part,
                )
            )
        return found

    def _prompts(self, keys) -> dict[int, int]:
        return {k: p for k, (_, p) in self.lookup(keys).items()}

    def answered(self, keys, prompts) -> tuple[np.ndarray, np.ndarray]:
        """(done, changed) of planned keys and their prompt hashes: a bool per key, and
        the indices of done keys the store answered with another prompt hash."""
        return answered(self.conn, keys, prompts, stored_prompts=self._prompts)

    def n_answered(self) -> int:
        """How many judgments hold an answer (status ok or unparsed)."""
        return int(self.conn.execute("SELECT IFNULL(SUM(n), 0) FROM progress").fetchone()[0])

    def mark_answered(self, keys, prompts, held: dict[int, int] | None = None) -> None:
        """Record in the progress table that ``keys`` (each once) are about to hold answers
        asked with ``prompts``; call it inside the transaction, before the rows are written.
        ``held``: the prompt hash each key holds now, if the caller has read it already."""
        previous = self._prompts if held is None else (lambda _: held)
        record_answers(self.conn, keys, prompts, previous_prompts=previous)

    def write_rows(self, rows: list[tuple]) -> None:
        """Write rows of :meth:`row`'s form with :data:`UPSERT`, keeping the progress
        table in step; call it inside :meth:`transaction`."""
        answers = {r[0]: r[3] or 0 for r in rows if r[1] < 2}  # the last answer of a key wins
        self.mark_answered(
            np.fromiter(answers, np.int64, count=len(answers)),
            np.fromiter(answers.values(), np.int64, count=len(answers)),
        )
        self.conn.executemany(UPSERT, rows)

    def append(self, record: dict) -> None:
        """Write one record now (one committed transaction)."""
        self.append_many([record])

    def append_many(self, records) -> None:
        """Write records in one committed transaction."""
        with self.transaction():
            self.write_rows([self.row(r) for r in records])

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
