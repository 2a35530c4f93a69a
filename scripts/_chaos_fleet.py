"""The chaos run's processes and database: start, SIGKILL, restart; kill connections.

Every process is a real ``pagewire`` command in its own process group (a SIGKILL
takes its extractor children with it), logging to ``RUN_DIR/logs/NAME.log``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg


class Fleet:
    """The API, workers and dispatchers of one run, by name (``api``, ``worker-0`` ...)."""

    def __init__(
        self, run_dir: Path, env: dict[str, str], api_port: int, workers: int, dispatchers: int
    ) -> None:
        self.env = {**os.environ, **env}
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.commands: dict[str, list[str]] = {
            "api": ["serve", "--no-worker", "--no-dispatch", "--port", str(api_port)],
            **{f"worker-{i}": ["worker"] for i in range(workers)},
            **{f"dispatch-{i}": ["dispatch"] for i in range(dispatchers)},
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills = 0
        self.starts = 0

    @property
    def names(self) -> list[str]:
        return list(self.commands)

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "pagewire.cli", *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "pagewire.cli", *self.commands[name]],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def kill(self, name: str) -> bool:
        """SIGKILL the whole process group: no chance to clean up. False: not running."""
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        self.kills += 1
        return True

    def ensure_up(self) -> list[str]:
        """Start every process that is not running (a crash, or a kill not yet undone);
        the names of those started."""
        started = [name for name in self.commands if not self.alive(name)]
        for name in started:
            self.start(name)
        return started

    def pids(self, prefix: str) -> dict[str, int]:
        """The running processes whose name starts with ``prefix``: name -> pid."""
        return {
            name: proc.pid
            for name, proc in self.procs.items()
            if name.startswith(prefix) and proc.poll() is None
        }

    def exits(self) -> dict[str, int]:
        """Processes that ended on their own (not killed by us): name -> exit code."""
        return {
            name: proc.returncode
            for name, proc in self.procs.items()
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL
        }

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every process and wait (bounded) for it; their exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                codes[name] = None
        return codes


# -- PostgreSQL -------------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


async def create_database(admin_url: str) -> str:
    """A fresh, empty database on the server of ``admin_url``; its name."""
    name = f"pagewire_chaos_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def connection_burst(admin_url: str, name: str, seconds: float, every: float = 0.3) -> int:
    """Terminate every backend of database ``name``, every ``every`` seconds for
    ``seconds``, from an admin connection to another database; how many were killed."""
    killed = 0
    conn = await asyncpg.connect(admin_url)
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            killed += await conn.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()) AS terminated",
                name,
            )
            await asyncio.sleep(every)
    finally:
        await conn.close()
    return killed
