"""POST /webhook links, their one-time exchange for a session, and how sessions end."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pagewire.portal.sessions import SESSION_COOKIE, Signer
from pagewire.settings import Settings
from portal.helpers import Browser, csrf_of, open_link, portal_link
from support import Tenant


async def test_the_link_points_at_the_portal_under_the_public_url(
    browser: Browser, tenant: Tenant
) -> None:
    client = await browser()

    response = await client.post("/webhook", headers=tenant.headers)

    body = response.json()
    assert response.status_code == 200
    assert body["link"].startswith("http://testserver/portal/start?token=")
    assert body["expires_at"].endswith("Z")
    assert tenant.api_key not in body["link"]


async def test_a_link_needs_an_api_key(browser: Browser) -> None:
    response = await (await browser()).post("/webhook")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


async def test_the_first_visit_sets_a_session_cookie_and_lands_on_a_clean_url(
    browser: Browser, tenant: Tenant
) -> None:
    client = await browser()
    link = await portal_link(client, tenant)

    response = await open_link(client, link)

    assert response.status_code == 303
    assert response.headers["location"] == "/portal/endpoints"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    landed = await client.get(response.headers["location"])
    assert landed.status_code == 200 and "<h1>Endpoints</h1>" in landed.text


async def test_the_session_cookie_is_secure_over_https(browser: Browser, tenant: Tenant) -> None:
    client = await browser(base_url="https://testserver")
    link = await portal_link(client, tenant)

    response = await open_link(client, link.replace("http://", "https://"))

    assert "Secure" in response.headers["set-cookie"]


async def test_a_link_works_once(browser: Browser, tenant: Tenant) -> None:
    first, second = await browser(), await browser()
    link = await portal_link(first, tenant)
    assert (await open_link(first, link)).status_code == 303

    reused = await second.get(link)

    assert reused.status_code == 401
    assert "portal_link_used" in reused.text and "already used" in reused.text
    assert reused.headers["content-type"].startswith("text/html")
    assert SESSION_COOKIE not in second.cookies


async def test_a_link_preview_does_not_use_the_link_up(browser: Browser, tenant: Tenant) -> None:
    # Mail scanners and chat apps GET a link to preview it, some more than once.
    preview, owner = await browser(), await browser()
    link = await portal_link(owner, tenant)
    for _ in range(3):
        seen = await preview.get(link)
        assert seen.status_code == 200 and "Open the portal" in seen.text
        assert SESSION_COOKIE not in preview.cookies

    opened = await open_link(owner, link)

    assert opened.status_code == 303 and SESSION_COOKIE in owner.cookies
    assert (await owner.get("/portal/endpoints")).status_code == 200


async def test_a_form_post_without_a_valid_token_opens_nothing(
    browser: Browser, tenant: Tenant
) -> None:
    client = await browser()
    for data in ({}, {"token": "not-a-token"}):
        response = await client.post("/portal/start", data=data)
        assert response.status_code == 401
        assert SESSION_COOKIE not in client.cookies


async def test_opening_a_used_link_again_keeps_the_session_it_started(
    browser: Browser, tenant: Tenant
) -> None:
    client = await browser()
    link = await portal_link(client, tenant)
    await open_link(client, link)

    again = await client.get(link)

    assert again.status_code == 401
    assert (await client.get("/portal/endpoints")).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda token: token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"), id="bad-mac"
        ),
        pytest.param(lambda token: token.split(".")[0], id="no-mac"),
        pytest.param(lambda token: "not-a-token", id="garbage"),
        pytest.param(lambda token: "", id="empty"),
    ],
)
async def test_a_forged_link_is_refused(browser: Browser, tenant: Tenant, tamper: Any) -> None:
    client = await browser()
    link = await portal_link(client, tenant)
    token = link.split("token=", 1)[1]

    response = await client.get("/portal/start", params={"token": tamper(token)})

    assert response.status_code == 401
    assert "portal_link_invalid" in response.text or "portal_link_missing" in response.text
    assert SESSION_COOKIE not in client.cookies


async def test_a_link_signed_with_another_key_is_refused(browser: Browser, tenant: Tenant) -> None:
    client = await browser()
    real = (await portal_link(client, tenant)).split("token=", 1)[1]
    stranger = Signer(b"someone-else's-key-0123456789")
    # The real link's claims, re-signed by someone without the server's key.
    forged = stranger.sign("link", json.loads(base64.urlsafe_b64decode(real.split(".")[0] + "==")))

    response = await client.get("/portal/start", params={"token": forged})

    assert response.status_code == 401 and "portal_link_invalid" in response.text


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clocked_app(settings: Any, store: Any) -> AsyncIterator[tuple[FastAPI, Clock]]:
    """The app on the same database, with a clock the test moves (never sleeps)."""
    from pagewire.app import create_app
    from pagewire.store import Store

    clock = Clock()
    clocked = Store.from_settings(settings, clock=clock)
    application = create_app(settings, store=clocked, migrate=False)
    try:
        async with application.router.lifespan_context(application):
            yield application, clock
    finally:
        await clocked.close()


@contextlib.asynccontextmanager
async def client_of(application: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_an_expired_link_is_refused(
    clocked_app: tuple[FastAPI, Clock], tenant: Tenant, settings: Settings
) -> None:
    application, clock = clocked_app
    async with client_of(application) as client:
        link = await portal_link(client, tenant)
        clock.now += settings.portal_link_ttl_seconds + 1

        response = await client.get(link)

    assert response.status_code == 401
    assert "portal_link_expired" in response.text and "expired" in response.text


async def test_a_link_used_just_before_it_expires_still_works(
    clocked_app: tuple[FastAPI, Clock], tenant: Tenant, settings: Settings
) -> None:
    application, clock = clocked_app
    async with client_of(application) as client:
        link = await portal_link(client, tenant)
        clock.now += settings.portal_link_ttl_seconds - 1

        assert (await open_link(client, link)).status_code == 303


async def test_a_session_ends_when_it_expires(
    clocked_app: tuple[FastAPI, Clock], tenant: Tenant, settings: Settings
) -> None:
    application, clock = clocked_app
    async with client_of(application) as client:
        await open_link(client, await portal_link(client, tenant))
        assert (await client.get("/portal/endpoints")).status_code == 200
        clock.now += settings.portal_session_ttl_seconds + 1

        response = await client.get("/portal/endpoints")

        assert response.status_code == 401
        assert "portal_session_ended" in response.text
        assert SESSION_COOKIE not in client.cookies  # the dead cookie was cleared


async def test_pages_without_a_session_ask_for_a_new_link(browser: Browser) -> None:
    client = await browser()

    for path in ("/portal/endpoints", "/portal/messages", "/portal/verify"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.headers["content-type"].startswith("text/html")
        assert "portal_session_missing" in response.text


async def test_a_forged_session_cookie_is_refused(browser: Browser, tenant: Tenant) -> None:
    client = await browser()
    forged = Signer(b"not-the-server-key-0123456789").sign(
        "session", {"s": "ps_x", "o": tenant.org_id}
    )
    client.cookies.set(SESSION_COOKIE, forged, path="/portal")

    response = await client.get("/portal/endpoints")

    assert response.status_code == 401 and "portal_session_invalid" in response.text


async def test_a_link_token_is_not_a_session_cookie(browser: Browser, tenant: Tenant) -> None:
    client = await browser()
    token = (await portal_link(client, tenant)).split("token=", 1)[1]
    client.cookies.set(SESSION_COOKIE, token, path="/portal")

    response = await client.get("/portal/endpoints")

    assert response.status_code == 401


async def test_signing_out_ends_the_session(browser: Browser, tenant: Tenant) -> None:
    client = await browser(tenant)
    page = (await client.get("/portal/endpoints")).text
    cookie = client.cookies[SESSION_COOKIE]

    response = await client.post("/portal/sign-out", data={"csrf_token": csrf_of(page)})

    assert response.status_code == 200 and "Signed out" in response.text
    client.cookies.set(SESSION_COOKIE, cookie, path="/portal")  # a copy kept by someone
    assert (await client.get("/portal/endpoints")).status_code == 401


def test_the_signing_key_is_generated_once_kept_private_and_shared(tmp_path: Any) -> None:
    first = Settings(data_dir=tmp_path / "data")
    second = Settings(data_dir=tmp_path / "data")  # another process on the same data dir

    key = first.signing_key()

    assert len(key) >= 32 and second.signing_key() == key
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / "secret_key").st_mode)
    assert mode == 0o600
    assert Settings(data_dir=tmp_path / "data", secret_key="configured").signing_key() == (
        b"configured"
    )
    assert "configured" not in repr(Settings(secret_key="configured"))
