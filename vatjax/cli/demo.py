"""``vatjax demo`` and ``vatjax report``: the whole pipeline, and a report from saved results.

Example::

    vatjax demo --out-dir vatjax-demo --no-fit
    vatjax report vatjax-demo --out vatjax-demo/again.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vatjax.cli.common import console

__all__ = ["demo_command", "report_command"]


def demo_command(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for every output.")] = Path(
        "vatjax-demo"
    ),
    seed: Annotated[int, typer.Option(help="Random seed of the whole pipeline.")] = 0,
    scenarios: Annotated[
        int, typer.Option(help="Scenarios per cell of the simulated study (the paper's: 9002).")
    ] = 9002,
    models: Annotated[int, typer.Option(help="Models of the simulated study.")] = 4,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples (BCa).")] = 2000,
    permutations: Annotated[int, typer.Option(help="Permutations of the noise floor.")] = 1000,
    fit: Annotated[
        bool, typer.Option(help="Run the Bayesian fit (mvn-marginal, every cell).")
    ] = True,
    fit_chains: Annotated[int, typer.Option(help="NUTS chains of the fit.")] = 4,
    fit_draws: Annotated[int, typer.Option(help="Draws per chain of the fit.")] = 1000,
    fit_warmup: Annotated[int, typer.Option(help="Warmup per chain of the fit.")] = 1000,
    wide: Annotated[bool, typer.Option(help="Print every column of the table.")] = False,
) -> None:
    """Run the whole pipeline on the embedded default study and write a report.

    The paper's size: 4 models x 12 interventions x 9,002 scenarios (26 M ratings).
    VAT metrics (raw and debiased), bootstrap, noise floor, paired comparisons, power,
    the mvn-marginal fit of every cell. Everything and an HTML report in OUT_DIR; about
    5 minutes on 2 cores.
    A smaller --scenarios runs faster.
    """
    from vatjax.cli.analyze import print_summary
    from vatjax.cli.flags import check_resampling_flags
    from vatjax.cli.pipeline import run_demo

    check_resampling_flags(n_resamples=resamples, n_permutations=permutations)
    study = dict(seed=seed, n_models=models, n_scenarios=scenarios)
    uncertainty = dict(n_resamples=resamples, n_permutations=permutations)
    bayes = dict(fit=fit, fit_chains=fit_chains, fit_draws=fit_draws, fit_warmup=fit_warmup)
    paths, table = run_demo(out_dir, **study, **uncertainty, **bayes)
    print_summary(table, out_dir, paths, confidence=0.95, wide=wide)


def report_command(
    results: Annotated[
        Path, typer.Argument(help="Folder with vat.nc (and bootstrap.nc, noise_floor.nc, ...).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The report (.html).")] = Path(
        "report.html"
    ),
) -> None:
    """Write an HTML report (figures embedded) and its Markdown twin from saved results.

    RESULTS is a folder as `vatjax demo` writes it: vat.nc (required), bootstrap.nc,
    noise_floor.nc, posterior.nc and provenance.json (each optional).
    """
    from vatjax.cli.report import write_report

    with console.status("writing the report"):
        path = write_report(results, out)
    console.print(f"report: {path.resolve()} (and {path.with_suffix('.md').name})")
