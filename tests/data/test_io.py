"""Saving and loading without loss; atomic writes."""

import numpy as np
import pytest
import xarray as xr

import vatjax
from vatjax.data import atomic_path, write_table


def test_judgments_and_results_round_trip(tmp_path):
    study = vatjax.simulate_study(seed=2, n_models=1, n_scenarios=10, missing_rate=0.05)
    j = vatjax.load_judgments(study.table)
    res = vatjax.vat(vatjax.shifts(j))
    for name, obj in [("j", j), ("res", res), ("truth", study.truth)]:
        back = vatjax.load(vatjax.save(obj, tmp_path / f"{name}.nc"))
        xr.testing.assert_identical(back, obj)
    delta = vatjax.shifts(j)
    xr.testing.assert_identical(vatjax.load(vatjax.save(delta, tmp_path / "d.nc")), delta)


def test_a_crash_leaves_no_half_written_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old result")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_write_table_formats_and_bad_suffix(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"a": [1.5, np.nan], "b": ["x", "y"]})
    for suffix in (".csv", ".json", ".jsonl", ".parquet"):
        write_table(df, tmp_path / f"t{suffix}")
    assert pd.read_csv(tmp_path / "t.csv")["b"].tolist() == ["x", "y"]
    with pytest.raises(vatjax.VatInputError, match="use a path ending in"):
        write_table(df, tmp_path / "t.xlsx")
    with pytest.raises(vatjax.VatInputError, match="writes netCDF"):
        vatjax.save(xr.Dataset(), tmp_path / "x.csv")
