"""The report's value figures: the coupling heatmaps and VAT(u) on the circumplex.

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> res = vatjax.vat(vatjax.shifts(vatjax.load_judgments(s.table)))
    >>> [len(sec.figures) for sec in (heatmaps({"vat": res}), circumplex({"vat": res}))]
    [1, 1]
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from matplotlib.patches import Rectangle

from vatjax.cli.figures import Section, png, subplots
from vatjax.cli.results import RESULT_FILES
from vatjax.named import metrics_table
from vatjax.taxonomy import taxonomy_of

__all__ = ["circumplex", "heatmaps", "off_diagonal_limit"]


def off_diagonal_limit(coupling: np.ndarray) -> float:
    """The symmetric colour limit: the largest |R| off the diagonal, rounded up to 0.05.

    Example:
        >>> off_diagonal_limit(np.array([[1.0, 0.12], [-0.31, 1.0]]))
        0.35
    """
    n = coupling.shape[-1]
    off = np.abs(coupling[..., ~np.eye(n, dtype=bool)])
    top = float(np.nanmax(off)) if np.isfinite(off).any() else 1.0
    return min(1.0, max(0.05, math.ceil(top * 20 - 1e-9) / 20))


def _heatmap_figure(res: xr.Dataset, model: str, ivs: list[str], null, names: list[str]):
    n = len(names)
    group = taxonomy_of(res).micro_values if res.attrs.get("level") == "micro_value" else {}
    ncol = 4 if n <= 12 else 2 if n <= 24 else 1
    ncol = min(ncol, len(ivs))
    nrow = math.ceil(len(ivs) / ncol)
    side = max(2.6, 0.2 * n)
    fig, axes = subplots(nrow, ncol, figsize=(side * ncol + 1.8, side * nrow + 0.6),
                         squeeze=False, sharex=True, sharey=True)  # fmt: skip
    r = res["coupling"].sel(model=model, intervention=ivs).values.astype(float)
    lim = off_diagonal_limit(r)
    eye = np.eye(n, dtype=bool)
    im = None
    for k, (ax, iv) in enumerate(zip(axes.flat, ivs, strict=False)):
        cell = np.where(eye, np.nan, r[k])
        im = ax.imshow(cell, vmin=-lim, vmax=lim, cmap="RdBu_r")
        ax.set_facecolor("0.85")  # the masked diagonal
        target = str(res["target"].sel(intervention=iv).values)
        rows = [k for k, name in enumerate(names) if group.get(name, name) == target]
        if rows:  # the target, or at micro level the target's micro-values (a block)
            lo, span = min(rows) - 0.5, max(rows) - min(rows) + 1
            for xy, w, h in (((-0.5, lo), n, span), ((lo, -0.5), span, n)):
                ax.add_patch(Rectangle(xy, w, h, fill=False, ec="black", lw=1.3))
        if null is not None:
            sig = null["significant"].sel(model=model, intervention=iv).values & ~eye
            yy, xx = np.nonzero(sig)
            ax.scatter(xx, yy, marker="*", s=30, color="black")
        ax.set_title(f"{iv}\n(target {target} boxed)", fontsize=8)
        ax.set_xticks(range(n), names, fontsize=8, rotation=90)
        ax.set_yticks(range(n), names, fontsize=8)
    for ax in axes.flat[len(ivs) :]:
        ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.7, label=f"Spearman R (scale +/-{lim:g}, off-diagonal)")
    return fig


def heatmaps(results: dict) -> Section:
    """The coupling matrix of every cell, one figure per model: diagonal masked, a
    symmetric colour scale set by the off-diagonal, the target's row and column boxed,
    FDR stars when a noise floor is saved."""
    sec = Section("Coupling heatmaps")
    res = results["vat"]
    null = results.get("noise_floor")
    level = res.attrs.get("level", "value")
    names = [str(v) for v in res[level].values]
    table = metrics_table(res)
    for model in dict.fromkeys(table["model"]):
        ivs = [str(i) for i in table.loc[table["model"] == model, "intervention"]]
        fig = _heatmap_figure(res, model, ivs, null, names)
        sec.figures.append((f"Coupling R of the shifts, {model}", png(fig)))
    sec.text.append(
        "Coupling R: the Spearman correlation, across samples, of two values' shifts. The "
        "diagonal (always 1) is grey; the colour scale is symmetric and set by the largest "
        "off-diagonal |R| of the model, so the signal is not crushed by the diagonal; the "
        "target's row and column are boxed. "
        + ("Stars mark pairs that survive Benjamini-Hochberg FDR over the value pairs."
           if null is not None
           else f"No noise floor ({RESULT_FILES['noise_floor']}): no FDR marks.")
    )  # fmt: skip
    return sec


def circumplex(results: dict) -> Section:
    """VAT(u) on the Schwartz circumplex, averaged over models: one figure, a panel per
    target, one radial scale for every panel, one legend of the strategies."""
    sec = Section("VAT on the circumplex")
    res = results["vat"]
    if res.attrs.get("level", "value") != "value":
        sec.text.append("VAT(u) on the circumplex needs value-level results.")
        return sec
    tax = taxonomy_of(res)
    name = "vat_debiased" if "vat_debiased" in res else "vat"
    angles = np.array([tax.angles[tax.values.index(str(v))] for v in res["value"].values])
    closed = np.append(angles, angles[:1])
    targets = list(dict.fromkeys(str(t) for t in res["target"].values))
    mean_vat = res[name].mean("model")
    rmax = float(np.nanmax(mean_vat.values)) if np.isfinite(mean_vat.values).any() else 1.0
    rmax = max(rmax, 1e-3) * 1.08
    ncol = 2 if len(targets) in (2, 4) else min(3, len(targets))
    nrow = math.ceil(len(targets) / ncol)
    fig, axes = subplots(nrow, ncol, figsize=(4.0 * ncol, 4.1 * nrow), squeeze=False,
                         subplot_kw={"projection": "polar"},
                         gridspec_kw={"wspace": 0.6, "hspace": 0.35})  # fmt: skip
    strategies = list(dict.fromkeys(str(s) for s in res["strategy"].values))
    colors = {s: f"C{k % 10}" for k, s in enumerate(strategies)}
    values = [str(v) for v in res["value"].values]
    for ax, target in zip(axes.flat, targets, strict=False):
        for iv in res["intervention"].values[res["target"].values == target]:
            v = mean_vat.sel(intervention=iv).values
            strategy = str(res["strategy"].sel(intervention=iv).values)
            ax.plot(closed, np.append(v, v[:1]), color=colors[strategy], label=strategy)
        ax.set_ylim(0, rmax)
        ax.set_xticks(angles, values, fontsize=8)
        ax.tick_params(axis="x", pad=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_rlabel_position(90 + 18)
        if target in values:  # the target's spoke
            ax.plot([angles[values.index(target)]] * 2, [0, rmax], color="black", lw=1.2)
        ax.set_title(f"target {target}", fontsize=10, pad=22)
    for ax in axes.flat[len(targets) :]:
        ax.axis("off")
    handles = [ax.plot([], [], color=c, label=s)[0] for s, c in colors.items()]
    fig.legend(handles, list(colors), loc="upper center", bbox_to_anchor=(0.5, 0.02),
               ncol=min(6, len(colors)), fontsize=9)  # fmt: skip
    what = "debiased VAT(u) (observed-scale tax)" if name == "vat_debiased" else "VAT(u)"
    sec.text.append(
        f"VAT(u): how strongly value u's shift is coupled with the others' (the norm of its "
        f"row of R). Shown: the {what}, averaged over models; a panel per target (its spoke "
        "in black), a line per strategy, the same radial scale in every panel."
    )
    sec.figures.append((f"{what} on the Schwartz circumplex", png(fig)))
    return sec
