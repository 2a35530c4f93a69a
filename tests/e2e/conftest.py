"""Real ``pagewire`` processes on free ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support import Backend, encryption_env

HOSTILE_SERVICE = Path(__file__).resolve().parents[1] / "hostile_service.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """``pagewire serve`` (or ``worker``) as a process group we can SIGKILL whole."""

    def __init__(self, data_dir: Path, database_url: str, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "PAGEWIRE_DATA_DIR": str(data_dir),
            "PAGEWIRE_DATABASE_URL": database_url,
            "PAGEWIRE_ALLOW_PRIVATE_URLS": "true",
            "PAGEWIRE_LOG_FORMAT": "json",
            **encryption_env(database_url),
            **env,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, **env: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "pagewire.cli", *args],
            env={**self.env, **env},
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    def start(self, *args: str, hostile: str | None = None, **env: str) -> subprocess.Popen[bytes]:
        """``hostile``: its extractor children act it out (see tests/hostile_child.py)."""
        cli = ["-m", "pagewire.cli"] if hostile is None else [str(HOSTILE_SERVICE), hostile]
        with (self.data_dir / f"process-{len(self.procs)}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, *cli, *args],
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def serve(self, *args: str, hostile: str | None = None, **env: str) -> subprocess.Popen[bytes]:
        proc = self.start("serve", "--port", str(self.port), *args, hostile=hostile, **env)
        self.wait_ready(proc)
        return proc

    def wait_ready(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc is None or proc.poll() is None, self.logs()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError("pagewire serve did not become ready:\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.data_dir.glob("process-*.log"))
        )

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the whole process group: no chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.kill(proc)


@pytest.fixture
def service_factory(tmp_path: Path, backend: Backend) -> Iterator[Callable[..., Service]]:
    services: list[Service] = []

    def make(**env: str) -> Service:
        data_dir = tmp_path / f"svc{len(services)}"
        data_dir.mkdir()
        service = Service(data_dir, backend.url, env)
        services.append(service)
        return service

    yield make
    for service in services:
        service.stop_all()
