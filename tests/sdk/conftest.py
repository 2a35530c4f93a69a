"""The SDK against the real API: in-process over ``httpx.ASGITransport``, and as a real process.

The SDK does not care which database is behind the API, so these tests run on
SQLite only (the store's own contract suite covers PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pagewire import AsyncPagewire
from sdk.live import LiveService, live_service
from support import Backend, Tenant


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


@pytest.fixture
async def client(api: httpx.AsyncClient, tenant: Tenant) -> AsyncIterator[AsyncPagewire]:
    """An SDK client of tenant "acme", sending through the in-process app."""
    async with AsyncPagewire(
        api_key=tenant.api_key, base_url="http://testserver", http_client=api
    ) as sdk:
        yield sdk


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest) -> LiveService:
    """``pagewire serve`` (API, worker, dispatcher) as a real process on a free port."""
    return live_service(request)
