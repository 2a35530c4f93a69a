"""Run one job's extraction in its own child process, page by page.

The child can crash, hang or blow its memory on a hostile file; that fails the
job with a clear error code and never the worker. Between pages the parent asks
``on_page`` whether to go on, which is how cancellation stops a running job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Results up to this size come back from the child through its pipe, not a file.
INLINE_PIPE_LIMIT = 256 * 1024

# on_page(pages_done, pages_total) -> keep going?
PageCallback = Callable[[int, int], Awaitable[bool]]
# choose_pages(page_count, selected spec) -> the pages this run reads (a spec), or
# None for all of them: how the worker splits a long document once it is open.
PagesChoice = Callable[[int, str, float], Awaitable[str | None]]


@dataclass(frozen=True)
class Outcome:
    status: str  # completed, failed, canceled
    page_count: int | None = None
    # A small result comes back in memory; a larger one is in the task's output_path.
    result: dict[str, Any] | None = None
    result_size: int | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Task:
    input_path: Path
    media_type: str
    options: dict[str, Any]
    output_path: Path
    max_pages: int
    memory_limit_mb: int
    time_limit: float
    # Results up to this size may come back through the pipe rather than a file.
    inline_limit: int = INLINE_PIPE_LIMIT
    # Pages the child may OCR at once: this job's slot plus the worker's idle ones.
    ocr_lanes: int = 1
    # Asked once the document is open (a job the worker may split); None: all pages.
    choose_pages: PagesChoice | None = None
    # A shard: the run's pages come back as its part ({"pages": [...]}), unassembled.
    part: bool = False


class Runner(Protocol):
    """Runs one job's extraction to its outcome: :class:`ProcessRunner` in a child
    process; the tests' ``ScriptedRunner`` (tests/fakes) from a script.

    It reports each page boundary through ``on_page`` (0 of N once the document
    is open, then each page done) and, when that answers False, stops with a
    ``canceled`` outcome. A document that cannot be extracted is a ``failed``
    outcome with an error code, not an exception.
    """

    async def run(self, task: Task, on_page: PageCallback) -> Outcome: ...


def _failure(code: str, message: str) -> Outcome:
    return Outcome("failed", error={"code": code, "message": message})


# The extractor child: reads its task on stdin, reports on stdout (pagewire.extract.child).
EXTRACTOR_COMMAND: tuple[str, ...] = (sys.executable, "-m", "pagewire.extract.child")


class ProcessRunner:
    """One extractor child process per job: ``command``, by default :data:`EXTRACTOR_COMMAND`."""

    def __init__(
        self, command: Sequence[str] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.command = tuple(command or EXTRACTOR_COMMAND)
        self.env = {**os.environ, **env} if env else None

    async def run(self, task: Task, on_page: PageCallback) -> Outcome:
        spec = {
            "input_path": str(task.input_path),
            "media_type": task.media_type,
            "options": task.options,
            "output_path": str(task.output_path),
            "max_pages": task.max_pages,
            "memory_limit_mb": task.memory_limit_mb,
            "inline_limit": task.inline_limit,
            "ocr_lanes": task.ocr_lanes,
            "ask_pages": task.choose_pages is not None,
            "part": task.part,
            # the child checks it is still ours once it has asked to die with us
            "parent_pid": os.getpid(),
        }
        proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Its own session: a Ctrl-C meant for the service does not reach it; the
            # worker decides when it stops.
            start_new_session=True,
            limit=task.inline_limit + (1 << 16),
            env=self.env,
        )
        assert proc.stdin and proc.stdout and proc.stderr
        proc.stdin.write(json.dumps(spec).encode() + b"\n")
        if task.choose_pages is None:
            proc.stdin.close()  # otherwise open until the pages are chosen
        stderr_task = asyncio.create_task(proc.stderr.read())
        try:
            return await asyncio.wait_for(
                self._follow(proc, on_page, task.choose_pages), task.time_limit
            )
        except TimeoutError:
            return _failure(
                "timeout", f"extraction took longer than the limit of {task.time_limit:g} s"
            )
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
            stderr = await stderr_task
            if stderr.strip():
                log.debug(
                    "extractor stderr",
                    extra={"fields": {"stderr": stderr[-4000:].decode(errors="replace")}},
                )

    async def _follow(
        self,
        proc: asyncio.subprocess.Process,
        on_page: PageCallback,
        choose_pages: PagesChoice | None,
    ) -> Outcome:
        assert proc.stdout is not None and proc.stdin is not None
        page_count = None
        while line := await proc.stdout.readline():
            message = json.loads(line)
            kind = message["type"]
            if kind == "open":
                page_count = message["page_count"]
                if choose_pages is not None and "selected" in message:
                    chosen = await choose_pages(
                        page_count, message["selected"], float(message.get("scan_share", 0.0))
                    )
                    proc.stdin.write(json.dumps({"pages": chosen}).encode() + b"\n")
                    proc.stdin.close()
                if not await on_page(0, message["pages_total"]):
                    return Outcome("canceled", page_count=page_count)
            elif kind == "page":
                if not await on_page(message["done"], message["total"]):
                    return Outcome("canceled", page_count=page_count)
            elif kind == "done":
                return Outcome(
                    "completed",
                    page_count=message["page_count"],
                    result=message.get("result"),
                    result_size=message.get("result_size"),
                )
            elif kind == "error":
                return _failure(message["code"], message["message"])
        returncode = await proc.wait()
        if returncode < 0:
            name = signal.Signals(-returncode).name
            if -returncode == signal.SIGKILL:
                return _failure(
                    "extractor_killed",
                    f"the extractor was killed ({name}), most likely for using too much memory",
                )
            return _failure("extractor_crashed", f"the extractor crashed ({name})")
        return _failure("extractor_crashed", f"the extractor exited with status {returncode}")
