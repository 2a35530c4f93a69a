"""Message pages: the event log (by type, job, endpoint, state) and one message in full."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import APIRouter, Response

from pagewire.errors import NotFound
from pagewire.models import EVENT_TYPES, MESSAGE_STATUSES, Job
from pagewire.portal.context import Portal, PostedForm, SignedIn

router = APIRouter()


@router.get("/messages", name="messages")
async def list_messages(
    portal: SignedIn,
    type: str = "",
    job_id: str = "",
    endpoint_id: str = "",
    status: str = "",
    cursor: str | None = None,
) -> Response:
    """The log, filtered by type, job, endpoint and state (each kept in the paging link)."""
    chosen = {
        "type": type,
        "job_id": job_id.strip(),
        "endpoint_id": endpoint_id.strip(),
        "status": status,
    }
    page = await portal.store.portal.message_log(
        portal.org_id,
        types=[type] if type else [],
        job_id=chosen["job_id"] or None,
        endpoint_id=chosen["endpoint_id"] or None,
        status=status or None,
        cursor=cursor,
        limit=50,
    )
    endpoints = await portal.webhooks.list_endpoints(portal.org_id, limit=100)
    filters = {name: value for name, value in chosen.items() if value}
    return portal.render(
        "messages.html",
        messages=page.data,
        next_page=urlencode({**filters, "cursor": page.next_cursor}) if page.next_cursor else "",
        event_types=EVENT_TYPES,
        statuses=MESSAGE_STATUSES,
        endpoints=endpoints.data,
        chosen=chosen,
        filtered=bool(filters),
    )


@router.get("/messages/{message_id}")
async def message_detail(message_id: str, portal: SignedIn) -> Response:
    message = await portal.webhooks.get_message(portal.org_id, message_id)
    page = await portal.webhooks.list_endpoints(portal.org_id, limit=100)
    urls = {e.id: e.url for e in page.data}
    job = await _job_of(portal, message.event.job_id)
    return portal.render(
        "message.html",
        message=message.event,
        deliveries=message.deliveries,
        endpoint_urls=urls,
        payload=json.dumps(message.event.payload, indent=2, sort_keys=True),
        job=job,
        audit=job.request if job else {},
        metadata=json.dumps(job.metadata, indent=2, sort_keys=True) if job else "",
    )


async def _job_of(portal: Portal, job_id: str | None) -> Job | None:
    """The job a message is about, for its audit record; None once retention deleted it."""
    if job_id is None:
        return None
    try:
        return await portal.store.jobs.get(portal.org_id, job_id)
    except NotFound:
        return None


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
