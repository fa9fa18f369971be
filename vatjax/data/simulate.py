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
from vatjax.data.scoring import phi_levels
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["SimulatedStudy", "simulate_study"]

DEFAULT_TARGETS = (("Security", 1), ("Power", -1), ("Hedonism", -1), ("Stimulation", -1))
DEFAULT_STRATEGIES = ("prompt-2shot", "prompt-4shot", "prompt-8shot")


class SimulatedStudy(NamedTuple):
    """A simulated study: the long table of ratings and its ground truth."""

    table: pd.DataFrame
    truth: xr.Dataset


class _Truth(NamedTuple):
    """The drawn parameters of one simulated study and its fixed design."""

    values: np.ndarray  # (value,) names
    micro: np.ndarray  # (micro_value,) names
    micro_v: np.ndarray  # (micro_value,) value index
    item_u: np.ndarray  # (item,) micro-value index: every micro-value, express then suppress
    item_sigma: np.ndarray  # (item,) polarity +1 / -1
    interventions: list  # (name, strategy, target, direction, strategy index)
    models: list[str]
    beta: np.ndarray  # (micro_value,) item effects
    omega: np.ndarray  # (intervention, value, value) coupling
    mu: np.ndarray  # (model, intervention, value) shift means
    cuts: np.ndarray  # (model, cutpoint)
    profile: np.ndarray  # (model, value)
    shift_sd: float

    @property
    def item_v(self) -> np.ndarray:
        return self.micro_v[self.item_u]


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
    return probs @ phi_levels(1, k)


def _ordered_logistic(rng, eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Ratings 1..K: count the cutpoints below the latent eta + logistic noise."""
    latent = eta + rng.logistic(size=eta.shape)
    return 1 + np.sum(latent[..., None] > cuts, axis=-1)


def _interventions(targets, strategies, taxonomy: Taxonomy) -> list[tuple]:
    """(name, strategy, target, direction, strategy index): each target x each strategy."""
    out = []
    for target, direction in targets:
        tv = taxonomy.canonical(target)
        if tv not in taxonomy.values:
            raise VatInputError(f"target {target!r} is not a value{taxonomy.suggest(target)}")
        for j, strategy in enumerate(strategies):
            out.append((f"{strategy}:{tv}", strategy, tv, int(direction), j))
    return out


def _draw_truth(rng, interventions, couplings, effects, sizes, sd, taxonomy) -> _Truth:
    """Draw the item effects, cutpoints, profiles and shift means (the study's truth)."""
    n_models, n_categories, spill = sizes
    profile_sd, item_sd, shift_sd = sd
    values = np.array(taxonomy.values)
    n_values = len(values)
    circ = _circumplex(np.asarray(taxonomy.angles))
    micro = np.array(list(taxonomy.micro_values))
    micro_v = np.array([list(values).index(taxonomy.micro_values[u]) for u in micro])
    base_cuts = np.linspace(-2.4, 2.4, n_categories - 1)
    beta = rng.normal(0, item_sd, len(micro))
    omega = np.stack(
        [(1 - couplings[j]) * np.eye(n_values) + couplings[j] * circ for *_, j in interventions]
    )
    mu = np.zeros((n_models, len(interventions), n_values))
    susceptibility = rng.uniform(0.7, 1.3, n_models)
    cuts = np.sort(base_cuts + rng.normal(0, 0.2, (n_models, n_categories - 1)), axis=-1)
    profile = rng.normal(0, profile_sd, (n_models, n_values))
    for i, (_, _, tv, d, j) in enumerate(interventions):
        t = list(values).index(tv)
        pattern = np.where(np.arange(n_values) == t, 1.0, spill * circ[t])
        mu[:, i] = d * effects[j] * susceptibility[:, None] * pattern
    item_u, item_sigma = np.tile(np.arange(len(micro)), 2), np.repeat([1, -1], len(micro))
    models = [f"model-{i + 1}" for i in range(n_models)]
    return _Truth(values, micro, micro_v, item_u, item_sigma, interventions, models, beta,
                  omega, mu, cuts, profile, shift_sd)  # fmt: skip


def _draw_latent(rng, tr: _Truth, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Latent value states theta (model, scenario, value) and shifts Delta (model,
    intervention, scenario, value) of n fresh scenarios."""
    n_models, n_int, n_values = tr.mu.shape
    theta = tr.profile[:, None, :] + rng.normal(size=(n_models, n, n_values))
    chol = np.linalg.cholesky(tr.omega + 1e-9 * np.eye(n_values))
    z = rng.normal(size=(n_models, n_int, n, n_values))
    delta = tr.mu[:, :, None, :] + tr.shift_sd * np.einsum("nvw,mnsw->mnsv", chol, z)
    return theta, delta


def _draw_ratings(rng, tr: _Truth, n_scenarios: int, lo: int, missing_rate: float):
    """Ratings (model, condition, scenario, item) on the lo.. scale, NaN where missing."""
    theta, delta = _draw_latent(rng, tr, n_scenarios)
    item_v, beta_i = tr.item_v, tr.beta[tr.item_u]
    eta_pre = tr.item_sigma * theta[:, :, item_v] + beta_i  # (model, scenario, item)
    eta_post = tr.item_sigma * (theta[:, None] + delta)[..., item_v] + beta_i
    eta = np.concatenate([eta_pre[:, None], eta_post], axis=1)  # (model, condition, s, item)
    ratings = np.stack(
        [_ordered_logistic(rng, eta[m], tr.cuts[m]) for m in range(len(tr.models))]
    ).astype(float) + (lo - 1)
    if missing_rate > 0:
        ratings[rng.random(ratings.shape) < missing_rate] = np.nan
    return ratings


def _long_table(tr: _Truth, ratings: np.ndarray) -> pd.DataFrame:
    """The long table: one row per (model, condition, scenario, item) rating."""
    n_models, n_conds, n_scenarios, n_items = ratings.shape
    cond_names = ["pre"] + [c[0] for c in tr.interventions]
    meta = [("baseline", "", 0)] + [(s, t, d) for _, s, t, d, _ in tr.interventions]
    grid = np.stack(
        np.meshgrid(
            np.arange(n_models),
            np.arange(n_conds),
            np.arange(n_scenarios),
            np.arange(n_items),
            indexing="ij",
        ),
        -1,
    ).reshape(-1, 4)
    m_i, c_i, s_i, it = grid.T
    return pd.DataFrame(
        {
            "model": np.array(tr.models)[m_i],
            "condition": np.array(cond_names)[c_i],
            "scenario": np.char.add("s", np.char.zfill(s_i.astype(str), 4)),
            "micro_value": tr.micro[tr.item_u[it]],
            "value": tr.values[tr.micro_v[tr.item_u[it]]],
            "polarity": np.where(tr.item_sigma[it] > 0, "express", "suppress"),
            "rating": ratings.reshape(-1),
            "strategy": np.array([m[0] for m in meta])[c_i],
            "target": np.array([m[1] for m in meta])[c_i],
            "direction": np.array([m[2] for m in meta])[c_i],
        }
    )


def _gain(rng, tr: _Truth, n_draws: int) -> np.ndarray:
    """phi-scale truth of the gain (model, intervention): expected ratings over fresh
    scenarios."""
    theta_t, delta_t = _draw_latent(rng, tr, n_draws)
    item_v, sigma = tr.item_v, tr.item_sigma
    gain = np.zeros(tr.mu.shape[:2])
    for i, (_, _, tv, d, _) in enumerate(tr.interventions):
        sel = item_v == list(tr.values).index(tv)
        pre = sigma[sel] * theta_t[:, :, item_v[sel]] + tr.beta[tr.item_u[sel]]
        post = sigma[sel] * (theta_t + delta_t[:, i])[:, :, item_v[sel]] + tr.beta[tr.item_u[sel]]
        for m in range(len(tr.models)):
            e_pre = sigma[sel] * _expected_phi(pre[m], tr.cuts[m])
            e_post = sigma[sel] * _expected_phi(post[m], tr.cuts[m])
            gain[m, i] = d * np.mean(e_post - e_pre)
    return gain


def _truth_dataset(tr: _Truth, gain: np.ndarray, seed: int, taxonomy: Taxonomy) -> xr.Dataset:
    """The ground truth as a Dataset (coupling and its VAT on both scales, the gain)."""
    omega = tr.omega
    spearman = 6 / np.pi * np.arcsin(omega / 2)
    vat_p, nvat_p, gini_p = (np.asarray(a) for a in vat_from_coupling(omega))
    vat_s, nvat_s, gini_s = (np.asarray(a) for a in vat_from_coupling(spearman))
    iv = ("intervention",)
    return xr.Dataset(
        {
            "shift_mean": (("model", *iv, "value"), tr.mu, {"units": "logit (latent)"}),
            "shift_sd": ((), tr.shift_sd, {"units": "logit (latent)"}),
            "coupling": ((*iv, "value", "value2"), omega),
            "coupling_spearman": ((*iv, "value", "value2"), spearman),
            "vat": ((*iv, "value"), vat_p),
            "nvat": (iv, nvat_p),
            "centralization": (iv, gini_p),
            "vat_spearman": ((*iv, "value"), vat_s),
            "nvat_spearman": (iv, nvat_s),
            "centralization_spearman": (iv, gini_s),
            "gain": (("model", *iv), gain, {"units": "phi", "long_name": "oriented gain"}),
            "cutpoints": (("model", "cutpoint"), tr.cuts),
            "item_effect": (("micro_value",), tr.beta),
        },
        coords={
            "model": tr.models,
            "intervention": [c[0] for c in tr.interventions],
            "strategy": (iv, [c[1] for c in tr.interventions]),
            "target": (iv, [c[2] for c in tr.interventions]),
            "direction": (iv, [c[3] for c in tr.interventions]),
            "value": list(tr.values),
            "value2": list(tr.values),
            "micro_value": list(tr.micro),
        },
        attrs={"seed": seed, "include_diagonal": 0, "taxonomy": taxonomy.to_json()},
    )


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

    Example:
        >>> study = simulate_study(seed=1, n_models=1, n_scenarios=3, missing_rate=0.5)
        >>> bool(study.table["rating"].isna().any()), study.truth.sizes["intervention"]
        (True, 12)
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
    interventions = _interventions(targets, strategies, taxonomy)
    sizes, sd = (n_models, hi - lo + 1, spill), (profile_sd, item_sd, shift_sd)
    tr = _draw_truth(rng, interventions, couplings, effects_arr, sizes, sd, taxonomy)
    table = _long_table(tr, _draw_ratings(rng, tr, n_scenarios, lo, missing_rate))
    return SimulatedStudy(table, _truth_dataset(tr, _gain(rng, tr, n_truth_draws), seed, taxonomy))
