"""``vatjax compare``: paired differences in Gain and the debiased tax between the
interventions of each model (or the models under each intervention), with paired
bootstrap intervals, permutation p-values, BH q-values and tie groups.

Example::

    vatjax simulate --out study.csv --models 2 --scenarios 60
    vatjax compare study.csv --by intervention --bootstrap 2000 --permutations 1000
    vatjax compare study.csv --by model --a model-0 --b model-1 --out pairs.csv
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from vatjax.cli.common import parse_scale, stage, write_result
from vatjax.cli.terminal import print_table
from vatjax.data import load_judgments, shifts
from vatjax.errors import VatInputError

__all__ = ["compare_command"]

_OUT_HELP = "Where to write results: .csv or .json (one row per pair) or .nc (everything)."


def _check_flags(by: str, a, b, n_boot: int, n_perm: int, confidence: float) -> None:
    """The flags' own checks, in flag words (the library's messages use its keywords)."""
    if by not in ("intervention", "model"):
        raise VatInputError(f"--by must be 'intervention' or 'model', got {by!r}")
    if (a is None) != (b is None):
        raise VatInputError("give both --a and --b (the two to compare), or neither (every pair)")
    if a is not None and a == b:
        raise VatInputError(f"--a and --b are both {a!r}: name two different {by}s")
    if n_boot < 1:
        raise VatInputError(f"--bootstrap must be at least 1, got {n_boot}")
    if n_perm < 1:
        raise VatInputError(f"--permutations must be at least 1, got {n_perm}")
    if not 0 < confidence < 1:
        raise VatInputError(f"--confidence must lie in (0, 1), e.g. 0.95; got {confidence}")


def _check_names(delta, by: str, a, b) -> None:
    import difflib

    names = [str(v) for v in delta[by].values]
    if len(names) < 2:
        other = "model" if by == "intervention" else "intervention"
        raise VatInputError(f"only {len(names)} {by} ({names}): a comparison needs at least "
                            f"2; try --by {other}")  # fmt: skip
    for flag, name in (("--a", a), ("--b", b)):
        if name is not None and name not in names:
            close = difflib.get_close_matches(name, names, n=3)
            hint = f" (did you mean {close}?)" if close else ""
            raise VatInputError(f"{flag} {name!r} is not among the {by}s of this file{hint}; they "
                                f"are: {names}")  # fmt: skip


def _interval(row, name: str) -> str:
    est, lo, hi = (row[f"{name}_{s}"] for s in ("estimate", "lower", "upper"))
    return "" if pd.isna(est) else f"{est:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _printable(table: pd.DataFrame, group: str) -> pd.DataFrame:
    rows = []
    for _, row in table.iterrows():
        rows.append({
            group: row[group], "a - b": f"{row['a']} - {row['b']}", "n": row["n_shared"],
            "Δ gain [CI]": _interval(row, "gain"), "p gain": row["gain_p"], "q gain": row["gain_q"],
            "Δ nVAT_d [CI]": _interval(row, "nvat_debiased"), "p nVAT": row["nvat_debiased_p"],
            "q nVAT": row["nvat_debiased_q"],
        })  # fmt: skip
    return pd.DataFrame(rows)


def compare_command(
    file: Annotated[Path, typer.Argument(help="Judgments table: .csv, .parquet, .jsonl or .json.")],
    by: Annotated[
        str, typer.Option(help="'intervention' (pairs within each model) or 'model'.")
    ] = "intervention",
    a: Annotated[str | None, typer.Option("--a", help="First of the two to compare.")] = None,
    b: Annotated[str | None, typer.Option("--b", help="Second of the two (a - b).")] = None,
    n_boot: Annotated[
        int, typer.Option("--bootstrap", help="Paired bootstrap resamples (intervals, se).")
    ] = 2000,
    n_perm: Annotated[
        int, typer.Option("--permutations", help="Swaps of the paired permutation test.")
    ] = 1000,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    alpha: Annotated[float, typer.Option(help="Significance level of the tie groups.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed of the resamples and permutations.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help=_OUT_HELP)] = None,
    level: Annotated[str, typer.Option(help="'value' or 'micro_value'.")] = "value",
    scale: Annotated[str, typer.Option(help="Rating scale as LOW,HIGH.")] = "1,5",
    baseline: Annotated[str, typer.Option(help="Name of the baseline condition.")] = "pre",
    conditions: Annotated[
        Path | None, typer.Option(help="Table of condition, strategy, target, direction.")
    ] = None,
) -> None:
    """Compare Gain and the debiased tax between two interventions (or models), paired.

    Without --a and --b every pair is compared. Each row: the difference a - b with its
    paired-bootstrap interval, the paired permutation p-value and the BH q-value over the
    pairs; then the tie groups (ranked by debiased nVAT, lowest first).
    """
    from vatjax.named import compare, pairs_table

    _check_flags(by, a, b, n_boot, n_perm, confidence)
    if not 0 < alpha < 1:
        raise VatInputError(f"--alpha must lie in (0, 1), e.g. 0.05; got {alpha}")
    with stage(f"loading and validating {file.name}"):
        judgments = load_judgments(
            file, scale=parse_scale(scale), conditions=conditions, baseline=baseline
        )
    with stage("shifts"):
        delta = shifts(judgments, level)
    _check_names(delta, by, a, b)
    with stage(f"paired bootstrap x {n_boot:,}, permutations x {n_perm:,}", spinner=False):
        result = compare(delta, a, b, by=by, n_resamples=n_boot, n_permutations=n_perm,
                         level=confidence, alpha=alpha, seed=seed)  # fmt: skip
    group = result["n_shared"].dims[0]
    table = pairs_table(result)
    print_table(_printable(table, group), f"Paired differences (a - b) by {by} in {file.name}")
    ties = result[["item_nvat_debiased", "rank", "tie_group"]].to_dataframe().reset_index()
    ties = ties[ties["rank"] > 0].sort_values([group, "rank"])
    ties = ties[[group, by, "item_nvat_debiased", "rank", "tie_group"]]
    print_table(ties.rename(columns={"item_nvat_debiased": "nVAT_d"}),
                f"Tie groups by debiased nVAT (q >= {alpha:g} from the group's best)")  # fmt: skip
    if out is not None:
        write_result(result, table, out)
