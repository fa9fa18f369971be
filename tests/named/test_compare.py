"""Paired comparisons: the estimate is vat() on the shared samples, the weights are paired,
the swap kernels equal a brute-force loop, p-values are uniform under H0 and small under a
clear alternative, q-values are BH, tie groups follow their rule, bad input is refused."""

import re
from fractions import Fraction
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import xarray as xr
from reference import spearman_pairwise

import vatjax
from vatjax.core.compare import (
    gain_tables,
    level_tables,
    pooled_codes,
    sample_gains,
    swap_bits,
    swap_gain,
    swap_p_value,
    swap_tax_generic,
    swap_tax_levels,
    tie_groups,
)
from vatjax.core.shift_model import circumplex_coupling
from vatjax.errors import VatInputError
from vatjax.named.compare import _pairs, _sides
from vatjax.named.compare_run import paired_bootstrap, paired_swaps
from vatjax.named.validate import shift_cells
from vatjax.taxonomy import SCHWARTZ

VALUES = list(SCHWARTZ.values)
METRICS = ["gain", "nvat_debiased", "vat_debiased", "centralization_debiased"]


def make_shifts(x, targets=("Power", "Security", "Security"), directions=(-1, 1, 1)):
    """(model, intervention, scenario, value) shifts with per-intervention targets."""
    n_models, n_int, n, _ = x.shape
    return xr.DataArray(
        np.asarray(x, np.float32),
        dims=("model", "intervention", "scenario", "value"),
        coords={
            "model": [f"m{i}" for i in range(n_models)],
            "intervention": [f"i{i}" for i in range(n_int)],
            "scenario": [f"s{i}" for i in range(n)],
            "value": VALUES,
            "strategy": ("intervention", ["prompt"] * n_int),
            "target": ("intervention", list(targets)[:n_int]),
            "direction": ("intervention", list(directions)[:n_int]),
        },
    )


def tied(seed=0, shape=(2, 3, 40, 10), nan_rate=0.0):
    """Tied shifts; each cell lacks a few scenarios (so pairs share different samples)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, size=shape).astype(float) / 4
    x[rng.random(shape) < nan_rate] = np.nan
    for m, i in np.ndindex(shape[:2]):
        x[m, i, rng.choice(shape[2], 3, replace=False)] = np.nan  # absent scenarios
    return x


@pytest.fixture(scope="module")
def data():
    x = tied()
    x[1, 2] = x[1, 1]  # in m1, i2 is i1 under another name (same target and direction)
    sh = make_shifts(x)
    return sh, vatjax.compare(sh, n_resamples=40, n_permutations=99, seed=3, quiet=True)


def debiased_difference(sh, a, b, group, by):
    """vat() of each side on the samples both have, differenced."""
    sides = sh.sel({group[0]: [group[1]], by: [a, b]})
    shared = sides.notnull().any("value").all(by)
    res = vatjax.vat(sides.where(shared))
    return {m: (res[m].sel({by: a}) - res[m].sel({by: b})).squeeze(group[0]).values
            for m in METRICS}  # fmt: skip


@pytest.mark.parametrize(
    ("by", "nan_rate"), [("intervention", 0.0), pytest.param("model", 0.08, marks=pytest.mark.slow)]
)
def test_the_estimate_is_vat_on_the_shared_samples(data, by, nan_rate):
    # no NaN inside samples: the tie-level kernel; NaN: the pairwise kernel and engine
    sh = data[0] if nan_rate == 0 else make_shifts(tied(seed=1, nan_rate=nan_rate))
    ds = data[1] if nan_rate == 0 else vatjax.compare(
        sh, by=by, n_resamples=20, n_permutations=19, quiet=True)  # fmt: skip
    group = ds["n_shared"].dims[0]
    for g in ds[group].values:
        for a, b, pair in zip(ds["a"].values, ds["b"].values, ds["pair"].values, strict=True):
            want = debiased_difference(sh, a, b, (group, g), by)
            for m in METRICS:
                got = ds[m].sel({"stat": "estimate", group: g, "pair": pair}).values
                np.testing.assert_allclose(got, want[m], atol=2e-5, err_msg=f"{m} {a}-{b}")
            shared = sh.sel({group: g, by: [a, b]}).notnull().any("value").all(by).sum()
            assert int(ds["n_shared"].sel({group: g, "pair": pair})) == int(shared)
    assert np.isfinite(ds["nvat_debiased_p"]).all()


def test_the_weights_are_paired_a_duplicate_differs_by_zero(data):
    sh, ds = data
    at = {"model": "m1", "pair": "i1 - i2"}  # i2 duplicates i1 in m1
    for m in METRICS:
        table = ds[m].sel(stat=["estimate", "lower", "upper", "se"], **at).values
        np.testing.assert_array_equal(table, 0.0, err_msg=m)
        np.testing.assert_array_equal(ds[f"{m}_p"].sel(at).values, 1.0)
    assert (ds["nvat_debiased"].sel(stat="se", model="m0") > 0).all()
    sc = shift_cells(sh)  # the sides as compare makes them: every replicate is the same
    pairs = _pairs(sc.layout, sc.cells, None, None, "intervention")
    side_of, sides = _sides(pairs, sc.cells, pairs.note == "")
    _, reps = paired_bootstrap(sc.cells, sides, 40, 3)
    a, b = (side_of[(pairs.cell_a[1, 2], 1, 2)], side_of[(pairs.cell_b[1, 2], 1, 2)])
    np.testing.assert_array_equal(reps[:, a], reps[:, b])
    assert np.nanstd(reps[:, a, 1]) > 0


def brute_tax(x, include_diagonal=False):
    """Debiased nVAT, VAT(u), centralization of one arm by scipy and loops."""
    from reference import gini

    x = x[~np.isnan(x).all(1)]
    r = spearman_pairwise(x)
    keep = ~np.isnan(x)
    n_pair = keep.T.astype(float) @ keep
    c = 1 / (n_pair - 1)
    sq = r**2 - c * (1 - 1.715 * (r**2 - c))  # vatjax.core.debias.r_squared_noise
    np.fill_diagonal(sq, 1.0 if include_diagonal else 0.0)
    floor = 1.0 if include_diagonal else 0.0
    vat = np.sqrt(np.maximum(sq.sum(1), floor))
    return np.concatenate([[np.sqrt(max(sq.sum() / len(sq), floor))], vat, [gini(vat)]])


def exact_centred(xa, xb, mask):
    """Both sides centred per value on the shared samples in exact arithmetic, as the
    codes of their pooled order (a float64 mean can miss a tie across the sides)."""
    out = np.full((2, *xa.shape), np.nan)
    for v in range(xa.shape[1]):
        cols = []
        for x in (xa, xb):
            ok = mask & ~np.isnan(x[:, v])
            vals = [Fraction(float(t)) for t in x[ok, v]]
            mean = sum(vals) / len(vals)
            cols.append((ok, [t - mean for t in vals]))
        pool = sorted(set(cols[0][1]) | set(cols[1][1]))
        for j, (ok, vals) in enumerate(cols):
            out[j, ok, v] = [pool.index(t) for t in vals]
    return out


@pytest.mark.parametrize("nan_rate", [0.0, 0.1])
def test_swap_kernels_equal_a_brute_force_loop(nan_rate):
    rng = np.random.default_rng(5)
    n, v = 30, 4
    x = rng.integers(-3, 4, (3, n, v)) / 2.0
    x[rng.random(x.shape) < nan_rate] = np.nan
    mask = np.ones(n, bool)
    mask[[2, 9]] = False
    pairs = np.array([[0, 1], [0, 2], [2, 1]])
    k = swap_bits(jax.random.key(4), jnp.arange(-1, 7), n)
    masks = np.stack([mask] * 3)
    if nan_rate == 0:  # the tie-level kernel
        got = np.asarray(swap_tax_levels(level_tables(x, [0, 1, 2], masks, pairs), k))
    else:  # the materialised arms, NaN dropped pair by pair
        got = np.asarray(swap_tax_generic(*pooled_codes(x, [0, 1, 2], masks, pairs), k,
                                          pairwise=True))  # fmt: skip
    g, valid = zip(*[sample_gains(x[c], np.eye(v, dtype=bool)[1], -1.0) for c in range(3)],
                   strict=True)
    g, valid = np.stack(g), np.stack(valid) & mask
    gains = np.asarray(swap_gain(k, *gain_tables(g[pairs[:, 0]], valid[pairs[:, 0]],
                                                 g[pairs[:, 1]], valid[pairs[:, 1]])))  # fmt: skip
    for i, bits in enumerate(np.asarray(k).astype(bool)):
        for p, (a, b) in enumerate(pairs):
            xa, xb = exact_centred(x[a], x[b], mask)
            arm_a = np.where(bits[:, None], xa, xb)
            arm_b = np.where(bits[:, None], xb, xa)
            want = brute_tax(arm_a) - brute_tax(arm_b)
            np.testing.assert_allclose(got[i, p], want, atol=2e-5)
            ga = np.where(bits, g[a], g[b])[np.where(bits, valid[a], valid[b])].mean()
            gb = np.where(bits, g[b], g[a])[np.where(bits, valid[b], valid[a])].mean()
            np.testing.assert_allclose(gains[i, p], ga - gb, atol=1e-6)


def null_pairs(strength_a, strength_b, n, gain_a, seed=0):
    """One model per entry of the arrays, with interventions i0 (a: circumplex coupling
    strength_a, a gain_a on Security) and i1 (b), drawn independently from the model of
    :func:`vatjax.core.shift_model.simulate_shifts` (shift sd 0.5, rating noise 0.5, steps
    of 0.25), in numpy (a vmap of it over studies would compile for seconds)."""
    rng = np.random.default_rng(seed)
    x = np.empty((len(strength_a), 2, n, 10))
    for side, strengths in enumerate((strength_a, strength_b)):
        for i, c in enumerate(strengths):
            evals, evecs = np.linalg.eigh(circumplex_coupling(10, c))
            root = evecs * np.sqrt(np.clip(evals, 0, None))
            true = rng.normal(size=(n, 10)) @ root.T * 0.5
            true[:, VALUES.index("Security")] += gain_a[i] if side == 0 else 0.0
            x[i, side] = np.round((true + 0.5 * rng.normal(size=(n, 10))) / 0.25) * 0.25
    return make_shifts(x, targets=("Security", "Security"), directions=(1, 1))


def swap_p_values(sh, n_permutations=199, seed=2):
    """The permutation p-values of i0 - i1 in every model, as compare computes them (the
    bootstrap left out), (model, stat): gain, nvat, vat(V), centralization."""
    cells = shift_cells(sh).cells
    sides = [(c, cells.present[c]) for c in range(len(cells.x))]
    pairs = np.arange(len(sides)).reshape(-1, 2)
    null = paired_swaps(cells, sides, pairs, n_permutations, seed)
    return swap_p_value(null[0], null[1:])


@pytest.mark.slow
def test_p_values_are_uniform_under_equal_coupling_and_small_under_a_clear_alternative():
    # 200 pairs of equal coupling, half of them with a gain difference of two rating steps
    # (the centring absorbs it), then 40 pairs of clearly different coupling
    strength_a = np.r_[np.full(200, 0.3), np.full(40, 0.9)]
    strength_b = np.r_[np.full(200, 0.3), np.zeros(40)]
    gain_a = np.r_[np.full(100, 0.5), np.zeros(140)]
    p = swap_p_values(null_pairs(strength_a, strength_b, 80, gain_a))
    null, alt = p[:200], p[200:]
    tests = {"nvat": null[:, 1], "vat(Security)": null[:, 2 + VALUES.index("Security")],
             "centralization": null[:, -1], "gain (equal gains)": null[100:, 0]}  # fmt: skip
    for name, values in tests.items():
        assert scipy.stats.kstest(values, "uniform").pvalue > 0.01, name
    assert (null[:100, 0] <= 0.05).mean() > 0.95  # the gain differences are found
    assert (alt[:, 1] <= 0.05).mean() >= 0.8


def test_q_values_are_benjamini_hochberg_over_the_pairs(data):
    ds = data[1]
    for m in METRICS:
        p = ds[f"{m}_p"].transpose(..., "pair").values
        q = ds[f"{m}_q"].transpose(..., "pair").values
        want = scipy.stats.false_discovery_control(p, axis=-1)
        np.testing.assert_allclose(q, want, rtol=1e-12, err_msg=m)


def test_tie_groups_follow_the_rule(data):
    ds = data[1]
    for g in ds["model"].values:
        score = ds["item_nvat_debiased"].sel(model=g).values
        items = list(ds["intervention"].values)
        order = np.argsort(score, kind="stable")
        np.testing.assert_array_equal(ds["rank"].sel(model=g).values[order], np.arange(1, 4))
        q = ds["nvat_debiased_q"].sel(model=g)
        groups, leader = {}, None
        for i in order:  # a plain loop of the documented rule
            if leader is None:
                leader, groups[i] = i, 1
                continue
            pair = [p for p, a, b in zip(ds["pair"].values, ds["a"].values, ds["b"].values,
                                         strict=True) if {a, b} == {items[leader], items[i]}]  # fmt: skip
            new = float(q.sel(pair=pair[0])) < 0.05
            leader = i if new else leader
            groups[i] = groups[order[0]] if not groups else max(groups.values()) + new
        assert [groups[i] for i in range(3)] == list(ds["tie_group"].sel(model=g).values)
    q = np.array([[np.nan, 0.01, 0.9], [0.01, np.nan, 0.01], [0.9, 0.01, np.nan]])
    rank, group = tie_groups(np.array([0.3, 0.1, np.nan]), q, 0.05)
    assert rank.tolist() == [2, 1, -1] and group.tolist() == [2, 1, -1]


def test_the_dataset_is_named_documented_and_reproducible(data):
    sh, ds = data
    assert ds["vat_debiased"].dims == ("stat", "model", "pair", "value")
    assert ds["nvat_debiased_q"].dims == ("model", "pair")
    assert ds["rank"].dims == ("model", "intervention")
    assert list(ds["stat"].values) == ["estimate", "lower", "upper", "se"]
    assert list(ds["a"].values) == ["i0", "i0", "i1"] and list(ds["b"].values) == ["i1", "i2", "i2"]
    for name, var in ds.data_vars.items():
        assert {"long_name", "units"} <= set(var.attrs), name
    assert {k: ds.attrs[k] for k in ("seed", "n_resamples", "n_permutations", "by")} == {
        "seed": 3, "n_resamples": 40, "n_permutations": 99, "by": "intervention"}  # fmt: skip
    assert ds.attrs["confidence_level"] == 0.95 and ds.attrs["level"] == "value"
    again = vatjax.compare(sh, n_resamples=40, n_permutations=99, seed=3, quiet=True)
    xr.testing.assert_identical(ds, again)
    other = vatjax.compare(sh, n_resamples=40, n_permutations=99, seed=4, quiet=True)
    assert not np.array_equal(other["nvat_debiased_p"], ds["nvat_debiased_p"])
    lower, upper = (ds["gain"].sel(stat=s, model="m0") for s in ("lower", "upper"))
    assert bool((lower <= ds["gain"].sel(stat="estimate", model="m0")).all())
    assert bool((lower < upper).all())  # (in m1 one pair is a duplicate: all zero)


def test_a_pair_without_shared_samples_is_noted(data):
    x = tied()
    x[0, 2, 20:] = np.nan  # i2 of m0: only scenarios 0-19
    x[0, 0, :20] = np.nan  # i0 of m0: only scenarios 20-39
    ds = vatjax.compare(make_shifts(x), n_resamples=20, n_permutations=19, quiet=True)
    at = {"model": "m0", "pair": "i0 - i2"}
    assert ds["note"].sel(at).item() == "no shared samples" and int(ds["n_shared"].sel(at)) == 0
    assert np.isnan(ds["nvat_debiased"].sel(at)).all() and np.isnan(ds["gain_p"].sel(at))
    assert np.isfinite(ds["gain_p"].sel(model="m1")).all()


@pytest.mark.parametrize(
    ("edit", "kwargs", "needle"),
    [
        ("disjoint", {"a": "i0", "b": "i2"}, "share no samples"),
        (None, {"a": "i9", "b": "i1"}, "a='i9' is not among the interventions of these shifts; they are"),
        (None, {"a": "i1", "b": "i00"}, "did you mean ['i0'"),
        (None, {"a": "i1", "b": "i1"}, "name two different"),
        (None, {"a": "i1"}, "give both a and b"),
        (None, {"by": "value"}, "by must be 'intervention'"),
        (None, {"by": "model", "n_resamples": 1}, "only 1 model"),
        (None, {"n_resamples": 0}, "n_resamples must be a whole number >= 1"),
        (None, {"n_permutations": 0}, "n_permutations must be a whole number >= 1"),
        (None, {"level": 1.5}, "level must lie in (0, 1)"),
    ],
)
def test_bad_input_names_the_problem_and_the_fix(edit, kwargs, needle):
    x = tied(shape=(1, 3, 12, 10))
    if edit == "disjoint":
        x[0, 0, 6:] = np.nan
        x[0, 2, :6] = np.nan
    with pytest.raises(VatInputError, match=re.escape(needle)):
        vatjax.compare(make_shifts(x), **{"n_resamples": 5, "n_permutations": 5, **kwargs})


@pytest.mark.slow
def test_the_readme_example_runs():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Paired comparisons") :]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # the project's own README
    assert namespace["ds"]["nvat_debiased"].dims[:2] == ("stat", "model")
