"""pagewire: asynchronous document extraction with signed webhooks.

``from pagewire import Pagewire`` gives the Python SDK. Its names are loaded on
first use, so the server (and every worker child process), which imports this
package constantly, does not pay for the client it never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPagewire",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "NotFoundError",
    "Pagewire",
    "PagewireAPIError",
    "PermissionDeniedError",
    "RateLimitError",
    "WaitTimeoutError",
    "WebhookVerificationError",
]

if TYPE_CHECKING:
    from pagewire.client import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AsyncPagewire,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        NotFoundError,
        Pagewire,
        PagewireAPIError,
        PermissionDeniedError,
        RateLimitError,
        WaitTimeoutError,
        WebhookVerificationError,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        import pagewire.client

        return getattr(pagewire.client, name)
    raise AttributeError(f"module 'pagewire' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
