"""The one schema of vatjax's named outputs: every metric's dims, long name and units, the
conventions recorded in attrs, and the one function that wraps kernel outputs as a
Dataset.

Example:
    >>> SCHEMA["nvat"].units, SCHEMA["coupling"].core
    ('1', 'pair')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import xarray as xr

__all__ = ["SCHEMA", "Metric", "conventions", "core_dims", "metrics_dataset"]


class Metric(NamedTuple):
    """A metric's long name, units, and core dims: '' (per cell), 'value' or 'pair'."""

    long_name: str
    units: str
    core: str = ""


SCHEMA = {
    "gain": Metric("Gain: direction x mean shift of the target", "phi"),
    "gain_raw": Metric("mean shift of the target, not oriented", "phi"),
    "gain_below_eps": Metric("|Gain| < eps: GND undefined (NaN)", ""),
    "gnd": Metric("gain-normalised deviation: mean shift / |Gain|", "1", "value"),
    "coupling": Metric("Spearman correlation of shifts across samples", "1", "pair"),
    "vat": Metric("VAT(u): L2 norm of row u of the coupling", "1", "value"),
    "nvat": Metric("nVAT: Frobenius norm of the coupling / sqrt(V)", "1"),
    "centralization": Metric("Gini coefficient of VAT(u)", "1"),
    "vat_debiased": Metric(
        "VAT(u) less sampling noise (observed-scale tax; square clipped at 0)", "1", "value"
    ),
    "nvat_debiased": Metric("nVAT less sampling noise (observed-scale tax; square clipped at 0)", "1"),
    "centralization_debiased": Metric("Gini coefficient of the debiased VAT(u)", "1"),
    "nvat_sq_debiased": Metric(
        "nVAT^2 less sampling noise, not clipped (unbiased, can be negative: average "
        "these, not nvat_debiased, across cells or studies)",
        "1",
    ),
    "n_samples": Metric("samples (scenarios) with at least one shift", "count"),
}


def core_dims(name: str, level: str = "value") -> tuple[str, ...]:
    """The core dims of a metric at ``level`` ('value' or 'micro_value').

    Example:
        >>> core_dims("coupling", "micro_value")
        ('micro_value', 'micro_value2')
    """
    return {"": (), "value": (level,), "pair": (level, f"{level}2")}[SCHEMA[name].core]


def metrics_dataset(
    fields: Mapping[str, np.ndarray], layout: xr.DataArray, leading: tuple[str, ...] = ()
) -> xr.Dataset:
    """Wrap kernel outputs (dims ``leading + layout.dims[:-2]`` + core) with names, coords
    and units, in the schema's order; ``layout`` is the shifts with core dims last."""
    level = layout.dims[-1]
    cell = (*leading, *layout.dims[:-2])
    keep = [c for c, v in layout.coords.items() if set(v.dims) <= set(layout.dims[:-2])]
    return xr.Dataset(
        {
            name: (
                (*cell, *core_dims(name, level)),
                np.asarray(fields[name]),
                {"long_name": m.long_name, "units": m.units},
            )
            for name, m in SCHEMA.items()
            if name in fields
        },
        coords={
            **{c: layout.coords[c] for c in keep},
            level: layout[level].values,
            f"{level}2": layout[level].values,
        },
    )


def conventions(attrs: Mapping, level: str, *, include_diagonal: bool, eps: float) -> dict:
    """The attrs that record which conventions produced a result (``attrs``: the shifts').

    Example:
        >>> conventions({}, "value", include_diagonal=False, eps=1e-3)["include_diagonal"]
        0
    """
    return {
        "level": level,
        "include_diagonal": int(include_diagonal),
        "eps": float(eps),
        "gain_convention": "Gain = direction * mean shift of the target; gain_raw unoriented",
        "gnd_convention": "GND(w) = mean shift(w) / |Gain|; GND(target) = sign(Gain); "
        "NaN where |Gain| < eps",
        "coupling_convention": "Spearman, average ranks for ties, NaN dropped pairwise",
        "gini_convention": "sum_ij |x_i - x_j| / (2 n^2 mean x)",
        **{k: attrs[k] for k in ("taxonomy", "scale_min", "scale_max") if k in attrs},
    }
