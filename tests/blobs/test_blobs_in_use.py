"""The blob store in use, on the local directory and on a bucket: large results as
the API serves them, retention deleting objects, the start-up check of the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from blobs.s3_server import CLIENT_ENV, MotoServer
from blobs.stores import StoreUnderTest
from pagewire.models import JobInput, JobStatus, NewJob
from pagewire.worker.retention import expire_jobs
from support import Backend

RESULT = {"markdown": "x" * 5000, "page_count": 1, "pages": [], "warnings": []}


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """SQLite: the database side of these is the contract suite's."""
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def completed_with_stored_result(store: Any, blobs: Any, org_id: str) -> Any:
    """A job that ran and stored its result as an object, as a worker leaves it."""
    upload = await blobs.put_stream("uploads/upl_1", chunks_of(b"%PDF-1.7 ..."), max_bytes=1000)
    job, _ = await store.jobs.enqueue(
        NewJob(
            org_id=org_id,
            input=JobInput("a.pdf", None, "application/pdf", upload.sha256, 11, upload.key),
            options={},
            metadata={},
        )
    )
    [lease] = await store.leases.claim("w", 1, 30)
    body = json.dumps(RESULT).encode()
    key = f"results/{job.id}.json"
    await blobs.put_stream(key, chunks_of(body), max_bytes=len(body))
    await store.leases.finish(
        lease, JobStatus.COMPLETED, result_blob_key=key, result_size=len(body)
    )
    return job


async def test_retention_deletes_the_expired_jobs_objects(
    store: Any, tenant: Any, blobs: StoreUnderTest
) -> None:
    job = await completed_with_stored_result(store, blobs.store, tenant.org_id)
    assert len(blobs.leftovers()) == 2  # the upload and the result

    assert await expire_jobs(store, blobs.store, older_than=-1) == 1

    assert (await store.jobs.get(tenant.org_id, job.id)).status is JobStatus.EXPIRED
    assert blobs.leftovers() == []


@pytest.fixture(params=["local", "s3"])
def app_settings(
    request: pytest.FixtureRequest,
    settings_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    if request.param == "local":
        return settings_factory()
    server: MotoServer = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("bucket")
    for name, value in CLIENT_ENV.items():
        monkeypatch.setenv(name, value)
    return settings_factory(blob_url=f"s3://{bucket}/pw", s3_endpoint_url=server.url)


@pytest.fixture
async def app_api(store: Any, app_settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    from pagewire.app import create_app

    app = create_app(app_settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, app.state.services


async def test_a_result_stored_as_an_object_is_reachable_from_the_jobs_url(
    store: Any, tenant: Any, app_settings: Any, app_api: Any
) -> None:
    api, services = app_api
    job = await completed_with_stored_result(store, services.blobs, tenant.org_id)

    seen = (await api.get(f"/job/{job.id}", headers=tenant.headers)).json()
    streamed = await api.get(f"/job/{job.id}/result", headers=tenant.headers)

    assert seen["result"]["is_url"] is True and seen["result"]["size"] > 5000
    assert streamed.status_code == 200 and streamed.json() == RESULT
    url = seen["result"]["url"]
    if app_settings.blob_url:  # a bucket: a presigned link, straight to the object
        assert url.startswith(app_settings.s3_endpoint_url) and "X-Amz-Signature" in url
        assert seen["result"]["expires_at"]
        fetched = httpx.get(url, timeout=10)  # no API key: the signature is the permission
        assert fetched.status_code == 200 and fetched.json() == RESULT
    else:  # a directory: the API streams it
        assert url == f"http://testserver/job/{job.id}/result"


async def test_an_expired_result_is_not_completed_and_a_vanished_object_not_found(
    store: Any, tenant: Any, app_api: Any
) -> None:
    api, services = app_api
    expired = await completed_with_stored_result(store, services.blobs, tenant.org_id)
    await expire_jobs(store, services.blobs, older_than=-1)
    vanished = await completed_with_stored_result(store, services.blobs, tenant.org_id)
    await services.blobs.delete(f"results/{vanished.id}.json")

    gone = await api.get(f"/job/{expired.id}/result", headers=tenant.headers)
    missing = await api.get(f"/job/{vanished.id}/result", headers=tenant.headers)

    assert gone.status_code == 409 and gone.json()["error"]["code"] == "job_not_completed"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # The job itself still reads: completed, its result a link (which answers 404).
    seen = await api.get(f"/job/{vanished.id}", headers=tenant.headers)
    assert seen.status_code == 200 and seen.json()["status"] == "completed"
    assert seen.json()["result"]["is_url"] is True


async def test_an_unreachable_bucket_is_503_with_retry_after_and_no_internals(
    store: Any,
    tenant: Any,
    settings_factory: Callable[..., Any],
    s3_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pagewire.app import create_app

    for name, value in CLIENT_ENV.items():
        monkeypatch.setenv(name, value)
    settings = settings_factory(blob_url="s3://no-such-bucket/pw", s3_endpoint_url=s3_server.url)
    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            response = await api.post(
                "/extract",
                headers=tenant.headers,
                files={"file": ("a.pdf", b"%PDF-1.7 ...")},
                data={"async": "true"},
            )
            listed = (await api.get("/jobs", headers=tenant.headers)).json()

    assert response.status_code == 503 and response.headers["retry-after"].isdigit()
    error = response.json()["error"]
    assert error["code"] == "blob_store_unavailable"
    assert "no-such-bucket" not in response.text and s3_server.url not in response.text
    assert listed["data"] == []  # no job without its file


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_to_start_without_their_bucket(
    command: str, tmp_path: Path, s3_server: MotoServer
) -> None:
    env = {
        **os.environ,
        **CLIENT_ENV,
        "PAGEWIRE_DATA_DIR": str(tmp_path / "data"),
        "PAGEWIRE_DATABASE_URL": f"sqlite:///{tmp_path / 'pagewire.db'}",
        "PAGEWIRE_BLOB_URL": "s3://no-such-bucket/pw",
        "PAGEWIRE_S3_ENDPOINT_URL": s3_server.url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "pagewire.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert "no-such-bucket" in done.stderr and "PAGEWIRE_BLOB_URL" in done.stderr
    assert "Traceback" not in done.stderr
