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

__all__ = [
    "Section",
    "cell_intervals",
    "circumplex",
    "diagnostics",
    "frontier",
    "heatmaps",
    "posterior",
    "prior_sentence",
]


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


def _error_bars(da: xr.DataArray, at: np.ndarray) -> np.ndarray:
    """(2, k) distances from ``at`` down to the lower and up to the upper bound of ``da``
    (a bootstrap metric with a ``stat`` dim); the bounds are the interval's own, never
    mirrored, and ``at`` must lie inside it."""
    lower = da.sel(stat="lower").values
    upper = da.sel(stat="upper").values
    return np.stack([np.maximum(at - lower, 0.0), np.maximum(upper - at, 0.0)])


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
    y = "nvat_debiased" if "nvat_debiased" in table.columns else "nvat"  # older results
    for ax, (model, rows) in zip(axes[0], table.groupby("model", sort=False), strict=True):
        for target, grp in rows.groupby("target", sort=False):
            (line,) = ax.plot(grp["gain"], grp[y], "o-", label=target)
            if boot is not None:
                sel = boot.sel(model=model, intervention=list(grp["intervention"]))
                ax.errorbar(
                    grp["gain"],
                    grp[y],
                    xerr=_error_bars(sel["gain"], grp["gain"].values),
                    yerr=_error_bars(sel["nvat"], grp[y].values),
                    fmt="none",
                    ecolor=line.get_color(),
                    alpha=0.5,
                )
            for _, r in grp.iterrows():
                ax.annotate(r["strategy"], (r["gain"], r[y]), fontsize=6, alpha=0.7)
        ax.set_title(model)
        ax.set_xlabel("Gain (phi)")
        ax.axvline(0, color="grey", lw=0.5)
    axes[0][0].set_ylabel("nVAT, debiased (observed scale)" if y != "nvat" else "nVAT")
    axes[0][-1].legend(fontsize=7)
    sec.text.append(
        "Each line joins one target's strategies (or checkpoints): right is more gain, up is "
        "more tax. The tax is the debiased nVAT, the observed-scale figure (the paper's nVAT "
        "less its sampling noise); its bars are the interval of that figure and the gain's "
        "interval, each drawn from its own bounds."
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


MAX_CELL_PANELS = 12
"""Above this many cells the posterior shifts are one heatmap, not a panel per cell."""


def _posterior_table(vat_draws: xr.Dataset) -> pd.DataFrame:
    """Posterior median and 90% interval of gain, nVAT (both scales), centralization."""
    names = [n for n in ("gain", "nvat", "nvat_spearman", "centralization") if n in vat_draws]
    q = vat_draws[names].quantile([0.05, 0.5, 0.95], dim=("chain", "draw"))
    rows = []
    for model in vat_draws["model"].values:
        for iv in vat_draws["intervention"].values:
            cell = q.sel(model=model, intervention=iv)
            row = {"model": str(model), "intervention": str(iv)}
            for name in names:
                lo, mid, hi = (float(v) for v in cell[name].values)
                row |= {name: mid, f"{name}_5%": lo, f"{name}_95%": hi}
            rows.append(row)
    return pd.DataFrame(rows)


def prior_sentence(tree: xr.DataTree) -> str:
    """The prior-predictive nVAT (5/50/95%) beside the spread of the posterior nVAT.

    Example:
        >>> import numpy as np, xarray as xr
        >>> post = xr.Dataset({"nvat": (("chain", "draw", "model", "intervention"),
        ...                             np.full((1, 5, 1, 2), 0.1))})
        >>> tree = xr.DataTree.from_dict({"vat": post})
        >>> prior_sentence(tree)[:40]
        'No prior draws of nVAT in this fit: the '
    """
    nvat = tree["vat"]["nvat"]
    mid = nvat.median(("chain", "draw"))
    lo, hi = (nvat.quantile(q, ("chain", "draw")) for q in (0.05, 0.95))
    post = (
        f"the posterior medians of nVAT run from {float(mid.min()):.3f} to "
        f"{float(mid.max()):.3f} over the {mid.size} cells, their 90% intervals "
        f"{float((hi - lo).mean()):.3f} wide on average"
    )
    if "prior" not in tree.children or "nvat" not in tree["prior"]:
        return f"No prior draws of nVAT in this fit: the prior cannot be compared; {post}."
    p5, p50, p95 = np.quantile(tree["prior"]["nvat"].values, [0.05, 0.5, 0.95])
    return (
        f"Prior-predictive nVAT (the prior alone, no data): median {p50:.3f}, 90% interval "
        f"{p5:.3f} to {p95:.3f} ({p95 - p5:.3f} wide); {post}."
    )


def _shift_panels(shift: xr.DataArray, targets: dict, units: str) -> bytes:
    """One panel per cell: the posterior shift of every value with its 90% interval."""
    cells = [(m, i) for m in shift["model"].values for i in shift["intervention"].values]
    ncol = min(4, len(cells))
    nrow = math.ceil(len(cells) / ncol)
    fig, axes = _subplots(
        nrow, ncol, figsize=(3.6 * ncol, 3.2 * nrow), squeeze=False, gridspec_kw={"wspace": 0.7}
    )
    values = [str(v) for v in shift["value"].values]
    q = shift.quantile([0.05, 0.5, 0.95], ("chain", "draw"))
    for ax, (model, iv) in zip(axes.flat, cells, strict=False):
        lo, mid, hi = q.sel(model=model, intervention=iv).values
        colors = ["tab:red" if v == targets[str(iv)] else "tab:blue" for v in values]
        y = np.arange(len(values))
        ax.hlines(y, lo, hi, colors=colors)
        ax.scatter(mid, y, c=colors, s=12, zorder=3)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_yticks(y, values, fontsize=6)
        ax.set_title(f"{model} {iv}", fontsize=7)
        ax.set_xlabel(f"shift mean ({units})", fontsize=7)
    for ax in axes.flat[len(cells) :]:
        ax.axis("off")
    return _png(fig)


def _shift_heatmap(shift: xr.DataArray, targets: dict, units: str) -> bytes:
    """Cells x values heatmap of the posterior mean shifts, each cell's target boxed."""
    mean = shift.mean(("chain", "draw")).transpose("model", "intervention", "value")
    values = [str(v) for v in shift["value"].values]
    cells = [(str(m), str(i)) for m in mean["model"].values for i in mean["intervention"].values]
    grid = mean.values.reshape(len(cells), len(values))
    lim = float(np.nanmax(np.abs(grid))) or 1.0
    fig = Figure(figsize=(0.5 * len(values) + 3.5, 0.17 * len(cells) + 1.6))
    ax = fig.subplots()
    im = ax.imshow(grid, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    rows = np.arange(len(cells))
    cols = [values.index(targets[iv]) if targets[iv] in values else np.nan for _, iv in cells]
    ax.scatter(cols, rows, marker="s", s=40, facecolors="none", edgecolors="black", lw=0.8)
    ax.set_yticks(rows, [f"{m}  {i}" for m, i in cells], fontsize=6)
    ax.set_xticks(range(len(values)), values, fontsize=7, rotation=60, ha="right")
    fig.colorbar(im, ax=ax, shrink=0.5, label=f"posterior mean shift ({units})")
    return _png(fig)


def posterior(tree: xr.DataTree) -> Section:
    """Posterior VAT medians and 90% intervals, the prior-predictive nVAT beside them, and
    the posterior shift of every value (a panel per cell, or one heatmap above
    :data:`MAX_CELL_PANELS` cells)."""
    sec = Section("Posterior shifts")
    vat_draws = tree["vat"].to_dataset()
    sec.tables.append(_posterior_table(vat_draws))
    sec.text.append(
        f"Posterior medians and 90% credible intervals ({tree.attrs.get('preset', '?')}, "
        f"{tree.attrs.get('method', '?')}); nVAT on the noise-free (Pearson) scale, corrected "
        "for rating noise, and on the Spearman scale for comparison with the point figures."
    )
    sec.text.append(prior_sentence(tree))
    shift = tree["posterior"]["shift_mean"]
    marginal = tree.attrs.get("likelihood") == "mvn-marginal"
    units = shift.attrs.get("units") or ("phi scale" if marginal else "latent scale")
    targets = {str(i): str(t) for i, t in zip(vat_draws["intervention"].values,
                                              vat_draws["target"].values, strict=True)}  # fmt: skip
    if shift["model"].size * shift["intervention"].size > MAX_CELL_PANELS:
        caption = "Posterior mean shift of every value per cell (rows), each cell's target boxed"
        sec.figures.append((caption, _shift_heatmap(shift, targets, units)))
    else:
        caption = "Posterior shift per value (90% intervals), target in red"
        sec.figures.append((caption, _shift_panels(shift, targets, units)))
    return sec


def _ppc_figure(tree: xr.DataTree) -> bytes:
    """Observed share of each rating against the posterior predictive 90% interval."""
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
        style = {"fmt": "o", "color": "tab:red", "ms": 3, "label": "predicted 90%"}
        ax.errorbar(levels, (q5 + q95) / 2, yerr=(q95 - q5) / 2, **style)
        ax.set_title(cond, fontsize=7)
        ax.set_xlabel("rating")
    axes[0][0].set_ylabel("share of ratings")
    axes[0][0].legend(fontsize=6)
    return _png(fig)


def diagnostics(tree: xr.DataTree) -> Section:
    """The convergence verdict and table, and the posterior predictive check of the ratings
    (when the fit saved posterior predictive ratings)."""
    from vatjax.bayes.diagnostics import diagnostics_table

    sec = Section("Diagnostics")
    diag = tree["diagnostics"]
    sec.text.append(
        f"Divergences: {diag.attrs.get('divergences', 'n/a')}. Criteria: R-hat <= 1.01, bulk "
        f"and tail ESS >= 400, no divergence. Verdict: "
        f"{'met' if diag.attrs.get('ok') else 'NOT met: do not trust these intervals yet'}."
    )
    sec.tables.append(diagnostics_table(tree))
    if "posterior_predictive" in tree.children and "rating" in tree["posterior_predictive"]:
        caption = "Posterior predictive check of the rating distribution"
        sec.figures.append((caption, _ppc_figure(tree)))
    else:
        sec.text.append(
            f"No posterior predictive check of the ratings: this fit "
            f"({tree.attrs.get('preset', '?')}) saved no predicted ratings (the marginal model "
            "reads each cell's summary statistics, not the single ratings)."
        )
    return sec


def cell_intervals(df: pd.DataFrame, layers: list[dict], *, xlabel: str, band=None) -> bytes:
    """Per cell, intervals and dots on one axis: a panel per model, a row per intervention.

    Args:
        df: one row per cell, columns ``model``, ``intervention`` and those the layers name.
        layers: each ``{"cols": [low, mid, high] or [point], "dy": row offset, "label": ...,
            **plot style}``.
        xlabel: the axis label.
        band: optional (low, high) shaded in every panel (e.g. the prior's 90% interval).
    """
    models = list(dict.fromkeys(df["model"]))
    ivs = list(dict.fromkeys(df["intervention"]))
    fig, axes = _subplots(
        1, len(models), figsize=(2.8 * len(models) + 2, 0.3 * len(ivs) + 1.4), squeeze=False,
        sharey=True, sharex=True,
    )  # fmt: skip
    for ax, model in zip(axes[0], models, strict=True):
        rows = df[df["model"] == model]
        y = rows["intervention"].map({iv: k for k, iv in enumerate(ivs)}).to_numpy(float)
        if band is not None:
            ax.axvspan(*band, color="0.9", label="prior 90%")
        for layer in layers:
            style = {k: v for k, v in layer.items() if k not in ("cols", "dy")}
            yk = y + layer.get("dy", 0.0)
            cols = layer["cols"]
            if len(cols) == 3:
                ax.hlines(yk, rows[cols[0]], rows[cols[2]], color=style.get("color"), lw=1.5)
            ax.plot(rows[cols[len(cols) // 2]], yk, ls="none", ms=4, **style)
        ax.set_title(model, fontsize=8)
        ax.set_xlabel(xlabel, fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0][0].set_yticks(range(len(ivs)), ivs, fontsize=6)
    axes[0][0].set_ylim(len(ivs) - 0.5, -0.5)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=7)
    return _png(fig)
