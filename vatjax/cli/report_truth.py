"""The report's "Simulator's truth" section: every nVAT estimate of a cell beside the
simulator's noise-free and observed-scale truths (``truth.nc``, written by the demo).

Example:
    >>> sorted(_TRUTH_COLUMNS)[:2]
    ['boot_covered', 'covered']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vatjax.cli.figures import Section, cell_intervals
from vatjax.cli.results import RESULT_FILES
from vatjax.named import metrics_table

__all__ = ["truth_section", "truth_summary", "truth_table"]

_KEY = ["model", "intervention"]

_TRUTH_COLUMNS = {
    "nvat_true": "the simulator's noise-free nVAT (Pearson coupling of the expected "
    "value-score shifts, rating noise removed), what the Bayesian model estimates",
    "post_mean": "posterior mean of nVAT (post_5%, post_95%: its 90% interval)",
    "covered": "the posterior interval holds nvat_true",
    "post_closer": "the posterior mean is nearer nvat_true than nvat_point is",
    "nvat_point": "the paper's Spearman figure on these samples (vat.nc)",
    "nvat_observed_true": "the same figure on the simulator's fresh samples (rating noise "
    "kept), what nvat_point estimates",
    "nvat_debiased": "the point figure less its sampling noise: the estimate of "
    "nvat_observed_true",
    "boot_covered": "the resampling interval of the observed-scale nVAT (boot_lower, "
    "boot_upper) holds nvat_observed_true",
}
"""What each column of the truth table means (the note lists those present)."""


def truth_table(results: dict) -> pd.DataFrame:
    """Per cell: the simulator's truth beside the posterior nVAT and the point figure."""
    truth, post, boot = results["truth"], results.get("posterior"), results.get("bootstrap")
    point = metrics_table(results["vat"])
    keep = [c for c in ("nvat", "nvat_debiased") if c in point.columns]
    out = point[[*_KEY, *keep]].rename(columns={"nvat": "nvat_point"})
    cols = {"nvat_true": truth["nvat_noise_free"], "nvat_observed_true": truth["nvat_observed"]}
    if post is not None:
        draws = post["vat"]["nvat"]
        cols |= {
            "post_mean": draws.mean(("chain", "draw")),
            "post_5%": draws.quantile(0.05, ("chain", "draw")),
            "post_95%": draws.quantile(0.95, ("chain", "draw")),
        }
    if boot is not None:
        cols |= {f"boot_{s}": boot["nvat"].sel(stat=s) for s in ("lower", "upper")}
    for name, da in cols.items():
        series = da.reset_coords(drop=True).to_series().rename(name).reset_index()
        out = out.merge(series[[*_KEY, name]], on=_KEY, how="left")
    if post is not None:
        out["covered"] = (out["post_5%"] <= out["nvat_true"]) & (
            out["nvat_true"] <= out["post_95%"]
        )
        gap_post = (out["post_mean"] - out["nvat_true"]).abs()
        out["post_closer"] = gap_post < (out["nvat_point"] - out["nvat_true"]).abs()
    if boot is not None:
        obs = out["nvat_observed_true"]
        out["boot_covered"] = (out["boot_lower"] <= obs) & (obs <= out["boot_upper"])
    order = ["nvat_true", "post_mean", "post_5%", "post_95%", "covered", "post_closer"]
    order += ["nvat_point", "nvat_debiased", "nvat_observed_true", "boot_lower", "boot_upper",
              "boot_covered"]  # fmt: skip
    return out[_KEY + [c for c in order if c in out.columns]]


def truth_summary(table: pd.DataFrame) -> list[str]:
    """The one-line verdicts of :func:`truth_table`: coverage and which figure is closer."""
    lines = []
    if "post_mean" in table.columns:
        fit = table[table["post_mean"].notna()]
        err_post = (fit["post_mean"] - fit["nvat_true"]).abs().mean()
        err_point = (fit["nvat_point"] - fit["nvat_true"]).abs().mean()
        lines.append(
            f"The posterior 90% interval of nVAT covers the noise-free truth in "
            f"{int(fit['covered'].sum())} of {len(fit)} cells; the posterior mean is closer to "
            f"it than the Spearman point figure in {int(fit['post_closer'].sum())} of "
            f"{len(fit)} (mean absolute error {err_post:.3f} against {err_point:.3f})."
        )
    else:
        lines.append(
            f"No posterior ({RESULT_FILES['posterior']}): the noise-free truth is shown beside "
            "the point figures only."
        )
    diff = table["nvat_point"] - table["nvat_observed_true"]
    line = (
        f"The paper's Spearman figure estimates the observed-scale truth instead, biased up by "
        f"sampling noise: mean difference {diff.mean():+.3f}"
    )
    if "nvat_debiased" in table.columns:
        deb = table["nvat_debiased"] - table["nvat_observed_true"]
        line += f"; the debiased nVAT's is {deb.mean():+.3f} (mean absolute {deb.abs().mean():.3f})"
    if "boot_covered" in table.columns:
        has = table[["boot_lower", "boot_upper"]].notna().all(axis=1)
        line += (
            f"; the interval of the observed-scale figure covers that truth in "
            f"{int(table['boot_covered'][has].sum())} of {int(has.sum())} cells"
        )
        if not has.all():
            line += f" (the other {int((~has).sum())} have no interval)"
    return [*lines, line + "."]


_TRUTH_LAYERS = [
    {"cols": ["post_5%", "post_mean", "post_95%"], "dy": -0.17, "color": "tab:blue",
     "marker": "o", "label": "posterior mean, 90% interval"},
    {"cols": ["nvat_true"], "dy": -0.17, "color": "black", "marker": "x",
     "label": "noise-free truth"},
    {"cols": ["boot_lower", "nvat_debiased", "boot_upper"], "dy": 0.17, "color": "tab:orange",
     "marker": "s", "label": "debiased nVAT, interval of the observed-scale figure"},
    {"cols": ["nvat_point"], "dy": 0.17, "color": "tab:gray", "marker": "^",
     "label": "the paper's nVAT (biased up by sampling noise)"},
    {"cols": ["nvat_observed_true"], "dy": 0.17, "color": "tab:brown", "marker": "+",
     "label": "observed-scale truth"},
]  # fmt: skip


def truth_section(results: dict) -> Section:
    """The section that sets the estimates beside the simulator's truth."""
    sec = Section("Simulator's truth")
    res, truth = results["vat"], results["truth"]
    diag = bool(res.attrs.get("include_diagonal", 0))
    if res.attrs.get("level", "value") != "value" or diag != bool(truth.attrs["include_diagonal"]):
        sec.text.append("The truth is at value level, diagonal excluded; vat.nc is not: no match.")
        return sec
    table = truth_table(results)
    note = "; ".join(f"{k}: {v}" for k, v in _TRUTH_COLUMNS.items() if k in table.columns)
    sec.text += [*truth_summary(table), f"Columns: {note}."]
    if truth.attrs.get("n_truth_draws"):
        n_truth = int(truth.attrs["n_truth_draws"])
        ratio = np.sqrt(float(res["n_samples"].max()) / n_truth)
        sec.text.append(
            f"The truth is itself a Monte Carlo figure from {n_truth:,} fresh samples per cell:"
            f" its own sd is about {ratio:.2f} times the sd of an estimate from the study's "
            "samples" + (", so read the coverage counts as rough." if ratio > 0.5 else ".")
        )
    sec.tables.append(table)
    layers = [la for la in _TRUTH_LAYERS if set(la["cols"]) <= set(table.columns)]
    if "boot_lower" not in table.columns and "nvat_debiased" in table.columns:  # no interval
        layers.append({**_TRUTH_LAYERS[2], "cols": ["nvat_debiased"], "label": "debiased nVAT"})
    post = results.get("posterior")
    band = None
    if post is not None and "prior" in post.children and "nvat" in post["prior"]:
        band = tuple(float(q) for q in post["prior"]["nvat"].quantile([0.05, 0.95]).values)
    png = cell_intervals(table, layers, xlabel="nVAT", band=band)
    caption = "nVAT per cell: the truth, the posterior and the point figure"
    sec.figures.append((caption + (" (grey: the prior's 90% interval)" if band else ""), png))
    return sec
