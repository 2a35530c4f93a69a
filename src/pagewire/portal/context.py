"""What every portal page needs: the signed-in organization, its CSRF token, rendering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from pagewire.api.deps import ServicesDep
from pagewire.kernel.timefmt import iso
from pagewire.models import PortalSession
from pagewire.portal.sessions import (
    CSRF_FIELD,
    Signer,
    clear_notice,
    read_notice,
    read_session_cookie,
    set_notice,
)
from pagewire.runtime import Services
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.store.webhooks import WebhookStore

TEMPLATES = Path(__file__).parent / "templates"


def signer_for(services: Services) -> Signer:
    """The signer of the portal's tokens, under the services' signing key."""
    return Signer(services.signing_key)


def when(ts: float | None) -> str:
    """Epoch seconds as a UTC time people read (``2026-11-28 23:40:05 UTC``)."""
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def machine_time(ts: float | None) -> str:
    """For ``<time datetime>``: the API's spelling of the same time."""
    return iso(ts) or ""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is text unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["machine_time"] = machine_time
    return env


templates = Jinja2Templates(env=_environment())


@dataclass(frozen=True)
class Portal:
    """The signed-in organization's view of the services, for one request."""

    request: Request
    services: Services
    session: PortalSession
    signer: Signer

    @property
    def org_id(self) -> str:
        return self.session.org_id

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def webhooks(self) -> WebhookStore:
        return self.store.webhooks

    @property
    def base(self) -> str:
        """The portal's path prefix (``/portal``, or deeper behind a proxy's root path)."""
        return str(self.request.scope.get("root_path", "")).rstrip("/")

    @property
    def csrf_token(self) -> str:
        return self.signer.csrf_token(self.session.id)

    def render(self, name: str, status_code: int = 200, **context: Any) -> Response:
        notice = read_notice(self.signer, self.request)
        response = templates.TemplateResponse(
            self.request,
            name,
            {
                "base": self.base,
                "csrf_field": CSRF_FIELD,
                "csrf_token": self.csrf_token,
                "signed_in": True,
                "notice": notice,
                **context,
            },
            status_code=status_code,
        )
        if notice is not None:
            clear_notice(response, self.request)
        return response

    def redirect(self, path: str, notice: str | None = None) -> RedirectResponse:
        """Post/redirect/get: the browser lands on a page a reload will not re-submit."""
        response = RedirectResponse(self.base + path, status_code=303)
        if notice:
            set_notice(response, self.request, self.signer, notice)
        return response


async def signed_in(request: Request, services: ServicesDep) -> Portal:
    signer = signer_for(services)
    claims = read_session_cookie(signer, request)
    session = await services.store.portal.live_session(claims.session_id, claims.org_id)
    return Portal(request, services, session, signer)


SignedIn = Annotated[Portal, Depends(signed_in)]


async def signed_in_form(portal: SignedIn) -> Portal:
    """For every POST: the session, and the form's CSRF token checked against it."""
    form = await portal.request.form()
    portal.signer.check_csrf(portal.session.id, form.get(CSRF_FIELD))
    return portal


PostedForm = Annotated[Portal, Depends(signed_in_form)]
