"""The portal over HTTP: the whole ASGI app in-process, one cookie jar per person."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from portal.helpers import Browser, sign_in
from support import Backend, Tenant

if TYPE_CHECKING:
    from pagewire.settings import Settings
    from pagewire.store import Store


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """SQLite only: pages are the same on both engines, and the portal's SQL runs on
    both in ``tests/contract/test_store_portal.py``."""
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


@pytest.fixture
async def app(store: Store, settings: Settings) -> AsyncIterator[FastAPI]:
    from pagewire.app import create_app

    application = create_app(settings, store=store)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    """``await browser()``: a client with its own cookies; ``browser(tenant)`` signs it in."""
    async with contextlib.AsyncExitStack() as stack:

        async def open_one(
            tenant: Tenant | None = None, base_url: str = "http://testserver"
        ) -> httpx.AsyncClient:
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
            )
            if tenant is not None:
                response = await sign_in(client, tenant)
                assert response.status_code == 303, response.text
            return client

        yield open_one
