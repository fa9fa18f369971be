"""How an endpoint fails for good: the errors that stop a collection run, in few words.

An HTTP 401, 403 or 404 answer (a bad key, an unknown URL or model) raises
:class:`FatalEndpointError`, with the fix in :data:`FATAL_HINT`; :data:`MAX_CONNECT_FAILURES`
failed connection attempts in a row raise :class:`EndpointUnreachableError`, whose
message says why the connection failed (:func:`connect_reason`). Both are
:class:`~vatjax.errors.VatInputError`: the command line reports them on its first line and
exits with code 2.

Example:
    >>> issubclass(EndpointUnreachableError, FatalEndpointError)
    True
"""

from __future__ import annotations

import socket
import ssl

import httpx

from vatjax.errors import VatInputError

__all__ = [
    "FATAL_HINT",
    "MAX_CONNECT_FAILURES",
    "EndpointUnreachableError",
    "FatalEndpointError",
    "connect_reason",
]

FATAL_HINT = {  # HTTP status -> the fix; these statuses stop the run
    401: "check the API key variable (--api-key-env)",
    403: "check the API key's permissions",
    404: "check the endpoint URL (--endpoint) and the model name (--model)",
}

MAX_CONNECT_FAILURES = 5
"""Failed connection attempts in a row after which a client gives up on its endpoint."""


class FatalEndpointError(VatInputError):
    """The endpoint refuses every request (bad key, unknown model or URL): stop the run."""


class EndpointUnreachableError(FatalEndpointError):
    """No connection to the endpoint (refused, unknown host, no answer): stop the run."""


def connect_reason(exc: Exception, timeout: float) -> str:
    """Why a connection failed, in a few words ("connection refused", ...).

    Example:
        >>> connect_reason(httpx.ConnectError("x"), 5.0)
        'x'
        >>> connect_reason(httpx.ConnectTimeout("x"), 5.0)
        'no connection within 5 s'
    """
    if isinstance(exc, httpx.TimeoutException):
        return f"no connection within {timeout:g} s"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            if seen.errno == socket.EAI_NONAME:
                return "host name not found"
            return f"host name lookup failed: {seen.strerror or seen}"
        if isinstance(seen, ssl.SSLError):
            return f"TLS handshake failed: {seen.reason or seen}"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror[:1].lower() + seen.strerror[1:]
        seen = seen.__cause__ or seen.__context__
    return " ".join(str(exc).split())[:200] or type(exc).__name__
