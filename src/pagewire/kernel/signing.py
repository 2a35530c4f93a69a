"""Standard Webhooks v1 signing and verification (https://www.standardwebhooks.com).

Shared by the dispatcher and the client SDK, so it imports nothing beyond the
standard library and :mod:`pagewire.kernel.errors`.

A signature is ``v1,`` + base64(HMAC-SHA256(key, f"{msg_id}.{timestamp}.{body}")),
where ``key`` is the base64-decoded part of a ``whsec_...`` secret. During a
secret rotation the header carries one signature per active secret, separated
by spaces; a receiver accepts the message if any of them matches.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pagewire.kernel.errors import PagewireError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "WebhookVerificationError",
    "build_headers",
    "generate_secret",
    "sign",
    "signature_header",
    "verify",
]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
# A header with more signatures than this is not a rotation, it is an attempt to
# make the receiver do a lot of HMAC work.
_MAX_SIGNATURES = 16
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


class WebhookVerificationError(PagewireError):
    """A webhook whose headers, signature or timestamp do not hold."""

    code = "webhook_verification_failed"


def generate_secret(nbytes: int = 32) -> str:
    """A new endpoint secret: ``whsec_`` + base64 of ``nbytes`` random bytes."""
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a webhook secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {nbytes}"
        )
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: ``whsec_`` + base64, or the bare base64 (as the Standard
    Webhooks reference libraries accept it: the prefix only says what the string is)."""
    if not isinstance(secret, str):
        raise ValueError(f"a webhook secret is a string ({SECRET_PREFIX}...)")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Some providers hand out unpadded base64; the padding carries no information.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"a webhook secret is base64, with or without its {SECRET_PREFIX!r} prefix"
        ) from None
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


@functools.lru_cache(maxsize=4096)
def _keyed(secret: str) -> hmac.HMAC:
    """An HMAC-SHA256 already keyed with the secret, to copy for each message.

    Cached: the dispatcher signs with few secrets, often. A copy skips the key
    schedule and the digest's lookup by name, which ``hmac.digest(key, msg,
    "sha256")`` pays on every call, and which cost more than the signing itself.
    """
    return hmac.new(_secret_key(secret), digestmod=hashlib.sha256)


def _digest(secret: str, msg_id: str, timestamp: int, body: bytes) -> bytes:
    mac = _keyed(secret).copy()
    mac.update(f"{msg_id}.{timestamp}.".encode() + body)  # one call: this runs per attempt
    return mac.digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` under ``secret``."""
    digest = _digest(secret, msg_id, timestamp, body)
    return "v1," + binascii.b2a_base64(digest, newline=False).decode("ascii")


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per active secret."""
    if isinstance(secrets, str):
        secrets = [secrets]
    if not secrets:
        raise ValueError("at least one secret is needed to sign a webhook")
    if len(secrets) == 1:  # outside a rotation's grace period: nearly always
        return sign(secrets[0], msg_id, timestamp, body)
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def build_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Svix sends the same three headers under its own prefix.
    wanted = {f"webhook-{name}", f"svix-{name}"}
    found: dict[str, str] = {}
    for key, value in headers.items():
        lowered = key.lower()
        if lowered in wanted and value:
            found[lowered] = value
    return found.get(f"webhook-{name}") or found.get(f"svix-{name}")


def _passed_signatures(header: str) -> list[bytes]:
    passed: list[bytes] = []
    for item in header.split()[:_MAX_SIGNATURES]:
        version, _, encoded = item.partition(",")
        if version != "v1":
            continue  # other schemes (v1a, ...) are not ours to check
        try:
            passed.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return passed


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> Any:
    """Check a received webhook and return its parsed JSON payload.

    ``secret`` may be a list (the old and new secret during a rotation); the
    message is accepted when any signature matches any secret. Raises
    :class:`WebhookVerificationError` otherwise.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    msg_id = _header(headers, "id")
    timestamp_text = _header(headers, "timestamp")
    signature = _header(headers, "signature")
    if not (msg_id and timestamp_text and signature):
        missing = [
            name
            for name, value in (
                ("webhook-id", msg_id),
                ("webhook-timestamp", timestamp_text),
                ("webhook-signature", signature),
            )
            if not value
        ]
        raise WebhookVerificationError(f"missing header(s): {', '.join(missing)}")

    if not _TIMESTAMP.fullmatch(timestamp_text.strip()):
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds")
    timestamp = int(timestamp_text)
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("webhook timestamp is too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("webhook timestamp is in the future")

    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise WebhookVerificationError("no secret to verify the webhook with")
    try:
        for s in secrets:
            _secret_key(s)
    except ValueError as exc:
        raise WebhookVerificationError(f"bad secret: {exc}") from None

    passed = _passed_signatures(signature)
    matched = False
    for s in secrets:
        expected = _digest(s, msg_id, timestamp, raw)
        for candidate in passed:
            # No early exit: every comparison costs the same whatever matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("no matching signature")

    try:
        return json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("webhook body is not JSON") from None
