"""Real jobs while PostgreSQL drops the worker's connections again and again.

The deterministic cases are in test_database_faults.py; this is the same promise
with a real database doing it, as in the chaos run that found 14 of 150 jobs
failed: every connection of the test database is terminated every 0.2 s for
3 s while ten real documents are extracted (real child processes, slowed so
that the kills land in the middle of their progress writes and outcomes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakes import kill_connections
from support import Backend
from worker.support import events_of

ON_POSTGRES = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@ON_POSTGRES
async def test_killed_connections_fail_no_job_and_complete_each_once(
    harness: Any, backend: Backend, sample_pdf: Path
) -> None:
    content = sample_pdf.read_bytes()
    job_ids = [await harness.submit(content) for _ in range(10)]
    async with harness.worker(hostile="slow:0.05", concurrency=4):
        await harness.wait_for(job_ids[0], lambda j: j["status"] != "pending")
        killed = await kill_connections(backend.url, every=0.2, duration=3.0)
        jobs = [await harness.finished(job_id, timeout=120) for job_id in job_ids]

    store = harness.services.store
    assert killed > 0
    assert [j["status"] for j in jobs] == ["completed"] * 10, [j.get("error") for j in jobs]
    assert all(j["result"]["page_count"] == 17 and j["attempts"] == 1 for j in jobs)
    for job_id in job_ids:
        events = await events_of(store, harness.tenant.org_id, job_id)
        assert events.count("job.completed") == 1 and "job.failed" not in events, events
