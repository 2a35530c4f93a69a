"""Standard Webhooks v1: our signatures against the reference libraries, and back."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
import svix.webhooks

from pagewire.errors import PagewireError
from pagewire.kernel.signing import (
    WebhookVerificationError,
    build_headers,
    generate_secret,
    sign,
    signature_header,
    verify,
)

BODY = json.dumps(
    {"type": "job.completed", "data": {"job_id": "job_01", "status": "completed", "sequence": 3}}
).encode()
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
NOW = 1_764_370_000


@pytest.fixture
def secret() -> str:
    return generate_secret()


def test_generated_secrets_are_whsec_base64_of_the_requested_size() -> None:
    for nbytes in (24, 32, 64):
        secret = generate_secret(nbytes)
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == nbytes
    assert generate_secret() != generate_secret()


@pytest.mark.parametrize("nbytes", [0, 16, 23, 65])
def test_secret_sizes_outside_24_to_64_bytes_are_refused(nbytes: int) -> None:
    with pytest.raises(ValueError, match="24 to 64"):
        generate_secret(nbytes)


def test_signature_matches_the_published_standard_webhooks_example() -> None:
    # The test vector from the Standard Webhooks specification's reference tests.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_standardwebhooks_library_verifies_our_delivery(secret: str) -> None:
    headers = build_headers([secret], MSG_ID, int(time.time()), BODY)
    payload = standardwebhooks.Webhook(secret).verify(BODY, headers)
    assert payload["data"]["job_id"] == "job_01"


def test_svix_library_verifies_our_delivery(secret: str) -> None:
    headers = build_headers([secret], MSG_ID, int(time.time()), BODY)
    svix.webhooks.Webhook(secret).verify(BODY, headers)  # raises when it does not hold


def test_reference_libraries_verify_with_either_secret_during_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    headers = build_headers([old, new], MSG_ID, int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(BODY, headers)
        svix.webhooks.Webhook(secret).verify(BODY, headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_secret()).verify(BODY, headers)


def test_we_verify_a_delivery_signed_by_standardwebhooks(secret: str) -> None:
    signature = standardwebhooks.Webhook(secret).sign(
        MSG_ID, datetime.fromtimestamp(NOW, tz=UTC), BODY.decode()
    )
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(NOW), "webhook-signature": signature}
    assert verify(BODY, headers, secret, now=NOW)["data"]["sequence"] == 3


def test_we_verify_a_delivery_signed_by_svix_with_svix_headers(secret: str) -> None:
    signature = svix.webhooks.Webhook(secret).sign(
        MSG_ID, datetime.fromtimestamp(NOW, tz=UTC), BODY.decode()
    )
    headers = {"svix-id": MSG_ID, "svix-timestamp": str(NOW), "svix-signature": signature}
    assert verify(BODY.decode(), headers, secret, now=NOW)["type"] == "job.completed"


def test_header_names_are_matched_case_insensitively(secret: str) -> None:
    headers = {k.title(): v for k, v in build_headers([secret], MSG_ID, NOW, BODY).items()}
    assert "Webhook-Signature" in headers
    assert verify(BODY, headers, secret, now=NOW)["type"] == "job.completed"


def test_receiver_holding_old_and_new_secret_accepts_either_signature() -> None:
    old, new = generate_secret(), generate_secret()
    signed_with_new_only = build_headers([new], MSG_ID, NOW, BODY)
    assert verify(BODY, signed_with_new_only, [old, new], now=NOW)
    signed_with_both = build_headers([old, new], MSG_ID, NOW, BODY)
    assert verify(BODY, signed_with_both, old, now=NOW)
    assert verify(BODY, signed_with_both, new, now=NOW)


def test_signature_header_has_one_v1_signature_per_secret(secret: str) -> None:
    other = generate_secret()
    header = signature_header([secret, other], MSG_ID, NOW, BODY)
    assert header.split(" ") == [sign(secret, MSG_ID, NOW, BODY), sign(other, MSG_ID, NOW, BODY)]
    assert all(part.startswith("v1,") for part in header.split(" "))


def test_signing_needs_at_least_one_secret() -> None:
    with pytest.raises(ValueError):
        signature_header([], MSG_ID, NOW, BODY)


@pytest.mark.parametrize(
    "field, tampered",
    [
        ("body", BODY.replace(b"completed", b"failed")),
        ("webhook-id", "msg_someone_else"),
        ("webhook-timestamp", str(NOW + 1)),
    ],
)
def test_tampered_deliveries_are_rejected(secret: str, field: str, tampered: object) -> None:
    headers = build_headers([secret], MSG_ID, NOW, BODY)
    body = BODY
    if field == "body":
        assert isinstance(tampered, bytes)
        body = tampered
    else:
        assert isinstance(tampered, str)
        headers[field] = tampered
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(body, headers, secret, now=NOW)


def test_a_delivery_signed_with_another_secret_is_rejected(secret: str) -> None:
    headers = build_headers([generate_secret()], MSG_ID, NOW, BODY)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, secret, now=NOW)


@pytest.mark.parametrize(
    "now, message",
    [
        (NOW + 301, "too old"),
        (NOW - 301, "in the future"),
    ],
)
def test_timestamps_outside_the_tolerance_are_rejected(secret: str, now: int, message: str) -> None:
    headers = build_headers([secret], MSG_ID, NOW, BODY)
    with pytest.raises(WebhookVerificationError, match=message):
        verify(BODY, headers, secret, now=now)


def test_timestamps_at_the_edge_of_the_tolerance_are_accepted(secret: str) -> None:
    headers = build_headers([secret], MSG_ID, NOW, BODY)
    assert verify(BODY, headers, secret, now=NOW + 300)
    assert verify(BODY, headers, secret, now=NOW - 300)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, secret, now=NOW + 11, tolerance=10)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_rejected_and_named(secret: str, missing: str) -> None:
    headers = build_headers([secret], MSG_ID, NOW, BODY)
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        verify(BODY, headers, secret, now=NOW)


@pytest.mark.parametrize("timestamp", ["", "abc", "1.5e9", "-1", "1764370000.5"])
def test_malformed_timestamps_are_rejected(secret: str, timestamp: str) -> None:
    headers = build_headers([secret], MSG_ID, NOW, BODY)
    headers["webhook-timestamp"] = timestamp
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, secret, now=NOW)


@pytest.mark.parametrize("bad_secret", ["", "whsec_", "whsec_not*base64!", "not*base64!"])
def test_badly_formed_secrets_fail_verification_clearly(bad_secret: str) -> None:
    headers = build_headers([generate_secret()], MSG_ID, NOW, BODY)
    with pytest.raises(WebhookVerificationError, match="bad secret"):
        verify(BODY, headers, bad_secret, now=NOW)


def test_garbage_signatures_are_rejected_without_crashing(secret: str) -> None:
    headers = build_headers([secret], MSG_ID, NOW, BODY)
    for garbage in ("v1,***", "v2," + headers["webhook-signature"][3:], "nonsense", "v1,"):
        headers["webhook-signature"] = garbage
        with pytest.raises(WebhookVerificationError):
            verify(BODY, headers, secret, now=NOW)


def test_a_valid_signature_among_unknown_schemes_is_accepted(secret: str) -> None:
    headers = build_headers([secret], MSG_ID, NOW, BODY)
    headers["webhook-signature"] = "v1a,abcd " + headers["webhook-signature"]
    assert verify(BODY, headers, secret, now=NOW)


def test_verification_errors_belong_to_the_pagewire_tree(secret: str) -> None:
    with pytest.raises(PagewireError) as caught:
        verify(BODY, {}, secret, now=NOW)
    assert caught.value.code == "webhook_verification_failed"


def test_signing_imports_without_any_server_or_http_dependency() -> None:
    # The SDK ships this module; it must load with nothing but the standard library.
    probe = (
        "import sys, pagewire.kernel.signing; "
        "heavy = {'aiohttp', 'httpx', 'pydantic', 'sqlalchemy', 'fastapi'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
