"""The webhook routes through the whole ASGI app: endpoints, secrets, messages, errors.

The routes do not care which database is behind them (the store's contract suite
runs on both), so these run on SQLite.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pagewire.app import create_app
from webhooks.support import Receiver, emit


@pytest.fixture
def backend(tmp_path: Path) -> Any:
    from support import Backend

    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


async def create(api: httpx.AsyncClient, tenant: Any, **body: Any) -> dict[str, Any]:
    response = await api.post(
        "/webhook/endpoints",
        json={"url": "https://example.com/hook", **body},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_endpoint_is_created_with_its_secret_listed_read_changed_and_deleted(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    first = await create(
        api,
        tenant,
        description="orders",
        event_types=["job.completed", "job.failed"],
        headers={"X-Team": "docs"},
        rate_limit=10,
    )
    second = await create(api, tenant)
    assert first["id"].startswith("ep_") and first["secret"].startswith("whsec_")
    assert first["event_types"] == ["job.completed", "job.failed"] and first["enabled"] is True

    page = (await api.get("/webhook/endpoints?limit=1", headers=tenant.headers)).json()
    rest = (
        await api.get(
            f"/webhook/endpoints?limit=1&cursor={page['next_cursor']}", headers=tenant.headers
        )
    ).json()
    assert [e["id"] for e in page["data"] + rest["data"]] == [second["id"], first["id"]]
    assert rest["next_cursor"] is None and "secret" not in page["data"][0]

    url = f"/webhook/endpoints/{first['id']}"
    changed = await api.patch(
        url, json={"description": "all orders", "event_types": None}, headers=tenant.headers
    )
    assert changed.status_code == 200
    assert changed.json()["description"] == "all orders" and changed.json()["event_types"] is None
    assert changed.json()["headers"] == {"X-Team": "docs"}  # untouched
    assert (await api.get(url, headers=tenant.headers)).json()["description"] == "all orders"

    assert (await api.delete(url, headers=tenant.headers)).status_code == 204
    gone = await api.get(url, headers=tenant.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


async def test_the_secret_is_readable_and_rotation_returns_a_new_one(
    api: httpx.AsyncClient, tenant: Any, store: Any
) -> None:
    endpoint = await create(api, tenant)
    url = f"/webhook/endpoints/{endpoint['id']}"
    assert (await api.get(f"{url}/secret", headers=tenant.headers)).json() == {
        "secret": endpoint["secret"]
    }
    rotated = (await api.post(f"{url}/rotate-secret", headers=tenant.headers)).json()["secret"]
    assert rotated.startswith("whsec_") and rotated != endpoint["secret"]
    assert (await api.get(f"{url}/secret", headers=tenant.headers)).json()["secret"] == rotated
    stored = await store.webhooks.get_endpoint(tenant.org_id, endpoint["id"])
    assert stored.previous_secret == endpoint["secret"]
    grace = stored.previous_secret_expires_at - stored.updated_at
    assert grace == pytest.approx(24 * 3600, abs=5)


async def test_another_organizations_endpoint_is_not_found(
    api: httpx.AsyncClient, tenant: Any, other_tenant: Any
) -> None:
    endpoint = await create(api, tenant)
    url = f"/webhook/endpoints/{endpoint['id']}"
    other = other_tenant.headers
    for response in (
        await api.get(url, headers=other),
        await api.patch(url, json={"description": "x"}, headers=other),
        await api.delete(url, headers=other),
        await api.get(f"{url}/secret", headers=other),
        await api.post(f"{url}/rotate-secret", headers=other),
        await api.post(f"{url}/test", headers=other),
        await api.post(f"{url}/disable", headers=other),
        await api.post(f"{url}/recover", json={"since": "2026-01-01T00:00:00Z"}, headers=other),
    ):
        assert response.status_code == 404, response.text
    assert (await api.get("/webhook/endpoints", headers=other)).json()["data"] == []
    assert (await api.get("/webhook/endpoints")).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_types": ["job.exploded"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"headers": {"webhook-signature": "v1,forged"}}, "headers"),
        ({"headers": {"Content-Type": "text/plain"}}, "headers"),
        ({"headers": {"X-Bad": "a\r\nInjected: yes"}}, "headers"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_endpoints_are_refused_with_the_field_named(
    api: httpx.AsyncClient, tenant: Any, body: dict[str, Any], field: str
) -> None:
    response = await api.post(
        "/webhook/endpoints", json={"url": "https://example.com/h", **body}, headers=tenant.headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]


@pytest.fixture
async def strict_api(settings_factory: Any, store: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API as in production: private URLs refused, https required."""
    app = create_app(settings_factory(allow_private_urls=False), store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://10.0.0.8/hook",
        "https://172.16.3.4/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/hook",
        "http://example.com/hook",  # public, but not https
        "ftp://example.com/hook",
    ],
)
async def test_endpoint_urls_the_ssrf_guard_refuses(
    strict_api: httpx.AsyncClient, tenant: Any, url: str
) -> None:
    response = await strict_api.post(
        "/webhook/endpoints", json={"url": url}, headers=tenant.headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "url_not_allowed"


async def test_changing_the_url_goes_through_the_ssrf_guard_too(
    strict_api: httpx.AsyncClient, tenant: Any, store: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/h")
    response = await strict_api.patch(
        f"/webhook/endpoints/{endpoint.id}",
        json={"url": "https://169.254.169.254/"},
        headers=tenant.headers,
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "url_not_allowed"
    assert (await store.webhooks.get_endpoint(tenant.org_id, endpoint.id)).url == (
        "https://example.com/h"
    )


async def test_plain_http_is_allowed_only_by_its_setting_and_private_addresses_stay_refused(
    settings_factory: Any, store: Any, tenant: Any
) -> None:
    app = create_app(
        settings_factory(allow_private_urls=False, allow_http_webhooks=True), store=store
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            private = await client.post(
                "/webhook/endpoints", json={"url": "http://127.0.0.1/h"}, headers=tenant.headers
            )
            public = await client.post(
                "/webhook/endpoints", json={"url": "http://93.184.215.14/h"}, headers=tenant.headers
            )
    assert private.status_code == 400 and public.status_code == 201


async def test_a_test_event_disable_enable_and_recover(
    api: httpx.AsyncClient, tenant: Any, store: Any
) -> None:
    endpoint = await create(api, tenant)
    url = f"/webhook/endpoints/{endpoint['id']}"
    since = await store.db.current_time()

    sent = await api.post(f"{url}/test", headers=tenant.headers)
    assert sent.status_code == 202
    message_id = sent.json()["message_id"]
    message = (await api.get(f"/webhook/messages/{message_id}", headers=tenant.headers)).json()
    assert message["type"] == "webhook.test"
    assert [(d["endpoint_id"], d["status"]) for d in message["deliveries"]] == [
        (endpoint["id"], "pending")
    ]

    disabled = (await api.post(f"{url}/disable", headers=tenant.headers)).json()
    assert disabled["enabled"] is False and disabled["disabled_reason"] == "disabled by a user"
    refused = await api.post(f"{url}/test", headers=tenant.headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "endpoint_disabled"

    assert (await api.post(f"{url}/enable", headers=tenant.headers)).json()["enabled"] is True
    recovered = await api.post(f"{url}/recover", json={"since": since}, headers=tenant.headers)
    assert recovered.status_code == 202 and recovered.json() == {"requeued": 1}
    bad = await api.post(f"{url}/recover", json={"since": "yesterday"}, headers=tenant.headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_time"


async def test_messages_are_listed_with_filters_and_shown_with_every_attempt(
    api: httpx.AsyncClient, tenant: Any, other_tenant: Any, store: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/h")
    created, _ = await emit(store, tenant.org_id, type_="job.created", job_id="job_a", sequence=1)
    done, _ = await emit(store, tenant.org_id, type_="job.completed", job_id="job_a", sequence=2)
    other, _ = await emit(store, tenant.org_id, type_="job.created", job_id="job_b", sequence=1)
    [claimed, _] = await store.deliveries.claim_deliveries(10, lease_seconds=30, per_endpoint=10)
    from pagewire.models import AttemptRecord

    await store.deliveries.record_attempts(
        [
            AttemptRecord(
                claimed, "retry", status_code=502, latency_ms=3.5, response_body="bad", retry_in=60
            )
        ]
    )

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["data"]]

    h = tenant.headers
    assert ids(await api.get("/webhook/messages", headers=h)) == [other, done, created]
    assert ids(await api.get("/webhook/messages?job_id=job_a", headers=h)) == [done, created]
    assert ids(await api.get("/webhook/messages?type=job.created", headers=h)) == [other, created]
    assert ids(await api.get("/webhook/messages?after=2000-01-01T00:00:00Z", headers=h)) != []
    assert ids(await api.get("/webhook/messages?before=2000-01-01T00:00:00Z", headers=h)) == []
    first = (await api.get("/webhook/messages?limit=2", headers=h)).json()
    rest = await api.get(f"/webhook/messages?limit=2&cursor={first['next_cursor']}", headers=h)
    assert ids(rest) == [created]
    assert ids(await api.get("/webhook/messages", headers=other_tenant.headers)) == []

    detail = (await api.get(f"/webhook/messages/{claimed.event_id}", headers=h)).json()
    [delivery] = detail["deliveries"]
    [attempt] = delivery["attempts"]
    assert delivery["status"] == "pending" and delivery["attempt_count"] == 1
    assert delivery["next_attempt_at"] is not None
    assert (attempt["status_code"], attempt["latency_ms"], attempt["response_body"]) == (
        502,
        3.5,
        "bad",
    )
    assert detail["payload"]["type"] == "job.created"
    missing = await api.get(f"/webhook/messages/{claimed.event_id}", headers=other_tenant.headers)
    assert missing.status_code == 404

    resent = await api.post(f"/webhook/messages/{claimed.event_id}/resend", headers=h)
    assert resent.status_code == 202 and resent.json() == {"requeued": 1}


SUCCEEDED_ONCE = 'pagewire_webhook_attempts_total{outcome="succeeded"} 1.0'


async def test_serve_delivers_a_submitted_jobs_event_and_reports_it_in_metrics(
    settings_factory: Any, store: Any, tenant: Any, sample_pdf: Path
) -> None:
    receiver = await Receiver().start()
    settings = settings_factory(webhook_retry_schedule="0,0.05")
    app = create_app(settings, store=store, run_dispatcher=True)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                endpoint = await client.post(
                    "/webhook/endpoints", json={"url": receiver.url}, headers=tenant.headers
                )
                receiver.secret = endpoint.json()["secret"]
                submitted = await client.post(
                    "/extract",
                    files={"file": ("a.pdf", sample_pdf.read_bytes(), "application/pdf")},
                    data={"async": "true"},
                    headers=tenant.headers,
                )
                [received] = await receiver.wait_for(1)
                # counted once the answer is recorded: wait for the count, not a pause
                for _ in range(500):
                    metrics = (await client.get("/metrics")).text
                    if SUCCEEDED_ONCE in metrics:
                        break
                    await asyncio.sleep(0.02)
    finally:
        await receiver.close()
    assert received.payload["type"] == "job.created"
    assert received.payload["data"]["job_id"] == submitted.json()["job_id"]
    receiver.assert_verified()
    assert SUCCEEDED_ONCE in metrics
    assert "pagewire_webhook_attempt_seconds_bucket" in metrics


async def test_a_name_that_resolves_to_a_private_address_is_refused(
    strict_api: httpx.AsyncClient, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    # The system resolver (the loop's getaddrinfo) answers as an /etc/hosts line
    # mapping an intranet name to one of the network's own addresses would.
    loop = asyncio.get_running_loop()

    async def hosts_file(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.7.9", port))]

    monkeypatch.setattr(loop, "getaddrinfo", hosts_file)
    response = await strict_api.post(
        "/webhook/endpoints", json={"url": "https://files.intranet/hook"}, headers=tenant.headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "url_not_allowed"
    assert "192.168.7.9" in response.json()["error"]["message"]


async def test_an_api_node_without_a_dispatcher_reports_the_webhook_backlog(
    settings: Any, tenant: Any, receiver: Receiver
) -> None:
    """``pagewire serve --no-dispatch``: the backlog gauges come from the database."""
    from pagewire.store import Store

    now = [time.time()]
    store = Store.from_settings(settings, clock=lambda: now[0])  # a clock the test moves
    app = create_app(settings, store=store)
    try:
        async with app.router.lifespan_context(app):
            await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
            for _ in range(3):
                await emit(store, tenant.org_id)
            now[0] += 90  # a minute and a half later, nothing delivered
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get("/metrics")
    finally:
        await store.close()
    assert response.status_code == 200
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples["pagewire_webhook_due_deliveries"] == 3
    assert samples["pagewire_webhook_oldest_pending_delivery_age_seconds"] == 90
    assert "pagewire_webhook_attempts_total" not in samples  # no dispatcher here


async def test_up_to_20_custom_headers_are_kept_and_a_21st_is_refused(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    twenty = {f"X-Custom-{i}": str(i) for i in range(20)}
    created = await api.post(
        "/webhook/endpoints",
        json={"url": "https://example.com/h", "headers": twenty},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["headers"] == twenty

    too_many = {**twenty, "X-Custom-20": "20"}
    for response in (
        await api.post(
            "/webhook/endpoints",
            json={"url": "https://example.com/h", "headers": too_many},
            headers=tenant.headers,
        ),
        await api.patch(
            f"/webhook/endpoints/{created.json()['id']}",
            json={"headers": too_many},
            headers=tenant.headers,
        ),
    ):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert "at most 20 custom headers" in error["message"], error
    kept = await api.get(f"/webhook/endpoints/{created.json()['id']}", headers=tenant.headers)
    assert kept.json()["headers"] == twenty  # the refused change lost nothing


@pytest.mark.parametrize(
    "name", ["Host", "user-agent", "Svix-Id", "svix-signature", "Webhook-Id", "webhook-timestamp"]
)
async def test_a_header_pagewire_sets_itself_cannot_be_a_custom_header(
    api: httpx.AsyncClient, tenant: Any, name: str
) -> None:
    response = await api.post(
        "/webhook/endpoints",
        json={"url": "https://example.com/h", "headers": {name: "mine"}},
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert f"the {name} header is set by pagewire and cannot be changed" in error["message"]
    listed = await api.get("/webhook/endpoints", headers=tenant.headers)
    assert listed.json()["data"] == []  # nothing was created
