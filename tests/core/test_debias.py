"""The debiased tax and the interval maths of the tax, against plain references."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from reference import spearman_pairwise, tied_shifts

from vatjax.core.debias import debiased_tax, pair_counts
from vatjax.core.ranks import spearman
from vatjax.core.shift_model import circumplex_coupling, observed_tax, simulate_shifts
from vatjax.core.tax_intervals import norm_intervals, squared_norm_weights, unified_bounds


def debiased_reference(x: np.ndarray, include_diagonal: bool = False) -> dict:
    """VAT(u)^2 = sum_{w != u} (r_uw^2 - c (1 - 1.715 (r_uw^2 - c))), c = 1 / (n_uw - 1),
    by loops over scipy's coupling."""
    r = spearman_pairwise(x)
    v = x.shape[1]
    vat_sq = np.zeros(v)
    for u in range(v):
        for w in range(v):
            if u == w:
                vat_sq[u] += 1.0 if include_diagonal else 0.0
                continue
            c = 1.0 / (np.sum(~np.isnan(x[:, u]) & ~np.isnan(x[:, w])) - 1)
            vat_sq[u] += r[u, w] ** 2 - c * (1 - 1.715 * (r[u, w] ** 2 - c))
    floor = 1.0 if include_diagonal else 0.0
    return {"vat_sq": vat_sq, "nvat_sq": vat_sq.sum() / v,
            "nvat": np.sqrt(max(vat_sq.sum() / v, floor))}  # fmt: skip


@pytest.mark.parametrize("include_diagonal", [False, True])
@pytest.mark.parametrize("nan_rate", [0.0, 0.15])
def test_debiased_tax_matches_loops_with_ties_and_nans(include_diagonal, nan_rate):
    rng = np.random.default_rng(3)
    x = tied_shifts(rng, (40, 6), nan_rate)
    got = debiased_tax(spearman(jnp.asarray(x, jnp.float32), jnp.ones(40)),
                       pair_counts(jnp.asarray(x)), include_diagonal=include_diagonal)  # fmt: skip
    ref = debiased_reference(x, include_diagonal)
    np.testing.assert_allclose(got.vat_sq, ref["vat_sq"], atol=2e-5)
    np.testing.assert_allclose(got.nvat_sq, ref["nvat_sq"], atol=2e-5)
    np.testing.assert_allclose(got.nvat, ref["nvat"], atol=2e-5)


def test_pair_counts_count_the_samples_both_values_have():
    x = np.array([[1.0, np.nan, 2.0], [0.0, 1.0, np.nan], [1.0, 1.0, 1.0]])
    want = [[np.sum(~np.isnan(x[:, u]) & ~np.isnan(x[:, w])) for w in range(3)] for u in range(3)]
    np.testing.assert_array_equal(pair_counts(jnp.asarray(x)), want)


def test_null_noise_of_r_squared_is_one_over_n_minus_one_with_ties():
    """Over every permutation of one column, the mean r^2 is exactly 1 / (n - 1), ties
    included: the identity the debiasing rests on."""
    a = np.array([0.0, 0.0, 0.5, 1.0, 1.0, 1.0, -0.5])
    b = np.array([1.0, 0.5, 0.5, 0.5, 0.0, -1.0, -1.0])
    perms = np.array(list(itertools.permutations(range(len(b)))))
    r = np.array([scipy.stats.spearmanr(a, b[p]).statistic for p in perms])
    assert np.mean(r**2) == pytest.approx(1 / (len(a) - 1), abs=1e-12)


def test_debiased_nvat_squared_is_unbiased_without_coupling():
    """Mean of the debiased square over many uncoupled studies ~ 0 (raw: (V-1)/(n-1))."""
    keys = jax.random.split(jax.random.key(4), 400)
    n = 60
    x = jax.vmap(lambda k: simulate_shifts(k, n, jnp.eye(10)))(keys)
    r = spearman(x, jnp.ones((400, n)), pairwise=False)
    d = debiased_tax(r, jnp.full(r.shape, float(n)))
    raw = np.asarray(jnp.sum(r**2, (-2, -1)) - 10) / 10
    se = float(np.std(d.nvat_sq) / np.sqrt(400))
    assert abs(np.mean(d.nvat_sq)) < 4 * se
    assert np.mean(raw) == pytest.approx(9 / (n - 1), abs=4 * se)


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_unified_interval_has_its_coverage_at_every_mu(level):
    x = np.linspace(-12, 40, 52001)
    lo, hi = unified_bounds(x, level)
    dx = x[1] - x[0]
    for mu in (0.0, 0.05, 0.5, 1.3, 2.0, 4.0, 10.0):
        covered = ((lo <= mu) & (mu <= hi)) * scipy.stats.norm.pdf(x - mu)
        assert covered.sum() * dx == pytest.approx(level, abs=2e-3)
    assert np.all(lo <= np.maximum(x, 0)) and np.all(np.maximum(x, 0) <= hi)
    assert np.all(np.diff(lo) >= -1e-9) and np.all(np.diff(hi) >= -1e-9)
    assert lo[x <= 1.2].max() == 0.0 and lo[-1] > 0


def test_the_grid_inversion_with_a_constant_sd_is_the_unified_interval():
    """norm_intervals' inversion (sd growing with mu) reduces to unified_bounds when the
    variance does not grow: the path the bootstrap takes, against the tested table."""
    from vatjax.core.tax_intervals import _invert

    x = np.linspace(-3, 8, 45)
    lo, hi = _invert(x, np.ones_like(x), np.zeros_like(x), 0.9)
    want_lo, want_hi = unified_bounds(x, 0.9)
    np.testing.assert_allclose(lo, want_lo, atol=0.03)
    np.testing.assert_allclose(hi, want_hi, atol=0.03)


def test_norm_intervals_cells_are_independent_and_bounds_order():
    rng = np.random.default_rng(5)
    pairs, a = squared_norm_weights(5)
    r = rng.normal(0, 0.2, (3, len(pairs)))
    reps = r + rng.normal(0, 0.1, (300, 3, len(pairs)))
    bias = np.full(r.shape, 1 / 49)
    both = norm_intervals(r, bias, reps, a, level=0.9)
    one = norm_intervals(r[1:2], bias[1:2], reps[:, 1:2], a, level=0.9)
    for key in ("square", "estimate", "lower", "upper"):
        np.testing.assert_allclose(both[key][1:2], one[key])
    assert np.all(both["lower"] <= both["estimate"] + 1e-12)
    assert np.all(both["estimate"] <= both["upper"] + 1e-12)
    # nVAT^2 is the mean of the VAT(u)^2
    np.testing.assert_allclose(both["square"][:, 0], both["square"][:, 1:].mean(-1))


def test_norm_intervals_say_nothing_without_enough_replicates():
    pairs, a = squared_norm_weights(4)
    r = np.full((1, len(pairs)), 0.3)
    reps = np.full((50, 1, len(pairs)), np.nan)
    reps[:10] = 0.3 + np.random.default_rng(0).normal(0, 0.05, (10, 1, len(pairs)))
    out = norm_intervals(r, np.full(r.shape, 0.02), reps, a, level=0.9)
    assert np.isnan(out["lower"]).all() and np.isnan(out["upper"]).all()
    assert np.isfinite(out["estimate"]).all() and out["replicates"][0] == 10


def test_observed_tax_of_the_shift_model_is_zero_without_coupling_and_grows_with_it():
    zero, _ = observed_tax(np.eye(10), n=40_000)
    weak, _ = observed_tax(circumplex_coupling(10, 0.2), n=40_000)
    strong, _ = observed_tax(circumplex_coupling(10, 0.5), n=40_000)
    assert zero < 0.02 < weak < strong
