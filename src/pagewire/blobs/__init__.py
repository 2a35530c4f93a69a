"""Where uploads and large results live, behind one small interface (local directory today)."""

from pagewire.blobs.local import BlobStore, LocalBlobStore, StoredBlob

__all__ = ["BlobStore", "LocalBlobStore", "StoredBlob"]
