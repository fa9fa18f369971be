"""The ``vatjax compare`` command: a simulated file end to end, its outputs equal the
Python function's, bad flags exit 2 with a message in flag words."""

import pandas as pd
import pytest
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app

runner = CliRunner()
FAST = ["--bootstrap", "100", "--permutations", "99", "--seed", "7"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "f.csv"
    result = invoke("simulate", "--out", path, "--models", 2, "--scenarios", 60)
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.slow
def test_compare_prints_every_pair_and_the_tie_groups(study, tmp_path):
    out = tmp_path / "pairs.csv"
    result = invoke("compare", study, *FAST, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Paired differences" in result.output and "Tie groups" in result.output
    assert "prompt-2shot:Security - prompt-4shot:Security" in result.output
    table = pd.read_csv(out)
    assert len(table) == 2 * 66 and {"a", "b", "nvat_debiased_q", "gain_lower"} <= set(table)
    delta = vatjax.shifts(vatjax.load_judgments(study))
    want = vatjax.compare(delta, n_resamples=100, n_permutations=99, seed=7, quiet=True)
    got = table.set_index(["model", "a", "b"])
    for model in want["model"].values:
        for pair, a, b in zip(want["pair"].values, want["a"].values, want["b"].values, strict=True):
            at = {"model": model, "pair": pair}
            row = got.loc[(model, a, b)]
            assert row["nvat_debiased_p"] == pytest.approx(float(want["nvat_debiased_p"].sel(at)))
            assert row["gain_estimate"] == pytest.approx(
                float(want["gain"].sel(stat="estimate", **at)), abs=1e-6
            )


def test_compare_two_models_under_each_intervention_to_netcdf(study, tmp_path):
    out = tmp_path / "pair.nc"
    args = ["--by", "model", "--a", "model-1", "--b", "model-2", *FAST, "--out", out]
    result = invoke("compare", study, *args)
    assert result.exit_code == 0, result.output
    ds = vatjax.load(out)
    assert ds.sizes["pair"] == 1 and ds.sizes["intervention"] == 12
    assert ds.attrs["by"] == "model" and ds.attrs["n_permutations"] == 99
    assert ds["rank"].dims == ("intervention", "model")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--a", "prompt-2shot:Security"], "give both --a and --b"),
        (["--a", "prompt-2shot:Security", "--b", "prompt-2shot:Secrity"], "--b 'prompt-2shot:Secrity'"),
        (["--a", "prompt-2shot:Power", "--b", "prompt-2shot:Power"], "--a and --b are both"),
        (["--by", "scenario"], "--by must be 'intervention' or 'model'"),
        (["--bootstrap", "0"], "--bootstrap must be at least 1"),
        (["--permutations", "0"], "--permutations must be at least 1"),
        (["--confidence", "2"], "--confidence must lie in (0, 1)"),
        (["--by", "model", "--a", "model-1", "--b", "model-3"], "did you mean"),
    ],
)
def test_bad_flags_exit_2_with_a_message_in_flag_words(study, args, needle):
    result = invoke("compare", study, *args)
    assert result.exit_code == 2
    assert needle in " ".join(result.output.split()), result.output


def test_help():
    result = invoke("compare", "--help")
    assert result.exit_code == 0 and "--permutations" in result.output
