"""``vatjax.fit``: sample a preset's model (NUTS or SVI) and export an ArviZ DataTree."""

from __future__ import annotations

import time
from collections.abc import Sequence

import jax
import numpy as np
import numpyro
import xarray as xr
from arviz_base import from_numpyro
from arviz_base.io_numpyro import infer_dims
from numpyro.infer import SVI, Trace_ELBO, init_to_uniform
from numpyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoNormal

from vatjax.bayes._fit_marginal import fit_data, preset_for
from vatjax.bayes.circular import value_angles
from vatjax.bayes.data import prepare
from vatjax.bayes.diagnostics import check
from vatjax.bayes.model import (
    DETERMINISTIC_SITES,
    EVENT_DIMS,
    PER_SCENARIO_SITES,
    build_model,
    model_arrays,
)
from vatjax.bayes.posterior import draw_quantities, observed, predictive
from vatjax.bayes.presets import Preset
from vatjax.bayes.sampling import (
    Draws,
    numpyro_promotion,
    run_nuts,
    tree_attrs_common,
    use_host_devices,
)
from vatjax.errors import VatInputError

__all__ = ["demo_subset", "fit", "use_host_devices"]


def _settings(preset: Preset, **given) -> dict:
    s = {**preset.sampler, **{k: v for k, v in given.items() if v is not None}}
    problems = []
    if s["method"] not in ("nuts", "svi"):
        problems.append(f"method must be 'nuts' or 'svi', got {s['method']!r}")
    for key, low in (("chains", 1), ("draws", 1), ("warmup", 0)):
        if not isinstance(s[key], int | np.integer) or s[key] < low:
            problems.append(f"{key} must be a whole number >= {low}, got {s[key]!r}")
    if problems:
        raise VatInputError("bad sampler settings", problems)
    return s


class _FlatPlates(numpyro.primitives.Messenger):
    """Hide the plates of latent sites from autoguides. The models put each plate at the
    dim its site needs (``model`` is dim -2 in one site, -4 in another), which NUTS allows
    but autoguides reject; the guides flatten every latent anyway, and the shapes the
    plates gave the sites stay."""

    def process_message(self, msg):
        if msg["type"] == "sample" and not msg.get("is_observed"):
            msg["cond_indep_stack"] = []


def _run_svi(model, d, s, preset, key, progress):
    cfg = preset.svi
    model = _FlatPlates(model)
    if cfg["guide"] == "lowrank":
        guide = AutoLowRankMultivariateNormal(
            model, rank=cfg["rank"], init_loc_fn=init_to_uniform(radius=1.0)
        )
    else:
        guide = AutoNormal(model, init_loc_fn=init_to_uniform(radius=1.0))
    svi = SVI(model, guide, numpyro.optim.Adam(cfg["learning_rate"]), Trace_ELBO())
    k_fit, k_draw = jax.random.split(key)
    draws = s["chains"] * s["draws"]
    with numpyro_promotion():
        result = svi.run(k_fit, cfg["steps"], d, progress_bar=progress)
        flat = guide.sample_posterior(k_draw, result.params, d, sample_shape=(draws,))
    samples = {k: v.reshape(s["chains"], s["draws"], *v.shape[1:]) for k, v in flat.items()}
    # deterministic sites are not in the guide's draws: replay the model for them
    sites = [n for n in DETERMINISTIC_SITES if n not in flat]
    replay = numpyro.infer.Predictive(model, posterior_samples=flat, return_sites=sites)
    with numpyro_promotion():
        replayed = replay(k_draw, d, observe=False)
    for name, value in replayed.items():
        samples[name] = value.reshape(s["chains"], s["draws"], *value.shape[1:])
    return samples, {}, None, np.asarray(result.losses)


def demo_subset(judgments: xr.Dataset) -> dict[str, list[str]]:
    """The selection of the default demo fit: the first model and, for each target and
    direction, its last intervention (in the default study, the 8-shot prompts).

    ``vatjax.fit(judgments, **demo_subset(judgments))`` with the preset's sampler settings
    is the demo-sized fit (1 model x 4 interventions x 80 scenarios of the default study).

    Example:
        >>> import vatjax
        >>> j = vatjax.load_judgments(vatjax.simulate_study(seed=0, n_scenarios=3).table)
        >>> demo_subset(j)["interventions"]
        ['prompt-8shot:Security', 'prompt-8shot:Power', 'prompt-8shot:Hedonism', 'prompt-8shot:Stimulation']
    """
    baseline = judgments.attrs.get("baseline", "pre")
    last: dict[tuple[str, int], str] = {}
    for cond, target, direction in zip(
        judgments["condition"].values,
        judgments["target"].values,
        judgments["direction"].values,
        strict=True,
    ):
        if cond != baseline:
            last[(str(target), int(direction))] = str(cond)
    return {"models": [str(judgments["model"].values[0])], "interventions": list(last.values())}


def _log_likelihood(loglik: np.ndarray, data, preset: Preset, vat: xr.Dataset) -> xr.Dataset:
    """The LOO log-likelihood, one entry per observed post-intervention value cell."""
    _, count = data.score()
    m, i, s, v = np.nonzero(count[:, 1:] > 0)
    name = "rating" if preset.likelihood == "ordinal" else "score"
    return xr.Dataset(
        {
            name: (
                ("chain", "draw", "cell"),
                loglik[:, :, m, i, s, v],
                {
                    "long_name": "log-likelihood of one value cell of one scenario under one "
                    "intervention, its shift integrated out (the LOO unit)"
                },
            )
        },
        coords={
            "chain": vat["chain"].values,
            "draw": vat["draw"].values,
            "cell": np.arange(len(m)),
            "model": ("cell", np.asarray(data.models)[m]),
            "intervention": ("cell", np.asarray(data.interventions)[i]),
            "scenario": ("cell", np.asarray(data.scenarios)[s]),
            "value": ("cell", np.asarray(data.values)[v]),
        },
    )


def _model_of(judgments: xr.Dataset, preset: Preset, selection: dict) -> tuple:
    """The fit's data, whether its shift means are pooled, its NumPyro model and arrays."""
    data = prepare(judgments, **selection)
    pooled = preset.shift_mean_pooling == "hierarchical" and data.poolable
    d = model_arrays(data, preset, value_angles(judgments, data.values))
    return data, pooled, build_model(preset, data.sizes, pooled=pooled), d


def _sample(numpyro_model, d: dict, s: dict, preset: Preset, key, progress: bool) -> tuple:
    """Draws (chain, draw, ...), sampler stats, tree depth and SVI losses, all computed."""
    run = run_nuts if s["method"] == "nuts" else _run_svi
    samples, stats, depth, losses = run(numpyro_model, d, s, preset, key, progress)
    return jax.block_until_ready(samples), stats, depth, losses


def _check_predictive_draws(predictive_draws) -> None:
    if not isinstance(predictive_draws, int) or predictive_draws < 0:
        raise VatInputError(
            f"predictive_draws must be a whole number >= 0, got {predictive_draws!r}"
        )


def _posterior_tree(numpyro_model, d: dict, data, samples, stats, depth, keep_latent: bool,
                    harmonics: int):  # fmt: skip
    """The DataTree of the draws (posterior, and sample_stats for NUTS), dims from the plates."""
    kept = {k: v for k, v in samples.items() if keep_latent or k not in PER_SCENARIO_SITES}
    coords = data.coords() | {
        "slot": np.arange(data.sizes["slot"]),
        "harmonic": np.arange(1, harmonics + 1),
    }
    with numpyro_promotion():
        dims = infer_dims(numpyro_model, (d,))
    dims |= {k: [*dims.get(k, []), *v] for k, v in EVENT_DIMS.items() if k in kept}
    tree = from_numpyro(
        Draws(jax.device_get(kept), jax.device_get(stats), depth), coords=coords, dims=dims
    )
    if not stats and "sample_stats" in tree.children:  # SVI: no sampler statistics
        del tree["sample_stats"]
    return tree


def _add_vat(tree, vat: xr.Dataset, losses, preset: Preset, include_diagonal: bool, eps: float):
    """Add the posterior VAT group with its conventions, then (SVI) the loss trace."""
    tree["vat"] = vat.assign_attrs(
        include_diagonal=int(include_diagonal),
        eps=float(eps),
        coupling_scope=preset.coupling_scope,
        note="coupling is Omega, the correlation of the latent shifts; with coupling_scope "
        "'intervention' it is shared by the models, so its copies along 'model' are equal. "
        "Gain and GND use the expected ratings of the observed judgments (phi scale).",
    )
    if losses is not None:
        tree["svi"] = xr.Dataset({"loss": (("step",), losses, {"long_name": "negative ELBO"})})


def _tree_attrs(judgments, data, preset: Preset, s: dict, seed: int, pooled: bool, times):
    """The fit's attrs: the common ones, pooling, scale, taxonomy."""
    return tree_attrs_common(preset, s, seed, times) | {
        "shift_mean_pooling": "hierarchical" if pooled else "none",
        "baseline": data.baseline,
        "scale_min": data.scale[0],
        "scale_max": data.scale[1],
        "taxonomy": judgments.attrs.get("taxonomy", ""),
    }


def fit(
    judgments: xr.Dataset,
    model: str | Preset | None = None,
    *,
    chains: int | None = None,
    draws: int | None = None,
    warmup: int | None = None,
    method: str | None = None,
    seed: int = 0,
    models: Sequence[str] | None = None,
    interventions: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
    progress: bool = True,
    predictive_draws: int = 100,
    keep_latent: bool = False,
    include_diagonal: bool = False,
    eps: float = 1e-3,
) -> xr.DataTree:
    """Fit a Bayesian model of the ratings and compute the posterior VAT per draw.

    Args:
        judgments: from :func:`vatjax.load_judgments`.
        model: a preset name or ``.toml`` path; None: ``ordinal-lkj`` up to 100,000 ratings,
            ``mvn-marginal`` above.
        chains, draws, warmup, method: sampler settings ("nuts" or "svi"); None takes the
            preset's (4 chains, 1000 draws, 1000 warmup, NUTS). With SVI, ``chains x draws``
            independent draws come from the fitted guide, stored as ``chains`` chains.
        seed: the one seed of the fit.
        models, interventions, scenarios: fit a subset (names); default everything.
        progress: show a progress bar.
        predictive_draws: posterior predictive replicates stored (0: none).
        keep_latent: keep the per-scenario latent sites (large) in the posterior.
        include_diagonal, eps: the VAT conventions, as in :func:`vatjax.vat`.

    Returns:
        ``xarray.DataTree`` with groups posterior, sample_stats (NUTS), log_likelihood,
        posterior_predictive, observed_data, vat (posterior VAT per draw, dims chain,
        draw, model, intervention[, value, value2]) and diagnostics.

    Raises:
        VatInputError: bad input (no baseline, < 3 scenarios, constant ratings, ...),
            before any sampling.

    Example:
        >>> import vatjax
        >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=8,
        ...     targets=[("Power", -1)], strategies=["prompt"], effects=1.0, coupling=0.5)
        >>> tree = vatjax.fit(vatjax.load_judgments(study.table), method="svi", draws=50,
        ...     chains=1, progress=False)  # doctest: +SKIP
        >>> tree["vat"]["nvat"].dims  # doctest: +SKIP
        ('chain', 'draw', 'model', 'intervention')
    """
    selection = {"models": models, "interventions": interventions, "scenarios": scenarios}
    preset = preset_for(judgments, model, selection)
    s = _settings(preset, chains=chains, draws=draws, warmup=warmup, method=method)
    _check_predictive_draws(predictive_draws)
    if preset.likelihood == "mvn-marginal":
        return fit_data(judgments, preset, s, selection, seed, progress, include_diagonal, eps)
    data, pooled, numpyro_model, d = _model_of(judgments, preset, selection)
    key_fit, key_pred = jax.random.split(jax.random.key(seed))
    start = time.perf_counter()
    samples, stats, depth, losses = _sample(numpyro_model, d, s, preset, key_fit, progress)
    sampling_time = time.perf_counter() - start
    vat, loglik = draw_quantities(samples, d, data, preset, include_diagonal=include_diagonal,
                                  eps=eps)  # fmt: skip
    vat_time = time.perf_counter() - start - sampling_time
    tree = _posterior_tree(numpyro_model, d, data, samples, stats, depth, keep_latent,
                           preset.harmonics)  # fmt: skip
    tree["log_likelihood"] = _log_likelihood(loglik, data, preset, vat)
    tree["observed_data"] = observed(data)
    if predictive_draws:
        tree["posterior_predictive"] = predictive(
            key_pred, samples, d, data, preset, predictive_draws
        )
    export_time = time.perf_counter() - start - sampling_time - vat_time
    _add_vat(tree, vat, losses, preset, include_diagonal, eps)
    times = (sampling_time, vat_time, export_time)
    tree.attrs = _tree_attrs(judgments, data, preset, s, seed, pooled, times)
    tree["diagnostics"] = check(tree, warn=True)
    return tree
