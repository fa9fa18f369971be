"""The likelihood pieces against references: numpyro's OrderedLogistic, explicit sums, and
brute-force integrals of the leave-one-cell-out log-likelihood."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpy.testing import assert_allclose
from numpyro.infer import Predictive

import vatjax
from vatjax.bayes import load_preset
from vatjax.bayes.data import prepare
from vatjax.bayes.likelihood import OrderedLogit, ordinal_expected_phi, ordinal_log_prob
from vatjax.bayes.model import build_model, derive, loo_log_lik, model_arrays

RNG = np.random.default_rng(7)
CUTS = jnp.array([-2.0, -0.5, 0.4, 1.9], jnp.float32)
PHI = jnp.array([-1.0, -0.5, 0.0, 0.5, 1.0], jnp.float32)


def test_log_prob_matches_numpyro_ordered_logistic():
    eta = jnp.asarray(RNG.normal(0, 2, 200), jnp.float32)
    value = jnp.asarray(RNG.integers(0, 5, 200), jnp.int32)
    ours = ordinal_log_prob(eta, CUTS, value)
    ref = dist.OrderedLogistic(eta, CUTS).log_prob(value)
    assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    probs = jnp.exp(ordinal_log_prob(eta[:, None], CUTS, jnp.arange(5)))
    assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_log_prob_is_finite_far_in_the_tails():
    eta = jnp.array([-40.0, 40.0], jnp.float32)
    assert np.all(np.isfinite(ordinal_log_prob(eta, CUTS, jnp.array([4, 0]))))
    grad = jax.grad(lambda e: ordinal_log_prob(e, CUTS, jnp.array([0, 4])).sum())(eta)
    assert np.all(np.isfinite(grad))


def test_expected_phi_is_the_probability_weighted_sum():
    eta = jnp.linspace(-4, 4, 9, dtype=jnp.float32)
    probs = jnp.exp(ordinal_log_prob(eta[:, None], CUTS, jnp.arange(5)))
    assert_allclose(ordinal_expected_phi(eta, CUTS, PHI), probs @ PHI, atol=1e-5)


def test_draws_follow_the_probabilities():
    n = 40_000
    eta = jnp.float32(0.7)
    draws = np.asarray(OrderedLogit(jnp.full(n, eta), CUTS).sample(jax.random.key(3)))
    p = np.exp(np.asarray(ordinal_log_prob(eta, CUTS, jnp.arange(5))))
    freq = np.bincount(draws, minlength=5) / n
    # 5 binomial standard errors per category
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n))


@functools.cache
def _one_prior_draw(preset_name, seed, n_models=1, scope="intervention"):
    study = vatjax.simulate_study(
        seed=seed, n_models=n_models, n_scenarios=4, targets=[("Power", -1), ("Security", 1)],
        strategies=["prompt"], effects=1.0, coupling=0.5,
    )  # fmt: skip
    data = prepare(vatjax.load_judgments(study.table))
    preset = dataclasses.replace(load_preset(preset_name), coupling_scope=scope)
    model = build_model(preset, data.sizes)
    d = model_arrays(data, preset)
    prior = jax.jit(lambda k: Predictive(model, num_samples=1)(k, d, observe=False))
    raw = {k: v[0] for k, v in prior(jax.random.key(seed)).items()}
    return data, preset, d, derive(raw, d, preset, data.sizes)


def _conditional(derived, i, s, v, m=0):
    """Conditional normal law of Delta[m, i, s, v] given the other values, by numpy."""
    sd = np.asarray(derived["shift_sd"])  # leading dim 1 (shared Omega) or model
    tau = sd[min(m, sd.shape[0] - 1), i, 0]
    cov = np.asarray(derived["coupling"])[m, i] * np.outer(tau, tau)
    mean = np.asarray(derived["shift_mean"])[m, i]
    delta = np.asarray(derived["shift"])[m, i, s]
    rest = np.arange(len(tau)) != v
    w = np.linalg.solve(cov[np.ix_(rest, rest)], cov[rest, v])
    return mean[v] + w @ (delta[rest] - mean[rest]), cov[v, v] - cov[v, rest] @ w


def _brute_force_cell(data, derived, m, i, s, v):
    """log of the integral of the cell's likelihood over the conditional law of its shift,
    on a fine grid."""
    c_mean, c_var = _conditional(derived, i, s, v, m)
    theta = float(derived["state"][m, s, v])
    slots = np.flatnonzero((data.slot_value == v) & data.mask[m, i + 1, s])
    grid = c_mean + np.sqrt(c_var) * np.linspace(-9, 9, 6001)
    beta = np.asarray(derived["item_effect"])[data.slot_micro[slots]]
    eta = data.slot_sign[slots] * (theta + grid[:, None]) + beta
    ll = np.asarray(
        ordinal_log_prob(
            jnp.asarray(eta, jnp.float32),
            derived["cutpoints"][m],
            jnp.asarray(data.rating[m, i + 1, s, slots]),
        ),
        np.float64,
    ).sum(-1)
    dens = np.exp(-0.5 * (grid - c_mean) ** 2 / c_var) / np.sqrt(2 * np.pi * c_var)
    return np.log(np.trapezoid(np.exp(ll) * dens, grid))


@pytest.mark.parametrize("cell", [(0, 1, 0), (1, 3, 5)])
def test_ordinal_loo_cell_matches_a_brute_force_integral(cell):
    data, preset, d, derived = _one_prior_draw("ordinal-lkj", 1)
    got = float(loo_log_lik(derived, d, preset)[(0, *cell)])
    assert got == pytest.approx(_brute_force_cell(data, derived, 0, *cell), abs=1e-3)


def test_normal_loo_cell_is_the_analytic_marginal():
    data, preset, d, derived = _one_prior_draw("gaussian", 2)
    i, s, v = 0, 2, 4
    got = float(loo_log_lik(derived, d, preset)[0, i, s, v])
    c_mean, c_var = _conditional(derived, i, s, v)
    score, count = data.score()
    obs_var = float(derived["rating_sd"][0, v]) ** 2 / count[0, i + 1, s, v]
    loc = float(derived["state"][0, s, v]) + c_mean
    ref = float(dist.Normal(loc, np.sqrt(c_var + obs_var)).log_prob(score[0, i + 1, s, v]))
    assert got == pytest.approx(ref, abs=1e-4)


def test_independent_coupling_leaves_the_shift_mean_as_conditional_mean():
    *_, derived = _one_prior_draw("ordinal-indep", 3)
    c_mean, c_var = _conditional(derived, 1, 0, 2)
    assert c_mean == pytest.approx(float(derived["shift_mean"][0, 1, 2]), abs=1e-6)
    assert c_var == pytest.approx(float(derived["shift_sd"][0, 1, 0, 2]) ** 2, rel=1e-5)


def test_a_coupling_per_model_and_intervention():
    data, preset, d, derived = _one_prior_draw("ordinal-lkj", 4, 2, "model-intervention")
    omega = np.asarray(derived["coupling"])
    assert omega.shape == (2, 2, 10, 10)
    assert not np.allclose(omega[0], omega[1])  # each model has its own Omega
    assert np.asarray(derived["shift_sd"]).shape == (2, 2, 1, 10)
    got = float(loo_log_lik(derived, d, preset)[1, 0, 3, 2])
    assert got == pytest.approx(_brute_force_cell(data, derived, 1, 0, 3, 2), abs=1e-3)
