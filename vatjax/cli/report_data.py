"""The report's data: the saved results put into one shape, and the decision table.

``vat.nc`` comes in two kinds: the point metrics (``vatjax demo``, ``vatjax analyze``) or,
from ``vatjax vat --bootstrap N --null M --out vat.nc``, the bootstrap's figures (with a
``stat`` dim) merged with the noise floor's. :func:`split_results` turns the second into
the first plus ``bootstrap`` and ``noise_floor`` (files of those names in the folder win).

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> sh = vatjax.shifts(vatjax.load_judgments(s.table))
    >>> null = vatjax.noise_floor(sh, n_permutations=20, quiet=True)
    >>> from vatjax.named import results_dataset
    >>> merged = results_dataset(vatjax.vat(sh), null=null)
    >>> parts = split_results({"vat": merged})
    >>> sorted(parts), "p_nvat" in parts["vat"]
    (['noise_floor', 'vat'], False)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vatjax.named import metrics_table, uncertainty_table

__all__ = ["debiased_floor", "decision_table", "on_frontier", "split_results"]

_NULL_PREFIXES = ("null_", "floor_", "p_", "q_")
_NULL_VARS = ("significant", "n_significant")


def split_results(results: dict) -> dict:
    """The results with ``vat`` as point metrics; a merged vat.nc's bootstrap and noise
    floor become ``bootstrap`` and ``noise_floor`` unless the folder has those files."""
    vat = results["vat"]
    out = dict(results)
    null_names = [v for v in vat.data_vars
                  if str(v).startswith(_NULL_PREFIXES) or v in _NULL_VARS]  # fmt: skip
    if null_names:
        null = vat[null_names]
        null.attrs = {k: vat.attrs[f"null_{k}"] for k in ("n_permutations", "q", "seed")
                      if f"null_{k}" in vat.attrs}  # fmt: skip
        null.attrs["floor_level"] = vat.attrs.get("floor_level", 0.95)
        out.setdefault("noise_floor", null)
        vat = vat.drop_vars(null_names)
    if "stat" in vat.dims:
        out.setdefault("bootstrap", vat)
        point = vat[[v for v in vat.data_vars if "stat" in vat[v].dims or v == "n_samples"]]
        vat = point.sel(stat="estimate", drop=True)
        vat.attrs = dict(results["vat"].attrs)
    out["vat"] = vat
    return out


def debiased_floor(table: pd.DataFrame, n_values: int) -> pd.Series:
    """The noise floor of nVAT moved to the debiased scale by each cell's own correction.

    The debiased nVAT is sqrt(nvat^2 - c), c the cell's sampling-noise term: c is
    nvat^2 - nvat_debiased^2 where the debiased figure is above 0, and its expectation
    under no coupling, (V - 1) / (n - 1), where it was clipped to 0. The map is increasing,
    so nvat > nvat_floor exactly when nvat_debiased > this floor (up to the clipping).

    Example:
        >>> t = pd.DataFrame({"nvat": [0.5, 0.3], "nvat_debiased": [0.4, 0.0],
        ...                   "nvat_floor": [0.45, 0.45], "n_samples": [100, 100]})
        >>> debiased_floor(t, 10).round(3).tolist()
        [0.335, 0.334]
    """
    nvat, deb = table["nvat"].to_numpy(float), table["nvat_debiased"].to_numpy(float)
    expected = (n_values - 1) / np.maximum(table["n_samples"].to_numpy(float) - 1, 1)
    c = np.where(deb > 0, nvat**2 - deb**2, expected)
    floor = table["nvat_floor"].to_numpy(float)
    return pd.Series(np.sqrt(np.clip(floor**2 - c, 0, None)), index=table.index)


def on_frontier(table: pd.DataFrame, tax: str) -> pd.Series:
    """True for the cells no other cell of the same model beats: none has at least the gain
    and at most the tax, with one of them strictly (the Pareto front of gain against tax).

    Example:
        >>> t = pd.DataFrame({"model": ["m"] * 3, "gain": [0.3, 0.2, 0.1],
        ...                   "tax": [0.2, 0.1, 0.3]})
        >>> on_frontier(t, "tax").tolist()
        [True, True, False]
    """
    flags = pd.Series(False, index=table.index)
    for _, rows in table.groupby("model", sort=False):
        g, t = rows["gain"].to_numpy(float), rows[tax].to_numpy(float)
        ok = np.isfinite(g) & np.isfinite(t)
        beaten = (g[None, :] >= g[:, None]) & (t[None, :] <= t[:, None])
        strict = (g[None, :] > g[:, None]) | (t[None, :] < t[:, None])
        dominated = (beaten & strict & ok[None, :]).any(axis=1)
        flags[rows.index] = ok & ~dominated
    return flags


def decision_table(results: dict) -> pd.DataFrame:
    """Every column of the VAT table with its intervals and floor (the CSV of the report),
    plus ``above_floor``, ``nvat_floor_debiased`` and ``frontier``."""
    table = metrics_table(results["vat"])
    table = table.drop(columns=[c for c in ("gain_below_eps",) if c in table.columns])
    table = uncertainty_table(table, results.get("bootstrap"), results.get("noise_floor"))
    tax = "nvat_debiased" if "nvat_debiased" in table.columns else "nvat"
    if "nvat_floor" in table.columns:
        table["above_floor"] = table["nvat"] > table["nvat_floor"]
        if tax == "nvat_debiased":
            level = results["vat"].attrs.get("level", "value")
            table["nvat_floor_debiased"] = debiased_floor(table, results["vat"].sizes[level])
    table["frontier"] = on_frontier(table, tax)
    return table
