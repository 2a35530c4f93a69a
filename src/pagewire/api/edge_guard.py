"""The HTTP edge: what a request must be before any route reads it.

* No NUL in the URL: PostgreSQL refuses it in every query a path or query
  parameter would reach, which would be a 500.
* A body within its limit (:mod:`pagewire.api.body_limits`): a declared
  ``Content-Length`` over it is refused at once, a chunked body as soon as its
  count passes it. A portal request's body is a small URL-encoded form.
* Outside the portal, a body is read only for a caller with a valid API key.
  FastAPI reads and parses a route's pydantic body before it runs the route's
  dependencies, so without this an anonymous caller could make the server parse
  any body before it answered 401. The key is checked when the app first asks for
  the body; a route that never reads one never pays for the check.

A pure ASGI middleware, since it must see ``receive``. A refusal raised while the
app reads replaces whatever the app then answered (a 400 for a body that broke
off, usually) with the refusal itself.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pagewire.api.auth import authenticated
from pagewire.api.body_limits import BodyCounter, BodyLimits, too_large
from pagewire.api.errors import error_response
from pagewire.errors import InvalidRequest, PagewireError


class EdgeGuard:
    def __init__(self, app: ASGIApp, *, limits: BodyLimits, portal_prefix: str = "/portal") -> None:
        self.app = app
        self.limits = limits
        self.portal_prefix = portal_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        portal = self._in_portal(scope)
        try:
            _check_url(scope)
            declared = _content_length(headers)
            limit = None
            if (declared or 0) > 0 or "transfer-encoding" in headers:
                limit = self.limits.limit(headers.get("content-type", ""), portal=portal)
                if declared is not None and declared > limit:
                    raise too_large(limit)
        except PagewireError as refusal:
            await _refuse(refusal, scope, receive, send)
            return
        if limit is None:
            await self.app(scope, receive, send)
            return
        await _GuardedBody(scope, receive, send, BodyCounter(limit), needs_key=not portal).run(
            self.app
        )

    def _in_portal(self, scope: Scope) -> bool:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return path == self.portal_prefix or path.startswith(self.portal_prefix + "/")


class _Refused(Exception):
    """Raised into the app's ``receive()`` to stop it reading; the edge answers instead."""


class _GuardedBody:
    """One request's body, let through chunk by chunk while it stays within the rules."""

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, counter: BodyCounter, *, needs_key: bool
    ) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.counter = counter
        self.key_checked = not needs_key
        self.refusal: PagewireError | None = None
        self.started = False

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except Exception:
            if self.refusal is None or self.started:
                raise
        if self.refusal is not None and not self.started:
            await _refuse(self.refusal, self.scope, self._receive, self._send)

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise _Refused
        try:
            if not self.key_checked:
                await authenticated(Request(self.scope))
                self.key_checked = True
            message = await self._receive()
            if message["type"] == "http.request":
                self.counter.add(message.get("body", b""))
        except PagewireError as refusal:
            self.refusal = refusal
            raise _Refused from None
        return message

    async def send(self, message: Message) -> None:
        if self.refusal is not None and not self.started:
            return  # the app's answer to a body it was stopped reading; the refusal goes instead
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


async def _refuse(refusal: PagewireError, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(refusal)
    # The rest of the body stays unread: this connection cannot carry another request.
    response.headers["connection"] = "close"
    await response(scope, receive, send)


def _check_url(scope: Scope) -> None:
    if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
        raise InvalidRequest("the URL contains a NUL character (%00)")


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise InvalidRequest("Content-Length is not a number")
    return int(value)
