"""An asynchronous OpenAI-compatible chat-completions client with retries.

Speaks ``POST {endpoint}/chat/completions`` as vLLM, llama.cpp's server, Ollama and hosted
APIs do. Transient failures (HTTP 429, 5xx, timeouts, dropped connections) are retried
with exponential backoff and full jitter, honouring ``Retry-After``; a request that still
fails is returned as an error result (the run goes on, and a rerun retries it). An
authentication or not-found error stops the run (:class:`FatalEndpointError`): every
request would fail the same way. So does an endpoint that cannot be reached:
:data:`MAX_CONNECT_FAILURES` failed connection attempts in a row (refused, host name not
found, no answer to the connection) raise :class:`EndpointUnreachableError`; any answer
from the server resets the count.

The API key is read from an environment variable (``OPENAI_API_KEY`` by default) and
only ever placed in the ``Authorization`` header. Every text from the server (answers,
error bodies) passes through a :class:`~vatjax.collect.redact.Redactor` first, so the key
is in no result, message or log even when a server quotes it.

Why httpx and not the official ``openai`` SDK (issue 15): the SDK's retries (exponential
backoff, ``Retry-After``) match :class:`RetryPolicy`, but it retries connection errors
inside one call, where this client must count failed connections across requests to stop
an unreachable run after :data:`MAX_CONNECT_FAILURES`; it raises typed errors whose
messages hold the server's text before any redaction; it builds pydantic models for every
answer (a measurable cost at thousands of local answers a second); and it would be a new
dependency for servers (vLLM, llama.cpp, Ollama) that speak only the plain protocol. The
request body (:func:`request_body`) and the answer parser (:func:`parse_completion`,
:func:`error_text`) are shared with the Batch API path (:mod:`vatjax.collect.batch`), so
both paths send and read the same thing.

Example:
    >>> RetryPolicy(max_retries=3, backoff=0.1).delay(2, retry_after=None) <= 0.4
    True
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import ssl
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from vatjax.collect.failures import (
    FATAL_HINT,
    MAX_CONNECT_FAILURES,
    EndpointUnreachableError,
    FatalEndpointError,
    connect_reason,
)
from vatjax.collect.protocol import (
    ChatResult,
    error_text,
    parse_completion,
    request_body,
)
from vatjax.collect.redact import Redactor
from vatjax.errors import VatInputError

__all__ = [
    "MAX_CONNECT_FAILURES",
    "ChatClient",
    "ChatResult",
    "EndpointUnreachableError",
    "FatalEndpointError",
    "RetryPolicy",
    "chat_url",
    "safe_url",
]

if importlib.util.find_spec("sniffio") is None:
    # httpcore retries `import sniffio` on every lock it creates; a failed import walks
    # sys.path each time (~0.1 ms a request). A None entry makes it fail at once, as before.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

_SHARD = 8  # connections per httpx pool: its per-request scan is linear in its size
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry.

    Args:
        max_retries: retries after the first attempt (0: never retry).
        backoff: base delay in seconds; attempt n waits up to backoff * 2**n.
        max_backoff: cap on one delay (and on a server's Retry-After).
        jitter: full jitter (a uniform draw below the delay), so that many clients that
            failed together do not retry together.

    Example:
        >>> RetryPolicy(jitter=False, backoff=0.5).delay(3, retry_after=None)
        4.0
    """

    max_retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: bool = True

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        d = min(self.max_backoff, self.backoff * 2.0**attempt)
        if self.jitter:
            d = random.uniform(0.0, d)
        if retry_after is not None:
            d = max(d, min(retry_after, self.max_backoff))
        return d


def chat_url(endpoint: str) -> str:
    """The chat-completions URL of an endpoint (a base URL such as ``.../v1`` or the full URL).

    Example:
        >>> chat_url("http://127.0.0.1:8000/v1")
        'http://127.0.0.1:8000/v1/chat/completions'
    """
    url = str(endpoint).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise VatInputError(
            f"endpoint {safe_url(url)!r} is not an http(s) URL; give the server's base URL, "
            "e.g. http://127.0.0.1:8000/v1"
        )
    if parts.path.rstrip("/").endswith("/chat/completions"):
        return url
    return url.rstrip("/") + "/chat/completions"


def safe_url(url: str) -> str:
    """A URL without user info, query or fragment (fit for files and logs).

    Example:
        >>> safe_url("https://user:secret@host:9/v1?key=abc")
        'https://host:9/v1'
    """
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _ssl_context() -> ssl.SSLContext:
    """One certificate-verifying context shared by all pools (loading CAs takes ~20 ms)."""
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class ChatClient:
    """Chat completions against one endpoint, with a concurrency bound and retries.

    Args:
        endpoint: base URL (``http://host:port/v1``) or the full chat-completions URL.
        api_key_env: environment variable holding the API key; unset or empty: no
            ``Authorization`` header (local servers need none).
        timeout: seconds for one attempt (connect, read, write, pool).
        retry: the :class:`RetryPolicy`.
        concurrency: most requests in flight at once.
        transport: an httpx transport (tests, proxies); default the network.
        max_connect_failures: failed connection attempts in a row (no answer from the
            server in between) after which :meth:`complete` raises
            :class:`EndpointUnreachableError`.

    Use as an async context manager::

        async with ChatClient("http://127.0.0.1:8000/v1") as client:
            result = await client.complete([{"role": "user", "content": "Hi"}], model="m")
    """

    def __init__(
        self,
        endpoint: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connect_failures: int = MAX_CONNECT_FAILURES,
    ):
        if concurrency < 1:
            raise VatInputError(f"concurrency must be >= 1, got {concurrency}")
        if max_connect_failures < 1:
            raise VatInputError(f"max_connect_failures must be >= 1, got {max_connect_failures}")
        if timeout <= 0:
            raise VatInputError(f"timeout must be > 0 seconds, got {timeout}")
        self.url = chat_url(endpoint)
        self.endpoint = safe_url(endpoint)
        self.retry = retry or RetryPolicy()
        # one slot per request in flight; slot i uses pool i // _SHARD, so a request never
        # waits inside a pool and each pool stays small
        self._slots: asyncio.Queue[int] = asyncio.Queue()
        for i in range(concurrency):
            self._slots.put_nowait(i)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._redact = Redactor(key)
        n_pools = -(-concurrency // _SHARD)
        verify = _ssl_context()
        limits = httpx.Limits(max_connections=_SHARD, max_keepalive_connections=_SHARD)
        self._pools = [
            httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(timeout),
                limits=limits,
                transport=transport,
                verify=verify,
            )
            for _ in range(n_pools)
        ]
        self.timeout = timeout
        self.retries = 0  # retries made over the client's life
        self.max_connect_failures = max_connect_failures
        self._connect_failures = 0  # in a row, reset by any answer from the server

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        model: str,
        temperature: float | None = 0.0,
        seed: int | None = None,
        max_tokens: int | None = None,
        extra: dict | None = None,
    ) -> ChatResult:
        """One chat completion, retried on transient failures; never raises for those.

        Raises:
            FatalEndpointError: on HTTP 401, 403 or 404 (a bad key, model or URL).
        """
        body = request_body(
            messages,
            model=model,
            temperature=temperature,
            seed=seed,
            max_tokens=max_tokens,
            extra=extra,
        )
        payload = json.dumps(body).encode()
        start = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            slot = await self._slots.get()
            try:
                outcome = await self._attempt(self._pools[slot // _SHARD], payload)
            finally:
                self._slots.put_nowait(slot)
            if isinstance(outcome, ChatResult):
                outcome.attempts = attempt
                outcome.latency_s = time.perf_counter() - start
                return outcome
            error, status, retry_after = outcome
            transient = status is None or status in _RETRY_STATUS or status >= 500
            if not transient or attempt > self.retry.max_retries:
                return ChatResult(
                    text=None,
                    error=error,
                    status=status,
                    attempts=attempt,
                    latency_s=time.perf_counter() - start,
                )
            self.retries += 1
            await asyncio.sleep(self.retry.delay(attempt - 1, retry_after))

    async def _attempt(
        self, pool: httpx.AsyncClient, payload: bytes
    ) -> ChatResult | tuple[str, int | None, float | None]:
        """One POST: the parsed answer, or (error, HTTP status, Retry-After) to retry on."""
        try:
            resp = await pool.post(self.url, content=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return self._connect_failed(exc), None, None
        except httpx.TimeoutException:
            return f"timed out after {self.timeout:g} s", None, None
        except httpx.TransportError as exc:
            return f"connection failed ({type(exc).__name__})", None, None
        self._connect_failures = 0
        status = resp.status_code
        if status == 200:
            return self._parse(resp)
        error = error_text(status, _json_or_text(resp), self._redact)
        if status in FATAL_HINT:
            hint = FATAL_HINT[status]
            raise FatalEndpointError(f"{self.endpoint} answered {error.rstrip('.')}; {hint}")
        return error, status, _retry_after(resp)

    def _connect_failed(self, exc: Exception) -> str:
        """Count a failed connection; the error to record, or raise after too many."""
        reason = self._redact(connect_reason(exc, self.timeout))
        self._connect_failures += 1
        if self._connect_failures >= self.max_connect_failures:
            raise EndpointUnreachableError(
                f"cannot connect to {self.endpoint} ({reason}): check the endpoint URL "
                "(--endpoint) and that the server is running\n"
                f"the run stopped after {self._connect_failures} failed connection attempts "
                "in a row; the answers received so far are kept in the store, and running "
                "the same command again resumes"
            ) from None  # the httpx chain adds nothing to the message
        return f"cannot connect ({reason})"

    def _parse(self, resp: httpx.Response) -> ChatResult:
        """A 200 response's answer (its texts redacted), or an error if it holds none."""
        return parse_completion(_json_or_text(resp), self._redact)


def _json_or_text(resp: httpx.Response):
    try:
        return resp.json()
    except ValueError:
        return resp.text
