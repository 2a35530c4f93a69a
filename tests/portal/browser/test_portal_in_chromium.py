"""The webhook portal as a person uses it, in headless Chromium against a real server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from playwright.sync_api import expect

from portal.browser.live import LiveServer, LoopbackReceiver, reload_until

pytestmark = pytest.mark.browser
ENDPOINT_PAGE = re.compile(r".*/portal/endpoints/ep_\w+$")


def shoot(page: Any, folder: Path, name: str) -> None:
    page.wait_for_load_state("load")  # a page still arriving would be cut short
    page.screenshot(path=str(folder / f"portal-{name}.png"), full_page=True)


def nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Portal").get_by_role("link", name=name).click()


def open_portal(page: Any, link: str) -> None:
    """Follow a portal link as its owner does: the link's page, then its button."""
    page.goto(link)
    page.get_by_role("button", name="Open the portal").click()
    page.wait_for_url(re.compile(r".*/portal/endpoints$"))


def add_endpoint(page: Any, url: str, description: str, *, types: tuple[str, ...] = ()) -> str:
    page.get_by_role("link", name="Add endpoint").first.click()
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_label("Description").fill(description)
    for event_type in types:
        page.get_by_role("checkbox", name=event_type).check()
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_url(ENDPOINT_PAGE)
    return page.url.rsplit("/", 1)[1]


def test_a_person_adds_an_endpoint_tests_it_rotates_resends_and_recovers_without_javascript(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any, screenshots: Path
) -> None:
    tenant = live_server.new_tenant()
    page = new_page(javascript=False)  # every page must work with JavaScript off

    open_portal(page, live_server.portal_link(tenant))
    assert page.url == f"{live_server.url}/portal/endpoints"  # the token is gone from the URL
    page.get_by_role("link", name="Add endpoint").first.click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description").fill("Orders service (staging)")
    page.get_by_role("checkbox", name="job.completed").check()
    page.get_by_role("checkbox", name="job.failed").check()
    page.get_by_label("Custom headers").fill("X-Environment: staging")
    shoot(page, screenshots, "add-endpoint")
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_url(ENDPOINT_PAGE)
    endpoint_id = page.url.rsplit("/", 1)[1]

    with live_server.api(tenant) as api:
        [listed] = api.get("/webhook/endpoints").json()["data"]
    assert listed["id"] == endpoint_id and listed["url"] == receiver.url
    assert listed["event_types"] == ["job.completed", "job.failed"]
    assert listed["headers"] == {"X-Environment": "staging"}

    # A test event reaches the receiver, signed with the secret the page reveals.
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status")).to_contain_text("Test event msg_")
    reload_until(page, lambda: page.locator("td .badge.ok", has_text="200").count() > 0)
    page.get_by_role("button", name="Reveal secret").click()
    secret = page.get_by_label("Secret", exact=True).input_value()
    [(headers, body)] = receiver.received
    standardwebhooks.Webhook(secret).verify(body, headers)
    assert headers["x-environment"] == "staging"

    # Rotation: a new secret, and the page says until when the old one still signs.
    page.get_by_role("button", name="Rotate secret").click()
    assert "signed with both secrets until" in page.get_by_role("status").inner_text()
    expect(page.locator("#rotation")).to_be_visible()
    page.get_by_role("button", name="Reveal secret").click()
    assert page.get_by_label("Secret", exact=True).input_value() != secret
    shoot(page, screenshots, "endpoint")

    # Resend from the message page: the same webhook-id arrives again.
    nav(page, "Messages")
    page.get_by_label("Event type").select_option("webhook.test")
    page.get_by_role("button", name="Filter").click()
    shoot(page, screenshots, "messages")
    page.locator("table a code").first.click()
    page.wait_for_url(re.compile(r".*/portal/messages/msg_\w+$"))
    message_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Resend to all endpoints").click()
    assert "queued to be sent again" in page.get_by_role("status").inner_text()
    reload_until(page, lambda: page.locator(".attempts .badge.ok").count() == 2)
    assert receiver.webhook_ids() == [message_id, message_id]
    assert page.locator("pre.body", has_text="ok").count() == 2
    shoot(page, screenshots, "message")

    # Recover: a delivery that failed for good goes out again once the receiver is back.
    receiver.status = 500
    page.goto(f"{live_server.url}/portal/endpoints/{endpoint_id}")
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status")).to_contain_text("Test event msg_")
    reload_until(page, lambda: page.locator("td .badge.bad", has_text="failed").count() > 0)
    receiver.status = 200
    page.get_by_label("Send again every delivery that failed since (UTC)").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Recover").click()
    assert page.get_by_role("status").inner_text().startswith("1 failed delivery since 2020-01-01")
    reload_until(page, lambda: page.locator("td .badge.bad", has_text="failed").count() == 0)
    assert receiver.types()[-1] == "webhook.test" and len(receiver.received) == 5

    nav(page, "Endpoints")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_text("of 5)")).to_be_visible()  # the success rate counts every attempt
    shoot(page, screenshots, "endpoints")
    nav(page, "Verify signatures")
    expect(page.get_by_text("from standardwebhooks import Webhook")).to_be_visible()
    shoot(page, screenshots, "verify")


def test_a_second_organization_never_sees_the_first_ones_endpoints_or_messages(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any
) -> None:
    first, second = live_server.new_tenant(), live_server.new_tenant()
    with live_server.api(first) as api:
        endpoint = api.post("/webhook/endpoints", json={"url": receiver.url}).json()
        message_id = api.post(f"/webhook/endpoints/{endpoint['id']}/test").json()["message_id"]
    theirs = new_page(javascript=False)
    open_portal(theirs, live_server.portal_link(second))

    expect(theirs.get_by_text("No endpoints yet")).to_be_visible()
    assert endpoint["id"] not in theirs.content() and receiver.url not in theirs.content()
    nav(theirs, "Messages")
    expect(theirs.get_by_text("No messages")).to_be_visible()
    for path in (f"/portal/endpoints/{endpoint['id']}", f"/portal/messages/{message_id}"):
        response = theirs.goto(live_server.url + path)
        assert response.status == 404
        expect(theirs.get_by_role("heading", name="Not found")).to_be_visible()


def test_forged_expired_and_reused_links_are_refused_with_a_readable_page(
    live_server: LiveServer, new_page: Any, screenshots: Path
) -> None:
    tenant = live_server.new_tenant()
    page = new_page(javascript=False)

    forged = live_server.portal_link(tenant)[:-4] + "AAAA"
    response = page.goto(forged)
    assert response.status == 401
    expect(page.get_by_text("This portal link is not valid")).to_be_visible()

    link = live_server.portal_link(tenant)
    live_server.offset = live_server.settings.portal_link_ttl_seconds + 60
    try:
        response = page.goto(link)
    finally:
        live_server.offset = 0.0
    assert response.status == 401
    expect(page.get_by_text("This portal link has expired")).to_be_visible()
    shoot(page, screenshots, "expired-link")

    fresh = live_server.portal_link(tenant)
    assert page.goto(fresh).status == 200  # the link's page: visiting it uses nothing
    expect(page.get_by_role("button", name="Open the portal")).to_be_visible()
    shoot(page, screenshots, "open-link")
    page.get_by_role("button", name="Open the portal").click()
    page.wait_for_url(re.compile(r".*/portal/endpoints$"))
    response = new_page(javascript=False).goto(fresh)  # used: once is all
    assert response.status == 401


def test_a_form_without_its_csrf_token_is_refused(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any
) -> None:
    tenant = live_server.new_tenant()
    page = new_page(javascript=True)
    open_portal(page, live_server.portal_link(tenant))
    page.get_by_role("link", name="Add endpoint").first.click()
    page.get_by_label("Endpoint URL").fill(receiver.url)

    page.locator("form.stack input[name=csrf_token]").evaluate("input => input.remove()")
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert "csrf_failed" in page.content()
    with live_server.api(tenant) as api:
        assert api.get("/webhook/endpoints").json()["data"] == []


def test_a_script_in_a_description_is_shown_as_text_and_never_runs(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any
) -> None:
    tenant = live_server.new_tenant()
    page = new_page(javascript=True)  # scripts could run here, if any got through
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_portal(page, live_server.portal_link(tenant))
    script = '<script>alert("owned")</script><img src=x onerror="alert(1)">'

    add_endpoint(page, receiver.url, script)
    expect(page.get_by_text(script, exact=True)).to_be_visible()
    nav(page, "Endpoints")
    expect(page.get_by_text(script, exact=True)).to_be_visible()

    assert dialogs == []
    assert page.evaluate("document.querySelectorAll('main script, main img').length") == 0


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map(e => e.outerHTML)"""


def test_every_control_on_every_page_has_a_label(
    live_server: LiveServer, receiver: LoopbackReceiver, new_page: Any
) -> None:
    tenant = live_server.new_tenant()
    with live_server.api(tenant) as api:
        endpoint = api.post("/webhook/endpoints", json={"url": receiver.url}).json()
        message_id = api.post(f"/webhook/endpoints/{endpoint['id']}/test").json()["message_id"]
    page = new_page(javascript=True)
    open_portal(page, live_server.portal_link(tenant))

    for path in (
        "/portal/endpoints",
        "/portal/endpoints/new",
        f"/portal/endpoints/{endpoint['id']}",
        f"/portal/endpoints/{endpoint['id']}/edit",
        f"/portal/endpoints/{endpoint['id']}/delete",
        "/portal/messages",
        f"/portal/messages/{message_id}",
        f"/portal/messages?status=failed&endpoint_id={endpoint['id']}",
        "/portal/event-types",
        "/portal/verify",
    ):
        assert page.goto(live_server.url + path).status == 200, path
        assert page.evaluate(UNLABELLED_CONTROLS) == [], path
        assert page.locator("h1").count() == 1, path
