"""The jitted kernels against scipy.stats / numpy references, batching, and properties."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import gini as gini_reference
from reference import tied_shifts, vat_reference

from vatjax.core import (
    gini,
    group_plan,
    spearman,
    spearman_many,
    vat_from_coupling,
    vat_metrics,
)
from vatjax.taxonomy import SCHWARTZ

FIELDS = [
    "gain",
    "gain_raw",
    "gain_below_eps",
    "gnd",
    "coupling",
    "vat",
    "nvat",
    "centralization",
    "n_samples",
]


def run_kernel(x, mask, direction, *, include_diagonal, eps=1e-3, weights=None):
    weights = np.ones(x.shape[-2]) if weights is None else weights
    return vat_metrics(
        jnp.asarray(x, jnp.float32),
        jnp.asarray(weights, jnp.float32),
        jnp.asarray(mask),
        jnp.asarray(direction, jnp.float32),
        eps,
        include_diagonal=include_diagonal,
        pairwise=bool(np.isnan(x).any()),
    )


def assert_matches(got, ref, atol=1e-5):
    for name in FIELDS:
        np.testing.assert_allclose(
            np.asarray(getattr(got, name), float),
            np.asarray(ref[name], float),
            atol=atol,
            rtol=0,
            equal_nan=True,
            err_msg=name,
        )


MICRO_OWNER = np.array([SCHWARTZ.values.index(v) for v in SCHWARTZ.micro_values.values()])


@pytest.mark.parametrize("include_diagonal", [False, True])
@pytest.mark.parametrize(
    ("n_scenarios", "level"), [(60, "value"), (300, "value"), (120, "micro_value")]
)
def test_metrics_match_reference_with_ties_and_nans(n_scenarios, level, include_diagonal):
    rng = np.random.default_rng(n_scenarios)
    n_values = 10 if level == "value" else 56
    for target_value, direction in [(5, 1), (4, -1)]:
        x = tied_shifts(rng, (n_scenarios, n_values))
        target = (
            [target_value]
            if level == "value"
            else list(np.flatnonzero(MICRO_OWNER == target_value))
        )
        mask = np.isin(np.arange(n_values), target)
        got = run_kernel(x, mask, direction, include_diagonal=include_diagonal)
        assert_matches(got, vat_reference(x, target, direction, include_diagonal=include_diagonal))


def test_no_nan_fast_path_equals_pairwise_path():
    x = tied_shifts(np.random.default_rng(1), (200, 10), nan_rate=0.0)
    fast = spearman(jnp.asarray(x, jnp.float32), jnp.ones(200, jnp.float32), pairwise=False)
    slow = spearman(jnp.asarray(x, jnp.float32), jnp.ones(200, jnp.float32), pairwise=True)
    np.testing.assert_allclose(fast, slow, atol=1e-6)


@pytest.mark.parametrize("pairwise", [False, True])
@pytest.mark.parametrize("kind", ["counts", "large counts", "fractional"])
def test_spearman_many_int8_plan_equals_per_vector_spearman(kind, pairwise):
    """The int8 rank product (integer weights < 128) and its float32 fallback (weights of
    128 or more, or fractional ones) both give the per-vector Spearman."""
    rng = np.random.default_rng(3)
    x = tied_shifts(rng, (60, 10), nan_rate=0.1 if pairwise else 0.0)
    w = rng.poisson(1.0, (6, 60)).astype(np.float32)
    if kind == "large counts":
        w[2, 5] = 200.0  # one count above int8: the whole call takes the exact float path
    elif kind == "fractional":
        w = rng.dirichlet(np.ones(60), 6).astype(np.float32) * 60
    xj = jnp.asarray(x, jnp.float32)
    ref = np.stack([np.asarray(spearman(xj, jnp.asarray(wi), pairwise=pairwise)) for wi in w])
    for dtype in (jnp.int8, jnp.float32):
        got = spearman_many(group_plan(x, dtype), jnp.asarray(w), pairwise=pairwise)
        np.testing.assert_allclose(np.asarray(got), ref, atol=2e-6, equal_nan=True)
        np.testing.assert_array_equal(np.isnan(np.asarray(got)), np.isnan(ref))


def test_batched_equals_per_cell():
    rng = np.random.default_rng(7)
    x = tied_shifts(rng, (3, 4, 50, 10))
    mask = np.zeros((3, 4, 10), bool)
    mask[..., 2] = True
    mask[1, :, 2], mask[1, :, 7] = False, True
    direction = rng.choice([-1.0, 1.0], size=(3, 4))
    batch = run_kernel(x, mask, direction, include_diagonal=False)
    for i in range(3):
        for j in range(4):
            cell = run_kernel(x[i, j], mask[i, j], direction[i, j], include_diagonal=False)
            for name in FIELDS:
                np.testing.assert_allclose(
                    np.asarray(getattr(batch, name))[i, j],
                    np.asarray(getattr(cell, name)),
                    atol=1e-6,
                    equal_nan=True,
                    err_msg=name,
                )


def test_gnd_is_nan_and_flagged_below_eps_never_inf():
    x = np.zeros((20, 4))
    x[:, 1] = np.linspace(-1, 1, 20)  # target mean exactly 0
    x[:, 0] = np.linspace(0, 0.5, 20)
    m = run_kernel(x, np.array([False, True, False, False]), 1.0, include_diagonal=False)
    assert bool(m.gain_below_eps)
    assert np.all(np.isnan(np.asarray(m.gnd)))
    m2 = run_kernel(x, np.array([True, False, False, False]), -1.0, include_diagonal=False)
    assert not bool(m2.gain_below_eps)
    assert float(m2.gain) == pytest.approx(-0.25, abs=1e-6)
    assert float(m2.gnd[0]) == -1.0  # sign(Gain) at the target
    assert np.all(np.isfinite(np.asarray(m2.gnd)))


@pytest.mark.parametrize("pairwise", [True, False])
@pytest.mark.parametrize(("n", "constant"), [(30, 0.25), (30, 0.0), (997, 0.1)])
def test_constant_value_gives_nan_row_not_a_number(pairwise, n, constant):
    x = tied_shifts(np.random.default_rng(3), (n, 5), nan_rate=0.0)
    x[:, 3] = constant
    r = np.asarray(spearman(jnp.asarray(x, jnp.float32), jnp.ones(n, jnp.float32),
                            pairwise=pairwise))  # fmt: skip
    assert np.all(np.isnan(r[3])) and np.all(np.isnan(r[:, 3]))
    assert np.isfinite(np.delete(np.delete(r, 3, 0), 3, 1)).all()


def test_gini_matches_double_loop():
    rng = np.random.default_rng(0)
    for n in (2, 10, 56):
        x = rng.random(n)
        assert float(gini(jnp.asarray(x, jnp.float32))) == pytest.approx(
            gini_reference(x), abs=1e-6
        )


def test_diagonal_conventions_differ_by_the_unit_diagonal():
    rng = np.random.default_rng(5)
    r = spearman(
        jnp.asarray(tied_shifts(rng, (80, 10), 0.0), jnp.float32), jnp.ones(80, jnp.float32)
    )
    vat_off, nvat_off, _ = vat_from_coupling(r)
    vat_on, nvat_on, _ = vat_from_coupling(r, include_diagonal=True)
    np.testing.assert_allclose(vat_on**2, vat_off**2 + 1, rtol=1e-5)
    assert float(nvat_on) >= 1.0 > float(nvat_off)


# ---------------------------------------------------------------- properties (hypothesis)

shapes = st.sampled_from([(9, 4), (16, 6)])


@st.composite
def shift_cases(draw):
    n, v = draw(shapes)
    seed = draw(st.integers(0, 2**32 - 1))
    nan_rate = draw(st.sampled_from([0.0, 0.15]))
    rng = np.random.default_rng(seed)
    x = tied_shifts(rng, (n, v), nan_rate)
    target = draw(st.integers(0, v - 1))
    direction = draw(st.sampled_from([-1.0, 1.0]))
    perm = rng.permutation(n)
    relabel = rng.permutation(v)
    return x, target, direction, perm, relabel


@settings(max_examples=40, deadline=None)
@given(shift_cases(), st.booleans())
def test_properties(case, include_diagonal):
    x, target, direction, perm, relabel = case
    mask = np.arange(x.shape[1]) == target
    base = run_kernel(x, mask, direction, include_diagonal=include_diagonal)
    r = np.asarray(base.coupling)
    defined = ~np.isnan(r)
    # symmetric, within [-1, 1], unit diagonal wherever defined
    np.testing.assert_allclose(r, r.T, atol=1e-6, equal_nan=True)
    assert np.all(np.abs(r[defined]) <= 1 + 1e-6)
    assert np.all(np.diag(r)[defined.diagonal()] == 1.0)
    # permuting samples changes nothing
    shuffled = run_kernel(x[perm], mask, direction, include_diagonal=include_diagonal)
    for name in FIELDS:
        np.testing.assert_allclose(
            np.asarray(getattr(shuffled, name), float),
            np.asarray(getattr(base, name), float),
            atol=1e-5,
            equal_nan=True,
            err_msg=name,
        )
    # relabelling values consistently permutes the per-value results only
    rel = run_kernel(x[:, relabel], mask[relabel], direction, include_diagonal=include_diagonal)
    np.testing.assert_allclose(rel.coupling, r[np.ix_(relabel, relabel)], atol=1e-5, equal_nan=True)
    np.testing.assert_allclose(rel.vat, np.asarray(base.vat)[relabel], atol=1e-5, equal_nan=True)
    for name in ("nvat", "centralization", "gain"):
        np.testing.assert_allclose(
            float(getattr(rel, name)), float(getattr(base, name)), atol=1e-5, equal_nan=True
        )


@settings(max_examples=30, deadline=None)
@given(st.floats(0.01, 10.0), st.integers(1, 56))
def test_centralization_zero_when_all_vat_equal(value, n):
    assert float(gini(jnp.full(n, value, jnp.float32))) == pytest.approx(0.0, abs=1e-6)


def test_centralization_zero_for_a_circulant_coupling():
    angles = np.asarray(SCHWARTZ.angles)
    r = 0.3 * np.cos(angles[:, None] - angles[None, :]) + 0.7 * np.eye(10)
    vat, _, central = vat_from_coupling(jnp.asarray(r, jnp.float32))
    assert np.ptp(np.asarray(vat)) < 1e-6
    assert float(central) == pytest.approx(0.0, abs=1e-6)
