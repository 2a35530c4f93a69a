"""Uploaded files and large results, behind one small interface.

The local directory is the default; an S3-compatible store can implement the same
four operations. Writes go to a temporary file first and are renamed into
place, so a crash never leaves half a blob under its final name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pagewire.errors import InvalidRequest, PayloadTooLarge


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str
    head: bytes  # the first bytes, for content sniffing


class BlobStore(Protocol):
    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredBlob: ...

    async def put_file(self, key: str, source: Path) -> None: ...

    def local_path(self, key: str) -> Path: ...

    async def delete(self, key: str) -> None: ...


HEAD_BYTES = 8192


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def local_path(self, key: str) -> Path:
        # Checked by its parts rather than by resolving: this runs once per job on the
        # hot path, and keys are made by pagewire (uploads/upl_..., results/job_...).
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise InvalidRequest(f"blob key {key!r} leaves the blob directory")
        return self.root.joinpath(*parts)

    def scratch_path(self, name: str) -> Path:
        """A path for one job attempt's transient file (input download, result).

        A plain file named after the attempt rather than a directory per job: making
        and removing a directory per job cost more than the whole queue round trip.
        """
        return self._tmp / name

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh path in the blob volume, so moving it into place is a rename."""
        fd, name = tempfile.mkstemp(dir=self._tmp, suffix=suffix)
        os.close(fd)
        return Path(name)

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredBlob:
        digest = hashlib.sha256()
        size = 0
        head = b""
        tmp = self.temp_path()
        try:
            with tmp.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"the file is larger than the limit of {max_bytes} bytes",
                            details={"max_bytes": max_bytes},
                        )
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
            await self.put_file(key, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest(), head=head)

    async def put_file(self, key: str, source: Path) -> None:
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.move, source, target)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.local_path(key).unlink()
