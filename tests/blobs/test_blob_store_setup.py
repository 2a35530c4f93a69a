"""Choosing the blob store from the settings, and what an operator sees when it is wrong.

A missing directory or bucket, or an object store that does not answer, is a clear
start-up error naming the setting to fix; met later, mid-job, it is
``BlobStoreUnavailable`` (the job goes back to the queue), never ``BlobNotFound``
(which would fail it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pydantic
import pytest

from blobs.s3_server import CLIENT_ENV, MotoServer, free_port
from blobs.stores import s3_store
from pagewire.blobs import LocalBlobStore, open_blob_store
from pagewire.blobs.s3 import S3BlobStore
from pagewire.errors import BlobStoreUnavailable
from pagewire.settings import Settings


async def one_chunk() -> AsyncIterator[bytes]:
    yield b"%PDF-1.7 tiny"


def test_the_default_is_the_data_directory(tmp_path: Path) -> None:
    store = open_blob_store(Settings(data_dir=tmp_path))

    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "blobs").resolve()


def test_a_file_url_names_the_directory(tmp_path: Path) -> None:
    store = open_blob_store(Settings(data_dir=tmp_path, blob_url=f"file://{tmp_path}/shared"))

    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "shared").resolve()


def test_an_s3_url_names_the_bucket_and_prefix() -> None:
    store = open_blob_store(
        Settings(blob_url="s3://docs-bucket/pagewire/prod", s3_endpoint_url="http://minio:9000")
    )

    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix, store.endpoint_url) == (
        "docs-bucket",
        "pagewire/prod",
        "http://minio:9000",
    )


@pytest.mark.parametrize("url", ["http://bucket/x", "s3://", "s3:///prefix", "file://relative"])
def test_a_blob_url_pagewire_cannot_use_is_refused_with_the_settings(url: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="blob_url"):
        Settings(blob_url=url)


def test_an_endpoint_without_a_scheme_is_refused_with_the_settings() -> None:
    with pytest.raises(pydantic.ValidationError, match="s3_endpoint_url"):
        Settings(blob_url="s3://bucket", s3_endpoint_url="minio:9000")


async def test_an_s3_store_takes_its_credentials_from_the_aws_variables(
    s3_server: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in CLIENT_ENV.items():
        monkeypatch.setenv(name, value)
    store = open_blob_store(
        Settings(data_dir=tmp_path, blob_url=f"s3://{bucket}/p", s3_endpoint_url=s3_server.url)
    )

    await store.check()
    await store.put_stream("uploads/upl_env", one_chunk(), max_bytes=100)

    assert s3_server.object_keys(bucket) == ["p/uploads/upl_env"]


async def test_a_missing_directory_named_by_the_blob_url_stops_start_up(tmp_path: Path) -> None:
    store = open_blob_store(Settings(data_dir=tmp_path, blob_url=f"file://{tmp_path}/unmounted"))

    with pytest.raises(BlobStoreUnavailable, match="PAGEWIRE_BLOB_URL") as raised:
        await store.check()

    assert str(tmp_path / "unmounted") in raised.value.message
    assert not (tmp_path / "unmounted").exists()  # not quietly created on the wrong disk


async def test_a_missing_bucket_stops_start_up(s3_server: MotoServer) -> None:
    store = s3_store(s3_server.url, "no-such-bucket")

    with pytest.raises(BlobStoreUnavailable, match="PAGEWIRE_BLOB_URL") as raised:
        await store.check()

    assert "'no-such-bucket' does not exist" in raised.value.message


async def test_an_unreachable_object_store_stops_start_up(tmp_path: Path) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    store = s3_store(nothing_listens, "bucket")

    with pytest.raises(BlobStoreUnavailable, match="PAGEWIRE_S3_ENDPOINT_URL") as raised:
        await store.check()

    assert nothing_listens in raised.value.message


async def test_an_object_store_outage_mid_job_is_unavailable_not_missing(tmp_path: Path) -> None:
    store = s3_store(f"http://127.0.0.1:{free_port()}", "bucket")

    with pytest.raises(BlobStoreUnavailable):
        await store.put_stream("uploads/upl_1", one_chunk(), max_bytes=100)
    with pytest.raises(BlobStoreUnavailable):
        await store.get_to_file("uploads/upl_1", tmp_path / "scratch")
    with pytest.raises(BlobStoreUnavailable):
        await store.open_stream("uploads/upl_1")
    with pytest.raises(BlobStoreUnavailable):
        await store.delete("uploads/upl_1")
    assert not (tmp_path / "scratch").exists()


async def test_a_blob_directory_that_disappears_is_unavailable_not_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / "volume").mkdir()
    store = open_blob_store(Settings(data_dir=tmp_path, blob_url=f"file://{tmp_path}/volume"))
    await store.check()
    await store.put_stream("uploads/upl_1", one_chunk(), max_bytes=100)
    shutil.rmtree(tmp_path / "volume")  # as an unmounted volume looks

    with pytest.raises(BlobStoreUnavailable, match="PAGEWIRE_BLOB_URL"):
        await store.get_to_file("uploads/upl_1", tmp_path / "scratch")
    with pytest.raises(BlobStoreUnavailable):
        await store.open_stream("uploads/upl_1")
    with pytest.raises(BlobStoreUnavailable):
        await store.delete("uploads/upl_1")
    with pytest.raises(BlobStoreUnavailable):
        await store.put_stream("uploads/upl_2", one_chunk(), max_bytes=100)
    (tmp_path / "result.json").write_text("{}")
    with pytest.raises(BlobStoreUnavailable):
        await store.put_file("results/job_1.json", tmp_path / "result.json")
    assert not (tmp_path / "volume").exists()
