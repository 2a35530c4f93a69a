"""``POST /portal/start`` only from the portal's own pages, and only as a small form.

Login CSRF: a page elsewhere can post a form carrying the attacker's own fresh link;
the victim's browser would then hold a session in the attacker's organization and
might add its endpoint (and its secret) there. Browsers say where a form came from
(``Sec-Fetch-Site``, ``Origin``); the start refuses anything not from the portal.
"""

from __future__ import annotations

import re

import pytest

from pagewire.portal.sessions import SESSION_COOKIE
from portal.helpers import Browser, open_link, portal_link
from support import Tenant


def token_of(link: str) -> str:
    found = re.search(r"token=([^&]+)", link)
    assert found
    return found.group(1)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="fetch-metadata-cross-site"),
        pytest.param({"Origin": "https://attacker.example"}, id="foreign-origin"),
        pytest.param({"Origin": "http://testserver:8080"}, id="another-port"),
        pytest.param({"Origin": "null"}, id="opaque-origin"),
    ],
)
async def test_a_start_posted_from_another_site_is_refused_and_the_link_keeps(
    browser: Browser, tenant: Tenant, headers: dict[str, str]
) -> None:
    victim, attacker = await browser(), await browser()
    link = await portal_link(attacker, tenant)

    response = await victim.post("/portal/start", data={"token": token_of(link)}, headers=headers)

    assert response.status_code == 403, response.text
    assert "forbidden" in response.text
    assert SESSION_COOKIE not in victim.cookies
    # Refused before the link was looked at: its owner can still open it.
    assert (await open_link(attacker, link)).status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, id="same"),
        pytest.param({"Sec-Fetch-Site": "none"}, id="typed-into-the-address-bar"),
        pytest.param({}, id="a-client-that-sends-neither"),
    ],
)
async def test_a_start_from_the_portal_itself_still_opens_a_session(
    browser: Browser, tenant: Tenant, headers: dict[str, str]
) -> None:
    client = await browser()
    link = await portal_link(client, tenant)

    response = await client.post("/portal/start", data={"token": token_of(link)}, headers=headers)

    assert response.status_code == 303, response.text
    assert SESSION_COOKIE in client.cookies


async def test_a_start_that_is_not_a_small_url_encoded_form_is_refused(
    browser: Browser, tenant: Tenant
) -> None:
    client = await browser()
    link = await portal_link(client, tenant)

    as_upload = await client.post(
        "/portal/start", data={"token": token_of(link)}, files={"f": ("a.bin", b"x" * 1000)}
    )
    oversized = await client.post(
        "/portal/start", data={"token": token_of(link), "padding": "x" * 200_000}
    )

    assert as_upload.status_code == 415, as_upload.text
    assert oversized.status_code == 413, oversized.text
    assert SESSION_COOKIE not in client.cookies
