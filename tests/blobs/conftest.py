"""The blob stores under test: the local directory, and a bucket on a real S3 server.

The S3 server is moto's standalone server (a dev dependency, so it is always there:
these tests never skip), started once per session on loopback; each test gets its
own bucket, so each sees only its own objects.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from blobs.s3_server import MotoServer
from blobs.stores import StoreUnderTest, bucket_leftovers, local_leftovers, s3_store
from pagewire.blobs import LocalBlobStore


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with MotoServer(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def bucket(s3_server: MotoServer) -> str:
    """A new, empty bucket on the S3 server."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3_server.create_bucket(name)
    return name


@pytest.fixture(params=["local", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreUnderTest]:
    if request.param == "local":
        root = tmp_path / "blobs"
        under_test = StoreUnderTest("local", LocalBlobStore(root), local_leftovers(root))
    else:
        server: MotoServer = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("bucket")
        under_test = StoreUnderTest(
            "s3", s3_store(server.url, bucket), bucket_leftovers(server, bucket)
        )
    try:
        yield under_test
    finally:
        await under_test.store.close()
