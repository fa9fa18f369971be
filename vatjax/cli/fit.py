"""``vatjax fit``: fit a Bayesian preset, print the diagnostics and the posterior VAT table.

Example::

    vatjax fit judgments.parquet --model ordinal-lkj --out posterior.nc
    vatjax fit judgments.nc --models model-1 --interventions prompt-8shot:Power --draws 500

NumPyro and ArviZ load only when the command runs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from vatjax.cli.common import console, err_console, parse_scale, split_names
from vatjax.cli.terminal import print_table
from vatjax.errors import VatInputError

__all__ = ["fit_command"]


def _preset_default(what: str):
    return typer.Option(help=f"{what} (default: the preset's).")


def _judgments(file: Path, scale: str, baseline: str):
    from vatjax.data import load, load_judgments

    if file.suffix.lower() in (".nc", ".nc4"):
        return load(file)
    return load_judgments(file, scale=parse_scale(scale), baseline=baseline)


def _fit_recording_warnings(judgments, model: str | None, **options):
    """The fit, and the warnings it raised (shown after the diagnostics, not mid-bar)."""
    from vatjax.bayes import fit
    from vatjax.bayes.diagnostics import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        tree = fit(judgments, model, **options)
    return tree, caught


def _print_fit(tree, caught) -> None:
    from rich.markup import escape

    from vatjax.bayes import summary
    from vatjax.bayes.diagnostics import ConvergenceWarning, diagnostics_table

    attrs = tree.attrs
    print_table(
        diagnostics_table(tree),
        f"Diagnostics: {attrs['preset']} by {attrs['method']}, {attrs['chains']} chain(s) x "
        f"{attrs['draws']} draws, {tree['diagnostics'].attrs['divergences']} divergence(s), "
        f"{attrs['sampling_time_s']:.0f} s",
    )
    for w in caught:
        loud = issubclass(w.category, ConvergenceWarning)
        err_console.print(
            f"[bold red]WARNING:[/] {w.message}" if loud else f"warning: {w.message}",
            highlight=False,
            soft_wrap=True,
        )
    table = summary(tree).reset_index(names="quantity")
    table["quantity"] = table["quantity"].map(escape)  # "nvat[m, i]" is not rich markup
    print_table(table, "Posterior VAT (90% equal-tailed intervals)")


def fit_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="Judgments: a table (.csv, .parquet, .jsonl, .json) or a judgments .nc."
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Preset name (see models/README.md) or a .toml path (default: ordinal-lkj, "
            "or mvn-marginal above 100,000 ratings).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the posterior DataTree here (.nc).")
    ] = None,
    method: Annotated[str | None, _preset_default("nuts or svi")] = None,
    chains: Annotated[int | None, _preset_default("Chains")] = None,
    draws: Annotated[int | None, _preset_default("Draws per chain")] = None,
    warmup: Annotated[int | None, _preset_default("Warmup per chain")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated models to fit (default: all).")
    ] = None,
    interventions: Annotated[
        str | None, typer.Option(help="Comma-separated interventions to fit (default: all).")
    ] = None,
    scale: Annotated[str, typer.Option(help="Rating scale as LOW,HIGH (tables only).")] = "1,5",
    baseline: Annotated[
        str, typer.Option(help="Name of the baseline condition (tables only).")
    ] = "pre",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Fit a Bayesian model of the ratings; print diagnostics and the posterior VAT table."""
    if out is not None and out.suffix.lower() not in (".nc", ".nc4"):
        raise VatInputError(f"--out writes netCDF: give a path ending in .nc, not {out}")
    tree, caught = _fit_recording_warnings(
        _judgments(file, scale, baseline),
        model,
        chains=chains,
        draws=draws,
        warmup=warmup,
        method=method,
        seed=seed,
        models=split_names(models),
        interventions=split_names(interventions),
        progress=progress,
    )
    _print_fit(tree, caught)
    if out is not None:
        from vatjax.data import save

        save(tree, out)
        console.print(f"posterior written to {out}")
