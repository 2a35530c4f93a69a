"""API key authentication: ``x-api-key`` or ``Authorization: Bearer``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from pagewire.api.deps import ServicesDep, services_of
from pagewire.api.ratelimit import check_rate
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


async def authenticated(request: Request) -> Principal:
    """The organization of the request's key, or ``Unauthenticated``; headers only, so
    the HTTP edge can ask before it lets a body be read (``api.body_limits``)."""
    # The edge may have asked already (the state lives in the request's scope).
    known: Principal | None = getattr(request.state, "authenticated", None)
    if known is not None:
        return known
    key = presented_key(request)
    if key is None:
        raise Unauthenticated(
            "send your API key in the x-api-key header (or Authorization: Bearer)",
            code="missing_api_key",
        )
    found: Principal = await services_of(request.app).store.keys.authenticate(key)
    request.state.authenticated = found
    return found


# The two ways to present a key, as the OpenAPI document declares them (either one
# works: /docs's "Authorize" fills one in). They only describe; ``presented_key`` reads.
API_KEY_SCHEME = APIKeyHeader(
    name="x-api-key", scheme_name="ApiKey", description="Your API key", auto_error=False
)
BEARER_SCHEME = HTTPBearer(
    scheme_name="Bearer", description="Your API key as a Bearer token", auto_error=False
)


async def principal(
    request: Request,
    services: ServicesDep,
    _api_key: Annotated[str | None, Security(API_KEY_SCHEME)] = None,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_SCHEME)] = None,
) -> Principal:
    """The organization a request acts for; every query it makes is scoped by it."""
    found = await authenticated(request)
    request.state.principal = found
    await check_rate(services.store, services.settings, found.org_id)
    return found
