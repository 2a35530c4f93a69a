"""Webhook routes: endpoints (CRUD, secret, rotation, test, enable/disable, recover) and messages.

Every POST is ``@idempotent``: an ``Idempotency-Key`` makes its retries replay the
first response (:mod:`pagewire.api.idempotency`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from pagewire.api.auth import principal
from pagewire.api.deps import ServicesDep
from pagewire.api.errors import error_responses
from pagewire.api.idempotency import document_idempotency_keys, idempotent
from pagewire.api.schemas import parse_time_param
from pagewire.api.webhook_schemas import (
    DeliveryOut,
    EndpointCreated,
    EndpointIn,
    EndpointList,
    EndpointOut,
    EndpointPatch,
    EventTypeList,
    EventTypeOut,
    MessageDetail,
    MessageList,
    MessageOut,
    RecoverIn,
    Requeued,
    ResendIn,
    SecretOut,
    TestIn,
    TestSent,
)
from pagewire.api.webhook_urls import checked_webhook_url
from pagewire.errors import InvalidRequest
from pagewire.events import EVENT_CATALOG
from pagewire.models import Principal

router = APIRouter(prefix="/webhook", tags=["webhooks"], responses=error_responses(401, 429, 503))
Caller = Annotated[Principal, Depends(principal)]


# -- endpoints ----------------------------------------------------------------


@router.post(
    "/endpoints",
    status_code=201,
    response_model=EndpointCreated,
    operation_id="createEndpoint",
    responses=error_responses(400, 409, 422),
    summary="Add an endpoint",
)
@idempotent
async def create_endpoint(
    body: EndpointIn, request: Request, caller: Caller, services: ServicesDep
) -> EndpointCreated:
    url = await checked_webhook_url(services.settings, body.url)
    endpoint = await services.store.webhooks.create_endpoint(
        caller.org_id,
        url,
        description=body.description,
        event_types=body.event_types,
        headers=body.headers,
        rate_limit=body.rate_limit,
    )
    return EndpointCreated(**EndpointOut.of(endpoint).model_dump(), secret=endpoint.secret)


@router.get(
    "/endpoints",
    response_model=EndpointList,
    operation_id="listEndpoints",
    responses=error_responses(400, 422),
    summary="List endpoints, newest first",
)
async def list_endpoints(
    caller: Caller,
    services: ServicesDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> EndpointList:
    page = await services.store.webhooks.list_endpoints(caller.org_id, cursor=cursor, limit=limit)
    return EndpointList(data=[EndpointOut.of(e) for e in page.data], next_cursor=page.next_cursor)


@router.get(
    "/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    operation_id="getEndpoint",
    responses=error_responses(404),
    summary="One endpoint",
)
async def get_endpoint(endpoint_id: str, caller: Caller, services: ServicesDep) -> EndpointOut:
    return EndpointOut.of(await services.store.webhooks.get_endpoint(caller.org_id, endpoint_id))


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    operation_id="updateEndpoint",
    responses=error_responses(400, 404, 422),
    summary="Change an endpoint",
)
async def update_endpoint(
    endpoint_id: str, body: EndpointPatch, caller: Caller, services: ServicesDep
) -> EndpointOut:
    changes = body.model_dump(include=body.model_fields_set)
    if "url" in changes:
        if changes["url"] is None:
            raise InvalidRequest("url cannot be null", code="invalid_request")
        await checked_webhook_url(services.settings, changes["url"])
    endpoint = await services.store.webhooks.update_endpoint(caller.org_id, endpoint_id, **changes)
    return EndpointOut.of(endpoint)


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=204,
    operation_id="deleteEndpoint",
    responses=error_responses(404),
    summary="Delete an endpoint",
)
async def delete_endpoint(endpoint_id: str, caller: Caller, services: ServicesDep) -> Response:
    await services.store.webhooks.delete_endpoint(caller.org_id, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/endpoints/{endpoint_id}/secret",
    response_model=SecretOut,
    operation_id="getEndpointSecret",
    responses=error_responses(404),
    summary="Its secret",
)
async def get_secret(endpoint_id: str, caller: Caller, services: ServicesDep) -> SecretOut:
    endpoint = await services.store.webhooks.get_endpoint(caller.org_id, endpoint_id)
    return SecretOut(secret=endpoint.secret)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretOut,
    operation_id="rotateEndpointSecret",
    responses=error_responses(404, 409),
    summary="A new secret; the old one keeps signing for the grace period",
)
@idempotent
async def rotate_secret(
    endpoint_id: str, request: Request, caller: Caller, services: ServicesDep
) -> SecretOut:
    grace = services.settings.secret_rotation_grace_seconds
    endpoint = await services.store.webhooks.rotate_secret(
        caller.org_id, endpoint_id, grace_seconds=grace
    )
    return SecretOut(secret=endpoint.secret)


@router.post(
    "/endpoints/{endpoint_id}/test",
    status_code=202,
    response_model=TestSent,
    operation_id="sendTestEvent",
    responses=error_responses(404, 409),
    summary="Send a test event (an example of any type; webhook.test by default) to this endpoint",
)
@idempotent
async def send_test(
    endpoint_id: str,
    request: Request,
    caller: Caller,
    services: ServicesDep,
    body: Annotated[TestIn | None, Body()] = None,
) -> TestSent:
    event_type = body.event_type if body else "webhook.test"
    message_id = await services.store.webhooks.send_test(caller.org_id, endpoint_id, event_type)
    return TestSent(message_id=message_id)


@router.post(
    "/endpoints/{endpoint_id}/enable",
    response_model=EndpointOut,
    operation_id="enableEndpoint",
    responses=error_responses(404, 409),
    summary="Enable",
)
@idempotent
async def enable_endpoint(
    endpoint_id: str, request: Request, caller: Caller, services: ServicesDep
) -> EndpointOut:
    return EndpointOut.of(
        await services.store.webhooks.set_enabled(caller.org_id, endpoint_id, True)
    )


@router.post(
    "/endpoints/{endpoint_id}/disable",
    response_model=EndpointOut,
    operation_id="disableEndpoint",
    responses=error_responses(404, 409),
    summary="Disable (its pending deliveries fail; recover re-queues them)",
)
@idempotent
async def disable_endpoint(
    endpoint_id: str, request: Request, caller: Caller, services: ServicesDep
) -> EndpointOut:
    return EndpointOut.of(
        await services.store.webhooks.set_enabled(caller.org_id, endpoint_id, False)
    )


@router.post(
    "/endpoints/{endpoint_id}/recover",
    status_code=202,
    response_model=Requeued,
    operation_id="recoverEndpoint",
    responses=error_responses(400, 404, 409, 422),
    summary="Re-queue every delivery to this endpoint that failed since a time",
)
@idempotent
async def recover(
    endpoint_id: str, body: RecoverIn, request: Request, caller: Caller, services: ServicesDep
) -> Requeued:
    since = parse_time_param(body.since, "since")
    if since is None:
        raise InvalidRequest("since is required", code="invalid_time")
    count = await services.store.webhooks.recover(
        caller.org_id, endpoint_id, since=since, until=parse_time_param(body.until, "until")
    )
    return Requeued(requeued=count)


# -- event types --------------------------------------------------------------


@router.get(
    "/event-types",
    response_model=EventTypeList,
    operation_id="listEventTypes",
    summary="Every event type: its description, payload JSON Schema and an example",
)
async def list_event_types(caller: Caller) -> EventTypeList:
    return EventTypeList(
        data=[
            EventTypeOut(type=e.type, description=e.description, schema=e.schema, example=e.example)
            for e in EVENT_CATALOG
        ]
    )


# -- messages -----------------------------------------------------------------


@router.get(
    "/messages",
    response_model=MessageList,
    operation_id="listMessages",
    responses=error_responses(400, 422),
    summary="List messages, newest first",
)
async def list_messages(
    caller: Caller,
    services: ServicesDep,
    type: Annotated[list[str] | None, Query(description="repeat or comma-separate")] = None,
    job_id: str | None = None,
    after: Annotated[str | None, Query(description="created at or after (ISO or epoch)")] = None,
    before: Annotated[str | None, Query(description="created before (ISO or epoch)")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> MessageList:
    types = [t.strip() for t in ",".join(type or []).split(",") if t.strip()]
    page = await services.store.webhooks.list_messages(
        caller.org_id,
        types=types,
        job_id=job_id or None,  # an empty parameter is no filter
        after=parse_time_param(after, "after"),
        before=parse_time_param(before, "before"),
        cursor=cursor,
        limit=limit,
    )
    return MessageList(data=[MessageOut.of(e) for e in page.data], next_cursor=page.next_cursor)


@router.get(
    "/messages/{message_id}",
    response_model=MessageDetail,
    operation_id="getMessage",
    responses=error_responses(404),
    summary="One message with its deliveries and every attempt",
)
async def get_message(message_id: str, caller: Caller, services: ServicesDep) -> MessageDetail:
    message = await services.store.webhooks.get_message(caller.org_id, message_id)
    return MessageDetail(
        **MessageOut.of(message.event).model_dump(),
        deliveries=[DeliveryOut.of(d) for d in message.deliveries],
    )


@router.post(
    "/messages/{message_id}/resend",
    status_code=202,
    response_model=Requeued,
    operation_id="resendMessage",
    responses=error_responses(404, 409, 422),
    summary="Send a message again (same webhook-id), to all its endpoints or one",
)
@idempotent
async def resend(
    message_id: str,
    request: Request,
    caller: Caller,
    services: ServicesDep,
    body: Annotated[ResendIn | None, Body()] = None,
) -> Requeued:
    endpoint_id = body.endpoint_id if body else None
    count = await services.store.webhooks.resend(caller.org_id, message_id, endpoint_id)
    return Requeued(requeued=count)


document_idempotency_keys(router)
