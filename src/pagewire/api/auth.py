"""API key authentication: ``x-api-key`` or ``Authorization: Bearer``."""

from __future__ import annotations

from fastapi import Request

from pagewire.api.deps import ServicesDep
from pagewire.errors import Unauthenticated
from pagewire.models import Principal


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def principal(request: Request, services: ServicesDep) -> Principal:
    """The organization a request acts for; every query it makes is scoped by it."""
    key = presented_key(request)
    if key is None:
        raise Unauthenticated(
            "send your API key in the x-api-key header (or Authorization: Bearer)",
            code="missing_api_key",
        )
    found = await services.store.keys.authenticate(key)
    request.state.principal = found
    services.rate_limiter.check(found.org_id)
    return found
