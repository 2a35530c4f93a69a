"""The check every webhook URL passes where it is set, by the API and by the portal alike."""

from __future__ import annotations

from pagewire.security import netguard
from pagewire.settings import Settings


async def checked_webhook_url(settings: Settings, url: str) -> str:
    """The SSRF guard at creation: https unless plain http or private URLs are allowed."""
    allow_http = settings.allow_private_urls or settings.allow_http_webhooks
    await netguard.check_url(url, allow_private=settings.allow_private_urls, allow_http=allow_http)
    return url
