"""One ``pagewire serve`` process shared by the SDK, CLI and example tests of a run.

Starting the service costs seconds (more on a busy machine), so the first
test that needs it starts it and the session's end stops it. Each suite
reaches it through its own ``live`` fixture (``from sdk.live import live_service``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class LiveService:
    base_url: str
    api_key: str
    data_dir: Path


_KEY = pytest.StashKey[LiveService]()


def live_service(request: pytest.FixtureRequest) -> LiveService:
    """The run's service (API, worker, dispatcher on SQLite), started on first use."""
    from pagewire.demo import create_key, embedded_service

    config = request.config
    if _KEY in config.stash:
        return config.stash[_KEY]
    data_dir = request.getfixturevalue("tmp_path_factory").mktemp("live")
    api_key = create_key(data_dir, org="sdk-tests")
    stack = contextlib.ExitStack()
    base_url = stack.enter_context(
        embedded_service(data_dir, env={"PAGEWIRE_WEBHOOK_RETRY_SCHEDULE": "0,0.5,0.5,1"})
    )
    config.add_cleanup(stack.close)
    config.stash[_KEY] = LiveService(base_url, api_key, data_dir)
    return config.stash[_KEY]
