"""The report's inference sections: paired comparisons (``compare.nc``), power and sample
size (``power.nc``) and judge reliability (``reliability.nc``); each says how to make its
file when the folder has none.

Example:
    >>> comparisons_section({}).text[0][:30]
    'No paired comparisons (compare'
"""

from __future__ import annotations

import pandas as pd

from vatjax.cli.figures import Section
from vatjax.cli.report_format import interval_column
from vatjax.cli.results import RESULT_FILES

__all__ = ["comparisons_section", "power_section", "reliability_section"]

_SHOWN = 20  # rows of the comparison table, the most significant first


def comparisons_section(results: dict) -> Section:
    """The pairs that differ in tax or gain, and the tie groups of the ranking by tax."""
    from vatjax.named.compare import pairs_table

    sec = Section("Paired comparisons")
    ds = results.get("compare")
    if ds is None:
        sec.text.append(
            f"No paired comparisons ({RESULT_FILES['compare']}): run `vatjax compare FILE "
            f"--out DIR/{RESULT_FILES['compare']}`."
        )
        return sec
    alpha = float(ds.attrs.get("alpha", 0.05))
    table = pairs_table(ds)
    group = ds["n_shared"].dims[0]
    for name, what in (("nvat_debiased", "debiased nVAT"), ("gain", "Gain")):
        k = int((table[f"{name}_q"] < alpha).sum())
        sec.text.append(
            f"{what}: {k} of {len(table)} pairs differ at q < {alpha:g} (BH over the pairs of "
            f"each {group}; paired bootstrap intervals at level "
            f"{ds.attrs.get('confidence_level', '')}, paired swap test with "
            f"{ds.attrs.get('n_permutations', '?')} permutations)."
        )
    shown = table.sort_values("nvat_debiased_q").head(_SHOWN).reset_index(drop=True)
    compact = shown[[group, "a", "b", "n_shared"]].rename(columns={"n_shared": "n"})
    for name, label in (("nvat_debiased", "nVAT debiased"), ("gain", "Gain")):
        compact[f"{label} a - b [CI]"] = interval_column(shown, f"{name}_estimate", name)
        compact[f"{label} q"] = shown[f"{name}_q"]
    sec.tables.append(compact)
    sec.text.append(
        f"The {min(_SHOWN, len(table))} pairs with the smallest q of the debiased nVAT "
        "difference (a - b; the observed-scale tax). Below: each item ranked by its debiased "
        "nVAT (rank 1 has the lowest tax); items in one tie group do not differ "
        f"significantly (q >= {alpha:g}) from the group's best."
    )
    sec.tables.append(
        ds[["item_nvat_debiased", "rank", "tie_group"]].reset_coords(drop=True).to_dataframe()
        .reset_index().sort_values([group, "rank"])
    )
    return sec


def power_section(results: dict) -> Section:
    """The power curve over n and the n for the target power."""
    sec = Section("Power and sample size")
    ds = results.get("power")
    if ds is None:
        sec.text.append(
            f"No power analysis ({RESULT_FILES['power']}): run `vatjax power --n ... --out "
            f"DIR/{RESULT_FILES['power']}`."
        )
        return sec
    design = ", ".join(
        f"{k} {ds.attrs[k]:.3g}" if isinstance(ds.attrs[k], float) else f"{k} {ds.attrs[k]}"
        for k in ("coupling_from", "observed_scale_nvat", "gain", "gain_b", "noise",
                  "n_studies") if k in ds.attrs
    )  # fmt: skip
    sec.text.append(f"Simulated studies of one cell ({design}).")
    names = [v for v in ("power_tax", "power_tax_se", "floor_nvat", "mean_nvat",
                         "mean_nvat_debiased", "power_gain_difference") if v in ds]  # fmt: skip
    table = ds[names].to_dataframe().reset_index()
    sec.tables.append(table.astype({"n": int}))
    if "n_for_power" in ds:
        target = ds["n_for_power"].attrs.get("target_power", 0.8)
        found = ds["n_for_power"].to_series()
        status = ds["n_for_power_status"].to_series() if "n_for_power_status" in ds else {}
        sec.text.append(
            f"Samples per cell for {float(target):.0%} power: "
            + "; ".join(f"{test}: {value:,.0f}" if value == value else
                        f"{test}: none ({status.get(test, 'not reached')})"
                        for test, value in found.items())
            + " (checked in a fresh simulation: power_check in power.nc)."
        )
    return sec


def reliability_section(results: dict) -> Section:
    """The judge's test-retest reliability and the judge-noise floor."""
    from vatjax.named.reliability import reliability_table

    sec = Section("Judge reliability")
    ds = results.get("reliability")
    if ds is None:
        sec.text.append(
            f"No reliability ({RESULT_FILES['reliability']}): it needs repeated judgments (a "
            "`repeat` column, or the baseline judged twice as `pre-2`); then run `vatjax "
            f"reliability FILE --out DIR/{RESULT_FILES['reliability']}`."
        )
        return sec
    sec.text.append(
        "icc2: ICC(2,1), absolute agreement of the items over the repeats; icc3: ICC(3,1), "
        "consistency; alpha_ordinal: Krippendorff's alpha, ordinal. nvat_judge_noise: the "
        "nVAT of the baseline judged twice (a model that did not change), the judge-noise "
        "floor of the tax."
    )
    sec.tables.append(pd.DataFrame(reliability_table(ds)))
    return sec
