"""A worker process's own directory for its jobs' transient files.

Each attempt streams its input here (a copy of the uploaded object, or the
``file_url`` download) and the extractor writes a large result here before it goes
to the blob store; both are removed when the attempt ends. The directory is this
process's alone (``DATA_DIR/tmp/worker-...``, mode 0700), never the blob store's:
a worker whose blobs live in a bucket has no blob directory at all.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


class ScratchDir:
    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self._path: Path | None = None

    def file(self, name: str) -> Path:
        """A path for one attempt's file; the directory is made on first use.

        Plain files named after the attempt rather than a directory per job: making and
        removing a directory per job cost more than the whole queue round trip.
        """
        if self._path is None:
            self.parent.mkdir(parents=True, exist_ok=True)
            self._path = Path(tempfile.mkdtemp(prefix="worker-", dir=self.parent))
        return self._path / name

    def remove(self) -> None:
        """Remove the directory and whatever is left in it (the worker has stopped)."""
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
            self._path = None
