"""A study simulator with known truth, shaped like the paper's test split by default.

The default study: 4 models; a baseline plus 4 targets (Security reinforced; Power,
Hedonism, Stimulation suppressed) x 3 strategies; 9,002 samples; one judgment per sample
and micro-value (56 per sample), each with its polarity drawn per sample, as when an
action expresses some values and violates others: 26 million ratings. The generative
model is in :mod:`vatjax.data.sim_model`: latent shifts Delta[s, :] ~ MVN(mu, tau^2
Omega) with mu on the target (direction x effect x responsiveness) spilling onto the other
values along the circumplex (mu[w] = spill x cos(angle_t - angle_w) of it) and
Omega = (1 - rho) I + rho C, C[u, w] = cos(angle_u - angle_w): neighbouring values co-move,
opposite ones move against each other. The truth (:mod:`vatjax.data.sim_truth`) holds the
latent, the noise-free and the observed-scale coupling.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=3)
    >>> study.table.shape[0], float(study.truth["nvat_noise_free"].max()) > 0
    (2184, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.data.sim_model import LAYOUTS, Design, latent, linear_predictor, ordered_logistic
from vatjax.data.sim_truth import monte_carlo_truth, truth_dataset
from vatjax.errors import VatInputError, option, plain
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["LAYOUTS", "SimulatedStudy", "simulate_study"]

DEFAULT_TARGETS = (("Security", 1), ("Power", -1), ("Hedonism", -1), ("Stimulation", -1))
DEFAULT_STRATEGIES = ("prompt-2shot", "prompt-4shot", "prompt-8shot")


class SimulatedStudy(NamedTuple):
    """A simulated study: the long table of ratings and its ground truth."""

    table: pd.DataFrame
    truth: xr.Dataset


def _circumplex(angles: np.ndarray) -> np.ndarray:
    return np.cos(angles[:, None] - angles[None, :])


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


def _omega(rho: float, focus: np.ndarray, circ: np.ndarray) -> np.ndarray:
    """rho a_u a_w C[u, w] off the diagonal, 1 on it, a = 1 + focus: a correlation matrix
    (positive definite while rho a_u^2 < 1) whose coupling is stronger where a is larger."""
    a = 1 + focus
    if np.any(rho * a**2 >= 1):
        raise VatInputError(f"coupling {rho} with focus {focus.max():g} is not a correlation")
    return rho * a[:, None] * a[None, :] * circ + np.diag(1 - rho * a**2)


def _items(layout: str, n_micro: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Micro-value of each judgment slot of a sample, and its fixed polarity (or None)."""
    if layout == "both-polarities":
        return np.tile(np.arange(n_micro), 2), np.repeat(np.int8([1, -1]), n_micro)
    return np.arange(n_micro), None


def _draw_design(rng, interventions, couplings, effects, sizes, sd, taxonomy, layout):
    """Draw the item effects, cutpoints, profiles and shift means (the study's truth)."""
    n_models, n_categories, spill, polarity_rate, focus = sizes
    profile_sd, item_sd, shift_sd, responsiveness = sd
    values = np.array(taxonomy.values)
    n_values = len(values)
    circ = _circumplex(np.asarray(taxonomy.angles))
    micro = np.array(list(taxonomy.micro_values))
    micro_v = np.array([list(values).index(taxonomy.micro_values[u]) for u in micro])
    base_cuts = np.linspace(-2.4, 2.4, n_categories - 1)
    beta = rng.normal(0, item_sd, len(micro))
    omega = np.stack([_omega(couplings[j], focus * circ[list(values).index(tv)], circ)
                      for _, _, tv, _, j in interventions])  # fmt: skip
    mu = np.zeros((n_models, len(interventions), n_values))
    responsive = rng.uniform(*responsiveness, (n_models, n_values))
    cuts = np.sort(base_cuts + rng.normal(0, 0.2, (n_models, n_categories - 1)), axis=-1)
    profile = rng.normal(0, profile_sd, (n_models, n_values))
    for i, (_, _, tv, d, j) in enumerate(interventions):
        t = list(values).index(tv)
        pattern = np.where(np.arange(n_values) == t, 1.0, spill * circ[t])
        mu[:, i] = d * effects[j] * responsive[:, t, None] * pattern
    item_u, item_sigma = _items(layout, len(micro))
    models = [f"model-{i + 1}" for i in range(n_models)]
    return Design(values, micro, micro_v, item_u, item_sigma, interventions, models, beta,
                  omega, mu, cuts, profile, shift_sd, polarity_rate)  # fmt: skip


def _draw_ratings(rng, d: Design, n_scenarios: int, lo: int, missing_rate: float):
    """Ratings (model, condition, scenario, item) on the lo.. scale as float64 (NaN where
    missing) and the polarities (scenario, item)."""
    theta, delta, sigma = latent(rng, d, n_scenarios)
    n_conds = 1 + len(d.interventions)
    ratings = np.empty((len(d.models), n_conds, n_scenarios, len(d.item_u)))
    for m in range(len(d.models)):
        eta = linear_predictor(d, theta[m], delta[m], sigma)
        ratings[m] = ordered_logistic(rng, eta, d.cuts[m])
    if lo != 1:
        ratings += lo - 1
    if missing_rate > 0:
        ratings[rng.random(ratings.shape) < missing_rate] = np.nan
    return ratings, sigma


def _categorical(codes: np.ndarray, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(categories))


def _long_table(d: Design, ratings: np.ndarray, sigma: np.ndarray) -> pd.DataFrame:
    """The long table, one row per (model, condition, scenario, item) rating, its text
    columns categorical (codes, not 26 million Python strings)."""
    n_models, n_conds, n_scen, _ = ratings.shape
    cond_names = ["pre"] + [c[0] for c in d.interventions]
    meta = [("baseline", "", 0)] + [(s, t, dr) for _, s, t, dr, _ in d.interventions]
    shape = ratings.shape
    m_i = np.broadcast_to(np.arange(n_models, dtype=np.int32)[:, None, None, None], shape)
    c_i = np.broadcast_to(np.arange(n_conds, dtype=np.int32)[None, :, None, None], shape)
    s_i = np.broadcast_to(np.arange(n_scen, dtype=np.int32)[None, None, :, None], shape)
    u_i = np.broadcast_to(d.item_u.astype(np.int16), shape)
    pol = np.broadcast_to(sigma, shape)
    width = max(4, len(str(n_scen - 1)))
    scen_names = [f"s{i:0{width}d}" for i in range(n_scen)]
    strategies, c_strategy = np.unique([m[0] for m in meta], return_inverse=True)
    targets, c_target = np.unique([m[1] for m in meta], return_inverse=True)
    c_i = c_i.reshape(-1)
    u_i = u_i.reshape(-1)
    return pd.DataFrame(
        {
            "model": _categorical(m_i.reshape(-1), d.models),
            "condition": _categorical(c_i, cond_names),
            "scenario": _categorical(s_i.reshape(-1), scen_names),
            "micro_value": _categorical(u_i, d.micro),
            "value": _categorical(d.micro_v[u_i], d.values),
            "polarity": _categorical(
                (pol.reshape(-1) < 0).astype(np.int8), ["express", "suppress"]
            ),
            "rating": ratings.reshape(-1),
            "strategy": _categorical(c_strategy[c_i], strategies),
            "target": _categorical(c_target[c_i], targets),
            "direction": np.array([m[2] for m in meta], np.int8)[c_i],
        }
    )


def _check_per_strategy(strategies, **given) -> None:
    """Numbers given per strategy: one for each, or one for all."""
    for name, value in given.items():
        if np.ndim(value) and np.size(value) not in (1, len(strategies)):
            raise VatInputError(
                f"{name} gives {np.size(value)} numbers for {len(strategies)} strategies "
                f"{list(strategies)}: give one per strategy, or one for all"
            )


def _check_arguments(seed, n_models, n_scenarios, scale, missing_rate, layout) -> None:
    """Raise :class:`~vatjax.VatInputError` for a bad size, seed, scale, rate or layout."""
    lo, hi = scale
    if hi - lo < 2:
        raise VatInputError(f"{option('scale', scale)} needs at least 3 points")
    if n_scenarios < 3 or n_models < 1:
        raise VatInputError(
            f"simulate at least 1 model and 3 scenarios ({option('n_models', bare=True)} >= 1, "
            f"{option('n_scenarios', bare=True)} >= 3), got {plain(n_models)} and "
            f"{plain(n_scenarios)}"
        )
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise VatInputError(
            f"{option('seed', bare=True)} must be a whole number >= 0, got {plain(seed)}"
        )
    if not 0 <= missing_rate < 1:
        raise VatInputError(
            f"{option('missing_rate', bare=True)} is the fraction of ratings left missing: it "
            f"must lie in [0, 1) (a rate of 1 or more leaves no rating), got {plain(missing_rate)}"
        )
    if layout not in LAYOUTS:
        raise VatInputError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")


def simulate_study(
    *,
    seed: int,
    n_models: int = 4,
    n_scenarios: int = 9002,
    targets: Sequence[tuple[str, int]] = DEFAULT_TARGETS,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    effects: Sequence[float] = (1.0, 2.0, 3.0),
    coupling: float | Sequence[float] = (0.07, 0.085, 0.1),
    spill: float = 0.3,
    shift_sd: float = 2.0,
    profile_sd: float = 0.5,
    item_sd: float = 0.3,
    responsiveness: tuple[float, float] = (-0.3, 1.3),
    focus: float = 0.35,
    scale: tuple[int, int] = (1, 5),
    missing_rate: float = 0.0,
    layout: str = "one-per-micro-value",
    polarity_rate: float = 0.5,
    taxonomy: Taxonomy = SCHWARTZ,
    n_truth_draws: int = 10_000,
) -> SimulatedStudy:
    """Simulate a whole study: the long table of ratings plus its ground truth.

    The defaults are calibrated so that the default study reads like the paper's Table 2
    (observed Spearman nVAT about 0.09-0.15, centralization 0.07-0.15, gains from about
    -0.1 to 0.8) with a noise-free nVAT of 0.13-0.20. The paper's std(nVAT) of 0.01-0.02
    under 80% subsampling is out of reach with 9,002 independent samples (about 0.003).

    Args:
        seed: the one seed everything derives from.
        n_models, n_scenarios: sizes (samples per model and condition).
        targets: (value, direction) pairs, +1 reinforce, -1 suppress.
        strategies: strategy labels; each target is crossed with each strategy.
        effects: on-target latent shift (logit scale) per strategy.
        coupling: rho per strategy (or one for all): strength of the circumplex coupling.
        spill: off-target mean shift as a fraction of the effect, along the circumplex.
        shift_sd: sd of the latent per-sample shifts (tau).
        responsiveness: (low, high) of each model's response to each target, a uniform
            factor on the effect; below zero the intervention backfires.
        focus: how much stronger the coupling is near the target: a_u = 1 + focus x
            cos(angle_t - angle_u) scales row and column u of the coupling.
        layout: "one-per-micro-value" (one judgment per sample and micro-value, its
            polarity +1 with probability ``polarity_rate``, drawn per sample) or
            "both-polarities" (every micro-value judged expressed and suppressed).
        missing_rate: fraction of ratings left missing (NaN) at random.
        n_truth_draws: fresh samples behind the Monte Carlo truth (noise-free, observed).

    Returns:
        ``SimulatedStudy(table, truth)``. The table's text columns are categorical. The
        truth (:mod:`vatjax.data.sim_truth`) has the latent coupling (intervention,
        value, value2) and its Spearman form (6/pi) asin(rho/2); the noise-free coupling
        (model, intervention, value, value2) on both scales and the observed-scale
        Spearman coupling (no missing ratings), each with vat/nvat/centralization
        (diagonal excluded); and the gain (model, intervention) on the phi scale.

    Example:
        >>> study = simulate_study(seed=1, n_models=1, n_scenarios=3, missing_rate=0.5)
        >>> bool(study.table["rating"].isna().any()), study.truth.sizes["intervention"]
        (True, 12)
    """
    lo, hi = scale
    _check_arguments(seed, n_models, n_scenarios, scale, missing_rate, layout)
    _check_per_strategy(strategies, coupling=coupling, effects=effects)
    couplings = np.broadcast_to(np.asarray(coupling, float), (len(strategies),))
    effects_arr = np.broadcast_to(np.asarray(effects, float), (len(strategies),))
    if np.any((couplings < 0) | (couplings > 1)):
        raise VatInputError(f"coupling must lie in [0, 1] (got {couplings.tolist()})")
    rng = np.random.default_rng(seed)
    interventions = _interventions(targets, strategies, taxonomy)
    sizes = (n_models, hi - lo + 1, spill, polarity_rate, focus)
    sd = (profile_sd, item_sd, shift_sd, responsiveness)
    d = _draw_design(rng, interventions, couplings, effects_arr, sizes, sd, taxonomy, layout)
    table = _long_table(d, *_draw_ratings(rng, d, n_scenarios, lo, missing_rate))
    mc = monte_carlo_truth(rng, d, n_truth_draws)
    return SimulatedStudy(table, truth_dataset(d, mc, seed, taxonomy, n_truth_draws))
