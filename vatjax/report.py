"""Reports: one self-contained HTML file (figures embedded) and a Markdown twin.

A report is built from saved results in one folder, under the names ``vatjax demo``
writes: ``vat.nc`` (required), ``bootstrap.nc``, ``noise_floor.nc``, ``posterior.nc`` and
``provenance.json`` (each optional; a missing one is said so in its section).

Example:
    >>> import tempfile, vatjax
    >>> from vatjax.report import write_report
    >>> folder = tempfile.mkdtemp()
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> _ = vatjax.save(vatjax.vat(vatjax.shifts(vatjax.load_judgments(s.table))),
    ...                 folder + "/vat.nc")
    >>> write_report(folder, folder + "/report.html").name
    'report.html'
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from vatjax.data import atomic_path, load
from vatjax.errors import VatInputError
from vatjax.named import metrics_table
from vatjax.taxonomy import taxonomy_of

__all__ = ["SECTIONS", "write_report"]

SECTIONS = (
    "VAT table",
    "Gain-nVAT frontier",
    "Coupling heatmaps",
    "VAT on the circumplex",
    "Posterior shifts",
    "Diagnostics",
    "Provenance",
)
RESULT_FILES = {
    "vat": "vat.nc",
    "bootstrap": "bootstrap.nc",
    "noise_floor": "noise_floor.nc",
    "posterior": "posterior.nc",
}


@dataclass
class _Section:
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


def _vat_table(results: dict) -> _Section:
    from vatjax.named import uncertainty_table

    sec = _Section("VAT table")
    boot, null = results.get("bootstrap"), results.get("noise_floor")
    table = metrics_table(results["vat"]).drop(columns=["gain_raw", "gain_below_eps"])
    sec.tables.append(uncertainty_table(table, boot, null))
    if boot is None:
        sec.text.append("No bootstrap results (bootstrap.nc): intervals not computed.")
    else:
        a = boot.attrs
        sec.text.append(
            f"Intervals: {a.get('interval')} at level {a.get('confidence_level')}, "
            f"{a.get('scheme')} over scenarios, {a.get('n_resamples')} resamples (seed "
            f"{a.get('seed')}); se is the standard deviation of the replicates."
        )
    if null is None:
        sec.text.append("No noise floor (noise_floor.nc): permutation null not computed.")
    else:
        a = null.attrs
        sec.text.append(
            f"Noise floor: nvat_floor is the {a.get('floor_level', 0.95):.0%} quantile of nVAT "
            f"under the permutation null ({a.get('n_permutations')} permutations, seed "
            f"{a.get('seed')}); nvat_p the p-value of the observed nVAT; pairs_significant the "
            f"value pairs that survive Benjamini-Hochberg at q = {a.get('q')}."
        )
    return sec


def _frontier(results: dict) -> _Section:
    sec = _Section("Gain-nVAT frontier")
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


def _heatmaps(results: dict) -> _Section:
    sec = _Section("Coupling heatmaps")
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
        else "No noise floor (noise_floor.nc): no FDR marks."
    )
    return sec


def _circumplex(results: dict) -> _Section:
    sec = _Section("VAT on the circumplex")
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


def _posterior(tree: xr.DataTree) -> _Section:
    sec = _Section("Posterior shifts")
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


def _diagnostics(tree: xr.DataTree) -> _Section:
    from vatjax.bayes.diagnostics import diagnostics_table

    sec = _Section("Diagnostics")
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


def _provenance(results: dict) -> _Section:
    sec = _Section("Provenance")
    prov = dict(results.get("provenance", {}))
    res = results["vat"]
    for key in (
        "level",
        "include_diagonal",
        "eps",
        "gain_convention",
        "gnd_convention",
        "coupling_convention",
        "gini_convention",
    ):
        prov.setdefault(key, res.attrs.get(key))
    for name in ("bootstrap", "noise_floor"):
        if results.get(name) is not None:
            prov[f"{name}_seed"] = results[name].attrs.get("seed")
    sec.tables.append(pd.DataFrame({"item": list(prov), "value": [str(v) for v in prov.values()]}))
    return sec


def _missing(title: str, what: str) -> _Section:
    return _Section(title, text=[f"No posterior ({what}): fit one with `vatjax fit`."])


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0, classes="t")


def _table_md(df: pd.DataFrame) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(fmt(v) for v in row) + " |\n" for row in df.values)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}
table.t{border-collapse:collapse;font-size:12px}table.t td,table.t th{padding:2px 6px;
border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}"""


def render(sections: list[_Section], title: str, asset_dir: Path) -> tuple[str, str]:
    """HTML (figures inline as base64) and Markdown (figures as files in asset_dir)."""
    parts_html = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
    ]
    parts_md = [f"# {title}\n"]
    for k, sec in enumerate(sections):
        anchor = sec.title.lower().replace(" ", "-")
        parts_html.append(f"<section id='{anchor}'><h2>{html.escape(sec.title)}</h2>")
        parts_md.append(f"\n## {sec.title}\n")
        for t in sec.text:
            parts_html.append(f"<p>{html.escape(t)}</p>")
            parts_md.append(f"{t}\n")
        for df in sec.tables:
            parts_html.append(_table_html(df))
            parts_md.append("\n" + _table_md(df))
        for j, (caption, png) in enumerate(sec.figures):
            b64 = base64.b64encode(png).decode()
            parts_html.append(
                f"<figure><img alt='{html.escape(caption)}' "
                f"src='data:image/png;base64,{b64}'><figcaption>"
                f"{html.escape(caption)}</figcaption></figure>"
            )
            name = f"fig{k}-{j}.png"
            with atomic_path(asset_dir / name) as tmp:
                tmp.write_bytes(png)
            parts_md.append(f"\n![{caption}]({asset_dir.name}/{name})\n")
        parts_html.append("</section>")
    parts_html.append("</body></html>")
    return "\n".join(parts_html), "\n".join(parts_md)


def read_results(folder: str | os.PathLike) -> dict:
    """Load the saved results of a folder (see the module docstring for the names)."""
    folder = Path(folder)
    if not (folder / RESULT_FILES["vat"]).exists():
        raise VatInputError(
            f"{folder} has no vat.nc: write one with `vatjax vat FILE --out {folder}/vat.nc` "
            "or run `vatjax demo`"
        )
    results = {k: load(folder / f) for k, f in RESULT_FILES.items() if (folder / f).exists()}
    if (folder / "provenance.json").exists():
        results["provenance"] = json.loads((folder / "provenance.json").read_text())
    return results


def build_sections(results: dict) -> list[_Section]:
    """Every section of the report, in the order of :data:`SECTIONS`."""
    post = results.get("posterior")
    return [
        _vat_table(results),
        _frontier(results),
        _heatmaps(results),
        _circumplex(results),
        _missing(SECTIONS[4], "posterior.nc") if post is None else _posterior(post),
        _missing(SECTIONS[5], "posterior.nc") if post is None else _diagnostics(post),
        _provenance(results),
    ]


def write_report(
    folder: str | os.PathLike, out: str | os.PathLike, *, title: str = "Value Alignment Tax"
) -> Path:
    """Write ``out`` (.html, self-contained) and its Markdown twin (``.md`` + ``_files/``)."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise VatInputError(f"the report is HTML: give --out a path ending in .html, not {out}")
    sections = build_sections(read_results(folder))
    page, md = render(sections, title, out.with_name(out.stem + "_files"))
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_path(out.with_suffix(".md")) as tmp:
        tmp.write_text(md, encoding="utf-8")
    return out
