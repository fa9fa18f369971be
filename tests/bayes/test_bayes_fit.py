"""End to end: vatjax.fit on a small study, the DataTree it exports, its round trip through
netCDF, diagnostics, summary, LOO and compare, SVI, and the ``vatjax fit`` command."""

import warnings

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose
from typer.testing import CliRunner

import vatjax
from vatjax.bayes import ConvergenceWarning, compare, loo, summary
from vatjax.cli import app
from vatjax.core.metrics import vat_from_coupling
from vatjax.errors import VatInputError

pytestmark = pytest.mark.slow

GROUPS = {"posterior", "sample_stats", "log_likelihood", "posterior_predictive",
          "observed_data", "vat", "diagnostics"}  # fmt: skip


@pytest.fixture(scope="module")
def study():
    return vatjax.simulate_study(
        seed=11, n_models=1, n_scenarios=12, targets=[("Power", -1), ("Security", 1)],
        strategies=["prompt"], effects=1.0, coupling=0.5, shift_sd=1.0,
        layout="both-polarities", responsiveness=(1.0, 1.0), focus=0.0,
    )  # fmt: skip


@pytest.fixture(scope="module")
def judgments(study):
    return vatjax.load_judgments(study.table)


def _fit(judgments, model, **kwargs):
    """A short fit; it cannot reach ESS 400, so it must warn, and say why."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tree = vatjax.fit(judgments, model, progress=False, predictive_draws=10, **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1 and "ess_bulk < 400" in messages[0], [str(w.message) for w in caught]
    assert [w for w in caught if not issubclass(w.category, ConvergenceWarning)] == []
    return tree


@pytest.fixture(scope="module")
def lkj(judgments):
    return _fit(judgments, "ordinal-lkj", chains=2, draws=100, warmup=100, seed=1)


@pytest.fixture(scope="module")
def indep(judgments):
    return _fit(
        judgments, "ordinal-indep", chains=2, draws=100, warmup=100, seed=2, keep_latent=True
    )


@pytest.fixture(scope="module")
def gaussian_svi(judgments, tmp_path_factory):
    preset = tmp_path_factory.mktemp("presets") / "quick-gaussian.toml"
    preset.write_text('name = "quick-gaussian"\nextends = "gaussian"\n[svi]\nsteps = 1500\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tree = vatjax.fit(judgments, preset, method="svi", chains=2, draws=100, progress=False)
    assert [str(w.message) for w in caught] == []
    return tree


def test_the_tree_has_every_group_with_named_dims(lkj, judgments):
    assert GROUPS <= set(lkj.children)
    post = lkj["posterior"]
    assert post["shift_mean"].dims == ("chain", "draw", "model", "intervention", "value")
    assert post["shift_sd"].dims == ("chain", "draw", "intervention", "value")
    assert post["coupling"].dims == ("chain", "draw", "intervention", "value", "value2")
    assert post["coupling_chol"].dims == ("chain", "draw", "intervention", "value", "value2")
    assert post["cutpoints"].dims == ("chain", "draw", "model", "cutpoint")
    assert post["item_effect"].dims == ("chain", "draw", "micro_value")
    assert post["value_state_mean"].dims == ("chain", "draw", "model", "value")
    assert "shift_z" not in post and "value_state_z" not in post  # per-scenario: left out
    assert list(post["intervention"].values) == list(judgments["condition"].values[1:])
    assert post.sizes == {"chain": 2, "draw": 100, "model": 1, "intervention": 2, "value": 10,
                          "value2": 10, "cutpoint": 4, "cutpoint_gap": 3, "micro_value": 56}  # fmt: skip
    stats = lkj["sample_stats"]
    for name in ("energy", "tree_depth", "diverging", "lp", "step_size", "n_steps"):
        assert stats[name].dims == ("chain", "draw")
    assert np.all(stats["tree_depth"] >= 1) and np.all(stats["tree_depth"] <= 8)
    assert lkj.attrs["preset"] == "ordinal-lkj" and lkj.attrs["method"] == "nuts"
    assert "[priors]" in lkj.attrs["preset_toml"]


def test_keep_latent_keeps_the_per_scenario_shifts(indep):
    z = indep["posterior"]["shift_z"]
    assert z.dims == ("chain", "draw", "model", "intervention", "scenario", "value")
    assert z.sizes["scenario"] == 12


def test_posterior_vat_is_the_kernel_of_omega(lkj):
    vat = lkj["vat"].to_dataset()
    assert vat["nvat"].dims == ("chain", "draw", "model", "intervention")
    assert vat["coupling"].dims == ("chain", "draw", "model", "intervention", "value", "value2")
    omega = vat["coupling"].values
    assert_allclose(omega, np.swapaxes(omega, -1, -2), atol=1e-5)
    assert_allclose(np.diagonal(omega, axis1=-2, axis2=-1), 1.0, atol=1e-5)
    assert np.linalg.eigvalsh(omega.astype(np.float64)).min() > -1e-5
    # Omega is shared by the models and equals the posterior's
    assert_allclose(omega[:, :, 0], lkj["posterior"]["coupling"].values, atol=1e-6)
    _, nvat, gini = vat_from_coupling(omega)
    assert_allclose(vat["nvat"], nvat, rtol=1e-5)
    assert_allclose(vat["centralization"], gini, rtol=1e-5, atol=1e-7)
    spear = 6 / np.pi * np.arcsin(omega / 2)
    assert_allclose(vat["coupling_spearman"], spear, atol=1e-5)
    assert_allclose(vat["nvat_spearman"], vat_from_coupling(spear)[1], rtol=1e-5)
    # GND at the target is the sign of the gain
    target = [list(vat["value"].values).index(t) for t in vat["target"].values]
    gnd_t = vat["gnd"].values[..., np.arange(2), target]
    gain = vat["gain"].values  # GND is NaN where |Gain| < eps (1e-3), as in vatjax.vat
    assert_allclose(gnd_t, np.where(np.abs(gain) >= 1e-3, np.sign(gain), np.nan))


def test_posterior_gain_agrees_with_the_point_gain(lkj, judgments):
    point = vatjax.vat(vatjax.shifts(judgments))["gain"].values[0]
    post = lkj["vat"]["gain"].values[:, :, 0].reshape(-1, 2)
    # the in-sample expected gain differs from the observed one by rating noise only
    assert np.all(np.abs(post.mean(0) - point) < 4 * post.std(0) + 0.05)
    assert np.all(post.mean(0) > 0)  # both interventions move their target as intended


def test_log_likelihood_and_predictive(lkj, judgments):
    ll = lkj["log_likelihood"]["rating"]
    assert ll.dims == ("chain", "draw", "cell") and ll.sizes["cell"] == 1 * 2 * 12 * 10
    assert set(ll.coords) >= {"model", "intervention", "scenario", "value"}
    assert np.all(np.isfinite(ll)) and np.all(ll < 0)
    pp = lkj["posterior_predictive"]
    assert pp["rating"].dims == ("chain", "draw", "model", "condition", "item")
    assert pp.sizes["draw"] == 5
    observed = lkj["observed_data"]["rating"]
    assert_allclose(observed, judgments["rating"].values)
    rep = pp["rating"].values
    assert set(np.unique(rep[~np.isnan(rep)])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert np.array_equal(np.isnan(rep[0, 0]), np.isnan(observed.values))
    assert pp["score"].dims == ("chain", "draw", "model", "condition", "scenario", "value")
    assert np.nanmax(np.abs(pp["score"])) <= 1.0


def test_round_trip_keeps_every_group_dim_and_coord(lkj, tmp_path):
    path = vatjax.save(lkj, tmp_path / "posterior.nc")
    back = vatjax.load(path)
    assert isinstance(back, xr.DataTree) and set(back.children) == set(lkj.children)
    for name in lkj.children:
        before, after = lkj[name].to_dataset(), back[name].to_dataset()
        assert dict(after.sizes) == dict(before.sizes), name
        assert set(after.coords) == set(before.coords), name
        for c in before.coords:
            assert np.array_equal(after[c].values, before[c].values), (name, c)
        assert set(after.data_vars) == set(before.data_vars), name
        for v in before.data_vars:
            assert after[v].dims == before[v].dims, (name, v)
            assert_allclose(after[v].values, before[v].values, equal_nan=True)
    assert back.attrs["preset"] == "ordinal-lkj"
    assert back["diagnostics"].attrs["ok"] == lkj["diagnostics"].attrs["ok"]
    # ArviZ works on the reloaded tree (PSIS on 200 draws warns of Pareto k above its
    # small-sample threshold: expected here, checked on the demo fit in benchmarks/)
    assert len(summary(back)) == 10
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        assert loo(back).n_data_points == 240


def test_diagnostics_summary_loo_compare(lkj, indep, gaussian_svi):
    diag = lkj["diagnostics"]
    assert list(diag["diagnostic"].values) == ["rhat", "ess_bulk", "ess_tail"]
    assert diag.attrs["ok"] == 0 and "ess_bulk < 400" in diag.attrs["problems"]
    assert np.isnan(diag["coupling"].sel(diagnostic="rhat").values[0, 0, 0, 0])  # constant diagonal
    table = summary(lkj)
    assert {"mean", "sd", "eti90_lb", "eti90_ub", "ess_bulk", "r_hat"} <= set(table.columns)
    assert "nvat[model-1, prompt:Power]" in table.index
    with warnings.catch_warnings():
        # PSIS on 200 draws: ArviZ warns of Pareto k above its small-sample threshold
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        result = compare({"ordinal-lkj": lkj, "ordinal-indep": indep})
    assert set(result.index) == {"ordinal-lkj", "ordinal-indep"}
    with pytest.raises(VatInputError, match="model different data"):
        compare({"ordinal-lkj": lkj, "gaussian": gaussian_svi})
    with pytest.raises(VatInputError, match="at least two fits"):
        compare({"ordinal-lkj": lkj})


def test_svi_fit(gaussian_svi):
    tree = gaussian_svi
    assert "sample_stats" not in tree.children and "svi" in tree.children
    loss = tree["svi"]["loss"].values
    assert loss.shape == (1500,) and loss[-100:].mean() < loss[:100].mean()
    assert tree.attrs["method"] == "svi" and tree.attrs["likelihood"] == "normal"
    # one model and one intervention per target: nothing to pool, so none is pooled
    assert tree.attrs["shift_mean_pooling"] == "none"
    assert tree["posterior"]["rating_sd"].dims == ("chain", "draw", "model", "value")
    assert tree["vat"]["nvat"].sizes == {"chain": 2, "draw": 100, "model": 1, "intervention": 2}
    assert "SVI" in tree["diagnostics"].attrs["note"]
    assert tree["log_likelihood"]["score"].sizes["cell"] == 240


def test_cli_fit_prints_diagnostics_and_the_vat_table(study, tmp_path):
    table = tmp_path / "judgments.csv"
    study.table.to_csv(table, index=False)
    preset = tmp_path / "quick.toml"
    preset.write_text('name = "quick"\nextends = "gaussian"\n[svi]\nsteps = 300\nrank = 4\n')
    out = tmp_path / "posterior.nc"
    args = ["fit", str(table), "--model", str(preset), "--method", "svi", "--chains", "1",
            "--draws", "50", "--out", str(out), "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Diagnostics" in result.output and "Posterior VAT" in result.output
    assert "nvat[model-1, prompt:Security]" in result.output
    tree = vatjax.load(out)
    assert tree.attrs["preset"] == "quick" and tree["vat"].sizes["draw"] == 50
    bad = tmp_path / "one.csv"
    study.table[study.table["scenario"] == "s0000"].to_csv(bad, index=False)
    result = CliRunner().invoke(app, ["fit", str(bad), "--no-progress"])
    assert result.exit_code == 2 and "only 1 scenario" in result.output
