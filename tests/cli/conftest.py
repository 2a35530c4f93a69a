"""The client commands run as real subprocesses against the run's shared ``pagewire serve``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sdk.live import LiveService, live_service


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest) -> LiveService:
    return live_service(request)


@pytest.fixture
def pagewire(live: LiveService, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``pagewire ARGS...`` with the service's URL and key in the environment."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pagewire.cli", *args],
            # Each test its own config directory: the listen secret lives there.
            env=env or live.client_env(XDG_CONFIG_HOME=str(tmp_path / "config")),
            capture_output=True,
            text=True,
            timeout=90,
            cwd=str(tmp_path),
        )

    return run
