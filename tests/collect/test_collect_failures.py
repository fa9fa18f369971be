"""An endpoint that cannot be reached, a server that quotes the API key, the help text.

The servers are real (vatjax.testing.FakeChatServer on 127.0.0.1); a refused endpoint is a
port that was bound, read and closed; an unknown host is ``nonexistent.invalid`` (the
``.invalid`` top-level domain never resolves).
"""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
from typer.testing import CliRunner

from vatjax.cli import app
from vatjax.collect import (
    ChatClient,
    EndpointUnreachableError,
    FatalEndpointError,
    RetryPolicy,
    collect,
    demo_items_path,
    load_items,
    read_store,
)
from vatjax.collect.redact import MIN_FRAGMENT, REDACTED, Redactor
from vatjax.testing import FakeChatServer

FAST = RetryPolicy(max_retries=4, backoff=0.001, max_backoff=0.01)
SECRET = "sk-live-7f3a9c2e51d84b06-do-not-print"
WRONG = "sk-wrong-c0ffee1234abcd-not-this-one"
MESSAGES = [{"role": "user", "content": "Rate it."}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(endpoint: str, out, *extra: str):
    args = ["collect", str(demo_items_path()), "--endpoint", endpoint, "--model", "demo",
            "--out", str(out), "--backoff", "0.001", "--timeout", "5", *extra]  # fmt: skip
    return CliRunner().invoke(app, args)


def _first_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.strip())


def _fragments(key: str) -> list[bytes]:
    """Every run of MIN_FRAGMENT characters of the key, and its masked form."""
    runs = [key[i : i + MIN_FRAGMENT] for i in range(len(key) - MIN_FRAGMENT + 1)]
    masked = key[:7] + "*" * (len(key) - 11) + key[-4:]
    return [s.encode() for s in [key, masked, *runs]]


def _assert_nowhere(key: str, texts: list[str], folder=None) -> None:
    """Neither the key nor a piece of it is in the texts or in any file under folder."""
    blobs = [t.encode() for t in texts]
    if folder is not None:
        blobs += [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
        assert len(blobs) > len(texts)
    for piece in _fragments(key):
        for blob in blobs:
            assert piece not in blob, piece


def test_a_refused_endpoint_is_named_on_the_first_line_and_stops_the_run(tmp_path):
    port = _free_port()
    out = tmp_path / "j.sqlite"
    result = _cli(f"http://127.0.0.1:{port}/v1", out, "--progress")  # the bar is erased
    assert result.exit_code == 2, result.output
    first = _first_line(result.output)
    assert first.startswith(f"error: cannot connect to http://127.0.0.1:{port}/v1 ")
    assert "(connection refused)" in first and "--endpoint" in first
    assert "stopped after 5 failed connection attempts in a row" in result.output
    assert "120 failed" not in result.output and "Traceback" not in result.output
    assert len(read_store(out)) < 5  # not one failure per item


def test_an_unknown_host_fails_fast_on_the_first_line(tmp_path):
    result = _cli("http://nonexistent.invalid/v1", tmp_path / "j.sqlite")
    assert result.exit_code == 2, result.output
    first = _first_line(result.output)
    assert first.startswith("error: cannot connect to http://nonexistent.invalid/v1 (host name")


def _transport(answers: list[str]) -> tuple[httpx.MockTransport, list[str]]:
    """A transport that refuses ("refuse") or answers ("ok"), in turn; it logs each call."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        kind = answers[len(calls) % len(answers)]
        calls.append(kind)
        if kind == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        body = {"choices": [{"message": {"content": "4"}, "finish_reason": "stop"}]}
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler), calls


def _items(n: int):
    return load_items(demo_items_path()).head(n)


@pytest.mark.parametrize("limit", [1, 3])
def test_the_run_stops_after_max_connect_failures_in_a_row(tmp_path, limit):
    transport, calls = _transport(["refuse"])
    with pytest.raises(EndpointUnreachableError, match=r"^cannot connect to \S+ \(") as info:
        collect(_items(10), ["pre"], endpoint="http://10.0.0.1:9/v1", model="m",
                out=tmp_path / "j.sqlite", retry=FAST, concurrency=1, fsync=False,
                transport=transport, max_connect_failures=limit)  # fmt: skip
    assert len(calls) == limit
    assert f"after {limit} failed connection attempts" in str(info.value)
    assert isinstance(info.value, FatalEndpointError)


def test_any_answer_resets_the_count_of_failed_connections(tmp_path):
    transport, calls = _transport(["refuse", "refuse", "ok"])
    out = tmp_path / "j.sqlite"
    summary = collect(_items(6), ["pre"], endpoint="http://10.0.0.1:9/v1", model="m", out=out,
                      retry=FAST, concurrency=1, fsync=False, transport=transport,
                      max_connect_failures=3)  # fmt: skip
    assert (summary.answered, summary.errors, len(calls)) == (6, 0, 18)
    assert {r["attempts"] for r in read_store(out)} == {3}


@pytest.mark.parametrize("quote", ["full", "masked"])
def test_a_wrong_key_quoted_by_the_server_is_redacted_from_the_message(
    tmp_path, monkeypatch, quote
):
    monkeypatch.setenv("VATJAX_TEST_KEY", WRONG)
    with FakeChatServer(api_key=SECRET, quote_key=quote) as server:
        result = _cli(server.url, tmp_path / "j.sqlite", "--api-key-env", "VATJAX_TEST_KEY")
        with pytest.raises(FatalEndpointError) as info:
            collect(_items(2), ["pre"], endpoint=server.url, model="m", fsync=False,
                    out=tmp_path / "api.sqlite", api_key_env="VATJAX_TEST_KEY")  # fmt: skip
    assert server.authorizations == {f"Bearer {WRONG}"}  # the server did see it
    assert result.exit_code == 2, result.output
    first = _first_line(result.output)
    assert first == (
        f"error: {server.url} answered HTTP 401: Incorrect API key provided: {REDACTED}; "
        "check the API key variable (--api-key-env)"
    )
    assert str(info.value) == first.removeprefix("error: ")
    _assert_nowhere(WRONG, [result.output, str(info.value), repr(info.value)], tmp_path)


@pytest.mark.parametrize("quote", ["full", "masked"])
def test_error_bodies_quoting_the_key_are_stored_and_printed_redacted(tmp_path, monkeypatch, quote):
    monkeypatch.setenv("VATJAX_TEST_KEY", SECRET)
    out = tmp_path / "j.sqlite"
    with FakeChatServer(fail_first=1, fail_status=(500,), quote_key=quote) as server:
        failed = _cli(server.url, out, "--api-key-env", "VATJAX_TEST_KEY", "--max-retries", "0",
                      "--table", str(tmp_path / "j.csv"))  # fmt: skip
        errors = [r["error"] for r in read_store(out) if r["status"] == "error"]
        resumed = _cli(server.url, out, "--api-key-env", "VATJAX_TEST_KEY")
    assert (failed.exit_code, resumed.exit_code) == (1, 0), failed.output + resumed.output
    assert len(errors) == 120
    assert {r["status"] for r in read_store(out)} == {"ok"}  # answers replaced the failures
    assert set(errors) == {f"HTTP 500: try again. Incorrect API key provided: {REDACTED}."}
    _assert_nowhere(SECRET, [failed.output, resumed.output], tmp_path)


def test_answers_and_bodies_that_are_not_answers_are_redacted(monkeypatch):
    monkeypatch.setenv("VATJAX_TEST_KEY", SECRET)
    bodies = iter([
        httpx.Response(200, json={"model": SECRET, "choices": [
            {"message": {"content": f"4, and your key is {SECRET}"}, "finish_reason": "stop"}]}),
        httpx.Response(200, text=f"<html>proxy login for Bearer {SECRET}</html>"),
    ])  # fmt: skip
    transport = httpx.MockTransport(lambda request: next(bodies))

    async def ask():
        async with ChatClient("http://h/v1", api_key_env="VATJAX_TEST_KEY",
                              transport=transport) as client:  # fmt: skip
            return [await client.complete(MESSAGES, model="m") for _ in range(2)]

    answer, junk = asyncio.run(ask())
    assert answer.text == f"4, and your key is {REDACTED}" and answer.response_model == REDACTED
    assert (
        junk.error
        == f"not a chat-completions response: <html>proxy login for Bearer {REDACTED}</html>"
    )
    _assert_nowhere(SECRET, [json.dumps([answer.__dict__, junk.__dict__])])


def test_redactor_rules():
    r = Redactor(SECRET)
    assert r(None) is None and r("") == ""
    assert r(f"got {SECRET[:12]}... and ...{SECRET[-9:]}") == f"got {REDACTED}... and ...{REDACTED}"
    assert r(f"'{SECRET[:4]}{'*' * 20}{SECRET[-4:]}'.") == f"'{REDACTED}'."
    assert r(f"key ****{SECRET[-4:]}: rejected") == f"key {REDACTED}: rejected"
    untouched = "Rating: 4. sk-other**** is another key; sk- is a prefix; 5 out of 5"
    assert r(untouched) == untouched
    short = Redactor("abc12")  # a short key is replaced only whole
    assert short("abc12 and abc1 and c12") == f"{REDACTED} and abc1 and c12"
    assert Redactor("a.*+?[key]$^(x)|{2}\\")("x a.*+?[key]$^(x)|{2}\\ y") == f"x {REDACTED} y"
    with pytest.raises(ValueError, match="quote_key"):
        FakeChatServer(quote_key="half")


def test_condition_help_and_errors_read_as_written(tmp_path):
    runner = CliRunner()
    helptext = runner.invoke(app, ["collect", "--help"], env={"COLUMNS": "160"}).output
    flat = " ".join(helptext.replace("│", " ").split())
    assert "\N{LABEL}" not in helptext and "checkpoint:TAG:TARGET:DIRECTION" in flat
    assert "fewshot:TARGET:DIRECTION:K" in flat and "DIRECTION is reinforce (or +1)" in flat
    bad = runner.invoke(app, ["collect", str(demo_items_path()), "--endpoint", "http://h/v1",
                              "--model", "m", "--out", str(tmp_path / "j.sqlite"),
                              "-c", "bogus"])  # fmt: skip
    assert bad.exit_code == 2 and "\N{LABEL}" not in bad.output
    assert "checkpoint:TAG:TARGET:DIRECTION,model=NAME" in bad.output
