"""`vatjax reliability`: the table of a judgments file, a second baseline without metadata,
and bad input that exits 2 with a message and no traceback."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def tables():
    """A small study whose baseline is judged again: as repeat 1, and as a bare 'again'
    condition (no strategy, target or direction)."""
    base = vatjax.simulate_study(
        seed=3, n_models=2, n_scenarios=30, targets=[("Power", -1)],
        strategies=["prompt-4shot"], effects=(2.0,), coupling=0.1,
    ).table  # fmt: skip
    base = base.astype({c: object for c in base.columns if c != "rating"})
    pre = base[base["condition"] == "pre"]
    rng = np.random.default_rng(0)
    step = np.where(rng.random(len(pre)) < 0.3, rng.choice([-1, 1], len(pre)), 0)
    again = pre.assign(rating=np.clip(pre["rating"] + step, 1, 5))
    repeats = pd.concat([base.assign(repeat=0), again.assign(repeat=1)], ignore_index=True)
    retest = again.assign(condition="again", strategy=None, target=None, direction=None)
    return repeats, pd.concat([base, retest], ignore_index=True)


def test_prints_the_table_and_writes_it(tables, tmp_path):
    path, out = tmp_path / "judged.csv", tmp_path / "rel.csv"
    tables[0].to_csv(path, index=False)
    result = invoke("reliability", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "icc2" in result.output and "model-2" in result.output
    assert "pre repeat 1 minus pre repeat 0" in result.output
    expected = vatjax.reliability(vatjax.load_judgments(tables[0]))
    written = pd.read_csv(out)
    assert written["model"].tolist() == ["model-1", "model-2"]
    for name in ("icc2", "icc3", "alpha_ordinal", "nvat_judge_noise"):
        assert written[name].to_numpy() == pytest.approx(expected[name].values.ravel(), abs=1e-6)


def test_a_bare_second_baseline_is_read(tables, tmp_path):
    """--retest names it; its missing strategy, target and direction are filled in."""
    path, out = tmp_path / "retest.parquet", tmp_path / "rel.nc"
    tables[1].to_parquet(path)
    with pytest.raises(vatjax.VatInputError, match="intervention 'again' has no target"):
        vatjax.load_judgments(path)  # what the command works around
    result = invoke("reliability", path, "--retest", "again", "--out", out)
    assert result.exit_code == 0, result.output
    got = vatjax.load(out)
    expected = vatjax.reliability(vatjax.load_judgments(tables[0]))
    assert got["condition"].values.tolist() == ["pre"] and got.attrs["retest"] == "again"
    for name in ("icc2", "alpha_ordinal", "nvat_judge_noise_debiased"):
        assert np.allclose(got[name], expected[name], atol=1e-6)


def test_no_repeats_exits_2_with_the_fix(tables, tmp_path):
    path = tmp_path / "once.csv"
    tables[0][tables[0]["repeat"] == 0].drop(columns="repeat").to_csv(path, index=False)
    result = invoke("reliability", path)
    assert result.exit_code == 2
    assert "no repeated judgments" in result.output and "`repeat` column" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "5"], "--scale must be LOW,HIGH"),
        (["--level", "scenario"], "--level must be value or micro_value"),
        (["--retest", "pre-9"], "--retest 'pre-9' is not a condition"),
        (["--baseline", "before"], "no baseline condition 'before'"),
    ],
)
def test_bad_options_exit_2(tables, tmp_path, args, message):
    path = tmp_path / "judged.csv"
    tables[0].to_csv(path, index=False)
    result = invoke("reliability", path, *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_missing_file_exits_2(tmp_path):
    result = invoke("reliability", tmp_path / "nothing.csv")
    assert result.exit_code == 2 and "no such file" in result.output


def test_a_bare_second_baseline_beside_a_conditions_table(tables, tmp_path):
    meta = ["strategy", "target", "direction"]
    path, conditions = tmp_path / "judged.csv", tmp_path / "conditions.csv"
    tables[1].drop(columns=meta).to_csv(path, index=False)
    listed = tables[1][tables[1]["condition"] == "prompt-4shot:Power"][["condition", *meta]]
    listed.head(1).to_csv(conditions, index=False)  # 'again' is not listed
    result = invoke("reliability", path, "--retest", "again", "--conditions", conditions)
    assert result.exit_code == 0, result.output
    assert "again minus pre" in result.output
