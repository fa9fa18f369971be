"""Simulation-based calibration of the ``mvn-marginal`` model (the preset's prior, the
model's own data, the same per-cell NUTS as ``vatjax.fit``): rank histograms of a shift
mean, a shift sd, one Omega entry and the noise-free nVAT, with chi-square and KS tests.
The method: :mod:`vatjax.bayes.marginal_sbc`.

    python benchmarks/sbc_marginal.py                        # 400 replicates, V = 4
    python benchmarks/sbc_marginal.py --replicates 200 --values 10 --samples 500
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

from benchlib import machine
from sbc import markdown

from vatjax.bayes.marginal_sbc import marginal_sbc, uniformity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=400)
    parser.add_argument("--samples", type=int, default=200, help="samples per replicate")
    parser.add_argument("--values", type=int, default=4)
    parser.add_argument("--draws", type=int, default=500, help="warmup and draws per chain")
    parser.add_argument("--thin", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    start = time.perf_counter()
    ranks = marginal_sbc(replicates=args.replicates, n_samples=args.samples,
                         n_values=args.values, draws=args.draws, thin=args.thin,
                         seed=args.seed)  # fmt: skip
    print(f"# SBC of mvn-marginal, {datetime.date.today()}; {machine()}; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    print(
        f"{args.replicates} replicates x {args.samples} samples x {args.values} values, "
        f"2 chains x {args.draws} draws thinned by {args.thin} (L = {int(ranks['L'].iloc[0])}), "
        f"{time.perf_counter() - start:.0f} s, {int(ranks['divergences'].sum())} divergences"
    )
    print(markdown(uniformity(ranks)))


if __name__ == "__main__":
    main()
