"""Benchmark: vatjax.circumplex (RTHOR CI, 10,000 permutations, and the cosine model) on all
48 cells of the paper-scale study, against rthor (the Python port of RTHORR) as baseline.

The study: ``vatjax.simulate_study`` at the paper's size (4 models x 12 interventions x
9,002 scenarios); its coupling from ``vatjax.vat``. Timed in this process: vatjax cold
(compilation included, as a user meets it) and warm; rthor on one cell with 1,000 of its
own random permutations (it loops in Python), scaled to 48 cells x 10,000. The target is
10 s or less on 2 cores.

Usage:
    .venv/bin/python benchmarks/bench_circumplex.py --devices 2
"""

from __future__ import annotations

import argparse
import datetime
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--permutations", type=int, default=10_000)
    ap.add_argument("--scenarios", type=int, default=9002)
    args = ap.parse_args()
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
    import numpy as np
    import rthor
    from benchlib import machine, peak_rss

    import vatjax

    study = vatjax.simulate_study(seed=0, n_models=4, n_scenarios=args.scenarios)
    coupling = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))["coupling"]
    cells = coupling.sizes["model"] * coupling.sizes["intervention"]
    rows = []
    for label in ("vatjax cold", "vatjax warm"):
        t0 = time.perf_counter()
        res = vatjax.circumplex(coupling, n_permutations=args.permutations, seed=0)
        rows.append((label, cells, args.permutations, time.perf_counter() - t0))
    one = coupling.isel(model=0, intervention=0).values
    t0 = time.perf_counter()
    # rthor draws max_perm random relabellings for 10 values (10! is too many)
    from rthor import _core, _permutations

    hyp = _core.generate_hypothesis(_order(10), 10)[0]
    perms = _permutations.generate_permutations(10, max_perm=1000, seed=0)
    agreements, _ = _core.calculate_fit(one, hyp)
    _core.run_permutation_test(one, hyp, agreements, perms)
    took = time.perf_counter() - t0
    rows.append(("rthor, 1 cell x 1,000 (measured)", 1, 1000, took))
    rows.append(("rthor, scaled to 48 x 10,000", cells, args.permutations,
                 took * cells * args.permutations / 1000))  # fmt: skip
    print(f"# {datetime.date.today()}  {machine()}  load {os.getloadavg()[0]:.2f}")
    print("| run | cells | permutations | seconds |\n|---|---:|---:|---:|")
    for label, n_cells, n_perm, secs in rows:
        print(f"| {label} | {n_cells} | {n_perm:,} | {secs:.2f} |")
    print(f"\nspeed-up warm vs rthor (scaled): {rows[3][3] / rows[1][3]:.0f}x; "
          f"peak RSS {peak_rss() / 2**30:.2f} GiB")  # fmt: skip
    ci, p = res["ci"].values, res["p_value"].values
    print(f"CI median {np.median(ci):.3f} (range {ci.min():.3f}-{ci.max():.3f}); "
          f"p < 0.05 in {(p < 0.05).sum()} of {cells} cells; cosine r2 median "
          f"{float(res['cosine_r2'].median()):.3f}; rthor {rthor.__version__}")


def _order(n: int) -> list[int]:
    """RTHOR's order vector for n values on a circle: each pair's circular distance."""
    return [min(j - i, n - (j - i)) for i in range(n) for j in range(i + 1, n)]


if __name__ == "__main__":
    main()
