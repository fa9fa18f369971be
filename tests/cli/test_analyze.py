"""`vatjax analyze` on your own table: every result, the report, checks before computing,
one line per stage, and a terminal table that fits."""

import io
import json
import re

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app
from vatjax.cli.analysis import file_sha256
from vatjax.cli.terminal import print_table, vat_view

runner = CliRunner()

KEEP = ["pre", "prompt-2shot:Power", "prompt-8shot:Power", "prompt-8shot:Security"]


@pytest.fixture(scope="module")
def own_table(tmp_path_factory):
    """A hand-made-looking study: 2 models, baseline called 'before', 3 interventions."""
    table = vatjax.simulate_study(seed=3, n_models=2, n_scenarios=30).table
    table = table[table["condition"].isin(KEEP)].astype({"condition": str})
    table["condition"] = table["condition"].replace({"pre": "before"})
    path = tmp_path_factory.mktemp("own") / "judgments.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def analysed(own_table, tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "results"
    args = ["analyze", str(own_table), "--out", str(out), "--baseline", "before",
            "--bootstrap", "100", "--null", "40", "--no-fit", "--no-power"]  # fmt: skip
    return out, runner.invoke(app, args)


def test_analyze_writes_every_result_the_report_reads(analysed, own_table):
    out, result = analysed
    assert result.exit_code == 0, result.output
    for name in ("vat.nc", "bootstrap.nc", "noise_floor.nc", "compare.nc", "circumplex.nc",
                 "vat.csv", "provenance.json", "report.html"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    assert not (out / "posterior.nc").exists() and not (out / "power.nc").exists()
    table = pd.read_csv(out / "vat.csv")
    assert len(table) == 2 * 3
    assert {"nvat_debiased", "nvat_lower", "nvat_upper", "nvat_floor", "above_floor"} <= set(
        table.columns
    )
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["input_sha256"] == file_sha256(own_table)
    assert (prov["baseline"], prov["scale"], prov["n_resamples"]) == ("before", "1,5", 100)
    assert set(prov["skipped"]) == {"power", "reliability", "fit"}
    assert set(prov["step_seconds"]) >= {"load", "vat", "bootstrap", "noise_floor", "compare"}


def test_analyze_prints_one_line_per_stage_then_the_table(analysed):
    _, result = analysed
    lines = result.stdout.splitlines()
    timed = [line for line in lines if re.fullmatch(r".+: \d+\.\d s", line)]
    assert [t.split(":")[0].split()[0] for t in timed] == [
        "loading", "VAT", "bootstrap", "circumplex", "noise", "paired", "report"]  # fmt: skip
    assert any(line.startswith("fit: skipped (switched off)") for line in lines)
    assert "prompt-8shot:Security" in result.stdout and "gain [95% CI]" in result.stdout
    assert "circumplex: CI median" in result.stdout


def test_report_reruns_on_the_folder_analyze_wrote(analysed, tmp_path):
    out, _ = analysed
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "again.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "again.html").read_text()
    assert "nvat_floor" in page or "noise floor" in page.lower()


def test_the_output_folder_is_checked_before_any_computing(own_table, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = runner.invoke(app, ["analyze", str(own_table), "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "--out" in result.stderr and "cannot write there" in result.stderr
    assert "loading" not in result.stdout  # nothing was computed
    result = runner.invoke(app, ["vat", str(own_table), "--out", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 2 and "cannot write a .xlsx file" in result.stderr
    assert "loading" not in result.stdout


def test_a_single_intervention_skips_the_comparisons_with_the_reason(own_table, tmp_path):
    table = pd.read_csv(own_table)
    one = tmp_path / "one.csv"
    table[table["condition"].isin(["before", "prompt-8shot:Power"])].to_csv(one, index=False)
    args = ["analyze", str(one), "--out", str(tmp_path / "r"), "--baseline", "before",
            "--bootstrap", "50", "--null", "20", "--no-fit", "--no-power"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "compare: skipped (one intervention)" in result.stdout
    assert not (tmp_path / "r" / "compare.nc").exists()


@pytest.fixture(scope="module")
def study_table():
    s = vatjax.simulate_study(seed=0, n_models=2, n_scenarios=30)
    delta = vatjax.shifts(vatjax.load_judgments(s.table))
    boot = vatjax.bootstrap(delta, n_resamples=30, quiet=True)
    null = vatjax.noise_floor(delta, n_permutations=20, quiet=True)
    return vatjax.uncertainty_table(vatjax.metrics_table(vatjax.vat(delta)), boot, null)


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_terminal_table_fits_the_width_and_names_stay_whole(study_table, width):
    table = study_table.assign(model=lambda t: t["model"].str.replace("model", "acme-llm"))
    buffer = io.StringIO()
    print_table(vat_view(table), "VAT", out=Console(file=buffer, width=width))
    text = buffer.getvalue()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    for name in set(table["model"]) | set(table["intervention"]):
        assert name in text  # never cut to "acme-l…"
    assert "…" not in text
    assert "gain [95% CI]" in text
    assert "more column(s)" in text and "--wide" in text


def test_wide_prints_every_column(study_table):
    table = study_table
    buffer = io.StringIO()
    print_table(table, "VAT", wide=True, out=Console(file=buffer, width=100))
    header = buffer.getvalue()
    assert all(col in header for col in table.columns)
    assert "more column(s)" not in header


def test_help_text_is_plain():
    text = runner.invoke(app, ["vat", "--help"]).output
    assert "R[u,u]=1" in text and "``" not in text
