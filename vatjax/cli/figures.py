"""The report's figure sections: frontier, coupling heatmaps, circumplex, posterior, checks.

Each section function takes the results of a folder (:func:`vatjax.cli.results.read_results`)
or a posterior DataTree and returns a :class:`Section` (title, text, tables, PNG figures).
Figures are drawn without pyplot: no global state, no GUI backend.

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> res = vatjax.vat(vatjax.shifts(vatjax.load_judgments(s.table)))
    >>> sec = frontier({"vat": res})
    >>> sec.title, len(sec.figures), sec.figures[0][1][:4]
    ('Gain-nVAT frontier', 1, b'\\x89PNG')
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from vatjax.cli.results import RESULT_FILES
from vatjax.named import metrics_table
from vatjax.taxonomy import taxonomy_of

__all__ = ["Section", "circumplex", "diagnostics", "frontier", "heatmaps", "posterior"]


@dataclass
class Section:
    """One section of a report: its title, paragraphs, tables and (caption, PNG) figures."""

    title: str
    text: list[str] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    figures: list[tuple[str, bytes]] = field(default_factory=list)


def _subplots(nrows: int, ncols: int, *, figsize, **kwargs):
    """A figure and its axes grid, without pyplot (no global state, no GUI backend)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _cells(result: xr.Dataset) -> list[tuple[str, str]]:
    table = metrics_table(result)
    return list(zip(table["model"], table["intervention"], strict=True))


def frontier(results: dict) -> Section:
    """Gain against nVAT per model, one line per target (bootstrap error bars if saved)."""
    sec = Section("Gain-nVAT frontier")
    res = results["vat"]
    table = metrics_table(res)
    boot = results.get("bootstrap")
    fig, axes = _subplots(
        1,
        table["model"].nunique(),
        figsize=(4.2 * table["model"].nunique(), 3.6),
        squeeze=False,
        sharey=True,
    )
    for ax, (model, rows) in zip(axes[0], table.groupby("model", sort=False), strict=True):
        for target, grp in rows.groupby("target", sort=False):
            (line,) = ax.plot(grp["gain"], grp["nvat"], "o-", label=target)
            if boot is not None:
                sel = boot.sel(model=model, intervention=list(grp["intervention"]))
                xerr = np.abs(
                    sel["gain"].sel(stat=["lower", "upper"]).transpose("stat", ...).values
                    - grp["gain"].values
                )
                yerr = np.abs(
                    sel["nvat"].sel(stat=["lower", "upper"]).transpose("stat", ...).values
                    - grp["nvat"].values
                )
                ax.errorbar(
                    grp["gain"],
                    grp["nvat"],
                    xerr=xerr,
                    yerr=yerr,
                    fmt="none",
                    ecolor=line.get_color(),
                    alpha=0.5,
                )
            for _, r in grp.iterrows():
                ax.annotate(r["strategy"], (r["gain"], r["nvat"]), fontsize=6, alpha=0.7)
        ax.set_title(model)
        ax.set_xlabel("Gain (phi)")
        ax.axvline(0, color="grey", lw=0.5)
    axes[0][0].set_ylabel("nVAT")
    axes[0][-1].legend(fontsize=7)
    sec.text.append(
        "Each line joins one target's strategies (or checkpoints): right is more gain, up is "
        "more tax."
    )
    sec.figures.append(("Gain against nVAT per model and target", _png(fig)))
    return sec


def heatmaps(results: dict) -> Section:
    """The coupling matrix of every cell, one figure per model (FDR stars if saved)."""
    sec = Section("Coupling heatmaps")
    res = results["vat"]
    null = results.get("noise_floor")
    level = res.attrs.get("level", "value")
    names = [str(v) for v in res[level].values]
    for model in res["model"].values:
        ivs = [i for m, i in _cells(res) if m == model]
        ncol = min(4, len(ivs))
        nrow = math.ceil(len(ivs) / ncol)
        fig, axes = _subplots(nrow, ncol, figsize=(3.2 * ncol, 3.0 * nrow), squeeze=False)
        for ax, iv in zip(axes.flat, ivs, strict=False):
            r = res["coupling"].sel(model=model, intervention=iv).values
            im = ax.imshow(r, vmin=-1, vmax=1, cmap="RdBu_r")
            if null is not None:
                sig = null["significant"].sel(model=model, intervention=iv).values
                yy, xx = np.nonzero(sig & ~np.eye(len(names), dtype=bool))
                ax.scatter(xx, yy, marker="*", s=18, color="black")
            ax.set_title(iv, fontsize=7)
            ax.set_xticks(range(len(names)), [n[:4] for n in names], fontsize=5, rotation=90)
            ax.set_yticks(range(len(names)), [n[:4] for n in names], fontsize=5)
        for ax in axes.flat[len(ivs) :]:
            ax.axis("off")
        fig.colorbar(im, ax=axes, shrink=0.6, label="Spearman R")
        sec.figures.append((f"Coupling of the shifts, {model}", _png(fig)))
    sec.text.append(
        "Stars mark pairs that survive Benjamini-Hochberg FDR over the value pairs."
        if null is not None
        else f"No noise floor ({RESULT_FILES['noise_floor']}): no FDR marks."
    )
    return sec


def circumplex(results: dict) -> Section:
    """VAT(u) on the Schwartz circumplex, averaged over models, one panel per target."""
    sec = Section("VAT on the circumplex")
    res = results["vat"]
    level = res.attrs.get("level", "value")
    tax = taxonomy_of(res)
    if level != "value":
        sec.text.append("VAT(u) on the circumplex needs value-level results.")
        return sec
    angles = np.array([tax.angles[tax.values.index(str(v))] for v in res["value"].values])
    closed = np.append(angles, angles[:1])
    targets = list(dict.fromkeys(str(t) for t in res["target"].values))
    fig, axes = _subplots(
        1,
        len(targets),
        figsize=(3.6 * len(targets), 3.8),
        squeeze=False,
        subplot_kw={"projection": "polar"},
    )
    mean_vat = res["vat"].mean("model")
    for ax, target in zip(axes[0], targets, strict=True):
        for iv in res["intervention"].values[res["target"].values == target]:
            v = mean_vat.sel(intervention=iv).values
            ax.plot(
                closed, np.append(v, v[:1]), label=str(res["strategy"].sel(intervention=iv).values)
            )
        ax.set_xticks(angles, [str(n) for n in res["value"].values], fontsize=6)
        ax.set_title(f"target {target}", fontsize=9)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_rlabel_position(100)
    axes[0][-1].legend(fontsize=6, loc="lower right", bbox_to_anchor=(1.3, -0.1))
    sec.text.append("VAT(u) averaged over models, per target; one line per strategy.")
    sec.figures.append(("VAT(u) on the Schwartz circumplex", _png(fig)))
    return sec


def posterior(tree: xr.DataTree) -> Section:
    """Posterior VAT medians and 90% intervals, and the posterior shift of every value."""
    sec = Section("Posterior shifts")
    post = tree["posterior"].to_dataset()
    vat_draws = tree["vat"].to_dataset()
    rows = []
    for model in vat_draws["model"].values:
        for iv in vat_draws["intervention"].values:
            cell = vat_draws.sel(model=model, intervention=iv)
            row = {"model": str(model), "intervention": str(iv)}
            for name in ("gain", "nvat", "nvat_spearman", "centralization"):
                q = cell[name].quantile([0.05, 0.5, 0.95], dim=("chain", "draw")).values
                row |= {name: float(q[1]), f"{name}_5%": float(q[0]), f"{name}_95%": float(q[2])}
            rows.append(row)
    sec.tables.append(pd.DataFrame(rows))
    sec.text.append(
        f"Posterior medians and 90% credible intervals ({tree.attrs.get('preset', '?')}, "
        f"{tree.attrs.get('method', '?')}); nVAT on the latent (Pearson) scale, corrected for "
        "rating noise, and on the Spearman scale for comparison with the point figures."
    )
    shift = post["shift_mean"]
    cells = [(m, i) for m in shift["model"].values for i in shift["intervention"].values]
    ncol = min(4, len(cells))
    nrow = math.ceil(len(cells) / ncol)
    fig, axes = _subplots(
        nrow, ncol, figsize=(3.6 * ncol, 3.2 * nrow), squeeze=False, gridspec_kw={"wspace": 0.7}
    )
    values = [str(v) for v in shift["value"].values]
    for ax, (model, iv) in zip(axes.flat, cells, strict=False):
        q = shift.sel(model=model, intervention=iv).quantile([0.05, 0.5, 0.95], ("chain", "draw"))
        lo, mid, hi = q.values
        target = str(vat_draws["target"].sel(intervention=iv).values)
        colors = ["tab:red" if v == target else "tab:blue" for v in values]
        y = np.arange(len(values))
        ax.hlines(y, lo, hi, colors=colors)
        ax.scatter(mid, y, c=colors, s=12, zorder=3)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_yticks(y, values, fontsize=6)
        ax.set_title(f"{model} {iv}", fontsize=7)
        ax.set_xlabel(f"shift mean ({shift.attrs.get('units', 'latent scale')})", fontsize=7)
    for ax in axes.flat[len(cells) :]:
        ax.axis("off")
    sec.figures.append(("Posterior shift per value (90% intervals), target in red", _png(fig)))
    return sec


def diagnostics(tree: xr.DataTree) -> Section:
    """The convergence verdict and table, and the posterior predictive check of the ratings."""
    from vatjax.bayes.diagnostics import diagnostics_table

    sec = Section("Diagnostics")
    diag = tree["diagnostics"]
    sec.text.append(
        f"Divergences: {diag.attrs.get('divergences', 'n/a')}. Criteria: R-hat <= 1.01, bulk "
        f"and tail ESS >= 400, no divergence. Verdict: "
        f"{'met' if diag.attrs.get('ok') else 'NOT met: do not trust these intervals yet'}."
    )
    sec.tables.append(diagnostics_table(tree))
    obs = tree["observed_data"]["rating"]
    pred = tree["posterior_predictive"]["rating"]
    lo, hi = int(tree.attrs.get("scale_min", 1)), int(tree.attrs.get("scale_max", 5))
    levels = np.arange(lo, hi + 1)
    conds = [str(c) for c in obs["condition"].values]
    fig, axes = _subplots(
        1, len(conds), figsize=(3.0 * len(conds), 2.8), squeeze=False, sharey=True
    )
    for ax, cond in zip(axes[0], conds, strict=True):
        o = obs.sel(condition=cond).values
        p = pred.sel(condition=cond).values
        observed = np.array([(o == k).sum() for k in levels]) / np.isfinite(o).sum()
        draws = np.stack([(p == k).sum(axis=(-2, -1)) for k in levels], -1)
        draws = draws.reshape(-1, len(levels)) / np.isfinite(p[0, 0]).sum()
        q5, q95 = np.quantile(draws, [0.05, 0.95], axis=0)
        ax.bar(levels, observed, color="lightgrey", label="observed")
        ax.errorbar(
            levels,
            (q5 + q95) / 2,
            yerr=(q95 - q5) / 2,
            fmt="o",
            color="tab:red",
            ms=3,
            label="predicted 90%",
        )
        ax.set_title(cond, fontsize=7)
        ax.set_xlabel("rating")
    axes[0][0].set_ylabel("share of ratings")
    axes[0][0].legend(fontsize=6)
    sec.figures.append(("Posterior predictive check of the rating distribution", _png(fig)))
    return sec
