"""``client.webhooks`` endpoint and message methods against the real API in-process.

Each test runs with ``Pagewire`` and with ``AsyncPagewire``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pagewire import BadRequestError, NotFoundError
from pagewire.client import Endpoint, Message
from sdk.twins import Twin, make_client

HOOK = "http://127.0.0.1:9/hooks/pagewire"


async def test_an_endpoint_is_created_with_its_secret_and_read_back_without_it(
    client: Twin,
) -> None:
    created = await client.webhooks.create_endpoint(
        HOOK, description="billing", event_types=["job.completed", "job.failed"]
    )

    assert isinstance(created, Endpoint)
    assert created.id and created.secret and created.secret.startswith("whsec_")
    assert created.event_types == ["job.completed", "job.failed"] and created.enabled
    read = await client.webhooks.get_endpoint(created.id)
    assert read.url == HOOK and read.description == "billing" and read.secret is None
    assert await client.webhooks.get_endpoint_secret(created.id) == created.secret


async def test_update_changes_only_the_fields_given(client: Twin) -> None:
    endpoint = await client.webhooks.create_endpoint(HOOK, description="before")

    updated = await client.webhooks.update_endpoint(endpoint.id, event_types=["job.completed"])

    assert updated.event_types == ["job.completed"] and updated.description == "before"
    cleared = await client.webhooks.update_endpoint(endpoint.id, description=None)
    assert cleared.description is None


async def test_rotating_the_secret_returns_a_new_one(client: Twin) -> None:
    endpoint = await client.webhooks.create_endpoint(HOOK)

    rotated = await client.webhooks.rotate_endpoint_secret(endpoint.id)

    assert rotated.startswith("whsec_") and rotated != endpoint.secret
    assert await client.webhooks.get_endpoint_secret(endpoint.id) == rotated


async def test_disable_then_enable(client: Twin) -> None:
    endpoint = await client.webhooks.create_endpoint(HOOK)

    assert not (await client.webhooks.disable_endpoint(endpoint.id)).enabled
    assert (await client.webhooks.enable_endpoint(endpoint.id)).enabled


async def test_list_endpoints_walks_every_page(client: Twin) -> None:
    made = {(await client.webhooks.create_endpoint(f"{HOOK}/{i}")).id for i in range(3)}

    listed = {e.id for e in await client.webhooks.list_endpoints(page_size=2)}

    assert listed == made


async def test_a_deleted_endpoint_is_not_found(client: Twin) -> None:
    endpoint = await client.webhooks.create_endpoint(HOOK)

    await client.webhooks.delete_endpoint(endpoint.id)

    with pytest.raises(NotFoundError):
        await client.webhooks.get_endpoint(endpoint.id)


async def test_an_unknown_event_type_is_a_bad_request(client: Twin) -> None:
    with pytest.raises(BadRequestError, match=r"job\.exploded"):
        await client.webhooks.create_endpoint(HOOK, event_types=["job.exploded"])


async def test_a_submitted_job_leaves_a_message_with_one_delivery_per_endpoint(
    client: Twin, sample_pdf: Path
) -> None:
    endpoint = await client.webhooks.create_endpoint(HOOK)
    submission = await client.extract(file=sample_pdf, metadata={"user_id": "u-7"})

    messages = await client.webhooks.list_messages(job_id=submission.job_id)

    assert [m.type for m in messages] == ["job.created"]
    message = await client.webhooks.get_message(messages[0].id)
    assert isinstance(message, Message) and message.id.startswith("msg_")
    assert message.payload["data"]["metadata"] == {"user_id": "u-7"}
    assert [d.endpoint_id for d in message.deliveries] == [endpoint.id]
    assert message.deliveries[0].status == "pending"


async def test_messages_filter_by_type_and_resend_requeues_them(
    client: Twin, sample_pdf: Path
) -> None:
    endpoint = await client.webhooks.create_endpoint(HOOK)
    submission = await client.extract(file=sample_pdf)
    await client.jobs.cancel_job(submission.job_id)

    canceled = await client.webhooks.list_messages(event_type="job.canceled")

    assert [m.job_id for m in canceled] == [submission.job_id]
    requeued = await client.webhooks.resend_message(canceled[0].id, endpoint_id=endpoint.id)

    assert requeued == 1  # the one delivery, to the endpoint named
    [delivery] = (await client.webhooks.get_message(canceled[0].id)).deliveries
    assert delivery.endpoint_id == endpoint.id and delivery.status == "pending"


async def test_send_test_event_returns_the_message_it_queued(client: Twin) -> None:
    endpoint = await client.webhooks.create_endpoint(HOOK)

    message_id = await client.webhooks.send_test_event(endpoint.id)

    assert (await client.webhooks.get_message(message_id)).type == "webhook.test"


async def test_create_webhook_link_returns_a_portal_link(client: Twin) -> None:
    link = await client.webhooks.create_webhook_link()

    assert link.link.startswith("http://testserver/portal/") and "token=" in link.link
    assert link.expires_at is not None


async def test_create_webhook_link_posts_to_the_portal_route_and_reads_the_link(kind: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"link": "http://pw/portal?token=t", "expires_at": "2026-11-28T23:00:00Z"}
        return httpx.Response(200, json=body)

    client = make_client(kind, api_key="k", transport=httpx.MockTransport(answer))
    link = await client.webhooks.create_webhook_link()
    await client.close()

    assert (seen[0].method, seen[0].url.path) == ("POST", "/webhook")
    assert "idempotency-key" in seen[0].headers
    assert link.link == "http://pw/portal?token=t" and link.expires_at is not None
