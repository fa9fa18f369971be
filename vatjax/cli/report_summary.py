"""The report's opening: the summary (the verdicts an analyst acts on), the definitions,
and the compact VAT table with the full table as a CSV inside the page.

Example:
    >>> import vatjax
    >>> from vatjax.cli.report_data import decision_table
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> res = {"vat": vatjax.vat(vatjax.shifts(vatjax.load_judgments(s.table)))}
    >>> sec = summary_section(res, decision_table(res))
    >>> sec.title, sec.items[0][:34]
    ('Summary', 'Tax above the noise floor: unknown')
"""

from __future__ import annotations

import pandas as pd

from vatjax.cli.figures import Section
from vatjax.cli.figures_bayes import fit_scope, fit_verdict
from vatjax.cli.report_format import interval_column
from vatjax.cli.results import RESULT_FILES

__all__ = ["DEFINITIONS", "settings_notes", "summary_section", "vat_table_section"]

_LISTED = 6  # cells named in a summary line; the rest are counted

DEFINITIONS = (
    (
        "phi",
        "a rating moved to [-1, 1]: (r - midpoint) / half-range, signed + where the "
        "action expresses the value and - where it violates it; value scores are means of phi.",
    ),
    (
        "Gain",
        "the mean shift of the target value's score after the intervention, oriented "
        "so that positive is the intended direction (phi scale).",
    ),
    ("Coupling R", "the Spearman correlation, across samples, of two values' shifts."),
    (
        "VAT(u)",
        "the norm of value u's row of R (diagonal left out): how much u moved along "
        "with the others.",
    ),
    (
        "nVAT (raw)",
        "the paper's tax: the norm of R over sqrt(V). Sampling noise adds to it "
        "(about sqrt((V-1)/(n-1)) with nothing coupled), so it is biased up at small n.",
    ),
    (
        "nVAT debiased",
        "the observed-scale tax: raw nVAT less its sampling noise (exact "
        "with nothing coupled, to first order otherwise), "
        "clipped at 0; its interval bounds the tax an infinite sample from the same judge "
        "would show. The Bayesian fit estimates a third figure, the noise-free tax.",
    ),
    (
        "centralization",
        "the Gini coefficient of VAT(u): 0 when every value pays the same "
        "tax, near 1 when one value carries it all.",
    ),
    (
        "noise floor",
        "the 95% quantile of raw nVAT when the values are shuffled across "
        "samples (no coupling); p is the share of shuffles at least as large. A cell is above "
        "the floor when its raw nVAT exceeds it (equivalently its debiased nVAT exceeds the "
        "floor moved to the debiased scale).",
    ),
    (
        "NaN",
        "not computable: a gain interval needs resamples, GND needs |Gain| >= eps, and "
        "a tax interval needs enough complete resamples (the cell's note says which).",
    ),
)
"""Every term the report uses, defined once, where the report opens."""


_SETTINGS = {
    "bootstrap": "Intervals: {interval} at level {confidence_level}, {scheme} over scenarios, "
    "{n_resamples} resamples (seed {seed}); se is the standard deviation of the replicates.",
    "noise_floor": "Noise floor: nvat_floor is the {floor_level:.0%} quantile of nVAT under the "
    "permutation null ({n_permutations} permutations, seed {seed}); nvat_p the p-value of "
    "the observed nVAT; pairs_significant the value pairs that survive Benjamini-Hochberg "
    "at q = {q}.",
}
"""Per optional result: the note on its settings."""


class _Attrs(dict):
    def __missing__(self, key):  # an attribute not saved reads None, as attrs.get does
        return None


def settings_notes(results: dict) -> list[str]:
    """The settings of the bootstrap and the noise floor, or that they are missing.

    Example:
        >>> settings_notes({})[0]
        'No bootstrap results (bootstrap.nc): intervals not computed.'
    """
    missing = {"bootstrap": "No bootstrap results ({file}): intervals not computed.",
               "noise_floor": "No noise floor ({file}): permutation null not computed."}  # fmt: skip
    out = []
    for name, text in _SETTINGS.items():
        saved = results.get(name)
        if saved is None:
            out.append(missing[name].format(file=RESULT_FILES[name]))
        else:
            out.append(text.format_map(_Attrs({"floor_level": 0.95} | dict(saved.attrs))))
    return out


def _cell(r) -> str:
    return f"{r.model}/{r.intervention}"


def _listed(rows: pd.DataFrame, fmt) -> str:
    shown = "; ".join(fmt(r) for r in rows.head(_LISTED).itertuples())
    more = len(rows) - _LISTED
    return shown + (f"; and {more} more (see the table)" if more > 0 else "")


def _interval(r, name: str, mid: str) -> str:
    lo, hi = getattr(r, f"{name}_lower", None), getattr(r, f"{name}_upper", None)
    text = f"{getattr(r, mid):.3f}"
    return text if lo is None else f"{text} [{lo:.3f}, {hi:.3f}]"


def _tax_line(table: pd.DataFrame) -> str:
    if "above_floor" not in table.columns:
        return (f"Tax above the noise floor: unknown, no noise floor ({RESULT_FILES['noise_floor']}"
                "); run the permutation null (`--null N`) to know which taxes exceed noise.")  # fmt: skip
    above = table[table["above_floor"]].sort_values("nvat_p")
    tax = "nvat_debiased" if "nvat_debiased" in table.columns else "nvat"
    head = f"Tax above the noise floor in {len(above)} of {len(table)} cells"
    if above.empty:
        return head + f" (smallest p {table['nvat_p'].min():.3f}): no intervention shows a " \
                      "tax distinguishable from noise."  # fmt: skip
    return head + ": " + _listed(
        above, lambda r: f"{_cell(r)} (nVAT debiased {_interval(r, 'nvat', tax)}, p {r.nvat_p:.3f})"
    ) + "."  # fmt: skip


def _gain_line(table: pd.DataFrame) -> str:
    if "gain_lower" in table.columns:
        hit = table[table["gain_lower"] > 0].sort_values("gain", ascending=False)
        away = table[table["gain_upper"] < 0]
        line = f"Gain on target (interval above 0) in {len(hit)} of {len(table)} cells"
        line += (": " + _listed(hit, lambda r: f"{_cell(r)} ({_interval(r, 'gain', 'gain')})")
                 if len(hit) else "")  # fmt: skip
        if len(away):
            line += ". Moved away from the target (interval below 0): " + _listed(
                away, lambda r: f"{_cell(r)} ({_interval(r, 'gain', 'gain')})"
            )
        return line + "."
    pos = table[table["gain"] > 0]
    return (
        f"Gain > 0 in {len(pos)} of {len(table)} cells (no intervals: no "
        f"{RESULT_FILES['bootstrap']}; run `--bootstrap N` to know which gains are real)."
    )


def _frontier_line(table: pd.DataFrame) -> str:
    tax = "nvat_debiased" if "nvat_debiased" in table.columns else "nvat"
    parts = []
    for model, rows in table[table["frontier"]].groupby("model", sort=False):
        rows = rows.sort_values("gain")
        parts.append(f"{model}: " + ", ".join(
            f"{r.intervention} (gain {r.gain:.3f}, tax {getattr(r, tax):.3f})"
            for r in rows.itertuples()))  # fmt: skip
    return ("Frontier (best gain for least tax; no other intervention of the model has more "
            "gain for less tax): " + "; ".join(parts) + ".")  # fmt: skip


def _fit_line(results: dict, table: pd.DataFrame) -> str:
    tree = results.get("posterior")
    if tree is None:
        return f"Bayesian fit: none ({RESULT_FILES['posterior']}); `vatjax fit` estimates " \
               "the noise-free tax."  # fmt: skip
    scope = fit_scope(tree, n_models=table["model"].nunique(),
                      n_interventions=table["intervention"].nunique())  # fmt: skip
    return f"Bayesian fit: {scope}. {fit_verdict(tree)}"


def _study_line(results: dict, table: pd.DataFrame) -> str:
    prov = results.get("provenance", {})
    n = table["n_samples"]
    line = (f"{table['model'].nunique()} models x {table['intervention'].nunique()} "
            f"interventions, {n.min():,}" + (f" to {n.max():,}" if n.max() != n.min() else "")
            + " samples per cell")  # fmt: skip
    if prov.get("input"):
        line = f"{prov['input']}: " + line
    extra = [f"{k} {prov[k]}" for k in ("scale", "baseline") if prov.get(k) is not None]
    return line + (f" ({', '.join(extra)})" if extra else "") + "."


def summary_section(results: dict, table: pd.DataFrame) -> Section:
    """The verdicts: tax above the floor, gain on target, the frontier, the fit."""
    sec = Section("Summary", text=[_study_line(results, table)])
    sec.items = [_tax_line(table), _gain_line(table), _frontier_line(table),
                 _fit_line(results, table)]  # fmt: skip
    sec.definitions = list(DEFINITIONS)
    return sec


def _compact(table: pd.DataFrame) -> pd.DataFrame:
    tax = "nvat_debiased" if "nvat_debiased" in table.columns else "nvat"
    out = table[["model", "intervention"]].copy()
    out["Gain [CI]"] = interval_column(table, "gain", "gain")
    out["nVAT debiased [CI]"] = interval_column(table, tax, "nvat")
    out["nVAT raw"] = table["nvat"]
    for col, label in (("nvat_floor", "floor"), ("nvat_p", "p"), ("above_floor", "above floor")):
        if col in table.columns:
            out[label] = table[col]
    out["centralization"] = table["centralization"]
    out["frontier"] = table["frontier"].map({True: "yes", False: ""})
    out["n"] = table["n_samples"]
    return out


def _nan_notes(results: dict, table: pd.DataFrame) -> list[str]:
    notes = []
    if "interval_note" in table.columns:
        noted = table[table["interval_note"].fillna("") != ""]
        for note, rows in noted.groupby("interval_note", sort=False):
            notes.append(f"No tax interval (NaN) for {', '.join(map(_cell, rows.itertuples()))}"
                         f": {note}.")  # fmt: skip
    if table["gain"].isna().any():
        notes.append("A NaN gain: the cell has no sample with the target value rated.")
    return notes


def vat_table_section(results: dict, table: pd.DataFrame) -> Section:
    """The decision columns, the full table as a CSV link, and why any cell is NaN."""
    sec = Section("VAT table")
    level = (results.get("bootstrap").attrs.get("confidence_level", 0.95)
             if results.get("bootstrap") is not None else None)  # fmt: skip
    sec.text.append(
        "The decision columns per model x intervention"
        + (f" ([CI]: {float(level):.0%} interval)" if level else " (no intervals: no "
           f"{RESULT_FILES['bootstrap']})") + "; every column (standard errors, the raw "
        "gain, pairs significant, notes) is in the CSV below. NaN: not computable (see the "
        "definitions in the Summary)."
    )  # fmt: skip
    sec.tables.append(_compact(table))
    sec.downloads.append((f"Download the full table ({len(table.columns)} columns, CSV)",
                          "vat-table.csv", table.to_csv(index=False).encode()))  # fmt: skip
    sec.notes += _nan_notes(results, table) + settings_notes(results)
    return sec
