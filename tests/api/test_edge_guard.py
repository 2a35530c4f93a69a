"""What the HTTP edge refuses before a route reads anything, through the whole ASGI app.

The memory a refused body costs a real server is measured in
``tests/e2e/test_hostile_bodies.py``; these check the answers, on both databases
where a database is asked (the key, a NUL reaching a query).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from pagewire.app import create_app
from support import error_of

KB = 1024


async def chunks(total: int, piece: bytes = b"a" * KB) -> AsyncIterator[bytes]:
    """A body without a Content-Length: sent chunked, counted as it arrives."""
    yield b'{"url": "https://example.com/h", "description": "'
    for _ in range(total // len(piece)):
        yield piece
    yield b'"}'


@pytest.fixture
async def small_api(settings_factory: Any, store: Any) -> AsyncIterator[httpx.AsyncClient]:
    """JSON bodies up to 4 KB, uploads up to 8 KB."""
    settings = settings_factory(max_json_bytes=4 * KB, max_upload_bytes=8 * KB)
    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.mark.parametrize(
    "path", ["/job/%00", "/job/%00/result", "/jobs?cursor=a%00", "/webhook/messages?job_id=%00"]
)
async def test_a_nul_in_the_url_is_400(api: httpx.AsyncClient, tenant: Any, path: str) -> None:
    response = await api.get(path, headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "invalid_request"


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
async def test_a_json_body_over_the_limit_is_413(
    small_api: httpx.AsyncClient, tenant: Any, chunked: bool
) -> None:
    body: Any = chunks(8 * KB) if chunked else b'{"description": "' + b"a" * 8 * KB + b'"}'
    response = await small_api.post(
        "/webhook/endpoints",
        content=body,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    error = error_of(response)
    assert error["code"] == "payload_too_large" and error["details"]["max_bytes"] == 4 * KB
    assert (await small_api.get("/webhook/endpoints", headers=tenant.headers)).json()["data"] == []


async def test_an_upload_over_the_limit_is_413_and_one_under_it_is_taken(
    small_api: httpx.AsyncClient, tenant: Any
) -> None:
    def upload(size: int) -> dict[str, Any]:
        return {"file": ("a.pdf", b"%PDF-1.7\n" + b"a" * size)}

    over = await small_api.post(
        "/extract", headers=tenant.headers, files=upload(80 * KB), data={"async": "true"}
    )
    under = await small_api.post(
        "/extract", headers=tenant.headers, files=upload(6 * KB), data={"async": "true"}
    )
    assert over.status_code == 413 and error_of(over)["code"] == "payload_too_large"
    assert under.status_code == 202, under.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "pw_not-a-key"}, {"Authorization": "Bearer pw_not-a-key"}],
    ids=["no-key", "unknown-key", "unknown-bearer"],
)
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
async def test_a_body_without_a_valid_key_is_401_before_it_is_parsed(
    small_api: httpx.AsyncClient, headers: dict[str, str], chunked: bool
) -> None:
    # Not JSON at all: had it been parsed, the answer would be about that.
    body: Any = chunks(2 * KB, piece=b"{[") if chunked else b"{[" * KB
    response = await small_api.post(
        "/webhook/endpoints",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 401, response.text
    assert error_of(response)["code"] in {"missing_api_key", "invalid_api_key"}
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_routes_that_read_no_body_answer_as_before(small_api: httpx.AsyncClient) -> None:
    """The key is asked for when a body is read, so a stray body changes nothing."""
    assert (await small_api.post("/healthz", content=b"x")).status_code == 405
    assert (await small_api.get("/healthz")).status_code == 200
