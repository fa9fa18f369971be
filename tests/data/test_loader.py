"""The coded loader: every source (object or categorical DataFrame, Parquet with or
without dictionaries, CSV) gives the tensor a row-by-row reference gives, in float32;
problems keep their rows and wording whatever the source."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr

import vatjax
from vatjax import VatInputError
from vatjax.data.columns import first_rows, read_coded
from vatjax.data.dense import first_appearance


def _messy(small_table) -> pd.DataFrame:
    """Shuffled rows, missing ratings, ties, a repeat column and numbers as names."""
    df = small_table().sample(frac=1.0, random_state=1).reset_index(drop=True)
    df.loc[[3, 17, 40], "rating"] = np.nan
    df["model"] = df["model"].map({"m1": 7, "m2": 8})  # numbers: read as '7', '8'
    df["repeat"] = 0
    extra = df.iloc[:5].assign(repeat=1, rating=[1.0, 5.0, np.nan, 3.0, 3.0])
    return pd.concat([df, extra], ignore_index=True)


def _reference(df: pd.DataFrame, j: xr.Dataset) -> None:
    """Every row's rating sits at its (model, condition, item) cell; items numbered in
    order of first appearance; nothing else is rated."""
    keys = ["scenario", "micro_value", "polarity", "repeat"]
    sign = df["polarity"].map({"express": 1, "suppress": -1})
    item_rows = df.assign(polarity=sign)[keys].drop_duplicates()
    got = pd.DataFrame({k: j[k].values for k in keys})
    pd.testing.assert_frame_equal(
        got, item_rows.astype({"repeat": np.int64}).reset_index(drop=True), check_dtype=False
    )
    item = pd.MultiIndex.from_frame(got).get_indexer(pd.MultiIndex.from_frame(
        df.assign(polarity=sign)[keys]))  # fmt: skip
    m = pd.Index(j["model"].values).get_indexer(df["model"].astype(str))
    c = pd.Index(j["condition"].values).get_indexer(df["condition"])
    rating = j["rating"].values
    np.testing.assert_array_equal(rating[m, c, item], df["rating"].to_numpy(np.float32))
    assert (~np.isnan(rating)).sum() == df["rating"].notna().sum()  # nothing else is rated


def test_every_source_gives_the_reference_tensor(small_table, tmp_path):
    df = _messy(small_table)
    j = vatjax.load_judgments(df)
    assert j["rating"].dtype == np.float32
    assert j["model"].values.tolist() == [str(df["model"][0]), str(15 - df["model"][0])]
    _reference(df, j)
    text = ["model", "condition", "scenario", "micro_value", "polarity", "strategy", "target"]
    cat = df.astype(dict.fromkeys(text, "category"))
    cat["micro_value"] = cat["micro_value"].cat.add_categories(["Unused", "Welth"])
    table = pa.Table.from_pandas(df.astype({"model": str}), preserve_index=False)
    pq.write_table(table, tmp_path / "plain.parquet")
    cat.to_parquet(tmp_path / "dict.parquet", index=False)
    df.to_csv(tmp_path / "t.csv", index=False)
    for source in (cat, tmp_path / "plain.parquet", tmp_path / "dict.parquet", tmp_path / "t.csv"):
        xr.testing.assert_identical(vatjax.load_judgments(source), j)


def test_problems_from_a_csv_and_a_parquet_of_text(small_table, tmp_path):
    df = small_table()
    df["rating"] = df["rating"].astype(object)
    df.loc[2, "rating"] = 9
    df.loc[4, "rating"] = "high"
    df.loc[5, "polarity"] = "sideways"
    df.loc[6, "micro_value"] = "Welth"
    df.loc[10, "model"] = None
    df.to_csv(tmp_path / "bad.csv", index=False)
    df.astype({"rating": str}).to_parquet(tmp_path / "bad.parquet", index=False)
    for source in (df, tmp_path / "bad.csv", tmp_path / "bad.parquet"):
        with pytest.raises(VatInputError) as info:
            vatjax.load_judgments(source)
        text = "\n".join(info.value.problems)
        assert "'model' is empty in row 11;" in text
        assert "off the 1..5 scale in row 3 (e.g. 9)" in text
        assert "'rating' is not a number in row 5 (e.g. 'high')" in text
        assert "'polarity' is not one of" in text and "row 6 (e.g. 'sideways')" in text
        assert "unknown micro-value 'Welth'" in text and "did you mean 'Wealth'" in text


def test_value_column_clash_and_duplicates_are_found_by_codes(small_table):
    df = small_table().assign(value=lambda d: d.micro_value.map(vatjax.SCHWARTZ.value_of))
    df.loc[[1, 30], "value"] = "Security"
    df = pd.concat([df, df.iloc[[7, 7]]], ignore_index=True)
    with pytest.raises(VatInputError) as info:
        vatjax.load_judgments(df.astype({"value": "category"}))
    text = "\n".join(info.value.problems)
    assert "disagrees with the value of 'micro_value' in rows 2, 31 (e.g. 'Wealth'" in text
    assert (
        "duplicate (model, condition, scenario, micro_value, polarity) rows: rows 8, 97, 98" in text
    )


def test_codes_helpers():
    keys = np.array([9, 2, -1, 9, 5, 2])
    np.testing.assert_array_equal(first_appearance(keys, 10), [0, 1, -1, 0, 2, 1])
    np.testing.assert_array_equal(first_appearance(keys * 10**9, 10**10), [0, 1, -1, 0, 2, 1])
    codes = np.array([3, 1, 3, -1], np.int8)
    np.testing.assert_array_equal(first_rows(codes, 5), [4, 1, 4, 0, 4])
    np.testing.assert_array_equal(first_rows(np.tile(codes, 30), 100)[[1, 3, 99]], [1, 0, 120])
    coded = read_coded(pd.DataFrame({"r": [3.0, np.nan, 3.0]}))["r"]
    assert coded.codes.tolist() == [0, -1, 0] and coded.codes.dtype == np.int8
