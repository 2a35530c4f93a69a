"""Endpoint pages over HTTP: the forms change what the API sees, under the API's rules."""

from __future__ import annotations

import re
from typing import Any

import httpx

from portal.helpers import Browser, csrf_of, submit
from support import Tenant

HOOK = "https://hooks.example.com/pagewire"


async def add_endpoint(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    data = {"url": HOOK, "description": "", "headers": "", **fields}
    return await submit(client, "/portal/endpoints/new", "/portal/endpoints", data)


def endpoint_id_of(response: httpx.Response) -> str:
    found = re.fullmatch(r"/portal/endpoints/(ep_\w+)", response.headers["location"])
    assert found, response.headers.get("location")
    return found.group(1)


async def test_an_endpoint_added_in_the_portal_is_the_apis_endpoint(
    browser: Browser, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    client = await browser(tenant)

    response = await add_endpoint(
        client,
        description="orders service",
        event_types=["job.completed", "job.failed"],
        headers="X-Env: production\nX-Team: docs",
        rate_limit="5",
    )

    assert response.status_code == 303
    [endpoint] = (await api.get("/webhook/endpoints", headers=tenant.headers)).json()["data"]
    assert endpoint["id"] == endpoint_id_of(response)
    assert endpoint["url"] == HOOK and endpoint["description"] == "orders service"
    assert endpoint["event_types"] == ["job.completed", "job.failed"]
    assert endpoint["headers"] == {"X-Env": "production", "X-Team": "docs"}
    assert endpoint["rate_limit"] == 5
    page = await client.get(response.headers["location"])
    assert "Endpoint https://hooks.example.com/pagewire added." in page.text


async def test_no_event_type_checked_means_every_type(
    browser: Browser, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    await add_endpoint(await browser(tenant))

    [endpoint] = (await api.get("/webhook/endpoints", headers=tenant.headers)).json()["data"]
    assert endpoint["event_types"] is None and endpoint["headers"] == {}


async def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(
    browser: Browser, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    client = await browser(tenant)

    response = await add_endpoint(
        client, description="keep me", headers="Webhook-Id: mine\nnot a header"
    )

    assert response.status_code == 400
    assert "line 2: write each header as" in response.text
    assert 'value="keep me"' in response.text
    reserved = await add_endpoint(client, headers="Webhook-Id: mine")
    assert "is set by pagewire and cannot be changed" in reserved.text
    unstorable = await add_endpoint(client, description="a\x00b")  # the API's rule, not a 500
    assert unstorable.status_code == 400
    assert "description contains a NUL character" in unstorable.text
    assert (await api.get("/webhook/endpoints", headers=tenant.headers)).json()["data"] == []


async def test_urls_the_api_refuses_are_refused_with_the_apis_reason(
    settings_factory: Any, store: Any, tenant: Tenant
) -> None:
    from pagewire.app import create_app
    from portal.helpers import sign_in

    strict = create_app(settings_factory(allow_private_urls=False), store=store)
    async with strict.router.lifespan_context(strict):
        transport = httpx.ASGITransport(app=strict)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await sign_in(client, tenant)
            private = await add_endpoint(client, url="https://10.1.2.3/hook")
            loopback = await add_endpoint(client, url="https://127.0.0.1:8000/hook")
            plain_http = await add_endpoint(client, url="http://93.184.216.34/hook")
            api_says = await client.post(
                "/webhook/endpoints", headers=tenant.headers, json={"url": "https://10.1.2.3/h"}
            )

    assert api_says.status_code == 400
    reason = api_says.json()["error"]["message"]
    for refused in (private, loopback, plain_http):
        assert refused.status_code == 400
        assert 'class="error"' in refused.text
    assert reason.split(":")[0] in private.text
    assert (await store.webhooks.list_endpoints(tenant.org_id)).data == []


async def test_a_script_in_a_description_is_shown_as_text(browser: Browser, tenant: Tenant) -> None:
    client = await browser(tenant)
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    created = await add_endpoint(client, description=script, headers=f"X-Note: {script}")

    for path in ("/portal/endpoints", created.headers["location"]):
        html = (await client.get(path)).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


async def test_forms_without_the_right_csrf_token_are_refused(
    browser: Browser, tenant: Tenant, other_tenant: Tenant
) -> None:
    client = await browser(tenant)
    elsewhere = await browser(other_tenant)
    someone_elses = csrf_of((await elsewhere.get("/portal/endpoints/new")).text)
    form = {"url": HOOK, "description": "", "headers": ""}

    missing = await client.post("/portal/endpoints", data=form)
    wrong = await client.post("/portal/endpoints", data={**form, "csrf_token": "x" * 43})
    borrowed = await client.post("/portal/endpoints", data={**form, "csrf_token": someone_elses})

    for refused in (missing, wrong, borrowed):
        assert refused.status_code == 403
        assert "csrf_failed" in refused.text
    assert "<h1>Endpoints</h1>" in (await client.get("/portal/endpoints")).text
    assert "No endpoints yet" in (await client.get("/portal/endpoints")).text


async def test_edit_disable_enable_and_delete(
    browser: Browser, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    client = await browser(tenant)
    endpoint_id = endpoint_id_of(await add_endpoint(client, description="before"))
    detail = f"/portal/endpoints/{endpoint_id}"

    edited = await submit(
        client,
        f"{detail}/edit",
        f"{detail}/edit",
        {"url": HOOK + "/v2", "description": "after", "event_types": ["job.completed"]},
    )
    assert edited.status_code == 303
    disabled = await submit(client, detail, f"{detail}/disable")
    after_disable = await api.get(f"/webhook/endpoints/{endpoint_id}", headers=tenant.headers)
    listing = (await client.get("/portal/endpoints")).text
    enabled = await submit(client, detail, f"{detail}/enable")
    after_enable = await api.get(f"/webhook/endpoints/{endpoint_id}", headers=tenant.headers)
    confirm = await client.get(f"{detail}/delete")
    deleted = await submit(client, f"{detail}/delete", f"{detail}/delete")

    assert disabled.status_code == enabled.status_code == deleted.status_code == 303
    body = after_disable.json()
    assert body["url"] == HOOK + "/v2" and body["description"] == "after"
    assert body["event_types"] == ["job.completed"]
    assert body["enabled"] is False and body["disabled_reason"] == "disabled by a user"
    assert "disabled by a user" in listing
    assert after_enable.json()["enabled"] is True
    assert "Delete this endpoint?" in confirm.text and "cannot be undone" in confirm.text
    gone = await api.get(f"/webhook/endpoints/{endpoint_id}", headers=tenant.headers)
    assert gone.status_code == 404


async def test_the_secret_is_revealed_on_request_and_rotation_shows_the_grace_period(
    browser: Browser, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    client = await browser(tenant)
    endpoint_id = endpoint_id_of(await add_endpoint(client))
    detail = f"/portal/endpoints/{endpoint_id}"
    secret_url = f"/webhook/endpoints/{endpoint_id}/secret"
    old = (await api.get(secret_url, headers=tenant.headers)).json()["secret"]

    hidden = (await client.get(detail)).text
    revealed = (await submit(client, detail, f"{detail}/secret")).text
    rotated = await submit(client, detail, f"{detail}/rotate")
    after = (await client.get(rotated.headers["location"])).text

    assert old not in hidden and "Reveal secret" in hidden
    assert f'value="{old}"' in revealed
    new = (await api.get(secret_url, headers=tenant.headers)).json()["secret"]
    assert new != old and old not in after and new not in after
    assert "Deliveries are signed with both secrets until" in after
    assert "signed with the new and the previous secret until" in after


async def test_another_organizations_endpoint_is_not_found(
    browser: Browser, tenant: Tenant, other_tenant: Tenant, api: httpx.AsyncClient
) -> None:
    theirs = endpoint_id_of(await add_endpoint(await browser(tenant), description="secret stuff"))
    mine = await browser(other_tenant)
    detail = f"/portal/endpoints/{theirs}"

    listing = await mine.get("/portal/endpoints")
    looked = await mine.get(detail)
    token = csrf_of(listing.text)
    deleted = await mine.post(f"{detail}/delete", data={"csrf_token": token})
    rotated = await mine.post(f"{detail}/rotate", data={"csrf_token": token})

    assert theirs not in listing.text and "secret stuff" not in listing.text
    assert looked.status_code == deleted.status_code == rotated.status_code == 404
    still = await api.get(f"/webhook/endpoints/{theirs}", headers=tenant.headers)
    assert still.status_code == 200


async def test_pages_never_show_the_api_key_and_send_protective_headers(
    browser: Browser, tenant: Tenant
) -> None:
    client = await browser(tenant)
    endpoint_id = endpoint_id_of(await add_endpoint(client))

    for path in (
        "/portal/endpoints",
        f"/portal/endpoints/{endpoint_id}",
        "/portal/messages",
        "/portal/verify",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert tenant.api_key not in response.text
        assert tenant.api_key[:10] not in response.text
        assert "script-src" not in response.headers["content-security-policy"]
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "same-origin"
