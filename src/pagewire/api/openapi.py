"""The OpenAPI document and the pages that show it (``/docs``, ``/redoc``), offline.

A self-hosted service cannot count on a CDN: Swagger UI's and ReDoc's assets are
served from the ``fastapi-offline`` package (MIT; it ships them, licence in its
dist-info), under ``/docs/assets``, linked with that package's version so browsers
cache them (:func:`pagewire.api.security_headers.cacheable_assets`). The document itself is FastAPI's, with two
corrections made once when it is first built:

* FastAPI's own 422 body (``HTTPValidationError``) is replaced by pagewire's error
  envelope, which is what ``api.errors`` really sends;
* a route that names no ``operation_id`` gets its function's name in camelCase
  (FastAPI's default, ``get_job_job__job_id__get``, makes poor client method names).
"""

from __future__ import annotations

from importlib.metadata import version
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from pagewire.api.errors import ErrorResponse, error_responses
from pagewire.api.security_headers import cacheable_assets

ASSETS_URL = "/docs/assets"
_ERROR_REF = f"#/components/schemas/{ErrorResponse.__name__}"
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"

TAGS = [
    {"name": "jobs", "description": "Submit documents and read their jobs and results"},
    {"name": "webhooks", "description": "Endpoints that receive signed events, and the messages"},
    {"name": "health", "description": "Liveness and readiness, for orchestrators"},
]


def operation_id(route: APIRoute) -> str:
    """``get_job`` -> ``getJob``: the fallback for a route without its own ``operation_id``."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` from local assets; build the corrected document.

    ``app`` is made with ``docs_url=None, redoc_url=None`` (FastAPI's would load a CDN)
    and ``generate_unique_id_function=operation_id``.
    """
    assets = files("fastapi_offline") / "static"
    assets_version = version("fastapi-offline")
    static = StaticFiles(directory=str(assets))
    app.mount(ASSETS_URL, cacheable_assets(static, assets_version), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def asset(name: str) -> str:
        return f"{ASSETS_URL}/{name}?v={assets_version}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=asset("swagger-ui-bundle.js"),
            swagger_css_url=asset("swagger-ui.css"),
            swagger_favicon_url=asset("favicon.png"),
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=asset("redoc.standalone.js"),
            redoc_favicon_url=asset("favicon.png"),
            with_google_fonts=False,
        )

    build = app.openapi  # FastAPI's own, which keeps what it built in app.openapi_schema
    corrected: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not corrected:
            corrected.append(_with_error_envelope(build()))
        return corrected[0]

    app.openapi = openapi  # type: ignore[method-assign]


def _with_error_envelope(document: dict[str, Any]) -> dict[str, Any]:
    """Every 422 described with the body pagewire sends, not FastAPI's; every operation
    that needs a key may answer 401 and 429 (the routers declare them too, but a
    router mounted from elsewhere, like the portal's link, may not)."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if operation.get("security"):
                for status, response in error_responses(401, 429).items():
                    operation["responses"].setdefault(
                        str(status),
                        {
                            "description": response["description"],
                            "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
                        },
                    )
            response = operation.get("responses", {}).get("422")
            content = (response or {}).get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref") == _FASTAPI_422:
                content["schema"] = {"$ref": _ERROR_REF}
                response["description"] = "A parameter or a JSON body does not match its schema"
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document
