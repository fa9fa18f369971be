"""``vatjax.fit`` with the ``mvn-marginal`` preset: one NUTS run over every cell, the
posterior VAT per draw, the prior's nVAT beside it, an ArviZ DataTree."""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from arviz_base import from_numpyro

from vatjax.bayes.cellwise import sample_cells
from vatjax.bayes.diagnostics import check
from vatjax.bayes.marginal import coupling_of, marginal_model, prior_coupling
from vatjax.bayes.marginal_data import MarginalData, prepare_marginal
from vatjax.bayes.posterior import batched, vat_dataset, vat_quantities
from vatjax.bayes.presets import DEFAULT_PRESET, Preset, default_preset, load_preset
from vatjax.bayes.sampling import Draws, numpyro_promotion, tree_attrs_common, use_host_devices
from vatjax.core.metrics import vat_from_coupling
from vatjax.errors import VatInputError
from vatjax.named.progress import progress_bar

__all__ = ["fit_data", "fit_marginal", "preset_for", "prior_vat"]

_DIMS = {
    "shift_mean": ["model", "intervention", "value"],
    "shift_sd": ["model", "intervention", "value"],
    "coupling_chol": ["model", "intervention", "value", "value2"],
    "lkj_concentration": ["model", "intervention"],
}


def _posterior_vat(samples: dict, data: MarginalData, include_diagonal: bool, eps: float):
    n_values = len(data.values)
    target_mask = jnp.asarray(np.arange(n_values)[None, :] == data.target_index[:, None])
    direction = jnp.asarray(data.direction)

    @jax.jit
    def per_draw(raw):
        delta = raw["shift_mean"][..., None, :]  # the expected shift of every sample
        omega = coupling_of(raw["coupling_chol"])
        return vat_quantities(delta, omega, target_mask, direction, include_diagonal, eps)

    keep = {k: samples[k] for k in ("shift_mean", "coupling_chol")}
    return batched(per_draw, keep, int(np.prod(data.stats.mean.shape[:2])) * n_values**2)


def prior_vat(preset: Preset, n_values: int, n_draws: int, seed: int = 0) -> xr.Dataset:
    """Prior draws of the LKJ concentration and the nVAT it implies, both scales (the
    same for every cell: the prior does not see the data).

    Example:
        >>> from vatjax.bayes import load_preset
        >>> p = prior_vat(load_preset("mvn-marginal"), 10, 2000)
        >>> 0.15 < float(p["nvat"].median()) < 0.25
        True
    """
    eta, omega = prior_coupling(jax.random.key(seed), preset.priors, n_values, n_draws)
    _, nvat, gini = vat_from_coupling(omega)
    _, nvat_s, gini_s = vat_from_coupling(6 / jnp.pi * jnp.arcsin(omega / 2))
    dims = ("chain", "draw")
    out = {"lkj_concentration": eta, "nvat": nvat, "centralization": gini,
           "nvat_spearman": nvat_s, "centralization_spearman": gini_s}  # fmt: skip
    return xr.Dataset(
        {k: (dims, np.asarray(v)[None]) for k, v in out.items()},
        coords={"chain": [0], "draw": np.arange(n_draws)},
        attrs={"note": "prior draws of Omega ~ LKJ(eta), eta from its prior: the nVAT the "
               "prior alone gives, to set beside the posterior"},
    )  # fmt: skip


def _sample_stats(stats: dict, data: MarginalData, depth: int) -> xr.Dataset:
    """The sampler statistics per (chain, draw, model, intervention), named as ArviZ
    names NumPyro's (every cell has its own sampler)."""
    n_steps = stats["num_steps"]
    tree_depth = np.log2(np.maximum(n_steps, 1)).astype(int) + 1
    out = {"lp": -stats["potential_energy"], "n_steps": n_steps, "tree_depth": tree_depth,
           "reached_max_tree_depth": tree_depth >= depth, "diverging": stats["diverging"],
           "energy": stats["energy"], "acceptance_rate": stats["accept_prob"],
           "step_size": stats["step_size"]}  # fmt: skip
    dims = ("chain", "draw", "model", "intervention")
    return xr.Dataset(
        {k: (dims, np.asarray(v)) for k, v in out.items()},
        coords={"model": data.models, "intervention": data.interventions},
    )


def _tree(samples, stats, depth, data: MarginalData, vat: dict) -> xr.DataTree:
    kept = {k: v for k, v in samples.items() if k in _DIMS}
    coords = {"model": data.models, "intervention": data.interventions,
              "value": data.values, "value2": data.values}  # fmt: skip
    tree = from_numpyro(Draws(jax.device_get(kept)), coords=coords, dims=_DIMS)
    tree["sample_stats"] = _sample_stats(stats, data, depth)
    chains, draws = next(iter(kept.values())).shape[:2]
    tree["vat"] = vat_dataset(vat, data, chains, draws)
    return tree


def _sample(data: MarginalData, preset: Preset, s: dict, seed: int, progress: bool):
    """NUTS per cell (:func:`vatjax.bayes.cellwise.sample_cells`): draws (chain, draw,
    model, intervention, ...) of every site and the sampler statistics."""
    lead = data.stats.mean.shape[:2]
    cells = {k: v.reshape(-1, 1, 1, *v.shape[2:]) for k, v in data.arrays().items()}
    model = functools.partial(marginal_model, priors=preset.priors)

    what = f"NUTS, {s['chains']} chains x {int(np.prod(lead))} cells at once: iterations"
    bar, advance = progress_bar(not progress, s["warmup"] + s["draws"], what)
    seen = [0]

    def report(done, _total):
        advance(done - seen[0])
        seen[0] = done

    use_host_devices(s["chains"])
    with bar:
        out = sample_cells(model, cells, chains=s["chains"], warmup=s["warmup"],
                           draws=s["draws"], key=jax.random.key(seed),
                           target_accept=s["target_accept"], max_tree_depth=s["max_tree_depth"],
                           on_progress=report)  # fmt: skip
    samples = {k: v.reshape(*v.shape[:2], *lead, *v.shape[5:]) for k, v in out.samples.items()}
    stats = {k: v.reshape(*v.shape[:2], *lead) for k, v in out.stats.items()}
    return samples, stats


def fit_marginal(
    data: MarginalData,
    preset: Preset,
    s: dict,
    *,
    seed: int = 0,
    progress: bool = True,
    prior_draws: int = 4000,
    include_diagonal: bool = False,
    eps: float = 1e-3,
) -> xr.DataTree:
    """Sample the ``mvn-marginal`` model of ``data`` with NUTS; the DataTree of the fit
    (posterior, sample_stats, vat, prior, observed_data, diagnostics)."""
    if s["method"] != "nuts":
        raise VatInputError("the mvn-marginal preset samples with NUTS only (method='nuts')")
    start = time.perf_counter()
    samples, stats = _sample(data, preset, s, seed, progress)
    depth = s["max_tree_depth"]
    sampling_time = time.perf_counter() - start
    vat = _posterior_vat(samples, data, include_diagonal, eps)
    vat_time = time.perf_counter() - start - sampling_time
    with numpyro_promotion():
        tree = _tree(samples, stats, depth, data, vat)
    tree["vat"] = tree["vat"].to_dataset().assign_attrs(
        include_diagonal=int(include_diagonal), eps=float(eps), coupling_scope=preset.coupling_scope,
        tax="noise-free: Omega is the coupling of the shifts with rating noise removed",
        note="gain and GND use the shift means gamma (phi scale)",
    )  # fmt: skip
    tree["prior"] = prior_vat(preset, len(data.values), prior_draws, seed)
    tree["observed_data"] = data.observed()
    export_time = time.perf_counter() - start - sampling_time - vat_time
    tree.attrs = tree_attrs_common(preset, s, seed, (sampling_time, vat_time, export_time))
    tree.attrs |= {"n_patterns": int((data.stats.count > 0).sum(-1).max())}
    tree["diagnostics"] = check(tree, warn=True)
    return tree


def preset_for(judgments: xr.Dataset, model, selection: dict) -> Preset:
    """The named preset, or the default for the study's size (``default_preset``)."""
    if model is not None or not isinstance(judgments, xr.Dataset) or "rating" not in judgments:
        return load_preset(DEFAULT_PRESET if model is None else model)
    shape = judgments["rating"].shape
    n_models = len(selection["models"] or range(shape[0]))
    n_conditions = 1 + len(selection["interventions"] or range(shape[1] - 1))
    return load_preset(default_preset(n_models * n_conditions * shape[2]))


def fit_data(judgments, preset, s, selection, seed, progress, include_diagonal, eps):
    """Prepare the Judgments' statistics and fit them (``vatjax.fit``'s marginal path)."""
    data = prepare_marginal(judgments, **selection)
    tree = fit_marginal(data, preset, s, seed=seed, progress=progress,
                        include_diagonal=include_diagonal, eps=eps)  # fmt: skip
    tree.attrs |= {k: judgments.attrs.get(k, "") for k in ("baseline", "taxonomy")}
    return tree
