"""Response headers that keep secrets out of caches and pages out of other sites' frames."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.helpers import sign_in
from support import Backend


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """SQLite only: headers do not depend on the database."""
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


def assert_not_cached(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", response.headers


def assert_not_frameable(response: httpx.Response) -> None:
    assert response.headers.get("x-frame-options") == "DENY", response.headers
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")


async def test_json_responses_are_never_sniffed_or_cached(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    responses = [
        await api.get("/jobs", headers=tenant.headers),
        await api.get("/jobs"),  # an error is JSON too
        await api.get("/job/job_missing", headers=tenant.headers),
        await api.get("/healthz"),
    ]
    for response in responses:
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers.get("x-content-type-options") == "nosniff"
        assert_not_cached(response)


async def test_every_response_that_carries_a_secret_is_no_store(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    created = await api.post(
        "/webhook/endpoints", json={"url": "https://example.com/h"}, headers=tenant.headers
    )
    endpoint = created.json()["id"]
    secret = await api.get(f"/webhook/endpoints/{endpoint}/secret", headers=tenant.headers)
    rotated = await api.post(f"/webhook/endpoints/{endpoint}/rotate-secret", headers=tenant.headers)
    link = await api.post("/webhook", headers=tenant.headers)  # a one-time sign-in link
    for response in (created, secret, rotated, link):
        assert response.status_code in (200, 201), response.text
        assert_not_cached(response)


async def test_the_docs_and_the_portal_cannot_be_framed(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    docs = await api.get("/docs")
    await sign_in(api, tenant)
    portal_page = await api.get("/portal/endpoints")
    assert docs.status_code == 200 and portal_page.status_code == 200
    for response in (docs, portal_page):
        assert_not_frameable(response)
    assert_not_cached(portal_page)


async def test_a_header_a_route_sets_itself_is_kept(api: httpx.AsyncClient) -> None:
    """The portal's stricter policy is its own; the defaults only fill gaps."""
    page = await api.get("/portal/start")  # an error page: no link
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_the_docs_assets_are_cached_and_nothing_else_is(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    """Swagger UI's bundle is megabytes: a browser keeps it (forever, when the URL is
    versioned) instead of fetching it on every visit to /docs, while the pages, the
    document and the API stay no-store."""
    docs, redoc = await api.get("/docs"), await api.get("/redoc")
    linked = re.findall(r'"(/docs/assets/[^"?]+)\?v=([^"]+)"', docs.text + redoc.text)
    assert {name for name, _ in linked} >= {
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/docs/assets/redoc.standalone.js",
    }
    [version] = {v for _, v in linked}

    for name, _ in linked:
        versioned = await api.get(name, params={"v": version})
        assert versioned.status_code == 200 and versioned.content
        assert versioned.headers["cache-control"] == "public, max-age=86400, immutable"
        assert versioned.headers["x-content-type-options"] == "nosniff"
    bundle = "/docs/assets/swagger-ui-bundle.js"
    unversioned = await api.get(bundle)
    stale = await api.get(bundle, params={"v": "0.0.0"})
    again = await api.get(bundle, headers={"if-none-match": unversioned.headers["etag"]})
    for response in (unversioned, stale):
        assert response.headers["cache-control"] == "public, max-age=86400"  # revalidated daily
    assert again.status_code == 304 and again.headers["cache-control"] == "public, max-age=86400"

    missing = await api.get("/docs/assets/nothing.js", params={"v": version})
    openapi = await api.get("/openapi.json")
    for response in (docs, redoc, openapi, missing, await api.get("/jobs", headers=tenant.headers)):
        assert_not_cached(response)
    assert missing.status_code == 404
