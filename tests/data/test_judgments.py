"""Judgments: validation messages, separate condition tables, other scales and taxonomies."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vatjax
from vatjax import Taxonomy, VatInputError
from vatjax.data import check_judgments


def test_conditions_as_a_separate_table_and_other_scale(small_table):
    df = small_table().drop(columns=["strategy", "target", "direction"])
    df["rating"] = df["rating"] + 1  # 2..6 on a 1..7 scale
    conds = pd.DataFrame(
        {
            "condition": ["dpo"],
            "strategy": ["dpo-ckpt6"],
            "target": ["power"],
            "direction": ["suppress"],
        }
    )
    j = vatjax.load_judgments(df, conditions=conds, scale=(1, 7))
    assert j.attrs["midpoint"] == 4
    assert j["target"].sel(condition="dpo") == "Power"
    assert int(j["direction"].sel(condition="dpo")) == -1
    phi = vatjax.scores(j)
    assert float(np.nanmax(np.abs(phi))) <= 1.0


def test_value_level_table_and_custom_taxonomy(small_table):
    df = small_table().drop(columns="micro_value").assign(value="Power")
    df["repeat"] = df.groupby(["model", "condition", "scenario", "polarity"]).cumcount()
    j = vatjax.load_judgments(df)
    assert set(j["micro_value"].values) == {"Power"}
    assert j.sizes["item"] == 4 * 2 * 3
    tax = Taxonomy(("Care", "Fairness", "Loyalty"), {"Kindness": "Care", "Justice": "Fairness"})
    df2 = small_table(micro_value="Kindness").assign(
        target=lambda d: np.where(d.condition == "pre", None, "Care")
    )
    df2["repeat"] = df2.groupby(["model", "condition", "scenario", "polarity"]).cumcount()
    j2 = vatjax.load_judgments(df2, taxonomy=tax)
    assert vatjax.shifts(j2)["value"].values.tolist() == ["Care"]


def problems_of(df, **kw) -> list[str]:
    with pytest.raises(VatInputError) as info:
        vatjax.load_judgments(df, **kw)
    return info.value.problems


def test_every_problem_is_reported_at_once_with_rows_and_columns(small_table):
    df = small_table()
    df["rating"] = df["rating"].astype(object)
    df.loc[2, "rating"] = 9
    df.loc[3, "rating"] = 2.5
    df.loc[4, "rating"] = "high"
    df.loc[5, "polarity"] = "sideways"
    df.loc[6, "micro_value"] = "Welth"
    df.loc[df.condition == "dpo", "target"] = "Powr"
    problems = problems_of(df)
    text = "\n".join(problems)
    assert len(problems) == 6, text
    assert "off the 1..5 scale in row 3 " in text
    assert "not a whole number in row 4 " in text
    assert "'rating' is not a number in row 5 " in text
    assert "'polarity'" in text and "row 6 " in text and "'sideways'" in text
    assert "unknown micro-value 'Welth'" in text and "did you mean 'Wealth'" in text
    assert "target 'Powr'" in text and "did you mean 'Power'" in text


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (
            lambda d: d[~((d.model == "m2") & (d.condition == "pre"))],
            "model 'm2' has interventions",
        ),
        (lambda d: pd.concat([d, d.iloc[[7]]]), "duplicate (model, condition, scenario"),
        (lambda d: d.drop(columns="polarity"), "missing column(s) ['polarity']"),
        (lambda d: d.iloc[:0], "empty"),
        (
            lambda d: d.assign(direction=np.where(d.condition == "pre", None, "sideways")),
            "direction",
        ),
        (lambda d: d.assign(target=None), "has no target"),
        (lambda d: d[d.condition == "pre"], "there is no intervention"),
        (
            lambda d: d.assign(model=np.where(d.index == 10, "", d.model)),
            "'model' is empty in row 11",
        ),
    ],
)
def test_each_bad_input_has_a_named_error(small_table, mutate, needle):
    with pytest.raises(VatInputError, match=None) as info:
        vatjax.load_judgments(mutate(small_table()))
    assert needle in str(info.value)


def test_conflicting_condition_metadata_is_an_error(small_table):
    df = small_table()
    df.loc[(df.condition == "dpo") & (df.model == "m2"), "target"] = "Security"
    assert any("several values for condition 'dpo'" in p for p in problems_of(df))


def test_check_judgments_names_what_it_expected():
    with pytest.raises(VatInputError, match="expected the Dataset returned by"):
        check_judgments(xr.Dataset())
