"""The SDK against the real API: in-process over ``httpx.ASGITransport``, and as a real process.

The SDK does not care which database is behind the API, so these tests run on
SQLite only (the store's own contract suite covers PostgreSQL). Most tests run
twice, once with ``Pagewire`` and once with ``AsyncPagewire`` (see ``sdk.twins``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sdk.live import LiveService, live_service
from sdk.twins import KINDS, Twin, in_process
from support import Backend, Tenant


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Which client the test uses: "sync" (``Pagewire``) or "async" (``AsyncPagewire``)."""
    return str(request.param)


@pytest.fixture
async def connect(api: httpx.AsyncClient, kind: str) -> AsyncIterator[Callable[..., Twin]]:
    """Makes SDK clients of the in-process app (``connect(api_key, **options)``), closed after."""
    made: list[Twin] = []

    def connect(api_key: str, **options: Any) -> Twin:
        made.append(in_process(kind, api, api_key, **options))
        return made[-1]

    yield connect
    for client in made:
        await client.close()


@pytest.fixture
async def client(connect: Callable[..., Twin], tenant: Tenant) -> Twin:
    """An SDK client of tenant "acme", sending through the in-process app."""
    return connect(tenant.api_key)


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest) -> LiveService:
    """``pagewire serve`` (API, worker, dispatcher) as a real process on a free port."""
    return live_service(request)
