"""Benchmark: the mvn-marginal fit at the paper's shape (48 cells x 9,002 samples x 10
values, 4 chains x 1,000 draws after 1,000 warmup), data simulated from the model.

    PYTHONPATH=$PWD python benchmarks/bench_marginal.py [n_models n_interventions n_samples draws]

Prints the time, the diagnostics (R-hat, bulk/tail ESS over every VAT quantity) and the
recovery of the noise-free nVAT (90% coverage, posterior mean vs the Spearman point).
"""

import sys
import time
import warnings

import numpy as np

from vatjax.bayes._fit import _settings, use_host_devices

use_host_devices(4)

from vatjax.bayes import load_preset  # noqa: E402
from vatjax.bayes._fit_marginal import fit_marginal  # noqa: E402
from vatjax.bayes.marginal_data import from_shifts  # noqa: E402
from vatjax.bayes.marginal_sim import simulate_shifts  # noqa: E402


def main(n_models=4, n_int=12, n_samples=9002, draws=1000):
    t = time.perf_counter()
    sim = simulate_shifts(0, n_models=n_models, n_interventions=n_int, n_samples=n_samples)
    data = from_shifts(sim.d, sim.noise)
    prep = time.perf_counter() - t
    preset = load_preset("mvn-marginal")
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    tree = fit_marginal(data, preset, _settings(preset, draws=draws, warmup=draws), progress=False)
    total = time.perf_counter() - t
    diag = tree["diagnostics"].attrs
    post = tree["vat"]["nvat"]
    lo, hi = post.quantile([0.05, 0.95], ("chain", "draw")).values
    truth = sim.truth["nvat"]
    print(f"simulate + statistics {prep:.1f} s; fit {total:.1f} s "
          f"(sampling {tree.attrs['sampling_time_s']} s)")  # fmt: skip
    print(
        f"max R-hat {diag['max_rhat']:.4f}, min bulk ESS {diag['min_ess_bulk']:.0f}, "
        f"min tail ESS {diag['min_ess_tail']:.0f}, divergences {diag['divergences']}"
    )
    print(f"mean leapfrog steps {float(tree['sample_stats']['n_steps'].mean()):.1f}")
    print(
        f"nVAT 90% coverage {np.mean((lo <= truth) & (truth <= hi)):.2f}; "
        f"prior nVAT median {float(tree['prior']['nvat'].median()):.3f}"
    )


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
