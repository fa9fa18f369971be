"""``vatjax power``: the power of a study to detect the tax and a gain difference, and the
sample size for a target power.

Example::

    vatjax power --n 80,240,730,2200,9002 --nvat 0.1 --gain 0.3 --gain-b 0.2
    vatjax power --n 80,1000,9002 --pilot study.csv --model m1 --intervention dpo,sft
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import xarray as xr

from vatjax.cli.common import console, split_names, stage, write_result
from vatjax.cli.terminal import print_table
from vatjax.data import load_judgments, shifts
from vatjax.errors import VatInputError

__all__ = ["FLAGS", "power_command"]

FLAGS = {
    "n": "--n", "strength": "--strength", "nvat": "--nvat", "omega": "--omega",
    "gain": "--gain", "gain_b": "--gain-b", "paired_correlation": "--paired-correlation",
    "noise": "--noise", "shift_sd": "--shift-sd", "step": "--step", "pilot": "--pilot",
    "alpha": "--alpha", "n_studies": "--studies", "seed": "--seed",
    "target_power": "--target-power",
}  # fmt: skip
"""The flag of each keyword of :func:`vatjax.power` (errors are reworded with them)."""

_COLUMNS = ["power_tax", "power_tax_se", "floor_nvat", "mean_nvat", "mean_nvat_debiased",
            "power_gain_difference", "power_gain_difference_se"]  # fmt: skip


def _sizes(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise VatInputError(f"--n must be sample sizes like 80,1000,9002; got {text!r}") from None


def _pilot(path: Path, model: str | None, intervention: str | None) -> xr.DataArray:
    """The value-level shifts of one model and one or two interventions (a, then b)."""
    sh = shifts(load_judgments(path), "value")
    for dim, text, most in (("model", model, 1), ("intervention", intervention, 2)):
        known = [str(v) for v in sh[dim].values]
        names = split_names(text)
        if names is None and len(known) > most:
            raise VatInputError(
                f"--pilot {path.name} has {len(known)} {dim}s ({', '.join(known)}): choose "
                + ("one with --model NAME" if most == 1 else
                   "one with --intervention NAME, or two (A,B) for the gain difference")
            )  # fmt: skip
        if names is not None:
            if not 1 <= len(names) <= most or set(names) - set(known):
                how_many = "one" if most == 1 else "one or two"
                raise VatInputError(f"--{dim} {text}: choose {how_many} of {', '.join(known)}")
            sh = sh.sel({dim: names})
    return sh


def _omega(path: Path | None) -> np.ndarray | None:
    if path is None:
        return None
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise VatInputError(f"--omega {path.name}: not a CSV of numbers ({exc})") from None


def _summary(ds: xr.Dataset) -> list[str]:
    target = ds["n_for_power"].attrs["target_power"]
    lines = []
    for test in ds["test"].values:
        n_star = float(ds["n_for_power"].sel(test=test))
        what = "the tax" if test == "tax" else "the gain difference"
        if not math.isfinite(n_star):
            status = str(ds["n_for_power_status"].sel(test=test).values)
            lines.append(f"n for {target:.0%} power to detect {what}: {status} "
                         f"(n from {int(ds['n'][0])} to {int(ds['n'][-1])})")  # fmt: skip
            continue
        line = f"n for {target:.0%} power to detect {what}: {n_star:,.0f}"
        check = float(ds["power_check"].sel(test=test))
        if math.isfinite(check):
            se = float(ds["power_check_se"].sel(test=test))
            line += f" (a fresh simulation at that n: power {check:.3f} +- {se:.3f})"
        lines.append(line)
    return lines


def power_command(
    n: Annotated[str, typer.Option("--n", help="Sample sizes per study, e.g. 80,1000,9002.")],
    strength: Annotated[float | None, typer.Option(help="Circumplex strength of the true "
                                                   "coupling (0 to 1).")] = None,
    nvat: Annotated[float | None, typer.Option(help="Instead: the true observed-scale nVAT.")] = None,
    omega: Annotated[Path | None, typer.Option(help="Instead: a CSV of the coupling matrix Omega.")] = None,
    gain: Annotated[float | None, typer.Option(help="Gain of strategy a (phi scale).")] = None,
    gain_b: Annotated[float | None, typer.Option(help="Gain of strategy b, on the same samples.")] = None,
    paired_correlation: Annotated[float | None, typer.Option(help="Correlation of a's and b's "
                                                             "target shifts (default 0).")] = None,
    noise: Annotated[float | None, typer.Option(help="Rating-noise sd (default 0.5).")] = None,
    shift_sd: Annotated[float | None, typer.Option(help="Sd of the true shifts (default 0.5).")] = None,
    step: Annotated[float, typer.Option(help="Grid of the shifts (0: continuous).")] = 0.25,
    alpha: Annotated[float, typer.Option(help="Level of both tests.")] = 0.05,
    target_power: Annotated[float, typer.Option(help="The power to find n for.")] = 0.8,
    studies: Annotated[int, typer.Option(help="Simulated studies per n.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    pilot: Annotated[Path | None, typer.Option(help="Judgments of a pilot study: its nVAT, "
                                               "gains and shift sd set the design.")] = None,
    model: Annotated[str | None, typer.Option(help="The pilot's model.")] = None,
    intervention: Annotated[str | None, typer.Option(help="The pilot's intervention (two, A,B, "
                                                     "for the gain difference).")] = None,
    check: Annotated[bool, typer.Option(help="Check each n found in a fresh simulation.")] = True,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the table (.csv, "
                                             ".json) or everything (.nc).")] = None,
) -> None:  # fmt: skip
    """Print the power to detect the tax and a gain difference at each n, and the n needed
    for the target power (from simulated studies of the shift model)."""
    from vatjax.named import power
    from vatjax.named.power_inputs import render

    if pilot is None and (model is not None or intervention is not None):
        raise VatInputError("--model and --intervention choose the cells of --pilot FILE")
    args = dict(n=_sizes(n), strength=strength, nvat=nvat, omega=_omega(omega), gain=gain,
                gain_b=gain_b, paired_correlation=paired_correlation, noise=noise,
                shift_sd=shift_sd, step=step, alpha=alpha, n_studies=studies, seed=seed,
                target_power=target_power, check=check)  # fmt: skip
    if pilot is not None:
        with stage(f"loading and validating the pilot {pilot.name}"):
            args["pilot"] = _pilot(pilot, model, intervention)
    with stage(f"{studies:,} studies x {len(args['n'])} sample sizes"):
        try:
            ds = power(**args)
        except VatInputError as err:
            raise VatInputError(render(err, FLAGS)) from None
    table = ds[[c for c in _COLUMNS if c in ds]].to_dataframe().reset_index()
    print_table(table, "Power of a study of n samples (simulated)")
    for line in _summary(ds):
        console.print(line, highlight=False)
    if out is not None:
        write_result(ds, table, out)

