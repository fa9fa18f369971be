"""Benchmark and recovery of the ``mvn-marginal`` fit on paper-shaped studies.

Each seed simulates the default study (``vatjax.simulate_study``: 4 models x 12
interventions x 9,002 samples x 56 micro-values, 26 M ratings), loads it, prepares the
shift statistics and fits every cell with the preset's sampler (4 chains x 1,000 draws
after 1,000 warmup). Prints per seed: the time of each stage, the convergence figures over
every VAT quantity (R-hat, bulk and tail ESS, divergences), and the recovery of the
simulator's noise-free nVAT (Pearson; Spearman scale beside it): how often the 90%
interval covers it, and how often the posterior mean is closer to it than the observed
Spearman nVAT (``vatjax.vat``). Then the totals over all seeds. The truth is computed from 100,000 fresh samples per cell
(``--truth-draws``): with the simulator's default 10,000 its Monte Carlo sd is about the
posterior sd at 9,002 samples, and no interval could cover it 90% of the time.

    python benchmarks/bench_marginal.py                       # seeds 0 1 2
    python benchmarks/bench_marginal.py --seeds 0 --models 1  # 12 cells, quicker
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
import warnings

from benchlib import machine, peak_rss

from vatjax.bayes.sampling import use_host_devices

use_host_devices(4)

import vatjax  # noqa: E402
from vatjax.bayes import load_preset  # noqa: E402
from vatjax.bayes._fit import _settings  # noqa: E402
from vatjax.bayes._fit_marginal import fit_marginal  # noqa: E402
from vatjax.bayes.marginal_data import prepare_marginal  # noqa: E402

SCALES = (("Pearson", "nvat", "nvat_noise_free"),
          ("Spearman", "nvat_spearman", "nvat_noise_free_spearman"))  # fmt: skip


def one_seed(seed: int, n_models: int, n_scenarios: int, draws: int, truth_draws: int) -> dict:
    times = {}
    t = time.perf_counter()
    study = vatjax.simulate_study(seed=seed, n_models=n_models, n_scenarios=n_scenarios,
                                  n_truth_draws=truth_draws)  # fmt: skip
    times["simulate"] = time.perf_counter() - t
    t = time.perf_counter()
    judgments = vatjax.load_judgments(study.table)
    del study.table[study.table.columns[0]]  # only the truth is needed from here on
    times["load"] = time.perf_counter() - t
    point = vatjax.vat(vatjax.shifts(judgments))["nvat"]
    t = time.perf_counter()
    data = prepare_marginal(judgments)
    times["statistics"] = time.perf_counter() - t
    preset = load_preset("mvn-marginal")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = fit_marginal(data, preset, _settings(preset, draws=draws, warmup=draws),
                            seed=seed, progress=False)  # fmt: skip
    times["fit"] = time.perf_counter() - t
    times["of which sampling"] = tree.attrs["sampling_time_s"]
    out = {"times": times, "diagnostics": dict(tree["diagnostics"].attrs)}
    for scale, post_name, truth_name in SCALES:
        post = tree["vat"][post_name]
        truth = study.truth[truth_name].sel(model=post["model"], intervention=post["intervention"])
        lo, hi = post.quantile([0.05, 0.95], ("chain", "draw"))
        mean = post.mean(("chain", "draw"))
        obs = point.sel(model=post["model"], intervention=post["intervention"])
        out[scale] = {
            "covered": int(((lo <= truth) & (truth <= hi)).sum()),
            "closer": int((abs(mean - truth) < abs(obs - truth)).sum()),
            "cells": int(truth.size),
            "bias": float((mean - truth).mean()),
            "truth range": (float(truth.min()), float(truth.max())),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--scenarios", type=int, default=9002)
    parser.add_argument("--draws", type=int, default=1000, help="warmup and draws per chain")
    parser.add_argument("--truth-draws", type=int, default=100_000,
                        help="fresh samples behind the Monte Carlo truth (its own error must be "
                        "small beside the posterior's: with 10,000 its sd is about as large)")  # fmt: skip
    args = parser.parse_args()
    print(f"# mvn-marginal on paper-shaped studies, {datetime.date.today()}")
    print(f"# {machine()}; load average {os.getloadavg()[0]:.1f}")
    totals = {scale: [0, 0, 0] for scale, _, _ in SCALES}
    for seed in args.seeds:
        r = one_seed(seed, args.models, args.scenarios, args.draws, args.truth_draws)
        d = r["diagnostics"]
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["times"].items())
        print(f"seed {seed}: {stages}")
        print(f"  max R-hat {d['max_rhat']:.4f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
              f"min tail ESS {d['min_ess_tail']:.0f}, divergences {d['divergences']}")  # fmt: skip
        for scale, _, _ in SCALES:
            s = r[scale]
            lo, hi = s["truth range"]
            print(f"  {scale}: 90% interval covers {s['covered']}/{s['cells']}, posterior "
                  f"mean closer than the Spearman figure {s['closer']}/{s['cells']}, mean "
                  f"bias {s['bias']:+.4f} (truth {lo:.3f}-{hi:.3f})")  # fmt: skip
            totals[scale] = [a + b for a, b in zip(totals[scale], (s["covered"], s["closer"],
                                                                   s["cells"]), strict=True)]  # fmt: skip
    for scale, (covered, closer, cells) in totals.items():
        print(f"all seeds, {scale}: covered {covered}/{cells} ({covered / cells:.0%}), "
              f"closer {closer}/{cells} ({closer / cells:.0%})")  # fmt: skip
    print(f"peak RSS {peak_rss() / 2**30:.2f} GiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
