"""The portal as a sub-application mounted at ``/portal``: sign-in, sign-out, HTML errors.

A sub-application rather than a router so that its errors (401, 403, 404, bad
forms) are pages people can read while the API keeps its JSON errors; it shares
the API app's state, so it sees the same services.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from pagewire import errors
from pagewire.api.deps import ServicesDep
from pagewire.api.errors import status_for
from pagewire.portal import catalog_pages, endpoint_pages, message_pages
from pagewire.portal.context import PostedForm, SignedIn, signer_for, templates
from pagewire.portal.sessions import (
    check_same_site,
    clear_session_cookie,
    read_link_token,
    set_session_cookie,
)

log = logging.getLogger("pagewire.portal")

STATIC = Path(__file__).parent / "static"

# No script runs on any portal page (there is none to run), so an injected one cannot either.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    # The first URL carries the link's token: no other site may see it. Not no-referrer,
    # under which browsers send "Origin: null", so the start could not tell its own form.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # pages may show signing secrets
}


_access = APIRouter()  # sign-in, sign-out and the pages that belong to no resource


def create_portal(parent: FastAPI) -> FastAPI:
    portal = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    portal.state = parent.state
    portal.mount("/static", StaticFiles(directory=STATIC), name="static")
    portal.include_router(_access)
    portal.include_router(endpoint_pages.router)
    portal.include_router(message_pages.router)
    portal.include_router(catalog_pages.router)
    _install_error_pages(portal)

    @portal.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return portal


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@_access.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    return RedirectResponse(_base(request) + "/endpoints", status_code=303)


@_access.get("/start")
async def confirm_start(
    request: Request, services: ServicesDep, token: str | None = None
) -> Response:
    """The link's page: a button that opens the portal, so that a visit alone uses nothing.

    Mail scanners and chat apps fetch a link to preview it; if that GET used the
    one-time link up, its owner would find it spent. Only the POST behind the button
    (which those never send) opens the session.
    """
    claims = read_link_token(signer_for(services), token)
    await services.store.portal.check_link(claims.link_id, claims.org_id)
    return templates.TemplateResponse(
        request,
        "start.html",
        {"base": _base(request), "signed_in": False, "notice": None, "token": token},
    )


@_access.post("/start")
async def start(request: Request, services: ServicesDep) -> Response:
    """Exchange a one-time link for a session cookie, then land on a clean URL."""
    settings = services.settings
    check_same_site(request, settings.public_url)  # before the form: nothing of it is used
    token = (await request.form()).get("token")
    signer = signer_for(services)
    claims = read_link_token(signer, token if isinstance(token, str) else None)
    session = await services.store.portal.start_session(
        claims.link_id, claims.org_id, ttl_seconds=settings.portal_session_ttl_seconds
    )
    response = RedirectResponse(_base(request) + "/endpoints", status_code=303)
    set_session_cookie(
        response,
        request,
        signer,
        session,
        max_age=settings.portal_session_ttl_seconds,
        public_url=settings.public_url,
    )
    return response


@_access.post("/sign-out")
async def sign_out(portal: PostedForm) -> Response:
    await portal.store.portal.end_session(portal.session.id)
    response = templates.TemplateResponse(
        portal.request,
        "signed_out.html",
        {"base": portal.base, "signed_in": False, "notice": None},
    )
    clear_session_cookie(response, portal.request)
    return response


@_access.get("/verify")
async def verify_help(portal: SignedIn) -> Response:
    return portal.render("verify.html")


# -- errors as pages ----------------------------------------------------------

TITLES = {
    400: "That did not work",
    401: "Please open a new portal link",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
}


def _error_page(request: Request, status: int, code: str, message: str) -> Response:
    sentence = message[:1].upper() + message[1:]
    if not sentence.endswith("."):
        sentence += "."
    response = templates.TemplateResponse(
        request,
        "error.html",
        {
            "base": _base(request),
            "signed_in": False,
            "notice": None,
            "title": TITLES.get(status, "Something went wrong"),
            "status": status,
            "code": code,
            "message": sentence,
        },
        status_code=status,
    )
    if code.startswith("portal_session_"):
        clear_session_cookie(
            response, request
        )  # a cookie that no longer works only gets in the way
    return response


def _install_error_pages(portal: FastAPI) -> None:
    @portal.exception_handler(errors.PagewireError)
    async def _pagewire(request: Request, error: errors.PagewireError) -> Response:
        return _error_page(request, status_for(error), error.code, error.message)

    @portal.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        return _error_page(request, 400, "invalid_request", "the request was not understood")

    @portal.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("portal page failed")
        return _error_page(request, 500, "internal_error", "pagewire hit an unexpected error")

    @portal.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error_page(request, error.status_code, code, str(error.detail))
