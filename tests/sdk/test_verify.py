"""``client.webhooks.verify`` against events signed by the reference libraries.

The client's tests run with ``Pagewire`` and with ``AsyncPagewire`` (whose
``verify`` is not awaited: it does no I/O).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks

from pagewire import WebhookVerificationError
from pagewire.client import WebhookEvent, verify_webhook
from sdk.twins import Twin, make_client

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
NOW = 1_764_370_000
EVENT = {
    "type": "job.completed",
    "timestamp": "2025-11-28T22:46:40.000Z",
    "data": {
        "job_id": "job_01",
        "status": "completed",
        "sequence": 3,
        "metadata": {"user_id": "u-7"},
        "page_count": 17,
        "url": "http://127.0.0.1:8000/job/job_01",
    },
}


def signed_by_reference_library(
    payload: dict[str, object], secret: str = SECRET, at: int = NOW, msg_id: str = "msg_1"
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = standardwebhooks.Webhook(secret).sign(
        msg_id, datetime.fromtimestamp(at, UTC), body.decode()
    )
    return body, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": signature,
    }


@pytest.fixture
def client(kind: str) -> Twin:
    return make_client(kind, api_key="unused-by-verify")


async def test_a_standard_webhooks_signed_event_verifies_into_a_typed_event(client: Twin) -> None:
    body, headers = signed_by_reference_library(EVENT)

    event = await client.webhooks.verify(body, headers, SECRET, now=NOW)

    assert isinstance(event, WebhookEvent)
    assert event.id == "msg_1" and event.type == "job.completed"
    assert event.job_id == "job_01" and event.status == "completed" and event.sequence == 3
    assert event.metadata == {"user_id": "u-7"}
    assert event.timestamp == datetime(2025, 11, 28, 22, 46, 40, tzinfo=UTC)


async def test_headers_are_matched_whatever_their_case_and_the_body_may_be_text(
    client: Twin,
) -> None:
    body, headers = signed_by_reference_library(EVENT)
    shouted = {k.upper(): v for k, v in headers.items()}

    event = await client.webhooks.verify(body.decode(), shouted, SECRET, now=NOW)
    assert event.type == "job.completed"


async def test_a_wrong_secret_is_refused(client: Twin) -> None:
    body, headers = signed_by_reference_library(EVENT)
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()

    with pytest.raises(WebhookVerificationError, match="signature"):
        await client.webhooks.verify(body, headers, other, now=NOW)


async def test_a_body_changed_after_signing_is_refused(client: Twin) -> None:
    body, headers = signed_by_reference_library(EVENT)

    with pytest.raises(WebhookVerificationError):
        await client.webhooks.verify(
            body.replace(b"completed", b"failed"), headers, SECRET, now=NOW
        )


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_a_missing_header_is_refused_and_named(client: Twin, missing: str) -> None:
    body, headers = signed_by_reference_library(EVENT)
    del headers[missing]

    with pytest.raises(WebhookVerificationError, match=missing):
        await client.webhooks.verify(body, headers, SECRET, now=NOW)


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-301, False), (-299, True), (299, True), (301, False)]
)
async def test_the_timestamp_must_be_within_five_minutes_of_the_injected_clock(
    client: Twin, skew: int, accepted: bool
) -> None:
    body, headers = signed_by_reference_library(EVENT, at=NOW + skew)

    if accepted:
        await client.webhooks.verify(body, headers, SECRET, now=NOW)
    else:
        with pytest.raises(WebhookVerificationError, match="timestamp"):
            await client.webhooks.verify(body, headers, SECRET, now=NOW)


async def test_during_a_rotation_either_secret_verifies(client: Twin) -> None:
    new = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    body, headers = signed_by_reference_library(EVENT, secret=new)

    event = await client.webhooks.verify(body, headers, [SECRET, new], now=NOW)
    assert event.job_id == "job_01"


def test_verify_needs_no_client_at_all() -> None:
    body, headers = signed_by_reference_library(EVENT)

    assert verify_webhook(body, headers, SECRET, now=NOW).id == "msg_1"


def test_the_verification_error_is_also_pagewires_own_exception_root() -> None:
    from pagewire.errors import PagewireError
    from pagewire.kernel.signing import WebhookVerificationError as SigningError

    assert WebhookVerificationError is SigningError
    assert issubclass(WebhookVerificationError, PagewireError)


async def test_an_event_signed_by_svix_with_svix_headers_verifies(client: Twin) -> None:
    import svix.webhooks

    body = json.dumps(EVENT)
    signature = svix.webhooks.Webhook(SECRET).sign(
        "msg_svix", datetime.fromtimestamp(NOW, UTC), body
    )
    headers = {"svix-id": "msg_svix", "svix-timestamp": str(NOW), "svix-signature": signature}

    event = await client.webhooks.verify(body.encode(), headers, SECRET, now=NOW)

    assert event.id == "msg_svix" and event.type == "job.completed"


async def test_verify_reads_the_time_from_the_clients_injected_wall_clock(kind: str) -> None:
    body, headers = signed_by_reference_library(EVENT, at=NOW)

    on_time = make_client(kind, api_key="k", wall_clock=lambda: NOW + 60)
    late = make_client(kind, api_key="k", wall_clock=lambda: NOW + 600)

    assert (await on_time.webhooks.verify(body, headers, SECRET)).id == "msg_1"
    with pytest.raises(WebhookVerificationError, match="too old"):
        await late.webhooks.verify(body, headers, SECRET)


async def test_the_event_reads_as_the_payload_svix_and_standardwebhooks_return(
    client: Twin,
) -> None:
    # A receiver written for the reference libraries, run unchanged on our event.
    def handle(payload: Mapping[str, Any]) -> tuple[str, str | None, list[str]]:
        return payload["type"], payload.get("data", {}).get("job_id"), sorted(payload)

    at = int(time.time())  # the reference library checks against its own clock
    body, headers = signed_by_reference_library(EVENT, at=at)
    reference = standardwebhooks.Webhook(SECRET).verify(body.decode(), headers)

    event = await client.webhooks.verify(body, headers, SECRET, now=at)

    assert handle(event) == handle(reference) == ("job.completed", "job_01", sorted(EVENT))
    assert dict(event) == reference == EVENT and event == event.raw
    assert "type" in event and "nope" not in event and event.get("nope") is None
    assert json.loads(json.dumps(event.raw)) == EVENT
    with pytest.raises(TypeError):
        event["type"] = "job.failed"  # type: ignore[index]  # read-only, as the docs say
    assert event.type == "job.completed"


# The Standard Webhooks reference libraries' own test vector (their test_sign_function):
# the same key, with its ``whsec_`` prefix and without it, signs to the same signature.
REFERENCE_KEY = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REFERENCE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REFERENCE_AT = 1614265330
REFERENCE_BODY = '{"test": 2432232314}'
REFERENCE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("secret", [f"whsec_{REFERENCE_KEY}", REFERENCE_KEY])
async def test_a_secret_verifies_with_or_without_its_whsec_prefix(
    client: Twin, secret: str
) -> None:
    headers = {
        "webhook-id": REFERENCE_ID,
        "webhook-timestamp": str(REFERENCE_AT),
        "webhook-signature": REFERENCE_SIGNATURE,
    }
    # The reference library takes both forms of the key to be the same key ...
    signed = standardwebhooks.Webhook(secret).sign(
        REFERENCE_ID, datetime.fromtimestamp(REFERENCE_AT, UTC), REFERENCE_BODY
    )
    assert signed == REFERENCE_SIGNATURE

    # ... and so does verify.
    event = await client.webhooks.verify(REFERENCE_BODY, headers, secret, now=REFERENCE_AT)
    assert dict(event) == {"test": 2432232314} and event.id == REFERENCE_ID


async def test_a_bare_secret_that_is_not_base64_is_refused_clearly(client: Twin) -> None:
    body, headers = signed_by_reference_library(EVENT)

    with pytest.raises(WebhookVerificationError, match=r"bad secret: .*base64"):
        await client.webhooks.verify(body, headers, "not a secret!", now=NOW)
