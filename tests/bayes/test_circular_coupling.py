"""The circular coupling (ordinal-circular): Omega is a correlation matrix on the circle,
the preset loads and validates, a fit recovers the strength of a circular coupling, and
compare_presets runs PSIS-LOO on it and on ordinal-lkj."""

import warnings

import jax
import numpy as np
import pytest
from numpyro.infer import Predictive

import vatjax
from vatjax.bayes import ConvergenceWarning, compare_presets, load_preset
from vatjax.bayes.circular import circular_chol, circular_coupling, value_angles
from vatjax.bayes.data import prepare
from vatjax.bayes.model import build_model, derive, model_arrays
from vatjax.core.shift_model import circumplex_coupling
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ

RHO = 0.6  # the simulated circular coupling strength (c, with w = (1, 0))


def test_omega_is_a_correlation_matrix_for_random_parameters():
    rng = np.random.default_rng(0)
    for k in (1, 2, 3):
        angles = np.sort(rng.uniform(0, 2 * np.pi, 10))
        c = rng.uniform(0, 1, 50)
        c[:3] = [0.0, 0.999, 1.0 - 1e-6]
        w = rng.dirichlet(np.ones(k), 50)
        omega = np.asarray(circular_coupling(c, w, angles), np.float64)
        assert omega.shape == (50, 10, 10)
        np.testing.assert_allclose(np.diagonal(omega, axis1=1, axis2=2), 1.0, atol=1e-6)
        np.testing.assert_allclose(omega, np.swapaxes(omega, 1, 2), atol=1e-6)
        assert (np.linalg.eigvalsh(omega).min(axis=1) >= (1 - c) - 1e-5).all()
        chol = np.asarray(circular_chol(c, w, angles), np.float64)
        assert np.isfinite(chol).all()
        rebuilt = chol @ np.swapaxes(chol, 1, 2)
        np.testing.assert_allclose(np.diagonal(rebuilt, axis1=1, axis2=2), 1.0, atol=1e-5)
        np.testing.assert_allclose(rebuilt, omega, atol=2e-4)  # the jitter's shrinkage


def test_one_harmonic_on_equal_angles_is_the_simulators_coupling():
    angles = np.asarray(SCHWARTZ.angles)
    got = np.asarray(circular_coupling(0.4, np.ones(1), angles))
    np.testing.assert_allclose(got, circumplex_coupling(10, 0.4), atol=1e-6)
    # a second harmonic alone makes opposite values move together
    opposite = np.asarray(circular_coupling(0.4, np.array([0.0, 1.0]), angles))
    assert opposite[0, 5] == pytest.approx(0.4, abs=1e-6)


def test_the_preset_and_its_checks(tmp_path):
    preset = load_preset("ordinal-circular")
    assert (preset.coupling, preset.harmonics, preset.likelihood) == ("circular", 2, "ordinal")
    assert "lkj_concentration" not in preset.priors
    assert preset.priors["coupling_strength_a"] == 1.5
    path = tmp_path / "copy.toml"
    path.write_text(preset.to_toml())
    assert load_preset(path) == preset
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "mvn-marginal"\ncoupling = "circular"\nharmonics = 0\n'
                   "[priors]\ncoupling_strength_a = 1.0\ncoupling_strength_b = -1.0\n"
                   "coupling_weight_concentration = 1.0\n")  # fmt: skip
    with pytest.raises(VatInputError) as err:
        load_preset(bad)
    text = "\n".join(err.value.problems)
    assert "harmonics = 0 must be a whole number >= 1" in text
    assert "'coupling_strength_b' = -1.0 must be > 0" in text
    assert "not available with likelihood = 'mvn-marginal'" in text


@pytest.mark.slow  # the model's compilation: about 15 s on 2 busy cores
def test_a_prior_draw_gives_a_circular_omega_with_the_taxonomy_angles():
    study = vatjax.simulate_study(seed=5, n_models=1, n_scenarios=4, targets=[("Power", -1)],
                                  strategies=["prompt"], effects=1.0, coupling=0.5)  # fmt: skip
    judgments = vatjax.load_judgments(study.table)
    data = prepare(judgments)
    preset = load_preset("ordinal-circular")
    angles = value_angles(judgments, data.values)
    np.testing.assert_allclose(angles, SCHWARTZ.angles, atol=1e-6)
    d = model_arrays(data, preset, angles)
    model = build_model(preset, data.sizes)
    raw = {k: v[0] for k, v in Predictive(model, num_samples=1)(jax.random.key(1), d,
                                                                   observe=False).items()}  # fmt: skip
    assert raw["coupling_strength"].shape == (1,) and raw["coupling_weight"].shape == (1, 2)
    omega = np.asarray(derive(raw, d, preset, data.sizes)["coupling"])[0, 0]
    want = np.asarray(circular_coupling(raw["coupling_strength"][0], raw["coupling_weight"][0],
                                        angles))  # fmt: skip
    np.testing.assert_allclose(omega, want, atol=2e-4)


def test_compare_presets_refuses_bad_choices_before_fitting():
    with pytest.raises(VatInputError, match="two or more different presets"):
        compare_presets(None, presets=("ordinal-lkj",))
    with pytest.raises(VatInputError, match="two or more different presets"):
        compare_presets(None, presets=("ordinal-lkj", "ordinal-lkj"))
    with pytest.raises(VatInputError, match="model different data"):
        compare_presets(None, presets=("ordinal-lkj", "gaussian"))


@pytest.fixture(scope="module")
def compared():
    study = vatjax.simulate_study(seed=3, n_models=1, n_scenarios=30, targets=[("Power", -1)],
                                  strategies=["prompt"], effects=1.0, coupling=RHO,
                                  shift_sd=1.0, focus=0.0)  # fmt: skip
    judgments = vatjax.load_judgments(study.table)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)  # short chains
        # PSIS on 100 draws: ArviZ warns of Pareto k above its small-sample threshold
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        return compare_presets(judgments, chains=1, draws=100, warmup=100, seed=1,
                               progress=False, predictive_draws=0)  # fmt: skip


@pytest.mark.slow
def test_the_circular_fit_recovers_the_coupling_strength(compared):
    _, fits = compared
    post = fits["ordinal-circular"]["posterior"]
    assert post["coupling_strength"].dims == ("chain", "draw", "intervention")
    assert post["coupling_weight"].dims == ("chain", "draw", "intervention", "harmonic")
    assert list(post["harmonic"].values) == [1, 2]
    c = post["coupling_strength"].values.ravel()
    low, high = np.quantile(c, [0.05, 0.95])
    # the circle's strength, clearly away from no coupling (on this seed: 0.32 < 0.63 < 0.84)
    assert 0.2 < low < RHO < high
    # the truth is the first harmonic only (posterior mean weight 0.84 on this seed)
    assert float(post["coupling_weight"].sel(harmonic=1).mean()) > 0.6
    omega = fits["ordinal-circular"]["vat"]["coupling"].values
    np.testing.assert_allclose(np.diagonal(omega, axis1=-2, axis2=-1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_loo_compares_the_free_and_the_circular_omega(compared):
    table, fits = compared
    assert list(table.index) == ["ordinal-lkj", "ordinal-circular"]
    assert np.isfinite(table["elpd"].astype(float)).all()
    assert np.isfinite(table["se"].astype(float)).all()
    assert table.loc["ordinal-lkj", "elpd_diff"] == 0.0  # the first preset is the reference
    diff = table.loc["ordinal-circular", "elpd_diff"]
    assert diff == pytest.approx(table.loc["ordinal-circular", "elpd"]
                                 - table.loc["ordinal-lkj", "elpd"])  # fmt: skip
    assert np.isfinite(diff) and table.loc["ordinal-circular", "dse"] > 0
    n_cells = fits["ordinal-lkj"]["log_likelihood"].sizes["cell"]
    assert n_cells == fits["ordinal-circular"]["log_likelihood"].sizes["cell"] == 30 * 10
