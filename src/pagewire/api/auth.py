"""API key authentication: ``x-api-key`` or ``Authorization: Bearer``."""

from __future__ import annotations

from fastapi import Request

from pagewire.errors import Unauthenticated
from pagewire.store import Principal


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticated(request: Request) -> Principal:
    """The organization of the request's key, or ``Unauthenticated``; headers only, so
    the HTTP edge can ask before it lets a body be read (``api.body_limits``)."""
    key = presented_key(request)
    if key is None:
        raise Unauthenticated(
            "send your API key in the x-api-key header (or Authorization: Bearer)",
            code="missing_api_key",
        )
    services = request.app.state.services
    found: Principal = await services.store.keys.authenticate(key)
    return found


async def principal(request: Request) -> Principal:
    """The organization a request acts for; every query it makes is scoped by it."""
    found = await authenticated(request)
    request.state.principal = found
    request.app.state.rate_limiter.check(found.org_id)
    return found
