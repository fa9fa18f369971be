"""Convergence diagnostics, the posterior VAT summary, and PSIS-LOO model comparison.

Every fit carries a ``diagnostics`` group: R-hat, bulk and tail ESS of every posterior VAT
quantity and of the key parameters, along a ``diagnostic`` dim, with the divergence count
and the verdict in its attrs. A fit that misses R-hat <= 1.01, ESS >= 400 or has any
divergence raises a :class:`ConvergenceWarning` that names what failed.

Example:
    >>> import numpy as np, xarray as xr
    >>> from vatjax.bayes.diagnostics import check
    >>> rng = np.random.default_rng(0)
    >>> vat = xr.Dataset({"nvat": (("chain", "draw"), rng.normal(size=(4, 500)))})
    >>> check(xr.DataTree.from_dict({"vat": vat}), warn=False).attrs["ok"]
    1
"""

from __future__ import annotations

import warnings

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from vatjax.bayes import load_lazy_numpyro
from vatjax.errors import VatInputError, option

load_lazy_numpyro()  # arviz_stats, just imported, registers numpyro lazily

__all__ = ["ConvergenceWarning", "check", "compare", "loo", "summary"]

RHAT_MAX = 1.01
ESS_MIN = 400
# posterior parameters checked with the VAT quantities (where the model has them)
KEY_PARAMETERS = ("shift_mean", "shift_sd", "coupling", "coupling_strength", "cutpoints",
                  "item_sd", "rating_sd")  # fmt: skip


class ConvergenceWarning(UserWarning):
    """The sampler did not converge well enough to trust the posterior VAT."""


def convergence_stats(ds: xr.Dataset, kind: str) -> xr.Dataset:
    """R-hat (``kind="rhat"``) or ESS (``"ess_bulk"``, ``"ess_tail"``) of every entry of ``ds``.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset({"x": (("chain", "draw"), np.random.default_rng(0).normal(size=(2, 100)))})
        >>> float(convergence_stats(ds, "ess_bulk")["x"]) > 50
        True
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # constant entries give NaN
        if kind == "rhat":
            return arviz_stats.rhat(ds)
        return arviz_stats.ess(ds, method=kind.removeprefix("ess_"))


def constant_entries(ds: xr.Dataset) -> xr.Dataset:
    """True where an entry of ``ds`` is the same in every draw (no R-hat or ESS there).

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset({"x": (("chain", "draw"), np.ones((2, 5)))})
        >>> bool(constant_entries(ds)["x"])
        True
    """
    return (ds.max(("chain", "draw")) - ds.min(("chain", "draw"))) == 0


def _criteria(stats: xr.Dataset, kinds: list[str]) -> tuple[list[str], dict[str, float]]:
    """The failed R-hat / ESS criteria (each naming its quantities) and the worst values."""
    problems = []
    extremes = {}
    for kind, worst, bad in (
        ("rhat", "max", lambda x: x > RHAT_MAX),
        ("ess_bulk", "min", lambda x: x < ESS_MIN),
        ("ess_tail", "min", lambda x: x < ESS_MIN),
    ):
        if kind not in kinds:
            continue
        failed = []
        values = []
        for name in stats.data_vars:
            arr = stats[name].sel(diagnostic=kind).values
            arr = arr[~np.isnan(arr)]
            if arr.size:
                values.append(getattr(np, worst)(arr))
                if np.any(bad(arr)):
                    failed.append(f"{name} ({getattr(np, worst)(arr):.3g})")
        extremes[f"{worst}_{kind}"] = float(getattr(np, worst)(values)) if values else np.nan
        if failed:
            limit = f"> {RHAT_MAX}" if kind == "rhat" else f"< {ESS_MIN}"
            problems.append(f"{kind} {limit} in {', '.join(failed)}")
    return problems, extremes


def check(tree: xr.DataTree, *, warn: bool = True) -> xr.Dataset:
    """R-hat, bulk and tail ESS of the posterior VAT and key parameters; the verdict.

    Entries constant across draws (the unit diagonal of Omega, GND at the target) have
    no R-hat or ESS and are left out of the verdict.

    Args:
        tree: a fit from :func:`vatjax.fit`.
        warn: raise a :class:`ConvergenceWarning` naming every failed criterion.

    Returns:
        Dataset with a leading ``diagnostic`` dim (rhat, ess_bulk, ess_tail); attrs ``ok``,
        ``divergences``, ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``problems``.
    """
    parts = []
    if "vat" in tree.children:
        parts.append(tree["vat"].to_dataset())
    if "posterior" in tree.children:
        post = tree["posterior"].to_dataset()
        parts.append(post[[v for v in KEY_PARAMETERS if v in post and v not in parts[0]]])
    ds = xr.merge(parts, compat="override", join="outer") if len(parts) > 1 else parts[0]
    ds = ds.drop_vars([c for c in ds.coords if c not in ds.dims])
    n_chains = ds.sizes["chain"]
    constant = constant_entries(ds)
    kinds = ["rhat", "ess_bulk", "ess_tail"] if n_chains > 1 else ["ess_bulk", "ess_tail"]
    # rank-normalised R-hat and ESS do not change under a strictly increasing map, and the
    # Spearman-scale coupling is one of the Pearson coupling, (6/pi) asin(r/2): computed once
    twins = (
        {"coupling_spearman": "coupling"} if {"coupling", "coupling_spearman"} <= set(ds) else {}
    )
    stats = xr.concat(
        [convergence_stats(ds.drop_vars(list(twins)), k) for k in kinds],
        dim="diagnostic",
        join="outer",
    ).assign_coords(diagnostic=kinds)
    stats = stats.assign({twin: stats[of] for twin, of in twins.items()}).where(~constant)
    method = str(tree.attrs.get("method", "nuts"))
    divergences = 0
    if "sample_stats" in tree.children and "diverging" in tree["sample_stats"]:
        divergences = int(tree["sample_stats"]["diverging"].sum())
    problems, extremes = _criteria(stats, kinds)
    if divergences:
        problems.append(f"{divergences} divergent transition(s)")
    if method == "svi":  # independent draws from the guide: R-hat and ESS only show noise
        problems = []
        note = "SVI draws come from an approximation: R-hat and ESS do not measure its error"
    else:
        note = ""
    if n_chains == 1 and method != "svi":
        problems.append("one chain: R-hat needs at least 2")
    stats.attrs = {
        "ok": int(not problems),
        "divergences": divergences,
        **extremes,
        "problems": "; ".join(problems),
        "criteria": f"R-hat <= {RHAT_MAX}, bulk and tail ESS >= {ESS_MIN}, no divergence",
        "note": note,
    }
    if warn and problems:
        warnings.warn(
            "the posterior is not trustworthy yet: "
            + "; ".join(problems)
            + f". Run longer ({option('draws', bare=True)}, {option('warmup', bare=True)}), "
            f"more chains ({option('chains', bare=True)}), or a simpler model or subset.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return stats


def diagnostics_table(tree: xr.DataTree) -> pd.DataFrame:
    """One row per checked quantity: worst R-hat, lowest bulk and tail ESS.

    Example:
        >>> import numpy as np, xarray as xr
        >>> vat = xr.Dataset({"nvat": (("chain", "draw"), np.ones((2, 50)))})
        >>> t = xr.DataTree.from_dict({"vat": vat})
        >>> t["diagnostics"] = check(t, warn=False)
        >>> list(diagnostics_table(t).columns)
        ['quantity', 'rhat_max', 'ess_bulk_min', 'ess_tail_min']
    """
    stats = tree["diagnostics"].to_dataset()
    rows = []
    for name in stats.data_vars:
        row = {"quantity": name}
        for kind, worst in (("rhat", np.nanmax), ("ess_bulk", np.nanmin), ("ess_tail", np.nanmin)):
            key = f"{kind}_{'max' if kind == 'rhat' else 'min'}"
            if kind in stats["diagnostic"].values:
                arr = stats[name].sel(diagnostic=kind).values
                row[key] = float(worst(arr)) if np.any(~np.isnan(arr)) else np.nan
            else:
                row[key] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["quantity", "rhat_max", "ess_bulk_min", "ess_tail_min"])


def summary(
    tree: xr.DataTree, var_names: list[str] | None = None, *, ci_prob: float = 0.9
) -> pd.DataFrame:
    """``arviz_stats.summary`` of the posterior VAT: mean, sd, equal-tailed interval,
    ESS, R-hat and MCSE per quantity (default: Gain, nVAT, centralization on both scales).

    Example:
        >>> import numpy as np, xarray as xr
        >>> vat = xr.Dataset({"nvat": (("chain", "draw"), np.ones((2, 50)))})
        >>> list(summary(xr.DataTree.from_dict({"vat": vat})).index)
        ['nvat']
    """
    from vatjax.bayes.posterior import SCALAR_VAT

    if "vat" not in tree.children:
        raise VatInputError("this DataTree has no 'vat' group: make it with vatjax.fit")
    names = var_names or [v for v in SCALAR_VAT if v in tree["vat"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return arviz_stats.summary(
            tree, var_names=names, group="vat", ci_prob=ci_prob, ci_kind="eti"
        )


def loo(tree: xr.DataTree, **kwargs):
    """PSIS-LOO of a fit (``arviz_stats.loo``); the unit left out is one value cell of one
    scenario under one condition (all its ratings), see models/README.md."""
    _likelihood_of(tree)
    return arviz_stats.loo(tree, **kwargs)


def _likelihood_of(tree: xr.DataTree) -> str:
    if "log_likelihood" not in tree.children:
        raise VatInputError("this DataTree has no log_likelihood group: make it with vatjax.fit")
    return str(tree.attrs.get("likelihood", "?"))


def compare(fits: dict[str, xr.DataTree], **kwargs) -> pd.DataFrame:
    """PSIS-LOO comparison of fits of the same data (``arviz_stats.compare``).

    Fits must share the likelihood's data: ordinal presets (ratings) compare with each
    other; the normal preset models value scores, whose density is not comparable with
    that of ratings, so mixing them is refused.
    """
    if len(fits) < 2:
        raise VatInputError("compare needs at least two fits, as {name: fit}")
    kinds = {name: _likelihood_of(t) for name, t in fits.items()}
    if len(set(kinds.values())) > 1:
        raise VatInputError(
            f"these fits model different data ({kinds}): LOO compares predictive densities "
            "of the same observations, so compare ordinal presets with ordinal presets"
        )
    shapes = {name: dict(t["log_likelihood"].sizes) for name, t in fits.items()}
    if len({tuple(sorted(s.items())) for s in shapes.values()}) > 1:
        raise VatInputError(f"the fits saw different data (log-likelihood sizes {shapes})")
    return arviz_stats.compare(fits, **kwargs)
