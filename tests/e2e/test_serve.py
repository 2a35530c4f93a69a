"""``pagewire serve`` and ``pagewire worker`` as real processes: crashes lose no job."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from pagewire.settings import Settings
from pagewire.store import tables as t
from pagewire.store.db import Database
from support import POSTGRES_ONLY

from .conftest import free_port

pytestmark = pytest.mark.e2e


def new_key(service: Any) -> dict[str, str]:
    service.cli("migrate")  # `keys create` never makes a database (it may come before serve)
    created = json.loads(service.cli("keys", "create", "--org", "e2e", "--json"))
    assert set(created) >= {"org_id", "api_key"}
    return {"x-api-key": created["api_key"]}


def submit(client: httpx.Client, pdf: Path, **data: str) -> str:
    with pdf.open("rb") as f:
        response = client.post(
            "/extract", files={"file": (pdf.name, f)}, data={"async": "true", **data}
        )
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


def wait_all(
    client: httpx.Client, job_ids: list[str], until: set[str], timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = [client.get(f"/job/{j}").json() for j in job_ids]
        if all(job["status"] in until for job in jobs):
            return jobs
        assert time.monotonic() < deadline, [(j["job_id"], j["status"]) for j in jobs]
        time.sleep(0.1)


def wait_logged(service: Any, message: str, count: int, timeout: float = 60) -> None:
    """Until ``count`` log lines of the service's processes say ``message``."""
    deadline = time.monotonic() + timeout
    while sum(_json(line).get("msg") == message for line in service.logs().splitlines()) < count:
        assert time.monotonic() < deadline, f"never logged {count} x {message!r}:\n{service.logs()}"
        time.sleep(0.05)


def completions(database_url: str) -> dict[str, int]:
    """How many job.completed events each job has: exactly-once, counted in the database."""

    async def count() -> dict[str, int]:
        db = Database(Settings(database_url=database_url).resolved_database_url)
        try:
            async with db.read() as conn:
                rows = await conn.execute(
                    sa.select(t.events.c.job_id, sa.func.count())
                    .where(t.events.c.type == "job.completed")
                    .group_by(t.events.c.job_id)
                )
                return {job_id: n for job_id, n in rows}
        finally:
            await db.close()

    return asyncio.run(count())


def test_serve_runs_a_document_end_to_end(service_factory: Any, sample_pdf: Path) -> None:
    service = service_factory()
    headers = new_key(service)
    service.serve()
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        [job] = wait_all(client, [submit(client, sample_pdf)], {"completed", "failed"}, 60)
    assert job["status"] == "completed" and job["result"]["page_count"] == 17
    log_lines = [json.loads(line) for line in service.logs().splitlines() if line.startswith("{")]
    transitions = [line for line in log_lines if line.get("job_id") == job["job_id"]]
    assert {line["msg"] for line in transitions} >= {"job claimed", "job completed"}
    assert all(line["org_id"] for line in transitions)
    assert headers["x-api-key"] not in service.logs()


def test_sigkill_of_the_whole_service_loses_no_job_and_runs_each_once(
    service_factory: Any, sample_pdf: Path, backend: Any
) -> None:
    service = service_factory(
        PAGEWIRE_LEASE_SECONDS="2",
        PAGEWIRE_HEARTBEAT_SECONDS="0.5",
        PAGEWIRE_WORKER_CONCURRENCY="4",
    )
    headers = new_key(service)
    first = service.serve(hostile="slow:0.3")
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        job_ids = [submit(client, sample_pdf) for _ in range(4)]
        wait_all(client, job_ids, {"processing"}, 30)
        service.kill(first)

        service.serve()
        jobs = wait_all(client, job_ids, {"completed", "failed"}, 90)

    assert [j["status"] for j in jobs] == ["completed"] * 4, service.logs()[-3000:]
    assert all(j["attempts"] == 2 for j in jobs)
    assert completions(backend.url) == {job_id: 1 for job_id in job_ids}


def test_sigterm_drains_running_jobs_before_exiting(service_factory: Any, sample_pdf: Path) -> None:
    service = service_factory(PAGEWIRE_DRAIN_SECONDS="30")
    headers = new_key(service)
    proc = service.serve(hostile="slow:0.05")
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        job_id = submit(client, sample_pdf)
        wait_all(client, [job_id], {"processing"}, 30)
        proc.terminate()
        assert proc.wait(40) == 0  # drained: a clean stop, not death by the signal
        messages = [
            (line.get("msg"), line.get("job_id"))
            for line in map(_json, service.logs().splitlines())
        ]
        service.serve()
        [job] = wait_all(client, [job_id], {"completed", "failed"}, 30)
    # the job finished before the worker stopped: drained, not handed back
    assert messages.index(("job completed", job_id)) < messages.index(("worker stopped", None))
    assert job["status"] == "completed" and job["attempts"] == 1


@POSTGRES_ONLY
def test_api_and_separate_worker_processes_share_the_queue(
    service_factory: Any, sample_pdf: Path, backend: Any
) -> None:
    service = service_factory(PAGEWIRE_WORKER_CONCURRENCY="2")
    headers = new_key(service)
    service.serve("--no-worker", "--no-dispatch")
    workers = [service.start("worker") for _ in range(2)]
    wait_logged(service, "worker started", count=2)  # both listening before any job exists
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        job_ids = [submit(client, sample_pdf, pages="1-3") for _ in range(12)]
        jobs = wait_all(client, job_ids, {"completed", "failed"}, 90)
    assert all(j["status"] == "completed" and j["attempts"] == 1 for j in jobs)
    assert completions(backend.url) == {job_id: 1 for job_id in job_ids}
    claimed_by = {
        line.get("worker_id")
        for line in map(_json, service.logs().splitlines())
        if line.get("msg") == "job claimed"
    }
    assert len(claimed_by) == 2 and all(w.poll() is None for w in workers)


def test_a_worker_process_serves_the_queue_and_job_metrics_when_given_a_port(
    service_factory: Any, sample_pdf: Path
) -> None:
    service = service_factory()
    headers = new_key(service)
    service.serve("--no-worker", "--no-dispatch")
    port = free_port()
    worker = service.start("worker", "--metrics-port", str(port))
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        wait_all(client, [submit(client, sample_pdf, pages="1")], {"completed"}, 60)
    # Counted once the outcome has committed, just before the worker logs it.
    wait_logged(service, "job completed", 1)
    assert worker.poll() is None, service.logs()
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("pagewire_jobs", (("status", "completed"),))] == 1
    assert samples[("pagewire_oldest_pending_job_age_seconds", ())] == 0
    # The worker's own: what it ran, and the process it runs in.
    finished = ("pagewire_jobs_finished_total", (("error_code", ""), ("status", "completed")))
    assert samples[finished] == 1
    assert samples[("pagewire_pages_processed_total", ())] == 1
    assert samples[("pagewire_job_run_seconds_count", (("status", "completed"),))] == 1
    assert samples[("pagewire_job_queue_wait_seconds_count", ())] == 1
    assert samples[("process_cpu_seconds_total", ())] > 0


def _json(line: str) -> dict[str, Any]:
    try:
        return json.loads(line)  # type: ignore[no-any-return]
    except ValueError:
        return {}
