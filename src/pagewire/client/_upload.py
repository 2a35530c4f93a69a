"""Documents to send as multipart ``file`` parts, opened afresh for every attempt.

A retried upload must send each whole document again: a path is reopened, a
seekable file object is rewound to where it started, and anything else
(bytes, a pipe) is held in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

__all__ = ["Document", "FileInput", "Upload"]

FileInput = str | os.PathLike[str] | bytes | IO[bytes]
FilePart = tuple[str, tuple[str, IO[bytes]]]


class Document:
    """One document: a path, bytes, or a binary file object."""

    def __init__(self, file: FileInput, file_name: str | None = None) -> None:
        self._path: Path | None = None
        self._data: bytes | None = None
        self._stream: IO[bytes] | None = None
        self._start = 0
        if isinstance(file, str | os.PathLike):
            self._path = Path(file)
            if not self._path.is_file():
                raise FileNotFoundError(f"no such file: {self._path}")
            self.file_name = file_name or self._path.name
        elif isinstance(file, bytes | bytearray | memoryview):
            self._data = bytes(file)
            self.file_name = file_name or "document"
        else:
            name = getattr(file, "name", None)
            self.file_name = file_name or (Path(name).name if isinstance(name, str) else "document")
            if _seekable(file):
                self._stream, self._start = file, file.tell()
            else:
                self._data = file.read()

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self._path is not None:
            with self._path.open("rb") as handle:
                yield handle
        elif self._stream is not None:
            self._stream.seek(self._start)
            yield self._stream
        else:
            yield io.BytesIO(self._data or b"")


class Upload:
    """The ``file`` parts of one request (one for ``/extract``, several for a batch)."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = list(documents)

    @contextlib.contextmanager
    def open(self) -> Iterator[list[FilePart]]:
        """The ``files=`` argument for one attempt."""
        with contextlib.ExitStack() as stack:
            yield [
                ("file", (document.file_name, stack.enter_context(document.open())))
                for document in self.documents
            ]


def _seekable(file: IO[bytes]) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, ValueError, OSError):
        return False
