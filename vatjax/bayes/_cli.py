"""``vatjax fit``: fit a Bayesian preset, print the diagnostics and the posterior VAT table.

Example::

    vatjax fit judgments.parquet --model ordinal-lkj --out posterior.nc
    vatjax fit judgments.nc --models model-1 --interventions prompt-8shot:Power --draws 500
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["fit_command"]


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def fit_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="Judgments: a table (.csv, .parquet, .jsonl, .json) or a judgments .nc."
        ),
    ],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="Preset name (see models/README.md) or a .toml path."),
    ] = "ordinal-lkj",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the posterior DataTree here (.nc).")
    ] = None,
    method: Annotated[str | None, typer.Option(help="nuts or svi (default: the preset's).")] = None,
    chains: Annotated[int | None, typer.Option(help="Chains (default: the preset's).")] = None,
    draws: Annotated[
        int | None, typer.Option(help="Draws per chain (default: the preset's).")
    ] = None,
    warmup: Annotated[
        int | None, typer.Option(help="Warmup per chain (default: the preset's).")
    ] = None,
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
    from rich.markup import escape

    from vatjax.bayes import fit, summary
    from vatjax.bayes.diagnostics import ConvergenceWarning, diagnostics_table
    from vatjax.cli import _parse_scale, _print_table, console, err_console
    from vatjax.data import load, load_judgments, save

    if out is not None and out.suffix.lower() not in (".nc", ".nc4"):
        from vatjax.errors import VatInputError

        raise VatInputError(f"--out writes netCDF: give a path ending in .nc, not {out}")
    if file.suffix.lower() in (".nc", ".nc4"):
        judgments = load(file)
    else:
        judgments = load_judgments(file, scale=_parse_scale(scale), baseline=baseline)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        tree = fit(
            judgments,
            model,
            chains=chains,
            draws=draws,
            warmup=warmup,
            method=method,
            seed=seed,
            models=_names(models),
            interventions=_names(interventions),
            progress=progress,
        )
    attrs = tree.attrs
    _print_table(
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
    _print_table(table, "Posterior VAT (90% equal-tailed intervals)")
    if out is not None:
        save(tree, out)
        console.print(f"posterior written to {out}")
