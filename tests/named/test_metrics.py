"""The xarray layer: vatjax.vat on named shifts equals the reference cell by cell."""

import numpy as np
import pytest
from reference import vat_reference

import vatjax
from vatjax import SCHWARTZ, VatInputError


@pytest.fixture(scope="module")
def judgments():
    study = vatjax.simulate_study(seed=11, n_models=2, n_scenarios=40, missing_rate=0.1)
    return vatjax.load_judgments(study.table)


@pytest.mark.parametrize("level", ["value", "micro_value"])
@pytest.mark.parametrize("include_diagonal", [False, True])
def test_vat_equals_reference_for_every_cell(judgments, level, include_diagonal):
    delta = vatjax.shifts(judgments, level)
    res = vatjax.vat(delta, include_diagonal=include_diagonal)
    names = list(delta[level].values)
    owner = np.array([SCHWARTZ.value_of(n) for n in names])
    for model in ["model-1", "model-2"]:
        for iv in ["prompt-2shot:Security", "prompt-8shot:Hedonism"]:
            cell = delta.sel(model=model, intervention=iv)
            target = list(np.flatnonzero(owner == str(cell["target"].values)))
            ref = vat_reference(
                cell.values, target, int(cell["direction"]), include_diagonal=include_diagonal
            )
            got = res.sel(model=model, intervention=iv)
            for name, want in ref.items():
                np.testing.assert_allclose(
                    np.asarray(got[name], float),
                    np.asarray(want, float),
                    atol=1e-5,
                    equal_nan=True,
                    err_msg=f"{name} {model} {iv}",
                )


def test_result_has_named_dims_units_and_conventions(judgments):
    res = vatjax.vat(vatjax.shifts(judgments))
    assert res["coupling"].dims == ("model", "intervention", "value", "value2")
    assert res["gnd"].dims == ("model", "intervention", "value")
    assert res["gain"].attrs["units"] == "phi"
    assert res.attrs["include_diagonal"] == 0 and res.attrs["eps"] == 1e-3
    assert "Spearman" in res.attrs["coupling_convention"]
    assert list(res["strategy"].values[:3]) == ["prompt-2shot", "prompt-4shot", "prompt-8shot"]
    table = vatjax.metrics_table(res)
    assert len(table) == 2 * 12
    assert {"gain", "gain_raw", "nvat", "centralization", "n_samples"} <= set(table.columns)


def test_gain_is_oriented_by_direction(judgments):
    res = vatjax.vat(vatjax.shifts(judgments))
    np.testing.assert_allclose(res["gain"], res["gain_raw"] * res["direction"], atol=1e-7)


def test_bad_arguments_are_named(judgments):
    delta = vatjax.shifts(judgments)
    with pytest.raises(VatInputError, match="at least 3"):
        vatjax.vat(delta.isel(scenario=slice(0, 2)))
    with pytest.raises(VatInputError, match="eps must be"):
        vatjax.vat(delta, eps=-1)
    with pytest.raises(VatInputError, match=r"make them with vatjax\.shifts"):
        vatjax.vat(delta.rename(scenario="sample"))
    with pytest.raises(VatInputError, match="no judgments"):
        vatjax.vat(delta.sel(value=["Power", "Hedonism"]))


def test_the_unclipped_debiased_square_is_given_beside_its_root(judgments):
    res = vatjax.vat(vatjax.shifts(judgments))
    sq = res["nvat_sq_debiased"]
    assert set(sq.dims) == {"model", "intervention"} and sq.attrs["units"] == "1"
    assert "unbiased" in sq.attrs["long_name"]
    root = np.sqrt(np.clip(sq.values, 0, None))
    np.testing.assert_allclose(res["nvat_debiased"].values, root, rtol=1e-5, equal_nan=True)
    assert "nvat_sq_debiased" in vatjax.metrics_table(res).columns
