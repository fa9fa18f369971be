"""A study too large for memory is told before the large arrays are made: by the loader
from the tensor's shape, and by the scorer from the tensor's; the estimates cover the
peak that tracemalloc measures."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vatjax
from vatjax import VatInputError
from vatjax.data import judgments as judgments_module
from vatjax.data import memory
from vatjax.data import scoring as scoring_module


def _sparse(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Each (``by``) judged on scenarios of its own: the tensor grows, the rows do not."""
    scenario = df[by].astype(str).agg(":".join, axis=1) + ":" + df["scenario"].astype(str)
    return df.assign(scenario=scenario.astype("category"))


def _free(monkeypatch, n_bytes):
    monkeypatch.setattr(memory, "available_bytes", lambda: n_bytes)


def test_a_sparse_study_too_large_is_told_from_its_shape(small_table, monkeypatch):
    df = _sparse(small_table(), ["model", "condition"])
    _free(monkeypatch, 10_000)

    def never(*args, **kwargs):
        raise AssertionError("the tensor's arrays were made")

    monkeypatch.setattr(judgments_module, "dense_rows", never)
    monkeypatch.setattr(judgments_module, "dense_tensor", never)
    with pytest.raises(VatInputError) as info:
        vatjax.load_judgments(df)
    (problem,) = info.value.problems
    assert problem.startswith(
        "the rating tensor of 2 models x 2 conditions x 96 items (16 scenarios x their "
        "micro-values and polarities) = 384 cells needs "
    ), problem
    assert (
        "of memory and 9.8 KiB is available; load fewer models, conditions or scenarios at"
        in problem
    )
    assert (
        "more memory; the table has rows for only 96 of those cells (25%), as when models"
        in problem
    )


def test_other_problems_are_reported_with_it(small_table, monkeypatch):
    df = _sparse(small_table(), ["model"])
    df["polarity"] = df["polarity"].astype(str)
    df.loc[3, "polarity"] = "sideways"
    _free(monkeypatch, 1)
    with pytest.raises(VatInputError) as info:
        vatjax.load_judgments(df)
    problems = info.value.problems
    assert len(problems) == 2 and "'sideways'" in problems[0], problems
    assert "= 192 cells needs" in problems[1] and "rows for only" not in problems[1]


@pytest.mark.parametrize("free", [None, 2**40])
def test_it_loads_when_memory_is_enough_or_unknown(small_table, monkeypatch, free):
    df = _sparse(small_table(), ["model"])
    want = vatjax.load_judgments(df)
    _free(monkeypatch, free)
    xr.testing.assert_identical(vatjax.load_judgments(df), want)


def test_scoring_is_told_before_its_float64_arrays(small_table, monkeypatch):
    judgments = vatjax.load_judgments(_sparse(small_table(), ["model", "condition"]))
    _free(monkeypatch, 10_000)
    with pytest.raises(VatInputError) as info:
        vatjax.shifts(judgments)
    assert str(info.value).startswith(
        "scoring 2 models x 2 conditions x 96 items into 128 scores (16 scenarios x 2 values)"
        " needs 19.5 KiB of memory and 9.8 KiB is available; score fewer models"
    ), str(info.value)


def _measured(func, *args) -> tuple[int, int]:
    """Peak bytes of ``func`` from the moment it asks whether its arrays fit, and the
    bytes it asked for."""
    seen = {}

    def record(what, needed, fix):
        seen["at"], seen["needed"] = tracemalloc.get_traced_memory()[0], needed
        tracemalloc.reset_peak()
        return None  # they fit: the work goes on

    func(*args)  # warm
    with pytest.MonkeyPatch.context() as mp:
        for module in (judgments_module, scoring_module):
            mp.setattr(module, "memory_problem", record)
        tracemalloc.start()
        try:
            func(*args)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return peak - seen["at"], seen["needed"]


@pytest.fixture(scope="module")
def layouts():
    """A study of 19,200 ratings as rated (dense), and with scenarios per model and per
    model and condition (sparse)."""
    micro = list(vatjax.SCHWARTZ.micro_values)[::5]
    df = pd.MultiIndex.from_product(
        [
            ["m1", "m2"],
            ["pre", "dpo"],
            [f"s{i:03d}" for i in range(200)],
            micro,
            ["express", "suppress"],
        ],
        names=["model", "condition", "scenario", "micro_value", "polarity"],
    ).to_frame(index=False)
    df["rating"] = np.random.default_rng(0).integers(1, 6, len(df)).astype(float)
    df["target"] = np.where(df["condition"] == "pre", None, "Power")
    df["direction"] = np.where(df["condition"] == "pre", 0, -1)
    return {
        "dense": df,
        "per model": _sparse(df, ["model"]),
        "per model and condition": _sparse(df, ["model", "condition"]),
    }


@pytest.mark.parametrize("layout", ["dense", "per model", "per model and condition"])
def test_the_estimates_cover_the_measured_peak(layouts, layout):
    loading, asked = _measured(vatjax.load_judgments, layouts[layout])
    assert loading <= asked <= 1.5 * loading, (loading, asked)
    judgments = vatjax.load_judgments(layouts[layout])
    for level in ("value", "micro_value"):
        scoring, asked = _measured(vatjax.scores, judgments, level)
        assert scoring <= asked <= 1.5 * scoring, (level, scoring, asked)


def test_available_bytes_reads_the_system_or_says_none(monkeypatch):
    found = memory.available_bytes()
    assert found is None or found > 0
    monkeypatch.setattr(memory, "_meminfo", lambda: None)
    monkeypatch.setattr(memory.os, "sysconf", lambda name: {"SC_AVPHYS_PAGES": 3}.get(name, 4096))
    assert memory.available_bytes() == 3 * 4096

    def unknown(name):
        raise ValueError(name)

    monkeypatch.setattr(memory.os, "sysconf", unknown)
    assert memory.available_bytes() is None
    assert memory.memory_problem("x", 2**60, "fix") is None


def test_size_text():
    sizes = [memory.size_text(n) for n in (5, 1536, 3 * 2**30, 2**50)]
    assert sizes == ["5 B", "1.5 KiB", "3.0 GiB", "1024.0 TiB"]
