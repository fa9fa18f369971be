"""Per-draw read-outs of a fit: posterior VAT, cell log-likelihood, predictive replicates.

Each posterior draw goes through the model's own :func:`~vatjax.bayes.model.derive`,
then through the same kernels as the point metrics (:func:`vatjax.core.metrics.gain_gnd`,
:func:`vatjax.core.metrics.vat_from_coupling`), so the posterior VAT is computed exactly as
``vatjax.vat`` computes the point VAT, with the latent coupling Omega in place of the
Spearman matrix of noisy shifts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from vatjax.bayes.data import BayesData
from vatjax.bayes.model import derive, expected_score, loo_log_lik, predictive_draw
from vatjax.bayes.presets import Preset
from vatjax.core.metrics import gain_gnd, vat_from_coupling

_VAT_ATTRS = {
    "gain": ("posterior Gain: direction x mean expected shift of the target", "phi"),
    "gain_raw": ("posterior mean expected shift of the target, not oriented", "phi"),
    "gnd": ("posterior GND: mean expected shift / |Gain|", "1"),
    "coupling": ("Omega: correlation of the latent per-scenario shifts across values", "1"),
    "vat": ("VAT(u) of Omega: L2 norm of row u", "1"),
    "nvat": ("nVAT of Omega: Frobenius norm / sqrt(V)", "1"),
    "centralization": ("Gini coefficient of VAT(u) of Omega", "1"),
    "coupling_spearman": ("Omega on the Spearman scale: (6/pi) asin(Omega/2)", "1"),
    "vat_spearman": ("VAT(u) on the Spearman scale", "1"),
    "nvat_spearman": ("nVAT on the Spearman scale", "1"),
    "centralization_spearman": ("Gini coefficient of VAT(u) on the Spearman scale", "1"),
}
_CELL = ("model", "intervention")
_VAT_DIMS = {
    "gnd": (*_CELL, "value"),
    "vat": (*_CELL, "value"),
    "vat_spearman": (*_CELL, "value"),
    "coupling": (*_CELL, "value", "value2"),
    "coupling_spearman": (*_CELL, "value", "value2"),
}
# the scalar quantities (per model x intervention) printed and checked first
SCALAR_VAT = ("gain", "nvat", "centralization", "nvat_spearman", "centralization_spearman")


def batched(fn, samples: dict, n_cells: int):
    """Apply ``fn`` to every draw of ``samples`` (leading dims chain, draw) in batches."""
    lead = next(iter(samples.values())).shape[:2]
    flat = {k: jnp.reshape(v, (-1, *v.shape[2:])) for k, v in samples.items()}
    batch = int(max(1, min(64, 2e7 // max(n_cells, 1))))
    out = jax.lax.map(fn, flat, batch_size=batch)
    return jax.tree.map(lambda a: np.asarray(a).reshape(*lead, *a.shape[1:]), out)


def draw_quantities(
    samples: dict,
    d: dict,
    data: BayesData,
    preset: Preset,
    *,
    include_diagonal: bool = False,
    eps: float = 1e-3,
) -> tuple[xr.Dataset, np.ndarray]:
    """Posterior VAT Dataset (chain, draw, model, intervention, ...) and the LOO
    log-likelihood per (chain, draw, model, intervention, scenario, value) cell."""
    sizes = data.sizes
    target_mask = jnp.asarray(np.arange(sizes["value"])[None, :] == data.target_index[:, None])
    direction = jnp.asarray(data.direction)

    @jax.jit
    def per_draw(raw):
        derived = derive(raw, d, preset, sizes)
        score = expected_score(derived, d, preset)
        delta = score[:, 1:] - score[:, :1]
        out = vat_quantities(
            delta, derived["coupling"], target_mask, direction, include_diagonal, eps
        )
        return out, loo_log_lik(derived, d, preset)

    n_cells = int(np.prod(data.rating.shape if preset.likelihood == "ordinal" else data.mask.shape))
    vat, loglik = batched(per_draw, samples, n_cells)
    chains, draws = loglik.shape[:2]
    return vat_dataset(vat, data, chains, draws), loglik


def vat_quantities(delta, omega, target_mask, direction, include_diagonal: bool, eps: float):
    """The posterior VAT of one draw: Gain and GND of the expected shifts ``delta``
    (model, intervention, scenario, value), VAT of Omega on both scales."""
    weights = jnp.ones(delta.shape[-2], delta.dtype)
    gain, gain_raw, _, gnd = gain_gnd(delta, weights, target_mask, direction, eps)
    rho_s = 6 / jnp.pi * jnp.arcsin(omega / 2)
    vat, nvat, gini = vat_from_coupling(omega, include_diagonal=include_diagonal)
    vat_s, nvat_s, gini_s = vat_from_coupling(rho_s, include_diagonal=include_diagonal)
    return {
        "gain": gain, "gain_raw": gain_raw, "gnd": gnd,
        "coupling": omega, "vat": vat, "nvat": nvat, "centralization": gini,
        "coupling_spearman": rho_s, "vat_spearman": vat_s, "nvat_spearman": nvat_s,
        "centralization_spearman": gini_s,
    }  # fmt: skip


def vat_dataset(vat: dict, data, chains: int, draws: int) -> xr.Dataset:
    """The ``vat`` group: the per-draw quantities (chain, draw, model, intervention, ...)
    with the labels of ``data`` (models, interventions, strategy, target, direction,
    values)."""
    coords = {
        "chain": np.arange(chains),
        "draw": np.arange(draws),
        "model": data.models,
        "intervention": data.interventions,
        "strategy": ("intervention", data.strategy),
        "target": ("intervention", data.target),
        "direction": ("intervention", np.asarray(data.direction).astype(np.int8)),
        "value": data.values,
        "value2": data.values,
    }
    return xr.Dataset(
        {
            name: (
                ("chain", "draw", *_VAT_DIMS.get(name, _CELL)),
                vat[name],
                {"long_name": _VAT_ATTRS[name][0], "units": _VAT_ATTRS[name][1]},
            )
            for name in _VAT_ATTRS
        },
        coords=coords,
    )


def predictive(
    key, samples: dict, d: dict, data: BayesData, preset: Preset, n_draws: int
) -> xr.Dataset:
    """Posterior predictive replicates on about ``n_draws`` draws spread over the chains."""
    chains, draws = next(iter(samples.values())).shape[:2]
    per_chain = min(draws, max(1, -(-n_draws // chains)))
    pick = np.unique(np.linspace(0, draws - 1, per_chain).round().astype(int))
    thinned = {k: v[:, pick] for k, v in samples.items()}
    sizes = data.sizes

    def one(raw_and_key):
        raw, k = raw_and_key
        return predictive_draw(k, derive(raw, d, preset, sizes), d, preset)

    lead = (chains, len(pick))
    flat = {k: jnp.reshape(v, (-1, *v.shape[2:])) for k, v in thinned.items()}
    keys = jax.random.split(key, chains * len(pick))
    out = jax.lax.map(jax.jit(one), (flat, keys), batch_size=4)
    out = {k: np.asarray(v).reshape(*lead, *v.shape[1:]) for k, v in out.items()}
    coords = {
        "chain": np.arange(chains),
        "draw": pick,
        "model": data.models,
        "condition": data.conditions,
        "scenario": data.scenarios,
        "value": data.values,
    }
    variables = {
        "score": (
            ("chain", "draw", "model", "condition", "scenario", "value"),
            out["score"],
            {"long_name": "replicated value score E", "units": "phi"},
        )
    }
    if "rating" in out:
        cats = out["rating"][..., data.item_scenario, data.item_slot]
        seen = ~np.isnan(data.items["rating"].values)
        rating = np.where(seen, cats + data.scale[0], np.nan).astype(np.float32)
        variables["rating"] = (
            ("chain", "draw", "model", "condition", "item"),
            rating,
            {"long_name": "replicated Likert rating"},
        )
        coords |= _item_coords(data)
    return xr.Dataset(variables, coords=coords)


def _item_coords(data: BayesData) -> dict:
    """Per-item coords; scenario and value are dims here, so theirs go as item_*."""
    items = data.items
    return {
        "item": items["item"].values,
        "item_scenario": ("item", items["scenario"].values.astype(str)),
        "item_value": ("item", items["value"].values.astype(str)),
        "micro_value": ("item", items["micro_value"].values.astype(str)),
        "polarity": ("item", items["polarity"].values),
        "repeat": ("item", items["repeat"].values),
    }


def observed(data: BayesData) -> xr.Dataset:
    """The observed data: ratings (model, condition, item) and value scores."""
    score, count = data.score()
    items = data.items
    cell = ("model", "condition", "scenario", "value")
    return xr.Dataset(
        {
            "rating": (
                ("model", "condition", "item"),
                items["rating"].values.astype(np.float32),
                {"long_name": "Likert rating"},
            ),
            "score": (cell, score, {"long_name": "value score E", "units": "phi"}),
            "n_ratings": (cell, count.astype(np.int32), {"long_name": "ratings behind E"}),
        },
        coords={
            "model": data.models,
            "condition": data.conditions,
            "scenario": data.scenarios,
            "value": data.values,
            **_item_coords(data),
        },
    )
