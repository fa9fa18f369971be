"""Reports: one self-contained HTML file (figures and the CSV embedded) and a Markdown twin.

A report is built from saved results in one folder, under the names of
:data:`vatjax.cli.results.RESULT_FILES` (what ``vatjax demo`` and ``vatjax analyze`` write):
``vat.nc`` (required; either kind, see :mod:`vatjax.cli.report_data`), ``bootstrap.nc``,
``noise_floor.nc``, ``posterior.nc``, ``compare.nc``, ``power.nc``, ``reliability.nc`` and
``provenance.json`` (each optional; a missing one is said so in its section), and
``truth.nc`` (the simulator's; its section appears only when it is there). It opens with a
summary and the definitions (:mod:`vatjax.cli.report_summary`); the figures are drawn by
:mod:`vatjax.cli.figures`, :mod:`vatjax.cli.figures_values` and
:mod:`vatjax.cli.figures_bayes`, the inference sections by
:mod:`vatjax.cli.report_inference`, the truth's by :mod:`vatjax.cli.report_truth`, the
page by :mod:`vatjax.cli.report_format`.

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

import os
from pathlib import Path

import pandas as pd

from vatjax.cli.figures import Section, frontier
from vatjax.cli.figures_bayes import diagnostics, posterior
from vatjax.cli.figures_values import circumplex, heatmaps
from vatjax.cli.report_circumplex import add_circumplex_test
from vatjax.cli.report_data import decision_table, split_results
from vatjax.cli.report_format import render
from vatjax.cli.report_inference import comparisons_section, power_section, reliability_section
from vatjax.cli.report_summary import summary_section, vat_table_section
from vatjax.cli.report_truth import truth_section
from vatjax.cli.results import RESULT_FILES, read_results
from vatjax.data import atomic_path
from vatjax.errors import VatInputError

__all__ = [
    "SECTIONS",
    "build_sections",
    "floor_sentence",
    "with_above_floor",
    "write_report",
]

SECTIONS = (
    "Summary",
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


_FIRST = ("input", "input_sha256", "scale", "baseline", "level")


def _value(v) -> str:
    if isinstance(v, dict):  # step_seconds
        return ", ".join(f"{k} {t:g} s" if isinstance(t, float | int) else f"{k} {t}"
                         for k, t in v.items())  # fmt: skip
    return str(v)


def _provenance(results: dict) -> Section:
    """The input (file, hash), scale and baseline first, then every setting and convention."""
    sec = Section("Provenance")
    prov = dict(results.get("provenance", {}))
    res = results["vat"]
    if res.attrs.get("scale_min") is not None:
        prov.setdefault("scale", f"{res.attrs['scale_min']},{res.attrs['scale_max']}")
    post = results.get("posterior")
    baseline = res.attrs.get("baseline") or (post.attrs.get("baseline") if post else None)
    if baseline is not None:
        prov.setdefault("baseline", baseline)
    for key in ("level", "include_diagonal", "eps", "gain_convention", "gnd_convention",
                "coupling_convention", "gini_convention"):  # fmt: skip
        prov.setdefault(key, res.attrs.get(key))
    for name in ("bootstrap", "noise_floor"):
        if results.get(name) is not None:
            prov[f"{name}_seed"] = results[name].attrs.get("seed")
    if "input" not in prov:
        sec.text.append("No provenance.json: the input file and its hash are not recorded; "
                        "`vatjax analyze FILE --out DIR` writes them.")  # fmt: skip
    order = [k for k in _FIRST if k in prov] + [k for k in prov if k not in _FIRST]
    sec.tables.append(pd.DataFrame({"item": order, "value": [_value(prov[k]) for k in order]}))
    return sec


def _missing(title: str) -> Section:
    what = RESULT_FILES["posterior"]
    return Section(title, text=[f"No posterior ({what}): fit one with `vatjax fit`."])


def build_sections(results: dict) -> list[Section]:
    """Every section of the report, in the order of :data:`SECTIONS` (the truth's only
    with a truth.nc); ``results`` as :func:`vatjax.cli.results.read_results` gives them."""
    results = split_results(results)
    table = decision_table(results)
    post = results.get("posterior")
    return [
        summary_section(results, table),
        vat_table_section(results, table),
        frontier(results, table),
        comparisons_section(results),
        heatmaps(results),
        add_circumplex_test(circumplex(results), results),
        _missing(SECTIONS[6]) if post is None else posterior(post),
        _missing(SECTIONS[7]) if post is None else diagnostics(post),
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
