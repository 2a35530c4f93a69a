"""Checking a webhook delivery's signature: ``verify_webhook`` and ``client.webhooks.verify``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pagewire.client._models import WebhookEvent
from pagewire.kernel import signing

__all__ = ["WebhookVerifier", "verify_webhook"]


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    now: float | None = None,
    tolerance: int = signing.DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Check a delivery's Standard Webhooks signature and return the parsed event.

    Pass the body exactly as received (bytes, before any JSON parsing) and the
    request's headers. ``secret`` is the endpoint's ``whsec_...`` secret, or a
    list of them while rotating. Raises :class:`WebhookVerificationError` for a
    missing header, a signature that does not match, or a timestamp more than
    ``tolerance`` seconds from ``now`` (default: the current time).
    """
    payload = signing.verify(body, headers, secret, now=now, tolerance=tolerance)
    webhook_id = next((v for k, v in headers.items() if k.lower() in ("webhook-id", "svix-id")), "")
    return WebhookEvent.from_dict(payload, webhook_id=webhook_id)


class WebhookVerifier:
    """``verify`` for both clients' ``webhooks``: no I/O, so never awaited."""

    _wall_clock: Callable[[], float]

    def verify(
        self,
        body: bytes | str,
        headers: Mapping[str, str],
        secret: str | Sequence[str],
        *,
        now: float | None = None,
        tolerance: int = signing.DEFAULT_TOLERANCE,
    ) -> WebhookEvent:
        """Check a delivery's signature and return the event; see :func:`verify_webhook`.

        The timestamp is checked against ``now``, by default the client's
        ``wall_clock`` (the current time unless one was injected).
        """
        if now is None:
            now = self._wall_clock()
        return verify_webhook(body, headers, secret, now=now, tolerance=tolerance)
