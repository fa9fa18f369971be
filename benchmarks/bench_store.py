"""Resume and export of a paper-scale judgment store (issue 15: 26 M judgments).

Builds an SQLite judgment store of ``--n`` judgments (conditions x items x repeats, with
the mix of statuses, raw answers and details a live run writes), then, each in a fresh
process so that its peak memory is its own:

* resume: open the store and find what is done (``JudgmentStore.done_keys``), then match
  every planned key against it as ``vatjax.collect.planning.resume`` does (searchsorted);
* export: ``store_to_table`` (the long judgments table).

Each phase reports wall and CPU seconds (process time): on a shared machine the wall time
grows with the load average, the CPU time much less.

Targets: resume <= 30 s with bounded memory, export <= 60 s, at 26 M judgments.

Run:
    PYTHONPATH=. python benchmarks/bench_store.py --n 26000000 --dir /tmp/vatjax-bench
    PYTHONPATH=. python benchmarks/bench_store.py --n 2000000        # a quicker point
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vatjax.collect.store import UPSERT, JudgmentStore, pack_key

REPEATS, CONDITIONS = 10, 50


def _rows(store: JudgmentStore, n: int):
    """``n`` judgment rows: 50 conditions x items x 10 repeats, 2% failed, 3% unparsed."""
    n_items = -(-n // (REPEATS * CONDITIONS))
    conds = [store.condition_id("model-a", f"cond-{c}", "fewshot", "Power", -1)
             for c in range(CONDITIONS)]  # fmt: skip
    items = [store.item_id(f"s{i // 4}", f"mv{i % 58}", ("express", "violate")[i % 2], "Power")
             for i in range(n_items)]  # fmt: skip
    rng = random.Random(0)
    details = [json.dumps({"served_model": "model-a", "endpoint": "http://127.0.0.1:8000/v1",
                           "temperature": 0.0, "seed": r, "attempts": 1, "http_status": 200,
                           "finish_reason": "stop", "latency_s": 0.41,
                           "started_at": "2026-11-30T10:00:00.000+00:00"})
               for r in range(REPEATS)]  # fmt: skip
    k = 0
    for c in conds:
        for i in items:
            prompt = rng.getrandbits(60)
            for r in range(REPEATS):
                if k == n:
                    return
                k += 1
                u = rng.random()
                status = 2 if u < 0.02 else 1 if u < 0.05 else 0
                rating = float(1 + k % 5) if status == 0 else None
                raw = None if status == 2 else f"Rating: {1 + k % 5}"
                error = "HTTP 500: try again" if status == 2 else None
                yield pack_key(c, i, r), status, rating, prompt, raw, error, details[r]


def build(path: Path, n: int) -> float:
    t0 = time.perf_counter()
    with JudgmentStore(path, fsync=False) as store:
        store.conn.execute("PRAGMA cache_size=-1000000")
        rows = _rows(store, n)
        while True:
            with store.transaction() as conn:
                before = conn.total_changes
                conn.executemany(UPSERT, itertools.islice(rows, 1_000_000))
                if conn.total_changes == before:
                    break
    return time.perf_counter() - t0


def resume(path: Path) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    with JudgmentStore(path, fsync=False) as store:
        keys, prompts = store.done_keys()
        planned = np.sort(np.concatenate([keys, keys[:1000] + 1]))  # every key, and 1000 new
        pos = np.searchsorted(keys, planned).clip(max=len(keys) - 1)
        done = keys[pos] == planned
        planned_prompts = prompts[pos].copy()  # the plan's hashes (here: the same)
        changed = int((done & (prompts[pos] != planned_prompts)).sum())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "done": int(done.sum()), "changed": changed}


def export(path: Path) -> dict:
    from vatjax.collect.table import store_to_table

    t0, c0 = time.perf_counter(), time.process_time()
    table = store_to_table(path)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    nan = int(table["rating"].isna().sum())
    return {"wall_s": wall, "cpu_s": cpu, "rows": len(table), "nan": nan}


def _phase(name: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--store", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return json.loads(out.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2_000_000, help="judgments in the store")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vatjax-bench"))
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--phase", choices=["resume", "export"])
    ap.add_argument("--store", type=Path)
    args = ap.parse_args()
    if args.phase:
        result = {"resume": resume, "export": export}[args.phase](args.store)
        result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(json.dumps(result))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"store-{args.n}.sqlite"
    if not path.exists():
        print(f"building {args.n:,} judgments: {build(path, args.n):.1f} s", flush=True)
    size = sum(p.stat().st_size for p in args.dir.glob(f"{path.name}*")) / 2**30
    print(f"store {path}: {size:.2f} GiB on disk; load {os.getloadavg()[0]:.2f}", flush=True)
    for name in ("resume", "export") * args.trials:
        print(name, json.dumps(_phase(name, path)), flush=True)
    print(f"load {os.getloadavg()[0]:.2f} at the end; {time.strftime('%Y-%m-%d %H:%M %Z')}")


if __name__ == "__main__":
    main()
