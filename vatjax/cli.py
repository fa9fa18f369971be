"""The ``vatjax`` command line: simulate, vat, demo (and the commands later issues add).

Every command prints a clear message and exits with code 2 on bad input, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
import xarray as xr
from rich.console import Console
from rich.table import Table

from vatjax.data import load_judgments, save, shifts, simulate_study, write_table
from vatjax.errors import VatInputError
from vatjax.named import metrics_table, vat

app = typer.Typer(
    name="vatjax",
    help="Measure the Value Alignment Tax of LLM alignment interventions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def friendly_errors[F: Callable](func: F) -> F:
    """Turn bad-input exceptions into a one-paragraph message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (VatInputError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _print_table(table: pd.DataFrame, title: str) -> None:
    """Print the per-model x intervention table with rich."""
    out = Table(title=title, show_lines=False)
    for col in table.columns:
        out.add_column(col, justify="right" if table[col].dtype.kind in "fiu" else "left")
    for row in table.itertuples(index=False):
        out.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(out)


_OUT_HELP = "Where to write results: .csv or .json (the table) or .nc (every metric)."


@app.command()
@friendly_errors
def simulate(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output table: .parquet, .csv or .jsonl.")
    ],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    models: Annotated[int, typer.Option(help="Number of models.")] = 4,
    scenarios: Annotated[int, typer.Option(help="Number of scenarios.")] = 80,
    missing_rate: Annotated[float, typer.Option(help="Fraction of ratings left missing.")] = 0.0,
) -> None:
    """Simulate a study with known truth and write its long table of ratings."""
    study = simulate_study(
        seed=seed, n_models=models, n_scenarios=scenarios, missing_rate=missing_rate
    )
    write_table(study.table, out)
    truth = out.with_name(out.stem + "-truth.nc")
    save(study.truth, truth)
    console.print(f"wrote {len(study.table):,} ratings to {out} and the ground truth to {truth}")


def _write_result(result: xr.Dataset, table: pd.DataFrame, out: Path) -> None:
    if out.suffix.lower() in (".nc", ".nc4"):
        save(result, out)
    else:
        write_table(table, out)
    console.print(f"results written to {out}")


@app.command("vat")
@friendly_errors
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
) -> None:
    """Print gain, nVAT and centralization per model x intervention; optionally write them.

    ``--bootstrap N`` adds intervals and standard errors, ``--null N`` the noise floor
    (permutation p-value of nVAT, its floor, and the value pairs that survive BH).
    """
    from vatjax.named import bootstrap, noise_floor, results_dataset, uncertainty_table

    judgments = load_judgments(
        file, scale=_parse_scale(scale), conditions=conditions, baseline=baseline
    )
    delta = shifts(judgments, level)
    result = vat(delta, include_diagonal=include_diagonal, eps=eps)
    table = metrics_table(result)
    common = dict(seed=seed, include_diagonal=include_diagonal)
    boot = null = None
    if n_boot:
        boot = bootstrap(
            delta,
            n_resamples=n_boot,
            scheme=scheme,
            interval=interval,
            level=confidence,
            eps=eps,
            **common,
        )
    if n_null:
        null = noise_floor(delta, n_permutations=n_null, **common)
    if boot is not None or null is not None:
        table = uncertainty_table(table, boot, null)
        result = results_dataset(result, boot, null)
    _print_table(table, f"Value Alignment Tax of {file.name}")
    if out is not None:
        _write_result(result, table, out)


def _parse_scale(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(p) for p in text.split(","))
    except ValueError:
        raise VatInputError(f"--scale must be LOW,HIGH like 1,5; got {text!r}") from None
    return lo, hi


@app.command()
@friendly_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for every output.")] = Path(
        "vatjax-demo"
    ),
    seed: Annotated[int, typer.Option(help="Random seed of the whole pipeline.")] = 0,
    scenarios: Annotated[int, typer.Option(help="Scenarios of the simulated study.")] = 80,
    models: Annotated[int, typer.Option(help="Models of the simulated study.")] = 4,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples (BCa).")] = 2000,
    permutations: Annotated[int, typer.Option(help="Permutations of the noise floor.")] = 1000,
    fit: Annotated[bool, typer.Option(help="Run the demo-sized Bayesian fit.")] = True,
    fit_draws: Annotated[int, typer.Option(help="Draws per chain of the fit.")] = 500,
    fit_warmup: Annotated[int, typer.Option(help="Warmup per chain of the fit.")] = 500,
) -> None:
    """Run the whole pipeline on the embedded default study and write a report.

    Simulate, VAT metrics, bootstrap intervals, noise floor, a demo-sized Bayesian fit and
    the HTML report, all in OUT_DIR.
    """
    from vatjax.pipeline import run_demo

    paths, table = run_demo(
        out_dir,
        seed=seed,
        n_models=models,
        n_scenarios=scenarios,
        n_resamples=resamples,
        n_permutations=permutations,
        fit=fit,
        fit_draws=fit_draws,
        fit_warmup=fit_warmup,
        status=lambda msg: console.status(msg),
    )
    compact = [
        "model",
        "intervention",
        "gain",
        "gain_lower",
        "gain_upper",
        "nvat",
        "nvat_floor",
        "nvat_p",
        "centralization",
        "n_samples",
    ]
    _print_table(table[compact], "Value Alignment Tax of the simulated default study")
    console.print(
        "gain_lower/upper: 95% BCa interval; nvat_floor: 95% quantile of nVAT under the "
        "permutation null (the noise floor); nvat_p: its p-value. Every column, the nVAT and "
        "centralization intervals included, is in vat.csv and the report."
    )
    console.print(f"results in {out_dir}/: " + ", ".join(p.name for p in paths.values()))
    console.print(f"report: {paths['report'].resolve()}")


@app.command()
@friendly_errors
def report(
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
    from vatjax.report import write_report

    with console.status("writing the report"):
        path = write_report(results, out)
    console.print(f"report: {path.resolve()} (and {path.with_suffix('.md').name})")


from vatjax.collect.command import collect_command  # noqa: E402 - registered last

app.command("collect")(friendly_errors(collect_command))

from vatjax.bayes._cli import fit_command  # noqa: E402 - numpyro/ArviZ load only when it runs

app.command("fit")(friendly_errors(fit_command))


def main() -> None:
    """Entry point of the ``vatjax`` script."""
    app(prog_name="vatjax")


if __name__ == "__main__":
    sys.exit(main())
