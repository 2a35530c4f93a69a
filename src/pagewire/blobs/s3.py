"""The blob store in an S3-compatible bucket (``PAGEWIRE_BLOB_URL=s3://bucket/prefix``).

The client is obstore (Rust's ``object_store`` behind a small Python layer), chosen by
measurement over aiobotocore: see docs/scaling.md, "Object storage", and bench/blobs.py.
Credentials and region come from the standard ``AWS_*`` variables (or an instance's
role); ``PAGEWIRE_S3_ENDPOINT_URL`` points it at MinIO, R2, Ceph and the like.

Uploads stream: a blob that fits in one part is sent with one PUT; a larger one as a
multipart upload of ``part_size`` parts, a few in flight, so memory holds a few parts
whatever the file's size. Whatever stops an upload (the size limit, an error,
cancellation) aborts it: no object, and no half-finished upload left in the bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore import exceptions as obstore_errors
from obstore.store import S3Store

from pagewire.blobs.base import Meter, StoredBlob, key_parts
from pagewire.errors import BlobNotFound, BlobStoreUnavailable

if TYPE_CHECKING:
    from obstore.store import S3Config

MiB = 1024 * 1024
PART_SIZE = 8 * MiB  # S3 wants every part but the last to be at least 5 MiB
PARTS_IN_FLIGHT = 2
READ_CHUNK = MiB
# After a cancellation, how long the upload may take to notice and abort itself.
ABORT_WAIT_SECONDS = 30.0

_NOT_FOUND = (FileNotFoundError, obstore_errors.NotFoundError)
_REFUSED = (obstore_errors.PermissionDeniedError, obstore_errors.UnauthenticatedError)


class _Abandoned(Exception):
    """Raised into an upload's chunk stream, so that the client aborts the upload."""


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        part_size: int = PART_SIZE,
        connect_timeout: timedelta = timedelta(seconds=5),
        max_retries: int = 3,
    ) -> None:
        """Credentials and region left as None are read from the ``AWS_*`` variables."""
        if part_size < 5 * MiB:
            raise ValueError("S3 parts are at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.part_size = part_size
        config: S3Config = {}
        if endpoint_url is not None:
            config["endpoint"] = endpoint_url
        if access_key_id is not None and secret_access_key is not None:
            config["access_key_id"] = access_key_id
            config["secret_access_key"] = secret_access_key
        if region is not None:
            config["region"] = region
        self._store = S3Store(
            bucket,
            prefix=self.prefix or None,
            config=config,
            client_options={
                "allow_http": (endpoint_url or "").startswith("http://"),
                "connect_timeout": connect_timeout,
                # A stalled connection is noticed; a long transfer is not cut short.
                "read_timeout": timedelta(seconds=60),
                "timeout": timedelta(minutes=30),
            },
            retry_config={"max_retries": max_retries, "retry_timeout": timedelta(seconds=60)},
        )

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    # -- writing ------------------------------------------------------------------

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int
    ) -> StoredBlob:
        meter = Meter(max_bytes)
        await self._upload(key, meter.metered(chunks))
        return meter.stored(key)

    async def put_file(self, key: str, source: Path) -> None:
        source.stat()  # a missing source is the caller's mistake, not the store's
        await self._upload(key, _file_chunks(source, self.part_size))
        await asyncio.to_thread(source.unlink)

    async def _upload(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        path = "/".join(key_parts(key))
        stream = aiter(chunks)
        first: list[bytes] = []
        buffered = 0
        async for chunk in stream:
            first.append(chunk)
            buffered += len(chunk)
            if buffered >= self.part_size:
                break
        else:
            with self._translated(key, writing=True):
                await obstore.put_async(self._store, path, b"".join(first), use_multipart=False)
            return
        await self._put_multipart(key, path, first, stream)

    async def _put_multipart(
        self, key: str, path: str, first: list[bytes], rest: AsyncIterator[bytes]
    ) -> None:
        # The client aborts the upload when the chunk stream raises, and re-raises that
        # error; cancelling its future instead would leave the upload open in the bucket.
        # So a cancellation is turned into an error inside the stream, and waited for.
        feed = _Feed(first, rest)

        async def put() -> None:
            with self._translated(key, writing=True):
                await obstore.put_async(
                    self._store,
                    path,
                    feed.chunks(),
                    use_multipart=True,
                    chunk_size=self.part_size,
                    max_concurrency=PARTS_IN_FLIGHT,
                )

        upload = asyncio.ensure_future(put())
        try:
            await asyncio.shield(upload)
        except asyncio.CancelledError:
            feed.abandon()
            # Whatever the upload ends with, the caller was cancelled, and is told so.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(upload, ABORT_WAIT_SECONDS)
                # Every part was in before the cancellation: the object exists, and
                # nobody will ever learn its key.
                await self.delete(key)
            raise
        finally:
            feed.close()

    # -- reading ------------------------------------------------------------------

    async def get_to_file(self, key: str, target: Path) -> None:
        chunks = await self.open_stream(key)
        try:
            with target.open("wb") as out:
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    @contextlib.asynccontextmanager
    async def local_copy(self, key: str, scratch: Path) -> AsyncIterator[Path]:
        await self.get_to_file(key, scratch)
        try:
            yield scratch
        finally:
            await asyncio.to_thread(scratch.unlink, missing_ok=True)

    async def open_stream(self, key: str) -> AsyncIterator[bytes]:
        path = "/".join(key_parts(key))
        with self._translated(key):
            result = await obstore.get_async(self._store, path)
        return self._body(key, result.stream(min_chunk_size=READ_CHUNK))

    async def _body(self, key: str, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        while True:
            with self._translated(key):
                try:
                    chunk = await anext(stream)
                except StopAsyncIteration:
                    return
            yield chunk

    async def presigned_url(self, key: str, expires: timedelta) -> str | None:
        path = "/".join(key_parts(key))
        with self._translated(key):
            return await obstore.sign_async(self._store, "GET", path, expires)

    # -- the rest -------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        path = "/".join(key_parts(key))
        with contextlib.suppress(BlobNotFound), self._translated(key):
            await obstore.delete_async(self._store, path)

    async def check(self) -> None:
        """Write, read and delete a small object: what pagewire does, with its credentials."""
        probe = f".pagewire-check/{uuid.uuid4().hex}"
        with self._translated(probe, writing=True):
            await obstore.put_async(self._store, probe, b"pagewire start-up check")
        try:
            with self._translated(probe, writing=True):
                await (await obstore.get_async(self._store, probe)).bytes_async()
        finally:
            await self.delete(probe)

    async def close(self) -> None:
        pass  # the client's connections close with it

    # -- errors -------------------------------------------------------------------

    @contextlib.contextmanager
    def _translated(self, key: str, *, writing: bool = False) -> Iterator[None]:
        """The client's errors as ours: not found (on a read), or unavailable."""
        try:
            yield
        except _NOT_FOUND as error:
            if writing or "NoSuchBucket" in str(error):
                raise self._unavailable(error) from None
            raise BlobNotFound(f"no blob under {key!r}") from None
        except obstore_errors.BaseError as error:
            raise self._unavailable(error) from None

    def _unavailable(self, error: Exception) -> BlobStoreUnavailable:
        text = str(error)
        reason = text.splitlines()[0][:300] if text else type(error).__name__
        if isinstance(error, _NOT_FOUND) or "NoSuchBucket" in text:
            setting = "PAGEWIRE_BLOB_URL"
            message = f"the bucket {self.bucket!r} does not exist: create it, or fix {setting}"
        elif isinstance(error, _REFUSED):
            setting = "AWS_ACCESS_KEY_ID"
            message = f"the object store refused pagewire's credentials: check the AWS_* variables ({reason})"
        else:
            setting = "PAGEWIRE_S3_ENDPOINT_URL"
            where = self.endpoint_url or "AWS S3"
            message = f"cannot reach the object store at {where}: check {setting} ({reason})"
        return BlobStoreUnavailable(
            f"{message} [{self.url}]", details={"setting": setting, "store": self.url}
        )


class _Feed:
    """One multipart upload's chunks, pulled by the client, that can be stopped from
    outside: after ``abandon()`` the client's next pull raises, even while the source
    itself is waiting for data (a slow upload), and the client aborts the upload."""

    def __init__(self, first: list[bytes], rest: AsyncIterator[bytes]) -> None:
        self._first = first
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=2)
        self._pump = asyncio.create_task(self._fill(rest))

    async def _fill(self, rest: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in rest:
                await self._queue.put(chunk)
        except Exception as error:  # the size limit, a failing source: the client aborts
            await self._queue.put(error)
        else:
            await self._queue.put(None)

    async def chunks(self) -> AsyncIterator[bytes]:
        first, self._first = self._first, []
        for chunk in first:
            yield chunk
        while (item := await self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def abandon(self) -> None:
        self._pump.cancel()  # a cancelled pump puts nothing more
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_Abandoned())

    def close(self) -> None:
        self._pump.cancel()


async def _file_chunks(path: Path, size: int) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := await asyncio.to_thread(source.read, size):
            yield chunk
