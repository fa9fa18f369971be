"""The mvn-marginal model: its sufficient-statistics likelihood against per-sample
densities and against the latent-state model integrated by another route, the data it
reads from Judgments, the default preset by study size, and a reduced recovery check."""

import warnings

import jax.numpy as jnp
import numpy as np
from scipy.stats import multivariate_normal as mvn

import vatjax
from vatjax.bayes import load_preset
from vatjax.bayes._fit import _settings
from vatjax.bayes._fit_marginal import fit_marginal, preset_for, prior_vat
from vatjax.bayes.marginal import PatternStats, marginal_log_lik, pattern_stats
from vatjax.bayes.marginal_data import from_shifts, prepare_marginal
from vatjax.bayes.marginal_sim import simulate_shifts
from vatjax.core.metrics import vat_from_coupling


def _case(seed=1, n=40, v=4, missing=0.15):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(2, 3, n, v))
    noise = np.where(rng.random((2, 3, n, 1)) < 0.5, 0.1, 0.3) * np.ones(v)
    d[rng.random(d.shape) < missing] = np.nan
    a = rng.normal(size=(2, 3, v, v))
    cov = a @ np.swapaxes(a, -1, -2) / v + 0.1 * np.eye(v)
    return d, noise, rng.normal(size=(2, 3, v)), cov


def _log_lik(d, noise, gamma, cov):
    stats = PatternStats(*map(jnp.asarray, pattern_stats(d, noise)))
    out = marginal_log_lik(jnp.asarray(gamma, jnp.float32), jnp.asarray(cov, jnp.float32), stats)
    return np.asarray(out, np.float64).sum(-1)  # float32: agreement to about 1e-5


def test_sufficient_statistics_equal_the_per_sample_densities():
    d, noise, gamma, cov = _case()
    stats = pattern_stats(d, noise)
    assert stats.count.shape[-1] > 2  # several noise x missingness patterns
    ref = np.zeros((2, 3))
    for m, i, s in np.ndindex(*d.shape[:3]):
        o = ~np.isnan(d[m, i, s])
        if o.any():
            c = cov[m, i][np.ix_(o, o)] + np.diag(noise[m, i, s, o])
            ref[m, i] += mvn.logpdf(d[m, i, s, o], gamma[m, i, o], c)
    np.testing.assert_allclose(_log_lik(d, noise, gamma, cov), ref, rtol=2e-5)


def test_equals_the_latent_state_model_integrated_by_bayes_rule():
    """p(d) = p(d | Delta) p(Delta) / p(Delta | d) at any Delta (the Gaussian posterior of
    the latent noise-free shift): the explicit latent model integrated another way."""
    d, noise, gamma, cov = _case(seed=2, n=12, missing=0.2)
    ref = np.zeros((2, 3))
    for m, i, s in np.ndindex(*d.shape[:3]):
        o = ~np.isnan(d[m, i, s])
        if not o.any():
            continue
        prec = np.linalg.inv(cov[m, i]) + np.diag(np.where(o, 1 / noise[m, i, s], 0))
        rhs = np.linalg.solve(cov[m, i], gamma[m, i])
        rhs += np.where(o, np.nan_to_num(d[m, i, s]) / noise[m, i, s], 0)
        post_mean = np.linalg.solve(prec, rhs)
        at = post_mean + 0.3  # any point works
        like = mvn.logpdf(d[m, i, s, o], at[o], np.diag(noise[m, i, s, o]))
        prior = mvn.logpdf(at, gamma[m, i], cov[m, i])
        ref[m, i] += like + prior - mvn.logpdf(at, post_mean, np.linalg.inv(prec))
    np.testing.assert_allclose(_log_lik(d, noise, gamma, cov), ref, rtol=2e-5)


def test_patterns_are_counted_not_samples():
    sim = simulate_shifts(0, n_models=1, n_interventions=2, n_samples=500, n_patterns=3)
    stats = pattern_stats(sim.d, sim.noise)
    assert stats.count.shape == (1, 2, 3) and stats.count.sum() == 1000


def test_judgments_give_the_shifts_and_a_rating_noise():
    study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=30, missing_rate=0.05)
    j = vatjax.load_judgments(study.table)
    data = prepare_marginal(j)
    shifts = vatjax.shifts(j).values
    mean = np.nanmean(shifts, axis=2)
    stats = data.stats
    pooled = (stats.count[..., None] * stats.mean).sum(2) / np.maximum(
        (stats.count[..., None] * stats.observed).sum(2), 1
    )
    np.testing.assert_allclose(pooled, mean, atol=1e-9)
    assert np.all((data.rating_var > 0.01) & (data.rating_var < 1))
    assert data.n_samples.min() == 30


def test_default_preset_by_study_size():
    small = vatjax.load_judgments(vatjax.simulate_study(seed=0, n_models=1, n_scenarios=3).table)
    sel = {"models": None, "interventions": None, "scenarios": None}
    assert preset_for(small, None, sel).name == "ordinal-lkj"
    assert preset_for(small, "mvn-marginal", sel).name == "mvn-marginal"
    big = small.isel(item=np.zeros(20_000, int))  # 13 conditions x 20,000 items
    assert preset_for(big, None, sel).name == "mvn-marginal"


def test_the_prior_makes_little_tax():
    prior = prior_vat(load_preset("mvn-marginal"), 10, 4000)
    assert float(prior["nvat"].median()) < 0.15  # LKJ(2) alone: 0.83


def _recovery(n_int, n_samples, draws, seed):
    sim = simulate_shifts(seed, n_models=1, n_interventions=n_int, n_samples=n_samples)
    preset = load_preset("mvn-marginal")
    s = _settings(preset, chains=2, draws=draws, warmup=draws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = fit_marginal(from_shifts(sim.d, sim.noise), preset, s, progress=False)
    post = tree["vat"]["nvat"]
    lo, hi = post.quantile([0.05, 0.95], ("chain", "draw")).values
    truth = sim.truth["nvat"]
    point = np.array([[vat_from_coupling(jnp.asarray(np.corrcoef(
        np.argsort(np.argsort(sim.d[0, i], 0), 0).T)))[1] for i in range(n_int)]])  # fmt: skip
    mean = post.mean(("chain", "draw")).values
    closer = np.abs(mean - truth) < np.abs(point - truth)
    return np.mean((lo <= truth) & (truth <= hi)), np.mean(closer), tree


def test_recovery_reduced():
    covered, closer, tree = _recovery(n_int=2, n_samples=3000, draws=250, seed=0)
    assert covered >= 0.5 and closer == 1.0
    assert {"posterior", "vat", "prior", "observed_data", "diagnostics"} <= set(tree.children)


def test_fit_two_chains_gives_the_vat_draws():
    """Two chains through ``vatjax.fit`` (sequential once JAX has started, parallel on host
    devices otherwise) finish quickly on a small study: every sample is its own noise
    pattern there, so the cost is per sample, and the sizes stay small."""
    study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=4, missing_rate=0.02)
    j = vatjax.load_judgments(study.table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = vatjax.fit(j, model="mvn-marginal", chains=2, draws=20, warmup=20, progress=False)
    nvat = tree["vat"]["nvat"]
    assert nvat.sizes["chain"] == 2 and nvat.sizes["draw"] == 20
    assert np.isfinite(nvat.values).all()
    assert tree.attrs["preset"] == "mvn-marginal" and tree.attrs["chains"] == 2
