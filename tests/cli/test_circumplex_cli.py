"""`vatjax circumplex`: the table per cell, and bad input in the command line's words."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    s = vatjax.simulate_study(seed=1, n_models=1, n_scenarios=60)
    keep = s.table["condition"].isin(["pre", "prompt-8shot:Power", "prompt-8shot:Security"])
    path = tmp_path_factory.mktemp("circ") / "study.csv"
    s.table[keep].to_csv(path, index=False)
    return path


def test_prints_ci_with_its_interval_and_writes_the_table(table_csv, tmp_path):
    out = tmp_path / "circ.csv"
    args = ["circumplex", str(table_csv), "--permutations", "500", "--bootstrap", "60",
            "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ci_lower" in result.stdout and "p_value" in result.stdout
    table = pd.read_csv(out)
    assert len(table) == 2
    assert (table["ci_lower"] <= table["ci_upper"]).all()
    assert {"b0", "b1", "b2", "cosine_r2"} <= set(table.columns)
    assert ((table["p_value"] >= 1 / 501) & (table["p_value"] <= 1)).all()


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--order", "Power,Power"], "--order must name every value once"),
        (["--angles", "0,10"], "--angles has 2 angles for 10 values"),
        (["--angles", "zero"], "--angles takes numbers in degrees"),
    ],
)
def test_bad_order_or_angles_exit_2_in_flag_words(table_csv, flags, needle):
    result = runner.invoke(app, ["circumplex", str(table_csv), "--permutations", "10", *flags])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_a_non_square_coupling_exits_2(tmp_path):
    bad = xr.Dataset({"coupling": xr.DataArray(
        np.zeros((2, 3, 4)), dims=("intervention", "value", "value2"),
        coords={"value": list("abc"), "value2": list("abcd")})})  # fmt: skip
    path = vatjax.save(bad, tmp_path / "bad.nc")
    result = runner.invoke(app, ["circumplex", str(path)])
    assert result.exit_code == 2 and "must be square" in result.stderr
