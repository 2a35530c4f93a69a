"""Message pages: the event log (filter by type and job) and one message with every attempt."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response

from pagewire.models import EVENT_TYPES
from pagewire.portal.context import PostedForm, SignedIn

router = APIRouter()


@router.get("/messages", name="messages")
async def list_messages(
    portal: SignedIn, type: str = "", job_id: str = "", cursor: str | None = None
) -> Response:
    types = [type] if type else []
    page = await portal.webhooks.list_messages(
        portal.org_id, types=types, job_id=job_id.strip() or None, cursor=cursor, limit=50
    )
    return portal.render(
        "messages.html",
        messages=page.data,
        next_cursor=page.next_cursor,
        event_types=EVENT_TYPES,
        chosen_type=type,
        job_id=job_id.strip(),
    )


@router.get("/messages/{message_id}")
async def message_detail(message_id: str, portal: SignedIn) -> Response:
    message = await portal.webhooks.get_message(portal.org_id, message_id)
    page = await portal.webhooks.list_endpoints(portal.org_id, limit=100)
    urls = {e.id: e.url for e in page.data}
    return portal.render(
        "message.html",
        message=message.event,
        deliveries=message.deliveries,
        endpoint_urls=urls,
        payload=json.dumps(message.event.payload, indent=2, sort_keys=True),
    )


@router.post("/messages/{message_id}/resend")
async def resend(message_id: str, portal: PostedForm) -> Response:
    form = await portal.request.form()
    endpoint_id = str(form.get("endpoint_id") or "") or None
    count = await portal.webhooks.resend(portal.org_id, message_id, endpoint_id)
    if count:
        plural = "delivery" if count == 1 else "deliveries"
        notice = f"{count} {plural} queued to be sent again, with the same webhook-id."
    else:
        notice = (
            "Nothing to resend: its deliveries are being sent now, or their endpoints are disabled."
        )
    return portal.redirect(f"/messages/{message_id}", notice)
