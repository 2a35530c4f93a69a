"""Headers every response carries unless its route set its own.

API responses are JSON for one organization's eyes, and several carry secrets (a
new endpoint's signing secret, a portal link): no cache may keep them, and no
browser may sniff them into something else. No page may be framed by another
site (click-jacking the portal or ``/docs``). The portal sets a stricter policy of
its own, which these defaults leave alone.

The one thing worth caching is static: the assets of ``/docs`` and ``/redoc``
(:func:`cacheable_assets` wraps their mount, so no other route is touched). The
pages link them with the version of the package that ships them (``?v=...``); a
versioned URL never changes content, so a browser may keep it without asking again.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULTS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}


ASSET_CACHE = "public, max-age=86400"
VERSIONED_ASSET_CACHE = f"{ASSET_CACHE}, immutable"


def cacheable_assets(app: ASGIApp, version: str) -> ASGIApp:
    """Static files that browsers may cache for a day; forever-fresh when ``?v=version``.

    Only a file served (200, or 304 to a revalidation) is cacheable: a 404 keeps
    ``no-store`` from :class:`SecurityHeaders`, so a later deploy's file is found.
    """

    async def cached(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        versioned = QueryParams(scope.get("query_string", b"")).get("v") == version

        async def send_cacheable(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = MutableHeaders(scope=message)
                headers["cache-control"] = VERSIONED_ASSET_CACHE if versioned else ASSET_CACHE
            await send(message)

        await app(scope, receive, send_cacheable)

    return cached


class SecurityHeaders:
    """A pure ASGI middleware: it only adds headers to the response's start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_defaults(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ()))
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULTS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_defaults)
