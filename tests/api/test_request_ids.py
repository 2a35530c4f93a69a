"""Every response names its request (``x-request-id``), and so do its log lines and errors.

Through a real server on a socket, with the log lines as ``pagewire serve`` writes them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from api.serving import LogLines, captured_logs, serving
from pagewire.settings import Settings
from pagewire.store import Store
from support import Backend, Tenant


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """SQLite only: request ids do not depend on the database."""
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


@pytest.fixture
async def http(store: Store, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from pagewire.app import create_app

    async with serving(create_app(settings, store=store)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            yield client


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    with captured_logs() as lines:
        yield lines


async def test_a_response_carries_a_new_request_id_or_the_callers_own(
    http: httpx.AsyncClient,
) -> None:
    first = (await http.get("/healthz")).headers["x-request-id"]
    second = (await http.get("/healthz")).headers["x-request-id"]
    assert first.startswith("req_") and second.startswith("req_") and first != second

    mine = "checkout-7f3a:retry.2"
    assert (await http.get("/healthz", headers={"x-request-id": mine})).headers[
        "x-request-id"
    ] == mine


@pytest.mark.parametrize("insane", ["a" * 129, "two words", 'quote"d', "<script>", "ünïcode"])
async def test_a_request_id_that_is_not_sane_is_replaced(
    http: httpx.AsyncClient, insane: str
) -> None:
    response = await http.get("/healthz", headers={"x-request-id": insane.encode()})

    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")


async def test_an_error_body_names_the_request_it_answers(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    missing = await http.get("/job/job_missing", headers=tenant.headers)
    anonymous = await http.get("/jobs", headers={"x-request-id": "support-ticket-42"})

    assert missing.status_code == 404
    assert missing.json()["error"]["request_id"] == missing.headers["x-request-id"]
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["request_id"] == "support-ticket-42"


async def test_the_access_line_and_the_routes_own_line_carry_the_request_id(
    http: httpx.AsyncClient, store: Store, tenant: Tenant, sample_pdf: Path, log_lines: LogLines
) -> None:
    with sample_pdf.open("rb") as f:
        response = await http.post(
            "/extract",
            files={"file": (sample_pdf.name, f)},
            data={"async": "true"},
            headers={**tenant.headers, "x-request-id": "trace-me-1"},
        )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]

    [submitted] = log_lines.where(msg="job submitted")
    assert submitted["request_id"] == "trace-me-1" and submitted["job_id"] == job_id
    [access] = log_lines.where(logger="pagewire.access", request_id="trace-me-1")
    assert access["method"] == "POST" and access["route"] == "/extract"
    assert access["status"] == 202 and access["org_id"] == tenant.org_id
    assert access["duration_ms"] > 0
    # ... and so does the job's audit record, whether the caller sent an id or not.
    assert (await store.jobs.get(tenant.org_id, job_id)).request["request_id"] == "trace-me-1"
    with sample_pdf.open("rb") as f:
        unnamed = await http.post(
            "/extract",
            files={"file": (sample_pdf.name, f)},
            data={"async": "true"},
            headers=tenant.headers,
        )
    job = await store.jobs.get(tenant.org_id, unnamed.json()["job_id"])
    assert job.request["request_id"] == unnamed.headers["x-request-id"]


async def test_the_access_line_names_the_route_not_the_path_and_never_a_secret(
    http: httpx.AsyncClient, tenant: Tenant, log_lines: LogLines
) -> None:
    await http.get("/job/job_0123?token=hunter2", headers=tenant.headers)
    link = (await http.post("/webhook", headers=tenant.headers)).json()["link"]
    portal = await http.get(link.replace("http://testserver", str(http.base_url)))
    await http.get("/no/such/page/secret-in-path")

    routes = [
        (line["method"], line["route"], line["status"])
        for line in log_lines.where(logger="pagewire.access")
    ]
    assert ("GET", "/job/{job_id}", 404) in routes
    assert ("POST", "/webhook", 200) in routes or ("POST", "/webhook", 201) in routes
    assert any(route.startswith("/portal") for _, route, _ in routes), (routes, portal.status_code)
    assert ("GET", "unmatched", 404) in routes
    # pagewire's own lines (this test's HTTP client logs its URLs, a production setup's
    # uvicorn does not: docs/operations.md)
    text = "\n".join(
        json.dumps(line) for line in log_lines.all() if line["logger"].startswith("pagewire")
    )
    for secret in (tenant.api_key, "hunter2", "job_0123", "secret-in-path", link):
        assert secret not in text


async def test_an_odd_method_or_a_made_up_path_adds_no_series(http: httpx.AsyncClient) -> None:
    for n, method in enumerate(("PROPFIND", "PURGE", "MKCOL")):
        assert (await http.request(method, f"/coffee-{n}")).status_code == 404

    metrics = (await http.get("/metrics")).text
    assert "PROPFIND" not in metrics and "/coffee" not in metrics
    assert (
        'pagewire_http_requests_total{method="other",route="unmatched",status="404"} 3.0' in metrics
    )


async def test_an_unexpected_error_is_a_500_that_still_names_its_request(
    http: httpx.AsyncClient,
    store: Store,
    tenant: Tenant,
    log_lines: LogLines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(store.jobs, "get", broken)

    response = await http.get("/job/job_x", headers={**tenant.headers, "x-request-id": "oops-1"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "oops-1"
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "pagewire hit an unexpected error",
        "details": {},
        "request_id": "oops-1",
    }
    [traceback] = log_lines.where(msg="unhandled error")
    assert traceback["request_id"] == "oops-1" and "a bug" in traceback["exc"]
    [access] = log_lines.where(logger="pagewire.access", request_id="oops-1")
    assert access["status"] == 500 and access["route"] == "/job/{job_id}"
