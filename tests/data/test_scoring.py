"""Scoring: phi, the mean per group (NumPy and JAX), value scores and shifts."""

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import vatjax
from vatjax import SCHWARTZ
from vatjax.data import GroupIndex, group_mean, phi, phi_levels


def test_scores_and_shifts_match_pandas_groupby():
    study = vatjax.simulate_study(seed=3, n_models=2, n_scenarios=6, missing_rate=0.2)
    j = vatjax.load_judgments(study.table)
    text = ["model", "condition", "scenario", "value", "micro_value", "polarity"]
    t = study.table.astype(dict.fromkeys(text, str)).assign(
        e=lambda d: np.where(d.polarity == "express", 1, -1) * (d.rating - 3) / 2
    )
    for level in ("value", "micro_value"):
        ref = t.groupby(["model", "condition", "scenario", level])["e"].mean()
        got = vatjax.scores(j, level).to_series().dropna()
        got.index = got.index.droplevel([n for n in got.index.names if n not in ref.index.names])
        pd.testing.assert_series_equal(
            got.sort_index(), ref.dropna().sort_index(), check_names=False, atol=1e-12
        )
    delta = vatjax.shifts(j)
    sel = dict(model="model-2", intervention="prompt-4shot:Power", scenario="s0003", value="Power")
    e = ref_value = t.groupby(["model", "condition", "scenario", "value"])["e"].mean()
    ref_value = (
        e[("model-2", "prompt-4shot:Power", "s0003", "Power")]
        - e[("model-2", "pre", "s0003", "Power")]
    )
    assert float(delta.sel(sel)) == pytest.approx(ref_value)
    assert delta.dims == ("model", "intervention", "scenario", "value")
    assert list(delta["value"].values) == list(SCHWARTZ.values)  # circumplex order
    assert "phi" in delta.attrs["units"]


def test_missing_ratings_stay_nan_never_zero(small_table):
    df = small_table()
    df.loc[(df.scenario == "s1") & (df.micro_value.isin(["Wealth", "Authority"])), "rating"] = None
    j = vatjax.load_judgments(df)
    e = vatjax.scores(j)
    assert np.isnan(e.sel(scenario="s1", value="Power")).all()
    assert np.isfinite(e.sel(scenario="s0", value="Power")).all()
    assert np.isnan(vatjax.shifts(j).sel(scenario="s1", value="Power")).all()


def test_phi_levels_span_the_scale():
    assert phi_levels(1, 5).tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert phi_levels(0, 6)[[0, 3, 6]].tolist() == [-1.0, 0.0, 1.0]
    assert phi(np.array([2, 6]), 1, 7).tolist() == pytest.approx([-2 / 3, 2 / 3])


def test_group_mean_is_the_same_in_numpy_and_jax_and_with_a_group_index():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 7)).astype(np.float32)
    mask = rng.random((3, 7)) < 0.7
    ids = np.array([0, 1, 1, 2, 0, 2, 1])
    one_hot = np.eye(4, dtype=np.float32)[ids]  # group 3 has no value: NaN, never zero
    mean, count = group_mean(values, mask, one_hot)
    got, _ = group_mean(jnp.asarray(values), jnp.asarray(mask), jnp.asarray(one_hot), xp=jnp)
    np.testing.assert_array_equal(np.asarray(got), mean)
    assert np.isnan(mean[:, 3]).all() and (count[:, 3] == 0).all()
    dense = np.where(mask, values, np.nan).astype(np.float64)
    by_index, _ = group_mean(dense, mask, GroupIndex(ids, 4))
    ref = pd.DataFrame(dense.T).groupby(ids).mean().T.to_numpy()
    np.testing.assert_allclose(by_index[:, :3], ref, rtol=1e-12)
    assert np.isnan(by_index[:, 3]).all()


def test_float32_ratings_score_exactly_as_float64():
    study = vatjax.simulate_study(seed=4, n_models=1, n_scenarios=30, missing_rate=0.1,
                                  n_truth_draws=100)  # fmt: skip
    j = vatjax.load_judgments(study.table)
    assert j["rating"].dtype == np.float32
    wide = j.assign(rating=j["rating"].astype(np.float64))
    for level in ("value", "micro_value"):
        xr_equal = vatjax.shifts(j, level).equals(vatjax.shifts(wide, level))
        assert xr_equal and vatjax.scores(j, level).equals(vatjax.scores(wide, level))
