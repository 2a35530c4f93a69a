"""The event catalog page over HTTP: every type, and sending its example to an endpoint."""

from __future__ import annotations

import html
from typing import Any

from pagewire.events import EVENT_CATALOG
from portal.helpers import Browser, csrf_of, submit
from support import Tenant


async def test_the_catalog_lists_every_type_with_its_description_schema_and_example(
    browser: Browser, tenant: Tenant
) -> None:
    client = await browser(tenant)

    page = html.unescape((await client.get("/portal/event-types")).text)

    for entry in EVENT_CATALOG:
        assert f'<section class="panel event-type" id="{entry.type}"' in page
        assert entry.description in page
        assert f'"type": "{entry.type}"' in page  # in its example
    assert page.count("JSON Schema</summary>") == len(EVENT_CATALOG)
    assert "Add an endpoint</a> (or enable one)" in page  # none yet: nothing to send to


async def test_sending_an_example_queues_it_to_that_endpoint_only(
    browser: Browser, tenant: Tenant, store: Any
) -> None:
    chosen = await store.webhooks.create_endpoint(tenant.org_id, "https://a.example.com/h")
    other = await store.webhooks.create_endpoint(tenant.org_id, "https://b.example.com/h")
    client = await browser(tenant)

    sent = await submit(
        client,
        "/portal/event-types",
        "/portal/event-types/send",
        {"event_type": "job.completed", "endpoint_id": chosen.id},
    )

    assert sent.status_code == 303
    message_id = sent.headers["location"].rsplit("/", 1)[1]
    message = await store.webhooks.get_message(tenant.org_id, message_id)
    assert message.event.type == "job.completed" and message.event.payload["data"]["test"] is True
    assert [d.endpoint_id for d in message.deliveries] == [chosen.id]
    assert other.id not in {d.endpoint_id for d in message.deliveries}
    landing = (await client.get(sent.headers["location"])).text
    assert "Example job.completed event sent to https://a.example.com/h" in landing


async def test_refused_sends_change_nothing(
    browser: Browser, tenant: Tenant, other_tenant: Tenant, store: Any
) -> None:
    mine = await store.webhooks.create_endpoint(tenant.org_id, "https://a.example.com/h")
    theirs = await store.webhooks.create_endpoint(other_tenant.org_id, "https://c.example.com/h")
    client = await browser(tenant)
    token = csrf_of((await client.get("/portal/event-types")).text)
    send = "/portal/event-types/send"

    no_csrf = await client.post(send, data={"event_type": "job.completed", "endpoint_id": mine.id})
    not_ours = await client.post(
        send, data={"event_type": "job.completed", "endpoint_id": theirs.id, "csrf_token": token}
    )
    unknown = await client.post(
        send, data={"event_type": "job.exploded", "endpoint_id": mine.id, "csrf_token": token}
    )

    assert no_csrf.status_code == 403 and not_ours.status_code == 404
    assert unknown.status_code == 303
    notice = (await client.get(unknown.headers["location"])).text
    assert "Not sent: unknown event type &#39;job.exploded&#39;" in notice
    for org in (tenant.org_id, other_tenant.org_id):
        assert (await store.webhooks.list_messages(org)).data == []
