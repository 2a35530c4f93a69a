"""A failed connection in words: what users read instead of the HTTP library's text.

``ClientConnectorError: Cannot connect to host example.com:443 ssl:default [Connect
call failed ('93.184.216.34', 443)]`` says "connection refused" to those who know
aiohttp. :func:`describe_network_error` says it plainly, and keeps the library's
text as the detail, for a bug report or a search. The worker's ``file_url`` download
and the webhook sender both use it, so a job and a delivery attempt say the same
thing about the same failure.

Standard library only: aiohttp's connection errors are ``OSError``\\ s that carry the
socket's own error (``os_error``, or the exception's cause), which is what is read.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["NetworkFailure", "describe_network_error"]

# Failures that are not OSErrors, known by their class's name (aiohttp's, httpx's).
_BY_NAME = {
    "ServerDisconnectedError": "the server closed the connection without answering",
    "RemoteProtocolError": "the server closed the connection without answering",
    "ClientPayloadError": "the server's answer was cut short",
    "TooManyRedirects": "too many redirects",
    "InvalidURL": "the URL is not valid",
    "InvalidUrlClientError": "the URL is not valid",
}
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


@dataclass(frozen=True)
class NetworkFailure:
    """``message``: what happened, in words; ``detail``: the library's own text."""

    message: str
    detail: str


def describe_network_error(error: BaseException) -> NetworkFailure:
    """Connection refused, DNS failure, TLS error, timeout, reset...: whichever it was."""
    return NetworkFailure(_words(error), _detail(error))


def _words(error: BaseException) -> str:
    for cause in _chain(error):
        if isinstance(cause, socket.gaierror):
            return "DNS failure: the host name could not be resolved"
        if isinstance(cause, ssl.SSLCertVerificationError | ssl.CertificateError):
            return "TLS error: the server's certificate could not be verified"
        if isinstance(cause, ssl.SSLError):
            return "TLS error: the secure connection could not be set up"
        if isinstance(cause, ConnectionRefusedError) or _errno(cause) == errno.ECONNREFUSED:
            return "connection refused: nothing accepts connections at that address and port"
        if isinstance(cause, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return "the connection was reset by the server"
        if isinstance(cause, TimeoutError):
            return "timed out"
        if _errno(cause) in _UNREACHABLE:
            return "the host is unreachable from this server"
        for cls in type(cause).__mro__:
            if cls.__name__ in _BY_NAME:
                return _BY_NAME[cls.__name__]
    return "the connection failed"


def _errno(error: BaseException) -> int | None:
    """The socket error number; asyncio's "Multiple exceptions" (one per address of
    the host) has none of its own, but the same number in each part."""
    if not isinstance(error, OSError):
        return None
    if error.errno is not None:
        return error.errno
    numbers = set(re.findall(r"\[Errno (\d+)\]", str(error)))
    return int(numbers.pop()) if len(numbers) == 1 else None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then what it wraps: a library's ``os_error``, the cause, the context."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "os_error", None)
        todo += [wrapped if isinstance(wrapped, BaseException) else None]
        todo += [current.__cause__, current.__context__]


def _detail(error: BaseException) -> str:
    name = type(error).__name__
    text = str(error)
    return f"{name}: {text}" if text and text != name else name
