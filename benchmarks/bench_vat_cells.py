"""Benchmark: the VAT metrics, bootstrap and noise floor of many cells at the paper's size.

Shifts of 4 models x 12 interventions x N scenarios x 10 values, simulated with the tie
structure of Likert value scores (a value score is the mean of one or two items' centred
ratings), are run through ``vatjax.vat``, ``vatjax.bootstrap`` (BCa) and
``vatjax.noise_floor``, each stage timed cold (compilation included, as a user meets it)
in a fresh process, for 1, 4, 12 and 48 cells. With ``--against REF`` the same workers
also run on commit REF (a temporary worktree) in the same session: the named baseline.

Usage:
    .venv/bin/python benchmarks/bench_vat_cells.py --devices 2 --resamples 10000 \\
        --permutations 1000 --against HEAD~3
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import machine, peak_rss, run_worker, tree_at


def make_shifts(n: int, n_models: int = 4, n_interventions: int = 12, seed: int = 0):
    """Likert-like shifts with a common coupling of 0.15 between values (a DataArray)."""
    import xarray as xr

    from vatjax.taxonomy import SCHWARTZ

    rng = np.random.default_rng(seed)
    values = list(SCHWARTZ.values)
    v = len(values)
    cov = 0.85 * np.eye(v) + 0.15
    out = np.empty((n_models, n_interventions, n, v), np.float32)
    for m in range(n_models):
        for i in range(n_interventions):
            latent = rng.multivariate_normal(np.zeros(v), cov, size=n)
            pre = np.clip(np.round(rng.normal(0, 1.0, (n, v))), -2, 2)
            post = np.clip(np.round(pre + 0.8 * latent + rng.normal(0, 0.7, (n, v))), -2, 2)
            out[m, i] = np.round((post - pre) / (2 * rng.integers(1, 3, (n, v))), 10)
    targets = ["Security", "Power", "Hedonism", "Stimulation"] * 3
    return xr.DataArray(
        out,
        dims=("model", "intervention", "scenario", "value"),
        coords={
            "model": [f"model-{j}" for j in range(n_models)],
            "intervention": [f"i{j}" for j in range(n_interventions)],
            "scenario": [f"s{j}" for j in range(n)],
            "value": values,
            "strategy": ("intervention", ["prompt"] * n_interventions),
            "target": ("intervention", targets[:n_interventions]),
            "direction": ("intervention", ([1, -1, -1, -1] * 3)[:n_interventions]),
        },
        attrs={"taxonomy": SCHWARTZ.to_json()},
    )


def worker(args) -> None:
    import vatjax

    sh = vatjax.load(args.data)
    sh = sh[next(iter(sh.data_vars))] if hasattr(sh, "data_vars") else sh
    m = max(1, args.cells // sh.sizes["intervention"])
    sh = sh.isel(model=slice(0, m), intervention=slice(0, args.cells // m))
    out = {}
    for name, run in (
        ("vat", lambda: vatjax.vat(sh)),
        ("bootstrap", lambda: vatjax.bootstrap(sh, n_resamples=args.b, seed=0, quiet=True)),
        ("noise_floor", lambda: vatjax.noise_floor(sh, n_permutations=args.p, quiet=True)),
    ):
        t = time.perf_counter()
        run()
        out[name] = time.perf_counter() - t
    out["peak_rss"] = peak_rss()
    print("RESULT " + __import__("json").dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--scenarios", type=int, default=9002)
    ap.add_argument("--resamples", type=int, default=10_000)
    ap.add_argument("--permutations", type=int, default=1000)
    ap.add_argument("--cells", default="1,4,12,48")
    ap.add_argument("--against", default=None, help="git ref: the baseline to run as well")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--b", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--p", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--n-cells", dest="cells_one", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.cells = args.cells_one
        return worker(args)
    import vatjax

    data = Path(tempfile.gettempdir()) / f"vatjax-bench-cells-{args.scenarios}.nc"
    if not data.exists():
        vatjax.save(make_shifts(args.scenarios), data)
    trees = {"this tree": None}
    if args.against:
        sha, tree = tree_at(args.against)
        trees[sha] = tree
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"### VAT stages by number of cells, {date}\n")
    print(f"Command: `.venv/bin/python benchmarks/bench_vat_cells.py {' '.join(sys.argv[1:])}`  ")
    print(f"Machine: {machine()}; {args.devices} host devices.  ")
    print(f"Load average at the start: {os.getloadavg()[0]:.1f}.  ")
    print(f"{args.scenarios:,} scenarios x 10 values per cell; bootstrap {args.resamples:,} "
          f"resamples (BCa), noise floor {args.permutations:,} permutations; cold "
          f"(compilation included), a fresh process per row.\n")  # fmt: skip
    print("| code | cells | vat (s) | bootstrap (s) | us per cell-resample | noise floor (s) "
          "| us per cell-permutation | peak RSS (GiB) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for cells in [int(c) for c in args.cells.split(",")]:
        for name, tree in trees.items():
            flags = ["--worker", "--data", str(data), "--b", str(args.resamples)]
            flags += ["--p", str(args.permutations), "--n-cells", str(cells)]
            r = run_worker(__file__, flags, args.devices, tree)
            per_b = 1e6 * r["bootstrap"] / (cells * args.resamples)
            per_p = 1e6 * r["noise_floor"] / (cells * args.permutations)
            print(f"| {name} | {cells} | {r['vat']:.2f} | {r['bootstrap']:.1f} | {per_b:.0f} | "
                  f"{r['noise_floor']:.1f} | {per_p:.0f} | {r['peak_rss'] / 1024**3:.2f} |",
                  flush=True)  # fmt: skip
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
