"""Promises docs/api.md makes that no other test held it to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from pagewire.models import JobStatus

from .test_extract_api import error_of, submit


async def jobs_of(api: httpx.AsyncClient, tenant: Any) -> list[dict[str, Any]]:
    return list((await api.get("/jobs", headers=tenant.headers)).json()["data"])


async def test_unknown_options_are_ignored_so_other_apis_clients_keep_working(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    uploaded = await submit(
        api, tenant, sample_pdf.read_bytes(), extract_figures="true", schema="{}", pages="1"
    )
    by_url = await api.post(
        "/extract",
        headers=tenant.headers,
        json={
            "file_url": "https://example.com/filing.pdf",
            "async": True,
            "extract_tables_as": "csv",
            "webhook_url": "https://example.com/hook",
        },
    )

    assert uploaded.status_code == 202, uploaded.text
    assert by_url.status_code == 202, by_url.text
    job = (await api.get(f"/job/{uploaded.json()['job_id']}", headers=tenant.headers)).json()
    assert job["options"]["pages"] == "1"  # the known option still applies
    assert set(job["options"]) == {
        "pages",
        "ocr",
        "tables",
        "chunking",
        "chunk_size",
        "return_html",
    }


async def test_pages_past_the_page_limit_are_refused_before_a_job_exists(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path, settings: Any
) -> None:
    over = settings.max_pages + 1
    response = await submit(api, tenant, sample_pdf.read_bytes(), pages=f"1-{over}")

    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "invalid_pages"
    assert error["details"]["field"] == "pages"
    assert await jobs_of(api, tenant) == []


async def test_a_priority_outside_minus_100_to_100_is_a_clear_error(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    for priority in (101, -101):
        response = await submit(api, tenant, sample_pdf.read_bytes(), priority=priority)
        assert response.status_code == 400, response.text
        error = error_of(response)
        assert error["code"] == "invalid_request" and error["details"]["field"] == "priority"
    accepted = await submit(api, tenant, sample_pdf.read_bytes(), priority=100)
    assert accepted.status_code == 202
    assert [j["job_id"] for j in await jobs_of(api, tenant)] == [accepted.json()["job_id"]]


async def test_canceling_a_finished_job_returns_it_as_it_is(
    api: httpx.AsyncClient, tenant: Any, store: Any, sample_pdf: Path
) -> None:
    job_id = (await submit(api, tenant, sample_pdf.read_bytes())).json()["job_id"]
    [lease] = await store.leases.claim("w", 1, 30)
    await store.leases.finish(lease, JobStatus.COMPLETED, result={"markdown": "# A"}, page_count=1)
    before = (await api.get(f"/job/{job_id}", headers=tenant.headers)).json()

    canceled = await api.delete(f"/job/{job_id}", headers=tenant.headers)

    assert canceled.status_code == 200
    assert canceled.json() == before  # completed, not canceled; nothing changed
    after = (await api.get(f"/job/{job_id}", headers=tenant.headers)).json()
    assert after == before and after["cancel_requested"] is False
    result = await api.get(f"/job/{job_id}/result", headers=tenant.headers)
    assert result.status_code == 200 and json.loads(result.text) == {"markdown": "# A"}
