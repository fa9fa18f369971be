"""Bad input that once ended in a traceback or passed silently: each exits 2 with a message
that names the flag or column and the fix (and the Python API says the same in keywords)."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app
from vatjax.errors import VatInputError

runner = CliRunner()


def _study(seed=0, **kw) -> pd.DataFrame:
    kw = {"n_models": 2, "n_scenarios": 6, "n_truth_draws": 50, **kw}
    table = vatjax.simulate_study(seed=seed, **kw).table
    return table.astype({c: str for c in table.columns if table[c].dtype == "category"})


def _value_level(table: pd.DataFrame) -> pd.DataFrame:
    """One micro-value per value, named by its value only (no micro_value column)."""
    first = {}
    for micro, value in vatjax.SCHWARTZ.micro_values.items():
        first.setdefault(value, micro)
    return table[table["micro_value"].isin(first.values())].drop(columns="micro_value")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    micro = _study()
    value = _value_level(micro)
    out = {"micro": root / "micro.csv", "value": root / "value.csv"}
    micro.to_csv(out["micro"], index=False)
    value.to_csv(out["value"], index=False)
    return out


def _fails(args, *needles):
    """Run the CLI; it must exit 2, with no traceback, naming every needle."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "np.float" not in result.output
    message = result.output[result.output.index("error:") :]
    for needle in needles:
        assert needle in message, (needle, message)
    return message


def test_micro_value_level_on_a_value_level_table(files):
    _fails(["vat", files["value"], "--level", "micro_value", "--bootstrap", "0"],
           "--level micro_value needs micro-values", "'micro_value' column",
           "use --level value")  # fmt: skip
    judgments = vatjax.load_judgments(files["value"])
    with pytest.raises(VatInputError, match="level='micro_value' needs micro-values"):
        vatjax.shifts(judgments, "micro_value")


def test_fit_of_a_value_level_table_says_what_it_needs(files):
    _fails(["fit", files["value"], "--no-progress"], "'micro_value' column",
           "--model mvn-marginal")  # fmt: skip


def test_mixed_1_5_and_1_7_ratings_are_rejected(tmp_path):
    five = _study(seed=0, n_scenarios=10)
    seven = _study(seed=1, n_scenarios=10, scale=(1, 7))
    mixed = pd.concat([five[five["model"] == "model-1"], seven[seven["model"] == "model-2"]])
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    _fails(["vat", tmp_path / "mixed.csv", "--scale", "1,7"],
           "model 'model-1' rates only 1..5", "they use 1..7", "mix rating scales",
           "--scale LOW,HIGH")  # fmt: skip
    with pytest.raises(VatInputError, match=r"scale=\(low, high\)"):
        vatjax.load_judgments(mixed, scale=(1, 7))


def test_the_mixed_scale_rule_passes_ordinary_studies():
    for seed, kw in enumerate([{}, {"missing_rate": 0.3}, {"scale": (1, 7)},
                               {"effects": (3.0, 4.0, 5.0), "layout": "both-polarities"}]):  # fmt: skip
        study = vatjax.simulate_study(seed=seed, n_models=4, n_scenarios=80, n_truth_draws=50, **kw)
        vatjax.load_judgments(study.table, scale=kw.get("scale", (1, 5)))


def test_an_intervention_with_every_rating_missing_is_named(files, tmp_path):
    table = pd.read_csv(files["value"])
    table.loc[table["condition"] == "prompt-8shot:Power", "rating"] = np.nan
    table.to_csv(tmp_path / "gone.csv", index=False)
    _fails(["vat", tmp_path / "gone.csv"],
           "condition 'prompt-8shot:Power' has no rating for models 'model-1', 'model-2'",
           "remove its rows")  # fmt: skip


def test_a_missing_rate_outside_0_1_is_rejected(tmp_path):
    _fails(["simulate", "--out", tmp_path / "s.csv", "--missing-rate", "1.5"],
           "--missing-rate", "[0, 1)", "got 1.5")  # fmt: skip
    assert not (tmp_path / "s.csv").exists()
    with pytest.raises(VatInputError, match=r"missing_rate is the fraction .* got -0.1"):
        vatjax.simulate_study(seed=0, n_scenarios=3, missing_rate=-0.1)


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--null", "1"], ["--null 1 is too few permutations", "1/(N+1)", "at least 19"]),
        (["--bootstrap", "-5"], ["--bootstrap must be a whole number >= 2, got -5"]),
        (["--bootstrap", "50", "--confidence", "95"],
         ["--confidence must lie in (0, 1), got 95: did you mean 0.95?"]),
    ],
)  # fmt: skip
def test_resampling_flags_are_named_as_flags(files, flags, needles):
    message = _fails(["vat", files["micro"], *flags], *needles)
    assert "n_resamples" not in message and "n_permutations" not in message


def test_too_few_permutations_in_python_speak_keywords(files):
    delta = vatjax.shifts(vatjax.load_judgments(files["micro"]))
    with pytest.raises(VatInputError, match=r"n_permutations=5 is too few"):
        vatjax.noise_floor(delta, n_permutations=5, quiet=True)
    with pytest.raises(VatInputError, match=r"level must lie in \(0, 1\), got 95: did you"):
        vatjax.bootstrap(delta, n_resamples=10, level=95, quiet=True)


def test_a_micro_value_in_the_value_column_is_told_as_such(files, tmp_path):
    table = pd.read_csv(files["value"])
    table["value"] = table["value"].replace({"Power": "Wealth"})
    table.to_csv(tmp_path / "wealth.csv", index=False)
    message = _fails(["vat", tmp_path / "wealth.csv"],
                     "'Wealth' in column 'value'", "is a micro-value",
                     "of the value 'Power'", "column named 'micro_value'")  # fmt: skip
    assert "did you mean" not in message


def test_a_semicolon_csv_reads_like_a_comma_one(files, tmp_path):
    pd.read_csv(files["value"]).to_csv(tmp_path / "semi.csv", index=False, sep=";")
    comma = runner.invoke(app, ["vat", str(files["value"]), "-o", str(tmp_path / "a.csv")])
    semi = runner.invoke(app, ["vat", str(tmp_path / "semi.csv"), "-o", str(tmp_path / "b.csv")])
    assert comma.exit_code == semi.exit_code == 0, semi.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_a_missing_baseline_names_the_flag_and_the_likely_condition(files, tmp_path):
    table = pd.read_csv(files["micro"])
    table["condition"] = table["condition"].replace({"pre": "base"})
    table.to_csv(tmp_path / "base.csv", index=False)
    message = _fails(["vat", tmp_path / "base.csv"],
                     "no baseline condition 'pre' in column 'condition'", "--baseline base")  # fmt: skip
    assert "intervention 'base'" not in message  # the baseline's empty target is no problem
    with pytest.raises(VatInputError, match="baseline='base'"):
        vatjax.load_judgments(table)
    assert (
        runner.invoke(app, ["vat", str(tmp_path / "base.csv"), "--baseline", "base"]).exit_code == 0
    )


def test_off_scale_ratings_suggest_the_scale_that_holds_them(files, tmp_path):
    table = pd.read_csv(files["micro"])
    table["rating"] = table["rating"] + 2
    table.to_csv(tmp_path / "off.csv", index=False)
    _fails(["vat", tmp_path / "off.csv"], "off the 1..5 scale", "--scale 1,7")
    with pytest.raises(VatInputError, match=r"scale=\(1, 7\)"):
        vatjax.load_judgments(table)


def test_no_numpy_repr_in_a_message():
    table = _study().assign(direction=lambda t: np.where(t["condition"] == "pre", np.nan, np.nan))
    with pytest.raises(VatInputError) as info:
        vatjax.load_judgments(table.astype({"direction": float}))
    assert "np." not in str(info.value) and "has no direction" in str(info.value)


@pytest.mark.parametrize("scale", ["7,1", "1", "a,b", "1,5,7"])
def test_a_bad_scale_flag(files, scale):
    _fails(["vat", files["micro"], "--scale", scale], "--scale must be LOW,HIGH")


@pytest.mark.parametrize(
    "flags, needle",
    [(["--scheme", "jackknife"], "--scheme"), (["--interval", "bc"], "--interval")],
)
def test_a_bad_resampling_name_is_refused_even_when_no_resample_runs(files, flags, needle):
    _fails(["vat", files["micro"], "--bootstrap", "0", *flags], needle)
