"""The blob store's interface, and what every implementation shares.

A blob is an uploaded file, a downloaded ``file_url`` input or a large result, named
by a key pagewire makes (``uploads/upl_...``, ``results/job_....json``). The interface
never hands out a local path: a worker that needs a file asks for a copy in its own
scratch space (``get_to_file``), and the API streams an object or hands out a
presigned URL. So the same calls work on a local directory and on a bucket that no
two nodes share a disk for.

Errors: a key with no object is :class:`~pagewire.errors.BlobNotFound`; a store
that cannot be reached (or refuses us) is :class:`~pagewire.errors.BlobStoreUnavailable`,
which is not the job's fault, so a job that meets it goes back to the queue; a key
that tries to leave the store is :class:`~pagewire.errors.InvalidRequest`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from pagewire.errors import InvalidRequest, PayloadTooLarge

HEAD_BYTES = 8192


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str
    head: bytes  # the first bytes, for content sniffing


class BlobStore(Protocol):
    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int
    ) -> StoredBlob:
        """Store the chunks under ``key`` as they arrive, never holding them all.

        Past ``max_bytes`` it raises ``PayloadTooLarge`` and nothing is left behind,
        neither under ``key`` nor half-uploaded.
        """
        ...

    async def put_file(self, key: str, source: Path) -> None:
        """Move a local file into the store: ``source`` is gone once this returns."""
        ...

    async def get_to_file(self, key: str, target: Path) -> None:
        """Copy the object to a local file (a worker's scratch copy); on failure no
        partial ``target`` is left."""
        ...

    def local_copy(self, key: str, scratch: Path) -> AbstractAsyncContextManager[Path]:
        """A local file with the object's bytes while the block runs, to read only
        (the extractor child reads a file). A directory store lends the blob's own
        file, at no cost per job; a bucket's object is downloaded to ``scratch``,
        which is removed when the block ends."""
        ...

    async def open_stream(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, for the API to stream to a client.

        Awaiting this finds the object (``BlobNotFound`` is raised here, before any
        response starts); iterating reads it.
        """
        ...

    async def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """A URL anyone may GET the object from until ``expires`` passes, or None
        where the store cannot make one (a local directory)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a key with nothing under it is not an error."""
        ...

    async def check(self) -> None:
        """Start-up check: the store exists and takes a write; otherwise
        ``BlobStoreUnavailable`` naming the setting to fix."""
        ...

    async def close(self) -> None: ...


def key_parts(key: str) -> list[str]:
    """The key's path segments; refuses a key that could name something outside the store.

    Checked by its parts rather than by resolving a path: this runs once per job on the
    hot path, and keys are made by pagewire (uploads/upl_..., results/job_...).
    """
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidRequest(f"blob key {key!r} leaves the blob store")
    return parts


class Meter:
    """Size, sha256 and head of the bytes on their way into a blob, and the size limit."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._digest = hashlib.sha256()
        self._head = b""

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the limit of {self.max_bytes} bytes",
                details={"max_bytes": self.max_bytes},
            )
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self._digest.update(chunk)

    def stored(self, key: str) -> StoredBlob:
        return StoredBlob(key=key, size=self.size, sha256=self._digest.hexdigest(), head=self._head)

    async def metered(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """The same chunks, each counted first: the limit stops the stream, not the store."""
        async for chunk in chunks:
            self.add(chunk)
            yield chunk
