"""vatjax.power: the kernels against references, the null (E[nVAT^2] = (V-1)/(n-1), power =
alpha), monotone curves, the gain test against the noncentral t, n_for_power checked in a
fresh simulation, reproducibility, the pilot, and bad input. Tolerances are Monte Carlo
errors (4 se unless said)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import vatjax
from vatjax.core.grid_ranks import grid_bounds, grid_levels, prefix_spearman
from vatjax.core.power import covariance_root, draw_shifts
from vatjax.core.ranks import spearman
from vatjax.core.shift_model import circumplex_coupling, simulate_shifts
from vatjax.engine.studies import gain_rejections, tax_draws

NS = (10, 20, 40, 80, 160)
STUDIES = 400
ALPHA = 0.05


@pytest.fixture(scope="module")
def curves():
    """One design with a tax and a gain difference that both rise through NS."""
    return vatjax.power(NS, strength=0.3, gain=0.3, gain_b=0.1, paired_correlation=0.5,
                        n_studies=STUDIES, seed=1, check=False)  # fmt: skip


def test_prefix_spearman_equals_the_sort_and_scipy():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(0, 0.7, (2, 300, 5)) / 0.5) * 0.5  # heavy ties, two batches
    lo, k = grid_bounds(0.0, 0.7, 0.5)
    ns = (6, 50, 300)
    r = prefix_spearman(grid_levels(jnp.asarray(x, jnp.float32), 0.5, lo, k), k, ns)
    assert r.shape == (2, 3, 5, 5)
    for b in range(2):
        for j, n in enumerate(ns):
            sorted_r = spearman(jnp.asarray(x[b, :n], jnp.float32), jnp.ones(n), pairwise=False)
            np.testing.assert_allclose(r[b, j], sorted_r, atol=2e-6)
            if n > 6:
                ref = scipy.stats.spearmanr(x[b, :n]).statistic
                np.testing.assert_allclose(r[b, j], ref, atol=2e-6)


def test_draws_have_the_model_covariance():
    omega = circumplex_coupling(4, 0.6)
    cov = 0.4**2 * omega + 0.3**2 * np.eye(4)
    mean = np.array([0.3, 0.0, -0.2, 0.1], np.float32)
    n = 200_000
    x = np.asarray(draw_shifts(jax.random.key(2), n, covariance_root(cov), mean, 0.0), np.float64)
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(x.mean(0) - mean) < 4 * se_mean)
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(np.cov(x.T) - cov) < 4 * se_cov)


@pytest.mark.slow
def test_tax_draws_match_the_shift_model_simulator():
    """The one-draw simulation gives the nVAT of simulate_shifts (two draws per shift)."""
    omega, m = circumplex_coupling(10, 0.5), STUDIES
    grid = grid_bounds(0.0, math.hypot(0.5, 0.5), 0.25)
    ours = tax_draws(jax.random.split(jax.random.key(3), m), omega, ns=NS, shift_sd=0.5,
                     noise=0.5, step=0.25, grid=grid)[..., 0]  # fmt: skip
    sim = jax.vmap(lambda k: simulate_shifts(k, NS[-1], jnp.asarray(omega), 0.0, 0.5, 0.5, 0.25))
    x = sim(jax.random.split(jax.random.key(4), m))
    r = prefix_spearman(grid_levels(x, 0.25, *grid), grid[1], NS)  # checked against the sort
    theirs = np.asarray(vatjax.core.vat_from_coupling(r)[1])
    se = np.sqrt(ours.var(0) / m + theirs.var(0) / m)
    assert np.all(np.abs(ours.mean(0) - theirs.mean(0)) < 4 * se)
    assert ours[:, 0].mean() > 0.3 + ours[:, -1].mean() / 2  # the nVATs differ across n


@pytest.mark.parametrize(("step", "ns"), [(0.25, NS), (0.5, NS), (0.0, NS[:2])])
def test_null_mean_nvat_squared_is_v_minus_1_over_n_minus_1(step, ns):
    """Ties or none (0.0: the sort kernel, which costs more to compile)."""
    sd = math.hypot(0.5, 0.5)
    grid = grid_bounds(0.0, sd, step) if step else None
    d = tax_draws(jax.random.split(jax.random.key(5), STUDIES), np.eye(10), ns=ns,
                  shift_sd=0.5, noise=0.5, step=step, grid=grid)  # fmt: skip
    sq = d[..., 0] ** 2
    expected = 9 / (np.array(ns) - 1.0)
    assert np.all(np.abs(sq.mean(0) - expected) < 4 * sq.std(0) / math.sqrt(STUDIES))
    debiased = d[..., 1]  # the unclipped debiased square: mean 0
    assert np.all(np.abs(debiased.mean(0)) < 4 * debiased.std(0) / math.sqrt(STUDIES))


@pytest.mark.slow
def test_null_power_is_alpha():
    """Many studies (small ones: cheap), so that a size of alpha / 2 would fail."""
    m = 8000
    ds = vatjax.power(NS, strength=0.0, gain=0.2, gain_b=0.2, paired_correlation=0.3,
                      n_studies=m, seed=2, check=False)  # fmt: skip
    # the floor is estimated from as many null studies: its noise doubles the variance
    se_tax = math.sqrt(ALPHA * (1 - ALPHA) * 2 / m)
    assert np.all(np.abs(ds["power_tax"].values - ALPHA) < 4 * se_tax)
    se_gain = math.sqrt(ALPHA * (1 - ALPHA) / m)
    assert np.all(np.abs(ds["power_gain_difference"].values - ALPHA) < 4 * se_gain)
    np.testing.assert_allclose(ds["power_tax_se"], se_tax, rtol=0.5)


def test_power_curves_rise_monotonically(curves):
    for name in ("power_tax", "power_gain_difference"):
        p, se = curves[name].values, curves[f"{name}_se"].values
        step_se = np.sqrt(se[1:] ** 2 + se[:-1] ** 2)
        assert np.all(np.diff(p) >= -3 * step_se), name
        assert p[-1] - p[0] > 0.5, name  # the design makes both rise from low to high
    floor = curves["floor_nvat"].values
    assert np.all(np.diff(floor) < 0)  # the noise floor falls with n


def test_dataset_names_dims_units(curves):
    for name in curves.data_vars:
        assert curves[name].attrs["long_name"] and "units" in curves[name].attrs, name
    assert curves["power_tax"].dims == ("n",) and list(curves["n"].values) == list(NS)
    assert curves["n_for_power"].attrs["target_power"] == 0.8
    assert curves.attrs["strength"] == 0.3 and curves.attrs["gain_test"].startswith("paired")
    # debiasing takes out the sampling noise of the squares: the mean is near the truth
    assert np.all(curves["mean_nvat_debiased"] < curves["mean_nvat"])


@pytest.mark.parametrize("paired", [True, False])
def test_gain_power_is_the_noncentral_t(paired):
    """Continuous shifts: the power of the t-test is known exactly."""
    sd_a, sd_b, rho, means = 0.7, 0.5, 0.4, np.array([0.25, 0.05])
    cov = np.array([[sd_a**2, rho * sd_a * sd_b], [rho * sd_a * sd_b, sd_b**2]])
    rej = gain_rejections(jax.random.split(jax.random.key(6), STUDIES), cov, means, ns=NS,
                          step=0.0, alpha=ALPHA, paired=paired)  # fmt: skip
    sd = math.sqrt(sd_a**2 + sd_b**2 - 2 * rho * sd_a * sd_b) if paired else sd_a
    effect = (means[0] - means[1]) if paired else means[0]
    n = np.array(NS, float)
    crit = scipy.stats.t.ppf(1 - ALPHA / 2, n - 1)
    nc = effect / sd * np.sqrt(n)
    exact = scipy.stats.nct.sf(crit, n - 1, nc) + scipy.stats.nct.cdf(-crit, n - 1, nc)
    p = rej.mean(0)
    assert np.all(np.abs(p - exact) < 4 * np.sqrt(exact * (1 - exact) / STUDIES))


@pytest.mark.slow
def test_n_for_power_gives_the_target_power_in_a_fresh_simulation(curves):
    ds = vatjax.power(NS, strength=0.3, gain=0.3, gain_b=0.1, paired_correlation=0.5,
                      n_studies=STUDIES, seed=1, check=True)  # fmt: skip
    for test in ("tax", "gain_difference"):
        assert str(ds["n_for_power_status"].sel(test=test).values) == "interpolated"
        n_star = float(ds["n_for_power"].sel(test=test))
        name = f"power_{test}"
        j = int(np.searchsorted(NS, n_star))
        assert curves[name].values[j - 1] < 0.8 <= curves[name].values[j]
        bracket_se = float(curves[f"{name}_se"].values[j - 1 : j + 1].max())
        check, check_se = (float(ds[v].sel(test=test)) for v in ("power_check", "power_check_se"))
        assert abs(check - 0.8) < 3 * math.hypot(check_se, bracket_se), (test, check)


def test_same_seed_same_result_on_any_number_of_devices(curves):
    keys = jax.random.split(jax.random.key(9), STUDIES)
    args = dict(ns=NS, shift_sd=0.5, noise=0.5, step=0.25, grid=grid_bounds(0.0, 0.71, 0.25))
    assert len(jax.devices()) > 1
    one = tax_draws(keys, np.eye(10), devices=jax.devices()[:1], **args)
    np.testing.assert_array_equal(one, tax_draws(keys, np.eye(10), **args))
    again = vatjax.power(NS, strength=0.3, gain=0.3, gain_b=0.1, paired_correlation=0.5,
                         n_studies=STUDIES, seed=1, check=False)  # fmt: skip
    other = vatjax.power(NS, strength=0.3, gain=0.3, gain_b=0.1, paired_correlation=0.5,
                         n_studies=STUDIES, seed=8, check=False)  # fmt: skip
    for name in ("power_tax", "floor_nvat", "mean_nvat", "power_gain_difference"):
        np.testing.assert_array_equal(again[name], curves[name])
    assert not np.array_equal(other["mean_nvat"], curves["mean_nvat"])


@pytest.fixture(scope="module")
def study_shifts():
    study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=120, n_truth_draws=1000)
    return vatjax.shifts(vatjax.load_judgments(study.table))


@pytest.fixture(scope="module")
def pilot(study_shifts):
    return study_shifts.sel(intervention=["prompt-8shot:Power", "prompt-4shot:Power"])


def test_pilot_sets_the_design(pilot):
    ds = vatjax.power(NS, pilot=pilot, n_studies=STUDIES, check=False)
    res = vatjax.vat(pilot)
    a, b = (pilot.isel(model=0, intervention=i).sel(value="Power").values for i in (0, 1))
    a, b = -a, -b  # Power is suppressed: the gains and shifts are oriented
    assert ds.attrs["gain"] == pytest.approx(float(res["gain"][0, 0]))
    assert ds.attrs["gain_b"] == pytest.approx(float(res["gain"][0, 1]))
    assert ds.attrs["pilot_nvat_debiased"] == pytest.approx(float(res["nvat_debiased"][0, 0]))
    assert ds.attrs["paired_correlation"] == pytest.approx(np.corrcoef(a, b)[0, 1])
    sd = float(np.sqrt(pilot.isel(model=0, intervention=0).var("scenario", ddof=1).mean()))
    # the pilot's sd, less the grid's variance, is split evenly between shifts and noise
    assert math.hypot(ds.attrs["shift_sd"], ds.attrs["noise"]) == pytest.approx(
        math.sqrt(sd**2 - 0.25**2 / 12)
    )
    assert ds.attrs["gain_sd"][0] == pytest.approx(math.sqrt(a.var(ddof=1) - 0.25**2 / 12))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(noise=-0.1), "noise must be >= 0"),
        (dict(shift_sd=-1), "shift_sd must be >= 0"),
        (dict(n=[80, 3]), "n must be an integer >= 4"),
        (dict(alpha=1.5), "alpha must be in (0, 1)"),
        (dict(n_studies=50), "n_studies must be an integer >= 100"),
        (dict(nvat=3.5), "sqrt(V - 1) = 3.000"),
        (dict(strength=1.2), "strength must be in [0, 1]"),
        (dict(strength=0.2, nvat=0.1), "give one of strength, nvat, omega or pilot"),
        (dict(omega=np.array([[1.0, 0.9], [0.2, 1.0]])), "omega is not a correlation matrix: "
         "it is not symmetric"),
        (dict(omega=np.array([[1.0, 2.0], [2.0, 1.0]])), "not positive semi-definite"),
        (dict(gain_b=0.2), "need gain"),
        (dict(gain=0.2, paired_correlation=0.5), "paired_correlation needs gain_b"),
        (dict(gain=0.1, gain_b=0.2, paired_correlation=1.5), "paired_correlation must be in"),
        (dict(noise=0, shift_sd=0), "both 0"),
    ],
)  # fmt: skip
def test_bad_input_names_the_problem(kwargs, words):
    kwargs = {"n": [80], **kwargs}
    with pytest.raises(vatjax.VatInputError) as err:
        vatjax.power(**kwargs)
    assert words in str(err.value)


@pytest.mark.slow
def test_an_nvat_out_of_reach_says_what_caps_it():
    with pytest.raises(vatjax.VatInputError, match=r"out of reach.*raise shift_sd"):
        vatjax.power([80], nvat=0.9, noise=1.0)


def test_a_pilot_of_many_cells_is_refused(study_shifts):
    with pytest.raises(vatjax.VatInputError, match="has 12 model x intervention cells"):
        vatjax.power([80], pilot=study_shifts)
