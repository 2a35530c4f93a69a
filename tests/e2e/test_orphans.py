"""A killed service leaves no orphans (docs/operations.md): SIGKILL the parent alone,
and its extractor child, mid-job, goes with it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from .test_serve import new_key, submit, wait_all

pytestmark = pytest.mark.e2e


def extractor_children(parent: int, timeout: float = 30) -> list[psutil.Process]:
    """The parent's extractor children, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            p
            for p in psutil.Process(parent).children(recursive=True)
            if any("hostile_child.py" in part for part in p.cmdline())
        ]
        if found:
            return found
        assert time.monotonic() < deadline, "no extractor child was started"
        time.sleep(0.02)


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # dead, waiting for init to reap it
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_sigkill_of_the_parent_alone_leaves_no_extractor_child_alive(
    service_factory: Any, sample_pdf: Path, command: str
) -> None:
    service = service_factory()
    headers = new_key(service)
    if command == "serve":
        parent = service.serve(hostile="hang")  # the child never answers: alive until killed
    else:
        service.serve("--no-worker")
        parent = service.start("worker", hostile="hang")
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        job_id = submit(client, sample_pdf)
        wait_all(client, [job_id], {"processing"}, 30)
    children = extractor_children(parent.pid)

    os.kill(parent.pid, signal.SIGKILL)  # the parent only: not its process group
    parent.wait(10)

    _, alive = psutil.wait_procs(children, timeout=15)
    survivors = [p for p in alive if not gone(p)]
    for orphan in survivors:  # the test cleans up what the service did not
        orphan.kill()
    assert survivors == [], [p.cmdline() for p in survivors]
