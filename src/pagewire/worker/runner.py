"""Run one job's extraction in its own child process, page by page.

The child can crash, hang or blow its memory on a hostile file; that fails the
job with a clear error code and never the worker. Between pages the parent asks
``on_page`` whether to go on, which is how cancellation stops a running job.

The child is forked by the worker's fork server, a zygote that imported the
extractor once (:mod:`pagewire.worker.forkserver`), which saves each job the
interpreter's start and the imports; or, with ``PAGEWIRE_EXTRACTOR_PREFORK=false``,
off Linux, or for a ``command`` given without its zygote, started afresh. Either
way it is the same child (:mod:`pagewire.extract.child`), reporting alike, and
either way it confines itself to its job before it opens the document when the
worker runs a sandbox (:mod:`pagewire.worker.sandboxing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pagewire.extract.sandbox import describe
from pagewire.worker import forkserver, sandboxing
from pagewire.worker.child_env import extractor_environment
from pagewire.worker.children import ExtractorProcess, SpawnedChild
from pagewire.worker.forkserver import ForkedChild, ForkServer, ForkServerLost

if TYPE_CHECKING:
    from pagewire.settings import Settings

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
    # What the child reported it cost (its own and its helpers' CPU; peak RSS); None: unknown.
    cpu_seconds: float | None = None
    peak_rss_mb: float | None = None


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
# Its fork server: forks one such child per job (pagewire.extract.zygote).
ZYGOTE_COMMAND: tuple[str, ...] = (sys.executable, "-m", "pagewire.extract.zygote")


class ProcessRunner:
    """One extractor child process per job, forked by a fork server that runs
    ``zygote_command`` (by default :data:`ZYGOTE_COMMAND`), or spawned from ``command``
    (by default :data:`EXTRACTOR_COMMAND`) when ``prefork`` is off or fork serving is
    unavailable. A ``command`` given without a ``zygote_command`` is always spawned.

    Children start with the worker's environment scrubbed of its secrets
    (:mod:`pagewire.worker.child_env`), plus ``env`` as given. The fork server starts
    with the first job (or :meth:`start`) and lives until :meth:`close`; one that
    died is replaced at the next job.

    ``sandbox`` is ``PAGEWIRE_EXTRACTOR_SANDBOX``'s mode (``required`` on a kernel
    without Landlock raises :class:`~pagewire.worker.sandboxing.SandboxUnavailable`
    here); ``protect``: paths no sandbox rule may reach (the data directory...).
    """

    def __init__(
        self,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        zygote_command: Sequence[str] | None = None,
        prefork: bool = True,
        sandbox: str = "auto",
        protect: Sequence[str] = (),
    ) -> None:
        if command is None:
            command, zygote_command = EXTRACTOR_COMMAND, zygote_command or ZYGOTE_COMMAND
        self.command = tuple(command)
        self.env = {**extractor_environment(os.environ), **(env or {})}
        forks = prefork and forkserver.AVAILABLE
        self.zygote_command = tuple(zygote_command) if forks and zygote_command else None
        self._server: ForkServer | None = None
        self.sandbox_abi = sandboxing.choose(sandbox)
        self.protect = tuple(protect)

    @classmethod
    def for_settings(cls, settings: Settings) -> ProcessRunner:
        """The worker's runner: forked or not, sandboxed or not, as the settings say."""
        return cls(
            prefork=settings.extractor_prefork,
            sandbox=settings.extractor_sandbox,
            protect=sandboxing.protected_paths(settings),
        )

    @property
    def sandbox(self) -> str:
        """The sandbox each child applies (:func:`~pagewire.extract.sandbox.describe`), or
        ``none``."""
        return describe(self.sandbox_abi) if self.sandbox_abi else "none"

    @property
    def zygote_pid(self) -> int | None:
        """The running fork server's pid (None: none running)."""
        return self._server.pid if self._server is not None and not self._server.lost else None

    async def start(self) -> bool:
        """Start the fork server now rather than with the first job, and wait until it
        has imported the extractor. False: children are spawned, or it failed to start."""
        if self.zygote_command is None:
            return False
        return await self._fork_server().ready()

    def close(self) -> None:
        """Stop the fork server, with any child it still runs (a later job starts another)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def _fork_server(self) -> ForkServer:
        assert self.zygote_command is not None
        server = self._server
        if server is None or server.lost or server.loop is not asyncio.get_running_loop():
            self.close()
            server = self._server = ForkServer(self.zygote_command, self.env)
        return server

    async def _launch(self, limit: int) -> tuple[ExtractorProcess, int]:
        """A new child (``limit``: its stdout's longest line) and its parent's pid."""
        if self.zygote_command is not None:
            try:
                # A fork server that died before it forked (killed, or failed to start):
                # once more on a fresh one.
                for _ in range(2):
                    server = self._fork_server()
                    child = await ForkedChild.start(server, limit)
                    if child is not None:
                        return child, server.pid
            except OSError as error:
                log.warning("fork server failed", extra={"fields": {"error": str(error)}})
            log.warning("the extractor's fork server is unavailable; spawning this job's child")
        return await SpawnedChild.start(self.command, self.env, limit), os.getpid()

    async def run(self, task: Task, on_page: PageCallback) -> Outcome:
        if not self.sandbox_abi:
            return await self._run(task, on_page, None)
        # The child's own temporary directory (its TMPDIR), beside its output file: the
        # sandbox grants it these two, not the scratch directory the worker's other jobs
        # share. Both are made by the child; what is left of them is removed here.
        temp_dir = task.output_path.with_name(task.output_path.name + ".tmp")
        try:
            outcome = await self._run(
                task, on_page, {"temp_dir": str(temp_dir), "protect": list(self.protect)}
            )
        finally:
            _remove_directory(temp_dir)
        if outcome.result is not None:  # came in the message: the file made for it is empty
            task.output_path.unlink(missing_ok=True)
        return outcome

    async def _run(
        self, task: Task, on_page: PageCallback, sandbox: dict[str, Any] | None
    ) -> Outcome:
        proc, parent_pid = await self._launch(task.inline_limit + (1 << 16))
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
            "parent_pid": parent_pid,
            # what it confines itself to before it opens the document (None: no sandbox)
            "sandbox": sandbox,
        }
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
        except ForkServerLost:
            return _failure(
                "extractor_killed",
                "the extractor was killed (SIGKILL): the worker's fork server stopped during the job",
            )
        finally:
            if proc.returncode is None:
                proc.kill()
            with contextlib.suppress(ForkServerLost):
                await proc.wait()
            stderr = await stderr_task
            proc.close()
            if stderr.strip():
                log.debug(
                    "extractor stderr",
                    extra={"fields": {"stderr": stderr[-4000:].decode(errors="replace")}},
                )

    async def _follow(
        self,
        proc: ExtractorProcess,
        on_page: PageCallback,
        choose_pages: PagesChoice | None,
    ) -> Outcome:
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
                    cpu_seconds=message.get("cpu_seconds"),
                    peak_rss_mb=message.get("peak_rss_mb"),
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


def _remove_directory(path: Path) -> None:
    """A child's temporary directory: empty (tesseract's files removed) unless the child
    was killed mid-page; not there when it failed before making it."""
    try:
        path.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
