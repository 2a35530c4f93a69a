"""A real worker (real child processes) beside the in-process API, and workers with a
scripted runner (tests/fakes) in this loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import hostile_child
from fakes import ScriptedRunner
from pagewire.api.deps import services_of
from pagewire.app import create_app
from pagewire.blobs import LocalBlobStore
from pagewire.runtime import Services
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.worker.loop import Worker
from support import Tenant
from worker.support import aiter_of

HarnessFactory = Callable[..., AbstractAsyncContextManager["Harness"]]


class Harness:
    def __init__(self, api: httpx.AsyncClient, app: FastAPI, tenant: Tenant) -> None:
        self.api = api
        self.app = app
        self.tenant = tenant

    @property
    def services(self) -> Services:
        return services_of(self.app)

    async def submit(self, content: bytes, name: str = "doc.pdf", **fields: Any) -> str:
        data = {"async": "true", **{k: str(v) for k, v in fields.items()}}
        response = await self.api.post(
            "/extract", headers=self.tenant.headers, files={"file": (name, content)}, data=data
        )
        assert response.status_code == 202, response.text
        return str(response.json()["job_id"])

    async def job(self, job_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/job/{job_id}", headers=self.tenant.headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def wait_for(
        self, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = await self.job(job_id)
            if until(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job never reached the state; last seen: {job}")
            await asyncio.sleep(0.05)

    async def finished(self, job_id: str, timeout: float = 30) -> dict[str, Any]:
        return await self.wait_for(
            job_id, lambda j: j["status"] in {"completed", "failed", "canceled"}, timeout
        )

    @contextlib.asynccontextmanager
    async def worker(
        self, hostile: str | None = None, *, prefork: bool = True, **options: Any
    ) -> AsyncIterator[Worker]:
        """A worker whose extractor children act out a ``hostile`` file (see hostile_child),
        forked by its fork server (``prefork``) or spawned."""
        runner = hostile_child.runner(hostile, prefork=prefork)
        worker = Worker(
            self.services.store,
            self.services.blobs,
            self.services.settings,
            runner=runner,
            **options,
        )
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait_for(task, 60)
            runner.close()


@pytest.fixture
def harness_factory(
    store: Store, tenant: Tenant, settings_factory: Callable[..., Settings]
) -> HarnessFactory:
    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Harness]:
        app = create_app(settings_factory(**overrides), store=store)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
                yield Harness(api, app, tenant)

    return make


@pytest.fixture
async def harness(harness_factory: HarnessFactory) -> AsyncIterator[Harness]:
    async with harness_factory() as h:
        yield h


@pytest.fixture
async def blobs(tmp_path: Path) -> LocalBlobStore:
    """A blob store holding ``uploads/a``, the input of every job ``support.submit`` makes."""
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put_stream("uploads/a", aiter_of(b"%PDF-1.7"), max_bytes=100)
    return store


@pytest.fixture
async def run_worker(
    store: Any, settings: Any, blobs: LocalBlobStore
) -> AsyncIterator[Callable[..., Worker]]:
    """Start a worker with this runner in this loop (stopped at the end); ``on_store``
    replaces the store, ``backoff`` goes to the Worker, the rest are settings."""
    workers: list[Worker] = []
    tasks: list[asyncio.Task[None]] = []

    def start(
        runner: ScriptedRunner, *, on_store: Any = None, backoff: Any = None, **overrides: Any
    ) -> Worker:
        values = {"drain_seconds": 1.0, **overrides}
        worker = Worker(
            on_store or store,
            blobs,
            settings.model_copy(update=values),
            runner=runner,
            backoff=backoff,
        )
        workers.append(worker)
        tasks.append(asyncio.create_task(worker.run()))
        return worker

    yield start
    for worker in workers:
        worker.stop()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
