"""``Idempotency-Key`` on the webhook API's POSTs, with Stripe's semantics.

``@idempotent``, under a route's ``@router.post(...)``, makes a retry after a lost
response get the first response instead of doing the work again:

* no key: the route runs as it always did;
* a new key: the route runs once, and its response (or its 4xx error) is recorded
  for the organization; a 5xx or an unexpected error releases the key, so that a
  retry runs the work again;
* the same key and request (method, path, body) within 24 h: the recorded status
  and body, with ``Idempotent-Replayed: true``;
* the same key with another request: ``409 idempotency_conflict``; while the first
  request is still running: ``409 idempotency_in_progress``.

A request refused before the route runs (authentication, rate limit, a body that
fails validation) records nothing: the retry is refused the same way anyway.

The key is checked as ``POST /extract`` checks it; ``/extract`` keeps its own
mechanism (its job rows carry the key). Recorded responses may hold a secret: the
store seals them at rest (replayed exactly as sent), and they are never logged.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, cast

from fastapi import APIRouter, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from pagewire.api import deps
from pagewire.api.errors import error_body, status_for
from pagewire.api.submit import idempotency_key
from pagewire.errors import PagewireError
from pagewire.models import Principal

P = ParamSpec("P")

REPLAYED = {"Idempotent-Replayed": "true"}

# The endpoints marked by ``honours_idempotency_key``, for the OpenAPI document.
_HONOURING: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()

# The header as the OpenAPI document shows it, on every route that honours it.
OPENAPI_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": (
        "Any unique value (a UUID) to make retries safe: a retry with the same key "
        "and request within 24 h gets the first response again, with "
        "`Idempotent-Replayed: true`; the same key with another request is refused "
        "with 409 `idempotency_conflict`, and while the first is still running with "
        "409 `idempotency_in_progress`."
    ),
}


def honours_idempotency_key(route: Callable[P, Any]) -> Callable[P, Any]:
    """Mark a route that honours ``Idempotency-Key``, so the OpenAPI document shows it."""
    _HONOURING.add(route)
    return route


def document_idempotency_keys(router: APIRouter) -> None:
    """Add the header to the OpenAPI operation of the router's marked routes.

    Called once, where the router is defined, after its last route.
    """
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint in _HONOURING:
            extra = dict(route.openapi_extra or {})
            extra["parameters"] = [*extra.get("parameters", []), OPENAPI_PARAMETER]
            route.openapi_extra = extra


def idempotent(route: Callable[P, Awaitable[BaseModel]]) -> Callable[P, Awaitable[Any]]:
    """Honour ``Idempotency-Key`` on ``route``, which takes ``request`` and ``caller``."""
    missing = {"request", "caller"} - inspect.signature(route).parameters.keys()
    if missing:
        raise TypeError(f"@idempotent needs {route.__name__} to take {', '.join(sorted(missing))}")

    @functools.wraps(route)
    async def run(*args: P.args, **kwargs: P.kwargs) -> Any:
        # FastAPI passes every parameter by name.
        request = cast(Request, kwargs["request"])
        caller = cast(Principal, kwargs["caller"])
        key = idempotency_key(request)
        if key is None:
            return await route(*args, **kwargs)
        keys = deps.services(request).store.idempotency
        stored = await keys.claim(caller.org_id, key, await fingerprint(request))
        if stored is not None:
            return Response(
                stored.body, stored.status_code, REPLAYED, media_type="application/json"
            )
        try:
            result = await route(*args, **kwargs)
        except PagewireError as error:
            status = status_for(error)
            if status >= 500:
                await keys.release(caller.org_id, key)
            else:  # the same request would fail the same way: replay the refusal
                sent = JSONResponse(error_body(error.code, error.message, error.details), status)
                await keys.finish(caller.org_id, key, status, bytes(sent.body).decode())
            raise
        except BaseException:
            await keys.release(caller.org_id, key)
            raise
        # The route's declared status (201, 202, or FastAPI's default 200).
        status = request.scope["route"].status_code or 200
        response = JSONResponse(jsonable_encoder(result), status)
        await keys.finish(caller.org_id, key, status, bytes(response.body).decode())
        return response

    return honours_idempotency_key(run)


async def fingerprint(request: Request) -> str:
    """Method, path and a sha256 of the body; a JSON body is compared by its value."""
    raw = await request.body()
    try:
        value = json.loads(raw) if raw.strip() else None
        canonical = b"" if value is None else json.dumps(value, sort_keys=True).encode()
    except (ValueError, RecursionError):  # not JSON, or not even UTF-8: the bytes
        canonical = raw
    return f"{request.method} {request.url.path} {hashlib.sha256(canonical).hexdigest()}"
