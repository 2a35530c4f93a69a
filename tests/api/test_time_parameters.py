"""Every route that takes a time reads it the same way: a time without a zone is UTC.

Each test runs with the server's local time 14 hours ahead of UTC and asks for a
two-hour window around the thing it looks for, written without a zone: read as
local time, the window would miss it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

HOUR = 3600.0

pytestmark = pytest.mark.usefixtures("server_far_from_utc")


def zoneless(ts: float) -> str:
    """``ts`` as a UTC wall-clock time with no zone: ``2026-11-28T22:00:00``."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def epoch_of(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def refused(response: httpx.Response, parameter: str) -> bool:
    error = response.json()["error"]
    return (
        response.status_code == 400
        and error["code"] == "invalid_time"
        and error["message"].startswith(parameter)
    )


async def assert_listed_only_inside(
    api: httpx.AsyncClient, tenant: Any, path: str, after: str, before: str, at: float, item: str
) -> None:
    """``item``, made at ``at``, is listed inside a zone-less window around it, never outside."""

    async def listed(**params: str) -> list[str]:
        response = await api.get(path, params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [found.get("job_id") or found["id"] for found in response.json()["data"]]

    inside = {after: zoneless(at - HOUR), before: zoneless(at + HOUR)}
    assert await listed(**inside) == [item]
    assert await listed(**{after: zoneless(at + HOUR)}) == []
    assert await listed(**{before: zoneless(at - HOUR)}) == []


async def test_jobs_are_listed_by_zoneless_created_after_and_before(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    submitted = await api.post(
        "/extract",
        headers=tenant.headers,
        files={"file": ("doc.pdf", sample_pdf.read_bytes(), "application/pdf")},
        data={"async": "true"},
    )
    job_id = submitted.json()["job_id"]
    created = epoch_of(
        (await api.get(f"/job/{job_id}", headers=tenant.headers)).json()["created_at"]
    )

    await assert_listed_only_inside(
        api, tenant, "/jobs", "created_after", "created_before", created, job_id
    )
    bad = await api.get("/jobs", params={"created_before": "soon"}, headers=tenant.headers)
    assert refused(bad, "created_before")
    far = await api.get("/jobs", params={"created_after": "1e300"}, headers=tenant.headers)
    assert refused(far, "created_after")


async def test_messages_are_listed_by_zoneless_after_and_before(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    endpoint = await api.post(
        "/webhook/endpoints", json={"url": "https://example.com/hook"}, headers=tenant.headers
    )
    sent = await api.post(
        f"/webhook/endpoints/{endpoint.json()['id']}/test", headers=tenant.headers
    )
    message_id = sent.json()["message_id"]
    message = (await api.get(f"/webhook/messages/{message_id}", headers=tenant.headers)).json()
    created = epoch_of(message["created_at"])

    await assert_listed_only_inside(
        api, tenant, "/webhook/messages", "after", "before", created, message_id
    )
    bad = await api.get(
        "/webhook/messages", params={"before": "2026-02-30"}, headers=tenant.headers
    )
    assert refused(bad, "before")


async def test_recover_reads_a_zoneless_since_and_until_as_utc(
    api: httpx.AsyncClient, tenant: Any, store: Any
) -> None:
    endpoint = await api.post(
        "/webhook/endpoints", json={"url": "https://example.com/hook"}, headers=tenant.headers
    )
    url = f"/webhook/endpoints/{endpoint.json()['id']}"
    await api.post(f"{url}/test", headers=tenant.headers)
    await api.post(f"{url}/disable", headers=tenant.headers)  # its pending delivery fails
    failed_at = await store.db.current_time()
    await api.post(f"{url}/enable", headers=tenant.headers)

    async def recover(**body: Any) -> httpx.Response:
        return await api.post(f"{url}/recover", json=body, headers=tenant.headers)

    later = await recover(since=zoneless(failed_at + HOUR))
    assert later.status_code == 202 and later.json() == {"requeued": 0}
    window = await recover(since=zoneless(failed_at - HOUR), until=zoneless(failed_at + HOUR))
    assert window.status_code == 202 and window.json() == {"requeued": 1}
    assert refused(await recover(since="last week"), "since")
    assert refused(await recover(since=zoneless(failed_at), until="-inf"), "until")
