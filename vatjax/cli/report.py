"""Reports: one self-contained HTML file (figures embedded) and a Markdown twin.

A report is built from saved results in one folder, under the names of
:data:`vatjax.cli.results.RESULT_FILES` (what ``vatjax demo`` writes): ``vat.nc``
(required), ``bootstrap.nc``, ``noise_floor.nc``, ``posterior.nc``, ``compare.nc``,
``power.nc``, ``reliability.nc`` and ``provenance.json`` (each optional; a missing one is
said so in its section), and ``truth.nc`` (the simulator's; its section appears only when
it is there). The figures are drawn by :mod:`vatjax.cli.figures`, the inference sections
by :mod:`vatjax.cli.report_inference`, the truth's by :mod:`vatjax.cli.report_truth`.

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

import pandas as pd

from vatjax.cli.figures import (
    Section,
    circumplex,
    diagnostics,
    frontier,
    heatmaps,
    posterior,
)
from vatjax.cli.report_inference import comparisons_section, power_section, reliability_section
from vatjax.cli.report_truth import truth_section
from vatjax.cli.results import RESULT_FILES, read_results
from vatjax.data import atomic_path
from vatjax.errors import VatInputError
from vatjax.named import metrics_table

__all__ = [
    "SECTIONS",
    "build_sections",
    "floor_sentence",
    "render",
    "with_above_floor",
    "write_report",
]

SECTIONS = (
    "VAT table",
    "Gain-nVAT frontier",
    "Paired comparisons",
    "Coupling heatmaps",
    "VAT on the circumplex",
    "Posterior shifts",
    "Diagnostics",
    "Power and sample size",
    "Judge reliability",
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
        comparisons_section(results),
        heatmaps(results),
        circumplex(results),
        _missing(SECTIONS[5]) if post is None else posterior(post),
        _missing(SECTIONS[6]) if post is None else diagnostics(post),
        power_section(results),
        reliability_section(results),
        *([truth_section(results)] if results.get("truth") is not None else []),
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
