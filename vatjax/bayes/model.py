"""The NumPyro models of the presets: one model function, switched by the preset.

Every site sits in plates named after its dims (model, intervention, scenario, value, ...)
so ``arviz_base.from_numpyro`` names them. The sampled sites are turned into the
quantities the likelihood needs by one pure function, :func:`derive`, which the
post-processing (posterior VAT, log-likelihood, predictive draws) calls on each draw, so
the model and its read-out cannot drift apart. Math: ``models/README.md``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax import random

from vatjax.bayes.circular import chol_of, sample_circular
from vatjax.bayes.data import BayesData
from vatjax.bayes.likelihood import (
    LKJCholesky,
    OrderedLogit,
    ordinal_bounds,
    ordinal_expected_phi,
    ordinal_log_prob_derivatives,
)
from vatjax.bayes.presets import Preset
from vatjax.data.scoring import group_mean

# latent sites with one entry per scenario: big, left out of the posterior unless asked
PER_SCENARIO_SITES = ("value_state_z", "shift_z")
# deterministic sites whose last dims are event dims the plates cannot name
EVENT_DIMS = {"coupling": ["value", "value2"], "cutpoints": ["cutpoint"]}
DETERMINISTIC_SITES = ("coupling", "cutpoints")


def model_arrays(
    data: BayesData, preset: Preset, angles: np.ndarray | None = None
) -> dict[str, jnp.ndarray]:
    """The arrays a model reads (traced, so large data are not baked into the program);
    ``angles`` (one per value, :func:`~vatjax.bayes.circular.value_angles`) are needed by
    the circular coupling only (default: equally spaced)."""
    out = {"group_index": jnp.asarray(data.group_index)}
    if preset.coupling == "circular":
        v = len(data.values)
        default = 2 * np.pi * np.arange(v) / v
        out["value_angle"] = jnp.asarray(default if angles is None else angles, jnp.float32)
    if preset.likelihood == "ordinal":
        out |= {
            "rating": jnp.asarray(data.rating),
            "mask": jnp.asarray(data.mask),
            "design": jnp.asarray(data.slot_design()),
            "slot_micro": jnp.asarray(data.slot_micro),
            "slot_sign": jnp.asarray(data.slot_sign),
            "slot_to_value": jnp.asarray(data.slot_to_value()),
            "phi": jnp.asarray(data.phi()),
        }
    else:
        score, count = data.score()
        ss, df = data.within_cell()
        out |= {
            "score": jnp.asarray(np.nan_to_num(score)),
            "count": jnp.asarray(count),
            "mask": jnp.asarray(count > 0),
            # a floor keeps the density finite where discrete ratings never vary
            "within_ss": jnp.asarray(np.maximum(ss, 1e-4 * np.maximum(df, 1))),
            "within_df": jnp.asarray(df),
        }
    return out


def _plates(sizes: dict[str, int], *names: str) -> contextlib.ExitStack:
    """Nested plates for ``names``, right-aligned (the last name is dim -1)."""
    stack = contextlib.ExitStack()
    for i, name in enumerate(names):
        stack.enter_context(numpyro.plate(name, sizes[name], dim=i - len(names)))
    return stack


def _cov_dims(preset: Preset) -> tuple[str, ...]:
    return (
        ("model", "intervention")
        if preset.coupling_scope == "model-intervention"
        else ("intervention",)
    )


def derive(raw: dict, d: dict, preset: Preset, sizes: dict[str, int]) -> dict:
    """Sampled sites -> the quantities of the likelihood (one draw, no numpyro).

    Returns ``state`` (model, scenario, value), ``shift`` (model, intervention, scenario,
    value), ``latent`` (model, condition, scenario, value), ``shift_mean``, the shift
    covariance parts ``shift_sd`` and ``chol`` (leading (1 or model, intervention)),
    ``shift_z``, ``coupling`` (model, intervention, value, value2), and the likelihood's
    own parameters (``cutpoints`` and ``item_effect``, or ``rating_sd``).
    """
    m, i, v = sizes["model"], sizes["intervention"], sizes["value"]
    state = (
        raw["value_state_mean"][:, None, :]
        + raw["value_state_sd"][:, None, :] * raw["value_state_z"]
    )
    shift_mean = raw["shift_mean"]
    lead = (m, i) if preset.coupling_scope == "model-intervention" else (1, i)
    sd = raw["shift_sd"].reshape(*lead, 1, v)
    z = raw["shift_z"]
    if preset.coupling == "lkj" and v > 1:
        chol = raw["coupling_chol"].reshape(*lead, v, v)
    elif preset.coupling == "circular" and v > 1:
        chol = chol_of(raw, d, lead, preset.harmonics)
    else:
        chol = jnp.broadcast_to(jnp.eye(v, dtype=z.dtype), (*lead, v, v))
    shift = shift_mean[:, :, None, :] + sd * jnp.einsum("...vw,...sw->...sv", chol, z)
    latent = state[:, None] + jnp.concatenate([jnp.zeros_like(shift[:, :1]), shift], axis=1)
    out = {
        "state": state,
        "shift": shift,
        "latent": latent,
        "shift_mean": shift_mean,
        "shift_sd": sd,
        "chol": chol,
        "shift_z": z,
        "coupling": jnp.broadcast_to(chol @ jnp.swapaxes(chol, -1, -2), (m, i, v, v)),
    }
    if preset.likelihood == "ordinal":
        center = raw["cutpoint_center"][:, None]
        if sizes["category"] > 2:
            steps = jnp.cumsum(jnp.exp(raw["cutpoint_log_gap"]), axis=-1)
            offsets = jnp.concatenate([jnp.zeros_like(steps[:, :1]), steps], axis=-1)
            cutpoints = center + offsets - jnp.mean(offsets, axis=-1, keepdims=True)
        else:
            cutpoints = center
        out["cutpoints"] = cutpoints
        out["item_effect"] = raw.get("item_effect", jnp.zeros(sizes["micro_value"]))
    else:
        out["rating_sd"] = raw["rating_sd"]
    return out


def linear_predictor(derived: dict, d: dict, latent: jnp.ndarray | None = None) -> jnp.ndarray:
    """eta (model, condition, scenario, slot) = polarity x latent + item effect."""
    latent = derived["latent"] if latent is None else latent
    return latent @ d["design"] + derived["item_effect"][d["slot_micro"]]


def _cut(derived: dict) -> jnp.ndarray:
    return derived["cutpoints"][:, None, None, None, :]


# Gauss-Hermite rule for E[f(x)], x ~ N(0, 1): log weights and nodes
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(5)
_GH_LOG_WEIGHTS = np.log(_GH_WEIGHTS / np.sqrt(2 * np.pi))
_NEWTON_STEPS = 5
_NEWTON_MAX_STEP = 2.0


def loo_log_lik(derived: dict, d: dict, preset: Preset) -> jnp.ndarray:
    """Log-likelihood of each post-intervention value cell (model, intervention, scenario,
    value), with the cell's own shift integrated out given the other values' shifts.

    The LOO unit is all ratings of one value of one scenario under one intervention. Its
    shift Delta[v] is integrated over its conditional law given Delta[-v] (Omega, tau):
    N(Delta[v] - (P r)[v] / P[v, v], 1 / P[v, v]) with P the precision of the shifts and
    r = Delta - mean, so leaving the cell out does not leave a latent parameter with no
    data (which would make PSIS fail). Analytic for the normal likelihood; for the ordinal
    one, adaptive Gauss-Hermite: Newton steps find the mode and curvature of the (concave)
    log integrand, and 5 nodes placed there integrate it (error < 1e-4 nats).
    """
    chol_inv = jnp.linalg.inv(derived["chol"])  # (lead, intervention, value, value)
    omega_inv_diag = jnp.sum(chol_inv**2, axis=-2)[..., None, :]  # (lead, I, 1, V)
    whitened = jnp.einsum("...wv,...sw->...sv", chol_inv, derived["shift_z"])  # L^-T z
    sd = derived["shift_sd"]
    cond_mean = derived["shift"] - whitened * sd / omega_inv_diag
    cond_var = sd**2 / omega_inv_diag
    state = derived["state"][:, None]  # (model, 1, scenario, value)
    if preset.likelihood == "normal":
        obs_var = derived["rating_sd"][:, None, None, :] ** 2 / jnp.maximum(d["count"][:, 1:], 1.0)
        ll = dist.Normal(state + cond_mean, jnp.sqrt(cond_var + obs_var)).log_prob(
            d["score"][:, 1:]
        )
        return jnp.where(d["mask"][:, 1:], ll, 0.0)

    bounds = ordinal_bounds(_cut(derived), d["rating"][:, 1:])
    mask = d["mask"][:, 1:].astype(state.dtype)
    beta = derived["item_effect"][d["slot_micro"]]

    def log_integrand(shift):
        """Cell log-likelihood + log prior of the shift, with derivatives in the shift."""
        eta = (state + shift) @ d["design"] + beta
        log_p, grad, hess = ordinal_log_prob_derivatives(eta, bounds)
        resid = shift - cond_mean
        value = (mask * log_p) @ d["slot_to_value"] - 0.5 * resid**2 / cond_var
        return (
            value - 0.5 * jnp.log(2 * jnp.pi * cond_var),
            (mask * grad) @ d["design"].T - resid / cond_var,
            (mask * hess) @ d["slot_to_value"] - 1.0 / cond_var,
        )

    def newton(shift, _):  # steps capped at 2 logits: far out the logistic tails are flat
        _, grad, hess = log_integrand(shift)
        return shift - jnp.clip(grad / hess, -_NEWTON_MAX_STEP, _NEWTON_MAX_STEP), None

    mode, _ = jax.lax.scan(newton, cond_mean, None, length=_NEWTON_STEPS)
    scale = 1.0 / jnp.sqrt(-log_integrand(mode)[2])
    nodes = jnp.asarray(_GH_NODES, state.dtype)
    per_node = jax.lax.map(lambda x: log_integrand(mode + scale * x)[0] + 0.5 * x**2, nodes)
    log_w = jnp.asarray(_GH_LOG_WEIGHTS, state.dtype).reshape(-1, 1, 1, 1, 1)
    return jax.nn.logsumexp(per_node + log_w, axis=0) + jnp.log(scale) + 0.5 * jnp.log(2 * jnp.pi)


def expected_score(derived: dict, d: dict, preset: Preset) -> jnp.ndarray:
    """Expected value score E[model, condition, scenario, value] (phi scale) over the
    observed judgments of each cell, NaN where a cell has none."""
    if preset.likelihood == "normal":
        return jnp.where(d["mask"], derived["latent"], jnp.nan)
    eta = linear_predictor(derived, d)
    return _cell_mean(ordinal_expected_phi(eta, _cut(derived), d["phi"]), d)


def _cell_mean(phi: jnp.ndarray, d: dict) -> jnp.ndarray:
    """Polarity-signed phi (model, condition, scenario, slot) -> mean per value cell."""
    return group_mean(d["slot_sign"] * phi, d["mask"], d["slot_to_value"], xp=jnp)[0]


def predictive_draw(key, derived: dict, d: dict, preset: Preset) -> dict[str, jnp.ndarray]:
    """One posterior predictive replicate: ratings (categories) and/or value scores."""
    if preset.likelihood == "ordinal":
        eta = linear_predictor(derived, d)
        cats = OrderedLogit(eta, _cut(derived)).sample(key)
        return {"rating": cats, "score": _cell_mean(d["phi"][cats], d)}
    sd = derived["rating_sd"][:, None, None, :] / jnp.sqrt(jnp.maximum(d["count"], 1.0))
    noise = random.normal(key, derived["latent"].shape, derived["latent"].dtype)
    return {"score": jnp.where(d["mask"], derived["latent"] + sd * noise, jnp.nan)}


class _Sites:
    """The sites of one run of a model: plates by dim name, and each sampled value kept by
    name for :func:`derive`."""

    def __init__(self, sizes: dict[str, int], priors: dict) -> None:
        self.sizes, self.pr, self.raw = sizes, priors, {}

    def plates(self, *names: str) -> contextlib.ExitStack:
        return _plates(self.sizes, *names)

    def sample(self, name: str, fn, **kw) -> jnp.ndarray:
        return self.raw.setdefault(name, numpyro.sample(name, fn, **kw))


def _sample_states(s: _Sites) -> None:
    """Value profile per model and its per-scenario states (non-centred)."""
    with s.plates("model", "value"):
        s.sample("value_state_mean", dist.Normal(0.0, s.pr["profile_sd"]))
        s.sample("value_state_sd", dist.HalfNormal(s.pr["scenario_sd"]))
    with s.plates("model", "scenario", "value"):
        s.sample("value_state_z", dist.Normal(0.0, 1.0))


def _sample_shift_means(s: _Sites, group_index: jnp.ndarray, pooled: bool) -> None:
    if pooled:
        # centred: each shift mean is pinned by all scenarios, so its data are strong
        with s.plates("target_group", "value"):
            group_mean = s.sample("shift_mean_group", dist.Normal(0.0, s.pr["shift_mean_sd"]))
        spread = s.sample("shift_mean_spread", dist.HalfNormal(s.pr["shift_mean_pool_sd"]))
        with s.plates("model", "intervention", "value"):
            s.sample("shift_mean", dist.Normal(group_mean[group_index], spread))
    else:
        with s.plates("model", "intervention", "value"):
            s.sample("shift_mean", dist.Normal(0.0, s.pr["shift_mean_sd"]))


def _sample_shift_covariance(s: _Sites, cov: tuple[str, ...], preset: Preset) -> None:
    """Shift sd per value and the coupling's parameters: the Cholesky factor of Omega
    (LKJ), or the circle's strength and harmonic weights (circular)."""
    with s.plates(*cov, "value"):
        s.sample("shift_sd", dist.HalfNormal(s.pr["shift_sd"]))
    if s.sizes["value"] < 2 or preset.coupling == "independent":
        return
    if preset.coupling == "circular":
        sample_circular(s, cov, preset.harmonics)
        return
    concentration = s.pr["lkj_concentration"]
    if s.pr.get("lkj_concentration_log_sd", 0.0) > 0:
        log_conc = s.sample(
            "coupling_log_concentration",
            dist.Normal(np.log(concentration), s.pr["lkj_concentration_log_sd"]),
        )
        concentration = jnp.exp(log_conc)
    with s.plates(*cov):
        s.sample(
            "coupling_chol",
            LKJCholesky(s.sizes["value"], concentration),
            infer={"event_dims": ["value", "value2"]},
        )


def _sample_ordinal_parameters(s: _Sites) -> None:
    """Cutpoints per model (centre and log gaps) and the zero-sum micro-value effects."""
    with s.plates("model"):
        s.sample("cutpoint_center", dist.Normal(0.0, s.pr["cutpoint_center_sd"]))
    if s.sizes["category"] > 2:
        with s.plates("model", "cutpoint_gap"):
            s.sample(
                "cutpoint_log_gap",
                dist.Normal(s.pr["cutpoint_log_gap_mean"], s.pr["cutpoint_log_gap_sd"]),
            )
    if s.sizes["micro_value"] > 1:
        item_sd = s.sample("item_sd", dist.HalfNormal(s.pr["item_sd"]))
        s.sample(
            "item_effect",
            dist.ZeroSumNormal(item_sd, event_shape=(s.sizes["micro_value"],)),
            infer={"event_dims": ["micro_value"]},
        )


def _sample_rating_sd(s: _Sites, d: dict) -> None:
    """Normal likelihood: the rating sd per (model, value), seen in the within-cell spread."""
    with s.plates("model", "value"):
        rating_sd = s.sample("rating_sd", dist.HalfNormal(s.pr["rating_sd"]))
        # the spread of the ratings within their cells: SS ~ sd^2 chi2(df)
        numpyro.sample(
            "within_ss",
            dist.Gamma(jnp.maximum(d["within_df"], 1.0) / 2, 0.5 / rating_sd**2).mask(
                d["within_df"] > 0
            ),
            obs=d["within_ss"],
        )


def _observe(
    s: _Sites, derived: dict, d: dict, preset: Preset, cov: tuple[str, ...], observe: bool
) -> None:
    """The deterministic sites (Omega, cutpoints) and the likelihood of the data."""
    with s.plates(*cov):
        numpyro.deterministic(
            "coupling", derived["coupling"][0] if len(cov) == 1 else derived["coupling"]
        )
    if preset.likelihood == "ordinal":
        with s.plates("model"):
            numpyro.deterministic("cutpoints", derived["cutpoints"])
        eta = linear_predictor(derived, d)
        with (
            s.plates("model", "condition", "scenario", "slot"),
            numpyro.handlers.mask(mask=d["mask"]),
        ):
            numpyro.sample(
                "rating", OrderedLogit(eta, _cut(derived)), obs=d["rating"] if observe else None
            )
    else:
        sd = derived["rating_sd"][:, None, None, :] / jnp.sqrt(jnp.maximum(d["count"], 1.0))
        with (
            s.plates("model", "condition", "scenario", "value"),
            numpyro.handlers.mask(mask=d["mask"]),
        ):
            numpyro.sample(
                "score", dist.Normal(derived["latent"], sd), obs=d["score"] if observe else None
            )


def build_model(preset: Preset, sizes: dict[str, int], *, pooled: bool | None = None) -> Callable:
    """The NumPyro model of ``preset`` for data of these ``sizes``: ``model(d, observe=True)``.

    ``pooled`` (default: the preset's ``shift_mean_pooling == "hierarchical"``) may be set
    False where no target group has two shift means to pool, since a spread of one member
    is not identified and only bends the geometry.

    Example:
        >>> from vatjax.bayes import load_preset
        >>> sizes = {"model": 1, "intervention": 1, "scenario": 3, "value": 2}
        >>> callable(build_model(load_preset("gaussian"), sizes))
        True
    """
    if pooled is None:
        pooled = preset.shift_mean_pooling == "hierarchical"
    cov = _cov_dims(preset)

    def model(d: dict, observe: bool = True) -> None:
        s = _Sites(sizes, preset.priors)
        _sample_states(s)
        _sample_shift_means(s, d["group_index"], pooled)
        _sample_shift_covariance(s, cov, preset)
        with s.plates("model", "intervention", "scenario", "value"):
            s.sample("shift_z", dist.Normal(0.0, 1.0))
        if preset.likelihood == "ordinal":
            _sample_ordinal_parameters(s)
        else:
            _sample_rating_sd(s, d)
        _observe(s, derive(s.raw, d, preset, sizes), d, preset, cov, observe)

    return model
