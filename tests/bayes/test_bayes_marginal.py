"""The mvn-marginal model: its sufficient-statistics likelihood against per-sample
densities and against the latent-state model integrated by another route, the data it
reads from Judgments, the default preset by study size, and a reduced recovery check."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from scipy.integrate import quad
from scipy.stats import multivariate_normal as mvn
from scipy.stats import norm

import vatjax
from vatjax.bayes import load_preset
from vatjax.bayes._fit import _settings
from vatjax.bayes._fit_marginal import fit_marginal, preset_for, prior_vat
from vatjax.bayes.cellwise import sample_cells
from vatjax.bayes.likelihood import LKJCholesky
from vatjax.bayes.marginal import (
    PatternStats,
    concentration_grid,
    coupling_log_prior,
    lkj_log_normaliser,
    marginal_log_lik,
    pattern_stats,
)
from vatjax.bayes.marginal_data import prepare_marginal
from vatjax.bayes.marginal_sbc import marginal_sbc, uniformity
from vatjax.bayes.marginal_sim import simulate_shifts


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
    """LKJ(100) at V = 10: nVAT about sqrt((V - 1) / (2 eta + V - 1)) = 0.21, a quarter of
    what LKJ(2) gives (0.83), with a narrow spread."""
    nvat = prior_vat(load_preset("mvn-marginal"), 10, 4000)["nvat"]
    lo, mid, hi = np.quantile(nvat.values, [0.05, 0.5, 0.95])
    assert abs(mid - np.sqrt(9 / 209)) < 0.01 and hi < 0.26 and lo > 0.15


def test_the_mixture_prior_is_lkj_integrated_over_its_concentration():
    """coupling_log_prior on the grid against LKJ(eta) integrated over log(eta) by quad,
    and against LKJCholesky itself for a fixed eta (and the normaliser against NumPyro's)."""
    priors = {"lkj_concentration": 50.0, "lkj_concentration_log_sd": 1.0}
    eta_check = np.array([1.0, 7.0, 400.0])
    with jax.numpy_dtype_promotion("standard"):
        sampled = LKJCholesky(5, 20.0).sample(jax.random.key(3), (3,))
        ref_c = LKJCholesky(5, jnp.asarray(eta_check)).log_prob(jnp.eye(5))
        fixed = coupling_log_prior(sampled, np.array([7.0]), lkj_log_normaliser(np.array([7.0]), 5))
        np.testing.assert_allclose(fixed, LKJCholesky(5, 7.0).log_prob(sampled), rtol=1e-4)
    np.testing.assert_allclose(lkj_log_normaliser(eta_check, 5), ref_c, rtol=1e-4)  # float32
    eta, log_wc = concentration_grid(priors, 5)
    mine = np.asarray(coupling_log_prior(sampled, eta, log_wc), np.float64)
    chol = np.asarray(sampled, np.float64)
    diag = np.log(np.diagonal(chol, axis1=-2, axis2=-1))
    logdet, jac = 2 * diag.sum(-1), (np.arange(4, -1, -1) * diag).sum(-1)
    for k in range(3):

        def density(x, k=k):  # LKJ(e^x) at chol[k] times the prior of x = log(eta)
            log_p = lkj_log_normaliser(np.exp(x), 5) + (np.exp(x) - 1) * logdet[k] + jac[k]
            return np.exp(log_p - mine[k]) * norm.pdf(x, np.log(50.0), 1.0)

        ratio = quad(density, np.log(50) - 8, np.log(50) + 8, limit=400, epsabs=1e-10)[0]
        assert abs(np.log(ratio)) < 1e-3


def test_each_cell_gets_its_own_sampler():
    """Conjugate normal cells of very different scales: every cell's draws match its exact
    posterior (mean and sd within Monte Carlo error), the shapes are (chain, draw, cell)."""

    def model(d):
        m = numpyro.sample("m", dist.Normal(0.0, 10.0))
        numpyro.sample("y", dist.Normal(m, d["sd"]), obs=d["y"])

    data = {"y": jnp.array([-30.0, 0.5, 4.0]), "sd": jnp.array([1.0, 0.01, 3.0])}
    out = sample_cells(model, data, chains=2, warmup=300, draws=1000, key=jax.random.key(1))
    draws = out.samples["m"]
    assert draws.shape == (2, 1000, 3) and out.stats["diverging"].shape == (2, 1000, 3)
    prec = 1 / 100 + 1 / np.asarray(data["sd"]) ** 2
    mean, sd = np.asarray(data["y"]) / np.asarray(data["sd"]) ** 2 / prec, prec**-0.5
    assert np.all(np.abs(draws.mean((0, 1)) - mean) < 4 * sd / np.sqrt(500))  # ESS >= 500
    np.testing.assert_allclose(draws.std((0, 1)), sd, rtol=0.1)


def test_sbc_of_the_marginal_model_is_uniform():
    """Reduced SBC (the full one: benchmarks/sbc_marginal.py): 120 replicates drawn from
    the preset's prior at V = 4, fitted as the cells of one run; every rank histogram passes
    chi-square and KS at the 0.1% level (a miscalibrated interval fails it: the ranks pile
    up at the ends)."""
    ranks = marginal_sbc(replicates=120, n_samples=200, n_values=4, draws=400, thin=8, seed=5)
    table = uniformity(ranks)
    assert len(table) == 4 and (table[["chi2_p", "ks_p"]].to_numpy() > 1e-3).all(), table
    assert int(ranks["divergences"].sum()) <= 5


def _recovery(seed, n_scenarios, draws):
    """Fit a paper-shaped study's cells (1 model x 12 interventions); the 90% coverage of
    the noise-free nVAT and how often the posterior mean beats the Spearman figure."""
    study = vatjax.simulate_study(
        seed=seed, n_models=1, n_scenarios=n_scenarios, n_truth_draws=50_000
    )  # the truth's own error: small
    judgments = vatjax.load_judgments(study.table)
    point = vatjax.vat(vatjax.shifts(judgments))["nvat"].values
    preset = load_preset("mvn-marginal")
    s = _settings(preset, chains=2, draws=draws, warmup=draws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = fit_marginal(prepare_marginal(judgments), preset, s, progress=False)
    post = tree["vat"]["nvat"]
    truth = study.truth["nvat_noise_free"].sel(intervention=post["intervention"]).values
    lo, hi = post.quantile([0.05, 0.95], ("chain", "draw")).values
    mean = post.mean(("chain", "draw")).values
    closer = np.abs(mean - truth) < np.abs(point - truth)
    return np.mean((lo <= truth) & (truth <= hi)), np.mean(closer), tree


def test_recovery_reduced():
    """The reduced recovery check: one model of the paper-shaped study (12 cells x 9,002
    samples), short chains. The full one (48 cells, three seeds, 4 x 1,000 draws: 88% of
    the 90% intervals cover, every posterior mean beats the Spearman figure) is
    benchmarks/bench_marginal.py."""
    covered, closer, tree = _recovery(seed=1, n_scenarios=9002, draws=300)
    assert covered >= 10 / 12 and closer >= 11 / 12
    assert tree["diagnostics"].attrs["max_rhat"] < 1.05  # 2 x 300 draws; 4 x 1,000: <= 1.01
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
