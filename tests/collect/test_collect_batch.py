"""The Batch API path: request files out, result files in, the same store as a live run.

The live run asks vatjax.testing.FakeChatServer; the batch results are what that server
answers to each request line (vatjax.testing.fakeserver.fake_batch_results), so both
paths see the same answers: ratings, answers without a rating, and failures.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from vatjax.cli import app
from vatjax.collect import RetryPolicy, collect, demo_items_path, read_store, store_to_table
from vatjax.collect.batch import MAX_REQUESTS, ingest_batch_results, write_batch_requests
from vatjax.collect.redact import REDACTED
from vatjax.collect.store import KEY_FIELDS
from vatjax.errors import VatInputError
from vatjax.testing.fakeserver import FAIL_TEXT, FakeChatServer, fake_batch_results

FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.01)
CONDITIONS = ["pre", "fewshot:Power:suppress:2"]
NO_RATING, FAILS, EXPIRES = ('"Pleasure"',), ('"Daring"',), ('"Politeness"',)
COLUMNS = [*KEY_FIELDS, "strategy", "target", "direction", "rating", "raw", "status", "error",
           "served_model"]  # fmt: skip
SECRET = "sk-test-0123456789-batch-secret"


def _lines(paths) -> list[dict]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines()]


def _batch(tmp_path, store, name, **answers):
    sent = write_batch_requests(demo_items_path(), CONDITIONS, model="demo", out=store,
                                requests=tmp_path / f"{name}.jsonl", repeats=2,
                                max_requests=100, fsync=False)  # fmt: skip
    results = tmp_path / f"{name}-results.jsonl"
    fake_batch_results(sent.files, results, no_rating=NO_RATING, fail_for=FAILS, **answers)
    return sent, ingest_batch_results([results], out=store, fsync=False)


def test_the_batch_path_gives_the_live_store_on_the_same_answers(tmp_path):
    live = tmp_path / "live.sqlite"
    with FakeChatServer(no_rating=NO_RATING, fail_for=FAILS, keep_bodies=True) as server:
        collect(demo_items_path(), CONDITIONS, endpoint=server.url, model="demo", out=live,
                repeats=2, retry=FAST, fsync=False)  # fmt: skip
    store = tmp_path / "batch.sqlite"
    sent, got = _batch(tmp_path, store, "requests", expired_for=EXPIRES)
    assert sent.requests == 2 * 2 * 80 and sent.skipped == 0
    assert [p.name for p in sent.files[:3]] == [
        "requests.jsonl",
        "requests-002.jsonl",
        "requests-003.jsonl",
    ]
    assert len(sent.files) == 4 and max(len(p.read_text().splitlines()) for p in sent.files) == 100
    lines = _lines(sent.files)
    assert {(x["method"], x["url"]) for x in lines} == {("POST", "/v1/chat/completions")}
    assert len({x["custom_id"] for x in lines}) == len(lines) == 320
    dumps = sorted(json.dumps(b, sort_keys=True) for b in server.bodies)
    assert sorted({json.dumps(x["body"], sort_keys=True) for x in lines}) == sorted(set(dumps))
    # the expired requests are failures until a second batch asks them again
    recs = read_store(store)
    expired = [r for r in recs if r["micro_value"] == "Politeness"]
    assert expired and {r["error"] for r in expired} == {
        "batch error batch_expired: This request expired."
    }
    assert got.errors == len(expired) + sum(r["micro_value"] == "Daring" for r in recs)
    retry, _ = _batch(tmp_path, store, "retry")
    assert retry.requests == got.errors and retry.skipped == 320 - got.errors
    want = store_to_table(live, details=True)[COLUMNS]
    have = store_to_table(store, details=True)[COLUMNS]
    pd.testing.assert_frame_equal(have, want)
    assert set(have["status"]) == {"ok", "unparsed", "error"}
    assert set(have.loc[have["status"] == "error", "error"]) == {f"HTTP 500: {FAIL_TEXT}"}


def _cli(*args: str):
    return CliRunner().invoke(app, ["collect", *map(str, args)])


def test_cli_batch_round_trip_and_bad_results_files_change_nothing(tmp_path, monkeypatch):
    store, req = tmp_path / "s.sqlite", tmp_path / "req.jsonl"
    wrote = _cli(demo_items_path(), "--model", "demo", "--out", store, "--batch-out", req,
                 "--no-fsync")  # fmt: skip
    assert wrote.exit_code == 0, wrote.output
    assert "120 requests written to" in wrote.output and "--batch-results" in wrote.output
    good = tmp_path / "good.jsonl"
    fake_batch_results([req], good, fail_for=FAILS)
    lines = good.read_text().splitlines(keepends=True)
    half = tmp_path / "half.jsonl"
    half.write_text("".join(lines[:60]))
    first = _cli("--batch-results", half, "--out", store)
    assert first.exit_code == 1 and "stored 60 batch results" in first.output  # 1: failures
    before = read_store(store)
    # a truncated file: its first lines are good, the last is cut short
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[60:100]) + lines[100][:40])
    bad = _cli("--batch-results", cut, "--out", store)
    assert bad.exit_code == 2
    assert f"{cut}, line 41: not valid JSON" in bad.output.splitlines()[0]
    # results of another store's requests
    other = tmp_path / "other.sqlite"
    write_batch_requests(demo_items_path(), ["pre"], model="demo", out=other,
                         requests=tmp_path / "other-req.jsonl", fsync=False)  # fmt: skip
    foreign = tmp_path / "foreign.jsonl"
    fake_batch_results([tmp_path / "other-req.jsonl"], foreign)
    bad = _cli("--batch-results", good, "--batch-results", foreign, "--out", store)
    assert bad.exit_code == 2 and "is unknown" in bad.output.splitlines()[0]
    assert f"{foreign}, line 1" in bad.output
    assert read_store(store) == before  # nothing stored by either failed ingest
    done = _cli("--batch-results", good, "--out", store, "--table", tmp_path / "t.csv")
    assert done.exit_code == 1, done.output  # some results were failures
    assert "stored 120 batch results" in done.output and "writes their requests again" in done.output
    assert len(store_to_table(store)) == 120 == len(pd.read_csv(tmp_path / "t.csv"))


def test_bad_arguments_and_lines_name_the_problem(tmp_path):
    store = tmp_path / "s.sqlite"
    assert "give the judgment store" in _cli("--batch-results", "x.jsonl").output
    res = _cli(demo_items_path(), "--batch-results", "x.jsonl", "--out", store)
    assert res.exit_code == 2 and "takes no item bank" in res.output
    res = _cli(demo_items_path(), "--model", "m", "--out", store)
    assert res.exit_code == 2 and "--endpoint" in res.output.splitlines()[0]
    res = _cli("--batch-results", tmp_path / "none.jsonl", "--out", store)
    assert res.exit_code == 2 and "no such batch results file" in res.output
    write_batch_requests(demo_items_path(), ["pre"], model="demo", out=store,
                         requests=tmp_path / "r.jsonl", fsync=False)  # fmt: skip
    cid = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])["custom_id"]
    for line, problem in [
        ('["a list"]', "no custom_id"),
        (json.dumps({"custom_id": cid}), "neither a response"),
        (json.dumps({"custom_id": "vat-0000-c1-i1-r0", "response": {}}), "is unknown"),
        (json.dumps({"custom_id": cid[:-1] + "9", "error": {"code": "x"}}), "is unknown"),
    ]:
        path = tmp_path / "bad.jsonl"
        path.write_text("\n" + line + "\n")
        with pytest.raises(VatInputError, match=f"bad.jsonl, line 2: .*{problem}"):
            ingest_batch_results([path], out=store)
    assert {r["status"] for r in read_store(store)} == {"requested"}
    with pytest.raises(VatInputError, match="max_requests"):
        write_batch_requests(demo_items_path(), ["pre"], model="m", out=store,
                             requests=tmp_path / "r.jsonl", max_requests=0)  # fmt: skip


def test_files_split_by_size_and_the_key_is_redacted_from_results(tmp_path, monkeypatch):
    store = tmp_path / "s.sqlite"
    sent = write_batch_requests(demo_items_path(), ["pre"], model="demo", out=store,
                                requests=tmp_path / "r.jsonl", max_bytes=20_000, fsync=False)  # fmt: skip
    sizes = [p.stat().st_size for p in sent.files]
    assert len(sizes) > 3 and max(sizes) <= 20_000 and MAX_REQUESTS == 50_000
    assert sum(len(p.read_text().splitlines()) for p in sent.files) == 120
    assert not list(tmp_path.glob(".*.tmp"))
    monkeypatch.setenv("VATJAX_TEST_KEY", SECRET)
    results = tmp_path / "res.jsonl"
    with results.open("w") as fh:
        for n, line in enumerate(_lines(sent.files)):
            body = {"error": {"message": f"Incorrect API key provided: {SECRET}."}}
            if n % 2:
                body = {"choices": [{"message": {"content": f"4 ({SECRET[:-2]}...)"}}]}
            response = {"status_code": 200 if n % 2 else 401, "body": body}
            fh.write(json.dumps({"custom_id": line["custom_id"], "response": response}) + "\n")
    got = ingest_batch_results([results], out=store, api_key_env="VATJAX_TEST_KEY")
    assert (got.answered, got.errors) == (60, 60)
    recs = read_store(store)
    assert {r["error"] for r in recs if r["status"] == "error"} == {
        f"HTTP 401: Incorrect API key provided: {REDACTED}."
    }
    assert {r["raw"] for r in recs if r["status"] == "ok"} == {f"4 ({REDACTED}...)"}
    results.unlink()
    for path in tmp_path.rglob("*"):
        assert SECRET[:12].encode() not in path.read_bytes(), path
