"""The VAT metrics with named dims: shifts in, a Dataset out (VAT_SPEC sections 2-3).

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> res = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))
    >>> sorted(res.data_vars)[:4]
    ['centralization', 'centralization_debiased', 'coupling', 'gain']
"""

from __future__ import annotations

from functools import partial

import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from vatjax.core.debias import debiased_tax, pair_counts
from vatjax.core.metrics import vat_metrics
from vatjax.errors import VatInputError, option, plain
from vatjax.named.schema import SCHEMA, conventions, core_dims, metrics_dataset
from vatjax.named.validate import target_inputs

__all__ = ["DEBIASED", "metrics_table", "vat"]

DEBIASED = ("vat", "nvat", "centralization")
"""The metrics that have a debiased twin ``<name>_debiased``."""


def vat(shifts: xr.DataArray, *, include_diagonal: bool = False, eps: float = 1e-3) -> xr.Dataset:
    """The Value Alignment Tax metrics of every model x intervention (VAT_SPEC 2-3).

    Args:
        shifts: from :func:`vatjax.shifts` (value or micro_value level).
        include_diagonal: keep R[u, u] = 1 in VAT and nVAT (the paper's printed formula);
            the default leaves it out (the convention that matches the paper's Table 2).
        eps: |Gain| below this (phi scale) makes GND NaN and sets ``gain_below_eps``.

    Returns:
        Dataset with gain, gain_raw, gain_below_eps, n_samples, nvat, centralization
        (model, intervention), gnd and vat (+ value), coupling (+ value, value2), and the
        debiased tax ``vat_debiased``, ``nvat_debiased``, ``centralization_debiased``
        (:mod:`vatjax.core.debias`): the paper's figures are biased upward by sampling
        noise (E[nVAT^2] = (V - 1) / (n - 1) when nothing is coupled); the debiased ones
        estimate the observed-scale tax, the figure on infinitely many samples. Their
        squares are clipped at 0, so ``nvat_debiased`` still sits above a tax near 0;
        ``nvat_sq_debiased``, the unclipped square, is unbiased for nVAT^2 (pool it).

    Example:
        >>> import vatjax
        >>> study = vatjax.simulate_study(seed=1, n_models=1, n_scenarios=20)
        >>> res = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))
        >>> res["coupling"].dims
        ('model', 'intervention', 'value', 'value2')
    """
    if not eps >= 0:
        raise VatInputError(f"{option('eps', bare=True)} must be >= 0, got {plain(eps)}")
    x, mask, _, has_nan = target_inputs(shifts)
    level = x.dims[-1]
    mask = xr.DataArray(mask, dims=(*x["target"].dims, level))
    outputs = xr.apply_ufunc(
        partial(_kernel, eps=eps, include_diagonal=include_diagonal, pairwise=has_nan),
        x,
        mask,
        x["direction"],
        input_core_dims=[["scenario", level], [level], []],
        output_core_dims=[core_dims(name, level) for name in SCHEMA],
    )
    ds = metrics_dataset(dict(zip(SCHEMA, (o.values for o in outputs), strict=True)), x)
    ds.attrs = conventions(
        shifts.attrs, shifts.dims[-1], include_diagonal=include_diagonal, eps=eps
    )
    return ds


def _kernel(x, mask, direction, *, eps, include_diagonal, pairwise):
    """:func:`~vatjax.core.metrics.vat_metrics` on numpy arrays, one output per schema entry."""
    m = vat_metrics(
        jnp.asarray(x, jnp.float32),
        jnp.ones(x.shape[-2], jnp.float32),
        jnp.asarray(mask),
        jnp.asarray(direction, jnp.float32),
        eps,
        include_diagonal=include_diagonal,
        pairwise=pairwise,
    )
    d = debiased_tax(m.coupling, pair_counts(jnp.asarray(x, jnp.float32)),
                     include_diagonal=include_diagonal)  # fmt: skip
    fields = {**m._asdict(), **{f"{k}_debiased": getattr(d, k) for k in DEBIASED}}
    fields["nvat_sq_debiased"] = d.nvat_sq
    return tuple(np.asarray(fields[name]) for name in SCHEMA)


def metrics_table(result: xr.Dataset) -> pd.DataFrame:
    """One row per observed model x intervention: metadata and the scalar metrics.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
        >>> t = vatjax.metrics_table(vatjax.vat(vatjax.shifts(vatjax.load_judgments(s.table))))
        >>> list(t.columns[:4])
        ['model', 'intervention', 'strategy', 'target']
    """
    scalars = [v for v in result.data_vars if set(result[v].dims) == {"model", "intervention"}]
    df = result[scalars].to_dataframe().reset_index()
    meta = ["model", "intervention", "strategy", "target", "direction"]
    df = df[[*meta, *[c for c in df.columns if c not in meta]]]
    df = df[df["n_samples"] > 0].reset_index(drop=True)
    return df.astype({"n_samples": int}) if "n_samples" in df else df
