"""``vatjax reliability``: the judge's test-retest reliability and judge-noise floor.

Example::

    vatjax reliability judgments.csv --out reliability.csv
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from vatjax.cli.common import console, parse_scale, stage, write_result
from vatjax.cli.terminal import print_table
from vatjax.data import load_judgments
from vatjax.data.table import cell_text, read_table
from vatjax.errors import VatInputError
from vatjax.named.reliability import reliability, reliability_table
from vatjax.taxonomy import SCHWARTZ

__all__ = ["reliability_command"]

_OUT_HELP = "Where to write results: .csv or .json (the table) or .nc (the Dataset)."
_RETEST_HELP = "The condition that judges the baseline again (default BASELINE-2, when present)."
_RETEST_META = {"strategy": "retest", "target": SCHWARTZ.values[0], "direction": 1}
"""Placeholder metadata of the retest condition: the loader asks every condition but the
baseline for a strategy, a target and a direction; reliability reads none of them."""


def _with_retest_meta(file: Path, conditions: Path | None, retest: str):
    """The table (and conditions table) with the retest condition's metadata filled in;
    None when the table has no such condition."""
    table = read_table(file)
    if "condition" not in table.columns:
        return None
    is_retest = (table["condition"].map(cell_text) == retest).to_numpy()
    if not is_retest.any():
        return None
    if conditions is not None:
        meta = read_table(conditions)
        if "condition" in meta.columns:
            meta = meta[meta["condition"].map(cell_text) != retest]
        return table, pd.concat([meta, pd.DataFrame([{"condition": retest, **_RETEST_META}])])
    for col, value in _RETEST_META.items():
        column = table[col].astype(object) if col in table.columns else pd.Series(
            None, index=table.index, dtype=object)  # fmt: skip
        table[col] = column.where(~is_retest, value)
    return table, None


def _load(file: Path, scale: str, baseline: str, retest: str, conditions: Path | None):
    """The Judgments Dataset of ``file``; a retest condition loaded without a strategy,
    target and direction of its own gets placeholders (tried only if loading fails)."""
    lo_hi = parse_scale(scale)
    try:
        return load_judgments(file, scale=lo_hi, conditions=conditions, baseline=baseline)
    except VatInputError:
        filled = _with_retest_meta(file, conditions, retest)
        if filled is None:
            raise
    return load_judgments(filled[0], scale=lo_hi, conditions=filled[1], baseline=baseline)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table as printed: the judge-noise columns blank off the baseline's rows."""
    shown = table.copy()
    for col in (c for c in shown.columns if c.startswith("nvat_judge_noise")):
        values = shown[col].to_numpy()
        shown[col] = np.where(np.isnan(values), "", [f"{v:.3f}" for v in values])
    return shown


def reliability_command(
    file: Annotated[Path, typer.Argument(help="Judgments table: .csv, .parquet, .jsonl or .json.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help=_OUT_HELP)] = None,
    scale: Annotated[str, typer.Option(help="Rating scale as LOW,HIGH.")] = "1,5",
    baseline: Annotated[str, typer.Option(help="Name of the baseline condition.")] = "pre",
    retest: Annotated[str | None, typer.Option(help=_RETEST_HELP)] = None,
    conditions: Annotated[
        Path | None, typer.Option(help="Table of condition, strategy, target, direction.")
    ] = None,
    level: Annotated[
        str, typer.Option(help="Level of the judge-noise shifts: 'value' or 'micro_value'.")
    ] = "value",
) -> None:
    """Print the judge's test-retest reliability per model x condition, and its noise floor.

    Repeated judgments are a ``repeat`` column (0, 1, ...) or the baseline judged again
    as its own condition (``pre-2``, or ``--retest``). ICC2 is ICC(2,1) (absolute
    agreement), ICC3 is ICC(3,1) (consistency), alpha is Krippendorff's ordinal alpha;
    the judge-noise nVAT (on the baseline's row) is the tax of the baseline's second
    judgment minus its first, which an unchanged model shows.
    """
    if level not in ("value", "micro_value"):
        raise VatInputError(f"--level must be value or micro_value, got {level!r}")
    name = retest if retest is not None else f"{baseline}-2"
    with stage(f"loading and validating {file.name}"):
        judgments = _load(file, scale, baseline, name, conditions)
    if retest is not None and retest not in judgments["condition"].values:
        raise VatInputError(
            f"--retest {retest!r} is not a condition of {file.name}; its conditions are "
            f"{judgments['condition'].values.tolist()}"
        )
    with stage("reliability and judge noise"):
        result = reliability(judgments, retest=retest, level=level)
    table = reliability_table(result)
    print_table(_shown(table), f"Judge reliability (test-retest) of {file.name}")
    console.print(f"judge noise: {result.attrs['judge_noise_shifts']}", highlight=False)
    if out is not None:
        write_result(result, table, out)
