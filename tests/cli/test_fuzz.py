"""Fuzz ``vatjax vat`` with malformed judgments tables and flag values (hypothesis): it
exits 0 or 2, never with a traceback, and a bad input gets a one-paragraph message.

The tables are mutations of one tiny valid study (1 model, 1 intervention, 4 scenarios);
resampling flags are either 0 or values the checks reject, so a valid input computes the
point metrics only. Derandomized: the same inputs on every run.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app

runner = CliRunner()
FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
COLUMNS = ["model", "condition", "scenario", "micro_value", "value", "polarity", "rating",
           "strategy", "target", "direction"]  # fmt: skip
NAMES = st.sampled_from(["", " ", "é", "模型", "Power", "pre", "Wealth", "NaN", "1", "a,b", '"'])
CELLS = st.one_of(NAMES, st.text(max_size=5), st.integers(-3, 9).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(str))  # fmt: skip


def _base() -> pd.DataFrame:
    table = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=4, targets=[("Power", -1)],
                                  strategies=["p"], effects=(1.0,), coupling=0.1,
                                  n_truth_draws=20).table  # fmt: skip
    return table.astype(str).replace({"nan": ""})


BASE = _base()
WORK = Path(tempfile.mkdtemp(prefix="vatjax-fuzz-"))


@st.composite
def tables(draw) -> tuple:
    """The recipe of a malformed (or now and then valid) judgments file: mutations of the
    base table, the delimiter, a prefix and where the file is cut (see :func:`_build`)."""
    ops = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["drop", "rename", "cells", "rating", "duplicate",
                                     "no_micro", "subset", "constant"]))  # fmt: skip
        col = draw(st.sampled_from(COLUMNS))
        rows = tuple(draw(st.lists(st.integers(0, len(BASE) - 1), min_size=1, max_size=20)))
        value = {
            "rename": st.sampled_from(["Rating", "", "value", "x", col]),
            "cells": CELLS,
            "constant": CELLS,
            "rating": st.sampled_from(["", "NaN", "x", "3.5", "0", "9", "-1", "1e9", "inf",
                                       "True", "２"]),
            "subset": st.integers(0, len(BASE)),
        }.get(kind, st.none())  # fmt: skip
        ops.append((kind, col, rows, draw(value)))
    sep = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
    cut = draw(st.sampled_from([None, None, None, 0.0, 0.3, 0.5, 0.999]))
    prefix = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\n"]))
    return tuple(ops), sep, cut, prefix


def _build(recipe: tuple) -> bytes:
    """The bytes of a file from the recipe of :func:`tables`."""
    ops, sep, cut, prefix = recipe
    t = BASE.copy()
    for kind, col, rows, value in ops:
        present = col in t.columns
        picked = t.index[[r for r in rows if r < len(t)]] if len(t) else t.index[:0]
        if kind == "drop" and present:
            t = t.drop(columns=col)
        elif kind == "rename" and present:
            t = t.rename(columns={col: value})
        elif kind in ("cells", "rating") and (present or kind == "rating"):
            t.loc[picked, col if kind == "cells" else "rating"] = value
        elif kind == "duplicate":
            t = pd.concat([t, t.loc[picked]])
        elif kind == "no_micro" and "micro_value" in t.columns:
            t = t.drop(columns="micro_value")
        elif kind == "subset":
            t = t.iloc[:value]
        elif kind == "constant" and present:
            t[col] = value
    data = t.to_csv(index=False, sep=sep).encode()
    return prefix + (data if cut is None else data[: int(cut * len(data))])


FLAGS = {
    "--scale": st.one_of(st.sampled_from(["1,5", "1,7", "5,1", "1", "a,b", "1,5,7", "0,4",
                                          "-3,3", "1.5,5", " 1 , 5 ", "", "1,1"]),
                         st.text(max_size=6)),
    "--confidence": st.one_of(st.sampled_from(["0.95", "95", "0", "1", "nan", "-inf", "x"]),
                              st.floats().map(str)),
    "--bootstrap": st.sampled_from(["0", "0", "0", "-5", "1", "x", "1.5"]),
    "--null": st.sampled_from(["0", "0", "0", "1", "5", "-3", "y"]),
    "--level": st.sampled_from(["value", "micro_value", "Value", "micro-value", "", "x"]),
    "--baseline": st.one_of(st.sampled_from(["pre", "pre", "base", "", "PRE", "p:Power"]),
                            st.text(max_size=4)),
    "--eps": st.one_of(st.sampled_from(["0.001", "0", "-1", "nan", "inf", "x"]),
                       st.floats().map(str)),
    "--scheme": st.sampled_from(["bootstrap", "subsample", "bayesian", "boot", ""]),
    "--interval": st.sampled_from(["bca", "percentile", "BCa", ""]),
}  # fmt: skip


@st.composite
def flags(draw) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(FLAGS)), max_size=4, unique=True))
    return [part for flag in chosen for part in (flag, draw(FLAGS[flag]))]


def _check(args: list[str]) -> None:
    """Run ``vatjax vat`` and hold it to the contract."""
    result = runner.invoke(app, ["vat", *args])
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, repr(result.exception))  # fmt: skip
    assert "Traceback" not in result.output, (args, result.output)
    if result.exit_code == 2:
        if "error:" in result.output:  # ours: one paragraph, the problems one a line
            message = result.output[result.output.index("error:") :].strip()
            assert "\n\n" not in message and "np." not in message, (args, message)
        else:  # a flag value the command line itself rejects (wrong type)
            assert "Invalid value" in result.output or "Usage:" in result.output, result.output


def _write(data: bytes) -> str:
    path = WORK / "judgments.csv"
    path.write_bytes(data)
    return str(path)


@FUZZ
@given(recipe=tables())
def test_malformed_tables_never_end_in_a_traceback(recipe):
    _check([_write(_build(recipe))])


@FUZZ
@given(recipe=tables(), args=flags())
def test_malformed_flags_never_end_in_a_traceback(recipe, args):
    _check([_write(_build(recipe)), *args])


@pytest.mark.parametrize("data", [b"", b"\n", b"model,condition\n", b"\x00\x01\x02", b"a;b\n1"])
def test_degenerate_files(data):
    _check([_write(data)])


def test_the_base_table_is_valid():
    result = runner.invoke(app, ["vat", _write(BASE.to_csv(index=False).encode())])
    assert result.exit_code == 0, result.output
    assert np.isfinite(pd.to_numeric(BASE["rating"])).all()
