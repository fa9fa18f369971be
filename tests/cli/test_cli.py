"""The vatjax command: simulate, vat and demo; bad input exits 2 with a message."""

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app
from vatjax.data import memory

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def study_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "study.csv"
    result = invoke("simulate", "--out", path, "--models", 1, "--scenarios", 12, "--seed", 4)
    assert result.exit_code == 0, result.output
    return path


def test_simulate_writes_table_and_truth(study_csv):
    assert len(pd.read_csv(study_csv)) == 13 * 12 * 112
    truth = vatjax.load(study_csv.with_name("study-truth.nc"))
    assert truth["nvat"].sizes["intervention"] == 12


@pytest.mark.parametrize("suffix", [".csv", ".json", ".nc"])
def test_vat_prints_the_table_and_writes_results(study_csv, tmp_path, suffix):
    out = tmp_path / f"r{suffix}"
    result = invoke("vat", study_csv, "--out", out)
    assert result.exit_code == 0, result.output
    assert "prompt-8shot:Stimulation" in result.output and "nvat" in result.output
    expected = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study_csv)))
    if suffix == ".nc":
        assert float(abs(vatjax.load(out)["nvat"] - expected["nvat"]).max()) < 1e-7
    else:
        table = pd.read_csv(out) if suffix == ".csv" else pd.DataFrame(json.loads(out.read_text()))
        assert table["nvat"].tolist() == pytest.approx(
            vatjax.metrics_table(expected)["nvat"].tolist(), abs=1e-6
        )


def test_vat_options_change_the_result(study_csv, tmp_path):
    out = tmp_path / "diag.csv"
    assert invoke("vat", study_csv, "--include-diagonal", "--out", out).exit_code == 0
    assert (pd.read_csv(out)["nvat"] >= 1).all()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["vat", "absent.csv"], "no such file"),
        (["vat", "{bad}"], "problem(s) in the judgments table"),
        (["vat", "{study}", "--scale", "five"], "--scale must be LOW,HIGH"),
        (["vat", "{study}", "--out", "x.xlsx"], "--out x.xlsx: cannot write a .xlsx file"),
        (["simulate", "--out", "{tmp}/s.csv", "--scenarios", "2"], "at least 1 model and 3"),
    ],
)
def test_bad_input_exits_2_with_a_message(study_csv, tmp_path, args, needle):
    bad = tmp_path / "bad.csv"
    pd.read_csv(study_csv).assign(polarity="up").head(50).to_csv(bad, index=False)
    args = [a.format(bad=bad, study=study_csv, tmp=tmp_path) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def _parquet(df: pd.DataFrame, path, column=None, values=None):
    """The table as Parquet, one column replaced by an Arrow array."""
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    if column is not None:
        table = table.set_column(table.schema.get_field_index(column), column, values(df))
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    ("column", "values", "needle"),
    [
        ("rating", lambda d: pa.array([{"v": 3}] * len(d)), "'rating' has type struct<v: int64>"),
        ("model", lambda d: pa.array([[m] for m in d.model]), "'model' has type list<element:"),
        ("rating", lambda d: pa.array(d.rating > 2), "'rating' has type bool, not a number"),
        (
            "rating",
            lambda d: pa.array(pd.to_datetime(d.rating, unit="D").astype("datetime64[ns]")),
            "'rating' has type timestamp[ns], not a number",
        ),  # brackets survive the console
        ("rating", lambda d: pa.array(["high"] * len(d)), "'rating' is not a number in rows"),
    ],
    ids=["struct", "list", "bool", "timestamp", "text"],
)
def test_a_parquet_of_the_wrong_types_exits_2(study_csv, tmp_path, column, values, needle):
    bad = _parquet(pd.read_csv(study_csv), tmp_path / "bad.parquet", column, values)
    result = runner.invoke(app, ["vat", str(bad)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("error:") == 1 and needle in result.stderr, result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_a_study_too_large_for_memory_exits_2_before_its_tensor(study_csv, tmp_path, monkeypatch):
    df = pd.read_csv(study_csv)
    df["scenario"] = df["condition"] + ":" + df["scenario"]  # each condition on its own
    path = _parquet(df, tmp_path / "sparse.parquet")
    monkeypatch.setattr(memory, "available_bytes", lambda: 2**20)
    result = runner.invoke(app, ["vat", str(path)])
    assert result.exit_code == 2, result.output
    assert (
        "error: 1 problem(s)" in result.stderr
        and "loading sparse.parquet: done" not in result.stderr
    )
    message = " ".join(result.stderr.split())
    assert "the rating tensor of 1 model x 13 conditions x 17,472 items (156 scenarios" in message
    assert "MiB of memory and 1.0 MiB is available; load fewer models" in message
    assert "the table has rows for only 17,472 of those cells (8%)" in message


def test_scoring_too_large_for_memory_exits_2(study_csv, monkeypatch):
    answers = iter([2**40, 2**10])  # the loader's question, then the scorer's
    monkeypatch.setattr(memory, "available_bytes", lambda: next(answers))
    result = runner.invoke(app, ["vat", str(study_csv)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "loading and validating study.csv:" in result.stdout
    assert "error: scoring 1 model" in message
    assert "1.0 KiB is available; score fewer models or conditions at a time" in message


def test_help_everywhere():
    for cmd in ([], ["simulate"], ["vat"], ["demo"]):
        result = invoke(*cmd, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.slow
def test_demo_runs_the_pipeline(demo_run):
    out, result, _ = demo_run
    assert result.exit_code == 0, result.output
    # 60 draws: the fit says so, as a message (no warning class, source path or line)
    assert "warning: the posterior is not trustworthy yet" in result.stderr
    assert not any(".py:" in line or "Warning:" in line for line in result.stderr.splitlines())
    stages = [line for line in result.stdout.splitlines() if re.fullmatch(r".+: \d+\.\d s", line)]
    assert len(stages) >= 8, result.stdout  # one line per stage, with its time
    assert "prompt-2shot:Security" in result.output and "nvat_floor" in result.output
    assert f"report: {(out / 'report.html').resolve()}" in result.output.replace("\n", "")
    assert len(pd.read_csv(out / "vat.csv")) == 2 * 12
    for name in ("bootstrap.nc", "noise_floor.nc", "posterior.nc", "provenance.json"):
        assert (out / name).stat().st_size > 0


@pytest.mark.parametrize("preset", [None, 3])
def test_the_script_uses_one_device_per_core_unless_told(preset):
    code = (
        "import sys, jax\n"
        "from vatjax.cli import main\n"
        "sys.argv = ['vatjax', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('DEVICES', jax.local_device_count())"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if preset is not None:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={preset}"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    want = preset if preset is not None else (os.cpu_count() or 1)
    assert f"DEVICES {want}" in out.stdout
