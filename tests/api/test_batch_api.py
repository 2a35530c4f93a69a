"""``POST /batch/extract``: one job per document, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx


async def test_a_batch_of_uploads_makes_one_job_each(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    content = sample_pdf.read_bytes()
    response = await api.post(
        "/batch/extract",
        headers=tenant.headers,
        files=[
            ("file", ("a.pdf", content)),
            ("file", ("b.pdf", content)),
            ("file", ("c.pdf", content)),
        ],
        data={"pages": "1", "metadata": '{"batch": "b-1"}'},
    )
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert [d["file_name"] for d in data] == ["a.pdf", "b.pdf", "c.pdf"]
    assert len({d["job_id"] for d in data}) == 3
    for d in data:
        job = (await api.get(f"/job/{d['job_id']}", headers=tenant.headers)).json()
        assert job["metadata"] == {"batch": "b-1"} and job["options"]["pages"] == "1"


async def test_a_batch_of_urls(api: httpx.AsyncClient, tenant: Any) -> None:
    response = await api.post(
        "/batch/extract",
        headers=tenant.headers,
        json={"file_urls": ["http://127.0.0.1:9/one.pdf", "http://127.0.0.1:9/two.pdf"]},
    )
    assert response.status_code == 202, response.text
    assert [d["file_name"] for d in response.json()["data"]] == ["one.pdf", "two.pdf"]


async def test_one_bad_document_rejects_the_batch_and_creates_nothing(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    content = sample_pdf.read_bytes()
    response = await api.post(
        "/batch/extract",
        headers=tenant.headers,
        files=[("file", ("a.pdf", content)), ("file", ("empty.pdf", b""))],
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "empty_file" and error["details"]["index"] == 1
    assert (await api.get("/jobs", headers=tenant.headers)).json()["data"] == []
    blobs = api._transport.app.state.services.blobs.root  # type: ignore[attr-defined]
    assert [p for p in Path(blobs, "uploads").rglob("*") if p.is_file()] == []


async def test_an_empty_batch_is_400(api: httpx.AsyncClient, tenant: Any) -> None:
    response = await api.post("/batch/extract", headers=tenant.headers, json={"file_urls": []})
    assert response.status_code == 400 and response.json()["error"]["code"] == "missing_file"
