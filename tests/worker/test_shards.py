"""A long PDF split across workers, with real extractor children (issue #15).

The store's side (splitting once, the last part assembling, a rescued shard) is
tests/contract/test_store_shards.py; here the whole path runs: the API, workers,
children that read a part each, the assembly, the job's events.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pagewire.store import tables as t
from pagewire.worker.sharding import MAX_PARTS, part_size, shard_ranges
from worker.test_worker import event_types

J = t.jobs.c

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="no tesseract")


async def shards_of(store: Any, job_id: str) -> list[Any]:
    async with store.db.read() as conn:
        return list(
            (
                await conn.execute(
                    sa.select(J.id, J.status, J.worker_id, J.options).where(J.parent_id == job_id)
                )
            ).all()
        )


async def ended_shards(store: Any, job_id: str, timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        shards = await shards_of(store, job_id)
        if not any(s.status in {"pending", "processing"} for s in shards):
            return shards
        assert time.monotonic() < deadline, shards
        await asyncio.sleep(0.05)


async def extracted(harness_factory: Any, content: bytes, shard_pages: int, **fields: Any) -> Any:
    """The finished job of ``content`` on one worker splitting at ``shard_pages``
    (pages of a scan or of a text layer alike)."""
    split_at = {"shard_pages": shard_pages, "shard_text_pages": max(1, shard_pages)}
    async with harness_factory(**split_at) as h, h.worker():
        job_id = await h.submit(content, **fields)
        return await h.finished(job_id, timeout=120), await shards_of(h.services.store, job_id)


def scan_of(corpus_dir: Path, path: Path, pages: int) -> bytes:
    """Text pages of a real filing rendered to pixels: a scan with no text layer."""
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(str(corpus_dir / "ca1-appeal-17p.pdf"))
    images = [source[i].render(scale=150 / 72, grayscale=True).to_pil() for i in range(pages)]
    images[0].save(path, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return path.read_bytes()


def test_a_part_is_about_as_much_work_whatever_the_share_of_scanned_pages() -> None:
    assert part_size(1.0, 3, 1000) == 3  # a scan: three pages to OCR a part
    assert part_size(0.0, 3, 1000) == 1000  # a text layer reads ~200x faster
    assert part_size(0.5, 3, 1000) == 5  # half scanned: ~2.5 OCR'd pages a part
    assert part_size(0.0, 3, 4) == 4


async def test_a_text_pdf_of_ordinary_length_is_not_split_by_default(
    harness_factory: Any, sample_pdf: Path
) -> None:
    # Each part costs a child process; 17 pages of text are a fraction of a second.
    async with harness_factory() as h, h.worker():
        job_id = await h.submit(sample_pdf.read_bytes())
        job = await h.finished(job_id)
        shards = await shards_of(h.services.store, job_id)
    assert job["status"] == "completed" and shards == []


def test_a_document_is_cut_into_ranges_of_the_setting_and_never_too_many() -> None:
    assert shard_ranges(list(range(1, 13)), 3) == ["1-3", "4-6", "7-9", "10-12"]
    assert shard_ranges([2, 3, 4, 9, 10], 2) == ["2-3", "4,9", "10"]
    long = shard_ranges(list(range(1, 401)), 3)
    assert len(long) == MAX_PARTS and long[0] == "1-25" and long[-1] == "376-400"


async def test_a_split_text_pdf_reads_exactly_as_one_run(
    harness_factory: Any, sample_pdf: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = {"pages": "2-15", "chunking": "page", "return_html": "true"}
    whole, none = await extracted(harness_factory, sample_pdf.read_bytes(), 0, **options)
    with caplog.at_level(logging.INFO, logger="pagewire.worker"):
        split, shards = await extracted(harness_factory, sample_pdf.read_bytes(), 3, **options)
    # The operator's log says the job completed, as for a job read in one run.
    completed = [
        r.fields
        for r in caplog.records
        if r.getMessage() == "job completed" and hasattr(r, "fields")
    ]
    assert [(f["job_id"], f["parts"], f["pages"]) for f in completed] == [(split["job_id"], 5, 14)]

    assert none == [] and sorted(s.options["pages"] for s in shards) == [
        "11-13",
        "14-15",
        "5-7",
        "8-10",
    ]
    assert {s.status for s in shards} == {"completed"}
    assert split["status"] == "completed", split
    assert split["result"] == whole["result"]
    assert split["progress"] == {"pages_done": 14, "pages_total": 14}


@needs_tesseract
@pytest.mark.timeout(300)
async def test_two_workers_each_read_a_part_of_one_scan(
    harness_factory: Any, corpus_dir: Path, tmp_path: Path
) -> None:
    scan = scan_of(corpus_dir, tmp_path / "scan.pdf", 4)
    whole, _ = await extracted(harness_factory, scan, 0)

    async with harness_factory(shard_pages=1) as h:
        async with h.worker(concurrency=1, worker_id="w1"):
            job_id = await h.submit(scan)
            # w1 holds the job (and, on one slot, reads page 1 before any shard)...
            await h.wait_for(job_id, lambda j: j["status"] != "pending")
            async with h.worker(concurrency=1, worker_id="w2"):
                # ...so w2, started now, reads shards while w1 reads its part.
                job = await h.finished(job_id, timeout=240)
        shards = await shards_of(h.services.store, job_id)
        hidden = [(await h.api.get(f"/job/{s.id}", headers=h.tenant.headers)) for s in shards]
        listed = (await h.api.get("/jobs", headers=h.tenant.headers)).json()["data"]
        events = await event_types(h.services.store, job_id)

    assert job["status"] == "completed", job
    assert job["result"] == whole["result"]
    assert "Appeals" in job["result"]["markdown"] or "APPEALS" in job["result"]["markdown"]
    assert job["progress"] == {"pages_done": 4, "pages_total": 4}
    assert sorted(s.options["pages"] for s in shards) == ["2", "3", "4"]
    assert "w2" in {s.worker_id for s in shards}
    assert events == ["job.created", "job.processing", "job.completed"]
    assert [r.status_code for r in hidden] == [404, 404, 404]
    assert job_id in [j["job_id"] for j in listed]
    assert not {s.id for s in shards} & {j["job_id"] for j in listed}


async def test_cancel_stops_every_shard(harness_factory: Any, sample_pdf: Path) -> None:
    async with harness_factory(shard_pages=4, shard_text_pages=4) as h:
        store = h.services.store
        async with h.worker(hostile="slow:0.3", concurrency=2):
            job_id = await h.submit(sample_pdf.read_bytes())
            await h.wait_for(job_id, lambda j: j["progress"]["pages_done"] >= 1)
            canceled = await h.api.delete(f"/job/{job_id}", headers=h.tenant.headers)
            job = await h.finished(job_id, timeout=30)
            # Running shards stop at their next page; none is left to claim.
            shards = await ended_shards(store, job_id)

    assert canceled.status_code == 200 and canceled.json()["cancel_requested"] is True
    assert job["status"] == "canceled"
    assert len(shards) == 4 and "canceled" in {s.status for s in shards}
    assert {s.status for s in shards} <= {"canceled", "completed"}
    assert job["progress"]["pages_done"] < 17
    assert (await event_types(store, job_id))[-1] == "job.canceled"
    assert (await event_types(store, job_id)).count("job.canceled") == 1


async def test_a_shard_whose_worker_died_is_read_again_alone(
    harness_factory: Any, sample_pdf: Path
) -> None:
    # Short leases, so that the live worker's rescue finds the dead one's shard soon.
    async with harness_factory(
        shard_pages=4, shard_text_pages=4, lease_seconds=2, heartbeat_seconds=0.3
    ) as h:
        store = h.services.store
        async with h.worker(hostile="slow:0.2", concurrency=1, worker_id="alive"):
            job_id = await h.submit(sample_pdf.read_bytes())
            deadline = time.monotonic() + 30
            while not await shards_of(store, job_id):  # split: the job reads pages 1-4
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            # A worker takes a shard and dies at once (its lease has run out already).
            [dead] = await store.leases.claim("dead", 1, lease_seconds=-1)
            job = await h.finished(job_id, timeout=120)
        async with store.db.read() as conn:
            shards = {
                r.id: r
                for r in await conn.execute(
                    sa.select(J.id, J.attempts, J.worker_id, J.status).where(J.parent_id == job_id)
                )
            }

    assert dead.job.parent_id == job_id
    assert job["status"] == "completed", job
    assert job["result"]["page_count"] == 17 and job["attempts"] == 1
    assert [p["number"] for p in job["result"]["pages"]] == list(range(1, 18))
    assert shards[dead.job.id].attempts == 2 and shards[dead.job.id].worker_id == "alive"
    assert {r.attempts for i, r in shards.items() if i != dead.job.id} == {1}
    assert {r.status for r in shards.values()} == {"completed"}
    assert (await event_types(store, job_id)).count("job.completed") == 1
