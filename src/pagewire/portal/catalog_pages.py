"""The event catalog: every event type with its description, JSON Schema and an example,
and a form that sends the example, signed, to one of the organization's endpoints.

Sending goes through ``store.webhooks.send_test``, the same as ``POST
/webhook/endpoints/{id}/test`` with an ``event_type`` and ``pagewire trigger``.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Response

from pagewire.errors import InvalidRequest
from pagewire.events import EVENT_CATALOG
from pagewire.portal.context import PostedForm, SignedIn

router = APIRouter()


def pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=False)


@router.get("/event-types", name="event_types")
async def catalog(portal: SignedIn) -> Response:
    page = await portal.webhooks.list_endpoints(portal.org_id, limit=100)
    return portal.render(
        "event_types.html",
        catalog=[(entry, pretty(entry.schema), pretty(entry.example)) for entry in EVENT_CATALOG],
        endpoints=[e for e in page.data if e.enabled],
    )


@router.post("/event-types/send")
async def send_example(portal: PostedForm) -> Response:
    form = await portal.request.form()
    event_type = str(form.get("event_type") or "")
    endpoint_id = str(form.get("endpoint_id") or "")
    if not endpoint_id:
        return portal.redirect("/event-types", "Not sent: choose an endpoint.")
    endpoint = await portal.webhooks.get_endpoint(portal.org_id, endpoint_id)  # 404: not ours
    try:
        message_id = await portal.webhooks.send_test(portal.org_id, endpoint.id, event_type)
    except InvalidRequest as refused:
        return portal.redirect("/event-types", f"Not sent: {refused.message}.")
    return portal.redirect(
        f"/messages/{message_id}",
        f"Example {event_type} event sent to {endpoint.url}; reload to see its attempt.",
    )
