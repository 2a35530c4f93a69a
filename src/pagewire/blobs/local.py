"""The blob store in a local directory: the default, ``DATA_DIR/blobs``.

Writes go to a temporary file first and are renamed into place, so a crash never
leaves half a blob under its final name. Failures of the directory itself (missing,
unwritable, full) are ``BlobStoreUnavailable``, as an unreachable bucket is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

from pagewire.blobs.base import Meter, StoredBlob, key_parts
from pagewire.errors import BlobNotFound, BlobStoreUnavailable

READ_CHUNK = 1024 * 1024


class LocalBlobStore:
    def __init__(
        self, root: Path, *, create: bool = True, setting: str = "PAGEWIRE_DATA_DIR"
    ) -> None:
        """``create``: make the directory if it is missing (the data directory's own
        ``blobs``); a directory the operator named must already exist, so that an
        unmounted volume is an error rather than a quiet write to the wrong disk.
        ``setting`` is what error messages tell the operator to fix."""
        self.root = root.resolve()
        self.setting = setting
        self._tmp = self.root / ".tmp"
        if create or self.root.is_dir():
            self._tmp.mkdir(parents=True, exist_ok=True)

    # -- paths inside the directory: this class's own business, never handed out -------

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key_parts(key))

    def _temp_path(self, suffix: str = "") -> Path:
        """A fresh path in the blob volume, so moving it into place is a rename."""
        fd, name = tempfile.mkstemp(dir=self._tmp, suffix=suffix)
        os.close(fd)
        return Path(name)

    # -- the BlobStore interface ------------------------------------------------------

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int
    ) -> StoredBlob:
        key_parts(key)
        meter = Meter(max_bytes)
        with self._unavailable_on_oserror():
            tmp = self._temp_path()
        try:
            with self._unavailable_on_oserror(), tmp.open("wb") as out:
                async for chunk in meter.metered(chunks):
                    await asyncio.to_thread(out.write, chunk)
            await self.put_file(key, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        return meter.stored(key)

    async def put_file(self, key: str, source: Path) -> None:
        target = self._path(key)
        source.stat()  # a missing source is the caller's mistake, not the store's
        if not self.root.is_dir():  # never recreated here: it may be an unmounted volume
            raise self._unavailable(None)
        with self._unavailable_on_oserror():
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(shutil.move, source, target)

    async def get_to_file(self, key: str, target: Path) -> None:
        source = self._path(key)
        try:
            with self._reading(key, source):
                await asyncio.to_thread(_link_or_copy, source, target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    @contextlib.asynccontextmanager
    async def local_copy(self, key: str, scratch: Path) -> AsyncIterator[Path]:
        # The blob's own file, lent: a blob is never changed in place, and the child
        # only reads it. A link or a copy per job would cost more than the queue's work.
        source = self._path(key)
        with self._reading(key, source):
            source.stat()  # a missing blob is BlobNotFound here, not a crash in the child
        yield source

    async def open_stream(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        with self._reading(key, path):
            await asyncio.to_thread(path.stat)
        # Opened on the first read: a stream never read holds no open file.
        return self._chunks(key, path)

    async def _chunks(self, key: str, path: Path) -> AsyncIterator[bytes]:
        with self._reading(key, path):
            handle = await asyncio.to_thread(path.open, "rb")
        with handle:
            while True:
                with self._unavailable_on_oserror():
                    chunk = await asyncio.to_thread(handle.read, READ_CHUNK)
                if not chunk:
                    return
                yield chunk

    async def presigned_url(self, key: str, expires: timedelta) -> str | None:
        key_parts(key)
        return None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            if not self.root.is_dir():  # an unmounted volume: the blob may well exist
                raise self._unavailable(None) from None
        except OSError as error:
            raise self._unavailable(error) from None

    async def check(self) -> None:
        if not self.root.is_dir():
            raise BlobStoreUnavailable(
                f"the blob directory {self.root} does not exist: create it (or mount its "
                f"volume), or fix {self.setting}",
                details={"setting": self.setting},
            )
        try:
            self._tmp.mkdir(exist_ok=True)
            self._temp_path(".check").unlink()
        except OSError as error:
            raise BlobStoreUnavailable(
                f"the blob directory {self.root} is not writable ({error.strerror}): "
                f"fix its permissions, or {self.setting}",
                details={"setting": self.setting},
            ) from None

    async def close(self) -> None:
        pass

    # -- errors ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _unavailable_on_oserror(self) -> Iterator[None]:
        try:
            yield
        except OSError as error:
            raise self._unavailable(error) from None

    @contextlib.contextmanager
    def _reading(self, key: str, path: Path) -> Iterator[None]:
        """Errors about the blob's own file are the store's; others (the caller's
        target, say) stay as they are."""
        try:
            yield
        except OSError as error:
            if error.filename is None or os.fspath(error.filename) != str(path):
                raise
            if isinstance(error, FileNotFoundError) and self.root.is_dir():
                raise BlobNotFound(f"no blob under {key!r}") from None
            raise self._unavailable(error) from None

    def _unavailable(self, error: OSError | None) -> BlobStoreUnavailable:
        reason = error.strerror if error is not None else "it does not exist"
        return BlobStoreUnavailable(
            f"the blob directory {self.root} cannot be used ({reason}); check {self.setting}",
            details={"setting": self.setting},
        )


def _link_or_copy(source: Path, target: Path) -> None:
    """A second name for the blob where the target is on its filesystem, else a copy.

    Safe because a blob is never changed in place (it is written aside and renamed),
    and removing the target's name leaves the blob as it was. It spares a worker a
    copy of every input it runs.
    """
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)  # another filesystem; or the precise error
