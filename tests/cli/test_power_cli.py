"""vatjax power: the table, the n for 80% power, the written results (equal to the Python
API's), a pilot judgments file, and bad input in flag words with exit code 2."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app

runner = CliRunner()
NS = (10, 20, 40, 80, 160)
COMMON = ["--n", ",".join(map(str, NS)), "--studies", "400", "--seed", "1"]


def invoke(*args):
    return runner.invoke(app, ["power", *map(str, args)], catch_exceptions=False)


def test_power_prints_the_table_and_writes_what_the_api_gives(tmp_path):
    out = tmp_path / "power.csv"
    args = ["--strength", 0.3, "--gain", 0.3, "--gain-b", 0.1, "--paired-correlation", 0.5]
    result = invoke(*COMMON, *args, "--no-check", "--out", out)
    assert result.exit_code == 0, result.output
    assert "power_tax" in result.output and "power_gain_difference" in result.output
    assert "n for 80% power to detect the tax:" in result.output
    assert "n for 80% power to detect the gain difference:" in result.output
    table = pd.read_csv(out)
    expected = vatjax.power(NS, strength=0.3, gain=0.3, gain_b=0.1, paired_correlation=0.5,
                            n_studies=400, seed=1, check=False)  # fmt: skip
    assert table["n"].tolist() == list(NS)
    for name in ("power_tax", "floor_nvat", "power_gain_difference"):
        np.testing.assert_allclose(table[name], expected[name].values)
    n_star = expected["n_for_power"].sel(test="tax").item()
    assert f"detect the tax: {n_star:,.0f}" in result.output


def test_power_writes_everything_to_netcdf(tmp_path):
    out = tmp_path / "power.nc"
    result = invoke(*COMMON, "--strength", 0.3, "--no-check", "--out", out)
    assert result.exit_code == 0, result.output
    ds = vatjax.load(out)
    assert list(ds["test"].values) == ["tax"] and ds.attrs["strength"] == 0.3
    assert "power_gain_difference" not in ds and "gain difference" not in result.output


@pytest.mark.slow
def test_power_from_a_pilot_judgments_file(tmp_path):
    study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=120, n_truth_draws=1000)
    path = tmp_path / "pilot.csv"
    study.table.to_csv(path, index=False)
    pick = ["--pilot", path, "--intervention", "prompt-8shot:Power,prompt-4shot:Power"]
    result = invoke(*COMMON, *pick, "--no-check", "--out", tmp_path / "p.nc")
    assert result.exit_code == 0, result.output
    ds = vatjax.load(tmp_path / "p.nc")
    sh = vatjax.shifts(vatjax.load_judgments(study.table))
    gains = vatjax.vat(sh)["gain"].sel(intervention=["prompt-8shot:Power", "prompt-4shot:Power"])
    assert [ds.attrs["gain"], ds.attrs["gain_b"]] == pytest.approx(gains.values[0].tolist())
    many = invoke(*COMMON, "--pilot", path)
    assert many.exit_code == 2 and "choose one with --intervention NAME" in many.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--noise", -1], "--noise must be >= 0"),
        (["--shift-sd", -0.5], "--shift-sd must be >= 0"),
        (["--studies", 10], "--studies must be an integer >= 100"),
        (["--nvat", 3.5], "--nvat must be in [0, 3]"),
        (["--alpha", 0], "--alpha must be in (0, 1)"),
        (["--strength", 0.2, "--nvat", 0.1], "give one of --strength, --nvat, --omega or --pilot"),
        (["--gain-b", 0.2], "--gain-b and --paired-correlation need --gain"),
        (["--model", "m"], "--model and --intervention choose the cells of --pilot FILE"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_in_flag_words(args, words):
    result = invoke("--n", "80", *args)
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output


def test_bad_sample_sizes_and_omega_file(tmp_path):
    assert "--n must be an integer >= 4" in invoke("--n", "3,80").output
    assert "--n must be sample sizes like" in invoke("--n", "80,x").output
    bad = tmp_path / "omega.csv"
    bad.write_text("1,0.5\n0.4,1\n")
    result = invoke("--n", "80", "--omega", bad)
    assert result.exit_code == 2 and "--omega is not a correlation matrix" in result.output
