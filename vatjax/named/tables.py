"""Tables and files from the named results: the uncertainty columns of the metrics table,
and one Dataset that holds the bootstrap's and the null's figures for saving.

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> sh = vatjax.shifts(vatjax.load_judgments(s.table))
    >>> t = uncertainty_table(vatjax.metrics_table(vatjax.vat(sh)))
    >>> len(t) == len(vatjax.metrics_table(vatjax.vat(sh)))
    True
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

__all__ = ["results_dataset", "uncertainty_table"]


def uncertainty_table(
    table: pd.DataFrame, boot: xr.Dataset | None = None, null: xr.Dataset | None = None
) -> pd.DataFrame:
    """Add interval, standard-error and noise-floor columns to :func:`vatjax.metrics_table`.

    Columns ``gain_lower, gain_upper, gain_se`` (and the same for nvat, centralization)
    from :func:`bootstrap`, with ``interval_note`` where a cell has no tax interval;
    ``nvat_p, nvat_floor, pairs_significant`` from :func:`noise_floor`. ``nvat_lower`` and
    ``nvat_upper`` bound the observed-scale tax, which ``nvat_debiased`` estimates; the
    paper's ``nvat`` is biased upward by sampling noise and may lie above them.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
        >>> sh = vatjax.shifts(vatjax.load_judgments(s.table))
        >>> t = uncertainty_table(vatjax.metrics_table(vatjax.vat(sh)),
        ...                       null=vatjax.noise_floor(sh, n_permutations=20, quiet=True))
        >>> list(t.columns[-3:])
        ['nvat_p', 'nvat_floor', 'pairs_significant']
    """
    key = ["model", "intervention"]
    columns: list[tuple[str, xr.DataArray]] = []
    if boot is not None:
        columns += [
            (f"{name}_{stat}", boot[name].sel(stat=stat, drop=True))
            for name in ("gain", "nvat", "centralization")
            for stat in ("lower", "upper", "se")
        ]
        if "interval_note" in boot and (boot["interval_note"] != "").any():
            columns.append(("interval_note", boot["interval_note"]))
    if null is not None:
        columns += [
            ("nvat_p", null["p_nvat"]),
            ("nvat_floor", null["floor_nvat"]),
            ("pairs_significant", null["n_significant"]),
        ]
    out = table.copy()
    for col, da in columns:
        series = da.reset_coords(drop=True).to_series().rename(col).reset_index()
        out = out.merge(series[[*key, col]], on=key, how="left")
    return out


def results_dataset(
    result: xr.Dataset, boot: xr.Dataset | None = None, null: xr.Dataset | None = None
) -> xr.Dataset:
    """One Dataset for saving: the bootstrap's (or the point estimates) and the null's.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
        >>> sh = vatjax.shifts(vatjax.load_judgments(s.table))
        >>> ds = results_dataset(vatjax.vat(sh), null=vatjax.noise_floor(sh, n_permutations=20, quiet=True))
        >>> "p_nvat" in ds and "nvat" in ds
        True
    """
    ds = boot if boot is not None else result
    if null is not None:
        extra = null.drop_vars([v for v in null.data_vars if v in ds.data_vars])
        ds = xr.merge([ds, extra], compat="override", join="outer", combine_attrs="drop_conflicts")
        ds.attrs.update({f"null_{k}": null.attrs[k] for k in ("n_permutations", "q", "seed")})
    return ds
