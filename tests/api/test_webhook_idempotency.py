"""Idempotency-Key on the webhook API's POSTs: a retry replays the first answer, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from pagewire.app import create_app
from pagewire.errors import StoreUnavailable
from pagewire.store import Store
from pagewire.store.migrate import upgrade
from support import Tenant, error_of, make_tenant

HOOK = {"url": "https://example.com/hook"}


def keyed(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


def error_code(response: httpx.Response) -> str:
    return str(error_of(response)["code"])


async def endpoint_ids(api: httpx.AsyncClient, tenant: Tenant) -> list[str]:
    page = (await api.get("/webhook/endpoints", headers=tenant.headers)).json()
    return [e["id"] for e in page["data"]]


async def webhook_test_events(api: httpx.AsyncClient, tenant: Tenant) -> list[str]:
    page = (await api.get("/webhook/messages?type=webhook.test", headers=tenant.headers)).json()
    return [m["id"] for m in page["data"]]


async def test_a_retried_create_returns_the_same_endpoint_and_secret_and_makes_one(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "ep-1"))
    again = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "ep-1"))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.content == first.content
    assert again.json()["secret"].startswith("whsec_")
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await endpoint_ids(api, tenant) == [first.json()["id"]]


async def test_the_same_body_in_another_key_order_or_spacing_is_the_same_request(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"url": "https://example.com/hook", "description": "orders"}
    first = await api.post("/webhook/endpoints", json=body, headers=keyed(tenant, "ep-1"))
    again = await api.post(
        "/webhook/endpoints",
        content=b'{ "description": "orders",\n  "url": "https://example.com/hook" }',
        headers={**keyed(tenant, "ep-1"), "content-type": "application/json"},
    )

    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_requests_without_a_key_are_not_deduplicated(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(2):
        response = await api.post("/webhook/endpoints", json=HOOK, headers=tenant.headers)
        assert response.status_code == 201 and "idempotent-replayed" not in response.headers

    assert len(await endpoint_ids(api, tenant)) == 2


async def test_the_same_key_with_another_body_is_a_conflict_and_creates_nothing(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "ep-1"))
    other = await api.post(
        "/webhook/endpoints",
        json={"url": "https://example.com/other"},
        headers=keyed(tenant, "ep-1"),
    )

    assert other.status_code == 409 and error_code(other) == "idempotency_conflict"
    assert await endpoint_ids(api, tenant) == [first.json()["id"]]


async def test_the_same_key_on_another_path_is_a_conflict_and_does_nothing(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    endpoint = (await api.post("/webhook/endpoints", json=HOOK, headers=tenant.headers)).json()
    await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "k"))

    sent = await api.post(f"/webhook/endpoints/{endpoint['id']}/test", headers=keyed(tenant, "k"))

    assert sent.status_code == 409 and error_code(sent) == "idempotency_conflict"
    assert await webhook_test_events(api, tenant) == []


async def test_another_organization_using_the_same_key_gets_its_own_endpoint(
    api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "ep-1"))
    theirs = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(other_tenant, "ep-1"))

    assert ours.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != ours.json()["id"]
    assert theirs.json()["secret"] != ours.json()["secret"]
    assert await endpoint_ids(api, other_tenant) == [theirs.json()["id"]]


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_a_key_that_is_empty_or_over_255_characters_is_refused(
    api: httpx.AsyncClient, tenant: Tenant, key: str
) -> None:
    refused = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, key))

    assert refused.status_code == 400 and error_code(refused) == "invalid_idempotency_key"
    assert await endpoint_ids(api, tenant) == []
    longest = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "k" * 255))
    assert longest.status_code == 201


async def test_twenty_concurrent_creates_with_one_key_make_one_endpoint(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    responses = await asyncio.gather(
        *(
            api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "burst"))
            for _ in range(20)
        )
    )

    [endpoint_id] = await endpoint_ids(api, tenant)
    for response in responses:
        if response.status_code == 201:
            assert response.json()["id"] == endpoint_id
        else:
            assert response.status_code == 409
            assert error_code(response) == "idempotency_in_progress"
    assert (
        sum(r.status_code == 201 and "idempotent-replayed" not in r.headers for r in responses) == 1
    )


async def test_a_request_refused_with_a_4xx_is_refused_again_without_running(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    bad = {"url": "ftp://example.com/hook"}
    first = await api.post("/webhook/endpoints", json=bad, headers=keyed(tenant, "ep-1"))
    again = await api.post("/webhook/endpoints", json=bad, headers=keyed(tenant, "ep-1"))

    assert first.status_code == again.status_code == 400
    assert error_code(first) == "url_not_allowed"
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert await endpoint_ids(api, tenant) == []


async def test_a_retried_test_sends_one_webhook_test_event(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    endpoint = (await api.post("/webhook/endpoints", json=HOOK, headers=tenant.headers)).json()
    url = f"/webhook/endpoints/{endpoint['id']}/test"

    first = await api.post(url, headers=keyed(tenant, "test-1"))
    again = await api.post(url, headers=keyed(tenant, "test-1"))

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await webhook_test_events(api, tenant) == [first.json()["message_id"]]


async def test_a_retried_rotation_rotates_once(api: httpx.AsyncClient, tenant: Tenant) -> None:
    endpoint = (await api.post("/webhook/endpoints", json=HOOK, headers=tenant.headers)).json()
    url = f"/webhook/endpoints/{endpoint['id']}"

    first = await api.post(f"{url}/rotate-secret", headers=keyed(tenant, "rot-1"))
    again = await api.post(f"{url}/rotate-secret", headers=keyed(tenant, "rot-1"))

    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    current = (await api.get(f"{url}/secret", headers=tenant.headers)).json()
    assert current["secret"] == first.json()["secret"] != endpoint["secret"]


async def test_every_webhook_api_post_replays_its_first_answer(
    api: httpx.AsyncClient, tenant: Tenant, store: Any
) -> None:
    endpoint = (await api.post("/webhook/endpoints", json=HOOK, headers=tenant.headers)).json()
    url = f"/webhook/endpoints/{endpoint['id']}"
    sent = (await api.post(f"{url}/test", headers=tenant.headers)).json()
    since = await store.db.current_time()
    posts: list[tuple[str, Any]] = [
        (f"{url}/disable", None),
        (f"{url}/enable", None),
        (f"{url}/recover", {"since": since}),
        (f"/webhook/messages/{sent['message_id']}/resend", None),
        (f"/webhook/messages/{sent['message_id']}/resend", {"endpoint_id": endpoint["id"]}),
    ]

    for number, (path, body) in enumerate(posts):
        headers = keyed(tenant, f"key-{number}")
        first = await api.post(path, json=body, headers=headers)
        again = await api.post(path, json=body, headers=headers)
        assert first.status_code < 300, first.text
        assert (again.status_code, again.content) == (first.status_code, first.content), path
        assert again.headers["idempotent-replayed"] == "true"


async def test_a_server_side_failure_releases_the_key_for_the_retry(
    api: httpx.AsyncClient, tenant: Tenant, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = (await api.post("/webhook/endpoints", json=HOOK, headers=tenant.headers)).json()
    url = f"/webhook/endpoints/{endpoint['id']}/test"
    send_test = store.webhooks.send_test

    async def unavailable(*args: Any) -> str:
        raise StoreUnavailable("the database is unavailable: connection refused")

    async def broken(*args: Any) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(store.webhooks, "send_test", unavailable)
    failed = await api.post(url, headers=keyed(tenant, "t"))
    assert failed.status_code == 503
    monkeypatch.setattr(store.webhooks, "send_test", broken)
    with pytest.raises(RuntimeError):  # the test transport re-raises what the app logged
        await api.post(url, headers=keyed(tenant, "t"))
    monkeypatch.setattr(store.webhooks, "send_test", send_test)

    retried = await api.post(url, headers=keyed(tenant, "t"))
    assert retried.status_code == 202 and "idempotent-replayed" not in retried.headers
    assert await webhook_test_events(api, tenant) == [retried.json()["message_id"]]


# -- expiry, on an injected clock ------------------------------------------------


@pytest.fixture
async def clocked(settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Tenant, list[float]]]:
    """The API on a store whose clock the test moves: (client, tenant, [now])."""
    now = [1_800_000_000.0]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.from_settings(settings, clock=lambda: now[0])
    await upgrade(store.db)
    tenant = await make_tenant(store, "acme")
    app = create_app(settings, store=store)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, tenant, now
    finally:
        await store.close()


async def test_a_key_older_than_24_hours_lets_the_work_run_again(
    clocked: tuple[httpx.AsyncClient, Tenant, list[float]],
) -> None:
    api, tenant, now = clocked
    first = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "ep-1"))

    now[0] += 24 * 3600 - 1
    replayed = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "ep-1"))
    now[0] += 2
    fresh = await api.post("/webhook/endpoints", json=HOOK, headers=keyed(tenant, "ep-1"))

    assert replayed.json()["id"] == first.json()["id"]
    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]
    assert sorted(await endpoint_ids(api, tenant)) == sorted(
        [first.json()["id"], fresh.json()["id"]]
    )


async def test_the_openapi_document_shows_the_header_where_it_is_honoured(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()
    with_key = {
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }

    assert with_key == {
        "POST /extract",
        "POST /webhook/endpoints",
        "POST /webhook/endpoints/{endpoint_id}/rotate-secret",
        "POST /webhook/endpoints/{endpoint_id}/test",
        "POST /webhook/endpoints/{endpoint_id}/enable",
        "POST /webhook/endpoints/{endpoint_id}/disable",
        "POST /webhook/endpoints/{endpoint_id}/recover",
        "POST /webhook/messages/{message_id}/resend",
    }
    rotate = spec["paths"]["/webhook/endpoints/{endpoint_id}/rotate-secret"]["post"]
    assert [p["name"] for p in rotate["parameters"]] == ["endpoint_id", "Idempotency-Key"]
    extract = spec["paths"]["/extract"]["post"]
    assert "multipart/form-data" in extract["requestBody"]["content"]  # its body kept
