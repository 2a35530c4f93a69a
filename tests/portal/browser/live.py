"""The portal's browser-test service: uvicorn in a thread, loopback receivers, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from support import Tenant, make_tenant

if TYPE_CHECKING:
    import uvicorn
    from playwright.sync_api import Page

    from pagewire.store import Store

# -- the service --------------------------------------------------------------


class LiveServer:
    """``create_app(..., run_dispatcher=True)`` under uvicorn in a thread with its own loop."""

    def __init__(self, data_dir: Path) -> None:
        from pagewire.settings import Settings

        self.offset = 0.0  # seconds added to the service's clock
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            data_dir=data_dir,
            public_url=self.url,
            allow_private_urls=True,
            poll_seconds=0.2,
            webhook_retry_schedule="0,0.05",
            webhook_timeout_seconds=2.0,
            webhook_connect_timeout_seconds=1.0,
            drain_seconds=1.0,
            log_level="WARNING",
        )
        self._server: uvicorn.Server | None = None
        self._store: Store | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="portal-live-server", daemon=True)

    def clock(self) -> float:
        return time.time() + self.offset

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        import uvicorn

        from pagewire.app import create_app
        from pagewire.runtime import open_services

        async with open_services(self.settings, clock=self.clock, listen=False) as services:
            self._store, self._loop = services.store, asyncio.get_running_loop()
            app = create_app(self.settings, store=services.store, run_dispatcher=True)
            config = uvicorn.Config(app, lifespan="on", log_level="warning", ws="none")
            self._server = uvicorn.Server(config)
            await self._server.serve(sockets=[self._socket])

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        raise AssertionError("the portal's test server did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(15)
        self._socket.close()

    def new_tenant(self) -> Tenant:
        """A new organization with an API key, made by the server's own store.

        On the server's loop: this thread's loop belongs to Playwright's sync API.
        """
        assert self._loop is not None and self._store is not None
        made = make_tenant(self._store, f"org-{uuid.uuid4().hex[:8]}")
        return asyncio.run_coroutine_threadsafe(made, self._loop).result(10)

    def api(self, tenant: Tenant) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=tenant.headers, timeout=10)

    def portal_link(self, tenant: Tenant) -> str:
        with self.api(tenant) as api:
            response = api.post("/webhook")
        assert response.status_code == 200, response.text
        link: str = response.json()["link"]
        return link


@dataclass
class LoopbackReceiver:
    """Records every POST and answers ``status`` (200 by default)."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def webhook_ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.received]

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for _, body in self.received]


def reload_until(page: Page, ready: Callable[[], bool], timeout: float = 10.0) -> None:
    """Reload (no JavaScript on these pages to do it) until ``ready()``, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"gave up waiting on {page.url}"
        time.sleep(0.2)
        page.reload()
