"""Judge reliability: the ICC and ordinal-alpha kernels against pingouin and krippendorff,
batch consistency, vatjax.reliability on repeats and on a second baseline, bad input."""

import re
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import vatjax
from vatjax.core.reliability import alpha_ordinal, group_means, icc
from vatjax.named.reliability import RELIABILITY_SCHEMA, reliability_table

LEVELS = np.arange(1.0, 6.0)


def ratings(rng, n_targets, n_raters, nan_rate=0.0, bias=0.0):
    """Likert 1..5 (ties are the rule): a target effect, a rater bias and noise."""
    truth = rng.normal(0, 1.2, (n_targets, 1))
    raters = rng.normal(0, 0.4, (1, n_raters)) + bias * np.arange(n_raters)
    x = np.clip(np.round(3 + truth + raters + rng.normal(0, 0.8, (n_targets, n_raters))), 1, 5)
    x[rng.random(x.shape) < nan_rate] = np.nan
    return x


def pingouin_icc(x):
    """pingouin's ICC2 and ICC3 (listwise deletion of missing ratings)."""
    t, r = np.indices(x.shape)
    long = pd.DataFrame({"t": t.ravel(), "r": r.ravel(), "y": x.ravel()})
    with warnings.catch_warnings():  # pingouin 0.7 calls a pandas API pandas deprecates
        warnings.filterwarnings("ignore", message="The inplace keyword")
        out = pingouin.intraclass_corr(long, "t", "r", "y", nan_policy="omit")
    by = out.set_index("Type")["ICC"]
    return by["ICC(A,1)"], by["ICC(C,1)"]


def kripp(x):
    return krippendorff.alpha(reliability_data=x.T, level_of_measurement="ordinal")


@pytest.mark.parametrize(("n_targets", "n_raters"), [(4, 2), (37, 3), (500, 2), (2000, 5)])
def test_icc_matches_pingouin(n_targets, n_raters):
    rng = np.random.default_rng(n_targets)
    for x in (ratings(rng, n_targets, n_raters), ratings(rng, n_targets, n_raters, bias=0.5)):
        r = icc(x)
        assert_allclose([r.icc2, r.icc3], pingouin_icc(x), atol=1e-6)
        assert (int(r.n_targets), int(r.n_raters)) == x.shape


@pytest.mark.parametrize(("n_targets", "n_raters"), [(12, 2), (200, 3), (1500, 4)])
def test_icc_with_missing_ratings_matches_pingouin_listwise(n_targets, n_raters):
    x = ratings(np.random.default_rng(7), n_targets, n_raters, nan_rate=0.1)
    r = icc(x)
    assert_allclose([r.icc2, r.icc3], pingouin_icc(x), atol=1e-6)
    assert int(r.n_targets) == int((~np.isnan(x)).all(axis=1).sum())


@pytest.mark.parametrize(("n_targets", "n_raters", "nan_rate"),
                         [(5, 2, 0.0), (60, 3, 0.2), (800, 2, 0.1), (3000, 4, 0.3)])  # fmt: skip
def test_alpha_matches_krippendorff(n_targets, n_raters, nan_rate):
    x = ratings(np.random.default_rng(n_targets + 1), n_targets, n_raters, nan_rate)
    assert_allclose(alpha_ordinal(x, LEVELS), kripp(x), atol=1e-6)


def test_alpha_with_unused_levels_and_a_lone_rating():
    """Levels no one used change nothing; a target rated once pairs with no one."""
    x = np.array([[2.0, 2.0], [2.0, 4.0], [4.0, 4.0], [4.0, np.nan], [2.0, 4.0], [4.0, 4.0]])
    assert_allclose(alpha_ordinal(x, np.arange(0.0, 8.0)), kripp(x), atol=1e-12)


def test_systematic_difference_lowers_icc2_not_icc3():
    x = ratings(np.random.default_rng(3), 400, 1)
    both = np.concatenate([x, np.clip(x + 1, 1, 5)], axis=1)
    r = icc(both)
    assert float(r.icc3) > 0.8 and float(r.icc2) < float(r.icc3) - 0.1


def test_batches_equal_one_cell_at_a_time():
    rng = np.random.default_rng(11)
    x = np.stack([[ratings(rng, 300, 3, 0.1) for _ in range(2)] for _ in range(3)])
    x[1, 0, :, 2] = np.nan  # a cell with a rater fewer
    batch, alpha = icc(x), alpha_ordinal(x, LEVELS)
    for i, j in np.ndindex(3, 2):
        one = icc(x[i, j])
        for field in ("icc2", "icc3", "n_targets", "n_raters"):
            assert_array_equal(getattr(batch, field)[i, j], getattr(one, field))
        assert_array_equal(alpha[i, j], alpha_ordinal(x[i, j], LEVELS))
    assert int(batch.n_raters[1, 0]) == 2


def test_undefined_cells_are_nan():
    one_target = np.array([[1.0, 2.0]])
    one_rater = np.array([[1.0], [2.0], [3.0]])
    one_level = np.full((5, 2), 3.0)
    for x in (one_target, one_rater, one_level):
        r = icc(x)
        assert np.isnan(r.icc2) and np.isnan(r.icc3)
    assert np.isnan(alpha_ordinal(one_level, LEVELS))
    assert np.isnan(alpha_ordinal(one_rater, LEVELS))


def test_group_means_match_pandas():
    rng = np.random.default_rng(5)
    values = rng.normal(size=(2, 3, 50))
    values[values > 1.5] = np.nan
    groups = rng.integers(0, 7, 50)
    got = group_means(values, groups, 8)
    for i, j in np.ndindex(2, 3):
        want = pd.Series(values[i, j]).groupby(groups).mean().reindex(range(8))
        assert_allclose(got[i, j], want.to_numpy())


# ---- vatjax.reliability: the named layer ----


def study(n_models=2, n_scenarios=30, seed=0):
    return vatjax.simulate_study(
        seed=seed, n_models=n_models, n_scenarios=n_scenarios,
        targets=[("Power", -1)], strategies=["prompt-4shot"], effects=(2.0,), coupling=0.1,
    ).table  # fmt: skip


def rejudge(table, rng, repeat, flip=0.3, bias=0):
    """``table`` judged again: a share ``flip`` of the ratings move one point."""
    step = np.where(rng.random(len(table)) < flip, rng.choice([-1, 1], len(table)), 0) + bias
    rating = np.clip(table["rating"].to_numpy() + step, 1, 5)
    return table.assign(rating=rating, repeat=repeat)


@pytest.fixture(scope="module")
def tables():
    """The baseline judged twice as repeats 0 and 1, and the same as conditions pre, pre-2."""
    base = study()
    rng = np.random.default_rng(1)
    pre = base[base["condition"] == "pre"]
    again = rejudge(pre, rng, 1)
    repeats = pd.concat([base.assign(repeat=0), again], ignore_index=True)
    retest = again.drop(columns="repeat").assign(
        condition="pre-2", strategy="retest", target="Power", direction=1
    )
    return repeats, pd.concat([base, retest], ignore_index=True)


@pytest.fixture(scope="module")
def from_repeats(tables):
    return vatjax.reliability(vatjax.load_judgments(tables[0]))


def by_pingouin(table, model, condition):
    """The reference figures of one model x condition, straight from the long table."""
    rows = table[(table["model"] == model) & (table["condition"] == condition)]
    wide = rows.pivot_table(index=["scenario", "micro_value", "polarity"], columns="repeat",
                            values="rating", observed=True, dropna=False)  # fmt: skip
    x = wide.to_numpy(np.float64)
    return (*pingouin_icc(x), kripp(x)), int((~np.isnan(x)).all(axis=1).sum())


def test_reliability_matches_the_references_per_model(tables, from_repeats):
    rel = from_repeats
    assert rel["icc2"].dims == ("model", "condition")
    assert rel["condition"].values.tolist() == ["pre"]  # the only condition judged twice
    for model in rel["model"].values:
        want, n_items = by_pingouin(tables[0], model, "pre")
        cell = rel.sel(model=model, condition="pre")
        got = [cell[k].item() for k in ("icc2", "icc3", "alpha_ordinal")]
        assert_allclose(got, want, atol=1e-6)
        assert (cell["n_items"].item(), cell["n_repeats"].item()) == (n_items, 2)
    assert 0.3 < rel["icc2"].min() and rel["icc2"].max() < 0.95


def test_a_second_baseline_gives_the_same_figures(tables, from_repeats):
    rel = vatjax.reliability(vatjax.load_judgments(tables[1]))
    assert rel.attrs["retest"] == "pre-2" and rel["condition"].values.tolist() == ["pre"]
    for name in ("icc2", "icc3", "alpha_ordinal", "nvat_judge_noise"):
        assert_allclose(rel[name], from_repeats[name], rtol=1e-6)
    assert_array_equal(rel["n_items"], from_repeats["n_items"])


def test_judge_noise_is_the_tax_of_pre2_minus_pre(tables, from_repeats):
    """The pre-vs-pre nVAT equals vatjax.vat of the shifts vatjax.shifts makes for pre-2."""
    judgments = vatjax.load_judgments(tables[1])
    expected = vatjax.vat(vatjax.shifts(judgments).sel(intervention=["pre-2"]))
    for name in ("nvat", "nvat_debiased"):
        ours = name.replace("nvat", "nvat_judge_noise")
        assert_allclose(from_repeats[ours], expected[name][:, 0], rtol=1e-6)
    # judge noise alone: the paper's figure is inflated by sampling noise, the debiased less
    assert (from_repeats["nvat_judge_noise_debiased"] < from_repeats["nvat_judge_noise"]).all()
    assert from_repeats.attrs["judge_noise_shifts"] == "pre repeat 1 minus pre repeat 0"


def test_batch_of_models_equals_one_model_at_a_time(tables, from_repeats):
    judgments = vatjax.load_judgments(tables[0])
    for i in range(judgments.sizes["model"]):
        one = vatjax.reliability(judgments.isel(model=[i]))
        for name in RELIABILITY_SCHEMA:
            assert_allclose(one[name], from_repeats[name].isel(model=[i]), rtol=1e-6)


def test_every_condition_judged_again_three_times_with_missing_ratings():
    base = study(n_models=1, n_scenarios=30, seed=2)
    rng = np.random.default_rng(4)
    parts = [base.assign(repeat=0)] + [rejudge(base, rng, r, bias=r - 1) for r in (1, 2)]
    table = pd.concat(parts, ignore_index=True)
    table.loc[rng.random(len(table)) < 0.05, "rating"] = np.nan
    rel = vatjax.reliability(vatjax.load_judgments(table))
    assert rel["condition"].values.tolist() == ["pre", "prompt-4shot:Power"]
    assert (rel["n_repeats"] == 3).all()
    for cond in rel["condition"].values:
        want, n_items = by_pingouin(table, "model-1", cond)
        got = [rel[k].sel(condition=cond).item() for k in ("icc2", "icc3", "alpha_ordinal")]
        assert_allclose(got, want, atol=1e-6)
        assert rel["n_items"].sel(condition=cond).item() == n_items < 30 * 56


def test_units_names_and_table(from_repeats):
    for name in RELIABILITY_SCHEMA:
        assert {"long_name", "units"} <= set(from_repeats[name].attrs), name
    assert "ICC(2,1)" in from_repeats["icc2"].attrs["long_name"]
    table = reliability_table(from_repeats)
    assert table[["model", "condition"]].values.tolist() == [["model-1", "pre"], ["model-2", "pre"]]
    assert_allclose(table["nvat_judge_noise"], from_repeats["nvat_judge_noise"])


# ---- bad input ----


def test_no_repeats_names_the_problem_and_the_fix():
    with pytest.raises(vatjax.VatInputError, match="no repeated judgments") as err:
        vatjax.reliability(vatjax.load_judgments(study(n_models=1, n_scenarios=5)))
    assert "`repeat` column" in str(err.value) and "'pre-2'" in str(err.value)


def test_one_item_judged_again_is_too_few():
    base = study(n_models=1, n_scenarios=5)
    again = base[base["condition"] == "pre"].head(1).assign(repeat=1)
    table = pd.concat([base.assign(repeat=0), again], ignore_index=True)
    with pytest.raises(vatjax.VatInputError, match="only one item was judged on every repeat"):
        vatjax.reliability(vatjax.load_judgments(table))


def test_repeats_of_other_items_are_no_retest():
    base = study(n_models=1, n_scenarios=6)
    pre = base[base["condition"] == "pre"]
    first, other = pre[pre["scenario"] != "s0005"], pre[pre["scenario"] == "s0005"]
    table = pd.concat([base[base["condition"] != "pre"].assign(repeat=0), first.assign(repeat=0),
                       other.assign(repeat=1)], ignore_index=True)  # fmt: skip
    with pytest.raises(vatjax.VatInputError, match="no item was judged on every repeat"):
        vatjax.reliability(vatjax.load_judgments(table))


def test_bad_arguments_are_named(tables):
    judgments = vatjax.load_judgments(tables[0])
    with pytest.raises(vatjax.VatInputError, match=r"retest='pre-3' is not a second baseline"):
        vatjax.reliability(judgments, retest="pre-3")
    with pytest.raises(vatjax.VatInputError, match="level must be"):
        vatjax.reliability(judgments, level="scenario")
    with pytest.raises(vatjax.VatInputError, match="expected the Judgments Dataset"):
        vatjax.reliability(tables[0])


def test_readme_example_runs():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Judge reliability") :]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # the project's own README
    assert namespace["rel"]["icc2"].dims == ("model", "condition")
