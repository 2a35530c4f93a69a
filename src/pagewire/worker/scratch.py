"""A worker process's own directory for its jobs' transient files.

Each attempt streams its input here (a copy of the uploaded object, or the
``file_url`` download) and the extractor writes a large result here before it goes
to the blob store; both are removed when the attempt ends. The directory is this
process's alone (``DATA_DIR/tmp/worker-HOST-PID-*``, mode 0700), never the blob
store's: a worker whose blobs live in a bucket has no blob directory at all.

A worker killed outright leaves its directory behind, documents and all; the next
worker on the same host removes the directories of processes that no longer run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any


class ScratchDir:
    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self._prefix = f"worker-{socket.gethostname()}-"
        self._path: Path | None = None

    def prepare(self) -> Path:
        """Make this process's directory (once), first removing abandoned ones."""
        if self._path is None:
            self.parent.mkdir(parents=True, exist_ok=True)
            self._remove_abandoned()
            prefix = f"{self._prefix}{os.getpid()}-"
            self._path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.parent))
        return self._path

    def file(self, name: str) -> Path:
        """A path for one attempt's file.

        Plain files named after the attempt rather than a directory per job: making and
        removing a directory per job cost more than the whole queue round trip.
        """
        return self.prepare() / name

    def remove(self) -> None:
        """Remove the directory and whatever is left in it (the worker has stopped)."""
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
            self._path = None

    def _remove_abandoned(self) -> None:
        # Only this host's: another host's process ids say nothing here (a data
        # directory on a shared volume).
        for path in self.parent.glob(f"{self._prefix}*"):
            pid = path.name[len(self._prefix) :].split("-", 1)[0]
            if pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def read_result(path: Path, inline_limit: int) -> tuple[int, bool, Any]:
    """A run's result file: its size, and its content when small enough to store inline."""
    size = path.stat().st_size
    if size > inline_limit:
        return size, False, None
    return size, True, json.loads(path.read_text(encoding="utf-8"))


def remove_files(*paths: Path) -> None:
    """A run's scratch files, those that exist."""
    for path in paths:
        path.unlink(missing_ok=True)
