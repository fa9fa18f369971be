"""The dense layout of the Bayesian models and the bad-input errors raised before sampling."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import vatjax
from vatjax.bayes.data import prepare
from vatjax.errors import VatInputError


@pytest.fixture(scope="module")
def judgments():
    study = vatjax.simulate_study(
        seed=3, n_models=2, n_scenarios=5, targets=[("Power", -1), ("Security", 1)],
        strategies=["a", "b"], effects=(0.5, 1.0), coupling=0.5, missing_rate=0.1,
        layout="both-polarities",
    )  # fmt: skip
    return vatjax.load_judgments(study.table)


def test_dense_layout_holds_every_rating_once(judgments):
    data = prepare(judgments)
    rating = judgments["rating"].values
    # every rating lands in its (scenario, slot) cell, missing ones stay masked
    back = np.where(data.mask, data.rating + data.scale[0], np.nan)[
        :, :, data.item_scenario, data.item_slot
    ]
    assert_array_equal(back, rating)
    assert data.mask.sum() == np.isfinite(rating).sum()
    assert data.sizes["condition"] == 5 and data.sizes["slot"] == 112
    assert data.groups == ["Power-1", "Security+1"]
    assert data.strategy == ["a", "b", "a", "b"]


def test_scores_equal_the_point_scores(judgments):
    data = prepare(judgments)
    score, count = data.score()
    ref = vatjax.scores(judgments).transpose("model", "condition", "scenario", "value")
    assert_allclose(score, ref.sel(value=data.values).values, atol=1e-6)
    assert count.max() == 18 and count.min() >= 0


def test_a_selection_narrows_the_fit(judgments):
    ints = [c for c in judgments["condition"].values[1:] if c.startswith("b:")]
    data = prepare(judgments, models=["model-2"], interventions=ints, scenarios=["s0001", "s0003", "s0004"])  # fmt: skip
    assert data.models == ["model-2"] and data.interventions == ints
    assert data.scenarios == ["s0001", "s0003", "s0004"]
    assert data.rating.shape == (1, 3, 3, 112)


def test_within_cell_spread_matches_a_loop(judgments):
    data = prepare(judgments, models=["model-1"])
    ss, df = data.within_cell()
    signed = data.slot_sign * data.phi()[data.rating]
    v = 2
    ref_ss, ref_df = 0.0, 0
    for c in range(data.sizes["condition"]):
        for s in range(data.sizes["scenario"]):
            x = signed[0, c, s][(data.slot_value == v) & data.mask[0, c, s]]
            ref_ss += ((x - x.mean()) ** 2).sum() if x.size else 0.0
            ref_df += max(x.size - 1, 0)
    assert ss[0, v] == pytest.approx(ref_ss, rel=1e-5) and df[0, v] == ref_df


def _without(judgments, condition):
    return judgments.sel(condition=[c for c in judgments["condition"].values if c != condition])


def test_no_baseline_is_refused(judgments):
    with pytest.raises(VatInputError, match="no baseline"):
        vatjax.fit(_without(judgments, "pre"), progress=False)


def test_a_single_scenario_is_refused(judgments):
    one = judgments.isel(item=judgments["scenario"].values == "s0000")
    with pytest.raises(VatInputError, match="only 1 scenario"):
        vatjax.fit(one, progress=False)


def test_constant_ratings_are_refused(judgments):
    flat = judgments.copy(deep=True)
    flat["rating"][:] = 3.0
    with pytest.raises(VatInputError, match="every rating of model 'model-1' is 3"):
        vatjax.fit(flat, progress=False)


def test_no_intervention_and_incomplete_designs_are_refused(judgments):
    with pytest.raises(VatInputError, match="no intervention"):
        vatjax.fit(judgments.sel(condition=["pre"]), progress=False)
    holes = judgments.copy(deep=True)
    holes["rating"][1, 2] = np.nan
    with pytest.raises(VatInputError, match="model 'model-2' has no ratings under 'b:Power'"):
        vatjax.fit(holes, progress=False)


def test_selections_and_settings_are_checked(judgments):
    with pytest.raises(VatInputError, match=r"model\(s\) \['gpt'\] are not in the judgments"):
        vatjax.fit(judgments, models=["gpt"], progress=False)
    with pytest.raises(VatInputError, match="draws must be a whole number >= 1"):
        vatjax.fit(judgments, draws=0, progress=False)
    with pytest.raises(VatInputError, match="method must be 'nuts' or 'svi'"):
        vatjax.fit(judgments, method="hmc", progress=False)
    with pytest.raises(VatInputError, match="expected the Dataset returned by"):
        vatjax.fit(judgments["rating"], progress=False)


def test_a_target_without_ratings_is_refused(judgments):
    no_power = judgments.isel(item=judgments["value"].values != "Power")
    with pytest.raises(VatInputError, match=r"target value\(s\) \['Power'\] have no ratings"):
        vatjax.fit(no_power, progress=False)
