"""Scaling of every stage: simulate, write Parquet, load_judgments (Parquet, CSV,
DataFrame), shifts, vat, bootstrap (1,000 BCa resamples), noise floor (200 permutations)
and the mvn-marginal fit (4 chains x 1,000 draws), at several samples per cell (4 models x
13 conditions x 56 micro-values), with the cost of each added sample. Each stage runs in a fresh subprocess, so its peak RSS is its own (a load
stage's peak includes its source: the DataFrame, or pyarrow's buffers). Times exclude
imports (and a first small simulation, which compiles) and the untimed set-up of a stage
(simulating before a write, reading the Parquet file into pandas before a DataFrame load,
loading before shifts).

    python benchmarks/bench_scale.py                       # 80, 1,000, 9,002, 30,000 samples
    python benchmarks/bench_scale.py --sizes 80 30000      # other sizes
    python benchmarks/bench_scale.py --table2              # the default study vs Table 2

``--table2`` prints the default study's figures beside the paper's Table 2 ranges
(VAT_SPEC section 5): observed Spearman nVAT, centralization, std(nVAT) under 80%
subsampling (200 resamples), the gain, and the simulator's noise-free nVAT.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ["simulate", "write Parquet", "load Parquet", "load CSV", "load DataFrame", "shifts",
          "vat", "bootstrap", "noise floor", "marginal fit"]  # fmt: skip
RESAMPLES, PERMUTATIONS = 1000, 200
"""The resampling stages' sizes (their cost is linear in both; the CLI's 10,000 and 1,000 at
9,002 samples: RESULTS.md)."""


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _stage(name: str, n: int, folder: Path) -> float:
    """Run one stage; return its seconds (set-up excluded)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

    import vatjax

    parquet, csv = folder / f"study-{n}.parquet", folder / f"study-{n}.csv"
    simulate, load, shifts = vatjax.simulate_study, vatjax.load_judgments, vatjax.shifts
    if name == "simulate":
        simulate(seed=0, n_models=1, n_scenarios=3, n_truth_draws=10)  # imports, compiles
        start = time.perf_counter()
        simulate(seed=0, n_scenarios=n)
        return time.perf_counter() - start
    if name == "write Parquet":
        table = simulate(seed=0, n_scenarios=n, n_truth_draws=100).table
        start = time.perf_counter()
        table.to_parquet(parquet, index=False)
        seconds = time.perf_counter() - start
        pcsv.write_csv(pa.Table.from_pandas(table, preserve_index=False), csv)
        return seconds
    source: object = {"load Parquet": parquet, "load CSV": csv}.get(name, parquet)
    if name == "load DataFrame":
        source = pd.read_parquet(parquet)
    start = time.perf_counter()
    judgments = load(source)
    if name in ("load Parquet", "load CSV", "load DataFrame"):
        return time.perf_counter() - start
    return _analysis_stage(name, judgments, shifts)


def _analysis_stage(name: str, judgments, shifts) -> float:
    """Seconds of one stage after loading: shifts, vat, bootstrap, noise floor (each from
    the shifts), or the marginal fit (from the judgments: its statistics, then 4 chains x
    1,000 draws after 1,000 warmup)."""
    import warnings

    import vatjax

    start = time.perf_counter()
    if name == "marginal fit":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vatjax.fit(judgments, model="mvn-marginal", progress=False)
        return time.perf_counter() - start
    delta = shifts(judgments)
    if name == "shifts":
        return time.perf_counter() - start
    start = time.perf_counter()
    if name == "vat":
        vatjax.vat(delta)
    elif name == "bootstrap":
        vatjax.bootstrap(delta, n_resamples=RESAMPLES, quiet=True)
    else:
        vatjax.noise_floor(delta, n_permutations=PERMUTATIONS, quiet=True)
    return time.perf_counter() - start


def _run(name: str, n: int, folder: Path) -> tuple[float, float]:
    """(seconds, peak GiB) of a stage in a fresh interpreter (one JAX device per core)."""
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={os.cpu_count()}"}
    out = subprocess.run(
        [sys.executable, __file__, "--stage", name, "--n", str(n), "--folder", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["seconds"], result["peak_gib"]


def _header(argv: list[str]) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"command: `python {' '.join(argv)}`  \n"
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}  \n"
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}, load average {load}"
    )


def scaling(sizes: list[int], stages: list[str], folder: Path) -> None:
    """Print the Markdown table: one row per stage, time and peak RSS per size."""
    cols = " | ".join(f"{n:,} s | {n:,} GiB" for n in sizes)
    rows = {stage: [] for stage in stages}
    for n in sizes:
        for stage in stages:
            seconds, gib = _run(stage, n, folder)
            rows[stage] += [f"{seconds:.2f}", f"{gib:.2f}"]
            print(f"  {n:>6} {stage:<15} {seconds:7.2f} s {gib:5.2f} GiB", file=sys.stderr)
        for suffix in ("parquet", "csv"):
            (folder / f"study-{n}.{suffix}").unlink(missing_ok=True)
    print(f"\nRatings: 4 models x 13 conditions x 56 x samples "
          f"({', '.join(f'{52 * 56 * n:,}' for n in sizes)})\n")  # fmt: skip
    print(f"| stage | {cols} |")
    print("|---|" + "---:|" * (2 * len(sizes)))
    for stage, cells in rows.items():
        print(f"| {stage} | {' | '.join(cells)} |")
    if len(sizes) > 1:  # the marginal cost of a sample: the slope between the two largest sizes
        (n0, n1), k = sizes[-2:], 2 * len(sizes)
        print(f"\nCost of one more sample per cell (52 cells), from {n0:,} to {n1:,} samples:\n")
        print("| stage | ms per added sample | MiB per added sample |\n|---|---:|---:|")
        for stage, cells in rows.items():
            t0, g0, t1, g1 = (float(c) for c in cells[k - 4 : k])
            print(f"| {stage} | {1e3 * (t1 - t0) / (n1 - n0):.3f} | "
                  f"{1024 * (g1 - g0) / (n1 - n0):.4f} |")  # fmt: skip


def table2() -> None:
    """The default study's figures beside the paper's Table 2 ranges."""
    import numpy as np

    import vatjax

    start = time.perf_counter()
    study = vatjax.simulate_study(seed=0)
    delta = vatjax.shifts(vatjax.load_judgments(study.table))
    res = vatjax.vat(delta)
    print(f"  simulate, load, shifts, vat: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    boot = vatjax.bootstrap(
        delta, scheme="subsample", n_resamples=200, interval="percentile", quiet=True
    )
    print(f"  + bootstrap: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    sd = boot["nvat"].sel(stat="replicate_sd")
    truth = study.truth
    rows = [
        ("nVAT (Spearman, observed)", res["nvat"], "0.09 - 0.15"),
        ("centralization (Gini)", res["centralization"], "0.07 - 0.16"),
        ("std(nVAT), 80% subsampling", sd, "0.01 - 0.02"),
        ("Gain", res["gain"], "-0.18 - 0.83"),
        ("true nVAT, noise-free (Spearman)", truth["nvat_noise_free_spearman"], "(0.1 - 0.3)"),
        ("true nVAT, noise-free (Pearson)", truth["nvat_noise_free"], "(0.1 - 0.3)"),
        ("true nVAT, observed scale", truth["nvat_observed"], ""),
    ]
    print("| figure (48 cells) | min | median | max | paper |")
    print("|---|---:|---:|---:|---|")
    for name, arr, paper in rows:
        x = np.asarray(arr).ravel()
        print(f"| {name} | {x.min():.3f} | {np.median(x):.3f} | {x.max():.3f} | {paper} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[80, 1000, 9002, 30000])
    parser.add_argument("--stages", nargs="+", default=STAGES, choices=STAGES)
    parser.add_argument("--table2", action="store_true")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        seconds = _stage(args.stage, args.n, args.folder)
        print(json.dumps({"seconds": seconds, "peak_gib": _peak_gib()}))
        return
    print(_header(sys.argv))
    if args.table2:
        table2()
        return
    with tempfile.TemporaryDirectory() as folder:
        scaling(args.sizes, args.stages, Path(folder))


if __name__ == "__main__":
    main()
