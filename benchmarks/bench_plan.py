"""Plan and resume a collection end to end, as ``vatjax collect`` does (issue 15).

The item bank is the demo bank's 120 items copied under new scenario ids ``--copies``
times, judged under ``--conditions`` conditions (the baseline and system prompts). A
store holding every judgment as answered is written once; then, in a fresh process,
``plan`` builds the run and ``resume`` finds it all done (its prompt hashes checked).

Target: resume <= 30 s at the paper's size (one model: 13 conditions x 504,000 items,
6.5 M judgments); the baseline is the same plan's size in jobs.

Run:
    PYTHONPATH=. python benchmarks/bench_plan.py --copies 5000 --conditions 4   # 2.4 M
    PYTHONPATH=. python benchmarks/bench_plan.py --copies 500                   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from vatjax.collect import demo_items_path
from vatjax.collect.items import load_items
from vatjax.collect.planning import plan, resume
from vatjax.collect.store import JudgmentStore

TARGETS = ("Power", "Security", "Hedonism", "Achievement", "Benevolence", "Tradition")


def _run(copies: int, n_conditions: int):
    bank = load_items(demo_items_path())
    big = pd.concat([bank.assign(scenario=bank["scenario"] + f"-{k}") for k in range(copies)])
    conditions = ["pre"] + [f"system:{TARGETS[k % 6]}:{(-1, 1)[k // 6 % 2]}"
                            for k in range(n_conditions - 1)]  # fmt: skip
    t0 = time.perf_counter()
    jobs, _ = plan(big.reset_index(drop=True), conditions, model="m")
    return jobs, time.perf_counter() - t0


def build(path: Path, copies: int, n_conditions: int) -> None:
    jobs, _ = _run(copies, n_conditions)
    with JudgmentStore(path, fsync=False) as store:
        keys, prompts = jobs.store_keys(store).tolist(), jobs.prompt_ints().tolist()
        for start in range(0, len(keys), 1_000_000):
            part = slice(start, start + 1_000_000)
            with store.transaction():
                store.write_rows([(k, 0, 3.0, p, "Rating: 3", None, None)
                                  for k, p in zip(keys[part], prompts[part], strict=True)])  # fmt: skip


def measure(path: Path, copies: int, n_conditions: int) -> dict:
    jobs, plan_s = _run(copies, n_conditions)
    t0 = time.perf_counter()
    with JudgmentStore(path, fsync=False) as store:
        done, _ = resume(store, jobs)
    return {"jobs": len(jobs), "plan_s": plan_s, "resume_s": time.perf_counter() - t0,
            "done": int(done.sum()),
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=500, help="copies of the 120-item demo bank")
    ap.add_argument("--conditions", type=int, default=4)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vatjax-bench-plan"))
    ap.add_argument("--phase", choices=["build", "measure"])
    args = ap.parse_args()
    path = args.dir / f"plan-{args.copies}x{args.conditions}.sqlite"
    if args.phase:
        result = (build if args.phase == "build" else measure)(path, args.copies, args.conditions)
        print(json.dumps(result))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    for phase in ("build", "measure") if not path.exists() else ("measure",):
        out = subprocess.run([sys.executable, __file__, "--phase", phase, "--dir", str(args.dir),
                              "--copies", str(args.copies), "--conditions", str(args.conditions)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    r = json.loads(out.splitlines()[-1])
    paper = 13 * 504_000
    print(f"load {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print("| jobs | plan | resume | found done | peak RSS | resume scaled to 6.5 M jobs |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {r['jobs']:,} | {r['plan_s']:.1f} s | {r['resume_s']:.1f} s | {r['done']:,} | "
          f"{r['peak_rss_gib']:.2f} GiB | {r['resume_s'] * paper / r['jobs']:.1f} s "
          "(target 30 s) |")  # fmt: skip


if __name__ == "__main__":
    main()
