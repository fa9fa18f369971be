"""Columns of the wrong type: one VatInputError naming the column, the type found, what a
cell must hold and the fix, whatever the source; every type accepted before still loads."""

import datetime
import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr

import vatjax
from vatjax import VatInputError


def _with(df: pd.DataFrame, column: str, values: pa.Array) -> pa.Table:
    """The table as Arrow with one column replaced."""
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    return table.set_column(table.schema.get_field_index(column), column, values)


def _sources(table: pa.Table, tmp_path) -> dict:
    """The same table as a Parquet file and as the DataFrame Arrow gives for it."""
    pq.write_table(table, tmp_path / "t.parquet")
    return {"parquet": tmp_path / "t.parquet", "frame": table.to_pandas()}


def _problems(source, **kw) -> list[str]:
    with pytest.raises(VatInputError) as info:
        vatjax.load_judgments(source, **kw)
    return info.value.problems


_NESTED = {
    "rating list": ("rating", lambda r, d: pa.array([[x] for x in r]), "list<element: int64>",
                    "object holding ndarray", "each cell must hold a number (the rating)"),
    "rating struct": ("rating", lambda r, d: pa.array([{"v": x} for x in r]), "struct<v: int64>",
                      "object holding dict", "each cell must hold a number (the rating)"),
    "model struct": ("model", lambda r, d: pa.array([{"name": m} for m in d.model]),
                     "struct<name: string>", "object holding dict",
                     "each cell must hold a name (text or a whole number)"),
    "micro_value list": ("micro_value", lambda r, d: pa.array([[m] for m in d.micro_value]),
                         "list<element: string>", "object holding ndarray",
                         "each cell must hold a name (text or a whole number)"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(_NESTED))
def test_a_nested_column_is_one_problem_naming_its_type(small_table, tmp_path, case):
    column, make, arrow_type, frame_type, expected = _NESTED[case]
    df = small_table()
    table = _with(df, column, make(df["rating"].astype(int).tolist(), df))
    for kind, source in _sources(table, tmp_path).items():
        problems = _problems(source)
        assert len(problems) == 1, problems
        found = arrow_type if kind == "parquet" else frame_type
        assert problems[0].startswith(f"column '{column}' has type {found} (e.g. "), problems
        assert expected in problems[0] and "store one plain value per cell" in problems[0]


@pytest.mark.parametrize(
    ("values", "found", "example"),
    [
        (lambda r: pa.array(r > 2), "bool", "True"),
        (
            lambda r: pa.array([datetime.datetime(2024, 1, int(x)) for x in r]),
            "timestamp[us]",
            "datetime.datetime(2024, 1, ",
        ),
    ],
    ids=["bool", "timestamp"],
)
def test_a_rating_of_the_wrong_scalar_type_names_it(small_table, tmp_path, values, found, example):
    df = small_table()
    pq.write_table(_with(df, "rating", values(df["rating"].to_numpy())), tmp_path / "t.parquet")
    (problem,) = _problems(tmp_path / "t.parquet")
    assert problem.startswith(f"column 'rating' has type {found}, not a number, in rows 1, 2,")
    assert f"(e.g. {example}" in problem
    assert problem.endswith("store the ratings as numbers from 1 to 5 (integers, floats, or "
                            "text such as '3')")  # fmt: skip


def test_bool_cells_among_numbers_are_found_by_row(small_table):
    df = small_table()
    df["rating"] = df["rating"].astype(object)
    df.loc[[4, 9], "rating"] = True  # once read as rating 1, silently
    df.loc[6, "rating"] = "high"
    text = "\n".join(_problems(df))
    assert "column 'rating' has type bool, not a number, in rows 5, 10 (e.g. True)" in text
    assert "'rating' is not a number in row 7 (e.g. 'high'); write a number from 1 to 5" in text


def test_polarity_of_another_type_names_it(small_table):
    (problem,) = _problems(small_table(polarity=True))
    assert "(e.g. True, type bool)" in problem


def test_every_other_problem_is_still_reported_beside_a_nested_column(small_table, tmp_path):
    df = small_table()
    df.loc[5, "polarity"] = "sideways"
    df.loc[6, "micro_value"] = "Welth"
    df.loc[10, "model"] = ""
    table = _with(df, "rating", pa.array([{"v": 3}] * len(df)))
    problems = _problems(_sources(table, tmp_path)["parquet"])
    assert len(problems) == 4, problems
    assert problems[0].startswith("column 'rating' has type struct<v: int64>")
    text = "\n".join(problems)
    assert "'model' is empty in row 11" in text and "'Welth'" in text and "'sideways'" in text


def test_a_nested_column_the_loader_does_not_read_is_ignored(small_table, tmp_path):
    df = small_table()
    table = _with(df.assign(notes=0), "notes", pa.array([["a", "b"]] * len(df)))
    for source in _sources(table, tmp_path).values():
        xr.testing.assert_identical(vatjax.load_judgments(source), vatjax.load_judgments(df))


def test_a_nested_column_of_the_conditions_table(small_table):
    df = small_table().drop(columns=["strategy", "target", "direction"])
    conds = pd.DataFrame({"condition": ["dpo"], "strategy": ["x"], "target": [["Power"]],
                          "direction": [-1]})  # fmt: skip
    (problem,) = _problems(df, conditions=conds)
    assert problem.startswith(
        "column 'target' of the conditions table has type object holding list"
    )


def test_a_jsonl_with_objects_in_a_column(small_table, tmp_path):
    df = small_table()
    df["scenario"] = [{"id": s} for s in df["scenario"]]
    df.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    (problem,) = _problems(tmp_path / "t.jsonl")
    assert problem.startswith("column 'scenario' has type object holding dict (e.g. {'id': 's0'})")


def _accepted(r: np.ndarray, d: pd.DataFrame) -> dict:
    """Rating and key columns of the types that loaded before and still do."""
    return {
        "rating int8": ("rating", pa.array(r.astype(np.int8))),
        "rating int64": ("rating", pa.array(r.astype(np.int64))),
        "rating float32": ("rating", pa.array(r.astype(np.float32))),
        "rating decimal": ("rating", pa.array([decimal.Decimal(int(x)) for x in r],
                                              pa.decimal128(5, 1))),
        "rating text of numbers": ("rating", pa.array([str(int(x)) for x in r])),
        "scenario whole floats": ("scenario", pa.array(d.scenario.str[1:].astype(float))),
        "direction 'down'": ("direction", pa.array(np.where(d.condition == "pre", None, "down"))),
    }  # fmt: skip


def test_every_type_accepted_before_still_loads(small_table, tmp_path):
    df = small_table()
    want = vatjax.load_judgments(df)
    for case, (column, values) in _accepted(df["rating"].to_numpy(), df).items():
        for kind, source in _sources(_with(df, column, values), tmp_path).items():
            got = vatjax.load_judgments(source)
            assert got["rating"].dtype == np.float32, (case, kind)
            np.testing.assert_array_equal(got["rating"], want["rating"], err_msg=f"{case} {kind}")
    up = small_table(direction=np.where(df.condition == "pre", None, "up"))
    assert int(vatjax.load_judgments(up)["direction"].sel(condition="dpo")) == 1


def test_an_all_missing_rating_column_of_arrow_type_null_is_told_empty(small_table, tmp_path):
    df = small_table()  # its type (null) is no problem; that it holds no rating is
    for source in _sources(_with(df, "rating", pa.nulls(len(df))), tmp_path).values():
        assert _problems(source) == [
            "column 'rating' is empty in every row: the table holds no rating"
        ]


def test_an_unused_category_is_no_problem(small_table):
    df = small_table()
    df["rating"] = pd.Categorical(df["rating"], categories=[1.0, 2.0, 3.0, 4.0, 5.0, 9.0, "high"])
    np.testing.assert_array_equal(vatjax.load_judgments(df)["rating"],
                                  vatjax.load_judgments(small_table())["rating"])  # fmt: skip
