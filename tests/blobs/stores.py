"""Blob stores made for tests, and a look at everything each one holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from blobs.s3_server import CLIENT_ENV, MotoServer
from pagewire.blobs.base import BlobStore
from pagewire.blobs.s3 import S3BlobStore

SMALL_PART = 5 * 1024 * 1024  # S3's smallest part: multipart tests stay small


@dataclass
class StoreUnderTest:
    name: str
    store: BlobStore
    # Everything the store holds, finished or not: stored keys, temporary files,
    # multipart uploads begun and neither completed nor aborted.
    leftovers: Callable[[], list[str]]


def s3_store(endpoint_url: str, bucket: str) -> S3BlobStore:
    return S3BlobStore(
        bucket,
        prefix="pagewire/blobs",
        endpoint_url=endpoint_url,
        access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
        secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
        region=CLIENT_ENV["AWS_REGION"],
        part_size=SMALL_PART,
    )


def local_leftovers(root: Path) -> Callable[[], list[str]]:
    return lambda: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def bucket_leftovers(server: MotoServer, bucket: str) -> Callable[[], list[str]]:
    return lambda: sorted(
        server.object_keys(bucket) + [f"(upload) {k}" for k in server.pending_uploads(bucket)]
    )
