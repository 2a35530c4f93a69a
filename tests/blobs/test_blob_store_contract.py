"""The BlobStore contract, on the local directory and on a real S3 server (moto).

Every test runs on both stores (the ``blobs`` fixture), so a caller can rely on the
same behaviour whichever ``PAGEWIRE_BLOB_URL`` names.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from blobs.stores import SMALL_PART, StoreUnderTest
from pagewire.blobs.base import HEAD_BYTES
from pagewire.errors import BlobNotFound, InvalidRequest, PayloadTooLarge

SIZES = {
    "small": 300_000,
    # Two whole parts and a piece: a multipart upload on S3.
    "multipart": 2 * SMALL_PART + 123_457,
}


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def stored_keys(blobs: StoreUnderTest) -> list[str]:
    """What the store holds, with the S3 store's prefix taken off."""
    return [key.removeprefix("pagewire/blobs/") for key in blobs.leftovers()]


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
async def test_a_stream_comes_back_whole_with_its_size_digest_and_head(
    blobs: StoreUnderTest, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)

    stored = await blobs.store.put_stream("uploads/upl_1", chunks_of(data), max_bytes=size)

    assert (stored.key, stored.size) == ("uploads/upl_1", size)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.head == data[:HEAD_BYTES]
    copy = tmp_path / "scratch.input"
    await blobs.store.get_to_file("uploads/upl_1", copy)
    assert copy.read_bytes() == data
    assert await read_all(await blobs.store.open_stream("uploads/upl_1")) == data
    assert stored_keys(blobs) == ["uploads/upl_1"]


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
async def test_put_file_moves_a_local_file_into_the_store(
    blobs: StoreUnderTest, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    result = tmp_path / "job.result.json"
    result.write_bytes(data)

    await blobs.store.put_file("results/job_1.json", result)

    assert not result.exists()
    assert await read_all(await blobs.store.open_stream("results/job_1.json")) == data
    assert stored_keys(blobs) == ["results/job_1.json"]


@pytest.mark.parametrize(
    "limit",
    [100_000, 2 * SMALL_PART + 1],
    ids=["within the first part", "after parts were uploaded"],
)
async def test_the_size_limit_stops_an_upload_and_leaves_nothing_behind(
    blobs: StoreUnderTest, limit: int
) -> None:
    data = os.urandom(3 * SMALL_PART)

    with pytest.raises(PayloadTooLarge) as raised:
        await blobs.store.put_stream("uploads/upl_big", chunks_of(data), max_bytes=limit)

    assert raised.value.details == {"max_bytes": limit}
    assert blobs.leftovers() == []
    with pytest.raises(BlobNotFound):
        await blobs.store.open_stream("uploads/upl_big")


async def test_a_cancelled_upload_leaves_nothing_behind(blobs: StoreUnderTest) -> None:
    """A client that stops sending mid-upload, and a request cancelled meanwhile."""
    stalled = asyncio.Event()

    async def stalls_after_some_parts() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(os.urandom(SMALL_PART + SMALL_PART // 2)):
            yield chunk
        stalled.set()
        await asyncio.Event().wait()  # never sends the rest
        yield b""

    upload = asyncio.create_task(
        blobs.store.put_stream("uploads/upl_c", stalls_after_some_parts(), max_bytes=1 << 30)
    )
    await asyncio.wait_for(stalled.wait(), 30)
    for _ in range(200):  # until the store shows an upload in progress
        if await asyncio.to_thread(blobs.leftovers):
            break
        await asyncio.sleep(0.05)
    assert await asyncio.to_thread(blobs.leftovers), "the upload never began"

    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload

    assert blobs.leftovers() == []


async def test_a_missing_key_is_blob_not_found(blobs: StoreUnderTest, tmp_path: Path) -> None:
    copy = tmp_path / "scratch.input"
    with pytest.raises(BlobNotFound):
        await blobs.store.get_to_file("uploads/upl_never", copy)
    with pytest.raises(BlobNotFound):
        await blobs.store.open_stream("uploads/upl_never")
    assert not copy.exists()


async def test_a_local_copy_reads_the_object_and_leaves_no_scratch_file_behind(
    blobs: StoreUnderTest, tmp_path: Path
) -> None:
    data = os.urandom(100_000)
    await blobs.store.put_stream("uploads/upl_l", chunks_of(data), max_bytes=len(data))
    scratch = tmp_path / "run.input"

    async with blobs.store.local_copy("uploads/upl_l", scratch) as local:
        assert local.read_bytes() == data
    assert not scratch.exists()  # a bucket's download is gone with the block
    assert stored_keys(blobs) == ["uploads/upl_l"]  # the object itself stays
    with pytest.raises(BlobNotFound):
        async with blobs.store.local_copy("uploads/upl_never", scratch):
            pass
    assert not scratch.exists()


async def test_delete_is_idempotent(blobs: StoreUnderTest) -> None:
    await blobs.store.put_stream("uploads/upl_d", chunks_of(b"%PDF-1.7 tiny"), max_bytes=100)

    await blobs.store.delete("uploads/upl_d")
    await blobs.store.delete("uploads/upl_d")
    await blobs.store.delete("uploads/upl_never")

    assert blobs.leftovers() == []
    with pytest.raises(BlobNotFound):
        await blobs.store.open_stream("uploads/upl_d")


@pytest.mark.parametrize("key", ["../x", "/abs", "uploads/../../x", "", "uploads//x", "./x"])
async def test_keys_that_try_to_escape_the_store_are_refused(
    blobs: StoreUnderTest, tmp_path: Path, key: str
) -> None:
    source = tmp_path / "source"
    source.write_bytes(b"%PDF-1.7 tiny")
    copy = tmp_path / "copy"

    with pytest.raises(InvalidRequest):
        await blobs.store.put_stream(key, chunks_of(b"%PDF-1.7 tiny"), max_bytes=100)
    with pytest.raises(InvalidRequest):
        await blobs.store.put_file(key, source)
    with pytest.raises(InvalidRequest):
        await blobs.store.get_to_file(key, copy)
    with pytest.raises(InvalidRequest):
        await blobs.store.open_stream(key)
    with pytest.raises(InvalidRequest):
        await blobs.store.presigned_url(key, timedelta(minutes=5))
    with pytest.raises(InvalidRequest):
        await blobs.store.delete(key)

    assert source.exists()
    assert blobs.leftovers() == []
    assert not (tmp_path / "x").exists()


async def test_check_passes_on_a_working_store_and_leaves_nothing(blobs: StoreUnderTest) -> None:
    await blobs.store.check()

    assert blobs.leftovers() == []


async def test_a_presigned_url_downloads_the_object_where_the_store_can_make_one(
    blobs: StoreUnderTest,
) -> None:
    data = os.urandom(50_000)
    await blobs.store.put_stream("results/job_p.json", chunks_of(data), max_bytes=len(data))

    url = await blobs.store.presigned_url("results/job_p.json", timedelta(minutes=5))

    if blobs.name == "local":
        assert url is None  # the API streams the file itself
        return
    assert url is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == data
