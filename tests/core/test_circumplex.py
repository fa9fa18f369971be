"""The RTHOR kernels against a brute-force count over all pairs of pairs, and against rthor
(the Python port of RTHORR) on its documented example and on random matrices with ties."""

import itertools

import numpy as np
import pytest
import rthor
import xarray as xr

from vatjax.core.circumplex import (
    circular_distances,
    hypothesis,
    order_counts,
    pair_index,
    permuted_agreements,
    relabellings,
)
from vatjax.named.circumplex import circumplex


def _brute(r: np.ndarray, dist: np.ndarray) -> tuple[int, int, int]:
    """Agreements, disagreements, ties: every pair of pairs, one by one."""
    n = len(r)
    pairs = [(u, w) for u in range(n) for w in range(u + 1, n)]
    agree = disagree = ties = 0
    for p, q in itertools.product(pairs, pairs):
        if dist[p] < dist[q]:  # p nearer: predicted to correlate more
            agree += r[p] > r[q]
            disagree += r[p] < r[q]
            ties += r[p] == r[q]
    return agree, disagree, ties


def _tied_matrix(rng, n):
    a = np.triu(rng.integers(-3, 4, (n, n)) / 4.0, 1)  # few levels: many ties
    return a + a.T + np.eye(n)


@pytest.mark.parametrize("n", [5, 7, 10])
def test_counts_equal_a_brute_force_count_with_ties(n):
    rng = np.random.default_rng(n)
    angles = rng.choice(np.arange(12) * np.pi / 6, n, replace=False)  # equal gaps tie
    dist = circular_distances(angles)
    iu, ju = pair_index(n)
    h = hypothesis(dist[iu, ju])
    for _ in range(5):
        r = _tied_matrix(rng, n)
        got = [int(c) for c in order_counts(r[iu, ju], h)]
        assert got == list(_brute(r, dist))
        assert sum(got) == h.sum()


def test_relabelled_agreements_equal_counts_on_the_permuted_matrix():
    rng = np.random.default_rng(0)
    n = 8
    dist = circular_distances(np.arange(n) * 2 * np.pi / n)
    iu, ju = pair_index(n)
    r = _tied_matrix(rng, n)
    perms, exact = relabellings(n, 50, seed=3)
    assert not exact and (perms[0] == np.arange(n)).all() and len(perms) == 51
    got = np.asarray(permuted_agreements(r[iu, ju][None], dist, perms, chunk=16))[0]
    for k, perm in enumerate(perms):
        permuted = r[np.ix_(perm, perm)]  # rows and columns relabelled together
        assert got[k] == _brute(permuted, dist)[0]


def test_there_are_800_predictions_for_10_values_on_a_circle():
    dist = circular_distances(np.arange(10) * 2 * np.pi / 10)
    iu, ju = pair_index(10)
    assert hypothesis(dist[iu, ju]).sum() == 800


# rthor's documented example (docs/examples/basic-usage.py): three 6-variable matrices
RTHOR_EXAMPLE = np.array([
    [[1.00, 0.80, 0.50, 0.20, 0.40, 0.70], [0.80, 1.00, 0.75, 0.45, 0.30, 0.55],
     [0.50, 0.75, 1.00, 0.80, 0.50, 0.35], [0.20, 0.45, 0.80, 1.00, 0.75, 0.40],
     [0.40, 0.30, 0.50, 0.75, 1.00, 0.70], [0.70, 0.55, 0.35, 0.40, 0.70, 1.00]],
    [[1.00, 0.70, 0.45, 0.25, 0.35, 0.65], [0.70, 1.00, 0.68, 0.40, 0.28, 0.50],
     [0.45, 0.68, 1.00, 0.72, 0.48, 0.32], [0.25, 0.40, 0.72, 1.00, 0.70, 0.38],
     [0.35, 0.28, 0.48, 0.70, 1.00, 0.65], [0.65, 0.50, 0.32, 0.38, 0.65, 1.00]],
    [[1.00, 0.60, 0.40, 0.30, 0.35, 0.55], [0.60, 1.00, 0.58, 0.42, 0.32, 0.48],
     [0.40, 0.58, 1.00, 0.62, 0.45, 0.35], [0.30, 0.42, 0.62, 1.00, 0.60, 0.40],
     [0.35, 0.32, 0.45, 0.60, 1.00, 0.58], [0.55, 0.48, 0.35, 0.40, 0.58, 1.00]],
])  # fmt: skip


@pytest.mark.parametrize("source", ["documented", "random-with-ties"])
def test_ci_and_exact_p_equal_rthor(source):
    if source == "documented":
        mats = RTHOR_EXAMPLE
    else:
        rng = np.random.default_rng(11)
        mats = np.stack([_tied_matrix(rng, 6) for _ in range(30)])
    ref = rthor.test(np.moveaxis(mats, 0, 2), order="circular6")
    names = [f"v{i}" for i in range(6)]
    coupling = xr.DataArray(mats, dims=("matrix", "value", "value2"),
                            coords={"value": names, "value2": names})  # fmt: skip
    got = circumplex(coupling, order=names, n_permutations=720)
    assert got.attrs["exact_test"] == 1 and got.attrs["n_permutations"] == 720
    assert (got["agreements"].values == ref["agreements"].values).all()
    assert (got["ties"].values == ref["ties"].values).all()
    np.testing.assert_allclose(got["ci"].values, ref["ci"].values, atol=1e-12)
    np.testing.assert_allclose(got["p_value"].values, ref["p_value"].values, atol=1e-12)
    assert got.attrs["predictions"] == ref["predictions"].iloc[0] == 72
