"""vatjax.circumplex: named cells, replicates, bad input, and the test's size and power on
simulated studies of the paper's size (9,002 samples)."""

import jax
import numpy as np
import pytest
import xarray as xr
from scipy import stats

import vatjax
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
