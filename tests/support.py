"""Helpers the test suites share (import as ``from support import ...``).

Kept out of ``conftest.py``: several folders have a conftest, and only one of
them can be the module named ``conftest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from pagewire.store import Store


# PostgreSQL requires PAGEWIRE_ENCRYPTION_KEYS (SQLite makes its own key file): the
# tests' key, for every process of a test on PostgreSQL.
POSTGRES_ENCRYPTION_KEYS = "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg="


def encryption_env(database_url: str) -> dict[str, str]:
    """The encryption keys setting a ``pagewire`` process on this database needs."""
    if database_url.startswith("postgres"):
        return {"PAGEWIRE_ENCRYPTION_KEYS": POSTGRES_ENCRYPTION_KEYS}
    return {}


@dataclass(frozen=True)
class Backend:
    name: str
    url: str  # a plain URL, as a user writes it in PAGEWIRE_DATABASE_URL


@dataclass(frozen=True)
class Tenant:
    org_id: str
    api_key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


async def make_tenant(store: Store, name: str) -> Tenant:
    org = await store.keys.ensure_org(name)
    key, plaintext = await store.keys.create_key(org.id)
    return Tenant(org.id, plaintext, key.id)


# For a test about what only the PostgreSQL deployment does (LISTEN/NOTIFY across
# processes, scale-out): the ``backend`` fixture is generated for PostgreSQL alone,
# so no SQLite variant exists to be skipped.
POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
# A test of the embedded default only (its data directory holds what a server keeps).
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The API's error object, checked for its one shape: ``{"error": {"code", "message",
    "details", "request_id"}}``, the id the same as the response's ``x-request-id``."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details", "request_id"}, body
    assert body["error"]["request_id"] == response.headers["x-request-id"]  # quoted in support
    return dict(body["error"])
