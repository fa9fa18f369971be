"""The chat-completions wire format: the request body sent, the answer read back.

The live client (:mod:`vatjax.collect.client`) and the Batch API path
(:mod:`vatjax.collect.batch`) both build requests with :func:`request_body` and read
answers with :func:`parse_completion` and :func:`error_text`, so the two paths send the
same messages and apply the same rules to what comes back. Every text from a server
passes through a :class:`~vatjax.collect.redact.Redactor`.

Example:
    >>> from vatjax.collect.redact import Redactor
    >>> parse_completion({"choices": [{"message": {"content": "Rating: 4"}}]}, Redactor("")).text
    'Rating: 4'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from vatjax.collect.redact import Redactor

__all__ = ["ChatResult", "error_text", "parse_completion", "request_body"]


@dataclass
class ChatResult:
    """One request's outcome.

    ``text`` is the answer (None on error); ``error`` says why it failed (None if it did
    not); ``status`` is the last HTTP status (None for a timeout or network error).
    """

    text: str | None
    error: str | None = None
    status: int | None = None
    attempts: int = 0
    latency_s: float = 0.0
    finish_reason: str | None = None
    usage: dict = field(default_factory=dict)
    response_model: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def error_text(status: int | None, body, redact: Redactor) -> str:
    """``HTTP <status>: <message>`` of an error answer (its JSON body or text), redacted,
    on one line of at most 200 characters of message.

    Example:
        >>> error_text(500, {"error": {"message": "try again"}}, Redactor(""))
        'HTTP 500: try again'
    """
    msg = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(msg, dict):
        msg = msg.get("message", msg)
    return f"HTTP {status}: " + " ".join(redact(str(msg)).split())[:200]


def request_body(
    messages: list[dict[str, str]],
    *,
    model: str,
    temperature: float | None = 0.0,
    seed: int | None = None,
    max_tokens: int | None = None,
    extra: dict | None = None,
) -> dict:
    """The JSON body of one chat-completions request (the live client's and a batch line's).

    Example:
        >>> request_body([{"role": "user", "content": "Hi"}], model="m", seed=3)
        {'model': 'm', 'messages': [{'role': 'user', 'content': 'Hi'}], 'temperature': 0.0, 'seed': 3}
    """
    body: dict = {"model": model, "messages": messages}
    if temperature is not None:
        body["temperature"] = temperature
    if seed is not None:
        body["seed"] = seed
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if extra:
        body.update(extra)
    return body


def parse_completion(data, redact: Redactor) -> ChatResult:
    """A chat-completions answer (a 200 body) as a result, its texts redacted; an error
    result if it holds no answer.

    Example:
        >>> parse_completion({"choices": [{"message": {"content": "4"}}]}, Redactor("")).text
        '4'
        >>> parse_completion({"detail": "x"}, Redactor("")).error
        'not a chat-completions response: {"detail": "x"}'
    """
    try:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        text = message.get("content")
        if text is None:
            text = choice.get("text", "")
        reason, served = choice.get("finish_reason"), data.get("model")
        return ChatResult(
            text=redact(str(text)),
            status=200,
            finish_reason=None if reason is None else redact(str(reason)),
            usage=data.get("usage") or {},
            response_model=None if served is None else redact(str(served)),
        )
    except (KeyError, IndexError, TypeError, AttributeError):
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        body = redact(" ".join(text.split()))[:200]
        return ChatResult(text=None, status=200, error=f"not a chat-completions response: {body}")
