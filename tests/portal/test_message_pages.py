"""Message pages over HTTP, with a real dispatcher delivering to a receiver on loopback."""

from __future__ import annotations

import asyncio
import html
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from pagewire.dispatch.dispatcher import Dispatcher
from portal.helpers import Browser, submit
from support import Tenant
from webhooks.support import Receiver, emit


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.close()


@pytest.fixture
async def dispatching(store: Any, settings: Any) -> AsyncIterator[None]:
    fast = settings.model_copy(
        update={"webhook_retry_schedule": "0,0.05", "webhook_timeout_seconds": 2.0}
    )
    dispatcher = Dispatcher(store, fast, registry=CollectorRegistry())
    task = asyncio.create_task(dispatcher.run())
    yield
    dispatcher.stop()
    await asyncio.wait_for(task, 10)


async def settled(store: Any, org_id: str, message_id: str, attempts: int) -> Any:
    """The message once its deliveries finished with ``attempts`` attempts in all."""
    deadline = time.monotonic() + 10
    while True:
        message = await store.webhooks.get_message(org_id, message_id)
        done = all(d.status != "pending" for d in message.deliveries)
        if done and sum(len(d.attempt_log) for d in message.deliveries) >= attempts:
            return message
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.02)


async def test_the_log_filters_by_type_and_job_and_shows_every_attempt(
    browser: Browser, tenant: Tenant, store: Any, receiver: Receiver, dispatching: None
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.script = [503]  # the first attempt fails, the retry succeeds
    completed, _ = await emit(store, tenant.org_id, type_="job.completed", job_id="job_aaa")
    failed, _ = await emit(store, tenant.org_id, type_="job.failed", job_id="job_bbb")
    await settled(store, tenant.org_id, completed, 1)
    await settled(store, tenant.org_id, failed, 1)
    client = await browser(tenant)

    everything = (await client.get("/portal/messages")).text
    by_type = (await client.get("/portal/messages", params={"type": "job.completed"})).text
    by_job = (await client.get("/portal/messages", params={"job_id": "job_bbb"})).text

    assert completed in everything and failed in everything
    assert completed in by_type and failed not in by_type
    assert failed in by_job and completed not in by_job
    first = completed if receiver.answered[0][0].webhook_id == completed else failed
    await settled(store, tenant.org_id, first, 2)
    page = (await client.get(f"/portal/messages/{first}")).text
    assert "&#34;job_id&#34;" in page  # the payload, escaped
    assert '<span class="badge bad">503</span>' in page
    assert '<span class="badge ok">200</span>' in page
    assert " ms</td>" in page and '<pre class="body">ok</pre>' in page


async def test_a_failed_attempt_shows_its_error_in_words_and_the_raw_detail_folded(
    browser: Browser, tenant: Tenant, store: Any, dispatching: None
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: the connection is refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
        await store.webhooks.create_endpoint(tenant.org_id, url)
        message_id, _ = await emit(store, tenant.org_id, type_="job.completed", job_id="job_a")
        message = await settled(store, tenant.org_id, message_id, 1)
    [attempt, *_] = message.deliveries[0].attempt_log
    assert attempt.error and attempt.error_detail  # words, and the library's own text

    page = (await (await browser(tenant)).get(f"/portal/messages/{message_id}")).text

    assert f'<span class="error">{html.escape(attempt.error, quote=True)}</span>' in page
    folded = re.search(
        r'<details class="error-detail"><summary>Detail</summary><pre class="body">(.*?)</pre>'
        r"</details>",
        page,
        re.S,
    )
    assert folded is not None and html.unescape(folded[1]) == attempt.error_detail
    assert "connection refused" in attempt.error.lower()


async def test_resend_sends_the_same_message_again(
    browser: Browser, tenant: Tenant, store: Any, receiver: Receiver, dispatching: None
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    message_id, _ = await emit(store, tenant.org_id, type_="job.completed", job_id="job_c")
    await settled(store, tenant.org_id, message_id, 1)
    client = await browser(tenant)
    page = f"/portal/messages/{message_id}"

    response = await submit(client, page, f"{page}/resend")

    assert response.status_code == 303 and response.headers["location"] == page
    assert "1 delivery queued to be sent again" in (await client.get(page)).text
    arrived = await receiver.wait_for(2)
    assert [r.webhook_id for r in arrived] == [message_id, message_id]


async def test_another_organizations_messages_stay_hidden(
    browser: Browser, tenant: Tenant, other_tenant: Tenant, store: Any
) -> None:
    theirs, _ = await emit(store, tenant.org_id, type_="job.completed", job_id="job_theirs")
    client = await browser(other_tenant)

    listing = (await client.get("/portal/messages")).text
    by_job = (await client.get("/portal/messages", params={"job_id": "job_theirs"})).text
    page = await client.get(f"/portal/messages/{theirs}")
    resend = await submit(client, "/portal/messages", f"/portal/messages/{theirs}/resend")

    assert theirs not in listing and theirs not in by_job
    assert page.status_code == 404 and resend.status_code == 404


async def test_the_log_shows_each_message_state_and_filters_to_failed_only(
    browser: Browser, tenant: Tenant, store: Any, receiver: Receiver, dispatching: None
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.script = [410]  # Gone: the first message fails for good (and disables it)
    gone, _ = await emit(store, tenant.org_id, type_="job.failed", job_id="job_gone")
    await settled(store, tenant.org_id, gone, 1)
    await store.webhooks.set_enabled(tenant.org_id, endpoint.id, True)
    for job in ("job_1", "job_2", "job_3"):
        await settled(store, tenant.org_id, (await emit(store, tenant.org_id, job_id=job))[0], 1)
    client = await browser(tenant)

    everything = (await client.get("/portal/messages")).text
    failed_only = await client.get(
        "/portal/messages", params={"status": "failed", "endpoint_id": endpoint.id}
    )
    refused = await client.get("/portal/messages", params={"status": "sideways"})

    assert everything.count('class="badge status-succeeded') == 3
    assert everything.count('class="badge status-failed') == 1
    assert gone in failed_only.text and "job_1" not in failed_only.text
    assert f'<option value="{endpoint.id}" selected>' in failed_only.text
    assert '<option value="failed" selected>failed only</option>' in failed_only.text
    assert refused.status_code == 400
    assert "Status must be one of succeeded, failing, failed, pending" in refused.text


async def test_the_next_page_keeps_the_status_and_endpoint_filters(
    browser: Browser, tenant: Tenant, store: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://a.example.com/h")
    first_id, _ = await emit(store, tenant.org_id, job_id="job_first")
    for n in range(50):  # nothing dispatches here: every one stays pending
        await emit(store, tenant.org_id, job_id=f"job_{n}")
    client = await browser(tenant)

    page = await client.get(
        "/portal/messages", params={"status": "pending", "endpoint_id": endpoint.id}
    )
    older = re.search(r'href="(/portal/messages\?[^"]+)">Older messages', page.text)
    assert older, "a full page links to the next one"
    next_page = await client.get(html.unescape(older.group(1)))

    assert page.text.count('class="badge status-pending') == 50 and first_id not in page.text
    assert "status=pending" in older.group(1) and f"endpoint_id={endpoint.id}" in older.group(1)
    assert first_id in next_page.text and "Older messages" not in next_page.text


async def test_a_message_about_a_job_shows_who_submitted_it(
    browser: Browser, tenant: Tenant, store: Any, sample_pdf: Path
) -> None:
    client = await browser(tenant)
    submitted = await client.post(
        "/extract",
        headers={
            **tenant.headers,
            "user-agent": "orders-service/2.1",
            "x-request-id": "req-audit-1",
        },
        files={"file": ("a.pdf", sample_pdf.read_bytes())},
        data={"async": "true", "metadata": '{"order": "A-17", "note": "<b>rush</b>"}'},
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    [created] = (await store.webhooks.list_messages(tenant.org_id, job_id=job_id)).data

    page = (await client.get(f"/portal/messages/{created.id}")).text

    audit = page[page.index('id="audit-heading"') : page.index("<h2>Payload</h2>")]
    assert f"<dd><code>{tenant.key_id}</code></dd>" in audit
    assert "<code>req-audit-1</code>" in audit and "<code>orders-service/2.1</code>" in audit
    assert "&#34;order&#34;: &#34;A-17&#34;" in audit
    assert "&lt;b&gt;rush&lt;/b&gt;" in audit  # metadata is text, never markup
