"""Headless Chromium (Debian's, never a downloaded one) against a real uvicorn on 127.0.0.1.

One server per session: the API, the portal and the dispatcher in one process,
on a SQLite file, with a clock the tests can move (a link "an hour later" is a
clock change, never a sleep). Receivers are plain HTTP servers on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import Tenant, make_tenant

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "img"

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
        self._server: Any = None
        self._store: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="portal-live-server", daemon=True)

    def clock(self) -> float:
        return time.time() + self.offset

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        import uvicorn

        from pagewire.api.app import create_app
        from pagewire.store import Store

        store = Store.from_settings(self.settings, clock=self.clock)
        self._store, self._loop = store, asyncio.get_running_loop()
        app = create_app(self.settings, store=store, run_dispatcher=True)
        config = uvicorn.Config(app, lifespan="on", log_level="warning", ws="none")
        self._server = uvicorn.Server(config)
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            await store.close()

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
        assert self._loop is not None
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


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("portal-live") / "data").start()
    yield server
    server.stop()


# -- receivers ------------------------------------------------------------------


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


@pytest.fixture
def receiver() -> Iterator[LoopbackReceiver]:
    state = LoopbackReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            answer = b"ok" if state.status < 300 else b"receiver says no"
            self.send_response(state.status)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/pagewire"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


# -- the browser ---------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium package (make test does) "
            "to run the portal's browser tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(javascript=False)``: a page in a fresh context (its own cookies)."""
    contexts: list[Any] = []

    def make(*, javascript: bool = True) -> Any:
        context = chromium.new_context(
            java_script_enabled=javascript, viewport={"width": 1000, "height": 720}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/img with PAGEWIRE_TEST_UPDATE_SCREENSHOTS=1 (for docs/portal.md), else a temp dir."""
    if os.environ.get("PAGEWIRE_TEST_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        return DOCS_IMAGES
    return tmp_path_factory.mktemp("screenshots")


def reload_until(page: Any, ready: Callable[[], bool], timeout: float = 10.0) -> None:
    """Reload (no JavaScript on these pages to do it) until ``ready()``, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"gave up waiting on {page.url}"
        time.sleep(0.2)
        page.reload()
