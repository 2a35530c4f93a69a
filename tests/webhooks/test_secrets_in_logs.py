"""A database error never puts a secret in a log line or an error response.

SQLAlchemy's error text carries the statement's bound parameters: an endpoint
insert that failed once logged the customer's ``Authorization`` header value and
the new ``whsec_`` secret. Each test here makes the database refuse the insert
(a constraint that fails) or drop the connection in the middle of it, and reads
every log line and the answer for them, on both backends and, once, in the
stderr of a real ``pagewire serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from pagewire.telemetry.logs import JsonFormatter
from support import Backend

CUSTOMER_HEADER = "Bearer cust-3b1f9e2a7c-never-in-a-log"

# Per backend, SQL that makes every endpoint insert fail, by how it fails.
FAULTS = {
    ("sqlite", "refused"): [
        "CREATE TRIGGER refuse_endpoints BEFORE INSERT ON endpoints "
        "BEGIN SELECT RAISE(ABORT, 'endpoints are refused'); END"
    ],
    # A statement that fails as SQLite fails when its file is gone: OperationalError,
    # which the store reports as the database being unavailable.
    ("sqlite", "unavailable"): [
        "CREATE TRIGGER break_endpoints BEFORE INSERT ON endpoints "
        "BEGIN INSERT INTO no_such_table VALUES (1); END"
    ],
    # PostgreSQL's own message then says "Failing row contains (...)", the whole row.
    ("postgres", "refused"): [
        "ALTER TABLE endpoints ADD CONSTRAINT refuse_endpoints CHECK (false) NOT VALID"
    ],
    # The server ends the connection mid-insert, as pg_terminate_backend does.
    ("postgres", "unavailable"): [
        "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(1); "
        "RETURN NEW; END $$",
        "CREATE TRIGGER die_on_endpoints BEFORE INSERT ON endpoints "
        "FOR EACH ROW EXECUTE FUNCTION die()",
    ],
}


async def break_endpoint_inserts(backend: Backend, how: str) -> None:
    """Make the test database fail every endpoint insert, ``how`` says."""
    statements = FAULTS[(backend.name, how)]
    if backend.name == "sqlite":
        path = backend.url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as conn:
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        return
    conn = await asyncpg.connect(backend.url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def api(store: Any, settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The whole ASGI app in-process, answering a 500 as a server does (the shared
    fixture raises the app's exceptions into the test instead)."""
    from pagewire.app import create_app

    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.mark.parametrize("how", ["refused", "unavailable"])
async def test_a_failed_endpoint_insert_logs_neither_the_header_nor_the_secret(
    api: httpx.AsyncClient,
    tenant: Any,
    backend: Backend,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await break_endpoint_inserts(backend, how)

    response = await api.post(
        "/webhook/endpoints",
        json={"url": "https://example.com/hook", "headers": {"Authorization": CUSTOMER_HEADER}},
        headers=tenant.headers,
    )

    assert response.status_code == (503 if how == "unavailable" else 500), response.text
    # Every record as pagewire writes it: its message, its fields, its traceback.
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert CUSTOMER_HEADER in response.request.content.decode()  # it was sent
    assert "request failed" in logged or "unhandled error" in logged
    for text in (logged, response.text):
        assert CUSTOMER_HEADER not in text
        assert "whsec_" not in text


@pytest.mark.e2e
def test_pagewire_serve_logs_no_secret_when_an_endpoint_insert_fails(tmp_path: Path) -> None:
    from e2e.conftest import Service

    # One real process is enough: the backends are covered above.
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")
    data_dir = tmp_path / "svc"
    data_dir.mkdir()
    service = Service(data_dir, backend.url, {})
    try:
        service.cli("migrate")
        key = service.cli("keys", "create", "--org", "acme", "--json")
        service.serve("--no-worker", "--no-dispatch")
        asyncio.run(break_endpoint_inserts(backend, "refused"))
        response = httpx.post(
            f"{service.base_url}/webhook/endpoints",
            json={"url": "https://example.com/hook", "headers": {"Authorization": CUSTOMER_HEADER}},
            headers={"x-api-key": httpx.Response(200, content=key).json()["api_key"]},
            timeout=30,
        )
    finally:
        service.stop_all()
    logs = service.logs()

    assert response.status_code == 500
    assert "unhandled error" in logs  # the failure was logged, with its traceback
    assert CUSTOMER_HEADER not in logs
    assert "whsec_" not in logs
