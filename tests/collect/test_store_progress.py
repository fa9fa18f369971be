"""The store's progress table against a plain reference: after any sequence of writes
(answers, failures, requests, re-answers with another prompt, batch ingests), resume's
answer (done keys, keys answered with another prompt) equals a scan of every row."""

import sqlite3

import numpy as np
import pytest

from vatjax.collect import progress
from vatjax.collect.progress import BLOCK_BITS
from vatjax.collect.store import STATUS, JudgmentStore, pack_key


def _reference(path, keys, prompts):
    """(done, changed) from every row of the judgments table."""
    with sqlite3.connect(path) as conn:
        rows = dict(
            (k, p)
            for k, p in conn.execute(
                "SELECT key, IFNULL(prompt, 0) FROM judgments WHERE status IN (0, 1)"
            )
        )
    done = np.array([k in rows for k in keys.tolist()])
    changed = [i for i, k in enumerate(keys.tolist()) if k in rows and rows[k] != prompts[i]]
    return done, changed


def _random_rows(rng, n, universe, prompt_of):
    keys = rng.choice(universe, n)
    status = rng.choice([0, 0, 0, 1, 2, 3], n)
    fresh = rng.random(n) < 0.1  # a re-answer asked with another prompt
    return [
        (int(k), int(s), 3.0 if s == 0 else None,
         int(rng.integers(1, 1 << 60)) if f else prompt_of[int(k)], "x", None, None)
        for k, s, f in zip(keys, status, fresh, strict=True)
    ]  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_progress_matches_a_scan_of_every_row(tmp_path, seed, monkeypatch):
    rng = np.random.default_rng(seed)
    chunks = progress._chunks  # resume reads the plan in chunks: make them small
    monkeypatch.setattr(progress, "_chunks", lambda n: chunks(n, size=7))
    # items spanning three blocks, 3 conditions, 2 repeats; some prompts absent (0)
    items = np.r_[0:40, (1 << BLOCK_BITS) - 3 : (1 << BLOCK_BITS) + 5, 3 << BLOCK_BITS]
    universe = np.array([pack_key(c, int(i), r) for c in (1, 2, 5) for i in items for r in (0, 1)])
    prompt_of = {int(k): int(rng.integers(0, 1 << 60)) * (rng.random() > 0.05) for k in universe}
    path = tmp_path / "s.sqlite"
    with JudgmentStore(path, fsync=False) as store:
        for _ in range(6):
            with store.transaction():
                store.write_rows(_random_rows(rng, int(rng.integers(1, 120)), universe, prompt_of))
            planned = rng.choice(universe, int(rng.integers(1, len(universe))), replace=False)
            prompts = np.array([prompt_of[int(k)] for k in planned], np.int64)
            prompts[rng.random(len(planned)) < 0.03] += 1  # the plan changed a few prompts
            done, changed = store.answered(planned, prompts)
            want_done, want_changed = _reference(path, planned, prompts)
            np.testing.assert_array_equal(done, want_done)
            assert sorted(changed.tolist()) == want_changed
        # a plan of exactly what is answered, as it was asked, is settled by the digests alone
        with sqlite3.connect(path) as conn:
            held = conn.execute("SELECT key, IFNULL(prompt, 0) FROM judgments WHERE status < 2")
            keys, prompts = np.array(held.fetchall(), np.int64).T
        asked = []
        monkeypatch.setattr(store, "_prompts", lambda k: asked.append(k) or {})
        done, changed = store.answered(keys, prompts)
        assert done.all() and len(changed) == 0 and asked == []
        assert store.n_answered() == int(
            _reference(path, universe, np.zeros(len(universe)))[0].sum()
        )


def test_progress_is_built_for_a_store_written_before_it(tmp_path):
    path = tmp_path / "old.sqlite"
    keys = [pack_key(1, i, 0) for i in range(50)]
    with JudgmentStore(path, fsync=False) as store:
        with store.transaction():
            store.write_rows([(k, i % 3, 1.0, 7 + i, "r", None, None) for i, k in enumerate(keys)])
    with sqlite3.connect(path) as conn:  # as an earlier version left it
        conn.execute("DROP TABLE progress")
        conn.execute("DELETE FROM meta WHERE name = 'progress'")
    with JudgmentStore(path, fsync=False) as store:
        done, changed = store.answered(np.array(keys), np.array([7 + i for i in range(50)]))
    np.testing.assert_array_equal(done, [i % 3 < 2 for i in range(50)])
    assert len(changed) == 0


def test_a_failed_write_leaves_progress_as_it_was(tmp_path):
    path = tmp_path / "s.sqlite"
    with JudgmentStore(path, fsync=False) as store:
        good = (pack_key(1, 1, 0), STATUS["ok"], 4.0, 9, "4", None, None)
        unbindable = (pack_key(1, 2, 0), STATUS["ok"], [4.0], 9, "4", None, None)
        with pytest.raises(sqlite3.ProgrammingError), store.transaction():
            store.write_rows([good, unbindable])  # fails after the progress update
        assert store.n_answered() == 0
        assert not store.answered(np.array([good[0]]), np.array([9]))[0].any()
