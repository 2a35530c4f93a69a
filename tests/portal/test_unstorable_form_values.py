"""The portal's endpoint form refuses what the database cannot keep, as the API does."""

from __future__ import annotations

import httpx

from portal.helpers import Browser, submit
from support import Tenant


async def test_a_nul_in_a_description_is_a_form_error_not_a_crash(
    browser: Browser, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    client = await browser(tenant)

    response = await submit(
        client,
        "/portal/endpoints/new",
        "/portal/endpoints",
        {"url": "https://hooks.example.com/h", "description": "a\x00b", "headers": ""},
    )

    assert response.status_code == 400, response.text
    assert "description contains a NUL character" in response.text
    assert (await api.get("/webhook/endpoints", headers=tenant.headers)).json()["data"] == []
