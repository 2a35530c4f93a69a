"""The event catalog: every type described, each example valid against its schema and
shaped like the payloads really sent; a test event of any type, signed and delivered."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from pagewire.events import EVENT_CATALOG, event_type
from pagewire.models import EVENT_TYPES
from webhooks.support import Receiver, new_job


def _valid(payload: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(payload)


def test_the_catalog_lists_every_type_once_in_order_with_a_valid_example() -> None:
    assert [e.type for e in EVENT_CATALOG] == list(EVENT_TYPES)
    for entry in EVENT_CATALOG:
        assert entry.description and entry.example["type"] == entry.type
        _valid(entry.example, entry.schema)
    assert event_type("job.failed").example["data"]["error"]["code"] == "worker_lost"
    with pytest.raises(KeyError):
        event_type("job.exploded")


def test_a_schema_refuses_a_payload_of_another_shape() -> None:
    schema = event_type("job.completed").schema
    wrong_status = event_type("job.failed").example | {"type": "job.completed"}
    for payload in (
        wrong_status,
        {**event_type("job.completed").example, "extra": 1},
        {"type": "job.completed", "timestamp": "yesterday", "data": {}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            _valid(payload, schema)


async def test_real_payloads_match_their_catalog_entry(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
    await store.jobs.cancel(tenant.org_id, job.id)

    await run_dispatcher()
    arrived = await receiver.wait_for(2)
    receiver.assert_verified()
    assert sorted(r.payload["type"] for r in arrived) == ["job.canceled", "job.created"]
    for received in arrived:
        payload = received.payload
        entry = event_type(payload["type"])
        _valid(payload, entry.schema)
        assert payload.keys() == entry.example.keys()
        assert payload["data"].keys() == entry.example["data"].keys()


async def test_a_test_event_of_any_type_is_signed_delivered_and_marked(
    api: httpx.AsyncClient, tenant: Any, store: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    url = f"/webhook/endpoints/{endpoint.id}/test"

    sent = await api.post(url, json={"event_type": "job.completed"}, headers=tenant.headers)
    assert sent.status_code == 202, sent.text
    plain = await api.post(url, headers=tenant.headers)
    assert plain.status_code == 202
    unknown = await api.post(url, json={"event_type": "job.exploded"}, headers=tenant.headers)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_event_type"
    assert "job.completed" in unknown.json()["error"]["message"]

    await run_dispatcher()
    arrived = {r.webhook_id: r.payload for r in await receiver.wait_for(2)}
    receiver.assert_verified()
    completed = arrived[sent.json()["message_id"]]
    _valid(completed, event_type("job.completed").schema)
    assert completed["data"]["test"] is True and completed["data"]["status"] == "completed"
    test = arrived[plain.json()["message_id"]]
    assert test["type"] == "webhook.test" and test["data"]["endpoint_id"] == endpoint.id


async def test_the_event_types_are_listed_to_a_caller_with_a_key(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    assert (await api.get("/webhook/event-types")).status_code == 401
    listed = await api.get("/webhook/event-types", headers=tenant.headers)
    assert listed.status_code == 200
    data = listed.json()["data"]
    assert [e["type"] for e in data] == list(EVENT_TYPES)
    assert data[2]["schema"] == EVENT_CATALOG[2].schema
    assert data[2]["example"] == EVENT_CATALOG[2].example
