"""What a ``file_url`` job downloaded is on the job (as an upload's is), and a download
that could not connect says why in words, with the library's text kept apart."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web


@pytest.fixture
async def file_server(sample_pdf: Path) -> AsyncIterator[str]:
    async def pdf(_: web.Request) -> web.Response:
        return web.Response(body=sample_pdf.read_bytes(), content_type="application/pdf")

    async def notes(_: web.Request) -> web.Response:
        return web.Response(body=b"just some notes\n", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/files/filing.pdf", pdf)
    app.router.add_get("/files/notes.txt", notes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, never listened, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def submit_url(harness: Any, url: str) -> str:
    response = await harness.api.post(
        "/extract", headers=harness.tenant.headers, json={"file_url": url, "async": True}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


async def test_the_downloaded_file_is_recorded_on_the_job(
    harness: Any, file_server: str, sample_pdf: Path
) -> None:
    served = sample_pdf.read_bytes()
    job_id = await submit_url(harness, f"{file_server}/files/filing.pdf")
    before = await harness.job(job_id)

    async with harness.worker():
        job = await harness.finished(job_id)

    assert before["input"]["sha256"] is None  # nothing is known until the worker fetches
    assert job["status"] == "completed", job
    assert job["input"]["sha256"] == hashlib.sha256(served).hexdigest()
    assert job["input"]["size"] == len(served)
    assert job["input"]["media_type"] == "application/pdf"


async def test_a_file_of_a_type_pagewire_does_not_read_is_recorded_as_served(
    harness: Any, file_server: str
) -> None:
    async with harness.worker():
        job = await harness.finished(await submit_url(harness, f"{file_server}/files/notes.txt"))

    assert job["status"] == "failed" and job["error"]["code"] == "unsupported_media_type"
    assert job["input"]["media_type"] == "text/plain"
    assert job["input"]["sha256"] == hashlib.sha256(b"just some notes\n").hexdigest()
    assert job["input"]["size"] == len(b"just some notes\n")


async def test_a_file_url_on_a_closed_port_fails_saying_connection_refused(
    harness: Any, closed_port: int
) -> None:
    async with harness.worker():
        job = await harness.finished(
            await submit_url(harness, f"http://127.0.0.1:{closed_port}/doc.pdf")
        )

    error = job["error"]
    assert job["status"] == "failed" and error["code"] == "file_url_unreachable", job
    assert error["message"].startswith("could not download: connection refused")
    assert "ClientConnector" not in error["message"]
    # The library's own words are kept, apart, for a bug report.
    assert error["detail"].startswith("ClientConnectorError: Cannot connect to host")
    assert job["input"]["sha256"] is None
