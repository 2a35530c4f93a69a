"""The worker's side of the extractor's fork server (:mod:`pagewire.extract.zygote`).

A :class:`ForkServer` starts one zygote and talks to it over a Unix socket; jobs
running at once share it. :class:`ForkedChild` is one job's child as the runner
sees it: pipes for stdin, stdout and stderr, ``kill()`` and ``wait()``, as
``asyncio.subprocess.Process`` offers for a spawned one.

Fork requests go one at a time (the answer names the pid of the request in
flight); exit reports come in any order and are routed by pid. Kills are asked
of the zygote, which sends SIGKILL only to a child it has not reaped yet: a pid
it has reaped may be another process's by the time the worker would act on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

# Linux: SCM_RIGHTS over a SOCK_SEQPACKET socket, and PR_SET_PDEATHSIG so that the
# zygote and its children die with the worker. Elsewhere each job's child is spawned.
AVAILABLE = (
    sys.platform == "linux"
    and hasattr(socket, "send_fds")
    and hasattr(socket, "SOCK_SEQPACKET")
    and hasattr(os, "fork")
)

MESSAGE_LIMIT = 64 * 1024


class ForkServerLost(Exception):
    """The zygote died during the job: its child was killed with it (PR_SET_PDEATHSIG)."""


class ForkServer:
    """One zygote process and the worker's end of its control socket, on this event loop."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str]) -> None:
        self.loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Started from the event loop's thread: the zygote's death signal fires when
            # the thread that started it ends, and this one lasts as long as the worker.
            self.process = subprocess.Popen(
                list(command),
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                env=dict(env),
                # Its own session: a Ctrl-C meant for the service does not reach it.
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._socket = ours
        self.lost = False
        # Each resolves to None if the zygote dies first.
        self._ready: asyncio.Future[int | None] = self.loop.create_future()
        self._answer: asyncio.Future[int | str | None] | None = None
        self._exits: dict[int, asyncio.Future[int | None]] = {}
        self._forking = asyncio.Lock()
        self.loop.add_reader(ours.fileno(), self._on_readable)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self) -> bool:
        """Wait until the zygote has imported the extractor; False if it died first."""
        return await asyncio.shield(self._ready) is not None

    async def fork(self, fds: Sequence[int]) -> int | None:
        """A child with ``fds`` as its stdin, stdout and stderr: its pid, or None when
        the zygote is gone (it never forked). A zygote that cannot fork raises OSError."""
        async with self._forking:
            if self.lost:
                return None
            answer: asyncio.Future[int | str | None] = self.loop.create_future()
            self._answer = answer
            try:
                socket.send_fds(self._socket, [b'{"fork": true}'], list(fds))
            except (BrokenPipeError, ConnectionResetError):
                self._lose()
            result = await answer
        if isinstance(result, str):
            raise OSError(f"the extractor's fork server could not start a child: {result}")
        return result

    def kill(self, pid: int) -> None:
        if self.lost:
            return  # its children were killed with it
        try:
            self._socket.send(json.dumps({"kill": pid}).encode())
        except BlockingIOError:
            # A zygote that stopped reading has not reaped the child either.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        except OSError:
            self._lose()

    def returncode(self, pid: int) -> int | None:
        future = self._exits.get(pid)
        if future is None or not future.done() or future.cancelled():
            return None
        return future.result()

    async def wait(self, pid: int) -> int | None:
        """The child's return code (negative: the signal that killed it); None when the
        zygote died before it reported it."""
        exit_report = self._exits[pid]
        try:
            return await asyncio.shield(exit_report)
        finally:
            if exit_report.done():
                del self._exits[pid]

    def close(self) -> None:
        """Stop the zygote (the children it still has die with it) and reap it."""
        self._lose()
        self._socket.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _on_readable(self) -> None:
        while not self.lost:
            try:
                data = self._socket.recv(MESSAGE_LIMIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lose()
                return
            self._receive(json.loads(data))

    def _receive(self, message: dict[str, Any]) -> None:
        if "exit" in message:
            future = self._exits.get(message["exit"])
            if future is not None and not future.done():
                future.set_result(int(message["returncode"]))
        elif "forked" in message:
            # Before the answer: the exit report of this pid may come next.
            self._exits[message["forked"]] = self.loop.create_future()
            _settle(self._answer, int(message["forked"]))
        elif "error" in message:
            _settle(self._answer, str(message["error"]))
        elif "ready" in message:
            _settle(self._ready, int(message["ready"]))

    def _lose(self) -> None:
        if self.lost:
            return
        self.lost = True
        if not self.loop.is_closed():
            self.loop.remove_reader(self._socket.fileno())
        for future in (self._ready, self._answer, *self._exits.values()):
            _settle(future, None)


def _settle(future: asyncio.Future[Any] | None, value: Any) -> None:
    if future is not None and not future.done():
        future.set_result(value)


class ForkedChild:
    """A job's child forked by the zygote, with the parts of ``asyncio.subprocess.Process``
    the runner uses."""

    def __init__(
        self,
        server: ForkServer,
        pid: int,
        stdin: asyncio.WriteTransport,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
        readers: Sequence[asyncio.BaseTransport],
    ) -> None:
        self.server = server
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._readers = readers
        self._ended = False
        self._returncode: int | None = None

    @classmethod
    async def start(cls, server: ForkServer, limit: int) -> ForkedChild | None:
        """A new child with fresh pipes (``limit``: its stdout's longest line); None when
        the zygote is gone."""
        child_in, stdin_fd = os.pipe()
        stdout_fd, child_out = os.pipe()
        stderr_fd, child_err = os.pipe()
        ours = [stdin_fd, stdout_fd, stderr_fd]
        try:
            pid = await server.fork([child_in, child_out, child_err])
        except BaseException:
            _close(ours)
            raise
        finally:
            _close([child_in, child_out, child_err])  # the child has its own copies
        if pid is None:
            _close(ours)
            return None
        loop = server.loop
        stdout, stderr = asyncio.StreamReader(limit=limit), asyncio.StreamReader()
        files = [open(fd, "rb" if fd != stdin_fd else "wb", buffering=0) for fd in ours]
        transports: list[asyncio.BaseTransport] = []
        try:
            stdin, _ = await loop.connect_write_pipe(asyncio.Protocol, files[0])
            transports.append(stdin)
            for reader, file in ((stdout, files[1]), (stderr, files[2])):
                reading, _ = await loop.connect_read_pipe(
                    functools.partial(asyncio.StreamReaderProtocol, reader), file
                )
                transports.append(reading)
        except BaseException:
            server.kill(pid)
            for transport in transports:
                transport.close()
            for file in files:
                file.close()
            raise
        return cls(server, pid, stdin, stdout, stderr, transports[1:])

    @property
    def returncode(self) -> int | None:
        return self._returncode if self._ended else self.server.returncode(self.pid)

    def kill(self) -> None:
        self.server.kill(self.pid)

    async def wait(self) -> int:
        """Its return code; :class:`ForkServerLost` if the zygote died before it was reported."""
        if not self._ended:
            self._returncode = await self.server.wait(self.pid)
            self._ended = True
            self.stdin.close()  # nobody reads it any more
        if self._returncode is None:
            raise ForkServerLost
        return self._returncode

    def close(self) -> None:
        """Release its pipes, once it has ended and they are read (uvloop keeps a pipe
        open past its end of file until it is closed)."""
        self.stdin.close()
        for transport in self._readers:
            transport.close()


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)
