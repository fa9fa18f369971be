"""The report's building blocks: :class:`Section`, the PNG helpers, the frontier figure and
the per-cell interval figure. The value figures (heatmaps, circumplex) are in
:mod:`vatjax.cli.figures_values`, the Bayesian ones in :mod:`vatjax.cli.figures_bayes`.

Each section function takes the results of a folder (:func:`vatjax.cli.results.read_results`)
and returns a :class:`Section` (title, text, tables, PNG figures). Figures are drawn without
pyplot: no global state, no GUI backend.

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> res = vatjax.vat(vatjax.shifts(vatjax.load_judgments(s.table)))
    >>> from vatjax.cli.report_data import decision_table
    >>> sec = frontier({"vat": res}, decision_table({"vat": res}))
    >>> sec.title, len(sec.figures), sec.figures[0][1][:4]
    ('Gain-nVAT frontier', 1, b'\\x89PNG')
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["Section", "cell_intervals", "frontier", "png", "subplots"]


@dataclass
class Section:
    """One section of a report, rendered in this order: paragraphs, bullet items, (term,
    definition) pairs, tables, (label, file name, bytes) downloads, notes after the tables,
    and (caption, PNG) figures."""

    title: str
    text: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    definitions: list[tuple[str, str]] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    downloads: list[tuple[str, str, bytes]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, bytes]] = field(default_factory=list)


def subplots(nrows: int, ncols: int, *, figsize, **kwargs):
    """A figure and its axes grid, without pyplot (no global state, no GUI backend)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def png(fig) -> bytes:
    """The figure as PNG bytes (100 dpi: a 12-inch figure is 1,200 px, the page's width)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _bars(rows: pd.DataFrame, name: str, at: str) -> np.ndarray | None:
    """(2, k) distances from ``at`` to the interval ``name_lower``/``name_upper`` (its own
    bounds, never mirrored), or None without an interval."""
    if f"{name}_lower" not in rows.columns:
        return None
    mid = rows[at].to_numpy(float)
    lo, hi = rows[f"{name}_lower"].to_numpy(float), rows[f"{name}_upper"].to_numpy(float)
    return np.stack([np.maximum(mid - lo, 0.0), np.maximum(hi - mid, 0.0)])


_MARKERS = "osD^vP*Xph"


def _frontier_panel(ax, rows: pd.DataFrame, y: str, markers: dict) -> None:
    for target, grp in rows.groupby("target", sort=False):
        (line,) = ax.plot(grp["gain"], grp[y], "-", label=f"target {target}")
        color = line.get_color()
        for _, r in grp.iterrows():
            ax.plot(r["gain"], r[y], ls="none", marker=markers[r["strategy"]], ms=6, color=color)
        xerr, yerr = _bars(grp, "gain", "gain"), _bars(grp, "nvat", y)
        if xerr is not None:
            ax.errorbar(grp["gain"], grp[y], xerr=xerr, yerr=yerr, fmt="none", ecolor=color,
                        alpha=0.45, lw=1)  # fmt: skip
        floor = "nvat_floor_debiased" if y == "nvat_debiased" else "nvat_floor"
        if floor in grp.columns:
            ax.plot(grp["gain"], grp[floor], ls="none", marker="_", ms=16, mew=2.5,
                    color=color, alpha=0.8)  # fmt: skip
    best = rows[rows["frontier"]] if "frontier" in rows.columns else rows.iloc[:0]
    ax.plot(best["gain"], best[y], ls="none", marker="o", ms=13, mfc="none", mec="black",
            mew=1.2)  # fmt: skip
    ax.axvline(0, color="grey", lw=0.6)
    ax.tick_params(labelsize=9)


def frontier(results: dict, table: pd.DataFrame) -> Section:
    """Gain against the tax per model, a line per target, intervals, the noise floor per
    cell and the Pareto frontier ringed; ``table`` is the report's decision table."""
    sec = Section("Gain-nVAT frontier")
    y = "nvat_debiased" if "nvat_debiased" in table.columns else "nvat"  # older results
    models = list(dict.fromkeys(table["model"]))
    ncol = min(2, len(models))
    nrow = math.ceil(len(models) / ncol)
    fig, axes = subplots(nrow, ncol, figsize=(6 * ncol, 4.3 * nrow), squeeze=False,
                         sharex=True, sharey=True)  # fmt: skip
    strategies = list(dict.fromkeys(table["strategy"]))
    markers = {st: _MARKERS[k % len(_MARKERS)] for k, st in enumerate(strategies)}
    for ax, model in zip(axes.flat, models, strict=False):
        _frontier_panel(ax, table[table["model"] == model], y, markers)
        ax.set_title(model, fontsize=11)
    for ax in axes.flat[len(models) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("Gain (phi scale; right: more movement toward the target)", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("nVAT, debiased" if y != "nvat" else "nVAT (raw)", fontsize=9)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for st, mk in markers.items():
        handles.append(axes.flat[0].plot([], [], ls="none", marker=mk, color="0.3")[0])
        labels.append(st)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(6, len(labels)), fontsize=9)  # fmt: skip
    floor = "nvat_floor" in table.columns
    sec.text.append(
        "Each line joins one target's strategies (or checkpoints; the marker says which): "
        "right is more gain, up is "
        "more tax. The tax is the debiased nVAT" + (", with its interval and the gain's" if
        "gain_lower" in table.columns else "") + "; black rings mark the frontier (no other "
        "intervention of the model has at least its gain for at most its tax)."
        + (" The short bar of each cell's colour is its noise floor, moved to the debiased "
           "scale: a point above its bar is a tax above noise." if floor else
           " No noise floor (noise_floor.nc): run the permutation null to draw it.")
    )  # fmt: skip
    sec.figures.append(("Gain against the debiased nVAT per model: intervals, noise floor "
                        "(bars) and frontier (rings)", png(fig)))  # fmt: skip
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
    fig, axes = subplots(
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
        ax.set_title(model, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0][0].set_yticks(range(len(ivs)), ivs, fontsize=8)
    axes[0][0].set_ylim(len(ivs) - 0.5, -0.5)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=9)
    return png(fig)
