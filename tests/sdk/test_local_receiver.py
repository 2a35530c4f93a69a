"""The local receiver behind ``pagewire listen`` and ``pagewire demo``."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import UTC, datetime

import httpx
import standardwebhooks

from pagewire.client._receiver import LocalReceiver

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
BODY = json.dumps({"type": "job.completed", "data": {"job_id": "job_1", "status": "completed"}})


def signed(msg_id: str = "msg_1") -> dict[str, str]:
    now = int(time.time())
    signature = standardwebhooks.Webhook(SECRET).sign(
        msg_id, datetime.fromtimestamp(now, UTC), BODY
    )
    return {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature}


def test_before_it_has_a_secret_it_asks_the_sender_to_come_back() -> None:
    with LocalReceiver() as receiver:
        answer = httpx.post(receiver.url, content=BODY, headers=signed())

    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert receiver.next_delivery(timeout=0) is None


def test_it_queues_verified_events_and_refuses_the_rest() -> None:
    with LocalReceiver() as receiver:
        receiver.set_secret(SECRET)
        good = httpx.post(receiver.url, content=BODY, headers=signed())
        forged = httpx.post(receiver.url, content=BODY, headers={**signed(), "webhook-id": "msg_2"})

        accepted = receiver.next_delivery(timeout=1)
        refused = receiver.next_delivery(timeout=1)

    assert (good.status_code, forged.status_code) == (200, 400)
    assert accepted is not None and accepted.event is not None and accepted.event.id == "msg_1"
    assert refused is not None and refused.event is None and refused.error


def test_forwarding_answers_with_the_forward_targets_status() -> None:
    with LocalReceiver() as target:
        # The target has no secret yet, so it answers 503: the sender must hear 503 too.
        with LocalReceiver(forward_to=target.url) as receiver:
            receiver.set_secret(SECRET)
            answer = httpx.post(receiver.url, content=BODY, headers=signed())
            delivery = receiver.next_delivery(timeout=1)

    assert answer.status_code == 503
    assert delivery is not None and delivery.forwarded_status == 503
