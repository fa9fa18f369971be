"""Collection runs against a real OpenAI-compatible HTTP server on 127.0.0.1.

The server (vatjax.testing.FakeChatServer) answers deterministically and can be told to
answer 429/500, stall past the client's timeout, answer slowly, answer without a rating
or demand an API key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vatjax.cli import app
from vatjax.collect import (
    FatalEndpointError,
    JudgmentStore,
    RetryPolicy,
    collect,
    demo_items_path,
    load_items,
    read_store,
    store_to_table,
)
from vatjax.collect.store import DONE_STATUSES, KEY_FIELDS
from vatjax.errors import VatInputError
from vatjax.testing import NO_RATING_TEXT, FakeChatServer, fake_rating

FAST = RetryPolicy(max_retries=4, backoff=0.001, max_backoff=0.01)
SECRET = "sk-test-0123456789-do-not-write-me"


@pytest.fixture
def server():
    with FakeChatServer(keep_bodies=True) as srv:
        yield srv


def _items(n_scenarios: int) -> pd.DataFrame:
    items = load_items(demo_items_path())
    keep = sorted(items["scenario"].unique())[:n_scenarios]
    return items[items["scenario"].isin(keep)].reset_index(drop=True)


def _run(server, out, items, conditions=("pre",), **kw):
    kw.setdefault("retry", FAST)
    kw.setdefault("fsync", False)
    return collect(items, list(conditions), endpoint=server.url, model="demo", out=out, **kw)


def _answered_per_key(path) -> pd.Series:
    recs = [r for r in read_store(path) if r["status"] in DONE_STATUSES]
    return pd.Series([tuple(r[k] for k in KEY_FIELDS) for r in recs]).value_counts()


def test_every_item_is_collected_within_the_concurrency_bound(server, tmp_path):
    server.delay = 0.01
    items = _items(4)
    out = tmp_path / "j.sqlite"
    summary = _run(
        server,
        out,
        items,
        ["pre", "system:Security:reinforce"],
        repeats=2,
        temperature=0.7,
        seed=11,
        concurrency=3,
    )
    n = 2 * 2 * len(items)
    assert (summary.total, summary.answered, summary.errors, summary.skipped) == (n, n, 0, 0)
    table = store_to_table(out)
    assert len(table) == n and not table.duplicated(list(KEY_FIELDS)).any()
    assert table["rating"].between(1, 5).all()
    assert sorted(table["repeat"].unique()) == [0, 1]
    sec = table[table["condition"] == "system:Security:reinforce"]
    assert set(sec["strategy"]) == {"system-prompt"} and set(sec["direction"]) == {1}
    # bounded concurrency, parameters passed through, every answer stored as sent
    assert 2 <= server.max_in_flight <= 3
    assert {b["temperature"] for b in server.bodies} == {0.7}
    assert {b["seed"] for b in server.bodies} == {11, 12}
    sent = {fake_rating(b["model"], b["messages"], b["seed"])[1] for b in server.bodies}
    assert set(store_to_table(out, details=True)["raw"]) == sent
    # a rerun has nothing to do
    again = _run(server, out, items, ["pre", "system:Security:reinforce"], repeats=2,
                 temperature=0.7, seed=11)  # fmt: skip
    assert (again.skipped, again.answered) == (n, 0)
    assert server.requests == n


def test_429_and_500_are_retried_until_answered(server, tmp_path):
    server.fail_first, server.fail_status = 2, (429, 500)
    items = _items(2)
    out = tmp_path / "j.sqlite"
    summary = _run(server, out, items)
    n = len(items)
    assert (summary.answered, summary.errors, summary.retries) == (n, 0, 2 * n)
    assert server.statuses[429] == n and server.statuses[500] == n and server.statuses[200] == n
    details = store_to_table(out, details=True)
    assert (details["attempts"] == 3).all() and details["rating"].notna().all()


def test_timeouts_are_retried(server, tmp_path):
    server.stall_first, server.stall_s = 1, 1.0
    items = _items(1).head(4)
    out = tmp_path / "j.sqlite"
    summary = _run(server, out, items, timeout=0.3, concurrency=4)
    assert (summary.answered, summary.errors) == (4, 0) and summary.retries >= 4
    details = store_to_table(out, details=True)
    assert (details["attempts"] >= 2).all() and details["rating"].notna().all()


def test_failures_past_the_retries_are_recorded_then_collected_by_a_rerun(server, tmp_path):
    server.fail_first, server.fail_status = 5, (503,)
    items = _items(1)
    out = tmp_path / "j.sqlite"
    retry = RetryPolicy(max_retries=1, backoff=0.001)
    summary = _run(server, out, items, retry=retry)
    assert (summary.answered, summary.errors) == (0, len(items))
    assert "still missing" in str(summary)
    recs = read_store(out)
    assert {r["status"] for r in recs} == {"error"} and "HTTP 503" in recs[0]["error"]
    table = store_to_table(out)
    assert len(table) == len(items) and table["rating"].isna().all()
    assert store_to_table(out, failed=False).empty
    server.fail_first = 0
    summary = _run(server, out, items)
    assert (summary.answered, summary.skipped) == (len(items), 0)
    table = store_to_table(out)
    assert len(table) == len(items) and table["rating"].notna().all()
    assert (_answered_per_key(out) == 1).all()


def test_answers_without_a_rating_are_stored_as_missing_with_raw_text(server, tmp_path):
    server.no_rating = ("Wealth", "Daring")
    items = _items(12)
    out = tmp_path / "j.sqlite"
    summary = _run(server, out, items)
    hit = items["micro_value"].isin(["Wealth", "Daring"])
    assert summary.unparsed == hit.sum() > 0 and summary.answered == len(items)
    t = store_to_table(out, details=True)
    missing = t[t["micro_value"].isin(["Wealth", "Daring"])]
    assert missing["rating"].isna().all() and (missing["status"] == "unparsed").all()
    assert (missing["raw"] == NO_RATING_TEXT).all()
    assert t.loc[~t.index.isin(missing.index), "rating"].notna().all()
    before = server.requests
    _run(server, out, items)  # an answer without a rating is an answer: not asked again
    assert server.requests == before


def test_api_key_is_sent_from_the_environment_and_written_nowhere(server, tmp_path, monkeypatch):
    server.api_key = SECRET
    monkeypatch.setenv("VATJAX_TEST_KEY", SECRET)
    monkeypatch.delenv("VATJAX_WRONG_KEY", raising=False)
    items = _items(1)
    out = tmp_path / "j.sqlite"
    with pytest.raises(FatalEndpointError, match="HTTP 401") as info:
        _run(server, out, items, api_key_env="VATJAX_WRONG_KEY")
    assert "--api-key-env" in str(info.value)
    _run(server, out, items, api_key_env="VATJAX_TEST_KEY")
    assert server.authorizations == {f"Bearer {SECRET}"}
    result = CliRunner().invoke(
        app,
        ["collect", str(demo_items_path()), "--endpoint", server.url, "--model", "demo",
         "--out", str(tmp_path / "cli.sqlite"), "--table", str(tmp_path / "cli.csv"),
         "--api-key-env", "VATJAX_TEST_KEY", "--backoff", "0.001"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 3
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path


def test_a_changed_prompt_refuses_to_resume(server, tmp_path):
    items = _items(1)
    out = tmp_path / "j.sqlite"
    _run(server, out, items)
    with pytest.raises(VatInputError, match=r"different prompt.*new --out"):
        _run(server, out, items, judge_template="Rate: {action} ({micro_value})")
    with pytest.raises(VatInputError, match="different prompt"):
        _run(server, out, items, temperature=1.0)


def test_checkpoint_conditions_request_another_model_under_the_run_label(server, tmp_path):
    items = _items(1)
    out = tmp_path / "j.sqlite"
    _run(server, out, items, ["pre", "checkpoint:dpo6:Power:suppress,model=demo-dpo6"])
    table = store_to_table(out, details=True)
    assert set(table["model"]) == {"demo"}
    ck = table[table["condition"] == "dpo6"]
    assert set(ck["served_model"]) == {"demo-dpo6"}
    assert (set(ck["strategy"]), set(ck["target"]), set(ck["direction"])) == (
        {"dpo6"},
        {"Power"},
        {-1},
    )
    assert {b["model"] for b in server.bodies} == {"demo", "demo-dpo6"}


def test_an_old_json_lines_store_is_read_and_migrated_unchanged(tmp_path):
    path = tmp_path / "s.jsonl"
    rec = {"model": "m", "condition": "pre", "scenario": "s1", "micro_value": "Wealth",
           "polarity": "express", "repeat": 0, "status": "ok", "rating": 4.0,
           "prompt_sha": "0123456789abcdef"}  # fmt: skip
    path.write_text(json.dumps(rec) + "\n" + json.dumps(rec)[:25])
    before = path.read_bytes()
    assert len(read_store(path)) == 1
    with JudgmentStore(path) as store:
        assert store.path == tmp_path / "s.sqlite" and store.migrated == path
        assert store.n_answered() == 1
        with pytest.raises(VatInputError, match="another collector"):
            JudgmentStore(path)
        store.append({**rec, "repeat": 1, "rating": float("nan"), "status": "unparsed"})
    assert path.read_bytes() == before  # the old store is left as it was
    recs = read_store(tmp_path / "s.sqlite")
    assert [(r["repeat"], r["status"], r["rating"]) for r in recs] == [
        (0, "ok", 4.0),
        (1, "unparsed", None),
    ]
    assert recs[0]["prompt_sha"] == "0123456789abcde"
    with JudgmentStore(path) as store:  # reopening the old name resumes the migrated store
        assert store.n_answered() == 2
        new = {**rec, "condition": "new"}
        with pytest.raises(VatInputError, match="status 'done' is not one of"):
            store.append_many([new, {**rec, "status": "done"}])  # rolled back whole
        store.append({**new, "repeat": 3})
    assert [(r["condition"], r["repeat"]) for r in read_store(tmp_path / "s.sqlite")] == [
        ("pre", 0), ("pre", 1), ("new", 3)]  # fmt: skip
    path.write_bytes(before + b"\n")
    with pytest.raises(VatInputError, match="does not hold"):
        JudgmentStore(path)
    # an answer wins over an error before or after it; NaN ratings stay NaN
    err = {**rec, "scenario": "s2", "status": "error", "rating": None}
    table = store_to_table([err, {**err, "status": "ok", "rating": 2.0}, err, *recs])
    rating = table.set_index(["scenario", "repeat"])["rating"]
    assert len(table) == 3 and rating[("s1", 0)] == 4.0 and rating[("s2", 0)] == 2.0
    assert np.isnan(rating[("s1", 1)])


def test_store_names_and_bad_files_are_refused_with_the_fix(tmp_path):
    with pytest.raises(VatInputError, match=r"must be an SQLite file: name it \*\.sqlite"):
        JudgmentStore(tmp_path / "judgments.csv")
    with pytest.raises(VatInputError, match=r"name it .*new\.sqlite"):
        JudgmentStore(tmp_path / "new.jsonl")
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database, just text " * 100)
    with pytest.raises(VatInputError, match="is not a vatjax judgment store"):
        JudgmentStore(bad)
    assert bad.read_text().startswith("not a database")
    old = tmp_path / "old.jsonl"
    old.write_text("not json\n")
    with pytest.raises(VatInputError, match="line 1 is not valid JSON"):
        read_store(old)


def test_cli_reports_bad_input_and_failures_by_exit_code(server, tmp_path):
    runner = CliRunner()
    base = ["collect", str(demo_items_path()), "--endpoint", server.url, "--model", "demo",
            "--out", str(tmp_path / "j.sqlite"), "--backoff", "0.001"]  # fmt: skip
    bad = runner.invoke(app, [*base, "-c", "fewshot:Powr:suppress:4"])
    assert bad.exit_code == 2 and "did you mean 'Power'" in bad.output
    server.fail_first, server.fail_status = 9, (500,)
    failed = runner.invoke(app, [*base, "--max-retries", "0"])
    assert failed.exit_code == 1, failed.output
    assert "120 failed" in failed.output and "run the same command again" in failed.output


def _cli(out: Path, url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vatjax.cli", "collect", str(demo_items_path()),
            "--endpoint", url, "--model", "demo", "-c", "pre", "-c", "fewshot:Power:suppress:4",
            "--out", str(out), "--concurrency", "2", "--api-key-env", "VATJAX_TEST_KEY",
            "--backoff", "0.001", *extra]  # fmt: skip


def test_a_collector_killed_mid_run_resumes_to_the_uninterrupted_table(tmp_path):
    env = {**os.environ, "VATJAX_TEST_KEY": SECRET}
    killed, whole = tmp_path / "killed.sqlite", tmp_path / "whole.sqlite"
    with FakeChatServer(delay=0.01, api_key=SECRET) as srv:
        proc = subprocess.Popen(
            _cli(killed, srv.url), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if killed.exists() and len(read_store(killed)) >= 30:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the collector finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        n_before = len(read_store(killed))
        assert 30 <= n_before < 160
        rerun = subprocess.run(_cli(killed, srv.url, "--table", str(tmp_path / "t.csv")),
                               env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "already in the store" in rerun.stdout
        os.environ["VATJAX_TEST_KEY"] = SECRET
        try:
            _run(srv, whole, demo_items_path(), ["pre", "fewshot:Power:suppress:4"],
                 api_key_env="VATJAX_TEST_KEY")  # fmt: skip
        finally:
            del os.environ["VATJAX_TEST_KEY"]
    counts = _answered_per_key(killed)
    assert len(counts) == 160 and (counts == 1).all()
    cols = [*KEY_FIELDS, "strategy", "target", "direction", "rating", "raw", "status"]
    got = store_to_table(killed, details=True)[cols]
    want = store_to_table(whole, details=True)[cols]
    pd.testing.assert_frame_equal(got, want)
    on_disk = pd.read_csv(tmp_path / "t.csv", dtype={"scenario": str})
    assert len(on_disk) == 160 and on_disk["rating"].notna().all()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_end_to_end_collect_then_vat(server, tmp_path):
    import vatjax

    out = tmp_path / "j.sqlite"
    summary = _run(
        server,
        out,
        demo_items_path(),
        ["pre", "fewshot:Power:suppress:4", "system:Security:reinforce"],
        concurrency=16,
    )
    assert summary.answered == summary.total == 3 * 80
    judgments = vatjax.load_judgments(store_to_table(out))
    assert judgments["rating"].shape == (1, 3, 80)
    result = vatjax.vat(vatjax.shifts(judgments))
    table = vatjax.metrics_table(result)
    assert len(table) == 2
    assert set(table["target"]) == {"Power", "Security"}
    assert np.isfinite(table["nvat"]).all() and np.isfinite(table["centralization"]).all()


def test_the_cli_resumes_an_old_json_lines_store_through_its_migration(server, tmp_path):
    live = tmp_path / "live.sqlite"
    _run(server, live, demo_items_path())
    old = tmp_path / "old.jsonl"
    recs = read_store(live)
    old.write_text("".join(json.dumps(r) + "\n" for r in recs[:100]))
    args = ["collect", str(demo_items_path()), "--endpoint", server.url, "--model", "demo",
            "--out", str(old), "--table", str(tmp_path / "t.csv"), "--no-fsync"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "100 already in the store" in res.output and "20 answered" in res.output
    assert f"{old} was migrated into {tmp_path / 'old.sqlite'}" in " ".join(res.output.split())
    assert len(pd.read_csv(tmp_path / "t.csv")) == 120 and len(old.read_text().splitlines()) == 100
    pd.testing.assert_frame_equal(store_to_table(tmp_path / "old.sqlite"), store_to_table(live))
