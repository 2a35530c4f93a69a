"""A job's extractor child as the runner drives it, however it was started.

:class:`ExtractorProcess` is what the runner needs of one: its pipes, ``kill()``,
``wait()``. A child is forked by the worker's fork server
(:class:`~pagewire.worker.forkserver.ForkedChild`) or started afresh
(:class:`SpawnedChild`); the runner follows either the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Protocol


class PipeWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class ExtractorProcess(Protocol):
    """A running child: forked (:class:`~pagewire.worker.forkserver.ForkedChild`) or spawned."""

    @property
    def stdin(self) -> PipeWriter: ...

    @property
    def stdout(self) -> asyncio.StreamReader: ...

    @property
    def stderr(self) -> asyncio.StreamReader: ...

    @property
    def returncode(self) -> int | None: ...

    def kill(self) -> None: ...

    async def wait(self) -> int: ...

    def close(self) -> None:
        """Release its pipes (it has ended, and they are read)."""


class SpawnedChild:
    """A child started afresh: ``python -m pagewire.extract.child`` (or a test's command)."""

    @classmethod
    async def start(
        cls, command: Sequence[str], env: Mapping[str, str], limit: int
    ) -> SpawnedChild:
        """``limit``: the longest line its stdout may send."""
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Its own session: a Ctrl-C meant for the service does not reach it; the
            # worker decides when it stops.
            start_new_session=True,
            limit=limit,
            env=dict(env),
        )
        return cls(process)

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin and process.stdout and process.stderr
        self.process = process
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.stderr = process.stderr

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def wait(self) -> int:
        return await self.process.wait()

    def close(self) -> None:
        pass  # asyncio closes a spawned process's pipes itself
