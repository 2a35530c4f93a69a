"""One run's side of a job split across workers (store/shards.py holds the rest).

A long PDF is split once its child has opened it and knows the pages: the worker
makes shards of ``shard_pages`` pages each for every range after the first, which
it reads itself. The page count is what decides (known cheaply, at ``open``); how
many of the pages need OCR is not known until they are read.

Every run of a split job, the job's own and each shard's, ends with its part (its
pages, unassembled); the run that records the last one assembles them all, in page
order, exactly as one run would have (:func:`pagewire.extract.result.assemble`), and
completes the job through the normal finish.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Protocol

from pagewire.backoff import Backoff, retried
from pagewire.blobs import BlobStore
from pagewire.extract.base import page_from_dict
from pagewire.extract.child import options_from_json
from pagewire.extract.pages import PageSelection
from pagewire.extract.result import assemble
from pagewire.models import Job, JobStatus, Lease
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.worker.progress import Progress
from pagewire.worker.runner import Outcome
from pagewire.worker.scratch import ScratchDir, remove_files
from pagewire.worker.signals import WorkerSignals

log = logging.getLogger("pagewire.worker")

SPLITTABLE_TYPES = ("application/pdf",)
# A job is cut into at most this many parts, however long: each part costs a child
# process that opens the document again, which a long text PDF (hundreds of pages
# a second) would otherwise pay hundreds of times.
MAX_PARTS = 16


def shard_ranges(numbers: list[int], shard_pages: int) -> list[str]:
    """``numbers`` (the selected pages, in order) cut into specs of ``shard_pages``
    pages each, or more when that would make over :data:`MAX_PARTS` parts."""
    size = max(shard_pages, -(-len(numbers) // MAX_PARTS))
    return [
        str(PageSelection.of_numbers(numbers[i : i + size])) for i in range(0, len(numbers), size)
    ]


def part_size(scan_share: float, scan_pages: int, text_pages: int) -> int:
    """Pages per part: ``scan_pages`` if every page needs OCR, ``text_pages`` if none
    does, and in between for a mix, so that each part is about as much work."""
    scan_share = min(1.0, max(0.0, scan_share))
    # One page's work, in pages with a text layer: an OCR'd page weighs as many.
    weight = scan_share * (text_pages / scan_pages) + (1 - scan_share)
    return max(1, int(text_pages / weight))


class WorkerParts(Protocol):
    """What a run takes of its worker (pagewire.worker.loop.Worker)."""

    store: Store
    blobs: BlobStore
    scratch: ScratchDir
    settings: Settings
    worker_id: str
    backoff: Backoff
    signals: WorkerSignals


class ShardedRun:
    """Splits the run's job when worth it, and records a part rather than a result."""

    def __init__(self, worker: WorkerParts, lease: Lease, progress: Progress) -> None:
        self.store = worker.store
        self.blobs = worker.blobs
        self.scratch = worker.scratch
        self.settings = worker.settings
        self.worker_id = worker.worker_id
        self.backoff = worker.backoff
        self.signals = worker.signals
        self.lease = lease
        self.progress = progress
        self.split = False  # this run reads the first part of a split job
        self._total = 0  # every selected page, when split

    @property
    def is_shard(self) -> bool:
        return self.lease.job.parent_id is not None

    def may_split(self, media_type: str) -> bool:
        job = self.lease.job
        return (
            self.settings.shard_pages > 0
            and job.parent_id is None
            # Shards read the job's uploaded file; a file_url is fetched by each run
            # and could change between them.
            and job.input.blob_key is not None
            and media_type.split(";", 1)[0].strip().lower() in SPLITTABLE_TYPES
        )

    async def choose_pages(self, page_count: int, selected: str, scan_share: float) -> str | None:
        """Once open: split into shards (once per job) and read the first range here.

        ``scan_share`` is the share of the document's sampled pages that need OCR."""
        numbers = list(PageSelection.parse(selected, max_page=page_count).numbers(page_count))
        size = part_size(scan_share, self.settings.shard_pages, self.settings.shard_text_pages)
        if len(numbers) <= size:
            return None
        ranges = shard_ranges(numbers, size)
        held = await self.store.shards.split(self.lease, ranges[1:], len(numbers))
        if held is None:
            return None  # the lease is lost: the next page boundary stops the run
        # A re-run (after a rescue) reads what its earlier run's shards do not.
        taken = {
            n
            for spec in held
            for n in PageSelection.parse(spec, max_page=page_count).numbers(page_count)
        }
        own = [n for n in numbers if n not in taken]
        if not own:
            return None
        self.split, self._total = True, len(numbers)
        return str(PageSelection.of_numbers(own))

    async def on_page(self, done: int, total: int) -> bool:
        # A split job's progress counts against all its pages; the API adds the shards'.
        return await self.progress.on_page(done, self._total if self.split else total)

    async def record(self, outcome: Outcome, result_path: Path) -> bool:
        """Record the outcome of a shard, or the part of a split job; False: neither."""
        if not (self.is_shard or (self.split and outcome.status == "completed")):
            return False
        part = None
        if outcome.status == "completed":
            part = outcome.result
            if part is None:
                part = await asyncio.to_thread(_read_json, result_path)
        status = {"completed": JobStatus.COMPLETED, "canceled": JobStatus.CANCELED}.get(
            outcome.status, JobStatus.FAILED
        )
        recorded, assembler = await retried(
            lambda: self.store.shards.record_part(
                self.lease,
                part,
                worker_id=self.worker_id,
                lease_seconds=self.settings.lease_seconds,
                status=status,
                error=outcome.error,
            ),
            self.backoff,
            "record a part of a split job",
        )
        if not recorded:
            log.warning(
                "lease lost before the part was recorded; the run was rescued",
                extra={"fields": {"job_id": self.lease.job.id, "worker_id": self.worker_id}},
            )
        elif assembler is not None:
            await self._assemble(assembler)
        return True

    async def _assemble(self, lease: Lease) -> None:
        """Every part is in: the job's result, as one run would have made it."""
        job = lease.job
        parts = await retried(
            lambda: self.store.shards.parts(job.id), self.backoff, "read a split job's parts"
        )
        data, result, page_count = await asyncio.to_thread(_assembled, parts, job.options)
        fields: dict[str, Any]
        if len(data) <= self.settings.inline_result_limit_bytes:
            fields = {"result": result}
        else:
            key = f"results/{job.id}-{lease.token[:12]}.json"
            path = self.scratch.file(f"{job.id}-{lease.token[:12]}.assembled.json")
            try:
                await asyncio.to_thread(path.write_bytes, data)
                await self.blobs.put_file(key, path)
            finally:
                await asyncio.to_thread(remove_files, path)
            fields = {"result_blob_key": key}
        finished = await retried(
            lambda: self.store.leases.finish(
                lease, JobStatus.COMPLETED, page_count=page_count, result_size=len(data), **fields
            ),
            self.backoff,
            "record a split job's result",
        )
        if finished is None and "result_blob_key" in fields:
            # Unless an earlier try committed it and only its answer was lost.
            current = await self.store.jobs.get(job.org_id, job.id)
            if current.result_blob_key != fields["result_blob_key"]:
                await self.blobs.delete(fields["result_blob_key"])
        log.info(
            "job assembled from its shards",
            extra={"fields": {"job_id": job.id, "worker_id": self.worker_id, "parts": len(parts)}},
        )
        if finished is not None:
            pages = sum(len(part["pages"]) for part in parts)
            self.signals.assembled(finished, pages=pages, parts=len(parts))

    async def fail(self, error: dict[str, Any]) -> Job | None:
        """The worker failed this run (not the document): fail it, and what depends on it.

        Returns the failed job as recorded, when this run was the job's own."""
        if self.is_shard:
            await self.record(Outcome("failed", error=error), Path())
            return None
        failed = await self.store.leases.finish(self.lease, JobStatus.FAILED, error=error)
        await self.abandon()
        return failed

    async def abandon(self) -> None:
        """The split job ended without its part (failed, canceled): stop its shards."""
        if self.split:
            await self.store.shards.abandon(self.lease.job.id)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _assembled(
    parts: list[dict[str, Any]], options: dict[str, Any]
) -> tuple[bytes, dict[str, Any], int | None]:
    pages = sorted(
        (page_from_dict(page) for part in parts for page in part["pages"]),
        key=lambda page: page.number,
    )
    result = assemble(pages, options_from_json(options))
    data = json.dumps(result, ensure_ascii=False).encode()
    page_count = next((part.get("page_count") for part in parts), None)
    return data, result, page_count
