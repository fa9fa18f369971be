"""Resampling weights: the right distributions, exact totals, absent samples, invariance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.extend.random import threefry_2x32

from vatjax.core.random import host_words, random_words, threefry2x32
from vatjax.core.schemes import (
    draw_weights,
    jackknife_groups,
    jackknife_weights,
    resample_weights,
)
from vatjax.errors import VatInputError

KEY = jax.random.key(7)


def present_mask(n_cells=3, n=40, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random((n_cells, n)) < 0.8
    p[:, :3] = True
    return p


@pytest.mark.parametrize("scheme", ["bootstrap", "subsample", "bayesian"])
def test_totals_and_absent_samples(scheme):
    p = present_mask()
    w = np.asarray(resample_weights(KEY, 500, jnp.asarray(p), scheme=scheme))
    n = p.sum(-1)
    assert w.shape == (500, *p.shape)
    assert (w[:, ~p] == 0).all()
    assert (w >= 0).all()
    expected = np.floor(0.8 * n) if scheme == "subsample" else n
    np.testing.assert_allclose(w.sum(-1), np.broadcast_to(expected, (500, 3)), rtol=1e-5)
    if scheme != "bayesian":
        np.testing.assert_array_equal(w, np.round(w))  # integer weights
    if scheme == "subsample":
        assert set(np.unique(w)) <= {0.0, 1.0}


def test_threefry_is_jax_threefry_bit_for_bit():
    """The unrolled hash is JAX's Threefry-2x32: Random123's known answers, and equal to
    ``jax.extend.random.threefry_2x32`` for random keys, even and odd sizes."""
    ones, pi = np.uint32(0xFFFFFFFF), (np.uint32(0x243F6A88), np.uint32(0x85A308D3))
    kat = [  # key, counter, output (Random123 kat_vectors, threefry2x32_20)
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((ones, ones), (ones, ones), (0x1CB996FC, 0xBB002BE7)),
        ((np.uint32(0x13198A2E), np.uint32(0x03707344)), pi, (0xC4923A9C, 0x483DF7A0)),
    ]
    for (k1, k2), (c1, c2), want in kat:
        y = threefry2x32(np.uint32(k1), np.uint32(k2), jnp.full(1, c1, jnp.uint32),
                         jnp.full(1, c2, jnp.uint32))  # fmt: skip
        assert (int(y[0][0]), int(y[1][0])) == want
    for seed in (0, 1, 2**31 - 1):
        key = jax.random.key(seed)
        k = jax.random.key_data(key)
        for size in (1, 2, 7, 1000, 1001):
            want = threefry_2x32((k[0], k[1]), jnp.arange(size, dtype=jnp.uint32))
            np.testing.assert_array_equal(np.asarray(random_words(key, (size,))), want)
    rbg = random_words(jax.random.key(0, impl="rbg"), (3, 4))  # other keys: jax.random.bits
    assert rbg.shape == (3, 4) and rbg.dtype == jnp.uint32


def test_bootstrap_counts_are_multinomial():
    """Mean 1, var 1 - 1/n, cov -1/n, and the count of one sample is Binomial(n, 1/n)."""
    n, b = 30, 20_000
    w = np.asarray(resample_weights(KEY, b, jnp.ones(n, bool)))
    # each moment is an average of b draws: 5 Monte Carlo standard errors
    assert abs(w.mean() - 1) < 5 * np.sqrt((1 - 1 / n) / (b * n))
    var = w.var(axis=0, ddof=1)
    assert abs(var.mean() - (1 - 1 / n)) < 5 * np.sqrt(2 / b) * (1 - 1 / n)
    cov = np.cov(w[:, :10].T)[np.triu_indices(10, 1)]
    assert abs(cov.mean() + 1 / n) < 5 / np.sqrt(b * 45)
    k = np.arange(5)
    observed = np.array([(w[:, 0] == i).sum() for i in k] + [(w[:, 0] >= 5).sum()])
    pmf = scipy.stats.binom.pmf(k, n, 1 / n)
    expected = b * np.append(pmf, 1 - pmf.sum())
    assert scipy.stats.chisquare(observed, expected).pvalue > 1e-3


def test_bootstrap_counts_large_n_exact_total():
    """The Poisson path (n large): totals exactly n, P(count = 0) = (1 - 1/n)^n."""
    n, b = 3000, 400
    w = np.asarray(resample_weights(KEY, b, jnp.ones(n, bool)))
    assert (w.sum(-1) == n).all()
    p0 = (1 - 1 / n) ** n
    assert abs((w == 0).mean() - p0) < 5 * np.sqrt(p0 * (1 - p0) / (b * n))


def test_subsample_inclusion_probability():
    n, b = 20, 20_000
    w = np.asarray(resample_weights(KEY, b, jnp.ones(n, bool), scheme="subsample", fraction=0.8))
    m = 16
    assert (w.sum(-1) == m).all()
    incl = w.mean(0)
    assert np.abs(incl - m / n).max() < 5 * np.sqrt(m / n * (1 - m / n) / b)


def test_bayesian_weights_are_dirichlet():
    n, b = 10, 20_000
    w = np.asarray(resample_weights(KEY, b, jnp.ones(n, bool), scheme="bayesian"))
    # n x Dirichlet(1,...,1): mean 1, var (n - 1) / (n + 1); one coordinate / n is Beta(1, n-1)
    assert abs(w.var(0, ddof=1).mean() - (n - 1) / (n + 1)) < 0.03
    assert scipy.stats.kstest(w[:, 0] / n, scipy.stats.beta(1, n - 1).cdf).pvalue > 1e-3


def test_resample_b_does_not_depend_on_batching():
    p = jnp.asarray(present_mask())
    all_at_once = np.asarray(resample_weights(KEY, 10, p))
    later = np.asarray(resample_weights(KEY, 10, p, start=7))
    np.testing.assert_array_equal(all_at_once[7:], later[:3])
    one = np.asarray(jax.jit(draw_weights)(KEY, 4, p))
    np.testing.assert_array_equal(all_at_once[4], one)
    assert not np.array_equal(all_at_once[0], all_at_once[1])
    assert not np.array_equal(all_at_once[0, 0], all_at_once[0, 1])  # cells differ


@pytest.mark.parametrize("scheme", ["bootstrap", "subsample", "bayesian"])
def test_shared_weights_are_the_same_for_every_cell(scheme):
    p = np.ones((3, 25), bool)
    p[1, 5] = False
    w = np.asarray(resample_weights(KEY, 20, jnp.asarray(p), scheme=scheme, shared=True))
    np.testing.assert_array_equal(w[:, 0], w[:, 2])
    np.testing.assert_array_equal(w[:, 1, 5], 0.0)
    keep = np.arange(25) != 5
    np.testing.assert_array_equal(w[:, 0, keep], w[:, 1, keep])


def test_jackknife_leave_one_out_and_groups():
    p = np.array([[True, False, True, True], [True, True, True, True]])
    groups, g = jackknife_groups(p)
    assert g == 4
    np.testing.assert_array_equal(groups, [[0, -1, 1, 2], [0, 1, 2, 3]])
    w = np.stack([np.asarray(jackknife_weights(groups, i)) for i in range(g)])
    np.testing.assert_array_equal(w[:, 1], 1 - np.eye(4))
    np.testing.assert_array_equal(w[:3, 0], [[0, 0, 1, 1], [1, 0, 0, 1], [1, 0, 1, 0]])
    np.testing.assert_array_equal(w[3, 0], p[0])  # cell 0 has no 4th group: nothing left out
    np.testing.assert_array_equal(np.asarray(jackknife_weights(groups, -1)), p)

    big = np.ones((1, 100), bool)
    groups, g = jackknife_groups(big, 10, jax.random.key(3))
    assert g == 10
    np.testing.assert_array_equal(np.bincount(groups[0]), np.full(10, 10))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(scheme="jackknife"), "unknown scheme"),
        (dict(fraction=1.0), "fraction"),
        (dict(fraction=0.0), "fraction"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(VatInputError, match=match):
        resample_weights(KEY, 5, jnp.ones(5, bool), **kwargs)
    with pytest.raises(VatInputError, match="n_resamples"):
        resample_weights(KEY, 0, jnp.ones(5, bool))


def test_jackknife_groups_come_from_the_key():
    """Delete-a-group assignments are reproducible from the key and change with it."""
    present = np.ones((2, 50), bool)
    present[1, :7] = False
    a, _ = jackknife_groups(present, 5, jax.random.key(1))
    b, _ = jackknife_groups(present, 5, jax.random.key(1))
    c, _ = jackknife_groups(present, 5, jax.random.key(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert (a[1, :7] == -1).all()
    np.testing.assert_array_equal(np.bincount(a[1, 7:]), [9, 9, 9, 8, 8])  # 43 = 5 x 8 + 3


@pytest.mark.parametrize("shape", [(1,), (7,), (4, 9), (9002,)])
def test_host_words_equal_the_device_words(shape):
    key = jax.random.key(12)
    np.testing.assert_array_equal(host_words(key, shape), np.asarray(random_words(key, shape)))
