"""What ``Webhooks`` and ``AsyncWebhooks`` share, free of I/O: paths and request bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

__all__ = ["UNSET", "endpoint_body", "endpoint_path", "message_path"]

# The default of the endpoint fields a call leaves alone; None is a value (it clears one).
UNSET: Any = object()


def endpoint_path(endpoint_id: str, action: str = "") -> str:
    if not endpoint_id:
        raise ValueError("endpoint_id is empty")
    return f"/webhook/endpoints/{quote(endpoint_id, safe='')}{action}"


def message_path(message_id: str, action: str = "") -> str:
    if not message_id:
        raise ValueError("message_id is empty")
    return f"/webhook/messages/{quote(message_id, safe='')}{action}"


def endpoint_body(**fields: Any) -> dict[str, Any]:
    """The fields given, as JSON values (a tuple of event types becomes a list)."""
    return {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items() if v is not UNSET
    }
