"""``vatjax circumplex``: does each cell's coupling follow the circle of values?

Example::

    vatjax circumplex judgments.csv --permutations 10000 --bootstrap 1000 --out circ.csv
    vatjax circumplex results/vat.nc --order Power,Achievement,Hedonism,...
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from vatjax.cli.common import check_out, console, parse_scale, split_names, stage, write_result
from vatjax.cli.terminal import print_table
from vatjax.errors import VatInputError

__all__ = ["circumplex_command", "circumplex_table"]

_FILE_HELP = "Judgments table (.csv, .parquet, .jsonl, .json) or a saved VAT result (.nc)."
_ORDER_HELP = "The values around the circle, comma-separated (default: the taxonomy's)."
_ANGLES_HELP = "One angle in degrees per value, comma-separated, in the coupling's value order."


def _angles(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(np.deg2rad(float(t))) for t in split_names(text) or []]
    except ValueError:
        raise VatInputError(
            f"--angles takes numbers in degrees like 0,36,72; got {text!r}"
        ) from None


def circumplex_table(result):
    """One row per cell: CI (and its interval), the p-value, the counts, the cosine model."""
    cols = [c for c in ("ci", "ci_lower", "ci_upper", "p_value", "agreements", "disagreements",
                        "ties", "cosine_r2", "cosine_r2_lower", "cosine_r2_upper") if c in result]  # fmt: skip
    table = result[cols].reset_coords(drop=True).to_dataframe().reset_index()
    for k in result["harmonic"].values:
        table[f"b{k}"] = result["cosine"].sel(harmonic=k).values.ravel()
    return table


def circumplex_command(
    file: Annotated[Path, typer.Argument(help=_FILE_HELP)],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the table (.csv/.json) or all (.nc).")
    ] = None,
    order: Annotated[str | None, typer.Option(help=_ORDER_HELP)] = None,
    angles: Annotated[str | None, typer.Option(help=_ANGLES_HELP)] = None,
    permutations: Annotated[
        int, typer.Option(help="Relabellings of the values for the p-value (0: none).")
    ] = 10_000,
    n_boot: Annotated[
        int, typer.Option("--bootstrap", help="Resamples for CI's interval (0: none).")
    ] = 0,
    confidence: Annotated[float, typer.Option(help="Level of CI's interval.")] = 0.95,
    harmonics: Annotated[int, typer.Option(help="Harmonics K of the cosine model.")] = 2,
    free_angles: Annotated[bool, typer.Option(help="Fit the angles of the cosine model.")] = False,
    scale: Annotated[str, typer.Option(help="Rating scale as LOW,HIGH (tables).")] = "1,5",
    baseline: Annotated[str, typer.Option(help="Name of the baseline condition (tables).")] = "pre",
    level: Annotated[str, typer.Option(help="'value' or 'micro_value' (tables).")] = "value",
    seed: Annotated[int, typer.Option(help="Seed of the relabellings and resamples.")] = 0,
) -> None:
    """Test each cell's coupling against the circle of values (RTHOR: nearer values should
    correlate more; CI from -1 to 1, p-value by relabelling the values), and fit the cosine
    model R ~ b0 + b1 cos(angle) + b2 cos(2 angle); its r2 is the share of the coupling's
    off-diagonal variance it explains.
    """
    from vatjax.named import bootstrap, circumplex
    from vatjax.named.circumplex import circumplex_intervals

    check_out(out)
    if n_boot < 0 or permutations < 0:
        raise VatInputError("--bootstrap and --permutations take 0 (none) or a positive count")
    with stage(f"loading and validating {file.name}"):
        source = _source(file, scale, baseline, level)
    options = dict(order=split_names(order), angles=_angles(angles), seed=seed,
                   harmonics=harmonics, free_angles=free_angles)  # fmt: skip
    with stage(f"RTHOR with {permutations:,} relabellings, cosine model (K = {harmonics})"):
        result = circumplex(source, n_permutations=permutations, **options)
    if n_boot:
        if "scenario" not in source.dims:
            raise VatInputError("--bootstrap needs the judgments table, not a saved result")
        with stage(f"bootstrap x {n_boot:,} for CI's interval", spinner=False):
            boot = bootstrap(source, n_resamples=n_boot, seed=seed, keep_replicates=True,
                             interval="percentile")  # fmt: skip
            result = circumplex_intervals(result, boot["coupling_replicates"], level=confidence)
    table = circumplex_table(result)
    print_table(
        table, f"Circumplex test of {file.name} ({result.attrs['predictions']} predictions)"
    )
    console.print(
        "ci: (agreements - disagreements) / predictions, 1 when nearer values always correlate "
        "more; p_value: share of value relabellings with as many agreements; b0..bK, "
        "cosine_r2: the cosine model and the share of coupling variance it explains.",
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    if out is not None:
        write_result(result, table, out)


def _source(file: Path, scale: str, baseline: str, level: str):
    """The shifts of a judgments table, or the coupling of a saved VAT result."""
    from vatjax.data import load, load_judgments, shifts

    if file.suffix.lower() in (".nc", ".nc4"):
        saved = load(file)
        if "coupling" not in saved:
            raise VatInputError(
                f"{file.name} has no 'coupling'; give a vat.nc or a judgments table"
            )
        return saved["coupling"]
    return shifts(load_judgments(file, scale=parse_scale(scale), baseline=baseline), level)
