"""``compare_presets``: fit several presets to the same judgments and compare them by
PSIS-LOO (the unit left out: one value cell of one scenario under one intervention)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from vatjax.bayes._fit import fit
from vatjax.bayes.diagnostics import compare
from vatjax.bayes.presets import Preset, load_preset
from vatjax.errors import VatInputError

__all__ = ["compare_presets"]


def compare_presets(
    judgments: xr.Dataset,
    presets: Sequence[str | Preset] = ("ordinal-lkj", "ordinal-circular"),
    **fit_kwargs,
) -> tuple[pd.DataFrame, dict[str, xr.DataTree]]:
    """Fit each preset with the same settings and compare them by PSIS-LOO.

    The first preset is the reference: each row's ``elpd_diff`` is that preset's ELPD
    minus the reference's (positive: it predicts held-out value cells better), ``dse`` the
    standard error of that difference, unrounded. The default pair asks whether Omega
    follows the circumplex (``ordinal-circular``) rather than being free (``ordinal-lkj``):
    a circular coupling that fits as well as the free one has a higher ELPD (fewer
    parameters to pay for), a coupling off the circle a lower one.

    Args:
        judgments: from :func:`vatjax.load_judgments`.
        presets: two or more preset names or paths, all of one likelihood (ordinal ones).
        **fit_kwargs: passed to every :func:`vatjax.fit` (chains, draws, seed,
            interventions, ...).

    Returns:
        The comparison table (``arviz_stats.compare``: elpd, se, elpd_diff, dse, weight,
        ..., one row per preset) and the fits by preset name.

    Example:
        >>> import vatjax
        >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=40,
        ...     targets=[("Power", -1)], strategies=["prompt"], effects=1.0, coupling=0.5,
        ...     focus=0.0)
        >>> table, fits = compare_presets(vatjax.load_judgments(study.table),
        ...     chains=2, draws=200, warmup=200, progress=False)  # doctest: +SKIP
        >>> table.loc["ordinal-circular", ["elpd_diff", "dse"]]  # doctest: +SKIP
    """
    loaded = [load_preset(p) for p in presets]
    names = [p.name for p in loaded]
    if len(loaded) < 2 or len(set(names)) < len(names):
        raise VatInputError(
            f"presets must name two or more different presets, got {names}; "
            "e.g. presets=('ordinal-lkj', 'ordinal-circular')"
        )
    kinds = {p.name: p.likelihood for p in loaded}
    if len(set(kinds.values())) > 1:  # refused before any fit, not after them
        raise VatInputError(
            f"these presets model different data ({kinds}): LOO compares predictive "
            "densities of the same observations, so compare ordinal presets with ordinal ones"
        )
    fits = {p.name: fit(judgments, p, **fit_kwargs) for p in loaded}
    table = compare(fits, reference=names[0], round_to="none")
    return table.loc[names], fits
