"""The portal's views held against Svix's app portal, in headless Chromium on a real server:
the message states and their filter, the event catalog, delivery health, the audit."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks
from playwright.sync_api import expect

from pagewire.events import EVENT_CATALOG
from portal.browser.live import LiveServer, LoopbackReceiver, reload_until
from portal.browser.test_portal_in_chromium import nav, open_portal, shoot

pytestmark = pytest.mark.browser


def settled(api: httpx.Client, message_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The message once none of its deliveries is pending (the dispatcher is real)."""
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = api.get(f"/webhook/messages/{message_id}").json()
        if message["deliveries"] and all(d["status"] != "pending" for d in message["deliveries"]):
            return message
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def send_test(api: httpx.Client, endpoint_id: str, event_type: str | None = None) -> str:
    body = {"event_type": event_type} if event_type else None
    response = api.post(f"/webhook/endpoints/{endpoint_id}/test", json=body)
    assert response.status_code in (200, 201, 202), response.text
    message_id: str = response.json()["message_id"]
    return message_id


def test_failed_only_lists_only_the_messages_that_failed(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any, screenshots: Path
) -> None:
    tenant = live_server.new_tenant()
    with live_server.api(tenant) as api:
        endpoint = api.post("/webhook/endpoints", json={"url": receiver.url}).json()
        delivered = [send_test(api, endpoint["id"]) for _ in range(2)]
        for message_id in delivered:
            settled(api, message_id)
        receiver.status = 500
        failed = send_test(api, endpoint["id"], "job.failed")
        assert settled(api, failed)["deliveries"][0]["status"] == "failed"
    page = new_page(javascript=False)
    open_portal(page, live_server.portal_link(tenant))
    nav(page, "Messages")
    expect(page.locator(".badge.status-succeeded")).to_have_count(2)

    page.get_by_label("Status").select_option("failed")
    page.get_by_label("Endpoint").select_option(endpoint["id"])
    page.get_by_role("button", name="Filter").click()

    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("failed")
    expect(rows.first.get_by_role("link", name=failed)).to_be_visible()
    assert "status=failed" in page.url and f"endpoint_id={endpoint['id']}" in page.url
    shoot(page, screenshots, "messages-failed")


def test_the_catalog_lists_every_type_and_sends_a_signed_example(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any, screenshots: Path
) -> None:
    tenant = live_server.new_tenant()
    with live_server.api(tenant) as api:
        endpoint = api.post("/webhook/endpoints", json={"url": receiver.url}).json()
        secret = api.get(f"/webhook/endpoints/{endpoint['id']}/secret").json()["secret"]
    page = new_page(javascript=False)
    open_portal(page, live_server.portal_link(tenant))

    nav(page, "Event types")
    for entry in EVENT_CATALOG:
        section = page.locator(f"section[id='{entry.type}']")
        expect(section.get_by_role("heading", level=2)).to_have_text(entry.type)
        expect(section.get_by_text(entry.description)).to_be_visible()
    expect(page.locator("section.event-type")).to_have_count(len(EVENT_CATALOG))
    shoot(page, screenshots, "event-types")
    completed = page.locator("section[id='job.completed']")
    completed.get_by_label("Send this example to").select_option(endpoint["id"])
    completed.get_by_role("button", name="Send the job.completed example").click()

    page.wait_for_url(re.compile(r".*/portal/messages/msg_\w+$"))
    expect(page.get_by_role("status")).to_contain_text("Example job.completed event sent")
    reload_until(page, lambda: page.locator(".attempts .badge.ok").count() == 1)
    [(headers, body)] = receiver.received
    payload = standardwebhooks.Webhook(secret).verify(body, headers)
    assert headers["webhook-id"] == page.url.rsplit("/", 1)[1]
    assert payload["type"] == "job.completed" and payload["data"]["test"] is True
    assert json.loads(body) == payload


def test_the_health_chart_draws_the_attempts_made(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any, screenshots: Path
) -> None:
    tenant = live_server.new_tenant()
    earlier_failed = 0
    with live_server.api(tenant) as api:
        endpoint = api.post("/webhook/endpoints", json={"url": receiver.url}).json()
        try:  # earlier hours: the server's clock moved back, never a sleep
            for hours_ago, succeeding, status in ((50, 2, 200), (30, 4, 200), (20, 1, 503)):
                live_server.offset = -hours_ago * 3600.0
                receiver.status = status
                for _ in range(succeeding):
                    message = settled(api, send_test(api, endpoint["id"]))
                    if status != 200:
                        earlier_failed += len(message["deliveries"][0]["attempts"])
        finally:
            live_server.offset = 0.0
        receiver.status = 200
        for _ in range(3):
            settled(api, send_test(api, endpoint["id"]))
        receiver.status = 503
        failed = settled(api, send_test(api, endpoint["id"]))
    failed_attempts = len(failed["deliveries"][0]["attempts"])
    page = new_page(javascript=False)
    open_portal(page, live_server.portal_link(tenant))

    page.goto(f"{live_server.url}/portal/endpoints/{endpoint['id']}")

    chart = page.get_by_role("img", name=re.compile("Attempts per hour over the last 7 days"))
    expect(chart).to_be_visible()
    bars = chart.locator("g.bar")
    expect(bars.last.locator("rect.ok")).to_be_visible()
    expect(bars.last.locator("rect.failed")).to_be_visible()
    ok_height = float(bars.last.locator("rect.ok").get_attribute("height") or 0)
    failed_height = float(bars.last.locator("rect.failed").get_attribute("height") or 0)
    assert ok_height / failed_height == pytest.approx(3 / failed_attempts, rel=0.01)
    expect(bars).to_have_count(4)  # 50, 30 and 20 hours ago, and now
    expect(chart.locator("desc")).to_contain_text(
        f"9 attempts succeeded and {failed_attempts + earlier_failed} failed"
    )
    expect(chart).to_contain_text("response time: p50")
    expect(chart).to_contain_text("attempts per hour")
    chart.scroll_into_view_if_needed()
    page.locator("section[aria-labelledby=health-heading]").screenshot(
        path=str(screenshots / "portal-endpoint-health.png")
    )


def test_a_job_message_shows_the_key_that_submitted_it(
    live_server: LiveServer, new_page: Any, sample_pdf: Path, screenshots: Path
) -> None:
    tenant = live_server.new_tenant()
    with live_server.api(tenant) as api:
        job = api.post(
            "/extract",
            headers={"user-agent": "orders-service/2.1", "x-request-id": "req-portal-audit"},
            files={"file": ("filing.pdf", sample_pdf.read_bytes())},
            data={"async": "true", "metadata": '{"order": "A-17"}'},
        ).json()
        [created] = api.get("/webhook/messages", params={"job_id": job["job_id"]}).json()["data"]
    page = new_page(javascript=False)
    open_portal(page, live_server.portal_link(tenant))

    page.goto(f"{live_server.url}/portal/messages/{created['id']}")

    audit = page.locator("dl.audit")
    expect(audit.locator("dt:text-is('API key') + dd")).to_have_text(tenant.key_id)
    expect(audit.locator("dt:text-is('User agent') + dd")).to_have_text("orders-service/2.1")
    expect(audit).to_contain_text('"order": "A-17"')
    shoot(page, screenshots, "message-audit")
