"""The worker's own logic with a scripted runner (tests/fakes): no child processes.

The runner reports pages and outcomes as a script says, so each test checks
what the worker records of them: progress, the result, a failure as the job's
error, a cancel honoured at the next page boundary. The real child process is
tested in test_worker.py. These run on SQLite: the store's side is the contract
suite's.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fakes import Script, ScriptedRunner
from pagewire.blobs import LocalBlobStore
from pagewire.models import JobInput, JobStatus, NewJob
from pagewire.worker import loop, progress
from pagewire.worker.loop import Worker
from pagewire.worker.progress import PROGRESS_INTERVAL
from pagewire.worker.runner import Outcome
from worker.support import aiter_of, finished, submit


@pytest.fixture
def backend(tmp_path: Path) -> Any:
    from support import Backend

    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


async def paused(store: Any, org_id: str, run_worker: Any, script: Script) -> tuple[Any, str]:
    """A worker's runner, and the job it runs, paused where ``script`` says."""
    runner = ScriptedRunner(script)
    run_worker(runner)
    job_id = await submit(store, org_id)
    await asyncio.wait_for(script.reached.wait(), 10)
    return runner, job_id


async def test_progress_is_recorded_as_pages_are_reported_and_the_result_at_the_end(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    script = Script(pages=3, pause_before=1)
    runner, job_id = await paused(store, tenant.org_id, run_worker, script)  # the file is open
    during = await store.jobs.get(tenant.org_id, job_id)
    script.resume.set()
    job = await finished(store, tenant.org_id, job_id)

    assert during.status is JobStatus.PROCESSING
    assert (during.pages_done, during.pages_total) == (0, 3)
    assert job.status is JobStatus.COMPLETED and job.result == {"pages": 3}
    assert (job.pages_done, job.pages_total, job.page_count) == (3, 3, 3)
    [run] = runner.runs
    assert run.boundaries == [(0, True), (1, True), (2, True), (3, True)]


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (
            Script(
                outcome=Outcome(
                    "failed", error={"code": "extractor_crashed", "message": "it crashed"}
                )
            ),
            {"code": "extractor_crashed", "message": "it crashed"},
        ),
        (
            Script(error=RuntimeError("a bug in the runner")),
            {"code": "internal_error", "message": "pagewire failed to run this job"},
        ),
    ],
    ids=["failed-outcome", "runner-raised"],
)
async def test_a_runner_failure_is_the_jobs_error_and_the_worker_carries_on(
    store: Any, tenant: Any, run_worker: Any, script: Script, error: dict[str, str]
) -> None:
    run_worker(ScriptedRunner(script))  # then the default script: one page, completed
    failed_id = await submit(store, tenant.org_id)
    failed = await finished(store, tenant.org_id, failed_id)
    good = await finished(store, tenant.org_id, await submit(store, tenant.org_id))

    assert failed.status is JobStatus.FAILED and failed.error == error
    assert good.status is JobStatus.COMPLETED


async def test_a_cancel_stops_a_processing_job_at_the_next_page_boundary(
    store: Any, tenant: Any, run_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead = [0.0]  # the progress writer's clock, which the test moves
    monkeypatch.setattr(
        progress, "time", SimpleNamespace(monotonic=lambda: time.monotonic() + ahead[0])
    )
    script = Script(pages=5, pause_before=2)
    runner, job_id = await paused(store, tenant.org_id, run_worker, script)  # two pages done

    asked = await store.jobs.cancel(tenant.org_id, job_id)
    # Progress (and with it the cancel) is written at most every PROGRESS_INTERVAL:
    # past it, the next page boundary writes and learns.
    ahead[0] += PROGRESS_INTERVAL
    script.resume.set()
    job = await finished(store, tenant.org_id, job_id)

    assert asked.status is JobStatus.PROCESSING and asked.cancel_requested
    assert job.status is JobStatus.CANCELED
    [run] = runner.runs
    assert run.boundaries == [(0, True), (1, True), (2, False)]  # pages 3-5 never ran


async def test_a_blob_store_outage_hands_the_job_back_and_it_runs_once_the_store_is_back(
    store: Any,
    tenant: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(loop, "HANDBACK_PAUSE", 0.05)
    volume = tmp_path / "volume"
    volume.mkdir()
    blobs = LocalBlobStore(volume, create=False)
    await blobs.put_stream("uploads/a", aiter_of(b"%PDF-1.7"), max_bytes=100)
    volume.rename(tmp_path / "unmounted")  # the store's volume goes away
    runner = ScriptedRunner()
    worker = Worker(store, blobs, settings.model_copy(update={"drain_seconds": 1.0}), runner=runner)
    task = asyncio.create_task(worker.run())
    try:
        job_id = await submit(store, tenant.org_id)
        deadline = time.monotonic() + 10
        while not any("handing it back" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the worker never met the outage"
            await asyncio.sleep(0.02)
        (tmp_path / "unmounted").rename(volume)  # and comes back
        job = await finished(store, tenant.org_id, job_id)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)

    assert job.status is JobStatus.COMPLETED and job.attempts == 1  # the outage cost no attempt
    assert len(runner.runs) == 1


async def test_a_job_whose_uploaded_file_is_gone_fails_with_a_clear_error(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    run_worker(ScriptedRunner())
    job, _ = await store.jobs.enqueue(
        NewJob(
            org_id=tenant.org_id,
            input=JobInput("a.pdf", None, "application/pdf", "0" * 64, 10, "uploads/gone"),
            options={},
            metadata={},
        )
    )
    failed = await finished(store, tenant.org_id, job.id)

    assert failed.status is JobStatus.FAILED
    assert failed.error == {
        "code": "input_missing",
        "message": "the uploaded file is no longer in the blob store",
    }


def test_a_worker_removes_the_scratch_directories_of_dead_workers_on_its_host(
    tmp_path: Path,
) -> None:
    import socket
    import subprocess
    import sys

    from pagewire.worker.scratch import ScratchDir

    host = socket.gethostname()
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_dir = tmp_path / f"worker-{host}-{ended.stdout.strip()}-abc"
        live_dir = tmp_path / f"worker-{host}-{alive.pid}-abc"
        elsewhere = tmp_path / f"worker-another-host-{ended.stdout.strip()}-abc"
        for directory in (dead_dir, live_dir, elsewhere):
            directory.mkdir()
            (directory / "job.input").write_bytes(b"%PDF-1.7 a customer's document")

        mine = ScratchDir(tmp_path).prepare()
    finally:
        alive.kill()
        alive.wait()

    assert not dead_dir.exists()  # its worker is gone: so is the document it left
    assert live_dir.exists() and elsewhere.exists()
    assert mine.exists() and mine.stat().st_mode & 0o777 == 0o700


async def test_a_lone_job_ocrs_on_every_slot_and_a_second_gets_what_is_left(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    first, second = Script(pause_before=1), Script(pause_before=1)
    runner = ScriptedRunner(first, second)
    run_worker(runner, worker_concurrency=3)
    one = await submit(store, tenant.org_id)
    await asyncio.wait_for(first.reached.wait(), 10)
    two = await submit(store, tenant.org_id)
    await asyncio.wait_for(second.reached.wait(), 10)
    first.resume.set()
    second.resume.set()
    await finished(store, tenant.org_id, one)
    await finished(store, tenant.org_id, two)

    # Three slots: the first job, alone, may OCR three pages at once; the second,
    # started while the first runs, two (its own slot and the idle one).
    assert [run.task.ocr_lanes for run in runner.runs] == [3, 2]
