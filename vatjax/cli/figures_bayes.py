"""The report's Bayesian sections: the posterior VAT (table, arviz-plots forest, shift
heatmap) and the diagnostics (verdict, table, arviz-plots rank plot and the posterior
predictive rootogram of the ratings); plus the fit's scope and verdict for the summary.

Example:
    >>> import numpy as np, xarray as xr
    >>> vat = xr.Dataset({"nvat": (("chain", "draw", "model", "intervention"),
    ...                            np.full((2, 5, 1, 2), 0.1))},
    ...                  coords={"model": ["m"], "intervention": ["a", "b"]})
    >>> fit_scope(xr.DataTree.from_dict({"vat": vat}), n_interventions=3)
    '?, 2 cells: model m x interventions a, b (2 of 3)'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from vatjax.cli.figures import Section, png
from vatjax.cli.report_format import interval_column

__all__ = ["diagnostics", "fit_scope", "fit_verdict", "posterior", "ppc_rootogram", "prior_sentence"]


def _names(values, n_all: int | None, what: str) -> str:
    """"all 2 models (a, b)", "interventions x, y (2 of 12)", or the names alone."""
    names = [str(v) for v in values]
    listed = ", ".join(names) if len(names) <= 6 else f"{names[0]} ... {names[-1]}"
    plural = what + ("s" if len(names) != 1 else "")
    if n_all is not None and len(names) == n_all:
        return f"all {n_all} {plural} ({listed})"
    return f"{plural} {listed}" + (f" ({len(names)} of {n_all})" if n_all else "")


def fit_scope(tree: xr.DataTree, *, n_models: int | None = None,
              n_interventions: int | None = None) -> str:  # fmt: skip
    """Which model was fitted, with which sampler, to which models x interventions."""
    vat = tree["vat"]
    a = tree.attrs
    sampler = ""
    if a.get("chains") is not None:
        sampler = f", {str(a.get('method', 'nuts')).upper()} {a['chains']} chains x " \
                  f"{a.get('draws')} draws after {a.get('warmup')} warmup"
    n_cells = vat.sizes["model"] * vat.sizes["intervention"]
    models = _names(vat["model"].values, n_models, "model")
    ivs = _names(vat["intervention"].values, n_interventions, "intervention")
    return f"{a.get('preset', '?')}{sampler}, {n_cells} cells: {models} x {ivs}"


def fit_verdict(tree: xr.DataTree) -> str:
    """Whether the fit converged, with its worst R-hat, lowest ESS and divergences."""
    if "diagnostics" not in tree.children:
        return "No convergence diagnostics saved with this fit."
    d = tree["diagnostics"].attrs
    worst = []
    if d.get("max_rhat") is not None:
        worst.append(f"worst R-hat {float(d['max_rhat']):.3f}")
    if d.get("min_ess_bulk") is not None:
        worst.append(f"lowest bulk ESS {float(d['min_ess_bulk']):.0f}")
    n_div = int(d.get("divergences", 0))
    worst.append(f"{n_div} divergence{'' if n_div == 1 else 's'}")
    head = "Converged" if d.get("ok") else "NOT converged: do not trust its intervals yet"
    return f"{head} ({', '.join(worst)}; needed: {d.get('criteria', 'R-hat <= 1.01, ESS >= 400')})."


def _posterior_table(vat_draws: xr.Dataset) -> pd.DataFrame:
    """Posterior median [90% interval] of gain, nVAT (both scales), centralization."""
    names = [n for n in ("gain", "nvat", "nvat_spearman", "centralization") if n in vat_draws]
    q = vat_draws[names].quantile([0.05, 0.5, 0.95], dim=("chain", "draw"))
    rows = []
    for model in vat_draws["model"].values:
        for iv in vat_draws["intervention"].values:
            cell = q.sel(model=model, intervention=iv)
            row = {"model": str(model), "intervention": str(iv)}
            for name in names:
                lo, mid, hi = (float(v) for v in cell[name].values)
                row |= {name: mid, f"{name}_lower": lo, f"{name}_upper": hi}
            rows.append(row)
    table = pd.DataFrame(rows)
    labels = {"gain": "Gain [90%]", "nvat": "nVAT noise-free [90%]",
              "nvat_spearman": "nVAT Spearman scale [90%]",
              "centralization": "centralization [90%]"}  # fmt: skip
    out = table[["model", "intervention"]].copy()
    for name in names:
        out[labels[name]] = interval_column(table, name, name)
    return out


def prior_sentence(tree: xr.DataTree) -> str:
    """The prior-predictive nVAT (5/50/95%) beside the spread of the posterior nVAT.

    Example:
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


def _azp_png(pc) -> bytes:
    """The PNG of an arviz-plots PlotCollection (matplotlib backend); its figure closed."""
    import matplotlib.pyplot as plt

    fig = pc.viz["figure"]
    fig = fig.item() if hasattr(fig, "item") else fig
    try:
        return png(fig)
    finally:
        plt.close(fig)


def _plain(ds: xr.Dataset) -> xr.Dataset:
    return ds.drop_vars([c for c in ds.coords if c not in ds.dims])


def _forest(vat_draws: xr.Dataset) -> bytes:
    """arviz-plots forest of the posterior nVAT: a row per intervention, a colour per model."""
    import arviz_plots as azp

    tree = xr.DataTree.from_dict({"posterior": _plain(vat_draws[["nvat"]])})
    n_iv = vat_draws.sizes["intervention"]
    pc = azp.plot_forest(tree, var_names=["nvat"], combined=True, backend="matplotlib",
                         figure_kwargs={"figsize": (9, 0.45 * n_iv * max(1, vat_draws.sizes["model"] / 2) + 1.2)})  # fmt: skip
    if vat_draws.sizes["model"] > 1:
        pc.add_legend("model")
    return _azp_png(pc)


def _shift_heatmap(shift: xr.DataArray, targets: dict, units: str) -> bytes:
    """Cells x values heatmap of the posterior mean shifts, each cell's target boxed."""
    mean = shift.mean(("chain", "draw")).transpose("model", "intervention", "value")
    values = [str(v) for v in shift["value"].values]
    cells = [(str(m), str(i)) for m in mean["model"].values for i in mean["intervention"].values]
    grid = mean.values.reshape(len(cells), len(values))
    lim = float(np.nanmax(np.abs(grid))) or 1.0
    fig = Figure(figsize=(0.55 * len(values) + 4, 0.2 * len(cells) + 1.8))
    ax = fig.subplots()
    im = ax.imshow(grid, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    rows = np.arange(len(cells))
    cols = [values.index(targets[iv]) if targets[iv] in values else np.nan for _, iv in cells]
    ax.scatter(cols, rows, marker="s", s=50, facecolors="none", edgecolors="black", lw=0.9)
    ax.set_yticks(rows, [f"{m}  {i}" for m, i in cells], fontsize=8)
    ax.set_xticks(range(len(values)), values, fontsize=8, rotation=60, ha="right")
    fig.colorbar(im, ax=ax, shrink=0.6, label=f"posterior mean shift ({units})")
    return png(fig)


def posterior(tree: xr.DataTree) -> Section:
    """Posterior VAT medians and 90% intervals, the prior-predictive nVAT beside them, the
    forest of the posterior nVAT and the posterior mean shift of every value."""
    sec = Section("Posterior shifts")
    vat_draws = tree["vat"].to_dataset()
    sec.text.append(
        f"Posterior medians and 90% credible intervals ({tree.attrs.get('preset', '?')}, "
        f"{tree.attrs.get('method', '?')}). nVAT noise-free: the tax with rating noise "
        "removed (the Bayesian model's estimate); Spearman scale: the same on the scale of "
        "the point figures."
    )
    sec.text.append(prior_sentence(tree))
    sec.tables.append(_posterior_table(vat_draws))
    sec.figures.append(("Posterior nVAT (noise-free) per cell: arviz-plots forest, median "
                        "and credible intervals", _forest(vat_draws)))  # fmt: skip
    shift = tree["posterior"]["shift_mean"]
    marginal = tree.attrs.get("likelihood") == "mvn-marginal"
    units = shift.attrs.get("units") or ("phi scale" if marginal else "latent scale")
    targets = {str(i): str(t) for i, t in zip(vat_draws["intervention"].values,
                                              vat_draws["target"].values, strict=True)}  # fmt: skip
    caption = "Posterior mean shift of every value per cell (rows), each cell's target boxed"
    sec.figures.append((caption, _shift_heatmap(shift, targets, units)))
    return sec


def _rank(tree: xr.DataTree, n: int = 4) -> bytes:
    """arviz-plots rank plot of nVAT in the ``n`` cells with the worst R-hat."""
    import arviz_plots as azp

    nvat = _plain(tree["vat"].to_dataset()[["nvat"]])
    if {"model", "intervention"} <= set(nvat.dims):
        rhat = tree["diagnostics"]["nvat"].sel(diagnostic="rhat").to_series().dropna()
        worst = list(rhat.sort_values(ascending=False).head(n).index)
        nvat = xr.concat([nvat.sel(model=m, intervention=i, drop=True) for m, i in worst],
                         dim="cell").assign_coords(cell=[f"{m}, {i}" for m, i in worst])  # fmt: skip
    rows = (nvat.sizes.get("cell", 1) + 1) // 2
    pc = azp.plot_rank(xr.DataTree.from_dict({"posterior": _plain(nvat)}), var_names=["nvat"],
                       backend="matplotlib", col_wrap=2,
                       figure_kwargs={"figsize": (10, 3.2 * rows), "layout": "constrained"})  # fmt: skip
    return _azp_png(pc)


def ppc_rootogram(tree: xr.DataTree):
    """arviz-plots rootogram (a PlotCollection) of every observed rating, all cells pooled,
    against the posterior predictive ones; every level of the scale is a tick."""
    import arviz_plots as azp

    lo, hi = int(tree.attrs.get("scale_min", 1)), int(tree.attrs.get("scale_max", 5))
    obs = tree["observed_data"]["rating"]
    seen = np.isfinite(obs.values).ravel()
    pred = tree["posterior_predictive"]["rating"].transpose("chain", "draw", *obs.dims)
    flat = pred.values.reshape(*pred.shape[:2], -1)[..., seen]
    sub = xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset({"rating": (("chain", "draw", "obs"),
                                                       flat.astype(np.int64))}),
        "observed_data": xr.Dataset({"rating": ("obs", obs.values.ravel()[seen].astype(np.int64))}),
    })  # fmt: skip
    pc = azp.plot_ppc_rootogram(sub, var_names=["rating"], backend="matplotlib",
                                figure_kwargs={"figsize": (6, 3.5)})  # fmt: skip
    fig = pc.viz["figure"]
    fig = fig.item() if hasattr(fig, "item") else fig
    for ax in fig.axes:
        ax.set_xticks(range(lo, hi + 1))
        ax.set_xlabel("rating")
    return pc


def diagnostics(tree: xr.DataTree) -> Section:
    """The convergence verdict, table and rank plot, and the posterior predictive check of
    the ratings (when the fit saved predicted ratings)."""
    from vatjax.bayes.diagnostics import diagnostics_table

    sec = Section("Diagnostics")
    diag = tree["diagnostics"]
    sec.text.append(
        f"Divergences: {diag.attrs.get('divergences', 'n/a')}. Criteria: R-hat <= 1.01, bulk "
        f"and tail ESS >= 400, no divergence. Verdict: "
        f"{'met' if diag.attrs.get('ok') else 'NOT met: do not trust these intervals yet'}."
    )
    sec.tables.append(diagnostics_table(tree))
    if tree["vat"].sizes["chain"] > 1 and "nvat" in diag:
        sec.figures.append(("Rank plot of nVAT in the cells with the worst R-hat (arviz-plots):"
                            " flat bars mean the chains agree", _rank(tree)))  # fmt: skip
    if "posterior_predictive" in tree.children and "rating" in tree["posterior_predictive"]:
        caption = "Posterior predictive check of the ratings (arviz-plots rootogram)"
        sec.figures.append((caption, _azp_png(ppc_rootogram(tree))))
    else:
        sec.text.append(
            f"No posterior predictive check of the ratings: this fit "
            f"({tree.attrs.get('preset', '?')}) saved no predicted ratings (the marginal model "
            "reads each cell's summary statistics, not the single ratings)."
        )
    return sec
