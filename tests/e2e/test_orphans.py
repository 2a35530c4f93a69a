"""A killed service leaves no orphans (docs/operations.md): SIGKILL the parent alone,
and its extractor child, mid-job, goes with it, and so does the fork server that
forked the child (the child's parent)."""

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


def extractor_processes(parent: int, count: int, timeout: float = 30) -> list[psutil.Process]:
    """The parent's extractor processes (fork server and child), once there are ``count``."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            p
            for p in psutil.Process(parent).children(recursive=True)
            if any("hostile_child.py" in part for part in p.cmdline())
        ]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, "no extractor child was started"
        time.sleep(0.02)


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # dead, waiting for init to reap it
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(
    ("command", "prefork"),
    [("serve", "true"), ("worker", "true"), ("worker", "false")],
    ids=["serve-forked", "worker-forked", "worker-spawned"],
)
def test_sigkill_of_the_parent_alone_leaves_no_extractor_child_alive(
    service_factory: Any, sample_pdf: Path, command: str, prefork: str
) -> None:
    service = service_factory(PAGEWIRE_EXTRACTOR_PREFORK=prefork)
    headers = new_key(service)
    if command == "serve":
        parent = service.serve(hostile="hang")  # the child never answers: alive until killed
    else:
        service.serve("--no-worker")
        parent = service.start("worker", hostile="hang")
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        job_id = submit(client, sample_pdf)
        wait_all(client, [job_id], {"processing"}, 30)
    # forked: the fork server and the child it forked; spawned: the child
    children = extractor_processes(parent.pid, 2 if prefork == "true" else 1)

    os.kill(parent.pid, signal.SIGKILL)  # the parent only: not its process group
    parent.wait(10)

    _, alive = psutil.wait_procs(children, timeout=15)
    survivors = [p for p in alive if not gone(p)]
    for orphan in survivors:  # the test cleans up what the service did not
        orphan.kill()
    assert survivors == [], [p.cmdline() for p in survivors]
