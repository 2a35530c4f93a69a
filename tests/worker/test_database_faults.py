"""A database that fails the worker never fails a customer's job (issue 14, defect 10).

The runner is scripted (tests/fakes) and the store is wrapped so that chosen
writes raise :class:`StoreUnavailable`, as a dropped connection makes them do:
progress writes, the outcome's write (before it commits, or after, the answer
lost). The job still ends once, as its document says, with one event and its
attempt counted once; an outcome that cannot be written in time is handed back
for another worker. Each runs on both backends: the lease guards are SQL.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fakes import FaultyStore, Script, ScriptedRunner
from pagewire.backoff import Backoff
from pagewire.models import JobStatus
from pagewire.worker.runner import Outcome
from worker.support import events_of, finished, submit

# Tries a few times within a fraction of a second, where the default waits a lease.
QUICK = Backoff(first=0.01, most=0.05, budget=0.3)


async def until(what: str, check: Any, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def test_progress_the_database_fails_to_take_is_skipped_and_the_job_completes(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    faulty = FaultyStore(store)
    faulty.fail("leases.heartbeat")  # every progress write, for the whole run
    run_worker(ScriptedRunner(Script(pages=3)), on_store=faulty, backoff=QUICK)
    job_id = await submit(store, tenant.org_id)

    job = await finished(store, tenant.org_id, job_id)

    assert faulty.failures["leases.heartbeat"] >= 1
    assert job.status is JobStatus.COMPLETED and job.error is None
    assert job.result == {"pages": 3} and job.page_count == 3
    assert job.attempts == 1
    assert await events_of(store, tenant.org_id, job_id) == [
        "job.completed",
        "job.created",
        "job.processing",
    ]


async def test_an_outcome_the_database_fails_to_take_is_written_on_a_later_try(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    faulty = FaultyStore(store)
    faulty.fail("leases.finish", times=3)
    run_worker(ScriptedRunner(Script(pages=2)), on_store=faulty, backoff=QUICK)
    job_id = await submit(store, tenant.org_id)

    job = await finished(store, tenant.org_id, job_id)

    assert faulty.failures["leases.finish"] == 3 and faulty.calls["leases.finish"] == 4
    assert job.status is JobStatus.COMPLETED and job.result == {"pages": 2}
    assert job.attempts == 1
    assert (await events_of(store, tenant.org_id, job_id)).count("job.completed") == 1
    assert "job.failed" not in await events_of(store, tenant.org_id, job_id)


async def test_an_outcome_written_whose_answer_was_lost_keeps_its_result(
    store: Any, tenant: Any, run_worker: Any, settings: Any, blobs: Any, tmp_path: Path
) -> None:
    # Too large to store inline: the result is a file, which a run that lost its
    # lease deletes. Here the write committed and only its answer was lost.
    big = json.dumps({"text": "x" * 2048}).encode()
    faulty = FaultyStore(store)
    faulty.fail("leases.finish", times=1, after_commit=True)
    worker = run_worker(
        ScriptedRunner(Script(result_file=big)),
        on_store=faulty,
        backoff=QUICK,
        inline_result_limit_bytes=1024,
    )
    job_id = await submit(store, tenant.org_id)

    job = await finished(store, tenant.org_id, job_id)
    # The worker's retry, refused by the lease guard, and its clean-up are done.
    await until("the worker's run is over", lambda: not worker._running)

    assert faulty.calls["leases.finish"] == 2
    assert job.status is JobStatus.COMPLETED and job.result_blob_key is not None
    kept = tmp_path / "kept-result"
    await blobs.get_to_file(job.result_blob_key, kept)
    assert kept.read_bytes() == big
    assert (await events_of(store, tenant.org_id, job_id)).count("job.completed") == 1


async def test_an_outcome_that_cannot_be_written_in_time_is_handed_back_to_another_worker(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    faulty = FaultyStore(store)
    faulty.fail("leases.finish")  # this worker can never record an outcome
    first = run_worker(ScriptedRunner(), on_store=faulty, backoff=QUICK)
    job_id = await submit(store, tenant.org_id)
    await until("the first worker hands the job back", lambda: faulty.calls["leases.release"])
    first.stop()

    second = ScriptedRunner(Script(pages=4))
    run_worker(second)
    job = await finished(store, tenant.org_id, job_id)

    assert faulty.failures["leases.finish"] >= 2  # it tried again before giving up
    assert len(second.runs) == 1
    assert job.status is JobStatus.COMPLETED and job.result == {"pages": 4}
    assert job.attempts == 1  # the handed-back run is not counted
    events = await events_of(store, tenant.org_id, job_id)
    assert events.count("job.completed") == 1 and "job.failed" not in events


async def test_a_rescued_job_is_never_overwritten_by_its_old_worker_when_the_database_returns(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    faulty = FaultyStore(store)
    # Once it holds the job, the old worker's database is gone: no heartbeat, no outcome.
    for operation in ("leases.heartbeat", "leases.heartbeat_all", "leases.finish"):
        faulty.fail(operation)
    leases = {"lease_seconds": 0.5, "heartbeat_seconds": 0.1}
    old_outcome = Outcome("completed", page_count=1, result={"by": "the old worker"})
    old_worker = run_worker(
        ScriptedRunner(Script(outcome=old_outcome)),
        on_store=faulty,
        backoff=Backoff(first=0.05, most=0.1, budget=30),
        **leases,
    )
    job_id = await submit(store, tenant.org_id)
    await until("the old worker tries its outcome", lambda: faulty.failures["leases.finish"])
    for operation in ("leases.claim", "leases.rescue_expired"):
        faulty.fail(operation)

    # Its lease runs out; a live worker rescues the job and runs it again.
    new_outcome = Outcome("completed", page_count=1, result={"by": "the new worker"})
    run_worker(ScriptedRunner(Script(outcome=new_outcome)), **leases)
    job = await finished(store, tenant.org_id, job_id)
    tried = faulty.calls["leases.finish"]
    faulty.heal()  # the old worker's next try reaches the database
    await until("the old worker tries again", lambda: faulty.calls["leases.finish"] > tried)
    # Its refused outcome, then its refused hand-back: its run is over.
    await until("the old worker's run is over", lambda: not old_worker._running)

    after = await store.jobs.get(tenant.org_id, job_id)
    assert job.status is JobStatus.COMPLETED and job.attempts == 2  # the rescue counts
    assert after.result == {"by": "the new worker"} and after.attempts == 2
    events = await events_of(store, tenant.org_id, job_id)
    assert events.count("job.completed") == 1 and "job.failed" not in events
