"""The typed way from a request to the process's :class:`~pagewire.runtime.Services`.

The only module that touches the application's state: ``app.py`` attaches the
Services once they are open, and every route and portal page takes them as a
parameter (``services: ServicesDep``), so that each call into the store is
type-checked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.applications import Starlette

from pagewire.runtime import Services


def attach(app: Starlette, services: Services) -> None:
    """Make ``services`` the ones ``app``'s requests see (the portal shares the API's state)."""
    app.state.services = services


def services_of(app: Starlette) -> Services:
    """The Services attached to ``app`` (open while its lifespan runs)."""
    services: Services = app.state.services
    return services


def services(request: Request) -> Services:
    return services_of(request.app)


ServicesDep = Annotated[Services, Depends(services)]
