"""Values a database cannot store, or a response cannot carry, are refused at the door.

A NUL or a lone surrogate was stored (SQLite) or crashed the insert (PostgreSQL);
once stored, every list that showed it answered 500 for the whole organization.
Each hostile value must now be a ``400`` naming its field, on both backends, and
the organization's lists must keep answering.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pagewire.api.text_rules import MAX_JSON_DEPTH
from support import error_of

URL = "http://127.0.0.1:9/doc.pdf"


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def job_json(metadata: str) -> str:
    return f'{{"file_url": "{URL}", "async": true, "metadata": {metadata}}}'


# Raw JSON, so that the escapes reach the server exactly as an attacker writes them.
HOSTILE_JOBS = [
    pytest.param(job_json('{"k": "\\ud800"}'), "metadata.k", id="lone-surrogate-value"),
    pytest.param(job_json('{"\\udfff": "v"}'), "metadata", id="lone-surrogate-key"),
    pytest.param(job_json('{"k": "a\\u0000b"}'), "metadata.k", id="nul-value"),
    pytest.param(job_json('{"\\u0000": "v"}'), "metadata", id="nul-key"),
    pytest.param(job_json('{"k": ["ok", "\\u0000"]}'), "metadata.k[1]", id="nul-in-a-list"),
    pytest.param(job_json('{"k": NaN}'), "metadata.k", id="not-a-number"),
    pytest.param(job_json('{"k": -Infinity}'), "metadata.k", id="infinity"),
    pytest.param(job_json(nested(MAX_JSON_DEPTH + 1)), "metadata", id="too-deep"),
    pytest.param(job_json(nested(1000)), None, id="deep-enough-to-crash-a-parser"),
    pytest.param(
        json.dumps({"file_url": "http://127.0.0.1:9/a\u0000.pdf", "async": True}),
        "file_url",
        id="nul-in-file-url",
    ),
    pytest.param(
        json.dumps({"file_url": URL, "async": True, "pages": ",".join(["1-5000"] * 20_000)}),
        "pages",
        id="huge-pages-spec",
    ),
]


async def assert_the_organization_still_reads(api: httpx.AsyncClient, tenant: Any) -> None:
    for path in ("/jobs", "/webhook/messages", "/webhook/endpoints"):
        response = await api.get(path, headers=tenant.headers)
        assert response.status_code == 200, (path, response.text)
    for job in (await api.get("/jobs", headers=tenant.headers)).json()["data"]:
        response = await api.get(f"/job/{job['job_id']}", headers=tenant.headers)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(("body", "field"), HOSTILE_JOBS)
async def test_a_hostile_json_submission_is_400_naming_its_field(
    api: httpx.AsyncClient, tenant: Any, body: str, field: str | None
) -> None:
    response = await api.post(
        "/extract", content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = error_of(response)
    if field is not None:
        assert error["details"].get("field") == field, error
        assert field.split(".")[0].split("[")[0] in error["message"]
    await assert_the_organization_still_reads(api, tenant)
    assert (await api.get("/jobs", headers=tenant.headers)).json()["data"] == []


@pytest.mark.parametrize(
    ("files", "data", "field"),
    [
        pytest.param(
            {"file": ("x" * 600 + ".pdf", b"%PDF-1.7\n")}, {}, "file", id="file-name-too-long"
        ),
        pytest.param(
            {"file": ("a.pdf", b"%PDF-1.7\n")},
            {"metadata": '{"k": "\\ud800"}'},
            "metadata.k",
            id="surrogate-in-form-metadata",
        ),
    ],
)
async def test_a_hostile_upload_is_400_naming_its_field(
    api: httpx.AsyncClient,
    tenant: Any,
    files: dict[str, Any],
    data: dict[str, str],
    field: str,
) -> None:
    response = await api.post(
        "/extract", headers=tenant.headers, files=files, data={"async": "true", **data}
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["details"].get("field") == field
    await assert_the_organization_still_reads(api, tenant)


async def test_a_nul_byte_in_an_uploaded_file_name_is_400(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    # Written by hand: HTTP clients escape a NUL in a file name, an attacker need not.
    body = (
        b"--b\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a\x00.pdf"\r\n\r\n'
        b"%PDF-1.7\n\r\n"
        b'--b\r\nContent-Disposition: form-data; name="async"\r\n\r\ntrue\r\n--b--\r\n'
    )
    response = await api.post(
        "/extract",
        content=body,
        headers={**tenant.headers, "content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["details"].get("field") == "file"
    await assert_the_organization_still_reads(api, tenant)


async def test_hostile_metadata_in_a_batch_is_refused_too(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    response = await api.post(
        "/batch/extract",
        content=f'{{"file_urls": ["{URL}"], "metadata": {{"k": "\\u0000"}}}}',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["details"].get("field") == "metadata.k"
    await assert_the_organization_still_reads(api, tenant)


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        pytest.param('{"description": "a\\u0000"}', "description", 400, id="nul-description"),
        pytest.param('{"description": "a\\ud800"}', "description", 400, id="surrogate-description"),
        pytest.param('{"headers": {"X-A": "a\\ud800"}}', "headers", 400, id="surrogate-header"),
        pytest.param('{"headers": {"X-A": "a\\u0000"}}', "headers", 400, id="nul-header"),
        # A control character is storable, only not a header: refused like a line break.
        pytest.param('{"headers": {"X-A": "a\\u0001"}}', "headers", 422, id="control-in-header"),
    ],
)
async def test_a_hostile_endpoint_is_refused_naming_its_field(
    api: httpx.AsyncClient, tenant: Any, body: str, field: str, status: int
) -> None:
    content = '{"url": "https://example.com/h", ' + body[1:]
    headers = {**tenant.headers, "content-type": "application/json"}
    created = await api.post("/webhook/endpoints", content=content, headers=headers)
    assert created.status_code == status, created.text
    assert field in error_of(created)["message"]

    endpoint = await api.post(
        "/webhook/endpoints", json={"url": "https://example.com/h"}, headers=tenant.headers
    )
    changed = await api.patch(
        f"/webhook/endpoints/{endpoint.json()['id']}", content=body, headers=headers
    )
    assert changed.status_code == status, changed.text
    assert field in error_of(changed)["message"]
    if status == 400:
        assert error_of(changed)["details"]["field"] == field
    await assert_the_organization_still_reads(api, tenant)


async def test_metadata_at_the_limits_is_kept_as_sent(api: httpx.AsyncClient, tenant: Any) -> None:
    metadata = json.loads(nested(MAX_JSON_DEPTH))
    metadata["text"] = "tab\t, newline\n, emoji \U0001f600, accents éü"
    response = await api.post(
        "/extract",
        json={"file_url": URL, "async": True, "metadata": metadata},
        headers=tenant.headers,
    )
    assert response.status_code == 202, response.text
    job = (await api.get(f"/job/{response.json()['job_id']}", headers=tenant.headers)).json()
    assert job["metadata"] == metadata
