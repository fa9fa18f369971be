"""Benchmark: vatjax.power for 10 sample sizes x 1,000 simulated studies, and a fresh check
of the n it reports for 80% power.

The design: a true observed-scale nVAT of 0.1 (calibrated to a circumplex strength with
``strength_for_nvat``), rating noise 0.5, true-shift sd 0.5, shifts on a grid of 0.25;
two strategies with gains 0.3 and 0.2 on the same samples, their target shifts correlated
0.5. Timed cold (compilation included, as a user meets it) in this process: the
calibration, then ``vatjax.power`` (the curves, the n for 80% power and its built-in
check), then the same call warm. The fresh check simulates the design again at each
reported n with another seed and 4x the studies; it should land in 75-85%.

Usage:
    .venv/bin/python benchmarks/bench_power.py --devices 2
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

NS = (80, 140, 240, 420, 730, 1270, 2200, 3000, 5200, 9002)
DESIGN = dict(gain=0.3, gain_b=0.2, paired_correlation=0.5, noise=0.5, shift_sd=0.5, step=0.25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--studies", type=int, default=1000)
    ap.add_argument("--nvat", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
    from benchlib import machine, peak_rss

    import vatjax
    from vatjax.core.shift_model import strength_for_nvat

    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"### Power and sample size, {date}\n")
    print(f"Command: `.venv/bin/python benchmarks/bench_power.py {' '.join(sys.argv[1:])}`  ")
    print(f"Machine: {machine()}; {args.devices} host devices.  ")
    print(f"Load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.  ")
    print(f"Design: observed-scale nVAT {args.nvat}, {DESIGN}; {len(NS)} sample sizes "
          f"{NS[0]}..{NS[-1]:,}; {args.studies:,} studies (and as many null studies).\n")  # fmt: skip

    t = time.perf_counter()
    strength = strength_for_nvat(args.nvat, shift_sd=0.5, noise=0.5, step=0.25)
    t_cal = time.perf_counter() - t
    run = dict(strength=strength, n_studies=args.studies, seed=args.seed, **DESIGN)
    t = time.perf_counter()
    ds = vatjax.power(NS, **run)
    t_cold = time.perf_counter() - t
    t = time.perf_counter()
    vatjax.power(NS, **run)
    t_warm = time.perf_counter() - t

    print("| stage | seconds |\n|---|---:|")
    print(f"| calibration: nVAT {args.nvat} -> strength {strength:.4f} (strength_for_nvat) "
          f"| {t_cal:.1f} |")  # fmt: skip
    print(f"| vatjax.power, cold (curves + n for 80% + its check) | {t_cold:.1f} |")
    print(f"| vatjax.power, warm | {t_warm:.1f} |")
    print(f"| what `vatjax power --nvat {args.nvat}` costs (calibration + cold) "
          f"| {t_cal + t_cold:.1f} |")  # fmt: skip
    print(f"\nPeak RSS {peak_rss() / 2**30:.2f} GiB.\n")

    print("| n | power_tax | se | floor_nvat | mean_nvat | mean_nvat_debiased "
          "| power_gain_difference | se |\n|---:|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for i, n in enumerate(NS):
        row = [float(ds[v][i]) for v in ("power_tax", "power_tax_se", "floor_nvat", "mean_nvat",
               "mean_nvat_debiased", "power_gain_difference", "power_gain_difference_se")]  # fmt: skip
        print(f"| {n:,} | " + " | ".join(f"{x:.3f}" for x in row) + " |")
    fresh_check(vatjax, ds, run, args)


def fresh_check(vatjax, ds, run: dict, args) -> None:
    """Power at each reported n in a new simulation: another seed, 4x the studies."""
    sizes = {str(t): float(ds["n_for_power"].sel(test=t)) for t in ds["test"].values}
    found = {t: int(n) for t, n in sizes.items() if n == n}
    print("\n| test | n for 80% power | built-in check (4x studies) | fresh check: seed "
          f"{args.seed + 1}, {4 * args.studies:,} studies | in 75-85% |")  # fmt: skip
    print("|---|---:|---:|---:|---|")
    if not found:
        print("| (no n found) | | | | |")
        return
    fresh = vatjax.power(sorted(set(found.values())), **{**run, "seed": args.seed + 1,
                         "n_studies": 4 * args.studies, "check": False})  # fmt: skip
    for test, n_star in found.items():
        p = float(fresh[f"power_{test}"].sel(n=n_star))
        se = float(fresh[f"power_{test}_se"].sel(n=n_star))
        built = (
            float(ds["power_check"].sel(test=test)),
            float(ds["power_check_se"].sel(test=test)),
        )
        ok = "yes" if 0.75 <= p <= 0.85 else "NO"
        print(f"| {test} | {n_star:,} | {built[0]:.3f} +- {built[1]:.3f} | {p:.3f} +- {se:.3f} "
              f"| {ok} |")  # fmt: skip


if __name__ == "__main__":
    main()
