"""The worker: claims jobs, runs each in an isolated child, records the outcome.

Leases are kept alive by heartbeats; a worker that dies stops heartbeating and
its jobs are rescued by any live worker (``rescue_expired``), judged by the
database's clock. On SIGTERM it stops claiming, lets running jobs finish for
``drain_seconds``, then stops the rest and hands their leases back.

Only the document and its limits fail a job. When the database fails the worker
instead (unreachable, or the connection dropped), a progress write is skipped
and tried again at a later page, and the outcome's write is tried again with
:class:`~pagewire.backoff.Backoff`; if it still cannot be written, the job is
handed back (pending again, this attempt not counted) for any worker to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from pagewire.backoff import Backoff, retried
from pagewire.blobs import BlobStore
from pagewire.errors import (
    BlobNotFound,
    BlobStoreUnavailable,
    FetchFailed,
    PagewireError,
    StoreUnavailable,
)
from pagewire.kernel.aio import first, freeze_startup_objects
from pagewire.models import Job, JobStatus, Lease
from pagewire.security.netguard import guarded_connector
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.telemetry import traces
from pagewire.telemetry.job_metrics import JobMetrics
from pagewire.worker import inputs as fetch
from pagewire.worker import retention
from pagewire.worker.progress import Progress
from pagewire.worker.runner import INLINE_PIPE_LIMIT, Outcome, ProcessRunner, Runner, Task
from pagewire.worker.scratch import ScratchDir, read_result, remove_files
from pagewire.worker.sharding import ShardedRun
from pagewire.worker.signals import RunSignals, WorkerSignals

if TYPE_CHECKING:
    from pagewire.telemetry.spans import OnPage

log = logging.getLogger("pagewire.worker")

RESCUE_INTERVAL = 5.0
# How long a job that met an unavailable blob store or database waits to be handed back.
HANDBACK_PAUSE = 2.0


class Worker:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        settings: Settings,
        *,
        runner: Runner | None = None,
        worker_id: str | None = None,
        concurrency: int | None = None,
        backoff: Backoff | None = None,
        metrics: JobMetrics | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.scratch = ScratchDir(settings.data_dir / "tmp")
        self.settings = settings
        # The default runner's fork server is the worker's to stop; one passed in is not.
        self._own_runner = ProcessRunner.for_settings(settings)
        self.runner = runner or self._own_runner
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        # Log lines, metrics (None: not kept) and spans (traces off: none) of each job.
        self.signals = WorkerSignals(self.worker_id, metrics, traces.tracer())
        self.concurrency = concurrency or settings.worker_concurrency
        # How long an outcome's write (then a hand-back) is tried while the database
        # fails: about a lease, past which another worker may have rescued the job.
        self.backoff = backoff or Backoff(budget=settings.lease_seconds)
        self._running: dict[str, asyncio.Task[None]] = {}
        # Jobs whose runner has not returned yet: what ``concurrency`` limits. A job
        # whose outcome is being written no longer holds a slot, so the next claim
        # overlaps the last finish instead of waiting for its commit.
        self._executing = 0
        self._stopping = asyncio.Event()
        self._slot_free = asyncio.Event()
        # The running jobs' leases, kept alive together by one heartbeat loop.
        self._held: dict[str, Progress] = {}
        self._http: aiohttp.ClientSession | None = None

    # -- the loop -----------------------------------------------------------

    async def run(self) -> None:
        log.info(
            "worker started",
            extra={"fields": {"worker_id": self.worker_id, "concurrency": self.concurrency}},
        )
        await self._check_database()
        await asyncio.to_thread(self.scratch.prepare)
        freeze_startup_objects()
        rescuer = asyncio.create_task(self._rescue_loop())
        heartbeats = asyncio.create_task(self._heartbeat_loop())
        try:
            while not self._stopping.is_set():
                free = min(
                    self.concurrency - self._executing,
                    2 * self.concurrency - len(self._running),  # outcomes being written
                )
                if free > 0:
                    claim_started = time.time_ns()
                    try:
                        leases = await self.store.leases.claim(
                            self.worker_id, free, self.settings.lease_seconds
                        )
                    except PagewireError as error:
                        log.warning("claim failed", extra={"fields": {"error": str(error)}})
                        leases = []
                    for lease in leases:
                        self._start(lease, claim_started)
                    if leases and len(leases) == free:
                        continue  # there may be more waiting
                    await self._sleep_until_work()
                else:
                    self._slot_free.clear()
                    await first(self._slot_free.wait(), self._stopping.wait())
        finally:
            rescuer.cancel()
            await self._drain()  # running jobs keep their leases alive while they finish
            heartbeats.cancel()
            if self._http is not None:
                await self._http.close()
            self._own_runner.close()
            await asyncio.to_thread(self.scratch.remove)
            log.info("worker stopped", extra={"fields": {"worker_id": self.worker_id}})

    async def _check_database(self) -> None:
        with contextlib.suppress(PagewireError):
            if not await self.store.db.autovacuum_on():
                log.warning(
                    "PostgreSQL runs with autovacuum off: the jobs and deliveries tables "
                    "keep every old row version and claims slow down as they grow; turn "
                    "autovacuum on (docs/operations.md)"
                )

    async def _sleep_until_work(self) -> None:
        await first(
            self.store.db.wait("pagewire_jobs", self.settings.poll_seconds),
            self._stopping.wait(),
        )

    def stop(self) -> None:
        self._stopping.set()

    async def _drain(self) -> None:
        if not self._running:
            return
        log.info(
            "draining",
            extra={
                "fields": {
                    "running": len(self._running),
                    "drain_seconds": self.settings.drain_seconds,
                }
            },
        )
        _, pending = await asyncio.wait(
            list(self._running.values()), timeout=self.settings.drain_seconds
        )
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _heartbeat_loop(self) -> None:
        """Extend every running job's lease in one statement, and learn of cancels."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            held = list(self._held.values())
            try:
                states = await self.store.leases.heartbeat_all(
                    [p.lease for p in held], self.settings.lease_seconds
                )
            except PagewireError as error:
                log.warning("heartbeat failed", extra={"fields": {"error": str(error)}})
                continue
            for progress in held:
                progress.learn(states[progress.lease.job.id])

    async def _rescue_loop(self) -> None:
        """Housekeeping any live worker does: rescue dead workers' jobs, apply retention."""
        next_sweep = 0.0
        while True:
            try:
                for job in await self.store.leases.rescue_expired():
                    self.signals.rescued(job)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.retention_sweep_seconds
                    await retention.sweep(self.store, self.blobs, self.settings)
            except PagewireError as error:
                log.warning("housekeeping failed", extra={"fields": {"error": str(error)}})
            await asyncio.sleep(min(RESCUE_INTERVAL, self.settings.lease_seconds / 2))

    def _start(self, lease: Lease, claim_started: int) -> None:
        run = self.signals.claimed(lease.job, claim_started)
        self._executing += 1
        task = asyncio.create_task(self._process(lease, run))
        self._running[lease.job.id] = task

        def done(_: asyncio.Task[None]) -> None:
            self._running.pop(lease.job.id, None)
            self._slot_free.set()

        task.add_done_callback(done)

    # -- one job ------------------------------------------------------------

    async def _process(self, lease: Lease, run: RunSignals) -> None:
        job = lease.job
        # This attempt's transient files; the lease token keeps a rescued job's new run
        # apart from its old worker's, should both be alive on one machine.
        scratch = f"{job.id}-{lease.token[:12]}"
        input_path = self.scratch.file(f"{scratch}.input")
        result_path = self.scratch.file(f"{scratch}.result.json")
        progress = Progress(self.store, lease, self.settings.lease_seconds)
        sharded = ShardedRun(self, lease, progress)
        self._held[job.id] = progress
        files_left = True
        try:
            on_page = run.watch_pages(sharded.on_page)
            try:
                outcome = await self._execute(lease, input_path, result_path, sharded, on_page)
            finally:
                self._executing -= 1
                self._slot_free.set()
            run.ran(outcome)
            # A small result came back in memory and an uploaded input was read where
            # the blob store keeps it (or its local copy is already gone): then no
            # scratch file was made, and there is nothing to remove.
            files_left = outcome.result is None or job.input.file_url is not None
            if not await sharded.record(outcome, result_path):  # a part of a split job
                await self._record(lease, outcome, result_path, run)
                await sharded.abandon()
        except asyncio.CancelledError:
            # Shutdown past the drain deadline: the job goes back to the queue untouched.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.store.leases.release(lease))
            self.signals.transition(job, "released")
            raise
        except (BlobStoreUnavailable, StoreUnavailable) as error:
            # A pause first (the lease kept alive meanwhile): an outage that fails
            # every job at once must not become a tight claim-and-release loop.
            try:
                await asyncio.sleep(HANDBACK_PAUSE)
            finally:
                await asyncio.shield(self._hand_back(lease, error))
        except Exception:
            log.exception("job crashed the worker's handler", extra={"fields": {"job_id": job.id}})
            with contextlib.suppress(Exception):
                # A shard's failure fails its job too; a split job's stops its shards.
                failed = await sharded.fail(
                    {"code": "internal_error", "message": "pagewire failed to run this job"}
                )
                if failed is not None:
                    run.recorded(failed)
        finally:
            run.close()
            self._held.pop(job.id, None)
            if files_left:
                # Off the event loop: a slow disk must not stall claims or heartbeats.
                await asyncio.to_thread(remove_files, input_path, result_path)

    async def _execute(
        self,
        lease: Lease,
        download_path: Path,
        result_path: Path,
        sharded: ShardedRun,
        on_page: OnPage,
    ) -> Outcome:
        job = lease.job
        async with contextlib.AsyncExitStack() as inputs:
            try:
                input_path, media_type = await self._input(lease, download_path, inputs)
            except FetchFailed as error:
                return Outcome("failed", error=fetch.job_error(error))
            except BlobNotFound:
                message = "the uploaded file is no longer in the blob store"
                return Outcome("failed", error={"code": "input_missing", "message": message})
            return await self._run(job, input_path, media_type, result_path, sharded, on_page)

    async def _run(
        self,
        job: Job,
        input_path: Path,
        media_type: str,
        result_path: Path,
        sharded: ShardedRun,
        on_page: OnPage,
    ) -> Outcome:
        task = Task(
            input_path=input_path,
            media_type=media_type,
            options=job.options,
            output_path=result_path,
            max_pages=self.settings.max_pages,
            memory_limit_mb=self.settings.job_memory_limit_mb,
            time_limit=self.settings.job_timeout_seconds,
            inline_limit=min(INLINE_PIPE_LIMIT, self.settings.inline_result_limit_bytes),
            # A long scan alone on a worker OCRs on every slot it has; with other jobs
            # running it gets what they leave (counted when it starts, not after).
            ocr_lanes=max(1, self.concurrency - self._executing + 1),
            choose_pages=sharded.choose_pages if sharded.may_split(media_type) else None,
            part=sharded.is_shard,
        )
        return await self.runner.run(task, on_page)

    async def _input(
        self, lease: Lease, download_path: Path, inputs: contextlib.AsyncExitStack
    ) -> tuple[Path, str]:
        """The file the child reads, held in ``inputs`` until the run ends."""
        job = lease.job
        if job.input.blob_key is not None:
            # The child reads a file: a directory store lends the blob's own (read
            # only), a bucket's object is downloaded to this run's scratch file.
            local = self.blobs.local_copy(job.input.blob_key, download_path)
            return await inputs.enter_async_context(local), job.input.media_type or ""
        assert job.input.file_url is not None
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=guarded_connector(
                    self.settings.allow_private_urls,
                    allowed_networks=self.settings.allowed_networks,
                )
            )
        downloaded = await fetch.download(
            self._http,
            job.input.file_url,
            download_path,
            max_bytes=self.settings.max_upload_bytes,
            timeout=self.settings.file_url_timeout_seconds,
            allow_private=self.settings.allow_private_urls,
            allowed_networks=self.settings.allowed_networks,
        )
        media_type = await asyncio.to_thread(fetch.sniffed_type, downloaded.path)
        await retried(
            lambda: fetch.record_download(self.store.leases, lease, downloaded, media_type),
            self.backoff,
            "record a download",
        )
        return downloaded.path, fetch.supported(media_type)

    async def _record(
        self, lease: Lease, outcome: Outcome, result_path: Path, run: RunSignals
    ) -> None:
        job = lease.job
        fields: dict[str, Any] = {}
        if outcome.status == "completed" and outcome.result is not None:
            fields = {"result": outcome.result, "result_size": outcome.result_size}
            status = JobStatus.COMPLETED
        elif outcome.status == "completed":
            size, inline, result = await asyncio.to_thread(
                read_result, result_path, self.settings.inline_result_limit_bytes
            )
            if inline:
                fields = {"result": result, "result_size": size}
            else:
                # This run's own key: a run that lost its lease deletes only its own.
                key = f"results/{job.id}-{lease.token[:12]}.json"
                await self.blobs.put_file(key, result_path)
                fields = {"result_blob_key": key, "result_size": size}
            status = JobStatus.COMPLETED
        elif outcome.status == "canceled":
            status = JobStatus.CANCELED
        else:
            status = JobStatus.FAILED
            fields = {"error": outcome.error}
        tries = 0

        async def finish() -> Job | None:
            nonlocal tries
            tries += 1
            return await self.store.leases.finish(
                lease, status, page_count=outcome.page_count, **fields
            )

        try:
            finished = await retried(finish, self.backoff, "record a job's outcome")
        except StoreUnavailable:
            if "result_blob_key" in fields:
                with contextlib.suppress(Exception):
                    await self.blobs.delete(fields["result_blob_key"])
            raise  # handed back by _process
        if finished is None and tries > 1 and "result_blob_key" in fields:
            # An earlier try may have committed and lost only its answer with the
            # connection; the guard then refused the next. The job holds this run's
            # own result key if so, and the file must stay. (An inline result leaves
            # nothing behind to clean up.)
            try:
                current = await retried(
                    lambda: self.store.jobs.get(job.org_id, job.id),
                    self.backoff,
                    "read a job's outcome",
                )
            except PagewireError:
                return  # cannot tell: keep the file rather than risk a stored result
            if current.result_blob_key == fields["result_blob_key"]:
                finished = current
        if finished is None:
            log.warning(
                "lease lost before the outcome was recorded; the job was rescued",
                extra={"fields": {"job_id": job.id, "worker_id": self.worker_id}},
            )
            if "result_blob_key" in fields:
                await self.blobs.delete(fields["result_blob_key"])
            return
        run.recorded(finished)

    async def _hand_back(
        self, lease: Lease, error: StoreUnavailable | BlobStoreUnavailable
    ) -> None:
        """The database or the blob store failed this run, not the document: the job goes back to the
        queue, this attempt not counted, for any worker to run again."""
        job = lease.job
        log.warning(
            "the database or the blob store failed this job's run; handing it back",
            extra={
                "fields": {"job_id": job.id, "worker_id": self.worker_id, "error": error.message}
            },
        )
        try:
            released = await retried(
                lambda: self.store.leases.release(lease), self.backoff, "hand a job back"
            )
        except StoreUnavailable:
            # Its lease runs out instead, and a live worker rescues it (that one counts).
            log.error(
                "could not hand the job back; it is rescued when its lease runs out",
                extra={"fields": {"job_id": job.id, "worker_id": self.worker_id}},
            )
            return
        self.signals.transition(job, "handed back" if released else "rescued meanwhile")
