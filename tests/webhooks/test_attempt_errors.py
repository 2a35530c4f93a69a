"""A delivery attempt that got no answer says why in words (what the portal and
``GET /webhook/messages/{id}`` show), the HTTP library's own text kept beside it."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from webhooks.support import emit


def closed_port() -> int:
    """A loopback port nothing listens on (bound, never listened, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def settled(store: Any, org_id: str, event_id: str, timeout: float = 10.0) -> Any:
    """The message once none of its deliveries is pending."""
    deadline = time.monotonic() + timeout
    while True:
        message = await store.webhooks.get_message(org_id, event_id)
        if message.deliveries and all(d.status != "pending" for d in message.deliveries):
            return message
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.02)


async def test_an_endpoint_on_a_closed_port_records_connection_refused_in_words(
    store: Any, tenant: Any, run_dispatcher: Any, api: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, f"http://127.0.0.1:{closed_port()}/hook")
    event_id, _ = await emit(store, tenant.org_id)

    await run_dispatcher(webhook_retry_schedule="0")
    await settled(store, tenant.org_id, event_id)
    shown = (await api.get(f"/webhook/messages/{event_id}", headers=tenant.headers)).json()

    [delivery] = shown["deliveries"]
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"] == (
        "connection refused: nothing accepts connections at that address and port"
    )
    # The library's own text is kept apart, never instead of the words.
    assert attempt["error_detail"].startswith("ClientConnectorError: Cannot connect to host")
    assert delivery["last_error"].endswith(f"last: {attempt['error']}")
