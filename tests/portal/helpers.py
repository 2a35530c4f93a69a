"""Helpers of the portal tests: sign in with a real link, read forms off real pages."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from support import Tenant

# ``await browser()``: an HTTP client with its own cookie jar (see conftest.py).
Browser = Callable[..., Awaitable[httpx.AsyncClient]]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def portal_link(client: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await client.post("/webhook", headers=tenant.headers)
    assert response.status_code == 200, response.text
    link: str = response.json()["link"]
    return link


async def open_link(client: httpx.AsyncClient, link: str) -> httpx.Response:
    """Follow a portal link as its owner does: the link's page, then its button."""
    page = await client.get(link)
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token, "the link's page has no form carrying its token"
    action = link.split("?", 1)[0]  # the form posts back to /portal/start
    return await client.post(action, data={"token": html.unescape(token.group(1))})


async def sign_in(client: httpx.AsyncClient, tenant: Tenant) -> httpx.Response:
    """Open a fresh portal link in ``client`` (which then holds the session cookie)."""
    return await open_link(client, await portal_link(client, tenant))


async def submit(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, Any] | None = None
) -> httpx.Response:
    """Post a form the way a browser does: with the CSRF token ``page`` rendered."""
    token = csrf_of((await client.get(page)).text)
    return await client.post(action, data={**(data or {}), "csrf_token": token})
