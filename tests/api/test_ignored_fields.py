"""A field pagewire does not know is ignored (clients of other document APIs keep
working) but named back to the caller, so a typo like ``pagse`` does not pass unseen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

WARNINGS = "x-pagewire-warnings"


async def test_a_misspelt_form_field_is_named_in_warnings_and_a_header(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    response = await api.post(
        "/extract",
        headers=tenant.headers,
        files={"file": ("doc.pdf", sample_pdf.read_bytes(), "application/pdf")},
        data={"async": "true", "pagse": "1-2", "ocr": "off"},
    )

    assert response.status_code == 202, response.text
    warning = "unknown field 'pagse' was ignored (did you mean 'pages'?)"
    assert response.json()["warnings"] == [warning]
    assert response.headers[WARNINGS] == warning
    # Still accepted as before, with the known options applied and the pages untouched.
    job = (await api.get(f"/job/{response.json()['job_id']}", headers=tenant.headers)).json()
    assert job["options"]["pages"] is None and job["options"]["ocr"] == "off"


async def test_unknown_json_fields_are_named(api: httpx.AsyncClient, tenant: Any) -> None:
    response = await api.post(
        "/extract",
        headers=tenant.headers,
        json={"file_url": "http://127.0.0.1:9/a.pdf", "async": True, "webhook_url": "x"},
    )

    assert response.status_code == 202, response.text
    assert response.json()["warnings"] == ["unknown field 'webhook_url' was ignored"]


async def test_a_clean_request_has_no_warnings_and_no_header(
    api: httpx.AsyncClient, tenant: Any, sample_pdf: Path
) -> None:
    response = await api.post(
        "/extract",
        headers=tenant.headers,
        files={"file": ("doc.pdf", sample_pdf.read_bytes(), "application/pdf")},
        data={"async": "true", "pages": "1", "metadata": "{}", "priority": "3"},
    )

    assert response.status_code == 202, response.text
    assert response.json()["warnings"] == []
    assert WARNINGS not in response.headers


async def test_a_batch_names_its_unknown_fields_too(api: httpx.AsyncClient, tenant: Any) -> None:
    response = await api.post(
        "/batch/extract",
        headers=tenant.headers,
        json={"file_urls": ["http://127.0.0.1:9/a.pdf"], "tabels": False},
    )

    assert response.status_code == 202, response.text
    warning = "unknown field 'tabels' was ignored (did you mean 'tables'?)"
    assert response.json()["warnings"] == [warning]
    assert response.headers[WARNINGS] == warning


async def test_a_field_name_outside_ascii_still_makes_a_valid_header(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    response = await api.post(
        "/extract",
        headers=tenant.headers,
        json={"file_url": "http://127.0.0.1:9/a.pdf", "async": True, "seiten": 1, "páginas": 2},
    )

    assert response.status_code == 202, response.text
    assert response.json()["warnings"][1] == "unknown field 'páginas' was ignored"
    assert "p\\xe1ginas" in response.headers[WARNINGS]
