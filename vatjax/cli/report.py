"""Reports: one self-contained HTML file (figures embedded) and a Markdown twin.

A report is built from saved results in one folder, under the names of
:data:`vatjax.cli.results.RESULT_FILES` (what ``vatjax demo`` writes): ``vat.nc``
(required), ``bootstrap.nc``, ``noise_floor.nc``, ``posterior.nc`` and ``provenance.json``
(each optional; a missing one is said so in its section), and ``truth.nc`` (the
simulator's; its section appears only when it is there). The figures are drawn by
:mod:`vatjax.cli.figures`.

Example:
    >>> import tempfile, vatjax
    >>> from vatjax.cli.report import write_report
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
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from vatjax.cli.figures import (
    Section,
    cell_intervals,
    circumplex,
    diagnostics,
    frontier,
    heatmaps,
    posterior,
)
from vatjax.cli.results import RESULT_FILES, read_results
from vatjax.data import atomic_path
from vatjax.errors import VatInputError
from vatjax.named import metrics_table

__all__ = [
    "SECTIONS",
    "build_sections",
    "floor_sentence",
    "render",
    "truth_summary",
    "truth_table",
    "with_above_floor",
    "write_report",
]

SECTIONS = (
    "VAT table",
    "Gain-nVAT frontier",
    "Coupling heatmaps",
    "VAT on the circumplex",
    "Posterior shifts",
    "Diagnostics",
    "Simulator's truth",
    "Provenance",
)
"""Every section title, in order; "Simulator's truth" appears only with a truth.nc."""

_NOTES = {
    "bootstrap": (
        "No bootstrap results ({file}): intervals not computed.",
        "Intervals: {interval} at level {confidence_level}, {scheme} over scenarios, "
        "{n_resamples} resamples (seed {seed}); se is the standard deviation of the replicates.",
    ),
    "noise_floor": (
        "No noise floor ({file}): permutation null not computed.",
        "Noise floor: nvat_floor is the {floor_level:.0%} quantile of nVAT under the "
        "permutation null ({n_permutations} permutations, seed {seed}); nvat_p the p-value of "
        "the observed nVAT; pairs_significant the value pairs that survive Benjamini-Hochberg "
        "at q = {q}.",
    ),
}
"""Per optional result: the note when it is missing, and the note on its settings."""


class _Attrs(dict):
    def __missing__(self, key):  # an attribute not saved reads None, as attrs.get does
        return None


def _note(results: dict, name: str) -> str:
    missing, present = _NOTES[name]
    saved = results.get(name)
    if saved is None:
        return missing.format(file=RESULT_FILES[name])
    return present.format_map(_Attrs({"floor_level": 0.95} | dict(saved.attrs)))


def with_above_floor(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``above_floor`` (nvat > nvat_floor) to a VAT table that has a noise floor.

    Example:
        >>> t = pd.DataFrame({"nvat": [0.2, 0.05], "nvat_floor": [0.1, 0.1]})
        >>> with_above_floor(t)["above_floor"].tolist()
        [True, False]
    """
    if "nvat_floor" not in table.columns:
        return table
    return table.assign(above_floor=table["nvat"] > table["nvat_floor"])


def floor_sentence(table: pd.DataFrame) -> str:
    """Which cells' nVAT stands above the noise floor: the count, the fewer side by name.

    Example:
        >>> t = pd.DataFrame({"model": ["m", "m"], "intervention": ["a", "b"],
        ...     "nvat": [0.2, 0.05], "nvat_floor": [0.1, 0.1], "nvat_p": [0.001, 0.4]})
        >>> for part in floor_sentence(t).split(": ", 1):
        ...     print(part)
        nVAT stands above the noise floor (nvat > nvat_floor) in 1 of 2 cells
        m a (nVAT 0.200, floor 0.100, p 0.001); not above it in the other 1.
    """
    above = table["nvat"] > table["nvat_floor"]
    n, k = len(table), int(above.sum())
    head = f"nVAT stands above the noise floor (nvat > nvat_floor) in {k} of {n} cells"

    def named(rows: pd.DataFrame) -> str:
        return "; ".join(
            f"{r.model} {r.intervention} (nVAT {r.nvat:.3f}, floor {r.nvat_floor:.3f}, "
            f"p {r.nvat_p:.3f})"
            for r in rows.itertuples()
        )

    if k == n:
        return f"{head}: all of them (the largest p is {table['nvat_p'].max():.3f})."
    if k == 0:
        return f"{head}: none of them (the smallest p is {table['nvat_p'].min():.3f})."
    if k <= n - k:
        return f"{head}: {named(table[above])}; not above it in the other {n - k}."
    return f"{head}; the {n - k} not above it: {named(table[~above])}."


def _vat_table(results: dict) -> Section:
    from vatjax.named import uncertainty_table

    sec = Section("VAT table")
    table = metrics_table(results["vat"]).drop(columns=["gain_raw", "gain_below_eps"])
    table = uncertainty_table(table, results.get("bootstrap"), results.get("noise_floor"))
    sec.tables.append(with_above_floor(table))
    sec.text += [_note(results, "bootstrap"), _note(results, "noise_floor")]
    if "nvat_floor" in table.columns:
        sec.text.append(floor_sentence(table) + " The above_floor column marks every cell.")
    return sec


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


def _truth(results: dict) -> Section:
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


def _provenance(results: dict) -> Section:
    sec = Section("Provenance")
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


def _missing(title: str) -> Section:
    what = RESULT_FILES["posterior"]
    return Section(title, text=[f"No posterior ({what}): fit one with `vatjax fit`."])


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0, classes="t")


def _table_md(df: pd.DataFrame) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v).replace("|", "\\|")

    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(fmt(v) for v in row) + " |\n" for row in df.values)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}
table.t{border-collapse:collapse;font-size:12px}table.t td,table.t th{padding:2px 6px;
border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}"""


def render(sections: list[Section], title: str, asset_dir: Path) -> tuple[str, str]:
    """HTML (figures inline as base64) and Markdown (figures as files in asset_dir).

    Example:
        >>> import tempfile
        >>> page, md = render([Section("Notes", text=["a & b"])], "T", Path(tempfile.mkdtemp()))
        >>> "<p>a &amp; b</p>" in page, md.splitlines()[3:]
        (True, ['## Notes', '', 'a & b'])
    """
    parts_html = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
    ]
    parts_md = [f"# {title}\n"]
    for k, sec in enumerate(sections):
        anchor = re.sub(r"[^a-z0-9]+", "-", sec.title.lower()).strip("-")
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


def build_sections(results: dict) -> list[Section]:
    """Every section of the report, in the order of :data:`SECTIONS` (the truth's only
    with a truth.nc)."""
    post = results.get("posterior")
    return [
        _vat_table(results),
        frontier(results),
        heatmaps(results),
        circumplex(results),
        _missing(SECTIONS[4]) if post is None else posterior(post),
        _missing(SECTIONS[5]) if post is None else diagnostics(post),
        *([_truth(results)] if results.get("truth") is not None else []),
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
