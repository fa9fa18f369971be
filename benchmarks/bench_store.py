"""Resume and export of a paper-scale judgment store (issue 15: 26 M judgments).

Builds an SQLite judgment store of ``--n`` judgments (conditions x items x repeats, with
the mix of statuses, raw answers and details a live run writes), then, each in a fresh
process so that its peak memory is its own:

* resume: open the store and find which planned keys are answered, their prompt hashes
  checked (``JudgmentStore.answered``, what ``vatjax.collect.planning.resume`` calls);
* export: ``store_to_table`` (the long judgments table);
* ingest: 1,000,000 Batch API result lines stored into it (``ingest_batch_results``),
  answering as many requested judgments added under two new conditions.

The first trial drops the store's files from the page cache first (cold), the next ones
read them as the first left them (warm).

Each phase reports wall and CPU seconds (process time): on a shared machine the wall time
grows with the load average, the CPU time much less.

Targets: resume <= 30 s with bounded memory, export <= 60 s, at 26 M judgments; ingest of
1 M result lines <= 60 s.

Run:
    PYTHONPATH=. python benchmarks/bench_store.py --n 26000000 --dir /tmp/vatjax-bench
    PYTHONPATH=. python benchmarks/bench_store.py --n 2000000        # a quicker point
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from vatjax.collect.progress import digest_terms
from vatjax.collect.store import JudgmentStore, pack_key

REPEATS, CONDITIONS = 10, 50
DETAIL = json.dumps({"served_model": "model-a", "endpoint": "http://127.0.0.1:8000/v1",
                     "temperature": 0.0, "attempts": 1, "http_status": 200,
                     "finish_reason": "stop", "latency_s": 0.41,
                     "started_at": "2026-11-30T10:00:00.000+00:00"})  # fmt: skip


def plan_arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The keys and prompt hashes of ``n`` judgments: 50 conditions x items x 10 repeats
    (condition and item ids as the store numbers them, from 1), a prompt per item."""
    n_items = -(-n // (REPEATS * CONDITIONS))
    k = np.arange(n, dtype=np.int64)
    cond, item, repeat = 1 + k // (n_items * REPEATS), 1 + (k // REPEATS) % n_items, k % REPEATS
    prompts = digest_terms(cond << 32 | item, np.zeros(n, np.int64)) & ((1 << 60) - 1)
    return cond << 44 | item << 20 | repeat, prompts


def build(path: Path, n: int) -> float:
    """The store: 2% failed, 3% without a rating, a live run's detail on every row."""
    t0 = time.perf_counter()
    keys, prompts = plan_arrays(n)
    status = np.searchsorted([0.02, 0.05], np.random.default_rng(0).random(n), side="right")
    status = np.array([2, 1, 0])[status]
    with JudgmentStore(path, fsync=False) as store:
        store.conn.execute("PRAGMA cache_size=-1000000")
        with store.transaction():
            for c in range(CONDITIONS):
                store.condition_id("model-a", f"cond-{c}", "fewshot", "Power", -1)
            for i in range(int(keys[-1] >> 20 & 0xFFFFFF)):
                store.item_id(f"s{i // 4}", f"mv{i % 58}", ("express", "violate")[i % 2], "Power")
        assert pack_key(1, 1, 0) == keys[0]
        for start in range(0, n, 1_000_000):
            part = slice(start, start + 1_000_000)
            rows = [
                (k, s, None if s else float(1 + k % 5), p,
                 None if s == 2 else f"Rating: {1 + k % 5}",
                 "HTTP 500: try again" if s == 2 else None, DETAIL)
                for k, s, p in zip(keys[part].tolist(), status[part].tolist(),
                                   prompts[part].tolist(), strict=True)
            ]  # fmt: skip
            with store.transaction():
                store.write_rows(rows)
    return time.perf_counter() - t0


def evict(path: Path) -> None:
    """Drop the store's files from the page cache (a cold first read)."""
    for f in path.parent.glob(f"{path.name}*"):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def resume(path: Path, n: int) -> dict:
    """Open the store and find which of the plan's keys (every key, and 1,000 new ones)
    are answered, checking their prompt hashes, as ``planning.resume`` does."""
    keys, prompts = plan_arrays(n)
    planned = np.concatenate([keys, keys[-1000:] + (1 << 32)])
    planned_prompts = np.concatenate([prompts, prompts[-1000:]])
    del keys, prompts
    tracemalloc.start()  # numpy's buffers included: the resume's own memory, not the plan's
    t0, c0 = time.perf_counter(), time.process_time()
    with JudgmentStore(path, fsync=False) as store:
        done, changed = store.answered(planned, planned_prompts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    extra = tracemalloc.get_traced_memory()[1] / 2**30
    return {"wall_s": wall, "cpu_s": cpu, "done": int(done.sum()), "changed": len(changed),
            "resume_peak_gib": extra}  # fmt: skip


def export(path: Path) -> dict:
    from vatjax.collect.table import store_to_table

    t0, c0 = time.perf_counter(), time.process_time()
    table = store_to_table(path)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    nan = int(table["rating"].isna().sum())
    return {"wall_s": wall, "cpu_s": cpu, "rows": len(table), "nan": nan}


def prepare_ingest(path: Path, n_items: int = 50_000) -> Path:
    """Add 1,000,000 requested judgments (2 new conditions x 50,000 items x 10 repeats) to
    the store, and the Batch API output file that answers them (beside the store)."""
    results = path.with_name(path.stem + "-results.jsonl")
    if results.exists():
        return results
    with JudgmentStore(path, fsync=False) as store:
        with store.transaction():
            conds = [store.condition_id("model-b", f"batch-{c}", "baseline", "", 0)
                     for c in range(2)]  # fmt: skip
        keys = [pack_key(c, i, r) for c in conds for i in range(1, n_items + 1)
                for r in range(REPEATS)]  # fmt: skip
        with store.transaction():
            store.write_rows([(k, 3, None, 12345, None, None, None) for k in keys])
        sid = store.store_id
    with open(results, "w") as fh:
        for k in keys:
            body = {"choices": [{"message": {"role": "assistant", "content": f"Rating: {1 + k % 5}"},
                                 "finish_reason": "stop"}], "model": "model-b"}  # fmt: skip
            cid = f"vat-{sid}-c{k >> 44}-i{(k >> 20) & 0xFFFFFF}-r{k & 0xFFFFF}"
            line = {"id": "b", "custom_id": cid, "response": {"status_code": 200, "body": body}}
            fh.write(json.dumps(line) + "\n")
    return results


def ingest(path: Path) -> dict:
    """Store the 1,000,000 result lines of :func:`prepare_ingest`."""
    from vatjax.collect.batch import ingest_batch_results

    t0, c0 = time.perf_counter(), time.process_time()
    got = ingest_batch_results(path.with_name(path.stem + "-results.jsonl"), out=path, fsync=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "lines": got.lines, "answered": got.answered}


def _phase(name: str, path: Path, n: int, cold: bool) -> dict:
    if cold:
        evict(path)
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--store", str(path),
                          "--n", str(n)], capture_output=True, text=True, check=True).stdout  # fmt: skip
    return json.loads(out.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2_000_000, help="judgments in the store")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vatjax-bench"))
    ap.add_argument("--trials", type=int, default=2, help="the first one cold")
    ap.add_argument("--phase", choices=["resume", "export", "ingest"])
    ap.add_argument("--store", type=Path)
    args = ap.parse_args()
    if args.phase:
        phases = {"resume": lambda: resume(args.store, args.n),
                  "export": lambda: export(args.store), "ingest": lambda: ingest(args.store)}  # fmt: skip
        result = phases[args.phase]()
        result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(json.dumps(result))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"store-{args.n}.sqlite"
    if not path.exists():
        print(f"building {args.n:,} judgments: {build(path, args.n):.1f} s", flush=True)
    size = sum(p.stat().st_size for p in args.dir.glob(f"{path.name}*")) / 2**30
    print(f"store {path}: {size:.2f} GiB on disk; load {os.getloadavg()[0]:.2f}", flush=True)
    for trial in range(args.trials):
        for name in ("resume", "export"):
            cache = "cold" if trial == 0 else "warm"
            print(name, cache, json.dumps(_phase(name, path, args.n, trial == 0)), flush=True)
    prepare_ingest(path)  # 1 M more requested judgments, answered by a results file
    print("ingest 1 M result lines, cold", json.dumps(_phase("ingest", path, args.n, True)))
    print(f"load {os.getloadavg()[0]:.2f} at the end; {time.strftime('%Y-%m-%d %H:%M %Z')}")


if __name__ == "__main__":
    main()
