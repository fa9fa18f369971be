"""The Inspect AI task end to end, with no network: vat_task through inspect_ai.eval with
Inspect's mockllm provider, its log read back with load_inspect_log, then load_judgments
and vat on the table."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import inspect_ai  # a dev dependency (the `inspect` extra)
import numpy as np
import pandas as pd
import pytest
from inspect_ai.model import ModelOutput, ModelUsage, get_model

import vatjax
from vatjax.collect import demo_items_path, parse_rating, plan
from vatjax.errors import VatInputError
from vatjax.testing import NO_RATING_TEXT, fake_rating

# Inspect's own noise, not vatjax's: tenacity's deprecation inside its retry set-up, and
# anyio streams Inspect leaves to the garbage collector.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The 'initial' parameter is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(autouse=True)
def _collect_inspects_streams():
    """Collect them inside the test, where the filters above apply: left to a later
    garbage collection, their ResourceWarning would meet filterwarnings=error outside
    any test and fail the session."""
    yield
    gc.collect()


CONDITIONS = ["pre", "fewshot:Power:suppress:2"]
EPOCHS = 2
UNPARSED = "Scenario: A retired teacher"  # every answer on this scenario (s05) has no rating


def _answer(input, tools, tool_choice, config):
    """The fake server's deterministic answer, through Inspect's mock provider (usage set,
    so that mockllm counts no tokens: tiktoken would download its encodings)."""
    msgs = [{"role": m.role, "content": m.text} for m in input]
    _, text = fake_rating("mock", msgs, config.seed)
    return _output(NO_RATING_TEXT if msgs[-1]["content"].startswith(UNPARSED) else text)


def _output(text: str) -> ModelOutput:
    out = ModelOutput.from_content(model="mockllm", content=text)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


SLOW = pytest.mark.slow  # the eval of 320 samples takes about 10 s


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from vatjax.collect.inspect_task import vat_task

    logs_dir = tmp_path_factory.mktemp("inspect-logs")
    task = vat_task(str(demo_items_path()), CONDITIONS)
    model = get_model("mockllm/model", custom_outputs=_answer)
    (log,) = inspect_ai.eval(
        task, model=model, epochs=EPOCHS, log_dir=str(logs_dir), display="none"
    )
    assert log.status == "success", log.error
    return log, logs_dir


@SLOW
def test_one_rating_per_item_condition_epoch(run):
    _, logs_dir = run
    table = vatjax.load_inspect_log(logs_dir)
    jobs, evaluated = plan(demo_items_path(), CONDITIONS, model="x")
    assert len(table) == len(jobs) * EPOCHS == 2 * 80 * EPOCHS
    key = ["condition", "scenario", "micro_value", "polarity", "repeat"]
    assert not table.duplicated(key).any()
    assert sorted(table["repeat"].unique()) == list(range(EPOCHS))
    assert set(table["model"]) == {"mockllm/model"}
    assert set(table["scenario"]) == set(evaluated["scenario"])
    few = table[table["condition"] == CONDITIONS[1]].iloc[0]
    assert (few["strategy"], few["target"], few["direction"]) == ("prompt-2shot", "Power", -1)


@SLOW
def test_ratings_are_the_parsed_answers(run):
    log, _ = run
    table = vatjax.load_inspect_log(log.location).set_index(
        ["condition", "scenario", "micro_value", "polarity", "repeat"]
    )
    for sample in log.samples[:20]:
        m = sample.metadata
        key = (m["condition"], m["scenario"], m["micro_value"], m["polarity"], sample.epoch - 1)
        want = parse_rating(sample.output.completion)
        got = table.loc[key, "rating"]
        assert (np.isnan(got) and want is None) or got == want
    unparsed = table.index.get_level_values("scenario") == "s05"
    assert unparsed.any() and table["rating"][unparsed].isna().all()
    assert table["rating"][~unparsed].notna().all()


@SLOW
def test_each_epoch_sends_its_own_seed(run):
    """Epoch e is asked with seed + e - 1, as the direct client asks repeat r with seed + r."""
    log, _ = run
    for sample in log.samples[:40]:
        msgs = [{"role": x.role, "content": x.text} for x in sample.messages[:-1]]
        if not msgs[-1]["content"].startswith(UNPARSED):
            assert sample.output.completion == fake_rating("mock", msgs, sample.epoch - 1)[1]
    table = vatjax.load_inspect_log(log.location)
    by_repeat = table.pivot_table(
        "rating", ["condition", "scenario", "micro_value", "polarity"], "repeat"
    )
    assert (by_repeat[0] != by_repeat[1]).any()


@SLOW
def test_fewshot_prompts_carry_the_examples(run):
    log, _ = run
    jobs, _ = plan(demo_items_path(), CONDITIONS, model="x")
    sent = {(j.condition.name, *j.key[2:5]): j.messages for j in jobs}
    shots = 0
    for sample in log.samples:
        m = sample.metadata
        logged = [{"role": x.role, "content": x.text} for x in sample.messages[:-1]]
        assert logged == sent[(m["condition"], m["scenario"], m["micro_value"], m["polarity"])]
        if m["condition"] == CONDITIONS[1]:
            roles = [x["role"] for x in logged]
            assert roles == ["user", "assistant", "user", "assistant", "user"]
            assert {logged[1]["content"], logged[3]["content"]} <= {"1", "5"}
            shots += 1
    assert shots == 80 * EPOCHS


@SLOW
def test_load_judgments_and_vat_run_on_the_table(run):
    _, logs_dir = run
    judgments = vatjax.load_judgments(vatjax.load_inspect_log(logs_dir))
    assert judgments.sizes["condition"] == 2 and judgments.sizes["model"] == 1
    result = vatjax.vat(vatjax.shifts(judgments))
    assert result["nvat"].dims == ("model", "intervention")
    assert np.isfinite(result["nvat"].values).all()


@SLOW
def test_a_sample_in_two_logs_counts_once(run, tmp_path):
    """An eval and its retry (inspect eval-retry) both hold the samples done before."""
    log, _ = run
    for name in ("a.eval", "b.eval"):
        shutil.copy(log.location, tmp_path / name)
    assert len(vatjax.load_inspect_log(tmp_path)) == len(log.samples)


@SLOW
def test_model_label(run):
    log, _ = run
    table = vatjax.load_inspect_log(log.location, model="base")
    assert set(table["model"]) == {"base"}


@pytest.fixture(scope="module")
def other_log(tmp_path_factory):
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.solver import generate

    other = Task(
        dataset=[Sample(input="What is 2 + 2?", target="4")], solver=generate(), name="arithmetic"
    )
    (log,) = inspect_ai.eval(
        other,
        model=get_model("mockllm/model", custom_outputs=[_output("4")]),
        log_dir=str(tmp_path_factory.mktemp("other")),
        display="none",
    )
    return log


def test_a_log_of_another_task_is_refused(other_log):
    with pytest.raises(VatInputError, match=r"task 'arithmetic'.*no \['scenario'"):
        vatjax.load_inspect_log(other_log.location)
    folder = Path(other_log.location).parent
    shutil.copy(other_log.location, folder / "again.eval")
    with pytest.raises(VatInputError, match=r"task\(s\) \['arithmetic'\], none of vatjax's"):
        vatjax.load_inspect_log(folder)


@SLOW
def test_in_a_shared_log_folder_other_tasks_are_skipped(run, other_log, tmp_path):
    log, _ = run
    shutil.copy(log.location, tmp_path / "vat.eval")
    shutil.copy(other_log.location, tmp_path / "other.eval")
    assert len(vatjax.load_inspect_log(tmp_path)) == len(log.samples)


@SLOW
def test_a_file_that_is_no_log_or_is_cut_short(run, tmp_path):
    log, _ = run
    (tmp_path / "notes.json").write_text('{"a": 1}')
    with pytest.raises(VatInputError, match=r"cannot read .*notes.json as an Inspect log"):
        vatjax.load_inspect_log(tmp_path / "notes.json")
    (tmp_path / "cut.eval").write_bytes(Path(log.location).read_bytes()[:300])
    with pytest.raises(VatInputError, match=r"cut.eval as an Inspect log .*cut short"):
        vatjax.load_inspect_log(tmp_path / "cut.eval")


def test_no_logs_and_missing_path(tmp_path):
    with pytest.raises(VatInputError, match="no Inspect logs"):
        vatjax.load_inspect_log(tmp_path)
    with pytest.raises(VatInputError, match="no such Inspect log"):
        vatjax.load_inspect_log(tmp_path / "x.eval")


def test_without_inspect_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "inspect_ai.log", None)  # import fails
    with pytest.raises(VatInputError, match=r"pip install 'vatjax\[inspect\]'"):
        vatjax.load_inspect_log(tmp_path)


def test_task_is_registered_under_the_package_name():
    from inspect_ai._util.registry import registry_info

    from vatjax.collect.inspect_task import vat_task

    assert registry_info(vat_task).name == "vatjax/vat_task"


def test_conditions_as_one_string():
    from vatjax.collect.inspect_task import vat_task

    task = vat_task(conditions="pre; system:Security:reinforce")
    assert {s.metadata["condition"] for s in task.dataset} == {"pre", "system:Security:reinforce"}


ROOT = Path(__file__).resolve().parents[2]
BY_NAME = """
import inspect_ai
from inspect_ai.model import ModelOutput, ModelUsage, get_model
out = ModelOutput.from_content(model="mockllm", content="4")
out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
model = get_model("mockllm/model", custom_outputs=[out, out])
(log,) = inspect_ai.eval("vatjax/vat_task", model=model, limit=2, log_dir=LOG_DIR,
                         display="none")
print(log.eval.task, log.status, [s.scores["vat_rating"].value for s in log.samples])
"""


@SLOW
def test_inspect_finds_the_task_by_name_through_the_entry_point(tmp_path):
    """pyproject's inspect_ai entry point, installed as pip would write it, lets Inspect
    resolve `vatjax/vat_task` in a fresh interpreter."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("inspect-ai") for d in project["optional-dependencies"]["inspect"])
    (target,) = project["entry-points"]["inspect_ai"].values()
    dist = tmp_path / "site" / "vatjax_entry-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vatjax-entry\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(f"[inspect_ai]\nvatjax = {target}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(dist.parent)])}
    script = BY_NAME.replace("LOG_DIR", repr(str(tmp_path / "logs")))
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["vatjax/vat_task", "success", "[4.0,", "4.0]"]


@SLOW
def test_collect_from_inspect_writes_the_table_and_refuses_another_task(run, other_log, tmp_path):
    from typer.testing import CliRunner

    from vatjax.cli import app

    _, logs_dir = run
    out = tmp_path / "judgments.csv"
    result = CliRunner().invoke(
        app, ["collect", "--from-inspect", str(logs_dir), "--table", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == len(vatjax.load_inspect_log(logs_dir))
    assert "judgments" in result.stdout and str(out) in result.stdout.replace("\n", "")
    bad = CliRunner().invoke(app, ["collect", "--from-inspect", other_log.location])
    assert bad.exit_code == 2 and "arithmetic" in bad.stderr and "Traceback" not in bad.output
