"""Coverage of the tax's intervals on simulated studies with a known observed-scale tax
(the reduced version of benchmarks/coverage_tax.py; the full study is in RESULTS.md)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import vatjax
from vatjax.core.shift_model import circumplex_coupling, observed_tax, simulate_shifts
from vatjax.named.simulated import shifts_array

STUDIES = 200
# 90% coverage over 200 studies: MC sd 0.021; 3 sd either side
LOW, HIGH = 0.9 - 3 * 0.0212, 0.9 + 3 * 0.0212


def study_set(strength: float, n: int, seed: int):
    omega = circumplex_coupling(10, strength)
    truth = (0.0, np.zeros(10)) if strength == 0 else observed_tax(omega, n=200_000, seed=9)
    keys = jax.random.split(jax.random.key(seed), STUDIES)
    x = np.asarray(jax.vmap(lambda k: simulate_shifts(k, n, omega))(keys))
    return shifts_array(x), truth


@pytest.mark.slow
@pytest.mark.parametrize(("strength", "n", "scheme"),
                         [(0.0, 80, "bootstrap"), (0.3, 80, "bayesian"), (0.1, 400, "subsample")])  # fmt: skip
def test_tax_intervals_cover_the_observed_scale_figure(strength, n, scheme):
    sh, (true_nvat, true_vat) = study_set(strength, n, seed=n + int(strength * 10))
    ds = vatjax.bootstrap(sh, n_resamples=300, scheme=scheme, level=0.9, seed=1, quiet=True)
    nv, vat = ds["nvat"].isel(model=0), ds["vat"].isel(model=0)
    lo, hi = nv.sel(stat="lower").values, nv.sel(stat="upper").values
    assert not np.isnan(lo).any() and not np.isnan(hi).any()
    assert (ds["interval_note"] == "").all()
    assert LOW <= np.mean((lo <= true_nvat) & (true_nvat <= hi)) <= HIGH
    v_lo, v_hi = vat.sel(stat="lower").values, vat.sel(stat="upper").values
    # 2,000 intervals, correlated within a study: a looser band
    assert 0.82 <= np.mean((v_lo <= true_vat) & (true_vat <= v_hi)) <= 0.97
    # the interval is of the observed-scale figure: it sits below the paper's biased figure
    assert np.mean(hi < nv.sel(stat="estimate").values) > (0.5 if strength == 0 else 0.0)
    deb = ds["nvat_debiased"].isel(model=0)
    np.testing.assert_array_equal(deb.sel(stat="lower"), lo)
    assert np.all((lo <= deb.sel(stat="estimate")) & (deb.sel(stat="estimate") <= hi))


@pytest.mark.slow
def test_debiased_square_is_unbiased_where_the_paper_figure_is_not():
    sh, (true_nvat, _) = study_set(0.2, 300, seed=5)
    res = vatjax.vat(sh).isel(model=0)
    raw_sq = res["nvat"].values ** 2
    n = 300
    coupling = res["coupling"].values
    off = ~np.eye(10, dtype=bool)
    r2, c = coupling[:, off] ** 2, 1 / (n - 1)
    deb_sq = np.sum(r2 - c * (1 - 1.715 * (r2 - c)), -1) / 10
    se = deb_sq.std() / np.sqrt(STUDIES)
    assert abs(deb_sq.mean() - true_nvat**2) < 4 * se + 0.002  # + truth's own MC error
    assert raw_sq.mean() - true_nvat**2 > 0.8 * 9 / (n - 1)
    # the clipped root agrees with the square where it is positive
    pos = deb_sq > 0
    np.testing.assert_allclose(res["nvat_debiased"].values[pos], np.sqrt(deb_sq[pos]), atol=1e-4)
