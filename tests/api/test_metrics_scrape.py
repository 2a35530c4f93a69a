"""``/metrics`` after real jobs: the series an operator alerts on exist, with their labels
and counts (never their seconds, which depend on the machine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.serving import serving
from pagewire.settings import Settings
from pagewire.store import Store
from support import Tenant

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
FINISHED = "pagewire_jobs_finished_total"


@pytest.fixture
async def http(store: Store, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with its worker (real extractor children) on a real socket."""
    from pagewire.app import create_app

    async with serving(create_app(settings, store=store, run_worker=True)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            yield client


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def scrape_until(http: httpx.AsyncClient, ready: Callable[[Samples], bool]) -> Samples:
    async def poll() -> Samples:
        while not ready(samples := await scrape(http)):
            await asyncio.sleep(0.02)
        return samples

    return await asyncio.wait_for(poll(), 10)


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_a_scrape_after_real_jobs_counts_them_by_status_code_pages_and_route(
    http: httpx.AsyncClient, tenant: Tenant, sample_pdf: Path
) -> None:
    async def extract(**data: str) -> dict[str, object]:
        with sample_pdf.open("rb") as f:
            response = await http.post(
                "/extract",
                files={"file": (sample_pdf.name, f)},
                data={"async": "false", **data},  # answers once the job is final
                headers=tenant.headers,
            )
        assert response.status_code == 200, response.text
        return dict(response.json())

    done = await extract(pages="1-2")
    failed = await extract(pages="90-91")  # the filing has 17 pages
    assert done["status"] == "completed" and failed["status"] == "failed"
    code = failed["error"]["code"]  # type: ignore[index]
    await http.get(f"/job/{done['job_id']}", headers=tenant.headers)
    await http.get("/no/such/path")

    # A job is counted once its outcome has committed, a moment after the API can see it.
    samples = await scrape_until(
        http, lambda s: value(s, FINISHED, status="failed", error_code=code) > 0
    )

    assert value(samples, FINISHED, status="completed", error_code="") == 1
    assert value(samples, FINISHED, status="failed", error_code=code) == 1
    assert value(samples, "pagewire_pages_processed_total") == 2
    assert value(samples, "pagewire_job_run_seconds_count", status="completed") == 1
    assert value(samples, "pagewire_job_run_seconds_count", status="failed") == 1
    assert value(samples, "pagewire_job_queue_wait_seconds_count") == 2
    # the extractor's CPU, as its child reported it: the completed run's only
    assert value(samples, "pagewire_job_extractor_cpu_seconds_count") == 1
    assert value(samples, "pagewire_job_extractor_cpu_seconds_sum") > 0
    requests = "pagewire_http_requests_total"
    assert value(samples, requests, method="POST", route="/extract", status="200") == 2
    assert value(samples, requests, method="GET", route="/job/{job_id}", status="200") == 1
    assert value(samples, requests, method="GET", route="unmatched", status="404") == 1
    duration = "pagewire_http_request_duration_seconds_count"
    assert value(samples, duration, method="POST", route="/extract") == 2
    # The standard process metrics, and no noise series.
    assert value(samples, "process_cpu_seconds_total") > 0
    assert any(name == "python_info" for name, _ in samples)
    assert not [name for name, _ in samples if name.endswith("_created")]
    # No series per raw path: the job ids stay out of the labels.
    ids = {str(done["job_id"]), str(failed["job_id"])}
    assert not [labels for _, labels in samples if any(v in ids for _, v in labels)]
