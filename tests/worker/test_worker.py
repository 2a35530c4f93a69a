"""The worker with real child processes: results, progress, cancel, limits, hostile files."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from pagewire.store import tables as t


async def event_types(store: Any, job_id: str) -> list[str]:
    async with store.db.read() as conn:
        rows = await conn.execute(
            sa.select(t.events.c.type)
            .where(t.events.c.job_id == job_id)
            .order_by(t.events.c.sequence)
        )
        return [r.type for r in rows]


def encrypted_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, encrypt="secret-password")
    c.drawString(72, 720, "confidential")
    c.showPage()
    c.save()
    return out.getvalue()


async def test_a_submitted_pdf_is_extracted_with_progress_and_page_boundaries(
    harness: Any, sample_pdf: Path
) -> None:
    async with harness.worker():
        job_id = await harness.submit(sample_pdf.read_bytes(), metadata='{"case": "20-1507"}')
        job = await harness.finished(job_id)

    assert job["status"] == "completed", job
    assert job["progress"] == {"pages_done": 17, "pages_total": 17}
    assert job["input"]["pages"] == 17 and job["attempts"] == 1
    result = job["result"]
    assert result["page_count"] == 17 and len(result["pages"]) == 17
    assert "United States Court of Appeals" in result["markdown"]
    assert "CALVARY CHAPEL" in result["pages"][0]["markdown"]
    assert job["started_at"] <= job["finished_at"]
    assert await event_types(harness.services.store, job_id) == [
        "job.created",
        "job.processing",
        "job.completed",
    ]


async def test_the_pages_option_extracts_only_those_pages(harness: Any, sample_pdf: Path) -> None:
    async with harness.worker():
        job = await harness.finished(await harness.submit(sample_pdf.read_bytes(), pages="2-3"))
    assert job["status"] == "completed"
    assert job["progress"] == {"pages_done": 2, "pages_total": 2}
    assert [p["number"] for p in job["result"]["pages"]] == [2, 3]


@pytest.mark.parametrize(
    ("make", "fields", "code"),
    [
        (lambda pdf: pdf[: len(pdf) // 3], {}, "invalid_document"),
        (lambda pdf: encrypted_pdf(), {}, "encrypted_document"),
        (lambda pdf: pdf, {"pages": "40"}, "page_out_of_range"),
        (lambda pdf: b"%PDF-1.4\n" + b"\x00garbage" * 100, {}, "invalid_document"),
    ],
    ids=["truncated", "encrypted", "page-past-the-end", "garbage-after-header"],
)
async def test_broken_documents_fail_with_a_clear_code_and_nothing_stays_processing(
    harness: Any, sample_pdf: Path, make: Any, fields: dict[str, str], code: str
) -> None:
    async with harness.worker():
        job = await harness.finished(await harness.submit(make(sample_pdf.read_bytes()), **fields))
    assert job["status"] == "failed"
    assert job["error"]["code"] == code and job["error"]["message"]
    assert job["finished_at"] is not None


async def test_a_document_over_the_page_limit_fails_with_too_many_pages(
    harness_factory: Any, sample_pdf: Path
) -> None:
    # docs/operations.md, PAGEWIRE_MAX_PAGES: the sample filing has 17 pages.
    async with harness_factory(max_pages=16) as harness:
        async with harness.worker():
            job = await harness.finished(await harness.submit(sample_pdf.read_bytes()))
        events = await event_types(harness.services.store, job["job_id"])

    assert job["status"] == "failed" and job["attempts"] == 1  # not tried again
    assert job["error"]["code"] == "too_many_pages"
    assert job["error"]["message"] == "the document has 17 pages; the limit is 16"
    assert job["result"] is None and events[-1] == "job.failed"


async def test_a_large_result_is_served_from_its_own_endpoint(
    harness_factory: Any, sample_pdf: Path
) -> None:
    async with harness_factory(inline_result_limit_bytes=1000) as harness:
        async with harness.worker():
            job = await harness.finished(await harness.submit(sample_pdf.read_bytes()))
        full = await harness.api.get(f"/job/{job['job_id']}/result", headers=harness.tenant.headers)

    assert job["result"]["is_url"] is True
    assert job["result"]["url"] == f"http://testserver/job/{job['job_id']}/result"
    assert full.status_code == 200 and full.json()["page_count"] == 17


async def test_cancel_stops_a_processing_job_at_the_next_page(
    harness: Any, sample_pdf: Path
) -> None:
    async with harness.worker(hostile="slow:0.3"):
        job_id = await harness.submit(sample_pdf.read_bytes())
        await harness.wait_for(job_id, lambda j: j["progress"]["pages_done"] >= 1)
        asked = (await harness.api.delete(f"/job/{job_id}", headers=harness.tenant.headers)).json()
        job = await harness.finished(job_id, timeout=10)

    assert asked["status"] == "processing" and asked["cancel_requested"] is True
    assert job["status"] == "canceled"
    assert job["progress"]["pages_done"] < 17
    assert (await event_types(harness.services.store, job_id))[-1] == "job.canceled"


@pytest.mark.parametrize(
    ("hostile", "limits", "codes", "says"),
    [
        ("crash", {}, {"extractor_crashed"}, r"\(SIGSEGV\)"),
        ("hang", {"job_timeout_seconds": 1.0}, {"timeout"}, r"limit of 1 s"),
        (
            "memory",
            {"job_memory_limit_mb": 300},
            {"memory_limit_exceeded", "extractor_killed"},
            r"more than 300 MB|too much memory",
        ),
    ],
)
@pytest.mark.parametrize("prefork", [True, False], ids=["forked", "spawned"])
async def test_a_child_that_crashes_hangs_or_blows_its_memory_fails_only_its_job(
    harness_factory: Any,
    sample_pdf: Path,
    hostile: str,
    limits: dict[str, Any],
    codes: set[str],
    says: str,
    prefork: bool,
) -> None:
    async with harness_factory(**limits) as harness:
        async with harness.worker(hostile=hostile, prefork=prefork):
            bad = await harness.finished(await harness.submit(sample_pdf.read_bytes()))
        async with harness.worker():  # the same service keeps working
            good = await harness.finished(await harness.submit(sample_pdf.read_bytes(), pages="1"))
    assert bad["status"] == "failed" and bad["error"]["code"] in codes, bad
    assert re.search(says, bad["error"]["message"]), bad
    assert good["status"] == "completed"


async def test_shutdown_past_the_drain_time_hands_the_job_back(
    harness_factory: Any, sample_pdf: Path
) -> None:
    async with harness_factory(drain_seconds=0.2) as harness:
        async with harness.worker(hostile="slow:0.5"):
            job_id = await harness.submit(sample_pdf.read_bytes())
            await harness.wait_for(job_id, lambda j: j["status"] == "processing")
        released = await harness.job(job_id)
        async with harness.worker():
            done = await harness.finished(job_id)
    assert released["status"] == "pending" and released["attempts"] == 0
    assert done["status"] == "completed" and done["attempts"] == 1


@pytest.fixture
async def file_server(sample_pdf: Path) -> Any:
    async def pdf(_: web.Request) -> web.Response:
        return web.Response(body=sample_pdf.read_bytes(), content_type="application/pdf")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=b"%PDF-")

    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPFound("http://10.255.255.1/x.pdf")

    app = web.Application()
    app.router.add_get("/files/filing.pdf", pdf)
    app.router.add_get("/files/slow.pdf", slow)
    app.router.add_get("/files/moved.pdf", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def submit_url(harness: Any, url: str) -> str:
    response = await harness.api.post(
        "/extract", headers=harness.tenant.headers, json={"file_url": url, "async": True}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


async def test_a_file_url_is_downloaded_and_extracted(
    harness: Any, file_server: str, sample_pdf: Path
) -> None:
    from unit.extract.extract_helpers import extract

    async with harness.worker():
        job = await harness.finished(await submit_url(harness, f"{file_server}/files/filing.pdf"))
    assert job["status"] == "completed" and job["result"]["page_count"] == 17
    assert job["input"]["file_url"].endswith("/files/filing.pdf")
    # the document extracted is the file served: the same markdown as the file read here
    assert job["result"]["markdown"] == extract(sample_pdf)["markdown"]
    assert job["input"]["file_name"] == "filing.pdf"


@pytest.mark.parametrize(
    ("path", "limits", "code"),
    [
        ("/files/missing.pdf", {}, "file_url_not_found"),
        ("/files/slow.pdf", {"file_url_timeout_seconds": 0.5}, "file_url_timeout"),
    ],
)
async def test_a_file_url_that_fails_fails_the_job_with_its_code(
    harness_factory: Any, file_server: str, path: str, limits: dict[str, Any], code: str
) -> None:
    async with harness_factory(**limits) as harness:
        async with harness.worker():
            job = await harness.finished(await submit_url(harness, file_server + path))
    assert job["status"] == "failed" and job["error"]["code"] == code, job


async def test_a_file_url_redirecting_to_a_private_address_is_refused(
    harness_factory: Any, file_server: str
) -> None:
    # Loopback is allowed here only as a named network, as an operator would allow an
    # internal file server; the redirect's private target is still refused.
    async with harness_factory(
        allow_private_urls=False, allowed_networks=["127.0.0.1/32"]
    ) as harness:
        async with harness.worker():
            job = await harness.finished(
                await submit_url(harness, f"{file_server}/files/moved.pdf")
            )
    assert job["status"] == "failed" and job["error"]["code"] == "file_url_not_allowed", job
    assert "10.255.255.1" in json.dumps(job["error"])


async def test_sync_mode_answers_with_the_finished_job(harness: Any, sample_pdf: Path) -> None:
    async with harness.worker():
        response = await harness.api.post(
            "/extract",
            headers=harness.tenant.headers,
            files={"file": ("doc.pdf", sample_pdf.read_bytes())},
            data={"pages": "1"},
        )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "completed" and job["result"]["page_count"] >= 1


async def test_sync_mode_answers_202_with_the_job_id_when_the_wait_runs_out(
    harness_factory: Any, sample_pdf: Path
) -> None:
    async with harness_factory(sync_wait_seconds=0.3) as harness:
        # no worker: the job cannot finish in time
        response = await harness.api.post(
            "/extract",
            headers=harness.tenant.headers,
            files={"file": ("doc.pdf", sample_pdf.read_bytes())},
        )
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["job_id"].startswith("job_")
