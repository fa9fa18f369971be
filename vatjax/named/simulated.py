"""Simulated shifts as a named shifts DataArray: plain arrays of many studies (or cells) in,
the input of :func:`vatjax.vat`, :func:`vatjax.bootstrap` and :func:`vatjax.compare` out.

Example:
    >>> import numpy as np
    >>> sh = shifts_array(np.zeros((3, 20, 10)))
    >>> dict(sh.sizes)
    {'model': 1, 'intervention': 3, 'scenario': 20, 'value': 10}
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ

__all__ = ["shifts_array"]


def shifts_array(
    x: np.ndarray, *, target: str = "Security", direction: int = 1, model: str = "simulated"
) -> xr.DataArray:
    """Shifts (study, scenario, value) as one model's interventions ``study-0, study-1, ...``
    over the 10 Schwartz values in circumplex order, each aimed at ``target``."""
    x = np.asarray(x, np.float32)
    values = list(SCHWARTZ.values)
    if x.ndim != 3 or x.shape[-1] != len(values):
        raise VatInputError(
            f"expected shifts of shape (study, scenario, {len(values)}), got {x.shape}"
        )
    if target not in values:
        raise VatInputError(f"target {target!r} is not one of {values}")
    n_studies = x.shape[0]
    return xr.DataArray(
        x[None],
        dims=("model", "intervention", "scenario", "value"),
        coords={
            "model": [model],
            "intervention": [f"study-{i}" for i in range(n_studies)],
            "scenario": [f"s{i}" for i in range(x.shape[1])],
            "value": values,
            "strategy": ("intervention", ["simulated"] * n_studies),
            "target": ("intervention", [target] * n_studies),
            "direction": ("intervention", [int(direction)] * n_studies),
        },
    )
