"""A worker under PAGEWIRE_ORG_CONCURRENCY: one organization's jobs run one at a time,
and each finish wakes the worker for the next (no poll), on SQLite (scripted runner)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fakes import Script, ScriptedRunner
from pagewire.models import JobStatus
from worker.support import finished, submit


@pytest.fixture
def backend(tmp_path: Path) -> Any:
    from support import Backend

    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


async def test_a_capped_organizations_jobs_run_one_at_a_time_each_finish_starting_the_next(
    store: Any, tenant: Any, run_worker: Any
) -> None:
    store.leases.org_cap = 1
    scripts = [Script(pause_before=1) for _ in range(3)]
    job_ids = [await submit(store, tenant.org_id) for _ in scripts]
    # Four free slots, and a poll an hour apart: only a finish's wake-up starts the next.
    runner = ScriptedRunner(*scripts)
    run_worker(runner, worker_concurrency=4, poll_seconds=3600)

    for index, script in enumerate(scripts):
        await asyncio.wait_for(script.reached.wait(), 10)
        # the cap holds: this job runs alone, the rest wait in the queue
        running = [await store.jobs.get(tenant.org_id, job_id) for job_id in job_ids]
        assert [job.status for job in running].count(JobStatus.PROCESSING) == 1
        assert len(runner.runs) == index + 1
        script.resume.set()

    for job_id in job_ids:
        assert (await finished(store, tenant.org_id, job_id)).status is JobStatus.COMPLETED
