"""The real extractor child, acting out a hostile file: ``python hostile_child.py HOOK``,
or its fork server, whose every child acts it out: ``python hostile_child.py --zygote HOOK``.

Test-only: a worker's runner is given :func:`command` and :func:`zygote_command`
instead of the real ones (:func:`runner`). The hook runs where a hostile file would hurt, inside the child's
``run`` (after its memory limit is set, within its error handling), then the real
extraction goes on:

- ``crash``: the child dies of SIGSEGV, as a crashing parser would;
- ``hang``: it never answers again;
- ``memory``: it allocates until its memory limit stops it;
- ``slow:SECONDS``: every page takes that much longer, so a test can act mid-job;
- ``report:PATH``: it writes what an exploit would find to PATH (JSON: its open
  descriptors and their targets, its environment as the kernel holds it), then
  extracts as usual;
- ``probe:JSON``: it tries what an exploit would try beyond its job, then extracts
  as usual, and writes each attempt's outcome (``"ok"``, or the error: ``"EACCES"``,
  ``"EPERM"``...) to the spec's ``report`` path. The spec (JSON) names what to try:
  ``read`` files, ``list`` directories, ``write`` (create) files, ``tcp`` ports on
  127.0.0.1 and ``unix`` abstract socket names to connect to, ``unix_path`` Unix
  socket paths to connect to, ``udp`` ports on 127.0.0.1 to send a datagram to, and
  ``signal`` process ids (signal 0);
- ``thread``: a second thread is running when the child confines itself;
- ``no-landlock``: the child finds no Landlock (as on an older kernel).

A report is written through a file opened before the child's sandbox closes in
(the test's channel, not the exploit's: the sandbox would refuse a new file there).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import pagewire.extract
from pagewire.extract import child, sandbox
from pagewire.extract.base import Page
from pagewire.worker.runner import ProcessRunner


def command(hook: str) -> tuple[str, ...]:
    """The runner's command for a child that acts out ``hook``."""
    return (sys.executable, str(Path(__file__).resolve()), hook)


def zygote_command(hook: str) -> tuple[str, ...]:
    """The runner's command for a fork server whose children act out ``hook``."""
    return (sys.executable, str(Path(__file__).resolve()), "--zygote", hook)


def runner(
    hook: str | None = None,
    *,
    prefork: bool = True,
    sandbox: str = "auto",
    protect: tuple[str, ...] = (),
) -> ProcessRunner:
    """A runner whose children act out ``hook`` (None: the real ones), forked or spawned,
    sandboxed as ``sandbox`` says (PAGEWIRE_EXTRACTOR_SANDBOX's modes)."""
    if hook is None:
        return ProcessRunner(prefork=prefork, sandbox=sandbox, protect=protect)
    return ProcessRunner(
        command(hook),
        zygote_command=zygote_command(hook),
        prefork=prefork,
        sandbox=sandbox,
        protect=protect,
    )


def probe(**spec: Any) -> str:
    """The hook that tries what ``spec`` names (see the module's docstring)."""
    return "probe:" + json.dumps(spec)


class _SlowDocument:
    def __init__(self, document: Any, delay: float) -> None:
        self._document = document
        self._delay = delay
        self.page_count = document.page_count

    def read_page(self, number: int) -> Page:
        page: Page = self._document.read_page(number)
        time.sleep(self._delay)
        return page

    def close(self) -> None:
        self._document.close()


def _attempt(action: Callable[[], object]) -> str:
    try:
        action()
    except OSError as error:
        return errno.errorcode.get(error.errno or 0, type(error).__name__)
    return "ok"


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read(64)


def _create(path: str) -> None:
    with open(path, "x") as file:
        file.write("written from the extractor child")


def _send_datagram(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"what the extractor child found", ("127.0.0.1", port))


def _connect(family: int, address: Any) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(address)


def _probe(spec: dict[str, Any], report: TextIO) -> None:
    tries: dict[str, dict[str, Callable[[], object]]] = {
        "read": {path: lambda p=path: _read(p) for path in spec.get("read", [])},
        "list": {path: lambda p=path: os.listdir(p) for path in spec.get("list", [])},
        "write": {path: lambda p=path: _create(p) for path in spec.get("write", [])},
        "tcp": {
            str(port): lambda n=port: _connect(socket.AF_INET, ("127.0.0.1", n))
            for port in spec.get("tcp", [])
        },
        "unix": {
            name: lambda n=name: _connect(socket.AF_UNIX, "\0" + n) for name in spec.get("unix", [])
        },
        "unix_path": {
            path: lambda p=path: _connect(socket.AF_UNIX, p) for path in spec.get("unix_path", [])
        },
        "udp": {str(port): lambda n=port: _send_datagram(n) for port in spec.get("udp", [])},
        "signal": {str(pid): lambda n=pid: os.kill(n, 0) for pid in spec.get("signal", [])},
    }
    outcomes = {
        kind: {what: _attempt(act) for what, act in acts.items()} for kind, acts in tries.items()
    }
    report.write(json.dumps(outcomes))
    report.close()


def _report(report: TextIO) -> None:
    descriptors = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own, closed by now
            descriptors[fd] = os.readlink(f"/proc/self/fd/{fd}")
    descriptors.pop(str(report.fileno()), None)  # the test's channel
    environ = Path("/proc/self/environ").read_bytes().decode(errors="replace")
    report.write(json.dumps({"descriptors": descriptors, "environ": environ.split("\0")}))
    report.close()


def _act_out(hook: str, report: TextIO | None) -> None:
    if hook == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif hook == "hang":
        signal.pause()
    elif hook == "memory":
        hog = []
        while True:
            hog.append(bytearray(64 * 1024 * 1024))
    elif hook.startswith("slow:"):
        delay = float(hook.split(":", 1)[1])
        opened = pagewire.extract.open_document
        pagewire.extract.open_document = lambda *a, **k: _SlowDocument(opened(*a, **k), delay)
    elif hook.startswith("report:"):
        assert report is not None
        _report(report)
    elif hook.startswith("probe:"):
        assert report is not None
        _probe(json.loads(hook.split(":", 1)[1]), report)
    elif hook not in ("thread", "no-landlock"):  # acted out before the sandbox
        raise SystemExit(f"unknown hook {hook!r}")


def _report_path(hook: str) -> str | None:
    if hook.startswith("report:"):
        return hook.split(":", 1)[1]
    if hook.startswith("probe:"):
        return str(json.loads(hook.split(":", 1)[1])["report"])
    return None


def _act_out_in_every_run(hook: str) -> None:
    real_run = child.run
    real_confine = sandbox.confine
    channel: list[TextIO] = []

    def confine(spec: dict[str, Any] | None, input_path: str, output_path: str) -> None:
        path = _report_path(hook)
        if path is not None:
            channel.append(open(path, "w"))  # closed by the hook that writes it
        if hook == "thread":
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        elif hook == "no-landlock":
            sandbox.abi = lambda: 0
        real_confine(spec, input_path, output_path)

    def run(task: dict[str, Any]) -> None:
        _act_out(hook, channel[0] if channel else None)
        real_run(task)

    sandbox.confine = confine
    child.run = run


def main(args: list[str]) -> int:
    if args[0] == "--zygote":
        from pagewire.extract import zygote

        _act_out_in_every_run(args[1])  # the forked children inherit it
        return zygote.main()
    _act_out_in_every_run(args[0])
    return child.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
