"""One ``pagewire serve`` process shared by the SDK, CLI and example tests of a run.

Starting the service costs seconds (more on a busy machine), so the first
test that needs it starts it and the session's end stops it. Each suite
reaches it through its own ``live`` fixture (``from sdk.live import live_service``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass(frozen=True)
class LiveService:
    base_url: str
    api_key: str
    data_dir: Path

    def log_tail(self, lines: int = 30) -> str:
        """The end of the service's log, for a failing test to show what the service saw."""
        log = self.data_dir / "service.log"
        text = log.read_text(errors="replace") if log.exists() else "(no log)"
        return "service log:\n" + "\n".join(text.splitlines()[-lines:])

    def client_env(self, **overrides: str) -> dict[str, str]:
        """The environment of a CLI client of this service (its URL and key)."""
        return {
            **os.environ,
            "PAGEWIRE_API_KEY": self.api_key,
            "PAGEWIRE_BASE_URL": self.base_url,
            **overrides,
        }


_KEY = pytest.StashKey[LiveService]()


def live_service(request: pytest.FixtureRequest) -> LiveService:
    """The run's service (API, worker, dispatcher on SQLite), started on first use."""
    from pagewire.cli.demo import create_key, embedded_service

    config = request.config
    if _KEY in config.stash:
        return config.stash[_KEY]
    data_dir = request.getfixturevalue("tmp_path_factory").mktemp("live")
    api_key = create_key(data_dir, org="sdk-tests")
    stack = contextlib.ExitStack()
    base_url = stack.enter_context(
        embedded_service(
            data_dir,
            env={
                "PAGEWIRE_WEBHOOK_RETRY_SCHEDULE": "0,0.5,0.5,1",
                # Every result is then too large to inline: get_result must follow the link.
                "PAGEWIRE_INLINE_RESULT_LIMIT_BYTES": "1000",
            },
        )
    )
    config.add_cleanup(stack.close)
    config.stash[_KEY] = LiveService(base_url, api_key, data_dir)
    return config.stash[_KEY]


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """``directory`` over plain HTTP on loopback (for ``file_url`` submissions); yields its URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
