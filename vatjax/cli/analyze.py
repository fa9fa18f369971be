"""``vatjax analyze``: the whole analysis of your own judgments table, into one folder.

Example::

    vatjax analyze judgments.csv --out results --scale 1,7 --baseline before
    vatjax report results --out results/again.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from vatjax.cli.common import check_folder, console, parse_scale
from vatjax.cli.results import RESULT_FILES
from vatjax.cli.terminal import print_table, vat_view
from vatjax.data import load

__all__ = ["analyze_command", "circumplex_sentence", "print_summary"]


def circumplex_sentence(result) -> str:
    """One line on the circumplex test over all cells.

    Example:
        >>> import xarray as xr
        >>> res = xr.Dataset({"ci": ("cell", [0.4, 0.6]), "p_value": ("cell", [0.01, 0.2]),
        ...                   "cosine_r2": ("cell", [0.3, 0.5])}, attrs={"n_permutations": 999})
        >>> circumplex_sentence(res)[:60]
        'circumplex: CI median 0.500 (0.400 to 0.600), p < 0.05 in 1 '
    """
    ci, p = result["ci"].values.ravel(), result["p_value"].values.ravel()
    return (
        f"circumplex: CI median {np.nanmedian(ci):.3f} ({np.nanmin(ci):.3f} to "
        f"{np.nanmax(ci):.3f}), p < 0.05 in {int((p < 0.05).sum())} of {ci.size} cells (RTHOR, "
        f"{result.attrs['n_permutations']:,} relabellings: nearer values correlate more); "
        f"cosine model r2 median {float(result['cosine_r2'].median()):.3f}. Per cell: "
        f"{RESULT_FILES['circumplex']}, vatjax circumplex, the report."
    )


def print_summary(table, out: Path, paths: dict, *, confidence: float, wide: bool) -> None:
    """The VAT table's decision columns (every column with ``wide``), which cells stand
    above the noise floor, what each column means, and where the files are."""
    from vatjax.cli.report import floor_sentence

    shown = table if wide else vat_view(table, confidence)
    print_table(shown, "Value Alignment Tax (model x intervention)", wide=wide)
    console.print(
        f"gain: mean change of the target value's phi, with its {confidence:.0%} interval; "
        "nvat_debiased: the observed-scale tax (the paper's nVAT less its sampling noise), "
        "with its interval; above floor: nvat above the noise floor (floor: the 95% quantile "
        "of nVAT under the permutation null; p: its p-value); nvat: the paper's figure. "
        f"Every column is in {RESULT_FILES['table']} (--wide prints them all).",
        highlight=False,
        soft_wrap=True,
    )
    if "nvat_floor" in table.columns:
        console.print(floor_sentence(table), highlight=False, soft_wrap=True)
    if "circumplex" in paths:
        console.print(circumplex_sentence(load(paths["circumplex"])), highlight=False,
                      soft_wrap=True)  # fmt: skip
    console.print(f"results in {out}/: " + ", ".join(p.name for p in paths.values()),
                  highlight=False, soft_wrap=True)  # fmt: skip
    console.print(f"report: {paths['report'].resolve()}", highlight=False, soft_wrap=True)


def analyze_command(
    file: Annotated[Path, typer.Argument(help="Judgments table: .csv, .parquet, .jsonl or .json.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for every result.")],
    scale: Annotated[str, typer.Option(help="Rating scale as LOW,HIGH.")] = "1,5",
    baseline: Annotated[str, typer.Option(help="Name of the baseline condition.")] = "pre",
    conditions: Annotated[
        Path | None, typer.Option(help="Table of condition, strategy, target, direction.")
    ] = None,
    level: Annotated[str, typer.Option(help="'value' or 'micro_value'.")] = "value",
    n_boot: Annotated[
        int, typer.Option("--bootstrap", help="Resamples for intervals (0: none).")
    ] = 2000,
    n_null: Annotated[
        int, typer.Option("--null", help="Permutations for the noise floor (0: none).")
    ] = 1000,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    scheme: Annotated[
        str, typer.Option(help="Resampling: bootstrap, subsample (80%) or bayesian.")
    ] = "bootstrap",
    interval: Annotated[
        str, typer.Option(help="Interval of gain and centralization: bca or percentile.")
    ] = "bca",
    compare: Annotated[bool, typer.Option(help="Paired comparisons of the interventions.")] = True,
    power: Annotated[bool, typer.Option(help="Power and sample size, the study as pilot.")] = True,
    fit: Annotated[bool, typer.Option(help="Bayesian fit of every cell (mvn-marginal).")] = True,
    fit_chains: Annotated[int, typer.Option(help="NUTS chains of the fit.")] = 4,
    fit_draws: Annotated[int, typer.Option(help="Draws per chain of the fit.")] = 1000,
    fit_warmup: Annotated[int, typer.Option(help="Warmup per chain of the fit.")] = 1000,
    include_diagonal: Annotated[
        bool, typer.Option(help="Keep R[u,u]=1 in VAT and nVAT (the paper's printed formula).")
    ] = False,
    eps: Annotated[float, typer.Option(help="|Gain| below this makes GND NaN.")] = 1e-3,
    seed: Annotated[int, typer.Option(help="Seed of every resample, permutation and the fit.")] = 0,
    wide: Annotated[bool, typer.Option(help="Print every column of the table.")] = False,
) -> None:
    """Analyse your judgments: validation, VAT metrics, intervals, noise floor, paired
    comparisons, power, judge reliability (when ratings repeat), the Bayesian fit, and an
    HTML report, all written to the --out folder. vatjax report re-renders the report.
    """
    from vatjax.cli.analysis import Analysis, run_analysis
    from vatjax.cli.flags import check_resampling_flags

    check_folder(out)
    check_resampling_flags(n_resamples=n_boot, n_permutations=n_null, scheme=scheme,
                           interval=interval, confidence=confidence, eps=eps)  # fmt: skip
    settings = Analysis(
        scale=parse_scale(scale), baseline=baseline, conditions=conditions, level=level,
        include_diagonal=include_diagonal, eps=eps, n_resamples=n_boot, n_permutations=n_null,
        confidence=confidence, scheme=scheme, interval=interval, compare=compare, power=power,
        fit=fit, fit_chains=fit_chains, fit_draws=fit_draws, fit_warmup=fit_warmup, seed=seed,
    )  # fmt: skip
    done = run_analysis(file, out, settings)
    print_summary(done.table, out, done.paths, confidence=confidence, wide=wide)
