"""The whole pipeline on the embedded default study: what ``vatjax demo`` runs.

The simulated study (ratings and the simulator's truth) is written to the folder, then
analysed exactly as ``vatjax analyze`` analyses a user's table
(:func:`vatjax.cli.analysis.run_analysis`): VAT metrics, bootstrap, noise floor, paired
comparisons, power, the ``mvn-marginal`` fit of every cell, and the report, which adds a
section comparing the figures with the truth. The defaults are the paper's size: 4 models x
12 interventions x 9,002 scenarios x 56 micro-values (26 million ratings).

Example:
    >>> import tempfile
    >>> from vatjax.cli.pipeline import run_demo
    >>> paths, table = run_demo(tempfile.mkdtemp(), n_scenarios=12, n_models=1, n_resamples=50,
    ...                  n_permutations=20, fit=False, quiet=True)
    >>> paths["report"].name
    'report.html'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from vatjax.cli.analysis import FIT_MODEL, Analysis, run_analysis
from vatjax.cli.common import Stages, check_folder
from vatjax.cli.results import RESULT_FILES
from vatjax.data import save, simulate_study, write_table

__all__ = ["FIT_MODEL", "TRUTH_DRAWS_PER_SAMPLE", "DemoResult", "run_demo"]


class DemoResult(NamedTuple):
    """What :func:`run_demo` wrote (name -> path) and its VAT table with intervals."""

    paths: dict[str, Path]
    table: pd.DataFrame


TRUTH_DRAWS_PER_SAMPLE, MIN_TRUTH_DRAWS = 11, 10_000
"""Fresh samples behind the demo's Monte Carlo truth, per sample of the study (at least
10,000): its own sd is then about a third of the posterior's at any study size (99,022
draws at the paper's 9,002 samples)."""


def run_demo(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    n_models: int = 4,
    n_scenarios: int = 9002,
    n_resamples: int = 2000,
    n_permutations: int = 1000,
    fit: bool = True,
    fit_chains: int = 4,
    fit_draws: int = 1000,
    fit_warmup: int = 1000,
    quiet: bool = False,
) -> DemoResult:
    """Simulate the default study into ``out_dir`` and analyse it; return the paths and
    the VAT table.

    Args:
        out_dir: folder for every output (created).
        seed: the one seed (simulation, resamples, permutations and the fit derive from it).
        n_models, n_scenarios: size of the simulated study (default: the paper's, 4 models
            x 9,002 scenarios per cell).
        n_resamples, n_permutations: bootstrap resamples (BCa) and null permutations.
        fit: run the Bayesian fit (:data:`FIT_MODEL` on every model x intervention cell),
            NUTS with ``fit_chains`` x ``fit_draws`` draws after ``fit_warmup``.
        quiet: no progress output (otherwise one line per stage on stdout).
    """
    out = Path(out_dir)
    check_folder(out, flag="--out-dir")
    stages = Stages(quiet=quiet)
    what = f"simulated the default study ({n_models} models, {n_scenarios:,} scenarios)"
    with stages(what, name="simulate"):
        study = simulate_study(seed=seed, n_models=n_models, n_scenarios=n_scenarios,
                               n_truth_draws=max(MIN_TRUTH_DRAWS,
                                                 TRUTH_DRAWS_PER_SAMPLE * n_scenarios))  # fmt: skip
        judgments = write_table(study.table, out / RESULT_FILES["judgments"])
        truth = save(study.truth, out / RESULT_FILES["truth"])
    settings = Analysis(n_resamples=n_resamples, n_permutations=n_permutations, fit=fit,
                        fit_chains=fit_chains, fit_draws=fit_draws, fit_warmup=fit_warmup,
                        seed=seed)  # fmt: skip
    done = run_analysis(judgments, out, settings, stages=stages,
                        provenance={"simulated": f"vatjax.simulate_study(seed={seed}, "
                                    f"n_models={n_models}, n_scenarios={n_scenarios})"})  # fmt: skip
    return DemoResult({"judgments": judgments, "truth": truth, **done.paths}, done.table)
