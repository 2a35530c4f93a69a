"""Where uploads and large results live: a local directory or an S3-compatible bucket.

``open_blob_store(settings)`` picks one from ``PAGEWIRE_BLOB_URL``; both keep the
``BlobStore`` contract (``base.py``), proved by one test suite on each.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pagewire.blobs.base import BlobStore, StoredBlob
from pagewire.blobs.local import LocalBlobStore

if TYPE_CHECKING:
    from pagewire.settings import Settings

__all__ = ["BlobStore", "LocalBlobStore", "StoredBlob", "open_blob_store"]


def open_blob_store(settings: Settings) -> BlobStore:
    """The store ``settings.blob_url`` names (validated by ``Settings``); nothing is
    contacted until ``check()`` or a first call."""
    url = settings.blob_url
    if not url:
        return LocalBlobStore(settings.data_dir / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalBlobStore(Path(unquote(parts.path)), create=False, setting="PAGEWIRE_BLOB_URL")
    # Imported here: the client costs a process that keeps its blobs on disk nothing.
    from pagewire.blobs.s3 import S3BlobStore

    return S3BlobStore(
        parts.netloc,
        prefix=unquote(parts.path),
        endpoint_url=settings.s3_endpoint_url or None,
    )
