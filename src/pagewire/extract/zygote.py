"""The extractor's fork server (zygote): ``python -m pagewire.extract.zygote``.

A job's child used to be a fresh interpreter that imported the extractor before
its first page (~0.1 CPU-s). The zygote imports it once (:func:`child.preload`)
and forks one child per job from that state; the child then runs exactly what
``python -m pagewire.extract.child`` runs (:func:`child.main`), with its own
session, stdio, memory limit and death signal. Nothing of one job reaches the
next: every child is forked from the zygote, never from another child, and the
zygote itself reads no document.

The worker (``pagewire.worker.forkserver``) starts it with one end of a Unix
``SOCK_SEQPACKET`` socket as its stdin; each message is one JSON object:

- zygote -> worker ``{"ready": PID}`` once the extractor is imported;
- worker -> zygote ``{"fork": true}`` with three descriptors (SCM_RIGHTS): the
  job's stdin, stdout and stderr; answered ``{"forked": PID}`` (or
  ``{"error": MESSAGE}`` when fork() failed);
- worker -> zygote ``{"kill": PID}``: SIGKILL that child, unless it has ended
  already (a reaped child's pid may belong to another process by now);
- zygote -> worker ``{"exit": PID, "returncode": N}`` when a child ends: N < 0
  means killed by signal -N, otherwise its exit status (as ``subprocess``).

It exits when the worker closes its end, and is killed with the worker
(PR_SET_PDEATHSIG); its children are killed with it in turn.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
import traceback
from typing import Any

from pagewire.extract import child

MESSAGE_LIMIT = 64 * 1024
JOB_FDS = 3  # stdin, stdout, stderr


def main() -> int:
    control = _take_control_socket()
    child.die_with_parent(None)  # a worker already gone closed the socket: EOF below
    child.preload()
    # Forked children share these pages until they write to them; the collector
    # must not (it would touch every object's header in every child).
    gc.freeze()
    try:
        return _serve(control)
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the worker is gone


def _take_control_socket() -> socket.socket:
    """Move the control socket off fd 0 (a child's stdin goes there), leaving /dev/null."""
    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return control


def _serve(control: socket.socket) -> int:
    wake_read, wake_write = os.pipe()
    for fd in (wake_read, wake_write):
        os.set_blocking(fd, False)
    default_sigchld = signal.getsignal(signal.SIGCHLD)
    # SIGCHLD only wakes the poll below (a byte on the pipe); children are reaped there.
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(control, select.POLLIN)
    poller.register(wake_read, select.POLLIN)
    running: set[int] = set()
    _send(control, {"ready": os.getpid()})
    while True:
        for fd, _ in poller.poll():
            if fd == wake_read:
                while True:
                    try:
                        os.read(wake_read, 512)
                    except BlockingIOError:
                        break
                _reap(control, running)
                continue
            data, fds, flags, _ = socket.recv_fds(control, MESSAGE_LIMIT, JOB_FDS)
            if not data:
                return 0  # the worker closed its end: it stopped, or replaced us
            message = json.loads(data)
            if "fork" in message:
                if len(fds) != JOB_FDS or flags & socket.MSG_CTRUNC:
                    _close(fds)
                    _send(control, {"error": f"a fork takes {JOB_FDS} descriptors"})
                    continue
                try:
                    pid = _fork(fds, control, default_sigchld)
                except OSError as error:
                    _send(control, {"error": f"fork failed: {error}"})
                else:
                    running.add(pid)
                    _send(control, {"forked": pid})
                finally:
                    _close(fds)
            elif "kill" in message:
                _close(fds)
                if message["kill"] in running:  # not reaped: the pid is still that child's
                    os.kill(message["kill"], signal.SIGKILL)


def _fork(fds: list[int], control: socket.socket, default_sigchld: Any) -> int:
    sys.stdout.flush()  # nothing buffered here may reach a child's stdout
    sys.stderr.flush()
    zygote = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _become_job_child(fds, control, zygote, default_sigchld)
        code = child.main()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed pipe: nobody is left to tell
                stream.flush()
        os._exit(code)  # never back into the zygote's loop


def _become_job_child(
    fds: list[int], control: socket.socket, zygote: int, default_sigchld: Any
) -> None:
    """What a fresh ``python -m pagewire.extract.child`` would be: its own session,
    the job's pipes as stdio, no other descriptor, default signal handling."""
    child.die_with_parent(zygote)
    os.setsid()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, default_sigchld)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    control.detach()  # closed below with the rest; its object must not close a reused fd
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))


def _reap(control: socket.socket, running: set[int]) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        running.discard(pid)
        _send(control, {"exit": pid, "returncode": os.waitstatus_to_exitcode(status)})


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
