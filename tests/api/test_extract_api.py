"""The jobs API in-process: submit, read, list, cancel, and every bad input's clear error."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import error_of

PDF_HEAD = b"%PDF-1.7\n"


async def submit(
    api: httpx.AsyncClient, tenant: Any, content: bytes, **fields: Any
) -> httpx.Response:
    data = {
        "async": "true",
        **{k: (json.dumps(v) if isinstance(v, dict) else str(v)) for k, v in fields.items()},
    }
    headers = dict(tenant.headers)
    if "idempotency_key" in fields:
        headers["Idempotency-Key"] = data.pop("idempotency_key")
    return await api.post(
        "/extract",
        headers=headers,
        files={"file": ("doc.pdf", content, "application/pdf")},
        data=data,
    )


async def test_async_submission_answers_202_with_a_job_id_at_once(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    response = await submit(api, tenant, sample_pdf.read_bytes(), metadata={"user_id": "u-7"})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["job_id"].startswith("job_")
    assert response.headers["location"] == f"http://testserver/job/{body['job_id']}"

    job = (await api.get(f"/job/{body['job_id']}", headers=tenant.headers)).json()
    assert job["status"] == "pending"
    assert job["metadata"] == {"user_id": "u-7"}
    assert job["input"]["file_name"] == "doc.pdf"
    assert job["input"]["size"] == sample_pdf.stat().st_size
    assert job["input"]["media_type"] == "application/pdf"
    assert job["progress"] == {"pages_done": 0, "pages_total": None}
    assert job["result"] is None and job["error"] is None


async def test_json_submission_with_file_url(api: httpx.AsyncClient, tenant: Any) -> None:
    response = await api.post(
        "/extract",
        headers=tenant.headers,
        json={"file_url": "http://127.0.0.1:9/files/report.pdf", "async": True, "pages": "1-2"},
    )
    assert response.status_code == 202, response.text
    job = (await api.get(f"/job/{response.json()['job_id']}", headers=tenant.headers)).json()
    assert job["input"]["file_url"] == "http://127.0.0.1:9/files/report.pdf"
    assert job["input"]["file_name"] == "report.pdf"
    assert job["options"]["pages"] == "1-2"


async def test_bearer_authorization_works_like_the_api_key_header(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    response = await api.get("/jobs", headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert response.status_code == 200 and response.json() == {"data": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_api_key"), ({"x-api-key": "pw_not-a-key"}, "invalid_api_key")],
)
async def test_requests_without_a_valid_key_are_401(
    api: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    response = await api.get("/jobs", headers=headers)
    assert response.status_code == 401 and error_of(response)["code"] == code


async def test_a_revoked_key_is_401(api: httpx.AsyncClient, tenant: Any, store: Any) -> None:
    await store.keys.revoke(tenant.key_id)
    response = await api.get("/jobs", headers=tenant.headers)
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_api_key"


async def test_another_organizations_job_is_404_never_403(
    api: httpx.AsyncClient, tenant: Any, other_tenant: Any, sample_pdf: Path
) -> None:
    job_id = (await submit(api, tenant, sample_pdf.read_bytes())).json()["job_id"]
    for method in ("GET", "DELETE"):
        response = await api.request(method, f"/job/{job_id}", headers=other_tenant.headers)
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    listed = (await api.get("/jobs", headers=other_tenant.headers)).json()
    assert listed["data"] == []


@pytest.mark.parametrize(
    ("content", "fields", "status", "code"),
    [
        (b"", {}, 400, "empty_file"),
        (b"PK\x03\x04 this is a zip, not a PDF", {}, 415, "unsupported_media_type"),
        (b"just some text named .pdf", {}, 415, "unsupported_media_type"),
        (PDF_HEAD, {"pages": "9-zz"}, 400, "invalid_pages"),
        (PDF_HEAD, {"pages": "3-1"}, 400, "invalid_pages"),
        (PDF_HEAD, {"pages": "0"}, 400, "invalid_pages"),
        (PDF_HEAD, {"ocr": "sometimes"}, 400, "invalid_request"),
        (PDF_HEAD, {"chunking": "semantic-magic"}, 400, "invalid_request"),
        (PDF_HEAD, {"chunk_size": "5"}, 400, "invalid_request"),
        (PDF_HEAD, {"metadata": "{not json"}, 400, "malformed_json"),
    ],
)
async def test_bad_submissions_get_a_clear_error_and_create_no_job(
    api: httpx.AsyncClient,
    tenant: Any,
    content: bytes,
    fields: dict[str, Any],
    status: int,
    code: str,
) -> None:
    data = {"async": "true", **fields}
    response = await api.post(
        "/extract", headers=tenant.headers, files={"file": ("doc.pdf", content)}, data=data
    )
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code and error["message"]
    assert (await api.get("/jobs", headers=tenant.headers)).json()["data"] == []


async def test_the_unsupported_type_error_lists_what_is_supported(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    response = await api.post(
        "/extract",
        headers=tenant.headers,
        files={"file": ("x.pdf", b"hello")},
        data={"async": "true"},
    )
    error = error_of(response)
    assert "application/pdf" in error["details"]["supported"]
    assert "x.pdf" in error["message"]


async def test_a_file_over_the_size_limit_is_413(
    settings_factory: Any, store: Any, tenant: Any
) -> None:
    from pagewire.app import create_app

    app = create_app(settings_factory(max_upload_bytes=1000), store=store)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as api:
            response = await submit(api, tenant, PDF_HEAD + b"x" * 5000)
            listed = (await api.get("/jobs", headers=tenant.headers)).json()
    assert response.status_code == 413 and error_of(response)["code"] == "file_too_large"
    assert listed["data"] == []
    leftovers = list((store_blob_dir := Path(app.state.services.blobs.root)).rglob("*"))
    assert [p for p in leftovers if p.is_file()] == [], store_blob_dir


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (b'{"async": true}', "missing_file"),
        (b'{"file_url": "ftp://example.com/a.pdf"}', "url_not_allowed"),
        (b'{"file_url": "not a url"}', "url_not_allowed"),
    ],
)
async def test_malformed_json_bodies_are_400(
    api: httpx.AsyncClient, tenant: Any, body: bytes, code: str
) -> None:
    response = await api.post(
        "/extract", content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == code


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.pdf",
        "http://[::1]/a.pdf",
        "http://localhost/a.pdf",
        "http://10.1.2.3/a.pdf",
        "http://169.254.169.254/latest/meta-data",
        "http://192.168.0.5/x",
    ],
)
async def test_file_url_pointing_at_a_private_address_is_refused(
    settings_factory: Any, store: Any, tenant: Any, url: str
) -> None:
    from pagewire.app import create_app

    app = create_app(settings_factory(allow_private_urls=False), store=store)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as api:
            response = await api.post(
                "/extract", headers=tenant.headers, json={"file_url": url, "async": True}
            )
    assert response.status_code == 400
    assert error_of(response)["code"] == "url_not_allowed"


async def test_same_idempotency_key_and_body_returns_the_same_job(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    content = sample_pdf.read_bytes()
    first = await submit(api, tenant, content, idempotency_key="order-42")
    again = await submit(api, tenant, content, idempotency_key="order-42")
    other = await submit(api, tenant, content, idempotency_key="order-42", pages="1")

    assert first.json()["job_id"] == again.json()["job_id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_conflict"
    assert len((await api.get("/jobs", headers=tenant.headers)).json()["data"]) == 1


async def test_twenty_concurrent_requests_with_one_key_make_one_job(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    content = sample_pdf.read_bytes()
    responses = await asyncio.gather(
        *(submit(api, tenant, content, idempotency_key="burst") for _ in range(20))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["job_id"] for r in responses}) == 1
    assert len((await api.get("/jobs", headers=tenant.headers)).json()["data"]) == 1


async def test_cancel_a_pending_job_is_immediate_and_idempotent(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    job_id = (await submit(api, tenant, sample_pdf.read_bytes())).json()["job_id"]
    first = await api.delete(f"/job/{job_id}", headers=tenant.headers)
    second = await api.delete(f"/job/{job_id}", headers=tenant.headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == second.json()["status"] == "canceled"
    result = await api.get(f"/job/{job_id}/result", headers=tenant.headers)
    assert result.status_code == 409 and error_of(result)["code"] == "job_not_completed"


async def test_list_filters_by_status_and_time_and_pages_with_a_cursor(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    content = sample_pdf.read_bytes()
    ids = [(await submit(api, tenant, content)).json()["job_id"] for _ in range(5)]
    await api.delete(f"/job/{ids[1]}", headers=tenant.headers)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/jobs", params=params, headers=tenant.headers)).json()
        seen += [j["job_id"] for j in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    canceled = (
        await api.get("/jobs", params={"status": "canceled"}, headers=tenant.headers)
    ).json()
    pending = (
        await api.get("/jobs", params={"status": "pending,processing"}, headers=tenant.headers)
    ).json()
    future = (
        await api.get(
            "/jobs", params={"created_after": "2999-01-01T00:00:00Z"}, headers=tenant.headers
        )
    ).json()
    bad = await api.get("/jobs", params={"status": "done"}, headers=tenant.headers)

    assert seen == ids[::-1]
    assert [j["job_id"] for j in canceled["data"]] == [ids[1]]
    assert len(pending["data"]) == 4
    assert future["data"] == []
    assert bad.status_code == 400 and error_of(bad)["code"] == "invalid_status"


async def test_unknown_routes_and_jobs_use_the_error_shape(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    missing = await api.get("/job/job_nope", headers=tenant.headers)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    nowhere = await api.get("/nowhere")
    assert nowhere.status_code == 404 and error_of(nowhere)["code"] == "not_found"


async def test_health_readiness_openapi_and_metrics(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    assert (await api.get("/readyz")).json() == {"status": "ok"}
    spec = (await api.get("/openapi.json")).json()
    assert {"/extract", "/job/{job_id}", "/jobs", "/job/{job_id}/result"} <= set(spec["paths"])
    assert (await api.get("/docs")).status_code == 200
    metrics = (await api.get("/metrics")).text
    assert "pagewire_oldest_pending_job_age_seconds" in metrics


async def test_over_the_rate_limit_is_429_with_retry_after(
    settings_factory: Any, store: Any, tenant: Any
) -> None:
    from pagewire.app import create_app

    app = create_app(settings_factory(rate_limit_per_second=1, rate_limit_burst=2), store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            statuses = [(await api.get("/jobs", headers=tenant.headers)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert error_of(statuses[2])["code"] == "rate_limited"
    assert int(statuses[2].headers["retry-after"]) >= 1
