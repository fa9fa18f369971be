"""Judgments: loading from every format, validation messages, scores and shifts."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vatjax
from vatjax import SCHWARTZ, Taxonomy, VatInputError


def small_table(**overrides) -> pd.DataFrame:
    """Two models, pre + one intervention, 4 scenarios, 3 micro-values, both polarities."""
    rng = np.random.default_rng(0)
    rows = []
    for model in ("m1", "m2"):
        for cond, target, direction in (("pre", None, None), ("dpo", "Power", -1)):
            for s in range(4):
                for mv in ("Wealth", "Authority", "Healthy"):
                    for pol in ("express", "suppress"):
                        rows.append(
                            dict(
                                model=model,
                                condition=cond,
                                scenario=f"s{s}",
                                micro_value=mv,
                                polarity=pol,
                                rating=float(rng.integers(1, 6)),
                                strategy=None if cond == "pre" else "dpo-ckpt6",
                                target=target,
                                direction=direction,
                            )
                        )
    df = pd.DataFrame(rows)
    for col, val in overrides.items():
        df[col] = val
    return df


def test_scores_and_shifts_match_pandas_groupby():
    study = vatjax.simulate_study(seed=3, n_models=2, n_scenarios=6, missing_rate=0.2)
    j = vatjax.load_judgments(study.table)
    t = study.table.assign(
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


def test_missing_ratings_stay_nan_never_zero():
    df = small_table()
    df.loc[(df.scenario == "s1") & (df.micro_value.isin(["Wealth", "Authority"])), "rating"] = None
    j = vatjax.load_judgments(df)
    e = vatjax.scores(j)
    assert np.isnan(e.sel(scenario="s1", value="Power")).all()
    assert np.isfinite(e.sel(scenario="s0", value="Power")).all()
    assert np.isnan(vatjax.shifts(j).sel(scenario="s1", value="Power")).all()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".json"])
def test_every_file_format_loads_the_same(tmp_path, suffix):
    df = small_table()
    path = tmp_path / f"j{suffix}"
    vatjax.io.write_table(df, path)
    xr.testing.assert_identical(vatjax.load_judgments(path), vatjax.load_judgments(df))


def test_conditions_as_a_separate_table_and_other_scale():
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


def test_value_level_table_and_custom_taxonomy():
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


def test_every_problem_is_reported_at_once_with_rows_and_columns():
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
        (lambda d: d.assign(direction=np.where(d.condition == "pre", None, "up")), "direction"),
        (lambda d: d.assign(target=None), "has no target"),
        (lambda d: d[d.condition == "pre"], "there is no intervention"),
        (
            lambda d: d.assign(model=np.where(d.index == 10, "", d.model)),
            "'model' is empty in row 11",
        ),
    ],
)
def test_each_bad_input_has_a_named_error(mutate, needle):
    with pytest.raises(VatInputError, match=None) as info:
        vatjax.load_judgments(mutate(small_table()))
    assert needle in str(info.value)


def test_conflicting_condition_metadata_is_an_error():
    df = small_table()
    df.loc[(df.condition == "dpo") & (df.model == "m2"), "target"] = "Security"
    assert any("several values for condition 'dpo'" in p for p in problems_of(df))


def test_unknown_file_type_and_missing_file(tmp_path):
    (tmp_path / "x.xlsx").write_text("nope")
    with pytest.raises(VatInputError, match="unknown file type"):
        vatjax.load_judgments(tmp_path / "x.xlsx")
    with pytest.raises(FileNotFoundError):
        vatjax.load_judgments(tmp_path / "absent.csv")


def test_taxonomy_validation():
    assert SCHWARTZ.value_of("self direction") == "Self-direction"
    assert len(SCHWARTZ.micro_values) == 56
    assert sorted(set(SCHWARTZ.micro_values.values())) == sorted(SCHWARTZ.values)
    with pytest.raises(VatInputError, match="not in the taxonomy"):
        Taxonomy(("A", "B"), {"a1": "C"})
    with pytest.raises(VatInputError, match="one angle per value"):
        Taxonomy(("A", "B"), {}, angles=(0.0,))
    assert Taxonomy.from_json(SCHWARTZ.to_json()) == SCHWARTZ
