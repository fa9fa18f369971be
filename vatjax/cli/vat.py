"""``vatjax simulate`` and ``vatjax vat``: a simulated study, and the VAT table of a study.

Example::

    vatjax simulate --out study.csv --models 2
    vatjax vat study.csv --bootstrap 2000 --null 1000 --out results.nc
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vatjax.cli.common import check_out, console, parse_scale, stage, write_result
from vatjax.cli.terminal import print_table, vat_view
from vatjax.data import load_judgments, save, shifts, simulate_study, write_table
from vatjax.named import metrics_table, vat

__all__ = ["simulate_command", "vat_command"]

_OUT_HELP = "Where to write results: .csv or .json (the table) or .nc (every metric)."


def simulate_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output table: .parquet, .csv or .jsonl.")
    ],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    models: Annotated[int, typer.Option(help="Number of models.")] = 4,
    scenarios: Annotated[int, typer.Option(help="Number of scenarios.")] = 80,
    missing_rate: Annotated[float, typer.Option(help="Fraction of ratings left missing.")] = 0.0,
) -> None:
    """Simulate a study with known truth and write its long table of ratings."""
    check_out(out, (".parquet", ".csv", ".jsonl"))
    study = simulate_study(
        seed=seed,
        n_models=models,
        n_scenarios=scenarios,
        missing_rate=missing_rate,
        layout="both-polarities",
    )
    write_table(study.table, out)
    truth = out.with_name(out.stem + "-truth.nc")
    save(study.truth, truth)
    console.print(f"wrote {len(study.table):,} ratings to {out} and the ground truth to {truth}")


def vat_command(
    file: Annotated[Path, typer.Argument(help="Judgments table: .csv, .parquet, .jsonl or .json.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help=_OUT_HELP)] = None,
    level: Annotated[str, typer.Option(help="'value' or 'micro_value'.")] = "value",
    include_diagonal: Annotated[
        bool, typer.Option(help="Keep R[u,u]=1 in VAT and nVAT (the paper's printed formula).")
    ] = False,
    eps: Annotated[float, typer.Option(help="|Gain| below this makes GND NaN.")] = 1e-3,
    scale: Annotated[str, typer.Option(help="Rating scale as LOW,HIGH.")] = "1,5",
    baseline: Annotated[str, typer.Option(help="Name of the baseline condition.")] = "pre",
    conditions: Annotated[
        Path | None, typer.Option(help="Table of condition, strategy, target, direction.")
    ] = None,
    n_boot: Annotated[
        int, typer.Option("--bootstrap", help="Resamples for intervals and se (0: none).")
    ] = 0,
    scheme: Annotated[
        str, typer.Option(help="Resampling: bootstrap, subsample (80%) or bayesian.")
    ] = "bootstrap",
    interval: Annotated[str, typer.Option(help="Interval: bca or percentile.")] = "bca",
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    n_null: Annotated[
        int, typer.Option("--null", help="Permutations for the noise floor (0: none).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the resamples and permutations.")] = 0,
    wide: Annotated[bool, typer.Option(help="Print every column of the table.")] = False,
) -> None:
    """Print gain, nVAT and centralization per model x intervention; optionally write them.

    --bootstrap N adds intervals and standard errors, --null N the noise floor
    (permutation p-value of nVAT, its floor, and the value pairs that survive BH).
    For the whole analysis with a report, use vatjax analyze.
    """
    from vatjax.cli.flags import check_resampling_flags
    from vatjax.cli.report import with_above_floor
    from vatjax.named import bootstrap, noise_floor, results_dataset, uncertainty_table

    check_out(out)
    check_resampling_flags(n_resamples=n_boot, n_permutations=n_null, scheme=scheme,
                           interval=interval, confidence=confidence, eps=eps)  # fmt: skip
    with stage(f"loading and validating {file.name}"):
        judgments = load_judgments(
            file, scale=parse_scale(scale), conditions=conditions, baseline=baseline
        )
    with stage("VAT metrics (raw and debiased)"):
        delta = shifts(judgments, level)
        result = vat(delta, include_diagonal=include_diagonal, eps=eps)
    table = metrics_table(result)
    common = dict(seed=seed, include_diagonal=include_diagonal)
    boot = null = None
    cells = f"{len(table)} cells"
    if n_boot:
        with stage(f"{scheme} x {n_boot:,} ({interval}), {cells}", spinner=False):
            boot = bootstrap(delta, n_resamples=n_boot, scheme=scheme, interval=interval,
                             level=confidence, eps=eps, **common)  # fmt: skip
    if n_null:
        with stage(f"noise floor: {n_null:,} permutations, {cells}", spinner=False):
            null = noise_floor(delta, n_permutations=n_null, **common)
    if boot is not None or null is not None:
        table = with_above_floor(uncertainty_table(table, boot, null))
        result = results_dataset(result, boot, null)
    shown = table if wide else vat_view(table, confidence)
    print_table(shown, f"Value Alignment Tax of {file.name}", wide=wide)
    if out is not None:
        write_result(result, table, out)
