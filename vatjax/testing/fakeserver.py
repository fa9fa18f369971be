"""A deterministic OpenAI-compatible chat server on 127.0.0.1, for tests, demos, benchmarks.

It answers ``POST /v1/chat/completions`` with a rating that is a fixed function of the
model name, the prompt and the seed, phrased in one of several styles (a bare number, a
sentence, a JSON object), so the same request always gets the same answer. It can be
told to misbehave: answer the first attempts at each request with 429 or 500, stall the
first attempts past the client's timeout, answer slowly, answer text with no rating in
it, or demand an API key -- and quote the key it was sent in its error bodies, whole or
masked as OpenAI does, to test that a client keeps it out of what it prints and stores. Standard library only; nothing leaves the machine.

Run one by hand: ``python -m vatjax.testing.fakeserver --port 8000`` (prints its URL).

Example:
    >>> import httpx
    >>> with FakeChatServer() as server:
    ...     body = {"model": "m", "messages": [{"role": "user", "content": "Rate it."}]}
    ...     r = httpx.post(server.url + "/chat/completions", json=body)
    >>> r.status_code, r.json()["choices"][0]["message"]["role"]
    (200, 'assistant')
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = [
    "FAIL_TEXT",
    "NO_RATING_TEXT",
    "FakeChatServer",
    "fake_answer",
    "fake_batch_results",
    "fake_rating",
]

NO_RATING_TEXT = "I would rather not put a number on this one."
"""What the server answers when told to answer without a rating."""
FAIL_TEXT = "this request always fails"
"""The error message of a request the server is told to fail (HTTP 500)."""


def fake_rating(model: str, messages: list[dict], seed: int | None) -> tuple[int, str]:
    """The server's deterministic (rating, answer text) for a request.

    The rating of the last user message is a hash of it and the model; the system
    message and any few-shot turns move it by -1, 0 or +1 (also by hash), so a steered
    condition gives different, but reproducible, ratings.

    Example:
        >>> msgs = [{"role": "user", "content": "x"}]
        >>> fake_rating("m", msgs, 0) == fake_rating("m", msgs, 0)
        True
    """
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    last = str(users[-1]) if users else ""
    h = hashlib.sha256(f"{model}\x00{last}\x00{seed}".encode()).digest()
    rating = 1 + h[0] % 5
    context = [m for m in messages[:-1]] if messages else []
    if context:
        c = hashlib.sha256(json.dumps(context, sort_keys=True).encode() + h).digest()
        rating = min(5, max(1, rating + (c[0] % 3) - 1))
    style = h[1] % 4
    text = [
        f"{rating}",
        f"Rating: {rating}",
        json.dumps({"rating": rating, "reason": "deterministic test answer"}),
        f"I would rate this action a {rating} out of 5.",
    ][style]
    return rating, text


def _quoted_key(auth: str | None, how: str | None) -> str:
    """What an error body adds about the key it was sent: nothing, the key, or a mask.

    Example:
        >>> _quoted_key("Bearer sk-abc123def456wxyz", "masked")
        'Incorrect API key provided: sk-abc1********wxyz.'
    """
    key = (auth or "").removeprefix("Bearer ").strip()
    if not how or not key:
        return ""
    if how == "masked":
        key = key[:7] + "*" * max(3, len(key) - 11) + key[-4:]
    return f"Incorrect API key provided: {key}."


def _completion(digest: str, model: str, text: str, raw: bytes) -> dict:
    """The body of a chat completion that answers ``text``."""
    return {
        "id": "chatcmpl-" + digest[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": len(raw) // 4, "completion_tokens": 3},
    }


class _Handler(BaseHTTPRequestHandler):
    """One request; ``self.server.fake`` is the :class:`FakeChatServer` that serves it."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        fake = self.server.fake
        data = json.dumps(body).encode()
        with fake._lock:
            fake.statuses[status] += 1
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # client gave up
            self.close_connection = True

    def do_POST(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with fake._lock:
            fake.requests += 1
            auth = self.headers.get("Authorization")
            if auth:
                fake.authorizations.add(auth)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        quoted = _quoted_key(auth, fake.quote_key)
        if fake.api_key and auth != f"Bearer {fake.api_key}":
            return self._send(401, {"error": {"message": quoted or "invalid API key"}})
        try:
            body = json.loads(raw)
            messages = body["messages"]
            model = str(body["model"])
        except (ValueError, KeyError, TypeError):
            return self._send(400, {"error": {"message": "bad request body"}})
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            if fake.keep_bodies:
                fake.bodies.append(body)
        try:
            self._answer(raw, body, messages, model, quoted)
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _answer(self, raw: bytes, body: dict, messages: list, model: str, quoted: str) -> None:
        fake = self.server.fake
        digest = hashlib.sha256(raw).hexdigest()
        with fake._lock:
            fake._attempts[digest] += 1
            attempt = fake._attempts[digest]
        if attempt <= fake.fail_first and fake.fail_status:
            status = fake.fail_status[(attempt - 1) % len(fake.fail_status)]
            headers = {"Retry-After": "0"} if status == 429 else None
            message = f"try again. {quoted}".strip()
            return self._send(status, {"error": {"message": message}}, headers)
        if attempt <= fake.stall_first:
            time.sleep(fake.stall_s)
        if fake.delay:
            time.sleep(fake.delay)
        self._send(*fake_answer(body, raw, no_rating=fake.no_rating, fail_for=fake.fail_for))


def fake_answer(body: dict, raw: bytes, *, no_rating=(), fail_for=()) -> tuple[int, dict]:
    """(HTTP status, JSON body) of the server's answer to a request body.

    A request whose last message contains a ``fail_for`` substring gets HTTP 500
    (:data:`FAIL_TEXT`), one that contains a ``no_rating`` substring :data:`NO_RATING_TEXT`.

    Example:
        >>> body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 0}
        >>> fake_answer(body, b"x", fail_for=("x",))[0], fake_answer(body, b"x")[0]
        (500, 200)
    """
    messages, model = body["messages"], str(body["model"])
    last = str(messages[-1].get("content", "")) if messages else ""
    if any(s in last for s in fail_for):
        return 500, {"error": {"message": FAIL_TEXT}}
    if any(s in last for s in no_rating):
        text = NO_RATING_TEXT
    else:
        _, text = fake_rating(model, messages, body.get("seed"))
    return 200, _completion(hashlib.sha256(raw).hexdigest(), model, text, raw)


def fake_batch_results(requests, out, *, no_rating=(), fail_for=(), expired_for=()) -> int:
    """Write the Batch API output file for request files, as the server would answer them.

    Lines whose last message contains an ``expired_for`` substring get the API's
    ``error`` form (``batch_expired``) instead of a response. Returns the lines written.

    Example:
        >>> import json, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        >>> line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": body}
        >>> _ = (d / "req.jsonl").write_text(json.dumps(line) + "\\n")
        >>> fake_batch_results([d / "req.jsonl"], d / "res.jsonl")
        1
        >>> json.loads((d / "res.jsonl").read_text())["response"]["status_code"]
        200
    """
    n = 0
    with open(out, "w", encoding="utf-8") as fh:
        for path in requests:
            with open(path, encoding="utf-8") as src:
                for line in src:
                    req = json.loads(line)
                    body, n = req["body"], n + 1
                    last = str(body["messages"][-1].get("content", ""))
                    result = {"id": f"batch_req_{n}", "custom_id": req["custom_id"]}
                    if any(s in last for s in expired_for):
                        err = {"code": "batch_expired", "message": "This request expired."}
                        result.update(response=None, error=err)
                    else:
                        raw = json.dumps(body).encode()
                        status, reply = fake_answer(
                            body, raw, no_rating=no_rating, fail_for=fail_for
                        )
                        response = {"status_code": status, "request_id": f"req_{n}", "body": reply}
                        result.update(response=response, error=None)
                    fh.write(json.dumps(result) + "\n")
    return n


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default 5 drops SYNs when many clients connect at once

    def __init__(self, address, fake: FakeChatServer):
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        """Stay quiet when a client hangs up (a run that stopped); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeChatServer:
    """A threaded OpenAI-compatible test server (see the module docstring).

    Args:
        delay: seconds to wait before every answer.
        fail_first: the first ``fail_first`` attempts at each distinct request are refused
            with the statuses in ``fail_status`` (cycled).
        fail_status: statuses of refused attempts (e.g. ``(429, 500)``).
        stall_first: the first ``stall_first`` attempts at each distinct request wait
            ``stall_s`` seconds before answering (past a client's timeout).
        no_rating: substrings; a request whose last message contains one gets
            :data:`NO_RATING_TEXT`.
        fail_for: substrings; a request whose last message contains one always gets
            HTTP 500 (:data:`FAIL_TEXT`).
        api_key: if set, requests without ``Authorization: Bearer <api_key>`` get 401.
        quote_key: ``"full"`` or ``"masked"``: every error body (401 and ``fail_status``)
            quotes the key the request was sent, whole or as ``sk-abc1****wxyz``.
        keep_bodies: keep every request body in ``bodies`` (for tests).

    Attributes (readable while it runs): ``requests`` (all attempts), ``statuses``
    (Counter of the statuses sent), ``authorizations`` (set of Authorization headers),
    ``max_in_flight`` (most requests handled at once), ``bodies``.
    The behaviour attributes may be changed while it runs.
    """

    def __init__(
        self,
        *,
        delay: float = 0.0,
        fail_first: int = 0,
        fail_status: tuple[int, ...] = (429, 500),
        stall_first: int = 0,
        stall_s: float = 2.0,
        no_rating: tuple[str, ...] = (),
        fail_for: tuple[str, ...] = (),
        api_key: str | None = None,
        quote_key: str | None = None,
        keep_bodies: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.delay = delay
        self.fail_first = fail_first
        self.fail_status = tuple(fail_status)
        self.stall_first = stall_first
        self.stall_s = stall_s
        self.no_rating = tuple(no_rating)
        self.fail_for = tuple(fail_for)
        self.api_key = api_key
        if quote_key not in (None, "full", "masked"):
            raise ValueError(f"quote_key must be None, 'full' or 'masked', got {quote_key!r}")
        self.quote_key = quote_key
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.authorizations: set[str] = set()
        self.keep_bodies = keep_bodies
        self.bodies: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the server's API (``http://127.0.0.1:PORT/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeChatServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeChatServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m vatjax.testing.fakeserver [--port N] [--delay S]``: serve until killed."""
    ap = argparse.ArgumentParser(description="deterministic OpenAI-compatible test server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args(argv)
    server = FakeChatServer(port=args.port, delay=args.delay)
    print(server.url, flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
