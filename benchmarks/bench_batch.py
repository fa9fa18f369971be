"""Batch API files at scale (issue 15): write the requests of 1 M judgments, ingest 1 M results.

The item bank is the demo bank's 120 items copied under new scenario ids to ``--items``
items; the conditions are the baseline and ``system:VALUE:DIRECTION`` prompts, up to
``--conditions``; ``--repeats`` repeats. Timed:

* write: ``write_batch_requests`` from the item table to the request files (planning,
  the store's registration of every request, the JSON lines, split at 50,000 lines);
* ingest: ``ingest_batch_results`` of one output file holding every request's result
  (made beforehand, not timed, by ``vatjax.testing.fakeserver.fake_batch_results``: about
  5% answers without a rating, 2% HTTP 500 failures).

Targets: both <= 60 s for 1 M judgments.

Run:
    PYTHONPATH=. python benchmarks/bench_batch.py                       # 1,008,000 judgments
    PYTHONPATH=. python benchmarks/bench_batch.py --items 1200 --repeats 2   # a quick check
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

import pandas as pd

from vatjax.collect import demo_items_path, load_items
from vatjax.collect.batch import ingest_batch_results, write_batch_requests
from vatjax.testing.fakeserver import fake_batch_results

VALUES = ("Power", "Security", "Achievement", "Hedonism", "Benevolence")


def _items(n: int) -> pd.DataFrame:
    demo = load_items(demo_items_path())
    copies = [demo.assign(scenario=demo["scenario"] + f"-{k}") for k in range(-(-n // len(demo)))]
    return pd.concat(copies, ignore_index=True).iloc[:n]


def _conditions(n: int) -> list[str]:
    specs = ["pre"] + [f"system:{v}:{d}" for v in VALUES for d in ("reinforce", "suppress")]
    return specs[:n]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=10_080)
    ap.add_argument("--conditions", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vatjax-bench-batch"))
    ap.add_argument("--with-key", action="store_true",
                    help="set a 164-character OPENAI_API_KEY, so every text is redacted")  # fmt: skip
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    items, conds = _items(args.items), _conditions(args.conditions)
    store = args.dir / "store.sqlite"
    print(f"load {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    t0, c0 = time.perf_counter(), _cpu()
    sent = write_batch_requests(items, conds, model="bench", out=store,
                                requests=args.dir / "requests.jsonl", repeats=args.repeats)  # fmt: skip
    t1, c1 = time.perf_counter(), _cpu()
    size = sum(p.stat().st_size for p in sent.files) / 2**20
    print(f"write: {sent.requests:,} requests in {len(sent.files)} files ({size:.0f} MiB) "
          f"in {t1 - t0:.1f} s wall, {c1 - c0:.1f} s CPU", flush=True)  # fmt: skip
    results = args.dir / "results.jsonl"
    fake_batch_results(sent.files, results, no_rating=("Wealth",), fail_for=("Daring",))
    if args.with_key:
        os.environ["OPENAI_API_KEY"] = "sk-proj-" + "a1B2c3D4e5F6g7H8" * 9 + "xyzw"
    t2, c2 = time.perf_counter(), _cpu()
    got = ingest_batch_results([results], out=store)
    t3, c3 = time.perf_counter(), _cpu()
    print(f"ingest: {got.lines:,} results ({got.answered:,} answered, {got.unparsed:,} "
          f"without a rating, {got.errors:,} failed) in {t3 - t2:.1f} s wall, "
          f"{c3 - c2:.1f} s CPU", flush=True)  # fmt: skip
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS {rss:.2f} GiB; load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
