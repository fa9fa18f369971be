"""A study simulator with known truth, shaped like the paper's test split by default.

Generative model (the same one the Bayesian preset fits): per model a latent value
profile per scenario, theta[s, v] ~ N(profile[v], 1); per intervention a latent shift per
scenario, Delta[s, :] ~ MVN(mu, tau^2 Omega), with mu on the target (direction x effect)
and spilling onto the other values along the circumplex (mu[w] = direction x effect x
spill x cos(angle_t - angle_w)), and Omega = (1 - rho) I + rho C with
C[u, w] = cos(angle_u - angle_w): neighbouring values co-move, opposite ones move against
each other. Ratings are ordered-logistic: r ~ OrderedLogistic(sigma * theta + beta[u],
cutpoints[model]) before and sigma * (theta + Delta) + beta[u] after.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=3)
    >>> study.table.shape[0], float(study.truth["nvat"].max()) > 0
    (4368, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.core.metrics import vat_from_coupling
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["SimulatedStudy", "simulate_study"]

DEFAULT_TARGETS = (("Security", 1), ("Power", -1), ("Hedonism", -1), ("Stimulation", -1))
DEFAULT_STRATEGIES = ("prompt-2shot", "prompt-4shot", "prompt-8shot")


class SimulatedStudy(NamedTuple):
    """A simulated study: the long table of ratings and its ground truth."""

    table: pd.DataFrame
    truth: xr.Dataset


def _circumplex(angles: np.ndarray) -> np.ndarray:
    return np.cos(angles[:, None] - angles[None, :])


def _expected_phi(eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """E[phi(r)] under OrderedLogistic(eta, cuts) for a 1..K scale."""
    k = len(cuts) + 1
    cdf = 1 / (1 + np.exp(-(cuts - eta[..., None])))  # P(r <= j), j = 1..K-1
    probs = np.diff(
        np.concatenate([np.zeros_like(eta)[..., None], cdf, np.ones_like(eta)[..., None]], -1),
        axis=-1,
    )
    mid = (1 + k) / 2
    phi = (np.arange(1, k + 1) - mid) / (mid - 1)
    return probs @ phi


def _ordered_logistic(rng, eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Ratings 1..K: count the cutpoints below the latent eta + logistic noise."""
    latent = eta + rng.logistic(size=eta.shape)
    return 1 + np.sum(latent[..., None] > cuts, axis=-1)


def simulate_study(
    *,
    seed: int,
    n_models: int = 4,
    n_scenarios: int = 80,
    targets: Sequence[tuple[str, int]] = DEFAULT_TARGETS,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    effects: Sequence[float] = (0.6, 0.9, 1.2),
    coupling: float | Sequence[float] = (0.05, 0.075, 0.1),
    spill: float = 0.3,
    shift_sd: float = 0.5,
    profile_sd: float = 0.5,
    item_sd: float = 0.3,
    scale: tuple[int, int] = (1, 5),
    missing_rate: float = 0.0,
    taxonomy: Taxonomy = SCHWARTZ,
    n_truth_draws: int = 4000,
) -> SimulatedStudy:
    """Simulate a whole study: the long table of ratings plus its ground truth.

    Args:
        seed: the one seed everything derives from.
        n_models, n_scenarios: sizes; every scenario has every micro-value in both polarities.
        targets: (value, direction) pairs, +1 reinforce, -1 suppress.
        strategies: strategy labels; each target is crossed with each strategy.
        effects: on-target latent shift (logit scale) per strategy.
        coupling: rho per strategy (or one for all): strength of the circumplex coupling.
        spill: off-target mean shift as a fraction of the effect, along the circumplex.
        shift_sd: sd of the latent per-scenario shifts (tau).
        missing_rate: fraction of ratings left missing (NaN) at random.
        n_truth_draws: fresh scenarios used to compute the phi-scale truth of the gain.

    Returns:
        ``SimulatedStudy(table, truth)``; truth has shift_mean (model, intervention, value),
        coupling (intervention, value, value2) on the latent (Pearson) scale,
        coupling_spearman = (6/pi) asin(rho/2), vat/nvat/centralization of both (diagonal
        excluded), and gain (model, intervention) on the phi scale.
    """
    lo, hi = scale
    if hi - lo < 2:
        raise VatInputError(f"scale {scale} needs at least 3 points")
    if n_scenarios < 3 or n_models < 1:
        raise VatInputError("simulate at least 1 model and 3 scenarios")
    couplings = np.broadcast_to(np.asarray(coupling, float), (len(strategies),))
    effects_arr = np.broadcast_to(np.asarray(effects, float), (len(strategies),))
    if np.any((couplings < 0) | (couplings > 1)):
        raise VatInputError(f"coupling must lie in [0, 1] (got {couplings.tolist()})")
    rng = np.random.default_rng(seed)
    values = np.array(taxonomy.values)
    n_values = len(values)
    angles = np.asarray(taxonomy.angles)
    circ = _circumplex(angles)
    micro = np.array(list(taxonomy.micro_values))
    micro_v = np.array([list(values).index(taxonomy.micro_values[u]) for u in micro])
    n_items = 2 * len(micro)
    item_u = np.tile(np.arange(len(micro)), 2)
    item_sigma = np.repeat([1, -1], len(micro))
    k = hi - lo + 1
    base_cuts = np.linspace(-2.4, 2.4, k - 1)

    interventions = []
    for (target, direction), in_strategies in [(t, strategies) for t in targets]:
        tv = taxonomy.canonical(target)
        if tv not in taxonomy.values:
            raise VatInputError(f"target {target!r} is not a value{taxonomy.suggest(target)}")
        for j, strategy in enumerate(in_strategies):
            interventions.append((f"{strategy}:{tv}", strategy, tv, int(direction), j))
    n_int = len(interventions)

    beta = rng.normal(0, item_sd, len(micro))
    omega = np.stack(
        [(1 - couplings[j]) * np.eye(n_values) + couplings[j] * circ for *_, j in interventions]
    )
    mu = np.zeros((n_models, n_int, n_values))
    models = [f"model-{i + 1}" for i in range(n_models)]
    susceptibility = rng.uniform(0.7, 1.3, n_models)
    cuts = np.sort(base_cuts + rng.normal(0, 0.2, (n_models, k - 1)), axis=-1)
    profile = rng.normal(0, profile_sd, (n_models, n_values))
    for i, (_, _, tv, d, j) in enumerate(interventions):
        t = list(values).index(tv)
        pattern = np.where(np.arange(n_values) == t, 1.0, spill * circ[t])
        mu[:, i] = d * effects_arr[j] * susceptibility[:, None] * pattern

    def draw_latent(n):
        theta = profile[:, None, :] + rng.normal(size=(n_models, n, n_values))
        chol = np.linalg.cholesky(omega + 1e-9 * np.eye(n_values))
        z = rng.normal(size=(n_models, n_int, n, n_values))
        delta = mu[:, :, None, :] + shift_sd * np.einsum("nvw,mnsw->mnsv", chol, z)
        return theta, delta

    theta, delta = draw_latent(n_scenarios)
    item_v = micro_v[item_u]
    eta_pre = item_sigma * theta[:, :, item_v] + beta[item_u]  # (model, scenario, item)
    eta_post = item_sigma * (theta[:, None] + delta)[..., item_v] + beta[item_u]
    eta = np.concatenate([eta_pre[:, None], eta_post], axis=1)  # (model, condition, s, item)
    ratings = np.stack([_ordered_logistic(rng, eta[m], cuts[m]) for m in range(n_models)]).astype(
        float
    ) + (lo - 1)
    if missing_rate > 0:
        ratings[rng.random(ratings.shape) < missing_rate] = np.nan

    cond_names = ["pre"] + [c[0] for c in interventions]
    meta = [("baseline", "", 0)] + [(s, t, d) for _, s, t, d, _ in interventions]
    grid = np.stack(
        np.meshgrid(
            np.arange(n_models),
            np.arange(n_int + 1),
            np.arange(n_scenarios),
            np.arange(n_items),
            indexing="ij",
        ),
        -1,
    ).reshape(-1, 4)
    m_i, c_i, s_i, it = grid.T
    table = pd.DataFrame(
        {
            "model": np.array(models)[m_i],
            "condition": np.array(cond_names)[c_i],
            "scenario": np.char.add("s", np.char.zfill(s_i.astype(str), 4)),
            "micro_value": micro[item_u[it]],
            "value": values[micro_v[item_u[it]]],
            "polarity": np.where(item_sigma[it] > 0, "express", "suppress"),
            "rating": ratings.reshape(-1),
            "strategy": np.array([m[0] for m in meta])[c_i],
            "target": np.array([m[1] for m in meta])[c_i],
            "direction": np.array([m[2] for m in meta])[c_i],
        }
    )

    # phi-scale truth of the gain: expected ratings over fresh scenarios
    theta_t, delta_t = draw_latent(n_truth_draws)
    gain = np.zeros((n_models, n_int))
    for i, (_, _, tv, d, _) in enumerate(interventions):
        sel = item_v == list(values).index(tv)
        pre = item_sigma[sel] * theta_t[:, :, item_v[sel]] + beta[item_u[sel]]
        post = item_sigma[sel] * (theta_t + delta_t[:, i])[:, :, item_v[sel]] + beta[item_u[sel]]
        for m in range(n_models):
            e_pre = item_sigma[sel] * _expected_phi(pre[m], cuts[m])
            e_post = item_sigma[sel] * _expected_phi(post[m], cuts[m])
            gain[m, i] = d * np.mean(e_post - e_pre)

    spearman = 6 / np.pi * np.arcsin(omega / 2)
    vat_p, nvat_p, gini_p = (np.asarray(a) for a in vat_from_coupling(omega))
    vat_s, nvat_s, gini_s = (np.asarray(a) for a in vat_from_coupling(spearman))
    iv = ("intervention",)
    truth = xr.Dataset(
        {
            "shift_mean": (("model", *iv, "value"), mu, {"units": "logit (latent)"}),
            "shift_sd": ((), shift_sd, {"units": "logit (latent)"}),
            "coupling": ((*iv, "value", "value2"), omega),
            "coupling_spearman": ((*iv, "value", "value2"), spearman),
            "vat": ((*iv, "value"), vat_p),
            "nvat": (iv, nvat_p),
            "centralization": (iv, gini_p),
            "vat_spearman": ((*iv, "value"), vat_s),
            "nvat_spearman": (iv, nvat_s),
            "centralization_spearman": (iv, gini_s),
            "gain": (("model", *iv), gain, {"units": "phi", "long_name": "oriented gain"}),
            "cutpoints": (("model", "cutpoint"), cuts),
            "item_effect": (("micro_value",), beta),
        },
        coords={
            "model": models,
            "intervention": [c[0] for c in interventions],
            "strategy": (iv, [c[1] for c in interventions]),
            "target": (iv, [c[2] for c in interventions]),
            "direction": (iv, [c[3] for c in interventions]),
            "value": list(values),
            "value2": list(values),
            "micro_value": list(micro),
        },
        attrs={"seed": seed, "include_diagonal": 0, "taxonomy": taxonomy.to_json()},
    )
    return SimulatedStudy(table, truth)
