"""Coverage study of the tax's intervals and the debiased nVAT (issue 12).

For each sample size n and true observed-scale nVAT (the figure on infinitely many
samples), simulate ``--studies`` studies of one cell from the shift model
(:mod:`vatjax.core.shift_model`: circumplex coupling calibrated to the wanted nVAT, rating
noise, shifts on a 0.25 grid, so they tie), run :func:`vatjax.bootstrap` on all of them at
once (each study is its own cell, with its own resamples), and print: how often the 90%
interval of nVAT, and of each VAT(u), covers the truth; how many intervals are NaN; the
mean error of the paper's nVAT, of the debiased nVAT, and of the debiased square. The
truth comes from 2,000,000 samples of the same model (sd about 0.0005 on nVAT).

    python benchmarks/coverage_tax.py                          # 200 studies, all of it
    python benchmarks/coverage_tax.py --n 80 --schemes bootstrap --studies 100
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

import jax
import numpy as np
from benchlib import machine, peak_rss

import vatjax
from vatjax.core.debias import debiased_tax
from vatjax.core.shift_model import (
    circumplex_coupling,
    observed_tax,
    simulate_shifts,
    strength_for_nvat,
)
from vatjax.named.simulated import shifts_array

LEVEL = 0.90


def truth_of(nvat: float, truth_draws: int) -> tuple[np.ndarray, float, np.ndarray]:
    """(Omega, the observed-scale nVAT, VAT(u)) of the model calibrated to ``nvat``."""
    if nvat == 0:
        return np.eye(10), 0.0, np.zeros(10)
    omega = circumplex_coupling(10, strength_for_nvat(nvat))
    true_nvat, true_vat = observed_tax(omega, n=truth_draws, seed=12345)
    return omega, true_nvat, true_vat


def studies(omega: np.ndarray, n: int, count: int, seed: int) -> np.ndarray:
    keys = jax.random.split(jax.random.key(seed), count)
    draw = jax.vmap(lambda k: simulate_shifts(k, n, omega, 0.0, 0.5, 0.5, 0.25))
    return np.asarray(draw(keys))


def one_setting(n, omega, true_nvat, true_vat, scheme, args) -> dict:
    x = studies(omega, n, args.studies, seed=args.seed + n)
    sh = shifts_array(x)
    t = time.perf_counter()
    ds = vatjax.bootstrap(sh, n_resamples=args.resamples, scheme=scheme, level=LEVEL,
                          interval="percentile", seed=args.seed, quiet=True)  # fmt: skip
    seconds = time.perf_counter() - t
    nv = ds["nvat"].isel(model=0)
    lo, hi = nv.sel(stat="lower").values, nv.sel(stat="upper").values
    vat = ds["vat"].isel(model=0)
    vlo, vhi = vat.sel(stat="lower").values, vat.sel(stat="upper").values
    debiased = ds["nvat_debiased"].isel(model=0)
    coupling = ds["coupling"].isel(model=0).sel(stat="estimate").values
    square = np.asarray(debiased_tax(coupling, np.full(coupling.shape, float(n))).nvat_sq)
    return {
        "nvat_cover": np.mean((lo <= true_nvat) & (true_nvat <= hi)),
        "vat_cover": np.mean((vlo <= true_vat) & (true_vat <= vhi)),
        "nan": int(np.isnan(lo).sum() + np.isnan(hi).sum() + np.isnan(vlo).sum()),
        "raw_err": float(np.mean(nv.sel(stat="estimate").values - true_nvat)),
        "deb_err": float(np.mean(debiased.sel(stat="estimate").values - true_nvat)),
        "sq_err": float(np.mean(square - true_nvat**2)),
        "sq_mc": float(np.std(square) / np.sqrt(len(square))),
        "width": float(np.mean(hi - lo)),
        "seconds": seconds,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[80, 1000, 9002])
    p.add_argument("--nvat", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    p.add_argument("--schemes", nargs="+", default=["bootstrap", "subsample", "bayesian"])
    p.add_argument("--studies", type=int, default=200)
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--truth-draws", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(f"# {datetime.datetime.now():%Y-%m-%d %H:%M}, {machine()}, load {os.getloadavg()[0]:.2f}")
    print(f"# {args.studies} studies per row, {args.resamples} resamples, 90% intervals; "
          "MC sd of a 90% coverage: "
          f"{np.sqrt(0.09 / args.studies):.3f}")  # fmt: skip
    truths = {v: truth_of(v, args.truth_draws) for v in args.nvat}
    head = ("| scheme | n | true nVAT | nVAT cover | VAT(u) cover | NaN | mean err paper nVAT "
            "| mean err debiased | mean err square (MC sd) | width | s |")
    print(head)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scheme in args.schemes:
        for n in args.n:
            for v in args.nvat:
                omega, tn, tv = truths[v]
                r = one_setting(n, omega, tn, tv, scheme, args)
                print(f"| {scheme} | {n:,} | {tn:.3f} | {r['nvat_cover']:.3f} | "
                      f"{r['vat_cover']:.3f} | {r['nan']} | {r['raw_err']:+.3f} | "
                      f"{r['deb_err']:+.4f} | {r['sq_err']:+.5f} ({r['sq_mc']:.5f}) | "
                      f"{r['width']:.3f} | {r['seconds']:.0f} |", flush=True)  # fmt: skip
    print(f"# peak RSS {peak_rss() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
