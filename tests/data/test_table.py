"""Tables: every file format reads the same; parsed or as written; rows named in errors."""

import pytest
import xarray as xr

import vatjax
from vatjax import VatInputError
from vatjax.data import format_rows, read_table, write_table


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".json"])
def test_every_file_format_loads_the_same(small_table, tmp_path, suffix):
    df = small_table()
    path = tmp_path / f"j{suffix}"
    write_table(df, path)
    xr.testing.assert_identical(vatjax.load_judgments(path), vatjax.load_judgments(df))


def test_unknown_file_type_and_missing_file(tmp_path):
    (tmp_path / "x.xlsx").write_text("nope")
    with pytest.raises(VatInputError, match="unknown file type"):
        vatjax.load_judgments(tmp_path / "x.xlsx")
    with pytest.raises(FileNotFoundError):
        vatjax.load_judgments(tmp_path / "absent.csv")


def test_read_table_as_written_keeps_text_and_reports_every_bad_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("scenario,rating\n007,3\n,4\n")
    assert read_table(path)["rating"].tolist() == [3, 4]
    assert read_table(path, as_written=True).to_dict("list") == {
        "scenario": ["007", ""],
        "rating": ["3", "4"],
    }
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"a": 1}\n{no\n[1\n')
    with pytest.raises(VatInputError) as info:
        read_table(bad, as_written=True)
    assert [p.split(" (")[0] for p in info.value.problems] == [
        "line 2 is not valid JSON",
        "line 3 is not valid JSON",
    ]
    with pytest.raises(VatInputError, match=r"unknown file type '\.csv\.gz'"):
        (tmp_path / "t.csv.gz").write_bytes(b"")
        read_table(tmp_path / "t.csv.gz", as_written=True)


def test_format_rows_counts_from_one_and_shortens():
    assert format_rows([False, True]) == "row 2"
    assert format_rows([True] * 9) == "rows 1, 2, 3, 4, 5, 6, 7, 8 and 1 more"
