"""Headless Chromium (Debian's, never a downloaded one) against a real uvicorn on 127.0.0.1.

One server per session: the API, the portal and the dispatcher in one process,
on a SQLite file, with a clock the tests can move (a link "an hour later" is a
clock change, never a sleep). Receivers are plain HTTP servers on loopback.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.browser.live import LiveServer, LoopbackReceiver

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "img"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("portal-live") / "data").start()
    yield server
    server.stop()


# -- receivers ------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Module-scoped: while Playwright's sync API runs, this thread's asyncio loop is its
    own, and the async tests that follow need the thread back."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium package (make test does) "
            "to run the portal's browser tests"
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # loopback is fast; a loaded CI machine may not be
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Browser) -> Iterator[Callable[..., Page]]:
    """``new_page(javascript=False)``: a page in a fresh context (its own cookies)."""
    contexts: list[BrowserContext] = []

    def make(*, javascript: bool = True) -> Page:
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
