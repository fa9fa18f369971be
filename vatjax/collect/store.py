"""The resumable judgment store: one JSON line per answer, appended as it arrives.

Each line is one request's outcome, keyed by (model, condition, scenario, micro_value,
polarity, repeat), with the raw answer text, the parsed rating, timing, attempts and
the prompt's hash. A line is written with a single ``write`` on an ``O_APPEND`` file
descriptor and (by default) ``fsync``-ed, so a crash, Ctrl-C or SIGKILL loses at most
the requests in flight; a line cut short by a kill is dropped when the store is next
opened. Answered keys (a rating, or an answer holding none) are done; failed requests
are recorded too but are retried by the next run. :func:`store_to_table` gives the long
table :func:`vatjax.load_judgments` takes, one row per key.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "judgments.jsonl"
    >>> with JudgmentStore(path) as store:
    ...     store.append({"model": "m", "condition": "pre", "scenario": "s1",
    ...                   "micro_value": "Wealth", "polarity": "express", "repeat": 0,
    ...                   "strategy": "baseline", "target": "", "direction": 0,
    ...                   "rating": 4.0, "status": "ok", "raw": "4"})
    >>> store_to_table(path)[["condition", "micro_value", "rating"]].values.tolist()
    [['pre', 'Wealth', 4.0]]
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from vatjax.errors import VatInputError

try:  # advisory lock so two collectors never append to one store (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DONE_STATUSES",
    "KEY_FIELDS",
    "TABLE_COLUMNS",
    "JudgmentStore",
    "read_store",
    "store_to_table",
]

KEY_FIELDS = ("model", "condition", "scenario", "micro_value", "polarity", "repeat")
"""The fields that identify one judgment."""
DONE_STATUSES = ("ok", "unparsed")
"""Statuses of an answered request; ``error`` records are retried by a rerun."""
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


def _key(record: dict) -> tuple:
    return tuple(record[k] for k in KEY_FIELDS)


def _repair_tail(path: Path) -> int:
    """Drop a last line cut short by a kill (no trailing newline); return bytes dropped."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return 0
        # scan back for the last complete line
        pos, chunk = size, 4096
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            buf = fh.read(pos - start)
            nl = buf.rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                break
            pos = start
        else:
            keep = 0
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
        return size - keep


def read_store(path: str | os.PathLike) -> list[dict]:
    """All records of a store, in the order written.

    A last line without its newline (a write cut short by a kill) is ignored; any other
    line that is not a JSON object with the key fields is an error naming its line.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.jsonl"
        >>> _ = p.write_text('{"model": "m"')          # a line cut short
        >>> read_store(p)
        []
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such judgment store: {path}")
    data = path.read_bytes()
    lines = data.split(b"\n")
    partial = lines.pop()  # b"" when the file ends with a newline
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
        missing = [k for k in KEY_FIELDS if k not in rec]
        if missing:
            problems.append(f"line {lineno} has no {missing}")
            continue
        records.append(rec)
    if problems:
        raise VatInputError(
            f"{path} is not a vatjax judgment store (or was edited by hand)", problems[:20]
        )
    del partial  # an incomplete last line: its request is redone by the next run
    return records


class JudgmentStore:
    """Append-only JSON-lines store of answers (see the module docstring).

    Args:
        path: the store file (created if missing; a cut-short last line is dropped).
        fsync: fsync after every line (survives a power cut, not only a kill).

    The store holds an advisory lock: a second collector on the same file is refused.
    """

    def __init__(self, path: str | os.PathLike, *, fsync: bool = True):
        self.path = Path(path)
        if self.path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise VatInputError(
                f"the judgment store {self.path.name!r} must be a JSON-lines file: name it "
                "*.jsonl (write a table in another format with --table / store_to_table)"
            )
        if self.path.is_dir():
            raise IsADirectoryError(f"the judgment store {self.path} is a directory; name a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(self._fd)
                raise VatInputError(
                    f"another collector is writing to {self.path}; wait for it to finish "
                    "or write to another file"
                ) from None
        self.dropped_bytes = _repair_tail(self.path)
        self.records = read_store(self.path)
        self.written = 0
        self._synced = 0  # lines known to be on disk
        self._sync: asyncio.Future | None = None
        self._sync_covers = 0

    def done(self) -> dict[tuple, dict]:
        """Answered keys -> their last answered record."""
        out = {}
        for rec in self.records:
            if rec.get("status") in DONE_STATUSES:
                out[_key(rec)] = rec
        return out

    def append(self, record: dict) -> None:
        """Write one record as one line (one ``write`` call), then fsync (if ``fsync``)."""
        self._write(record)
        if self.fsync:
            os.fsync(self._fd)
            self._synced = self.written

    async def append_async(self, record: dict) -> None:
        """Write one record now; return once an fsync covering it has finished.

        The line is in the file (safe from a kill) before this awaits. Concurrent callers
        share fsyncs (a group commit run in a thread), so the event loop never blocks on
        the disk and many answers cost one fsync.
        """
        self._write(record)
        if not self.fsync:
            return
        target = self.written
        while self._synced < target:
            if self._sync is None or self._sync.done():
                self._sync_covers = self.written
                self._sync = asyncio.ensure_future(asyncio.to_thread(os.fsync, self._fd))
            covers, task = self._sync_covers, self._sync
            await asyncio.shield(task)
            self._synced = max(self._synced, covers)

    async def drain(self) -> None:
        """Wait for a group-commit fsync still running (before closing the file)."""
        if self._sync is not None and not self._sync.done():
            await asyncio.wait([self._sync])
        if self._sync is not None and self._sync.done() and not self._sync.cancelled():
            self._sync.exception()  # retrieved: never logged as unretrieved

    def _write(self, record: dict) -> None:
        missing = [k for k in KEY_FIELDS if k not in record]
        if missing:
            raise VatInputError(f"a store record needs the key fields {missing}")
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in record.items()
        }
        line = (json.dumps(clean, ensure_ascii=False, allow_nan=False) + "\n").encode()
        view = memoryview(line)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self.fsync:
            os.fsync(self._fd)
        self.records.append(clean)
        self.written += 1

    def close(self) -> None:
        if self._fd >= 0:
            if self.fsync and self._synced < self.written:
                os.fsync(self._fd)
            os.close(self._fd)  # also releases the lock
            self._fd = -1

    def __enter__(self) -> JudgmentStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def store_to_table(
    source: str | os.PathLike | list[dict], *, details: bool = False, failed: bool = True
) -> pd.DataFrame:
    """The long table of ratings in a store: one row per key, ready for ``load_judgments``.

    A key answered more than once (a rerun after a changed store) keeps its last answer;
    an answer with no rating in it has rating NaN. Keys whose every request failed give a
    NaN row when ``failed`` is True (the judgment is missing) and no row otherwise.

    Args:
        source: a store path or its records (:func:`read_store`).
        details: add the columns status, raw, error, attempts, latency_s, served_model.
        failed: keep keys whose requests all failed, with rating NaN.

    Returns:
        DataFrame with columns model, condition, strategy, target, direction, scenario,
        micro_value, polarity, repeat, rating, sorted by the key.
    """
    records = source if isinstance(source, list) else read_store(source)
    best: dict[tuple, dict] = {}
    for rec in records:
        k = _key(rec)
        prev = best.get(k)
        if (
            rec.get("status") in DONE_STATUSES
            or prev is None
            or (prev.get("status") not in DONE_STATUSES)
        ):
            best[k] = rec
    rows = [r for r in best.values() if failed or r.get("status") in DONE_STATUSES]
    cols = list(TABLE_COLUMNS) + (list(_DETAIL_COLUMNS) if details else [])
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    df["rating"] = pd.to_numeric(df["rating"], errors="coerce").astype(float)
    df["repeat"] = df["repeat"].astype(np.int64)
    df["direction"] = pd.to_numeric(df["direction"]).fillna(0).astype(np.int64)
    for col in ("strategy", "target"):
        df[col] = df[col].fillna("").astype(str)
    return df.sort_values(list(KEY_FIELDS), kind="stable").reset_index(drop=True)
