"""The simulator: shape of the default study, its layouts, reproducibility, and its truth."""

import numpy as np
import pytest
from scipy.stats import spearmanr

import vatjax
from vatjax import SCHWARTZ, VatInputError
from vatjax.data.sim_model import expected_phi


def test_default_layout_one_rating_per_sample_and_micro_value():
    study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=400, n_truth_draws=200)
    t = study.table
    assert t.groupby(["model", "condition"]).size().eq(400 * 56).all()
    assert t.groupby(["condition", "scenario", "micro_value"]).size().eq(1).all()
    assert t["condition"].nunique() == 1 + 4 * 3
    assert set(t["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    # a sample's polarities are drawn once (Bernoulli 0.5) and kept in every condition
    assert t.groupby(["scenario", "micro_value"])["polarity"].nunique().eq(1).all()
    share = (t.loc[t["condition"] == "pre", "polarity"] == "express").mean()
    assert 0.47 < share < 0.53  # 22,400 slots: sd 0.0033
    assert study.truth["coupling"].dims == ("intervention", "value", "value2")
    assert study.truth["coupling_noise_free"].dims == ("model", "intervention", "value", "value2")


def test_both_polarities_layout_is_kept():
    t = vatjax.simulate_study(
        seed=0, n_models=1, n_scenarios=3, layout="both-polarities", n_truth_draws=200
    ).table
    assert t.groupby(["condition", "scenario", "micro_value"]).size().eq(2).all()
    assert (t.groupby(["scenario", "micro_value"])["polarity"].nunique() == 2).all()
    with pytest.raises(VatInputError, match="layout must be one of"):
        vatjax.simulate_study(seed=0, n_scenarios=3, layout="both")


def test_same_seed_same_study_other_seed_other_study():
    a = vatjax.simulate_study(seed=5, n_models=1, n_scenarios=5, n_truth_draws=200)
    b = vatjax.simulate_study(seed=5, n_models=1, n_scenarios=5, n_truth_draws=200)
    c = vatjax.simulate_study(seed=6, n_models=1, n_scenarios=5, n_truth_draws=200)
    assert a.table.equals(b.table) and a.truth.identical(b.truth)
    assert not a.table["rating"].equals(c.table["rating"])


def test_truth_coupling_is_a_circumplex_correlation_matrix():
    truth = vatjax.simulate_study(
        seed=0, n_models=1, n_scenarios=3, coupling=0.4, focus=0.0, n_truth_draws=200
    ).truth
    omega = truth["coupling"].isel(intervention=0).values
    assert np.allclose(np.diag(omega), 1) and np.all(np.linalg.eigvalsh(omega) > 0)
    sd, st, se = (SCHWARTZ.values.index(v) for v in ("Self-direction", "Stimulation", "Security"))
    assert omega[sd, st] > 0 > omega[sd, se]  # neighbours co-move, opposites oppose
    # nVAT of rho * cos(angle differences), diagonal excluded: 2 * rho for 10 equal angles
    assert float(truth["nvat"].isel(intervention=0)) == pytest.approx(0.8, abs=1e-5)
    focused = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=3, n_truth_draws=200).truth
    assert float(focused["centralization"].min()) > 0  # coupling stronger near the target


def test_expected_phi_is_the_mean_over_the_rating_distribution():
    rng = np.random.default_rng(0)
    eta, cuts = np.array([-1.0, 0.3, 2.0]), np.array([-2.0, -0.5, 0.7, 2.2])
    draws = 1 + np.sum(eta[:, None, None] + rng.logistic(size=(3, 200_000, 1)) > cuts, -1)
    np.testing.assert_allclose(expected_phi(eta, cuts), ((draws - 3) / 2).mean(1), atol=0.006)


def _brute_force_noise_free(study, model, intervention, n_rep):
    """The noise-free coupling by brute force: n_rep fresh rating draws per sample of a
    fixed latent state, averaged, then the Spearman coupling of the mean shifts."""
    from vatjax.data.sim_model import latent, linear_predictor, ordered_logistic, value_scores

    d, rng = study, np.random.default_rng(1)
    theta, delta, sigma = latent(rng, d, 3000)
    eta = linear_predictor(d, theta[model], delta[model], sigma)[[0, 1 + intervention]]
    mean = np.zeros((*eta.shape[:2], len(d.values)))
    for _ in range(n_rep):
        r = ordered_logistic(rng, eta, d.cuts[model])
        mean += value_scores(d, sigma * (r - 3) / 2) / n_rep
    return spearmanr(mean[1] - mean[0]).statistic


def test_noise_free_truth_matches_a_brute_force_monte_carlo(monkeypatch):
    from vatjax.data import sim_truth
    from vatjax.data import simulate as sim

    designs = []

    def spy(rng, d, n):
        designs.append(d)
        return sim_truth.monte_carlo_truth(rng, d, n)

    monkeypatch.setattr(sim, "monte_carlo_truth", spy)
    study = vatjax.simulate_study(seed=2, n_models=1, n_scenarios=3, coupling=0.4,
                                  strategies=("p",), effects=(2.0,), n_truth_draws=20_000)  # fmt: skip
    brute = _brute_force_noise_free(designs[0], 0, 0, n_rep=60)
    truth = study.truth.isel(model=0, intervention=0)
    off = ~np.eye(10, dtype=bool)
    got = truth["coupling_noise_free_spearman"].values[off]
    # 60 ratings per slot leave a little noise: brute force is slightly attenuated
    np.testing.assert_allclose(brute[off], got, atol=0.06)
    assert np.corrcoef(brute[off], got)[0, 1] > 0.95
    assert float(truth["nvat_observed"]) < 0.8 * float(truth["nvat_noise_free_spearman"])
    pearson = truth["coupling_noise_free"].values[off]
    np.testing.assert_allclose(pearson, got, atol=0.05)  # near-Gaussian: the scales agree


def test_large_study_recovers_truth():
    """With many samples the observed gain and coupling converge to the truth."""
    study = vatjax.simulate_study(seed=1, n_models=1, n_scenarios=3000, strategies=("p",),
                                  effects=(2.0,), coupling=0.4, n_truth_draws=20_000)  # fmt: skip
    res = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))
    np.testing.assert_allclose(res["gain"].values, study.truth["gain"].values, atol=0.03)
    observed = res["nvat"].values
    np.testing.assert_allclose(observed, study.truth["nvat_observed"].values, atol=0.04)
    assert np.all(observed < study.truth["nvat_noise_free_spearman"].values)


def test_bad_simulation_arguments():
    with pytest.raises(VatInputError, match="coupling"):
        vatjax.simulate_study(seed=0, coupling=1.5)
    with pytest.raises(VatInputError, match="not a correlation"):
        vatjax.simulate_study(seed=0, coupling=0.9, focus=0.5)
    with pytest.raises(VatInputError, match="did you mean"):
        vatjax.simulate_study(seed=0, targets=[("Securty", 1)])
