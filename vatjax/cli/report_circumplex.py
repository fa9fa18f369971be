"""The circumplex test in the report: does each cell's coupling follow the circle?

From ``circumplex.nc`` (:func:`vatjax.circumplex`, which ``vatjax analyze`` writes): a
sentence over all cells, a compact table of CI (with its interval), p and the cosine
model's r2 per cell, and a figure of the coupling against angular distance per target
with the fitted cosine curve.

Example:
    >>> from vatjax.cli.figures import Section
    >>> sec = add_circumplex_test(Section("VAT on the circumplex"), {})
    >>> sec.text[-1][:40]
    'No circumplex test (circumplex.nc): run '
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from vatjax.cli.figures import Section, png, subplots
from vatjax.cli.results import RESULT_FILES

__all__ = ["add_circumplex_test"]


def _table(res) -> pd.DataFrame:
    rows = res[["ci", "p_value", "cosine_r2"]].reset_coords(drop=True).to_dataframe()
    out = rows.reset_index()[["model", "intervention"]]
    ci = rows["ci"].to_numpy()
    if "ci_lower" in res:
        lo = res["ci_lower"].values.ravel()
        hi = res["ci_upper"].values.ravel()
        level = res.attrs.get("interval_level", 0.95)
        out[f"CI [{level:.0%}]"] = [
            f"{c:.3f} [{a:.3f}, {b:.3f}]" for c, a, b in zip(ci, lo, hi, strict=True)
        ]
    else:
        out["CI"] = ci
    out["p"] = rows["p_value"].to_numpy()
    out["cosine r2"] = rows["cosine_r2"].to_numpy()
    return out


def _figure(coupling, res) -> bytes:
    """Coupling against angular distance, one panel per target: each strategy's pairs
    (mean over models) and its cosine curve (mean coefficients over models)."""
    values = [str(v) for v in coupling["value"].values]
    angle = dict(zip(res.attrs["values"], res.attrs["angles"], strict=True))
    theta = np.array([angle[v] for v in values])
    iu, ju = np.triu_indices(len(values), 1)
    gap = np.abs(theta[iu] - theta[ju]) % (2 * np.pi)
    dist = np.degrees(np.minimum(gap, 2 * np.pi - gap))
    grid = np.linspace(0, np.pi, 100)
    targets = list(dict.fromkeys(str(t) for t in coupling["target"].values))
    ncol = min(4, len(targets))
    fig, axes = subplots(math.ceil(len(targets) / ncol), ncol, squeeze=False, sharey=True,
                         figsize=(3.4 * ncol, 3.0 * math.ceil(len(targets) / ncol)))  # fmt: skip
    strategies = list(dict.fromkeys(str(s) for s in coupling["strategy"].values))
    for ax, target in zip(axes.flat, targets, strict=False):
        for k, strategy in enumerate(strategies):
            pick = (coupling["target"].values == target) & (coupling["strategy"].values == strategy)
            for iv in coupling["intervention"].values[pick]:
                r = coupling.sel(intervention=iv).mean("model").values[iu, ju]
                b = res["cosine"].sel(intervention=iv).mean("model").values
                curve = sum(b[h] * np.cos(h * grid) for h in range(len(b)))
                ax.scatter(dist, r, s=9, color=f"C{k}", alpha=0.6, label=strategy)
                ax.plot(np.degrees(grid), curve, color=f"C{k}", lw=1.2)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(f"target {target}", fontsize=10)
        ax.set_xlabel("angular distance (degrees)", fontsize=9)
        ax.set_xticks([0, 45, 90, 135, 180])
    axes.flat[0].set_ylabel("coupling R (Spearman)", fontsize=9)
    for ax in axes.flat[len(targets) :]:
        ax.axis("off")
    handles = [axes.flat[0].scatter([], [], color=f"C{k}", s=12) for k in range(len(strategies))]
    fig.legend(handles, strategies, loc="lower center", ncol=min(6, len(strategies)), fontsize=9,
               bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return png(fig)


def add_circumplex_test(sec: Section, results: dict) -> Section:
    """``sec`` with the circumplex test's sentence, table and figure appended (a note when
    there is no circumplex.nc)."""
    res = results.get("circumplex")
    if res is None:
        sec.text.append(f"No circumplex test ({RESULT_FILES['circumplex']}): run "
                        "`vatjax analyze` or `vatjax circumplex`.")  # fmt: skip
        return sec
    ci, p = res["ci"].values.ravel(), res["p_value"].values.ravel()
    sec.text.append(
        f"The circumplex test (RTHOR): of two value pairs at different distances on the "
        f"circle, the nearer should be coupled more ({res.attrs['predictions']} such "
        f"predictions). CI = (agreements - disagreements) / predictions, 1 when every "
        f"prediction holds, 0 by chance; p is the share of {res.attrs['n_permutations']:,} "
        f"relabellings of the values with as many agreements. CI median {np.nanmedian(ci):.3f} "
        f"(from {np.nanmin(ci):.3f} to {np.nanmax(ci):.3f}); p < 0.05 in "
        f"{int((p < 0.05).sum())} of {ci.size} cells. The cosine model R ~ b0 + b1 cos(d) + "
        f"b2 cos(2d) explains a median {float(np.nanmedian(res['cosine_r2'])):.0%} of the "
        "off-diagonal coupling's variance (cosine r2)."
    )
    sec.tables.append(_table(res))
    vat = results.get("vat")
    if vat is not None and "coupling" in vat and "target" in vat.coords:
        sec.figures.append(("Coupling against angular distance on the circle, per target: "
                            "each pair of values (mean over models) and the fitted cosine "
                            "curve, per strategy", _figure(vat["coupling"], res)))  # fmt: skip
    return sec
