"""Sampling helpers shared by the fits: host devices for parallel chains, NUTS with the
data as traced arguments, the draws adapter for ArviZ, the common attrs of a fit."""

from __future__ import annotations

import functools
import os
from importlib.metadata import version

import jax
import numpyro
from arviz_base.io_numpyro import MCMCAdapter, NumPyroInferenceAdapter
from numpyro.infer import MCMC, NUTS, init_to_uniform

from vatjax.bayes.presets import Preset
from vatjax.named.progress import progress_spinner

__all__ = ["use_host_devices"]


def use_host_devices(n: int) -> bool:
    """Ask XLA for ``n`` CPU devices so chains run in parallel; only possible before JAX
    starts its backend. Returns whether ``n`` devices are (or will be) available."""
    try:
        from jax._src import xla_bridge

        started = xla_bridge.backends_are_initialized()
    except (ImportError, AttributeError):  # pragma: no cover - private API moved
        started = True
    if not started and "xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        numpyro.set_host_device_count(max(n, os.cpu_count() or 1))
    return jax.local_device_count() >= n


class Draws(NumPyroInferenceAdapter):
    """Posterior draws (chain, draw, ...) for ``from_numpyro``.

    The model is left out (dims are inferred from its plates beforehand, without running
    it): ``from_numpyro`` would otherwise replay it eagerly on the whole data set.
    """

    def __init__(self, samples, stats=None, tree_depth=None):
        lead = next(iter(samples.values())).shape[:2]
        super().__init__(None, None, (), {}, sample_shape=lead)
        self._samples, self._stats, self._max_tree_depth = samples, stats or {}, tree_depth

    @property
    def sample_dims(self):
        return ["chain", "draw"]

    def get_samples(self, seed=None, **kwargs):
        return self._samples

    def get_sample_stats(self, **kwargs):
        return self._stats


def numpyro_promotion():
    """numpyro 0.22's samplers mix int and float arrays (e.g. NUTS divides a float sum by an
    int count), which strict dtype promotion rejects; run them under standard promotion."""
    return jax.numpy_dtype_promotion("standard")


def _pmap_traced_args(chain_fn):
    """numpyro ``chain_method``: chains in parallel across devices (``pmap``) with the model
    arguments passed in as broadcast inputs. numpyro's "parallel" closes over them, which
    makes the data compile-time constants: XLA then constant-folds through them, slowly
    (seconds per op on the full default study)."""
    keywords = dict(getattr(chain_fn, "keywords", None) or {})
    if not isinstance(chain_fn, functools.partial) or "args" not in keywords:
        return jax.pmap(chain_fn)  # pragma: no cover - numpyro changed its internals
    model_args = keywords.pop("args")

    def body(map_args, args):
        return chain_fn.func(map_args, args=args, **keywords)

    return lambda map_args: jax.pmap(body, in_axes=(0, None))(map_args, model_args)


def run_nuts(model, d, s, preset, key, progress):
    kernel = NUTS(
        model,
        target_accept_prob=s["target_accept"],
        max_tree_depth=s["max_tree_depth"],
        init_strategy=init_to_uniform(radius=1.0),
    )
    parallel = s["chains"] > 1 and use_host_devices(s["chains"])
    mcmc = MCMC(
        kernel,
        num_warmup=s["warmup"],
        num_samples=s["draws"],
        num_chains=s["chains"],
        chain_method=_pmap_traced_args if parallel else "sequential",
        progress_bar=progress and not parallel,  # NumPyro has no bar for parallel chains
        jit_model_args=True,
    )
    what = f"NUTS: {s['chains']} chains in parallel x {s['warmup'] + s['draws']} iterations"
    shown = progress_spinner(not (progress and parallel), what)
    fields = ("diverging", "num_steps", "energy", "potential_energy", "accept_prob",
              "adapt_state.step_size")  # fmt: skip
    with numpyro_promotion(), shown:
        mcmc.run(key, d, extra_fields=fields)
    samples = mcmc.get_samples(group_by_chain=True)
    stats = MCMCAdapter(mcmc).get_sample_stats()
    return samples, stats, s["max_tree_depth"], None


def tree_attrs_common(preset: Preset, s: dict, seed: int, times) -> dict:
    """The attrs of every fit: version, preset, sampler settings, seed, timings (s)."""
    return {
        "vatjax_version": version("vatjax"),
        "preset": preset.name,
        "preset_toml": preset.to_toml(),
        "likelihood": preset.likelihood,
        "method": s["method"],
        "chains": s["chains"],
        "draws": s["draws"],
        "warmup": s["warmup"] if s["method"] == "nuts" else 0,
        "seed": seed,
        **{f"{k}_time_s": round(t, 3) for k, t in zip(("sampling", "posterior_vat", "export"),
                                                      times, strict=True)},
    }  # fmt: skip
