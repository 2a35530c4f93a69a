"""Endpoint pages: list, add, edit, enable/disable, delete, and the detail page's actions.

Every change goes through the same store methods and URL guard as the HTTP API
(``pagewire.api.webhooks``): one implementation, two front doors.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from pagewire.api.webhook_schemas import EndpointIn
from pagewire.api.webhook_urls import checked_webhook_url
from pagewire.errors import InvalidRequest
from pagewire.models import NO_ATTEMPTS
from pagewire.portal.context import Portal, PostedForm, SignedIn, when
from pagewire.portal.forms import SUBSCRIBABLE, EndpointForm, parse_since, since_default
from pagewire.portal.health_chart import health_chart
from pagewire.store.stats import HEALTH_WINDOW_SECONDS

router = APIRouter()


@router.get("/endpoints", name="endpoints")
async def list_endpoints(portal: SignedIn, cursor: str | None = None) -> Response:
    page = await portal.webhooks.list_endpoints(portal.org_id, cursor=cursor, limit=50)
    health = await portal.store.stats.endpoint_health(portal.org_id, [e.id for e in page.data])
    return portal.render(
        "endpoints.html",
        endpoints=page.data,
        health=health,
        no_attempts=NO_ATTEMPTS,
        next_cursor=page.next_cursor,
        window_days=int(HEALTH_WINDOW_SECONDS // 86400),
    )


@router.get("/endpoints/new")
async def new_endpoint(portal: SignedIn) -> Response:
    return _form_page(portal, EndpointForm(), endpoint_id=None)


@router.post("/endpoints")
async def create_endpoint(portal: PostedForm) -> Response:
    form = EndpointForm.read(await portal.request.form())
    valid = await _valid(portal, form)
    if valid is None:
        return _form_page(portal, form, endpoint_id=None, status_code=400)
    endpoint = await portal.webhooks.create_endpoint(
        portal.org_id,
        valid.url,
        description=valid.description,
        event_types=valid.event_types,
        headers=valid.headers,
        rate_limit=valid.rate_limit,
    )
    return portal.redirect(f"/endpoints/{endpoint.id}", f"Endpoint {endpoint.url} added.")


@router.get("/endpoints/{endpoint_id}/edit")
async def edit_endpoint(endpoint_id: str, portal: SignedIn) -> Response:
    endpoint = await portal.webhooks.get_endpoint(portal.org_id, endpoint_id)
    return _form_page(portal, EndpointForm.of(endpoint), endpoint_id=endpoint.id)


@router.post("/endpoints/{endpoint_id}/edit")
async def update_endpoint(endpoint_id: str, portal: PostedForm) -> Response:
    await portal.webhooks.get_endpoint(portal.org_id, endpoint_id)  # 404 before validation
    form = EndpointForm.read(await portal.request.form())
    valid = await _valid(portal, form)
    if valid is None:
        return _form_page(portal, form, endpoint_id=endpoint_id, status_code=400)
    # The form shows every field, so every field is replaced (an empty one clears it).
    await portal.webhooks.update_endpoint(
        portal.org_id, endpoint_id, **valid.model_dump(exclude_unset=False)
    )
    return portal.redirect(f"/endpoints/{endpoint_id}", "Endpoint saved.")


async def _valid(portal: Portal, form: EndpointForm) -> EndpointIn | None:
    valid = form.validated()
    if valid is None:
        return None
    try:
        await checked_webhook_url(portal.settings, valid.url)
    except InvalidRequest as refused:
        form.errors["url"] = refused.message
        return None
    return valid


def _form_page(
    portal: Portal, form: EndpointForm, *, endpoint_id: str | None, status_code: int = 200
) -> Response:
    return portal.render(
        "endpoint_form.html",
        status_code=status_code,
        form=form,
        endpoint_id=endpoint_id,
        event_types=SUBSCRIBABLE,
    )


@router.get("/endpoints/{endpoint_id}")
async def endpoint_detail(endpoint_id: str, portal: SignedIn) -> Response:
    return await _detail_page(portal, endpoint_id)


async def _detail_page(portal: Portal, endpoint_id: str, *, reveal: bool = False) -> Response:
    endpoint = await portal.webhooks.get_endpoint(portal.org_id, endpoint_id)
    now = await portal.store.db.current_time()
    deliveries = await portal.webhooks.recent_deliveries(portal.org_id, endpoint_id)
    health = await portal.store.stats.delivery_health(portal.org_id, endpoint_id)
    in_grace = bool(endpoint.previous_secret and (endpoint.previous_secret_expires_at or 0) > now)
    return portal.render(
        "endpoint.html",
        endpoint=endpoint,
        deliveries=deliveries,
        reveal=reveal,
        previous_secret_until=endpoint.previous_secret_expires_at if in_grace else None,
        since_default=since_default(now),
        chart=health_chart(health),
        window_days=int(HEALTH_WINDOW_SECONDS // 86400),
    )


@router.post("/endpoints/{endpoint_id}/secret")
async def reveal_secret(endpoint_id: str, portal: PostedForm) -> Response:
    # A POST, so the secret is only ever in a response someone asked for on purpose.
    return await _detail_page(portal, endpoint_id, reveal=True)


@router.post("/endpoints/{endpoint_id}/rotate")
async def rotate_secret(endpoint_id: str, portal: PostedForm) -> Response:
    endpoint = await portal.webhooks.rotate_secret(
        portal.org_id, endpoint_id, grace_seconds=portal.settings.secret_rotation_grace_seconds
    )
    until = when(endpoint.previous_secret_expires_at)
    return portal.redirect(
        f"/endpoints/{endpoint_id}",
        f"New signing secret created. Deliveries are signed with both secrets until {until}.",
    )


@router.post("/endpoints/{endpoint_id}/test")
async def send_test(endpoint_id: str, portal: PostedForm) -> Response:
    try:
        message_id = await portal.webhooks.send_test(portal.org_id, endpoint_id)
    except InvalidRequest as refused:
        return portal.redirect(f"/endpoints/{endpoint_id}", f"Not sent: {refused.message}.")
    return portal.redirect(
        f"/endpoints/{endpoint_id}",
        f"Test event {message_id} queued; it appears under Recent deliveries.",
    )


@router.post("/endpoints/{endpoint_id}/enable")
async def enable(endpoint_id: str, portal: PostedForm) -> Response:
    await portal.webhooks.set_enabled(portal.org_id, endpoint_id, True)
    return portal.redirect(f"/endpoints/{endpoint_id}", "Endpoint enabled.")


@router.post("/endpoints/{endpoint_id}/disable")
async def disable(endpoint_id: str, portal: PostedForm) -> Response:
    await portal.webhooks.set_enabled(portal.org_id, endpoint_id, False)
    return portal.redirect(
        f"/endpoints/{endpoint_id}",
        "Endpoint disabled. Its pending deliveries failed; recover them after enabling it.",
    )


@router.post("/endpoints/{endpoint_id}/recover")
async def recover(endpoint_id: str, portal: PostedForm) -> Response:
    form = await portal.request.form()
    try:
        since = parse_since(str(form.get("since", "")))
        count = await portal.webhooks.recover(portal.org_id, endpoint_id, since=since)
    except ValueError as problem:
        return portal.redirect(f"/endpoints/{endpoint_id}", f"Not recovered: {problem}.")
    except InvalidRequest as refused:
        return portal.redirect(f"/endpoints/{endpoint_id}", f"Not recovered: {refused.message}.")
    plural = "delivery" if count == 1 else "deliveries"
    return portal.redirect(
        f"/endpoints/{endpoint_id}",
        f"{count} failed {plural} since {when(since)} queued to be sent again.",
    )


@router.get("/endpoints/{endpoint_id}/delete")
async def confirm_delete(endpoint_id: str, portal: SignedIn) -> Response:
    endpoint = await portal.webhooks.get_endpoint(portal.org_id, endpoint_id)
    return portal.render("endpoint_delete.html", endpoint=endpoint)


@router.post("/endpoints/{endpoint_id}/delete")
async def delete(endpoint_id: str, portal: PostedForm) -> Response:
    endpoint = await portal.webhooks.get_endpoint(portal.org_id, endpoint_id)
    await portal.webhooks.delete_endpoint(portal.org_id, endpoint_id)
    return portal.redirect("/endpoints", f"Endpoint {endpoint.url} deleted.")
