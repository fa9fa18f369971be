"""vatjax.circumplex: named cells, replicates, bad input, and the test's size and power on
simulated studies of the paper's size (9,002 samples)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from scipy import stats

import vatjax
from vatjax.core.ranks import spearman
from vatjax.core.shift_model import circumplex_coupling, simulate_shifts, strength_for_nvat
from vatjax.errors import VatInputError
from vatjax.named.circumplex import circle_angles, circumplex
from vatjax.named.simulated import shifts_array

N_PAPER = 9002


def _studies(omega, n_studies, seed, n=N_PAPER):
    keys = jax.random.split(jax.random.key(seed), n_studies)
    return shifts_array(np.asarray(jax.vmap(lambda k: simulate_shifts(k, n, omega))(keys)))


@pytest.fixture(scope="module")
def small():
    s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=60)
    return vatjax.shifts(vatjax.load_judgments(s.table))


def test_shifts_and_their_coupling_give_the_same_result(small):
    a = circumplex(small, n_permutations=300, seed=1)
    b = circumplex(vatjax.vat(small)["coupling"], n_permutations=300, seed=1)
    xr.testing.assert_equal(a, b)
    assert a["ci"].dims == ("model", "intervention")
    assert ((a["p_value"] >= 1 / 301) & (a["p_value"] <= 1)).all()


def test_ci_per_bootstrap_replicate_gives_an_interval(small):
    boot = vatjax.bootstrap(small, n_resamples=40, keep_replicates=True, quiet=True)
    reps = circumplex(boot["coupling_replicates"], n_permutations=0)
    assert reps["ci"].dims == ("resample", "model", "intervention")
    assert np.isnan(reps["p_value"]).all() and reps.attrs["n_permutations"] == 0
    point = circumplex(small, n_permutations=0)["ci"]
    lo, hi = reps["ci"].quantile([0.05, 0.95], dim="resample")
    assert float(((lo <= point + 0.1) & (point - 0.1 <= hi)).mean()) > 0.9


def test_a_reversed_order_flips_nothing_and_a_shuffled_one_loses_fit(small):
    values = list(vatjax.SCHWARTZ.values)
    base = circumplex(small, n_permutations=0)["ci"]
    mirrored = circumplex(small, order=values[::-1], n_permutations=0)["ci"]
    xr.testing.assert_allclose(base, mirrored)  # a reflection keeps every distance
    shuffled = circumplex(small, order=[values[i] for i in (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)],
                          n_permutations=0)["ci"]  # fmt: skip
    assert float(shuffled.mean()) < float(base.mean())


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (dict(order=["Power", "Power"]), "name every value once"),
        (dict(angles=[0.0, 1.0]), "2 angles for 10 values"),
        (dict(angles={"Power": 0.0}), "no angle for"),
        (dict(order=list(vatjax.SCHWARTZ.values), angles=[0.0] * 10), "not both"),
        (dict(n_permutations=-1), "n_permutations"),
    ],
)
def test_bad_input_names_the_problem(small, kwargs, needle):
    with pytest.raises(VatInputError, match=needle):
        circumplex(small, **kwargs)


def test_a_non_square_coupling_is_refused():
    bad = xr.DataArray(np.zeros((3, 4)), dims=("value", "value2"),
                       coords={"value": list("abc"), "value2": list("abcd")})  # fmt: skip
    with pytest.raises(VatInputError, match="square"):
        circumplex(bad)
    with pytest.raises(VatInputError, match="coupling"):
        circumplex(xr.DataArray(np.zeros(3), dims=("value",)))


def test_circle_angles_follow_the_taxonomy_by_default():
    values = list(vatjax.SCHWARTZ.values)
    np.testing.assert_allclose(circle_angles(values[::-1], taxonomy=vatjax.SCHWARTZ),
                               np.array(vatjax.SCHWARTZ.angles)[::-1])  # fmt: skip


@pytest.mark.slow
def test_it_rejects_circular_coupling_at_the_papers_size():
    """Circular coupling at the smallest tax of the paper's Table 2 (observed-scale nVAT
    0.09): the test rejects at 0.05 in at least 80% of studies (100 studies: se 4% at
    80%)."""
    omega = circumplex_coupling(10, strength_for_nvat(0.09, n=100_000))
    res = circumplex(_studies(omega, 100, seed=1), n_permutations=999, seed=2)
    assert float((res["p_value"] < 0.05).mean()) >= 0.80


@pytest.mark.slow
def test_p_values_are_uniform_under_exchangeable_coupling():
    """Exchangeable coupling (every pair 0.3): the circle predicts nothing, so the
    p-values over 500 studies are uniform (KS p > 0.01). The relabelled couplings are
    exchangeable at any n; 1,000 samples per study keep the test quick."""
    omega = np.full((10, 10), 0.3) + 0.7 * np.eye(10)
    res = circumplex(_studies(omega, 500, seed=3, n=1000), n_permutations=999, seed=4)
    p = res["p_value"].values.ravel()
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert abs(float((p < 0.05).mean()) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 500)


def test_the_cosine_fit_equals_least_squares_and_free_angles_recover_the_circle():
    rng = np.random.default_rng(5)
    theta = np.sort(rng.uniform(0, 2 * np.pi, 10))
    theta -= theta[0]
    iu, ju = np.triu_indices(10, 1)
    delta = theta[iu] - theta[ju]
    r = 0.05 + 0.4 * np.cos(delta) - 0.1 * np.cos(2 * delta) + rng.normal(0, 0.01, (3, 45))
    names = [f"v{i}" for i in range(10)]
    full = np.repeat(np.eye(10)[None], 3, 0)
    full[:, iu, ju] = full[:, ju, iu] = r
    coupling = xr.DataArray(full, dims=("cell", "value", "value2"),
                            coords={"value": names, "value2": names})  # fmt: skip
    fixed = circumplex(coupling, angles=theta, n_permutations=0)
    design = np.stack([np.ones(45), np.cos(delta), np.cos(2 * delta)], 1)
    ref = np.linalg.lstsq(design, r.T, rcond=None)[0].T
    np.testing.assert_allclose(fixed["cosine"].values, ref, atol=1e-4)
    resid = r - ref @ design.T
    r2 = 1 - (resid**2).sum(1) / ((r - r.mean(1, keepdims=True)) ** 2).sum(1)
    np.testing.assert_allclose(fixed["cosine_r2"].values, r2, atol=1e-4)
    start = np.arange(10) * 2 * np.pi / 10  # equal spacing: the fit must move the angles
    free = circumplex(coupling, angles=start, n_permutations=0, free_angles=True)
    gap = np.angle(np.exp(1j * (free["angle"].values - theta)))
    assert np.abs(gap).max() < 0.05
    assert (free["cosine_r2"] >= fixed["cosine_r2"] - 1e-4).all()


@pytest.mark.slow
def test_the_cosine_fit_recovers_the_simulators_structure_within_90pct_intervals():
    """Circular coupling at a mid-Table-2 tax (nVAT 0.12). Truth: the cosine model of the
    observed-scale coupling (the simulator's Omega seen through rating noise and ranks, which
    resampling estimates: Spearman on 300,000 samples of the same simulator). Each of 100
    studies of 9,002 samples: 90% percentile intervals of b0, b1, b2 over 200 bootstrap
    replicates. Each must cover its truth in at least 85% of studies (nominal 90%, Monte
    Carlo se 3%)."""
    omega = circumplex_coupling(10, strength_for_nvat(0.12, n=100_000))
    big = simulate_shifts(jax.random.key(7), 300_000, omega)
    names = list(vatjax.SCHWARTZ.values)
    population = xr.DataArray(np.asarray(spearman(big, jnp.ones(big.shape[0]), pairwise=False)),
                              dims=("value", "value2"), coords={"value": names, "value2": names})  # fmt: skip
    truth = circumplex(population, n_permutations=0)["cosine"]
    boot = vatjax.bootstrap(_studies(omega, 100, seed=8), n_resamples=200, seed=9,
                            keep_replicates=True, interval="percentile", quiet=True)  # fmt: skip
    reps = circumplex(boot["coupling_replicates"], n_permutations=0)["cosine"]
    lo, hi = reps.quantile(0.05, dim="resample"), reps.quantile(0.95, dim="resample")
    covered = ((lo <= truth) & (truth <= hi)).mean(("model", "intervention"))
    assert (covered >= 0.85).all(), covered.values


def test_ci_per_posterior_draw_keeps_the_draw_dims(small):
    """On draws (chain, draw, ...) CI gets a posterior: one CI per draw, dims kept."""
    point = vatjax.vat(small)["coupling"]
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.02, (2, 5, *point.shape))
    noise = (noise + np.swapaxes(noise, -1, -2)) / 2 * (1 - np.eye(point.sizes["value"]))
    draws = point.expand_dims(chain=2, draw=5) + noise
    res = circumplex(draws, n_permutations=0)
    assert res["ci"].dims == ("chain", "draw", "model", "intervention")
    one = circumplex(draws.isel(chain=1, draw=3), n_permutations=0)["ci"]
    xr.testing.assert_allclose(res["ci"].isel(chain=1, draw=3), one)
