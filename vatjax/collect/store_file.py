"""Opening a judgment store's file: its name rules, its lock, its schema, and reading
numeric columns of a query into numpy without a Python object per row.

Example:
    >>> import sqlite3
    >>> conn = sqlite3.connect(":memory:")
    >>> fetch_numeric(conn.execute("SELECT 1, 2.5 UNION ALL SELECT 3, 4"), [("a", "i8"), ("b", "f8")])
    array([(1, 2.5), (3, 4. )], dtype=[('a', '<i8'), ('b', '<f8')])
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

import numpy as np

from vatjax.collect.legacy import SUFFIXES as LEGACY_SUFFIXES
from vatjax.collect.progress import SCHEMA as PROGRESS_SCHEMA
from vatjax.errors import VatInputError

try:  # advisory lock so two collectors never write to one store (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["SUFFIXES", "connect", "fetch_numeric", "lock", "resolve"]

SUFFIXES = (".sqlite", ".sqlite3", ".db")
SCHEMA = """
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
    conn.executescript("BEGIN;" + SCHEMA + PROGRESS_SCHEMA + "COMMIT;")
    if conn.execute("SELECT value FROM meta WHERE name = 'store_id'").fetchone() is None:
        conn.execute("INSERT INTO meta VALUES ('store_id', ?)", (secrets.token_hex(4),))
    return conn


def fetch_numeric(cur: sqlite3.Cursor, dtype, chunk: int = 1 << 18) -> np.ndarray:
    """A query's rows as a structured array of ``dtype`` (one field per column, numbers
    only, no NULL), read in chunks: no Python object per row outlives its chunk."""
    parts = []
    while rows := cur.fetchmany(chunk):
        parts.append(np.fromiter(rows, dtype=dtype, count=len(rows)))
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def resolve(path: Path) -> tuple[Path, Path | None]:
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


def lock(path: Path) -> int:
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
