"""Where uploads and large results live, behind one interface (``base.py``)."""

from pagewire.blobs.base import BlobStore, StoredBlob
from pagewire.blobs.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore", "StoredBlob"]
