"""``GET /job/{id}/audit``: who submitted a job and how, for its own organization only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx


async def test_the_audit_record_names_the_key_client_and_request(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    submitted = await api.post(
        "/extract",
        headers={**tenant.headers, "user-agent": "billing-sync/2.1", "x-request-id": "req-42"},
        files={"file": ("doc.pdf", sample_pdf.read_bytes(), "application/pdf")},
        data={"async": "true", "metadata": '{"invoice": "INV-9"}'},
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]

    audit = await api.get(f"/job/{job_id}/audit", headers=tenant.headers)

    assert audit.status_code == 200, audit.text
    job = (await api.get(f"/job/{job_id}", headers=tenant.headers)).json()
    assert audit.json() == {
        "job_id": job_id,
        "created_at": job["created_at"],
        "key_id": tenant.key_id,
        "ip": "127.0.0.1",  # httpx's ASGI transport's client address
        "user_agent": "billing-sync/2.1",
        "request_id": "req-42",
        "metadata": {"invoice": "INV-9"},
    }
    # Never the key itself.
    assert tenant.api_key not in audit.text


async def test_another_organization_cannot_read_the_audit_record(
    api: httpx.AsyncClient, tenant: Any, other_tenant: Any, sample_pdf: Path
) -> None:
    submitted = await api.post(
        "/extract",
        headers=tenant.headers,
        files={"file": ("doc.pdf", sample_pdf.read_bytes(), "application/pdf")},
        data={"async": "true"},
    )
    job_id = submitted.json()["job_id"]

    theirs = await api.get(f"/job/{job_id}/audit", headers=other_tenant.headers)
    anonymous = await api.get(f"/job/{job_id}/audit")

    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "not_found"
    assert anonymous.status_code == 401
