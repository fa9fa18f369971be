"""What a judgment store has answered, kept where a resume reads it at once.

The ``progress`` table has one row per block: one condition, 4,096 consecutive item ids
and one repeat. A row holds a bitmap of the block's answered judgments (status ``ok`` or
``unparsed``), their count, and a digest: the XOR of a 64-bit hash of (key, prompt hash)
over them. The store updates it in the transaction of every write
(:func:`record_answers`), so it never disagrees with the ``judgments`` table.

Resuming (:func:`answered`) reads these few thousand rows instead of one row per
judgment: a store of 26 million judgments is found done from about 3 MB. The plan's keys
are looked up in the bitmaps, and its prompt hashes are checked block by block against
the digests. Only a block whose count or digest differs is read row by row: a block
that was asked with another prompt, or one that holds answers this plan does not ask.

Example:
    >>> import sqlite3, numpy as np
    >>> conn = sqlite3.connect(":memory:")
    >>> _ = conn.executescript(SCHEMA)
    >>> keys, prompts = np.array([5, 1 << 20], np.int64), np.array([11, 12], np.int64)
    >>> record_answers(conn, keys, prompts, previous_prompts=lambda k: {})
    >>> done, changed = answered(conn, np.array([5, 6, 1 << 20]), np.array([11, 11, 99]),
    ...                          stored_prompts=lambda k: dict(zip(keys.tolist(), prompts.tolist())))
    >>> done.tolist(), changed.tolist()
    ([True, False, True], [2])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["SCHEMA", "answered", "digest_terms", "record_answers"]

BLOCK_BITS = 12
"""Item ids per block: 2**12."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS progress (block INTEGER PRIMARY KEY, done BLOB NOT NULL,
    n INTEGER NOT NULL, digest INTEGER NOT NULL);
"""
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
PromptLookup = Callable[[np.ndarray], dict]
"""keys (int64) -> {key: the prompt hash the store holds for it, 0 if none}."""


def locate(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(block id, bit) of store keys ``cond << 44 | item << 20 | repeat``."""
    keys = np.asarray(keys, np.int64)
    cond, item, repeat = keys >> 44, (keys >> 20) & 0xFFFFFF, keys & 0xFFFFF
    return cond << 32 | (item >> BLOCK_BITS) << 20 | repeat, item & ((1 << BLOCK_BITS) - 1)


def digest_terms(keys: np.ndarray, prompts: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each (key, prompt hash): splitmix64's finaliser (int64 view).

    Example:
        >>> a = digest_terms(np.array([1, 2]), np.array([7, 7]))
        >>> bool(a[0] != a[1]), bool(digest_terms(np.array([1]), np.array([8]))[0] != a[0])
        (True, True)
    """
    m1, m2, m3 = (np.uint64(m) for m in _MULTIPLIERS)
    x = np.asarray(keys, np.int64).view(np.uint64) * m1
    x ^= np.asarray(prompts, np.int64).view(np.uint64)
    x ^= x >> np.uint64(30)
    x *= m2
    x ^= x >> np.uint64(27)
    x *= m3
    x ^= x >> np.uint64(31)
    return x.view(np.int64)


def _xor_by_group(terms: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """XOR of ``terms`` within each group id 0..n_groups-1 (0 for an empty group)."""
    out = np.zeros(n_groups, np.int64)
    if len(terms):
        order = np.argsort(group, kind="stable")
        g = group[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        out[g[starts]] = np.bitwise_xor.reduceat(terms[order], starts)
    return out


def _read_blocks(conn, blocks: np.ndarray | None):
    """(block ids, bitmaps (n, 4096) bool, counts, digests) of the stored rows of
    ``blocks`` (all rows if None), sorted by block id."""
    sql = "SELECT block, done, n, digest FROM progress"
    rows: list = []
    if blocks is None:
        rows = conn.execute(sql + " ORDER BY block").fetchall()
    else:
        ids = np.unique(blocks).tolist()
        for start in range(0, len(ids), 30_000):
            part = ids[start : start + 30_000]
            marks = ",".join("?" * len(part))
            rows += conn.execute(f"{sql} WHERE block IN ({marks})", part).fetchall()
        rows.sort(key=lambda r: r[0])
    width = 1 << BLOCK_BITS
    ids = np.fromiter((r[0] for r in rows), np.int64, count=len(rows))
    packed = np.frombuffer(b"".join(r[1] for r in rows), np.uint8)
    bitmaps = np.unpackbits(packed, bitorder="little").reshape(len(rows), width).astype(bool)
    counts = np.fromiter((r[2] for r in rows), np.int64, count=len(rows))
    digests = np.fromiter((r[3] for r in rows), np.int64, count=len(rows))
    return ids, bitmaps, counts, digests


def record_answers(
    conn, keys: np.ndarray, prompts: np.ndarray, *, previous_prompts: PromptLookup
) -> None:
    """Update the progress rows for answers written in this transaction.

    Args:
        conn: the store's connection, inside the transaction of the write.
        keys: the keys that now hold an answer, each once (int64).
        prompts: the prompt hash each of them now holds (0 if none).
        previous_prompts: looks up the prompt hash a key held before this write; it is
            asked only for keys that were already answered (a re-answer), so call this
            before the rows are written.
    """
    keys, prompts = np.asarray(keys, np.int64), np.asarray(prompts, np.int64)
    if not len(keys):
        return
    blocks, bits = locate(keys)
    stored_ids, bitmaps, _, digests = _read_blocks(conn, blocks)
    ids = np.union1d(stored_ids, blocks)
    at = np.searchsorted(ids, stored_ids)
    full = np.zeros((len(ids), 1 << BLOCK_BITS), bool)
    full[at] = bitmaps
    digest = np.zeros(len(ids), np.int64)
    digest[at] = digests
    row = np.searchsorted(ids, blocks)
    again = full[row, bits]
    terms = digest_terms(keys, prompts)
    if again.any():  # a re-answer replaces its old term
        before = previous_prompts(keys[again])
        old = np.fromiter((before[k] for k in keys[again].tolist()), np.int64)
        terms[again] ^= digest_terms(keys[again], old)
    digest ^= _xor_by_group(terms, row, len(ids))
    full[row, bits] = True
    touched = np.unique(row)
    packed = np.packbits(full[touched], axis=1, bitorder="little")
    conn.executemany(
        "INSERT OR REPLACE INTO progress (block, done, n, digest) VALUES (?, ?, ?, ?)",
        zip(
            ids[touched].tolist(),
            (p.tobytes() for p in packed),
            full[touched].sum(axis=1).tolist(),
            digest[touched].tolist(),
            strict=True,
        ),
    )


def answered(
    conn, keys: np.ndarray, prompts: np.ndarray, *, stored_prompts: PromptLookup
) -> tuple[np.ndarray, np.ndarray]:
    """Which planned keys the store has answered, and which of those it answered with
    another prompt hash.

    Args:
        keys: planned keys (int64, each once); prompts: their prompt hashes (0 if none).
        stored_prompts: looks up the prompt hashes the store holds (asked only for the
            keys of blocks whose count or digest differs from the plan's).

    Returns:
        (done: bool per key, changed: the indices of done keys whose prompt differs).
    """
    keys, prompts = np.asarray(keys, np.int64), np.asarray(prompts, np.int64)
    ids, bitmaps, counts, digests = _read_blocks(conn, None)
    done = np.zeros(len(keys), bool)
    if not len(ids) or not len(keys):
        return done, np.empty(0, np.int64)
    plan_digest, plan_count = np.zeros(len(ids), np.int64), np.zeros(len(ids), np.int64)
    for part in _chunks(len(keys)):  # bounded memory: a few hundred MB at any plan size
        row, done[part] = _lookup(ids, bitmaps, keys[part])
        hit = np.flatnonzero(done[part])
        terms = digest_terms(keys[part][hit], prompts[part][hit])
        plan_digest ^= _xor_by_group(terms, row[hit], len(ids))
        plan_count += np.bincount(row[hit], minlength=len(ids))
    agree = (plan_count == counts) & (plan_digest == digests)
    if agree.all():
        return done, np.empty(0, np.int64)
    check = []  # the done keys of the blocks that disagree, read row by row
    for part in _chunks(len(keys)):
        row = _lookup(ids, bitmaps, keys[part])[0]
        check.append(part.start + np.flatnonzero(done[part] & ~agree[row]))
    check = np.concatenate(check)
    held = stored_prompts(keys[check])
    stored = np.fromiter((held[k] for k in keys[check].tolist()), np.int64, count=len(check))
    return done, check[stored != prompts[check]]


def _chunks(n: int, size: int = 1 << 22):
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _lookup(ids: np.ndarray, bitmaps: np.ndarray, keys: np.ndarray):
    """(progress row of each key's block, whether the key is answered)."""
    blocks, bits = locate(keys)
    row = np.searchsorted(ids, blocks).clip(max=len(ids) - 1)
    return row, (ids[row] == blocks) & bitmaps[row, bits]
