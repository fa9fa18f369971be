"""Benchmark: paired comparisons (``vatjax.compare``) at the paper's size, and the null
uniformity of their permutation p-values.

(a) Speed: one model, 12 interventions, N = 9,002 samples x 10 values, simulated with
    :mod:`vatjax.core.shift_model` (circumplex coupling of strength 0.3, Likert-like
    steps of 0.25), all 66 pairs, 2,000 paired resamples and the default 1,000
    permutations; cold (compilation included, as a user meets it) and warm, with the
    share of the permutation test (its run timed alone, on the same sides).
(b) Null uniformity: ``--null-pairs`` pairs with equal coupling (and a gain difference
    in half of them) at ``--null-n`` samples; KS test of the p-values of Gain (the pairs
    with equal gains), debiased nVAT, centralization and VAT(u) against uniform.

Usage:
    .venv/bin/python benchmarks/bench_compare.py --devices 2
    .venv/bin/python benchmarks/bench_compare.py --devices 2 --quick   # smaller
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time


def simulate(n_studies: int, n: int, strength: float, seed: int, means=None):
    """(study, n, 10) observed shifts of :func:`simulate_shifts`, one key per study."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from vatjax.core.shift_model import circumplex_coupling, simulate_shifts

    omega = jnp.asarray(circumplex_coupling(10, strength), jnp.float32)
    means = np.zeros((n_studies, 10), np.float32) if means is None else means
    keys = jax.random.split(jax.random.key(seed), n_studies)
    draw = jax.vmap(lambda k, m: simulate_shifts(k, n, omega, m, 0.5, 0.5, 0.25))
    return np.asarray(draw(keys, jnp.asarray(means)))


def speed(args) -> list[tuple[str, str]]:
    import numpy as np

    import vatjax
    from vatjax.named.compare import _pairs, _sides
    from vatjax.named.compare_run import paired_swaps
    from vatjax.named.simulated import shifts_array
    from vatjax.named.validate import shift_cells

    sh = shifts_array(simulate(12, args.n, 0.3, 0))
    kw = dict(n_resamples=args.resamples, n_permutations=args.permutations, quiet=True)
    rows = []
    t = time.perf_counter()
    ds = vatjax.compare(sh, **kw)
    rows.append(("compare, 66 pairs, cold (incl. compile)", f"{time.perf_counter() - t:.2f} s"))
    warm, cpu = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        vatjax.compare(sh, **kw)
        warm.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    rows.append((f"compare, 66 pairs, warm (best of {args.repeats})",
                 f"{min(warm):.2f} s (CPU time {min(cpu):.1f} s)"))  # fmt: skip
    sc = shift_cells(sh)
    pairs = _pairs(sc.layout, sc.cells, None, None, "intervention")
    side_of, sides = _sides(pairs, sc.cells, pairs.note == "")
    comp = np.array([[side_of[(pairs.cell_a[0, p], 0, p)], side_of[(pairs.cell_b[0, p], 0, p)]]
                     for p in range(len(pairs.pairs))])  # fmt: skip
    paired_swaps(sc.cells, sides, comp, args.permutations, 1)  # compiled
    perm, perm_cpu = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        paired_swaps(sc.cells, sides, comp, args.permutations, 0)
        perm.append(time.perf_counter() - t)
        perm_cpu.append(time.process_time() - c)
    share = min(perm) / min(warm)
    rows.append(("of which the permutation test (warm, timed alone)",
                 f"{min(perm):.2f} s ({share:.0%}; CPU time {min(perm_cpu):.1f} s)"))  # fmt: skip
    per = min(perm) / (66 * (args.permutations + 1)) * 1e6
    rows.append(("permutation cost per pair and permutation (wall)", f"{per:.0f} us"))
    q = ds["nvat_debiased_q"].values
    rows.append(("pairs with q(nVAT_d) < 0.05 (equal coupling: expect ~0)", f"{int((q < 0.05).sum())}"))
    return rows


def null(args) -> list[tuple[str, str]]:
    import numpy as np
    import scipy.stats
    import xarray as xr

    import vatjax
    from vatjax.named.simulated import shifts_array

    m = args.null_pairs
    means = np.zeros((2 * m, 10), np.float32)
    means[: m // 2, 5] = 0.5  # side a of the first half: a gain of 0.5 on Security
    x = simulate(2 * m, args.null_n, 0.3, 1, means)
    base = shifts_array(x[:2])
    sh = xr.DataArray(
        np.stack([x[:m], x[m:]], axis=1),
        dims=base.dims,
        coords={**{c: base.coords[c] for c in ("intervention", "value", "strategy", "target",
                                                 "direction")},
                "model": [f"pair-{i}" for i in range(m)],
                "scenario": [f"s{i}" for i in range(args.null_n)]},
    )  # fmt: skip
    t = time.perf_counter()
    ds = vatjax.compare(sh, "study-0", "study-1", n_resamples=1,
                        n_permutations=args.permutations, quiet=True)  # fmt: skip
    rows = [(f"{m} null pairs at n = {args.null_n}, {args.permutations} permutations",
             f"{time.perf_counter() - t:.1f} s")]  # fmt: skip
    tests = {
        "gain (pairs with equal gains)": ds["gain_p"].values[m // 2 :, 0],
        "nvat_debiased (all)": ds["nvat_debiased_p"].values[:, 0],
        "centralization_debiased (all)": ds["centralization_debiased_p"].values[:, 0],
        "vat_debiased, Security (all)": ds["vat_debiased_p"].sel(value="Security").values[:, 0],
    }
    for name, p in tests.items():
        ks = scipy.stats.kstest(p, "uniform")
        rej = (p <= 0.05).mean()
        rows.append((f"KS p-value, {name}", f"{ks.pvalue:.3f} (share p <= 0.05: {rej:.3f})"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=os.cpu_count())
    parser.add_argument("--n", type=int, default=9002)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--null-pairs", type=int, default=500)
    parser.add_argument("--null-n", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="n 1,000, 100 null pairs at 200")
    args = parser.parse_args()
    if args.quick:
        args.n, args.null_pairs, args.null_n, args.repeats = 1000, 100, 200, 1
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
    sys.path.insert(0, os.path.dirname(__file__))
    from benchlib import machine, peak_rss

    load = os.getloadavg()[0]
    print(f"Command: {' '.join([os.path.basename(sys.executable), *sys.argv])}  ")
    print(f"Machine: {machine()}; {args.devices} host device(s)  ")
    print(f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; load average at "
          f"the start: {load:.2f}  \n")  # fmt: skip
    print("| what | result |\n|---|---|")
    for name, value in [*speed(args), *null(args)]:
        print(f"| {name} | {value} |", flush=True)
    print(f"\nPeak RSS: {peak_rss() / 2**30:.2f} GiB; load average at the end: "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
